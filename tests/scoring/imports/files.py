"""Real files for the score-import tests: xlsx written with openpyxl, CSV as Excel saves it, the
report workbook read back, the `jiangxin import …` command in a process of its own, and a
contestant's total as the import left it."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

from openpyxl import Workbook, load_workbook

from competition.config import REPO_ROOT
from competition.tables import AuditLog
from scoring.tables import DrawSlot, Total


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_rows(content: bytes) -> tuple[list[tuple], list[list[tuple]]]:
    """(the problem list, the rows of every repeated sheet) of a report workbook."""
    book = load_workbook(io.BytesIO(content))
    listing = list(book.worksheets[0].iter_rows(values_only=True))
    return listing, [list(s.iter_rows(values_only=True)) for s in book.worksheets[1:]]


def run_cli(kind: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", "import", kind, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=180,
        check=False,
    )


async def shown_codes(trade_id: int) -> dict[int, str]:
    """Slot → the code the trade's score sheets show."""
    rows = await DrawSlot.select(DrawSlot.id, DrawSlot.code, DrawSlot.judge_code).where(
        DrawSlot.trade == trade_id
    )
    return {r["id"]: r["judge_code"] or r["code"] for r in rows}


async def audit_count(action: str) -> int:
    return await AuditLog.count().where(AuditLog.action == action)


async def last_audit(action: str) -> dict:
    import json

    row = (
        await AuditLog.select(AuditLog.new, AuditLog.reason)
        .where(AuditLog.action == action)
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    new = row["new"]
    return json.loads(new) if isinstance(new, str) else new


TOTAL_COLUMNS = (
    "practical_hundredths", "theory_hundredths", "penalty_hundredths", "weighted_hundredths",
    "completion_seconds",
)  # fmt: skip


async def total_of(slot_id: int) -> dict | None:
    """The slot's `Total` row (the columns an import can change), None without one."""
    columns = (getattr(Total, c) for c in TOTAL_COLUMNS)
    return await Total.select(*columns).where(Total.slot == slot_id).first()
