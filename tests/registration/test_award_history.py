"""Earlier prizes (registration/award_history.py) on the spreadsheet kit: hostile cells are
refused like in every other import — formula cells, text a spreadsheet would run (also behind a
TAB), zero-width characters in ID numbers — with one message each, through the real page."""

from __future__ import annotations

import io
import re

import openpyxl

from competition.audit import SYSTEM
from registration import award_history
from registration.tables import AwardHistory
from tests.registration.helpers import new_id
from tests.support import login, post_form

HEADER = ["身份证号", "姓名", "工种", "奖项", "年份", "赛事名称"]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _problems(html: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'data-label="行号" class="num">(\d+)</td><td data-label="列">([^<]+)</td>'
        r'<td data-label="问题">([^<]+)</td>',
        html,
    )


async def test_formula_cells_and_formula_text_are_refused_with_one_message(client, demo_mutable):
    cid = demo_mutable.competition_id
    data = _xlsx(
        [
            [new_id(), "马建国", "电工", "一等奖", "2021", '=HYPERLINK("http://x.invalid")'],
            [new_id(), "韩文斌", "\t=cmd|' /C calc'!A0", "二等奖", "2021", ""],
            [new_id(), "-才让", "焊工", "三等奖", "2021", ""],
            [new_id(), "马永福", "焊工", "一等奖", "二〇二一", ""],
        ]
    )
    await login(client, "organizer")
    response = await post_form(
        client,
        f"/org/competitions/{cid}/award-history",
        files={"file": ("list.xlsx", data, "application/octet-stream")},
    )
    assert response.status_code == 422
    problems = _problems(response.text)
    assert [(row, column) for row, column, _text in problems] == [
        ("2", "赛事名称"),
        ("3", "工种"),
        ("4", "姓名"),
        ("5", "年份"),
    ]
    assert "公式" in problems[0][2] and "HYPERLINK" in problems[0][2]
    assert "公式" in problems[1][2] and "公式" in problems[2][2]
    assert await AwardHistory.count() == 0


async def test_zero_width_characters_in_id_numbers_are_removed(demo_mutable):
    number = new_id()
    pasted = "\ufeff" + number[:9] + "\u200b" + number[9:]
    data = (",".join(HEADER) + "\r\n" + f"{pasted},马永福,焊工,一等奖,2019年,\r\n").encode()
    result = await award_history.import_award_history(
        demo_mutable.competition_id, data, actor=SYSTEM, filename="a.csv"
    )
    assert (result.rows, result.added) == (1, 1)
    stored = await AwardHistory.select(AwardHistory.id_number, AwardHistory.year).first()
    assert stored == {"id_number": number, "year": 2019}
