"""Registration lists as xlsx, read back with openpyxl: Chinese headers, full ID numbers for the
organizer and masked ones for a delegation, text cells escaped so they never run as formulas, the
autofilter and frozen header, and a Chinese file name in the Content-Disposition header."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote, unquote

import openpyxl

from competition.audit import SYSTEM
from registration import exports, idcard, review
from tests.registration.helpers import ids, new_id, register
from tests.support import login

FORMULA = "=cmd|' /C calc'!A0"
# How every writer puts such text into a cell: escaped, so a spreadsheet shows it and never runs
# it (competition.spreadsheets.escape).
ESCAPED = "'" + FORMULA
HEADERS = [
    "准考证号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机号码",
    "工作单位",
    "岗位",
    "职业技能等级",
    "工龄",
    "推荐单位",
    "工种",
    "组别",
    "状态",
    "场次",
    "审核意见",
]


def _sheet(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    return book.worksheets[0]


def _rows(sheet) -> list[dict[str, object]]:
    header = [c.value for c in sheet[1]]
    return [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]


async def test_organizer_export_has_full_ids_text_cells_and_a_chinese_name(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id(dt.date(1985, 6, 1), male=False)
    approved = await register(
        cid, name="马秀兰", id_number=number, employer=FORMULA, skill_level=3, years=12
    )
    other = await register(cid, "T002", name="周德明")
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [approved], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [approved], True, actor=SYSTEM)
    trade_id, _ = await ids(cid, "T001", "XN")
    await login(client, "organizer")
    response = await client.get(
        f"/org/competitions/{cid}/entries/export.xlsx", params={"trade": str(trade_id)}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(exports.XLSX_MEDIA_TYPE)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"entries.xlsx\"; filename*=UTF-8''")
    assert unquote(disposition.split("UTF-8''")[1]) == "QH16-报名名单-焊工.xlsx"
    sheet = _sheet(response.content)
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:P2"
    rows = _rows(sheet)
    assert len(rows) == 1  # filtered by trade: 周德明 (电工) is not in it
    row = rows[0]
    assert row["姓名"] == "马秀兰" and row["性别"] == "女"
    assert row["身份证号"] == number
    assert row["准考证号"] == "QH16-T001-0001"
    assert row["出生日期"] == dt.datetime(1985, 6, 1)
    assert row["职业技能等级"].startswith("三级") and row["工龄"] == 12
    assert row["推荐单位"] == "西宁市总工会" and row["工种"] == "焊工" and row["组别"] == "职工组"
    assert row["状态"] == "终审通过" and row["场次"]
    # The formula-looking employer is a plain string cell, not a formula.
    employer = sheet.cell(row=2, column=HEADERS.index("工作单位") + 1)
    assert employer.value == ESCAPED and employer.data_type == "s"
    id_cell = sheet.cell(row=2, column=HEADERS.index("身份证号") + 1)
    assert id_cell.data_type == "s" and id_cell.number_format == "@"
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    # Every status by default: both entries.
    everything = _rows(
        _sheet((await client.get(f"/org/competitions/{cid}/entries/export.xlsx")).content)
    )
    assert {r["姓名"] for r in everything} >= {"马秀兰", "周德明"}
    assert other


async def test_delegation_export_masks_ids_and_holds_only_its_people(client, demo_mutable):
    cid = demo_mutable.competition_id
    mine_number = new_id()
    await register(cid, name="马西宁", id_number=mine_number, employer=FORMULA)
    await register(cid, delegation_code="HX", name="赵海西")
    await login(client, "xining")
    response = await client.get("/delegation/entries/export.xlsx")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote('西宁市总工会-报名名单.xlsx')}" in disposition
    sheet = _sheet(response.content)
    rows = _rows(sheet)
    assert [r["姓名"] for r in rows] == ["马西宁"]
    assert rows[0]["身份证号"] == idcard.mask(mine_number)
    assert mine_number.encode() not in response.content
    employer = sheet.cell(row=2, column=HEADERS.index("工作单位") + 1)
    assert employer.value == ESCAPED and employer.data_type == "s"
    # The filters of the list apply to the file.
    none = _rows(
        _sheet(
            (
                await client.get("/delegation/entries/export.xlsx", params={"status": "approved"})
            ).content
        )
    )
    assert none == []


def test_many_rows_are_written_quickly_and_stay_text():
    row = {
        "ticket_number": None,
        "person.name": "马建华",
        "person.gender": "male",
        "person.birth_date": dt.date(1990, 5, 17),
        "person.id_number": "63010219900517123X",
        "person.phone": "13900971234",
        "person.employer": FORMULA,
        "person.job": "焊工",
        "person.skill_level": 4,
        "person.years_of_service": 5,
        "delegation.name": "西宁市总工会",
        "trade.name": "焊工",
        "group_name": "职工组",
        "status": "submitted",
        "session.code": None,
        "session.name": None,
        "session.starts_at": None,
        "review_note": "",
    }
    content = exports.entries_workbook([row] * 20_000, title="报名名单")
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    values = next(sheet.iter_rows(min_row=20_001, max_row=20_001, values_only=True))
    assert values[4] == "63010219900517123X" and values[6] == ESCAPED
    assert values[2] == "男" and values[13] == "待初审"
