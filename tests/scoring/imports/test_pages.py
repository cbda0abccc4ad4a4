"""The organizer's score-import pages over HTTP: the index in the menu, a template per import,
a check, the report workbook, a refused import listing its problems, and an import with a
second entry and signing."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from scoring.tables import Mark, ScoreSheet
from tests.page_text import main, text
from tests.scoring.imports.files import report_rows, shown_codes, xlsx
from tests.scoring.sheets.builders import competing_trade
from tests.support import csrf_token, login

MARKS = ["加密号", "评分项", "裁判", "分数"]


def _url(cid: int, tail: str = "") -> str:
    return f"/org/competitions/{cid}/score-imports{tail}"


async def _post(client, url: str, data: bytes, action: str, *, second=None, **fields):
    token = await csrf_token(client)
    files = {"file": ("marks.xlsx", data, "application/octet-stream")}
    if second is not None:
        files["second"] = ("second.xlsx", second, "application/octet-stream")
    return await client.post(url, data={"action": action, "_csrf_token": token, **fields},
                             files=files)  # fmt: skip


async def test_the_index_and_the_templates(client, demo_scoring):
    cid = demo_scoring.competition_id
    await login(client, "organizer")
    index = await client.get(_url(cid))
    assert index.status_code == 200
    page = text(main(index.text))
    for title in ("纸质评分表", "理论", "扣分", "完成用时"):
        assert title in page, title
    assert f'href="{_url(cid)}"' in index.text, "the scoring menu links the page"
    headers = {
        "marks": ["工种", "加密号", "评分项", "裁判", "分数"],
        "theory": ["工种", "准考证号", "加密号", "成绩", "项目"],
        "penalties": ["工种", "加密号", "分值", "类型", "原因"],
        "times": ["工种", "加密号", "用时", "原因"],
    }
    for kind, header in headers.items():
        assert (await client.get(_url(cid, f"/{kind}"))).status_code == 200
        response = await client.get(_url(cid, f"/{kind}/template"))
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [c.value for c in sheet[1]] == header


async def test_paper_marks_through_the_page(client, demo_scoring):
    built = await competing_trade()
    cid = built.competition_id
    facts = await built.sheet("judge")
    codes = await shown_codes(built.trade_id)
    code = codes[sorted(facts.slots)[0]]
    await login(client, "organizer")
    url = _url(cid, "/marks")
    bad = xlsx([MARKS, [code, "B6", "judge", "2.5"], [code, "A1", "", "9"]])
    refused = await _post(client, url, bad, "commit")
    assert refused.status_code == 422
    page = text(main(refused.text))
    assert "2.5" in page and "发现 2 处问题" in page, page
    assert await Mark.count() == 0
    report = await _post(client, url, bad, "report")
    assert report.status_code == 200
    _listing, [sheet] = report_rows(report.content)
    assert sheet[0][-1] == "错误" and sheet[1][-1] and sheet[2][-1]

    good = xlsx([MARKS, [code, "B6", "judge", "2"], [code, "A1", "", "2"]])
    checked = await _post(client, url, good, "check", trade=str(built.trade_id))
    assert checked.status_code == 200 and 'id="check-result"' in checked.text
    assert await Mark.count() == 0
    differs = await _post(client, url, good, "commit", second=bad)
    assert differs.status_code == 422 and "第二次录入" in text(main(differs.text))
    done = await _post(client, url, good, "commit", second=good, sign="1")
    assert done.status_code == 200, done.text
    assert 'id="import-result"' in done.text and await Mark.count() == 2
    sheet = await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.id == facts.id).first()
    assert sheet["status"] == "open"


async def test_an_upload_without_a_file_is_refused(client, demo_scoring):
    cid = demo_scoring.competition_id
    await login(client, "organizer")
    token = await csrf_token(client)
    response = await client.post(_url(cid, "/theory"), data={"action": "check",
                                                             "_csrf_token": token})  # fmt: skip
    assert response.status_code == 422 and "请选择" in text(main(response.text))
