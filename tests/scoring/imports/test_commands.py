"""`jiangxin import marks|theory|penalties|times`: the real commands, in a process of their
own, on the test database — a refused file with its reports, a dry run, double entry with
signing, and the imports."""

from __future__ import annotations

import json
from pathlib import Path

from registration.tables import Entry, EntryStatus
from scoring.tables import CompletionTime, EventScore, Mark, MarkChange, Penalty, ScoreSheet
from tests.scoring.imports.files import audit_count, report_rows, run_cli, shown_codes, xlsx
from tests.scoring.sheets.builders import competing_trade

MARKS = ["加密号", "评分项", "裁判", "分数"]


async def test_the_marks_command_with_double_entry_and_signing(demo_scoring, tmp_path: Path):
    built = await competing_trade()
    facts = await built.sheet("judge")
    codes = await shown_codes(built.trade_id)
    code = codes[sorted(facts.slots)[0]]
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    first.write_bytes(xlsx([MARKS, [code, "B6", "judge", "2"], [code, "D1", "judge", "3"]]))
    second.write_bytes(xlsx([MARKS, [code, "D1", "judge", "3"], [code, "B6", "judge", "1"]]))
    report = tmp_path / "report.json"
    refused = run_cli("marks", str(first), "--competition", "QH16", "--second", str(second),
                      "--commit", "--report", str(report))  # fmt: skip
    assert refused.returncode == 1 and "Nothing was imported" in refused.stderr
    data = json.loads(report.read_text())
    assert sorted((p["sheet"], p["row"], p["code"]) for p in data["problems"]) == [
        ("1", 2, "double_entry_differs"),
        ("2", 3, "double_entry_differs"),
    ]
    assert data["imported"] is False and await Mark.count() == 0
    assert await audit_count("score_import.refused") == 1
    workbook = tmp_path / "report.xlsx"
    run_cli("marks", str(first), "--competition", "QH16", "--second", str(second),
            "--report", str(workbook))  # fmt: skip
    _listing, sheets = report_rows(workbook.read_bytes())
    assert [s[0][-1] for s in sheets] == ["错误", "错误"] and "1.00" in sheets[0][1][-1]

    dry = run_cli("marks", str(first), "--competition", "QH16", "--second", str(first))
    assert dry.returncode == 0, dry.stderr
    assert "rows 2" in dry.stdout and "Dry run" in dry.stdout and await Mark.count() == 0
    done = run_cli("marks", str(first), "--competition", "QH16", "--trade", "T001", "--commit",
                   "--sign")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "saved 2" in done.stdout and "signed 0" in done.stdout and "unsigned 1" in done.stdout
    assert await Mark.count() == 2 and await MarkChange.count() == 2
    sheet = await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.id == facts.id).first()
    assert sheet["status"] == "open", "a sheet with marks missing is not signed"


async def test_the_theory_penalty_and_time_commands(demo_scoring, tmp_path: Path):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    code = codes[sorted(codes)[0]]
    ticket = (
        await Entry.select(Entry.ticket_number)
        .where((Entry.trade.code == "T002") & (Entry.status == EntryStatus.approved.value))
        .first()
    )["ticket_number"]
    files = {
        "theory": [["准考证号", "成绩"], [ticket, "88.5"]],
        "penalties": [["加密号", "分值", "类型", "原因"], [code, "-3", "安全违规", "未戴手套"]],
        "times": [["加密号", "用时"], [code, "1:05:00"]],
    }
    for kind, rows in files.items():
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(xlsx(rows))
        dry = run_cli(kind, str(path), "--competition", "QH16")
        assert dry.returncode == 0 and "Dry run" in dry.stdout, dry.stderr
        done = run_cli(kind, str(path), "--competition", "QH16", "--commit")
        assert done.returncode == 0 and "Imported" in done.stdout, done.stderr
    assert [r["hundredths"] for r in await EventScore.select(EventScore.hundredths)] == [8850]
    assert [r["hundredths"] for r in await Penalty.select(Penalty.hundredths)] == [-300]
    assert [r["seconds"] for r in await CompletionTime.select(CompletionTime.seconds)] == [3900]
    unknown = run_cli("times", str(tmp_path / "times.xlsx"), "--competition", "NOPE")
    assert unknown.returncode == 1 and "Error" in unknown.stderr
