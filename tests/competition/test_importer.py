"""Importing industries, trades and quotas from Excel: real workbooks written by openpyxl,
through the page, on the real database."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from typing import Any

import openpyxl
import pytest

from competition import importer
from competition.controllers import imports
from competition.errors import ValidationFailed
from competition.schemas import settings_from_json
from competition.spreadsheets import RowProblem
from competition.tables import (
    AuditLog,
    Competition,
    Industry,
    Quota,
    Role,
    Trade,
    User,
)
from tests.support import PASSWORD, login, make_user, post_form

XLSX = importer.XLSX_MEDIA_TYPE
INDUSTRY_HEADER = ["行业代码", "行业名称", "英文名称", "排序"]
TRADE_HEADER = [
    "工种代码", "工种名称", "行业代码", "英文名称", "组别", "理论权重", "实操权重", "答辩权重",
    "最低年龄", "最高年龄", "最低技能等级", "最低工龄", "总名额上限", "评委合分规则",
]  # fmt: skip
QUOTA_HEADER = ["推荐单位代码", "推荐单位名称", "工种代码", "名额"]


def workbook(sheets: dict[str, list[list[Any]]], *, text_cells: tuple[str, ...] = ()) -> bytes:
    """An xlsx with the given sheets; `text_cells` ("工种!B3") are forced to string cells, the
    way Excel stores a value typed after an apostrophe."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    for ref in text_cells:
        title, cell = ref.split("!")
        book[title][cell].data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_workbook() -> bytes:
    return workbook(
        {
            "行业": [
                INDUSTRY_HEADER,
                ["ＸＹ", " 新兴  产业 ", "Emerging Industries", 9],  # full-width code, odd spaces
            ],
            "工种": [
                TRADE_HEADER,
                ["XY01", "无人机驾驶员", "XY", "Drone Pilot", "职工组、学生组", 30, 70, None,
                 18, 55, "四级/中级工", 1, 40, "mean"],
                ["XY02", "工业机器人系统运维员", "XY", "", "职工组|学生组", "２５", "55%", 20,
                 None, None, 3, None, None, None],
                # An existing demo trade, re-weighted: its awards must survive the import.
                ["T001", "焊工", "ZBZZ", "Welder", "职工组|学生组", 40, 60, None,
                 16, 60, 5, 0, 80, "trimmed_mean"],
            ],
            "名额": [
                QUOTA_HEADER,
                ["XN", "西宁市总工会", "XY01", 3],
                [None, "海西州总工会", "XY01", "2"],  # by name only
                ["HX", None, "XY02", 1],
            ],
        }
    )  # fmt: skip


async def snapshot(competition_id: int) -> dict[str, Any]:
    """Everything an import could change, to prove a rejected one changed nothing."""
    industries = await Industry.select().where(Industry.competition == competition_id)
    trades = await Trade.select().where(Trade.competition == competition_id).output(load_json=True)
    quotas = await Quota.select().where(Quota.trade.competition == competition_id)
    return {
        "counts": (len(industries), len(trades), len(quotas), await AuditLog.count()),
        "industries": sorted(industries, key=lambda r: r["id"]),
        "trades": sorted(trades, key=lambda r: r["id"]),
        "quotas": sorted(quotas, key=lambda r: r["id"]),
    }


async def upload(client, competition_id: int, content: bytes, name: str = "名单.xlsx"):
    return await post_form(
        client,
        f"/org/competitions/{competition_id}/import",
        files={"file": (name, content, XLSX)},
    )


def text_of(response) -> str:
    """The page's visible text, roughly: tags dropped, entities of quotes decoded."""
    html = re.sub(r"<[^>]+>", " ", response.text)
    return " ".join(html.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&").split())


async def rejected(client, competition_id: int, content: bytes, name: str = "x.xlsx") -> str:
    before = await snapshot(competition_id)
    response = await upload(client, competition_id, content, name)
    assert response.status_code == 422, response.text
    assert await snapshot(competition_id) == before
    return text_of(response)


# ---------------------------------------------------------------------------- good imports


async def test_good_workbook_imports_every_sheet_and_reimport_changes_nothing(demo_mutable, client):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    audit_before = await AuditLog.count()
    welder_before = await Trade.select().where(Trade.code == "T001").output(load_json=True).first()

    response = await upload(client, cid, good_workbook())
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"/org/competitions/{cid}/import?done=imported")
    assert "industry-1-0-0" in location and "trade-2-1-0" in location
    assert "quota-3-0-0" in location

    industry = await Industry.select().where(Industry.code == "XY").first()
    assert industry["name"] == "新兴 产业" and industry["sort_order"] == 9
    drone = await Trade.select().where(Trade.code == "XY01").output(load_json=True).first()
    assert drone["industry"] == industry["id"]  # a trade using an industry from the same file
    assert drone["groups"] == ["职工组", "学生组"]
    assert drone["events"] == [
        {"key": "theory", "weight": 30},
        {"key": "practical", "weight": 70},
    ]
    assert drone["eligibility"]["min_skill_level"] == 4
    assert drone["eligibility"]["min_age"] == 18
    assert drone["eligibility"]["min_years_service"] == 1
    assert drone["max_entries"] == 40 and drone["judge_rule"]["rule"] == "mean"
    robots = await Trade.select().where(Trade.code == "XY02").output(load_json=True).first()
    assert [e["weight"] for e in robots["events"]] == [25, 55, 20]
    assert robots["eligibility"]["min_age"] is None
    assert robots["eligibility"]["min_skill_level"] == 3
    assert robots["judge_rule"]["rule"] == "trimmed_mean"

    welder = await Trade.select().where(Trade.code == "T001").output(load_json=True).first()
    assert [e["weight"] for e in welder["events"]] == [40, 60]
    assert welder["awards"] == welder_before["awards"]  # not in the workbook: kept
    assert settings_from_json(dict, welder["awards"])["titles"]

    quotas = await Quota.select(Quota.delegation.code, Quota.max_entries).where(
        Quota.trade.code == "XY01"
    )
    assert sorted((q["delegation.code"], q["max_entries"]) for q in quotas) == [
        ("HX", 2),
        ("XN", 3),
    ]

    audit = await AuditLog.select().where(AuditLog.id > 0).order_by(AuditLog.id)
    new_records = audit[audit_before:]
    actions = sorted(r["action"] for r in new_records)
    assert actions == sorted(
        ["industry.create", "trade.create", "trade.create", "trade.update"] + ["quota.create"] * 3
    )
    assert {r["actor_name"] for r in new_records} == {"organizer"}
    assert all(r["competition_id"] == cid for r in new_records)
    assert all("名单.xlsx" in r["reason"] for r in new_records)

    before = await snapshot(cid)
    page = await client.get(location)  # what a browser refresh repeats
    assert page.status_code == 200
    assert "导入完成" in page.text and "已导入" in page.text
    assert await snapshot(cid) == before

    again = await upload(client, cid, good_workbook())
    assert again.status_code == 303
    assert "industry-0-0-1" in again.headers["location"]
    assert "trade-0-0-3" in again.headers["location"]
    assert "quota-0-0-3" in again.headers["location"]
    assert await snapshot(cid) == before


async def test_a_quota_left_blank_or_unlimited_has_no_cap(demo_mutable, client):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    rows = [
        ["XN", None, "T001", None],
        ["HX", None, "T001", "不限"],
        ["GL", None, "T001", " Unlimited "],
        ["XN", None, "T002", 0],
    ]
    refused = await rejected(
        client, cid, workbook({"名额": [QUOTA_HEADER, *rows, ["HX", None, "T002", "三"]]})
    )
    assert "“三”不是整数" in refused
    response = await upload(client, cid, workbook({"名额": [QUOTA_HEADER, *rows]}))
    assert response.status_code == 303, response.text
    quotas = await Quota.select(Quota.delegation.code, Quota.trade.code, Quota.max_entries).where(
        Quota.trade.competition == cid
    )
    got = {(q["delegation.code"], q["trade.code"]): q["max_entries"] for q in quotas}
    assert [got[(d, "T001")] for d in ("XN", "HX", "GL")] == [None, None, None]
    assert got[("XN", "T002")] == 0


async def test_english_headers_and_sheet_names_are_accepted(demo_mutable, client):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    content = workbook(
        {
            "Industries": [["code", "name"], ["EN1", "English Industry"]],
            "trades": [
                ["code", "name", "industry_code", "theory_weight", "practical_weight"],
                ["EN1-1", "English Trade", "EN1", 20, 80],
            ],
            "Quotas": [["delegation_code", "trade_code", "quota"], ["XN", "EN1-1", 4]],
            "我的备注": [["这一张表不会被读取"]],
        }
    )
    response = await upload(client, cid, content)
    assert response.status_code == 303, response.text
    quota = await Quota.select(Quota.max_entries).where(Quota.trade.code == "EN1-1").first()
    assert quota == {"max_entries": 4}


async def test_new_industry_and_trade_sort_in_sheet_order_and_sheets_may_be_left_out(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    content = workbook({"名额": [QUOTA_HEADER, ["XN", "西宁市总工会", "T002", 7]]})
    response = await upload(client, cid, content)
    assert response.status_code == 303
    assert response.headers["location"].endswith("result=quota-0-1-0")
    quota = await Quota.select(Quota.max_entries).where(
        (Quota.trade.code == "T002") & (Quota.delegation.code == "XN")
    )
    assert quota == [{"max_entries": 7}]


# ---------------------------------------------------------------------------- rejected imports


async def test_missing_columns_are_named_per_sheet(demo, client):
    await login(client, "organizer")
    content = workbook(
        {
            "行业": [["行业代码", "英文名称"], ["A1", "x"]],
            "工种": [["工种代码", "工种名称", "行业代码", "理论权重"], ["T9", "x", "A1", 100]],
            "名额": [["工种代码", "名额"], ["T9", 1]],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "缺少列“行业名称”" in text
    assert "缺少列“实操权重”" in text
    assert "缺少列“推荐单位代码 / 推荐单位名称”" in text
    assert "未导入任何数据" in text


async def test_wrong_types_are_reported_with_excel_row_numbers(demo, client):
    await login(client, "organizer")
    trade = [
        "T901",
        "测试工种",
        "ZBZZ",
        "",
        "",
        "三十",
        70,
        None,
        16,
        60,
        "六级",
        0,
        None,
        "最公平",
    ]
    content = workbook(
        {
            "工种": [TRADE_HEADER, [], trade],  # a blank row: the bad row is Excel row 3
            "名额": [QUOTA_HEADER, ["XN", None, "T001", -1], ["XN", None, "T002", "两个"]],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "工种 3 理论权重 “三十”不是整数。" in text
    assert "工种 3 最低技能等级 无法识别的职业技能等级“六级”" in text
    assert "工种 3 评委合分规则 无法识别的评委合分规则“最公平”" in text
    assert "名额 2 名额 -1 是负数" in text
    assert "名额 3 名额 “两个”不是整数。" in text


async def test_a_formula_cell_is_reported_as_a_formula_once(demo, client):
    await login(client, "organizer")
    trade = ["T902", "测试工种", "ZBZZ", "", "", "=20+10", 70]
    text = await rejected(client, demo.competition_id, workbook({"工种": [TRADE_HEADER, trade]}))
    assert "工种 2 理论权重 该单元格是公式（=20+10）" in text
    assert "不是整数" not in text  # its (missing) cached value is not read, nor complained of


async def test_unknown_references(demo, client):
    await login(client, "organizer")
    trade = ["T902", "测试工种", "NOPE", "", "", 30, 70, None, 16, 60, None, 0, None, None]
    content = workbook(
        {
            "工种": [TRADE_HEADER, trade],
            "名额": [
                QUOTA_HEADER,
                ["ZZ", None, "T001", 1],
                [None, "不存在的工会", "T001", 1],
                ["XN", None, "NOPE9", 1],
                ["XN", "海西州总工会", "T003", 1],
            ],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "工种 2 行业代码 未知的行业代码“NOPE”。" in text
    assert "名额 2 推荐单位代码 未知的推荐单位代码“ZZ”。" in text
    assert "名额 3 推荐单位名称 找不到推荐单位“不存在的工会”。" in text
    assert "名额 4 工种代码 未知的工种代码“NOPE9”。" in text
    assert "推荐单位代码“XN”对应的是“西宁市总工会”，而不是“海西州总工会”" in text


async def test_a_row_referring_to_a_broken_row_says_so(demo, client):
    await login(client, "organizer")
    content = workbook(
        {
            "行业": [INDUSTRY_HEADER, ["NEW1", "", "", 1]],  # no name
            "工种": [TRADE_HEADER, ["T903", "测试工种", "NEW1", "", "", 30, 70]],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "行业 2 行业名称 此项为必填项。" in text
    assert "工种 2 行业代码 行业“NEW1”所在行有错误，本行无法引用它。" in text


async def test_duplicates_within_the_file(demo, client):
    await login(client, "organizer")
    content = workbook(
        {
            "行业": [INDUSTRY_HEADER, ["D1", "重复甲", "", 1], ["D1", "重复乙", "", 2]],
            "工种": [
                TRADE_HEADER,
                ["T904", "同名工种", "ZBZZ", "", "", 30, 70],
                ["T905", "同名工种", "ZBZZ", "", "", 30, 70],
            ],
            "名额": [QUOTA_HEADER, ["XN", None, "T001", 1], ["XN", None, "T001", 2]],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "行业 3 行业代码 代码“D1”重复：第 2 行已使用。" in text
    assert "工种 3 工种名称 名称“同名工种”已被使用。" in text
    assert "名额 3 工种代码 推荐单位“XN”在工种“T001”的名额重复：第 2 行已填写。" in text


async def test_weights_not_adding_up_to_100(demo, client):
    await login(client, "organizer")
    content = workbook(
        {"工种": [TRADE_HEADER, ["T906", "权重不对", "ZBZZ", "", "", 30, 60, None, 16, 60]]}
    )
    text = await rejected(client, demo.competition_id, content)
    assert "工种 2 理论权重/实操权重/答辩权重 各项目权重之和必须为 100%（当前为 90%）。" in text


async def test_a_rejected_import_rolls_back_the_sheets_that_were_fine(demo, client):
    """Industries and trades are valid and written inside the transaction (so quotas can be
    checked against them); one bad quota must take all of it back."""
    await login(client, "organizer")
    content = workbook(
        {
            "行业": [INDUSTRY_HEADER, ["RB", "回滚行业", "", 1]],
            "工种": [TRADE_HEADER, ["RB01", "回滚工种", "RB", "", "", 30, 70]],
            "名额": [QUOTA_HEADER, ["XN", None, "RB01", 1], ["XN", None, "T001", 5000]],
        }
    )
    text = await rejected(client, demo.competition_id, content)
    assert "名额 3 名额 名额应在 0 到 1000 之间。" in text
    assert await Industry.count().where(Industry.code == "RB") == 0
    assert await AuditLog.count().where(AuditLog.reason.like("%x.xlsx%")) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some text, renamed to .xlsx", "不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "Excel 97–2003"),
        (b"", "文件为空"),
    ],
)
async def test_files_that_are_not_xlsx_are_refused(demo, client, content, message):
    await login(client, "organizer")
    text = await rejected(client, demo.competition_id, content, name="名单.xlsx")
    assert message in text


async def test_a_zip_that_is_not_a_workbook_is_refused(demo, client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    await login(client, "organizer")
    text = await rejected(client, demo.competition_id, buffer.getvalue(), name="a.xlsx")
    assert "不是 Excel 工作簿" in text


async def test_a_file_over_10_mb_is_refused_with_413(demo, client):
    await login(client, "organizer")
    before = await snapshot(demo.competition_id)
    big = b"PK\x03\x04" + b"\0" * importer.LIMITS.max_bytes
    response = await upload(client, demo.competition_id, big)
    assert response.status_code == 413
    assert "文件超过 10 MB" in text_of(response)
    assert await snapshot(demo.competition_id) == before


async def test_submitting_without_a_file(demo, client):
    await login(client, "organizer")
    response = await post_form(client, f"/org/competitions/{demo.competition_id}/import", {})
    assert response.status_code == 422
    assert "请选择要上传的 Excel 文件（.xlsx）。" in text_of(response)


async def test_a_workbook_without_known_sheets_or_rows(demo, client):
    await login(client, "organizer")
    text = await rejected(client, demo.competition_id, workbook({"Sheet1": [["a", "b"]]}))
    assert "没有名为“行业”“工种”或“名额”的工作表" in text
    text = await rejected(client, demo.competition_id, workbook({"行业": [INDUSTRY_HEADER]}))
    assert "没有可导入的数据行" in text


def test_more_than_20000_rows_in_a_sheet_is_refused():
    rows = [QUOTA_HEADER] + [["XN", None, "T001", 1]] * (importer.LIMITS.max_rows + 1)
    with pytest.raises(ValidationFailed) as caught:
        importer.read_workbook(workbook({"名额": rows}))
    assert caught.value.code == "too_many_rows"
    assert caught.value.params["n"] == importer.LIMITS.max_rows + 1


async def test_formula_looking_values_are_reported_and_written_back_as_text(
    demo_mutable, client, other_client
):
    await login(client, "organizer")
    formula = "=cmd|' /C calc'!A0"
    content = workbook(
        {"工种": [TRADE_HEADER, ["T907", formula, "ZBZZ", "", "", 30, 70]]},
        text_cells=("工种!B2",),
    )
    response = await upload(client, demo_mutable.competition_id, content)
    assert response.status_code == 422
    text = text_of(response)
    assert "工种 2 工种名称 内容以 = 开头，电子表格会把它当作公式执行" in text
    link = re.search(r'href="(/org/competitions/\d+/import/report/[^"]+)"', response.text)
    assert link is not None

    report = await client.get(link.group(1))
    assert report.status_code == 200
    assert report.headers["content-type"].startswith(XLSX)
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    assert book.sheetnames == ["问题汇总", "工种"]
    sheet = book["工种"]
    cell = sheet["B2"]
    # Escaped text, not a formula: a spreadsheet shows it and never runs it.
    assert cell.value == "'" + formula and cell.data_type == "s"
    header = [c.value for c in sheet[1]]
    assert header[-1] == "错误"
    error_cell = sheet.cell(row=2, column=len(header))
    assert "【工种名称】" in error_cell.value and error_cell.data_type == "s"
    summary = [[c.value for c in row] for row in book["问题汇总"].iter_rows()]
    assert summary[0] == ["工作表", "行号", "列", "问题"]
    assert summary[1][:3] == ["工种", 2, "工种名称"]
    for row in book["工种"].iter_rows():
        assert all(c.data_type != "f" for c in row)

    # Reports belong to whoever uploaded: another organizer gets nothing.
    if not await User.exists().where(User.username == "organizer2"):
        await make_user("organizer2", Role.organizer, competition_id=demo_mutable.competition_id)
    await login(other_client, "organizer2", PASSWORD)
    assert (await other_client.get(link.group(1))).status_code == 404


def test_reports_older_than_an_hour_are_deleted():
    token = imports.save_report(999, 42, b"report")
    assert imports.load_report(999, 42, token) == b"report"
    assert imports.load_report(999, 43, token) is None  # someone else's
    path = imports.REPORT_DIR / f"999-42-{token}.xlsx"
    two_hours_ago = time.time() - 2 * 3600
    os.utime(path, (two_hours_ago, two_hours_ago))
    assert imports.load_report(999, 42, token) is None
    assert not path.exists()


async def test_an_unknown_report_token_is_404(demo, client):
    await login(client, "organizer")
    url = f"/org/competitions/{demo.competition_id}/import/report/{'A' * 32}.xlsx"
    response = await client.get(url)
    assert response.status_code == 404
    assert "错误报告已过期" in text_of(response)
    traversal = await client.get(
        f"/org/competitions/{demo.competition_id}/import/report/..%2F..%2Fetc%2Fpasswd"
    )
    assert traversal.status_code == 404


# ---------------------------------------------------------------------------- template


async def test_template_downloads_and_round_trips(demo_mutable, client):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    page = await client.get(f"/org/competitions/{cid}/import")
    assert page.status_code == 200
    assert "下载导入模板" in page.text and 'enctype="multipart/form-data"' in page.text

    response = await client.get(f"/org/competitions/{cid}/import/template.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    assert "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["说明", "行业", "工种", "名额"]
    assert [c.value for c in book["行业"][1]] == INDUSTRY_HEADER
    assert [c.value for c in book["工种"][1]] == TRADE_HEADER
    assert [c.value for c in book["名额"][1]] == QUOTA_HEADER
    assert book["行业"]["A2"].number_format == "@"  # codes typed later stay text
    assert book["名额"]["A2"].value == "XN"  # the competition's own first delegation

    parsed = importer.read_workbook(response.content)
    assert parsed.issues == []
    assert [len(s.data_rows) for s in parsed.sheets] == [1, 2, 2]

    imported = await upload(client, cid, response.content, name="模板.xlsx")
    assert imported.status_code == 303, imported.text
    assert "industry-1-0-0" in imported.headers["location"]
    assert "trade-2-0-0" in imported.headers["location"]
    assert "quota-2-0-0" in imported.headers["location"]
    example = await Trade.select().where(Trade.code == "EX02").output(load_json=True).first()
    assert [e["key"] for e in example["events"]] == ["theory", "practical", "oral"]


async def test_the_page_speaks_english_too(demo, client):
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    page = await client.get(f"/org/competitions/{demo.competition_id}/import")
    assert page.status_code == 200
    assert "Download the template" in page.text and "Missing" not in page.text
    response = await upload(client, demo.competition_id, b"not a workbook")
    assert response.status_code == 422
    assert "The file is not an Excel workbook (.xlsx)." in text_of(response)


# ---------------------------------------------------------------------------- access and phase


async def test_only_organizers_may_import(demo, client):
    cid = demo.competition_id
    await login(client, "xining")
    assert (await client.get(f"/org/competitions/{cid}/import")).status_code == 403
    assert (await client.get(f"/org/competitions/{cid}/import/template.xlsx")).status_code == 403
    before = await snapshot(cid)
    response = await upload(client, cid, good_workbook())
    assert response.status_code == 403
    assert await snapshot(cid) == before


async def test_signed_out_visitors_are_sent_to_sign_in(demo, client):
    response = await client.get(f"/org/competitions/{demo.competition_id}/import")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_an_organizer_of_another_competition_is_refused(demo_mutable, client):
    other = await Competition.insert(Competition(code="OTHER", name="另一届", year=2028)).returning(
        Competition.id
    )
    await make_user("other_org", Role.organizer, competition_id=other[0]["id"])
    await login(client, "other_org", PASSWORD)
    response = await client.get(f"/org/competitions/{demo_mutable.competition_id}/import")
    assert response.status_code == 403
    assert "您无权访问该赛事。" in text_of(response)


async def test_import_is_closed_once_competing_starts(demo_mutable, client):
    cid = demo_mutable.competition_id
    await Competition.update({Competition.phase: "competing"}).where(Competition.id == cid)
    await login(client, "organizer")
    page = await client.get(f"/org/competitions/{cid}/import")
    assert 'type="file"' not in page.text
    before = await snapshot(cid)
    response = await upload(client, cid, good_workbook())
    assert response.status_code == 409
    assert "不能进行“修改赛事设置”" in text_of(response)
    assert await snapshot(cid) == before


# ---------------------------------------------------------------------------- parsing


def _trade_sheet(rows: list[list[Any]], header: list[str] = TRADE_HEADER) -> importer.Sheet:
    book = importer.read_workbook(workbook({"工种": [header, *rows]}))
    sheet = book.sheet("trade")
    assert sheet is not None
    return sheet


@pytest.mark.parametrize(
    ("value", "level"),
    [("5", 5), (5, 5), ("五级", 5), ("初级工", 5), ("五级/初级工", 5), ("三级（高级工）", 3),
     ("技师", 2), ("一级/高级技师", 1), ("高级技师", 1), ("２级", 2), ("Level 4", 4)],
)  # fmt: skip
def test_skill_levels_by_number_or_chinese_name(value, level):
    sheet = _trade_sheet([["T1", "x", "I", "", "", 30, 70, None, 16, 60, value]])
    issues: list[RowProblem] = []
    rows = importer.trade_rows(sheet, {}, issues)
    assert issues == []
    assert rows.items[0].eligibility.min_skill_level == level


@pytest.mark.parametrize("value", ["六级", "五级/技师", "高级", "0"])
def test_unknown_skill_levels(value):
    sheet = _trade_sheet([["T1", "x", "I", "", "", 30, 70, None, 16, 60, value]])
    issues: list[RowProblem] = []
    importer.trade_rows(sheet, {}, issues)
    assert [(i.row, i.column) for i in issues] == [(2, "最低技能等级")]


def test_cells_are_normalised():
    sheet = _trade_sheet(
        [
            [
                "　Ｔ１ ",
                "数控\u00a0 车工",
                "ZB",
                "",
                " 职工组 ；学生组 ",
                "３０",
                " 70 % ",
                None,
                "１８",
            ]
        ]
    )
    issues: list[RowProblem] = []
    rows = importer.trade_rows(sheet, {}, issues)
    assert issues == []
    trade = rows.items[0]
    assert (trade.code, trade.name) == ("T1", "数控 车工")
    assert trade.groups == ("职工组", "学生组")
    assert [e.weight for e in trade.events] == [30, 70]
    assert trade.eligibility.min_age == 18


def test_a_numeric_code_cell_reads_as_the_code_typed():
    sheet = _trade_sheet([[1001, "x", 12, "", "", 30, 70]])
    rows = importer.trade_rows(sheet, {}, [])
    assert (rows.items[0].code, rows.items[0].industry_code) == ("1001", "12")


def test_left_out_columns_keep_existing_values():
    header = ["工种代码", "工种名称", "行业代码", "理论权重", "实操权重"]
    sheet = _trade_sheet([["T1", "焊工", "ZB", 30, 70]], header=header)
    existing = {
        "T1": {
            "code": "T1",
            "name": "焊工",
            "name_en": "Welder",
            "groups": ["职工组"],
            "eligibility": {"min_age": 20, "max_age": 50, "min_skill_level": 4},
            "awards": {"mode": "count", "first": 1, "second": 2, "third": 3},
            "tie_break": ["theory"],
            "judge_rule": {"rule": "mean", "judgement_tolerance": 2},
            "max_entries": 12,
            "sort_order": 7,
        }
    }
    trade = importer.trade_rows(sheet, existing, []).items[0]
    assert trade.name_en == "Welder" and trade.groups == ("职工组",)
    assert trade.eligibility.min_age == 20 and trade.eligibility.min_skill_level == 4
    assert trade.awards.mode == "count" and trade.tie_break == ("theory",)
    assert trade.judge_rule.rule == "mean" and trade.judge_rule.judgement_tolerance == 2
    assert trade.max_entries == 12 and trade.sort_order == 7


def test_duplicate_header_columns_make_the_sheet_unusable():
    book = importer.read_workbook(
        workbook({"行业": [["行业代码", "code", "行业名称"], ["A", "A", "x"]]})
    )
    assert [(i.column, i.message) for i in book.issues] == [
        ("code", "The column “{column}” appears more than once.")
    ]
    assert book.sheets[0].usable is False
