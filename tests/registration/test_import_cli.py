"""`jiangxin import registrations`: the real command, in a process of its own, on the test
database — the dry run with a JSON, CSV and xlsx report, the import, and refused files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from competition.config import REPO_ROOT
from registration.tables import Entry, Person
from tests.registration.test_bulk_import_files import csv_bytes, fresh_id, row, xlsx_bytes, zip_bomb


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", "import", "registrations", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


async def test_a_dry_run_writes_nothing_and_reports_every_row(demo_mutable, tmp_path: Path):
    good, spaced = fresh_id(), fresh_id()
    rows = [
        row(id_number=good),
        row(id_number=spaced[:6] + " " + spaced[6:] + "\u200b"),
        row(trade="T999"),
        row(id_number=good),  # the same person and trade again
    ]
    upload = tmp_path / "名单.csv"
    upload.write_bytes(csv_bytes(rows))
    report = tmp_path / "report.json"
    before = await Entry.count()
    done = _run(str(upload), "--competition", "QH16", "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert "read in" in done.stderr and "rows checked" in done.stderr  # progress
    assert "Dry run: nothing was written" in done.stdout
    assert await Entry.count() == before
    data = json.loads(report.read_text())
    assert data["counts"] == {
        "rows": 4, "valid": 2, "errors": 2, "new": 2, "updated": 0, "unchanged": 0
    }  # fmt: skip
    by_row = {r["row"]: r for r in data["rows"]}
    assert [(r["row"], r["verdict"]) for r in data["rows"]] == [
        (2, "new"),
        (3, "new"),
        (4, "refused"),
        (5, "refused"),
    ]
    assert by_row[3]["id_number"] == spaced  # normalised, in full
    assert by_row[4]["codes"] == ["unknown_trade"] and by_row[5]["codes"] == ["duplicate_row"]
    assert "T999" in by_row[4]["problems"][0]
    assert data["quotas"] == [
        {
            "delegation": "西宁市总工会",
            "trade": "数控铣工",
            "candidates": 2,
            "places": 2,
            "places_left": 2,
        }
    ]

    as_csv = tmp_path / "report.csv"
    assert _run(str(upload), "--competition", "QH16", "--report", str(as_csv)).returncode == 0
    lines = as_csv.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "行号,结果,代码,身份证号,问题" and lines[3].startswith(
        "4,refused,unknown_trade,"
    )


async def test_commit_imports_the_valid_rows_for_one_delegation(demo_mutable, tmp_path: Path):
    numbers = [fresh_id(), fresh_id()]
    upload = tmp_path / "名单.xlsx"
    upload.write_bytes(
        xlsx_bytes(
            [row(id_number=numbers[0], delegation=""), row(id_number=numbers[1], delegation="")]
        )
    )
    report = tmp_path / "report.xlsx"
    done = _run(
        str(upload), "--competition", "QH16", "--delegation", "HX", "--commit", "--report",
        str(report),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "imported: new 2" in done.stdout and "imported in" in done.stderr
    stored = await Entry.select(Entry.delegation.code, Entry.person.id_number).where(
        Entry.person.id_number.is_in(numbers)
    )
    assert sorted((e["delegation.code"], e["person.id_number"]) for e in stored) == sorted(
        ("HX", n) for n in numbers
    )
    assert await Person.count().where(Person.id_number.is_in(numbers)) == 2
    sheet = openpyxl.load_workbook(io.BytesIO(report.read_bytes())).worksheets[0]
    assert sheet.cell(row=1, column=11).value == "错误"
    # Again: every row unchanged.
    again = _run(str(upload), "--competition", "QH16", "--delegation", "HX", "--commit")
    assert again.returncode == 0 and "unchanged 2" in again.stdout


async def test_a_refused_file_or_an_unknown_competition_exits_non_zero(demo, tmp_path: Path):
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(zip_bomb(200))
    done = _run(str(bomb), "--competition", "QH16", "--commit")
    assert done.returncode == 1 and "zip 炸弹" in done.stderr
    english = _run(str(bomb), "--competition", "QH16", "--lang", "en")
    assert english.returncode == 1 and "zip bomb" in english.stderr
    upload = tmp_path / "a.csv"
    upload.write_bytes(csv_bytes([row()]))
    unknown = _run(str(upload), "--competition", "NOPE")
    assert unknown.returncode == 1 and "未找到该赛事" in unknown.stderr
    bad_report = _run(str(upload), "--competition", "QH16", "--report", str(tmp_path / "r.txt"))
    assert bad_report.returncode == 1
