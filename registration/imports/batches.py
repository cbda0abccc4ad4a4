"""Import batches (导入批次): an uploaded file between its dry run and the decision.

The dry run (`check_upload`) reads and checks every row and keeps, with the ImportBatch, the
file (for the report) and the plan's file half (plan.py). "Import the valid rows"
(`import_batch`) does not read or check the file again: in one transaction it resolves the kept
candidates against the database as it is now (the people and entries of the file's ID numbers,
ownership, the phase) and writes them. Only if the competition's settings changed since the dry
run (another fingerprint) is the kept file checked again. A second decision (a refreshed page,
a double click) finds the batch imported and changes nothing. A batch nobody decided on is
emptied after a day: uploads hold personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from competition import db
from competition.audit import Actor
from competition.errors import Conflict, NotFound
from competition.i18n import gettext
from registration.imports.check import check_rows
from registration.imports.context import load_context
from registration.imports.format import read_upload
from registration.imports.plan import Plan, decode_plan, encode_message, encode_plan
from registration.imports.plan import decode_message as _decode
from registration.imports.resolve import resolve, tuples
from registration.imports.workbooks import report_workbook
from registration.imports.write import write_plan
from registration.tables import ImportBatch

# Rows shown with their problems on the dry-run page; the downloadable report has all.
SHOWN_ERROR_ROWS = 500
# Delegation × trade lines of candidates and places kept for the page.
SHOWN_QUOTA_LINES = 5000
BATCH_MAX_AGE = dt.timedelta(days=1)
# Commits of one competition's imports queue on PostgreSQL (SQLite has one writer anyway):
# the second resolves against what the first wrote.
_ADVISORY_LOCK = 0x4A58  # "JX"


class BatchStatus:
    checked = "checked"  # dry run done, waiting for the decision
    imported = "imported"
    discarded = "discarded"
    expired = "expired"


# ---------------------------------------------------------------------------- the services


async def evaluate(
    competition_id: int,
    table: Any,
    delegation_id: int | None = None,
    *,
    organizer: bool | None = None,
) -> Plan:
    """Check every row of a file read by `read_upload`: the dry run (reads only). `organizer`:
    see `load_context`."""
    context = await load_context(competition_id, delegation_id, organizer=organizer)
    plan = await anyio.to_thread.run_sync(check_rows, table, context)
    return await resolve(plan, context)


async def commit(
    checked: Plan | None,
    content: bytes | Callable[[], Awaitable[bytes]],
    *,
    competition_id: int,
    delegation_id: int | None,
    actor: Actor,
    organizer: bool | None = None,
    with_quotas: bool = False,
) -> Plan:
    """Inside `db.transaction()`: re-check what the database may have changed since the dry
    run and write the valid rows. `checked` is the dry run's plan (None: check the file
    `content` again, as when the competition's settings changed since). `with_quotas`: also
    list candidates and places (`resolve`)."""
    if db.is_postgres():
        await tuples("", "SELECT pg_advisory_xact_lock($1, $2)", _ADVISORY_LOCK, competition_id)
    context = await load_context(competition_id, delegation_id, organizer=organizer)
    if checked is None or checked.fingerprint != context.fingerprint:
        data = content if isinstance(content, bytes) else await content()
        table = await anyio.to_thread.run_sync(read_upload, data)
        checked = await anyio.to_thread.run_sync(check_rows, table, context)
    plan = await resolve(checked, context, with_quotas=with_quotas)
    try:
        await write_plan(plan, actor)
    except Exception as exc:
        # A contestant registering one of the file's people at this very moment: the unique
        # indexes let only one through.
        if db.is_integrity_error(exc):
            raise Conflict(
                "Some of these people were registered while the file was imported; nothing was "
                "imported. Check the file again.",
                code="import_conflict",
            ) from exc
        raise
    return plan


async def import_file(
    competition_id: int,
    data: bytes,
    *,
    actor: Actor,
    delegation_id: int | None = None,
    organizer: bool | None = None,
) -> Plan:
    """Read, check and import the valid rows of a file in one go (the demo loader, tests).
    The plan returned carries the counts and the problems of the rows left out."""
    table = await anyio.to_thread.run_sync(read_upload, data)
    context = await load_context(competition_id, delegation_id, organizer=organizer)
    checked = await anyio.to_thread.run_sync(check_rows, table, context)
    del table
    async with db.transaction():
        return await commit(
            checked,
            data,
            competition_id=competition_id,
            delegation_id=delegation_id,
            actor=actor,
            organizer=organizer,
        )


# ---------------------------------------------------------------------------- batches


def _summary(plan: Plan, filename: str) -> dict[str, Any]:
    shown = []
    for row in sorted(plan.errors)[:SHOWN_ERROR_ROWS]:
        for problem in plan.errors[row]:
            shown.append([row, problem.column, encode_message(problem.message)])
    return {
        "filename": filename,
        "kind": plan.kind,
        "encoding": plan.encoding,
        "sheet": plan.sheet,
        "counts": plan.counts.as_dict(),
        "errors": shown,
        "quotas": [
            [q.delegation, q.trade, q.trade_en, q.candidates, q.cap, q.free]
            for q in plan.quota_lines[:SHOWN_QUOTA_LINES]
        ],
        "quota_lines": len(plan.quota_lines),
    }


@dataclass
class BatchView:
    """An import batch as the pages show it."""

    token: str
    competition_id: int
    delegation_id: int | None
    filename: str
    status: str
    counts: dict[str, int]
    result: dict[str, int] | None
    created_at: dt.datetime
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Delegation × trade: candidates in the file and places left (cap/free None: unlimited).
    quotas: list[dict[str, Any]] = field(default_factory=list)
    quota_lines: int = 0

    @property
    def error_rows_shown(self) -> int:
        return len({e["row"] for e in self.errors})


def _view(row: dict[str, Any]) -> BatchView:
    summary = row["summary"]
    if isinstance(summary, str):
        summary = json.loads(summary)
    return BatchView(
        token=row["token"],
        competition_id=row["competition"],
        delegation_id=row["delegation"],
        filename=row["filename"],
        status=row["status"],
        counts=summary.get("counts", {}),
        result=summary.get("result"),
        created_at=row["created_at"],
        errors=[
            {"row": r, "column": column, "message": _decode(message)}
            for r, column, message in summary.get("errors", [])
        ],
        quotas=[_quota_line(*line) for line in summary.get("quotas", [])],
        quota_lines=summary.get("quota_lines", 0),
    )


def _quota_line(
    delegation: str, trade: str, trade_en: str, n: int, cap: int | None, free: int | None
) -> dict[str, Any]:
    return {
        "delegation": delegation,
        "trade": trade,
        "trade_en": trade_en,
        "candidates": n,
        "cap": cap,
        "free": free,
        "over": free is not None and n > free,
    }


_COLUMNS = (
    ImportBatch.id,
    ImportBatch.token,
    ImportBatch.competition,
    ImportBatch.delegation,
    ImportBatch.filename,
    ImportBatch.status,
    ImportBatch.summary,
    ImportBatch.created_at,
)


async def check_upload(
    competition_id: int,
    data: bytes,
    *,
    actor: Actor,
    filename: str = "",
    delegation_id: int | None = None,
    organizer: bool | None = None,
) -> BatchView:
    """The dry run: check every row, keep the file, the plan and the report in an
    ImportBatch. A file that cannot be read at all raises FileRefused and nothing is stored.
    `organizer`: see `load_context` (an organizer importing for one delegation passes True)."""
    table = await anyio.to_thread.run_sync(read_upload, data)
    context = await load_context(competition_id, delegation_id, organizer=organizer)
    plan = await anyio.to_thread.run_sync(check_rows, table, context)
    del table  # the rows are in the plan now: a large file's cells need not wait for the rest
    plan = await resolve(plan, context)
    blob = await anyio.to_thread.run_sync(encode_plan, plan)
    token = secrets.token_urlsafe(24)
    async with db.transaction():
        await ImportBatch.update(
            {
                ImportBatch.content: b"",
                ImportBatch.plan: b"",
                ImportBatch.status: BatchStatus.expired,
            }
        ).where(
            (ImportBatch.status == BatchStatus.checked)
            & (ImportBatch.created_at < dt.datetime.now(dt.UTC) - BATCH_MAX_AGE)
        )
        await ImportBatch.insert(
            ImportBatch(
                token=token,
                competition=competition_id,
                delegation=delegation_id,
                user_id=actor.user_id,
                filename=filename[:200],
                content=data,
                plan=blob,
                status=BatchStatus.checked,
                summary=_summary(plan, filename[:200]),
            )
        )
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def batch_owner(token: str) -> tuple[int, int | None] | None:
    """(competition, delegation) of a batch, for deciding who may see it; None if unknown."""
    row = (
        await ImportBatch.select(ImportBatch.competition, ImportBatch.delegation)
        .where(ImportBatch.token == token)
        .first()
    )
    return (row["competition"], row["delegation"]) if row else None


async def get_batch(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> BatchView:
    """A batch of this competition; for a delegation (delegation_id given), only its own."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    return _view(row)


async def _batch_row(
    token: str, competition_id: int, delegation_id: int | None, *, lock: bool
) -> dict[str, Any]:
    query = ImportBatch.select(*_COLUMNS).where(
        (ImportBatch.token == token) & (ImportBatch.competition == competition_id)
    )
    if delegation_id is not None:
        query = query.where(ImportBatch.delegation == delegation_id)
    if lock and db.is_postgres():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound("The import was not found.", code="batch_not_found")
    return row


async def _batch_bytes(batch_id: int, column: Any) -> bytes:
    row = await ImportBatch.select(column).where(ImportBatch.id == batch_id).first()
    value = row[column._meta.name] if row else None
    return bytes(value) if value else b""


async def import_batch(
    token: str, *, competition_id: int, actor: Actor, delegation_id: int | None = None
) -> BatchView:
    """ "Import the valid rows": the kept plan is resolved against the database as it is now
    and its valid rows are written in one transaction. A second call (a refreshed page, a
    double click) finds the batch imported and changes nothing. Called with `delegation_id`,
    that delegation's admin decides; without, an organizer (who may change any record)."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    if row["status"] != BatchStatus.checked:
        return _view(row)
    # Decoding needs no database: done before the write lock is taken.
    blob = await _batch_bytes(row["id"], ImportBatch.plan)
    checked = await anyio.to_thread.run_sync(decode_plan, blob)
    del blob
    async with db.transaction():
        row = await _batch_row(token, competition_id, delegation_id, lock=True)
        if row["status"] != BatchStatus.checked:
            return _view(row)
        batch_id = row["id"]
        plan = await commit(
            checked,
            lambda: _batch_bytes(batch_id, ImportBatch.content),
            competition_id=competition_id,
            delegation_id=row["delegation"],
            actor=actor,
            organizer=delegation_id is None,
        )
        summary = _summary(plan, row["filename"])
        summary["result"] = plan.counts.as_dict()
        await ImportBatch.update(
            {
                ImportBatch.status: BatchStatus.imported,
                ImportBatch.summary: summary,
                ImportBatch.content: b"",
                ImportBatch.plan: b"",
            }
        ).where(ImportBatch.id == batch_id)
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def discard_batch(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> BatchView:
    """ "Import nothing": the batch is closed and the uploaded file deleted."""
    async with db.transaction():
        row = await _batch_row(token, competition_id, delegation_id, lock=True)
        if row["status"] == BatchStatus.checked:
            await ImportBatch.update(
                {
                    ImportBatch.status: BatchStatus.discarded,
                    ImportBatch.content: b"",
                    ImportBatch.plan: b"",
                }
            ).where(ImportBatch.id == row["id"])
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def recent_batches(
    competition_id: int, delegation_id: int | None = None, limit: int = 10
) -> list[BatchView]:
    query = ImportBatch.select(*_COLUMNS).where(ImportBatch.competition == competition_id)
    if delegation_id is not None:
        query = query.where(ImportBatch.delegation == delegation_id)
    rows = await query.order_by(ImportBatch.id, ascending=False).limit(limit)
    views = []
    for row in rows:
        view = _view(row)
        view.errors, view.quotas = [], []
        views.append(view)
    return views


async def batch_report(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> tuple[str, bytes]:
    """The report of a batch waiting for the decision: its rows with the problems the dry run
    found. Returns (file name, xlsx)."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    if row["status"] != BatchStatus.checked:
        raise NotFound(
            "The uploaded file is no longer kept; upload it again to get a report.",
            code="batch_closed",
        )
    table = await anyio.to_thread.run_sync(
        read_upload, await _batch_bytes(row["id"], ImportBatch.content)
    )
    plan = await anyio.to_thread.run_sync(
        decode_plan, await _batch_bytes(row["id"], ImportBatch.plan)
    )
    if plan is None:  # kept before plans were: check it again
        plan = await evaluate(
            competition_id, table, row["delegation"], organizer=delegation_id is None
        )
    problems = [p for r in sorted(plan.errors) for p in plan.errors[r]]
    quotas = _view(row).quotas
    content = await anyio.to_thread.run_sync(
        report_workbook, table, plan.header_row, problems, quotas
    )
    stem = (row["filename"] or "import").rsplit(".", 1)[0]
    suffix = gettext("report")
    return f"{stem}-{suffix}.xlsx", content
