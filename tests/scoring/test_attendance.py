"""Who is present (scoring/draw/attendance.py) and the paper sign-in sheet (签到表) keyed in
through the spreadsheet kit: check-in counts, the organizer's marks with a reason, closing
check-in turning the unknown into absent, bad sheets refused with a per-row report and the
database as it was, the CLI import."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from competition.audit import Actor
from competition.config import REPO_ROOT
from competition.tables import CompetitionSession
from scoring.draw import service, signin_sheet
from scoring.draw.attendance import ABSENT, PRESENT, UNKNOWN, counts, presence
from scoring.stages import set_checkin_closed
from scoring.tables import Attendance
from tests.scoring.test_draw_service import draw_url, main, ready
from tests.support import csrf_token, login, post_form

ACTOR = Actor(user_id=None, name="test")
HEADER = ["准考证号", "到场", "原因"]


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(client, cid: int, trade: int, data: bytes, action: str):
    token = await csrf_token(client)
    return await client.post(
        draw_url(cid, trade, "/attendance/import"),
        data={"_csrf_token": token, "action": action},
        files={"file": ("签到表.xlsx", data, "application/octet-stream")},
    )


async def attendance_rows() -> list[tuple]:
    rows = await Attendance.select(Attendance.entry, Attendance.present, Attendance.reason)
    return sorted((r["entry"], r["present"], r["reason"]) for r in rows)


async def test_presence_from_check_in_marks_and_the_close(demo_full, client):
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T001", check_in=3)
    rows = await presence(trade, closed=False)
    assert [r.status for r in rows[:3]] == [PRESENT] * 3
    assert {r.status for r in rows[3:]} == {UNKNOWN}
    await login(client, "organizer")
    first, late = entries[0]["id"], entries[4]["id"]
    no_reason = await post_form(client, draw_url(cid, trade, "/attendance/mark"),
                                {"entry": first, "action": "absent", "reason": " "})  # fmt: skip
    assert no_reason.status_code == 422 and "请填写原因" in main(no_reason.text)
    assert await attendance_rows() == []
    mark_url = draw_url(cid, trade, "/attendance/mark")
    marked = await post_form(
        client, mark_url, {"entry": first, "action": "absent", "reason": "突发疾病"}
    )
    assert marked.status_code == 303
    reason = "迟到，经裁判长同意入场"
    await post_form(client, mark_url, {"entry": late, "action": "present", "reason": reason})
    await post_form(client, draw_url(cid, trade, "/checkin"), {"action": "close"})
    # The desk's scan is refused once the organizer has closed the trade's check-in.
    from registration import checkin

    scan = await checkin.check_in_entry(
        entries[6]["id"], entries[6]["session"], "closed-door-scan-1", actor=ACTOR
    )
    assert scan.outcome == "refused" and "closed by the organizer" in str(scan.message)
    # The theory exam keeps its own door: only the practical check-in decides the draw.
    theory = (
        await CompetitionSession.select(CompetitionSession.id)
        .where((CompetitionSession.trade == trade) & (CompetitionSession.event == "theory"))
        .first()
    )
    exam = await checkin.check_in_entry(
        entries[6]["id"], theory["id"], "theory-door-scan-1", actor=ACTOR
    )
    assert exam.outcome == "checked_in", exam.message
    rows = {r.entry_id: r for r in await presence(trade, closed=True)}
    assert rows[first].status == ABSENT and rows[first].reason == "突发疾病"
    assert rows[late].status == PRESENT and rows[late].source == "organizer"
    total = counts(list(rows.values()))
    assert total[UNKNOWN] == 0 and total[PRESENT] == 3
    assert total[ABSENT] == len(entries) - 3 and total["checked_in"] == 3
    page = await client.get(draw_url(cid, trade, "/attendance"))
    assert page.status_code == 200 and "突发疾病" in page.text
    assert entries[0]["person.name"] in page.text

    # The draw records the absent in its summary; attendance can no longer change.
    result = await service.run_draw(cid, trade, actor=ACTOR)
    assert (result.present, result.absent) == (3, len(entries) - 3)
    draw = await service.draw_of(trade)
    assert first in draw["summary"]["absent_entries"]
    before = await attendance_rows()
    refused = await post_form(
        client, mark_url, {"entry": entries[1]["id"], "action": "absent", "reason": "x"}
    )
    assert refused.status_code == 409
    assert await attendance_rows() == before
    assert (await client.get(draw_url(cid, trade))).status_code == 200


@pytest.mark.parametrize("whole_competition", [False, True], ids=["lookups", "one-read"])
async def test_bad_sign_in_sheets_are_refused_and_store_nothing(
    demo_full, client, monkeypatch, whole_competition
):
    if whole_competition:  # the path of a sheet of more than 5,000 tickets: one read of all
        monkeypatch.setattr(signin_sheet, "WHOLE_COMPETITION", 0)
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T001", check_in=0)
    _other, other_entries = await ready(cid, "T002", check_in=0)
    await login(client, "organizer")
    template = await client.get(draw_url(cid, trade, "/attendance/template"))
    assert template.status_code == 200
    head = next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))
    assert list(head[:3]) == HEADER
    bad = xlsx([
        HEADER,
        [entries[0]["ticket_number"], "到场", ""],
        ["QH16-T001-9999", "到场", ""],
        [other_entries[0]["ticket_number"], "缺考", ""],
        [entries[1]["ticket_number"], "也许", ""],
        [entries[2]["ticket_number"], "=IF(1,\"到场\")", ""],
        [entries[0]["ticket_number"], "缺考", ""],
    ])  # fmt: skip
    refused = await upload(client, cid, trade, bad, "commit")
    assert refused.status_code == 422
    body = main(refused.text)
    assert "QH16-T001-9999" in body and "T002" in body and "请填写“到场”或“缺考”" in body
    assert "公式" in body and "前面的行" in body
    assert await attendance_rows() == []
    report = await upload(client, cid, trade, bad, "report")
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(report.content))
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert rows[0][-1] == "错误" and rows[1][-1] in (None, "")
    assert all(r[-1] for r in rows[2:])
    assert await attendance_rows() == []

    # Every ticket of the trade keyed in: a dry run first, then the import.
    good = xlsx([HEADER] + [
        [e["ticket_number"], "缺考" if n == 0 else "√", "病假" if n == 0 else ""]
        for n, e in enumerate(entries)
    ])  # fmt: skip
    checked = await upload(client, cid, trade, good, "check")
    assert checked.status_code == 200 and 'id="check-result"' in checked.text
    assert await attendance_rows() == []
    imported = await upload(client, cid, trade, good, "commit")
    assert imported.status_code == 200 and 'id="import-result"' in imported.text
    stored = await attendance_rows()
    assert len(stored) == len(entries) and (entries[0]["id"], False, "病假") in stored
    rows = {r.entry_id: r.status for r in await presence(trade, closed=False)}
    assert rows[entries[0]["id"]] == ABSENT and rows[entries[1]["id"]] == PRESENT

    # Once drawn, the sheet is refused row by row.
    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    await service.run_draw(cid, trade, actor=ACTOR)
    late = await upload(client, cid, trade, good, "commit")
    assert late.status_code == 422 and "已抽签" in main(late.text)
    assert await attendance_rows() == stored


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", "import", "signin", *args],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip


async def test_the_sign_in_sheet_command(demo_full, tmp_path: Path):
    cid = demo_full.competition_id
    _trade, entries = await ready(cid, "T087", check_in=0)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([HEADER, ["QH16-T087-9999", "到场", ""]]))
    report = tmp_path / "report.json"
    refused = _cli(str(bad), "--competition", "QH16", "--commit", "--report", str(report))
    assert refused.returncode == 1 and "Nothing was imported" in refused.stderr
    data = json.loads(report.read_text())
    assert [(p["row"], p["code"]) for p in data["problems"]] == [(2, "ticket_not_found")]
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([HEADER] + [[e["ticket_number"], "到场", ""] for e in entries]))
    wrong_trade = _cli(str(good), "--competition", "QH16", "--trade", "T001")
    assert wrong_trade.returncode == 1 and "属于其他工种（T087）" in wrong_trade.stdout
    dry = _cli(str(good), "--competition", "QH16")
    assert dry.returncode == 0 and "Dry run" in dry.stdout, dry.stderr
    assert await attendance_rows() == []
    done = _cli(str(good), "--competition", "QH16", "--trade", "T087", "--commit")
    assert done.returncode == 0, done.stderr
    assert f"Imported: {len(entries)} attendance records in 1 trades." in done.stdout
    assert len(await attendance_rows()) == len(entries)
