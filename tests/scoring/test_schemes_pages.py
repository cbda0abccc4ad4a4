"""Marking schemes through the organizer's pages and the CLI: the template read back, the
import (check, then import) with bad files that store nothing, versions, the edit form, the
printouts read back with pypdf (codes only)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pypdf
import xlsxwriter

from competition.tables import (
    AuditLog,
    Competition,
    CompetitionSession,
    Station,
    Trade,
    User,
)
from registration.tables import Entry, Person
from scoring.schemes import service, sheet
from scoring.tables import Aspect, Criterion, Draw, DrawSlot, Mark, MarkingScheme
from tests.support import login, post_form

HEAD = ["工种代码", "模块代码", "模块名称", "评分项代码", "评分项描述", "类型", "分值",
        "裁判人数", "需复核", "扣分项", "评价0分", "评价1分", "评价2分", "评价3分"]  # fmt: skip
LEVELS = ["差", "合格", "良好", "优秀"]


def _rows(trade: str = "T001", *, total_b: str = "40", b_levels=LEVELS, a2: str = "A2",
          deduction: str = "每处超差:5") -> list[list]:  # fmt: skip
    return [
        [trade, "A", "质量", "A1", "尺寸精度", "测量", "50", "3", "是", deduction, "", "", "", ""],
        [trade, "A", "", a2, "形位公差", "测量", "10", "", "", "", "", "", "", ""],
        [trade, "B", "工艺", "B1", "外观", "评价", total_b, "3", "", "", *b_levels],
    ]


def _xlsx(rows: list[list], *, formula_at: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet("评分细则")
    ws.write_row(0, 0, HEAD)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if formula_at == (r, c):
                ws.write_formula(r, c, "=20+20", None, 40)
            else:
                ws.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


async def _counts() -> tuple[int, int, int, int]:
    return (
        await MarkingScheme.count(), await Criterion.count(), await Aspect.count(),
        await AuditLog.count().where(AuditLog.action.like("scheme.%")),
    )  # fmt: skip


async def _trade_id(cid: int, code: str) -> int:
    row = (
        await Trade.select(Trade.id)
        .where((Trade.competition == cid) & (Trade.code == code))
        .first()
    )
    return row["id"]


async def _upload(client, cid: int, data: bytes, action: str = "commit"):
    return await post_form(
        client, f"/org/competitions/{cid}/schemes/import", {"action": action},
        files={"file": ("细则.xlsx", data, sheet.kit.XLSX_MEDIA_TYPE)},
    )  # fmt: skip


async def test_the_template_reads_back_and_imports(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    response = await client.get(f"/org/competitions/{cid}/schemes/template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = book["评分细则"]
    assert [c.value for c in ws[1]][:7] == HEAD[:7]
    # The template's example is itself a valid scheme of 100 marks for the first trade.
    checked = await service.check_file(cid, response.content)
    assert checked.problems == [] and len(checked.drafts) == 1
    assert checked.drafts[0].total == 10000


async def test_check_then_import_then_replace_in_place(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    data = _xlsx(_rows("T001") + _rows("T002"))
    before = await _counts()
    response = await _upload(client, cid, data, "check")
    assert response.status_code == 200
    assert "文件无误" in response.text or 'id="scheme-checked"' in response.text
    assert await _counts() == before  # the dry run writes nothing
    response = await _upload(client, cid, data)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert 'data-trade="T001"' in page.text
    welding = await _trade_id(cid, "T001")
    view = await service.current_scheme(welding)
    assert view.version == 1 and view.total == 10000 and len(view.aspects) == 3
    a1 = next(a for a in view.aspects if a["code"] == "A1")
    assert a1["deductions"] == [{"label": "每处超差", "hundredths": 500}]
    assert a1["needs_verification"]
    b1 = next(a for a in view.aspects if a["code"] == "B1")
    assert b1["descriptors"] == LEVELS and b1["kind"] == "judgement"
    audits = await AuditLog.count().where(AuditLog.action == "scheme.import")
    assert audits == 2
    # Again, no mark yet: replaced in place, still version 1.
    response = await _upload(client, cid, _xlsx(_rows("T001", a2="A3")))
    assert response.status_code == 303
    view = await service.current_scheme(welding)
    assert view.version == 1 and {a["code"] for a in view.aspects} == {"A1", "A3", "B1"}
    assert await MarkingScheme.count().where(MarkingScheme.trade == welding) == 1
    # The scheme page shows it.
    page = await client.get(f"/org/competitions/{cid}/trades/{welding}/scheme")
    assert page.status_code == 200 and "形位公差" in page.text and "优秀" in page.text


async def _bad(client, cid: int, data: bytes, expected: str) -> str:
    before = await _counts()
    response = await _upload(client, cid, data)
    assert response.status_code == 422, response.text[:500]
    assert expected in response.text, response.text[-3000:]
    assert await _counts() == before
    return response.text


async def test_bad_files_store_nothing_and_say_why_in_chinese(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    await _bad(client, cid, _xlsx(_rows(total_b="39.5")), "99.50")
    await _bad(client, cid, _xlsx(_rows(a2="A1")), "评分项代码A1重复")
    await _bad(client, cid, _xlsx(_rows(b_levels=["差", "", "良好", "优秀"])), "缺少：1")
    await _bad(client, cid, _xlsx(_rows(deduction="大缺陷:60")), "超过该评分项的分值")
    await _bad(client, cid, _xlsx(_rows(), formula_at=(3, 6)), "公式")
    text = await _bad(client, cid, _xlsx(_rows("T999") + _rows("T002")), "T999")
    assert "没有代码为T999的工种" in text
    # The error report repeats the rows with an error column.
    start = text.index("/schemes/report/")
    url = text[text.rindex('"', 0, start) + 1 : text.index('"', start)]
    report = await client.get(url)
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    cells = " ".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value)
    assert "T999" in cells and "没有代码为T999的工种" in cells


async def test_after_a_mark_a_new_scheme_supersedes_and_once_competing_none(demo_full, client):
    await login(client, "organizer")
    cid = demo_full.competition_id
    welding = await _trade_id(cid, "T001")
    assert (await _upload(client, cid, _xlsx(_rows()))).status_code == 303
    view = await service.current_scheme(welding)
    slot_id = await _slot(cid, welding)
    await Mark.insert(Mark(slot=slot_id, aspect=view.aspects[0]["id"], value_hundredths=100,
                           client_id="t-1"))  # fmt: skip
    assert (await _upload(client, cid, _xlsx(_rows(a2="A9")))).status_code == 303
    rows = (
        await MarkingScheme.select()
        .where(MarkingScheme.trade == welding)
        .order_by(MarkingScheme.version)
    )
    assert [(r["version"], bool(r["is_current"])) for r in rows] == [(1, False), (2, True)]
    assert rows[0]["superseded_at"] is not None
    # The mark keeps its version's aspect.
    mark = await Mark.select(Mark.aspect.scheme.version).first()
    assert mark["aspect.scheme.version"] == 1
    # Competing: refused, nothing stored.
    await Trade.update({Trade.stage: "competing"}).where(Trade.id == welding)
    text = await _bad(client, cid, _xlsx(_rows(a2="A7")), "比赛中")
    assert "不能再修改" in text
    response = await post_form(
        client, f"/org/competitions/{cid}/trades/{welding}/scheme/edit",
        {"criteria": "0", "aspects": "0", "action": "save"},
    )  # fmt: skip
    assert response.status_code in (409, 422)


async def _slot(cid: int, trade_id: int) -> int:
    """A drawn contestant of the trade's practical session (a hand-made draw)."""
    session = (
        await CompetitionSession.select()
        .where((CompetitionSession.trade == trade_id) & (CompetitionSession.event == "practical"))
        .first()
    )
    station = await Station.select(Station.id).where(Station.venue == session["venue"]).first()
    entry = await Entry.select(Entry.id).where(Entry.trade == trade_id).first()
    draw = await Draw.insert(Draw(trade=trade_id, seed="s", algorithm="test-v1"))
    slot = await DrawSlot.insert(
        DrawSlot(draw=draw[0]["id"], trade=trade_id, entry=entry["id"], session=session["id"],
                 station=station["id"], code="K07", judge_code="J31", position=1)
    )  # fmt: skip
    return slot[0]["id"]


async def test_the_edit_form_adds_lines_saves_and_refuses_bad_input(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    trade = await _trade_id(cid, "T003")
    url = f"/org/competitions/{cid}/trades/{trade}/scheme/edit"
    page = await client.get(url)
    assert page.status_code == 200 and 'name="a0-code"' in page.text
    response = await post_form(
        client,
        url,
        {
            "criteria": "1",
            "aspects": "1",
            "c0-code": "A",
            "c0-name": "质量",
            "action": "add_aspect",
        },
    )
    assert response.status_code == 200 and 'name="a1-code"' in response.text
    form = {
        "criteria": "2", "aspects": "2", "c0-code": "A", "c0-name": "质量",
        "c1-code": "B", "c1-name": "工艺",
        "a0-criterion": "A", "a0-code": "A1", "a0-description": "尺寸", "a0-kind": "measurement",
        "a0-max": "60", "a0-judges": "3", "a0-deductions": "每处超差:5\n严重超差:20",
        "a1-criterion": "B", "a1-code": "B1", "a1-description": "外观", "a1-kind": "judgement",
        "a1-max": "39.5", "a1-judges": "3", "a1-level0": "差", "a1-level1": "合格",
        "a1-level2": "良好", "a1-level3": "",
    }  # fmt: skip
    before = await _counts()
    response = await post_form(client, url, {**form, "action": "save"})
    assert response.status_code == 422
    assert "99.50" in response.text and "缺少：3" in response.text
    assert await _counts() == before
    form.update({"a1-max": "40", "a1-level3": "优秀", "action": "save"})
    response = await post_form(client, url, form)
    assert response.status_code == 303, response.text[-2000:]
    view = await service.current_scheme(trade)
    assert view.total == 10000 and [a["code"] for a in view.aspects] == ["A1", "B1"]
    assert view.aspects[0]["deductions"][1] == {"label": "严重超差", "hundredths": 2000}
    assert await AuditLog.count().where(AuditLog.action == "scheme.edit") == 1
    # Removing a line: the total is then wrong, refused.
    response = await post_form(client, url, {**form, "a1-remove": "1"})
    assert response.status_code == 422 and "60.00" in response.text


def _pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(p.extract_text() for p in reader.pages)


async def test_printouts_show_the_scheme_and_codes_only(demo_full, client):
    await login(client, "organizer")
    cid = demo_full.competition_id
    welding = await _trade_id(cid, "T001")
    assert (await _upload(client, cid, _xlsx(_rows()))).status_code == 303
    response = await client.get(f"/org/competitions/{cid}/trades/{welding}/scheme.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    assert "尺寸精度" in text and "优秀" in text and "每处超差" in text and "100.00" in text
    session = (
        await CompetitionSession.select()
        .where((CompetitionSession.trade == welding) & (CompetitionSession.event == "practical"))
        .first()
    )
    url = f"/org/competitions/{cid}/sessions/{session['id']}/score-sheet.pdf"
    # Before the draw: station rows, no codes.
    text = _pdf_text((await client.get(url)).content)
    station = await Station.select(Station.code).where(Station.venue == session["venue"]).first()
    assert "评分表" in text and station["code"] in text and "B1" in text
    await _slot(cid, welding)
    response = await client.get(url)
    text = _pdf_text(response.content)
    assert "J31" in text and "K07" not in text  # the judges' second-layer code
    slot = await DrawSlot.select(DrawSlot.entry).first()
    entry = await Entry.select(Entry.person).where(Entry.id == slot["entry"]).first()
    person = await Person.select().where(Person.id == entry["person"]).first()
    assert person["name"] not in text and person["id_number"] not in text


def _cli(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("jiangxin")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "competition.cli"]
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [*command, *args], env=dict(os.environ), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


async def test_the_cli_checks_and_imports(demo_mutable, tmp_path):
    cid = demo_mutable.competition_id
    code = (await Competition.select(Competition.code).where(Competition.id == cid).first())["code"]
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_xlsx(_rows(total_b="39.5")))
    report = tmp_path / "report.json"
    result = _cli("import", "schemes", str(bad), "--competition", code, "--commit",
                  "--report", str(report))  # fmt: skip
    assert result.returncode == 1 and "99.50" in result.stdout
    assert json.loads(report.read_text())["problems"][0]["code"] == "total_not_100"
    assert await MarkingScheme.count() == 0
    good = tmp_path / "good.xlsx"
    good.write_bytes(_xlsx(_rows()))
    result = _cli("import", "schemes", str(good), "--competition", code)
    assert result.returncode == 0 and "Dry run" in result.stdout
    assert await MarkingScheme.count() == 0
    result = _cli("import", "schemes", str(good), "--competition", code, "--commit")
    assert result.returncode == 0, result.stderr
    assert await MarkingScheme.count() == 1


async def test_the_list_shows_every_trade_with_its_scheme_and_stage(demo_mutable, client):
    from scoring.demo.schemes import load_demo_schemes

    await login(client, "organizer")
    cid = demo_mutable.competition_id
    await load_demo_schemes(cid)
    response = await client.get(f"/org/competitions/{cid}/schemes")
    assert response.status_code == 200
    total = await Trade.count().where(Trade.competition == cid)
    assert response.text.count('<tr data-trade="') == total
    assert "未抽签" in response.text and "100.00" in response.text
    # The scoring menu links here.
    assert f'href="/org/competitions/{cid}/schemes"' in response.text
    # A file without the required columns: refused as a whole, nothing stored.
    before = await _counts()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet("评分细则").write_row(0, 0, ["工种代码", "模块代码", "评分项代码"])
    book.get_worksheet_by_name("评分细则").write_row(1, 0, ["T001", "A", "A1"])
    book.close()
    response = await _upload(client, cid, buffer.getvalue())
    assert response.status_code == 422 and "评分项描述" in response.text
    assert await _counts() == before


async def test_other_roles_cannot_reach_the_schemes(demo, client):
    await login(client, "encryption")
    cid = demo.competition_id
    for url in (f"/org/competitions/{cid}/schemes",
                f"/org/competitions/{cid}/schemes/template.xlsx"):  # fmt: skip
        response = await client.get(url, follow_redirects=False)
        assert response.status_code in (303, 403)


async def test_a_long_scheme_prints_over_several_pages_a_judge(demo_full, client):
    from scoring.demo.schemes import load_demo_schemes
    from scoring.tables import Judge, SessionJudge

    await login(client, "organizer")
    cid = demo_full.competition_id
    await load_demo_schemes(cid)
    welding = await _trade_id(cid, "T001")
    session = (
        await CompetitionSession.select()
        .where((CompetitionSession.trade == welding) & (CompetitionSession.event == "practical"))
        .first()
    )
    account = await User.select(User.id).first()
    judge = await Judge.insert(Judge(competition=cid, user=account["id"], name="李评委"))
    await SessionJudge.insert(SessionJudge(session=session["id"], judge=judge[0]["id"]))
    response = await client.get(f"/org/competitions/{cid}/sessions/{session['id']}/score-sheet.pdf")
    assert response.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    # 14 aspects: two pages of columns, each naming the judge.
    assert len(reader.pages) >= 2 and "（2/2）" in text and "李评委" in text
    assert "A1" in text and "D1" in text
    # Once the trade competes, the edit page sends the organizer to the scheme page.
    await Trade.update({Trade.stage: "competing"}).where(Trade.id == welding)
    response = await client.get(f"/org/competitions/{cid}/trades/{welding}/scheme/edit")
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "不能再修改" in page.text
