"""The batch import of registrations through the service (registration/bulk_import.py): the
dry run's report, importing the valid rows, re-importing, corrections, quotas, duplicates,
scope, and nothing partial stored after a refused file. Real files, on the demo competition,
in trades without demo contestants: 数控铣工 T007 and 工业机器人系统操作员 T009 (groups
职工组|学生组, 2 places a delegation), 机修钳工 T004 (level 4 and 1 year of service)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from competition import db
from competition.audit import SYSTEM
from competition.i18n import render
from competition.tables import AuditLog
from competition.uploads import FileRefused
from registration import bulk_import, review
from registration.bulk_read import read_upload
from registration.tables import Entry, ImportBatch, Person
from tests.registration.helpers import ids, register
from tests.registration.test_bulk_import_files import (
    claims_rows,
    csv_bytes,
    fresh_id,
    lying_zip,
    read_back,
    row,
    xlsx_bytes,
    zip_bomb,
)


async def _counts() -> dict[str, int]:
    return {
        "persons": await Person.count(),
        "entries": await Entry.count(),
        "audit": await AuditLog.count(),
        "batches": await ImportBatch.count(),
    }


def _messages(plan: bulk_import.Plan) -> dict[int, dict[str, str]]:
    """Row → column → the Chinese message."""
    return {r: {e.column: render(e.message) for e in errors} for r, errors in plan.errors.items()}


async def _dry_run(cid: int, data: bytes, delegation_id: int | None = None) -> bulk_import.Plan:
    return await bulk_import.evaluate(cid, read_upload(data), delegation_id)


async def test_the_dry_run_reports_each_bad_row_at_its_excel_row(demo):
    cid = demo.competition_id
    before = await _counts()
    full_width = fresh_id()
    rows = [
        row(),  # 2: fine
        row(id_number=fresh_id()),  # 3: stored as a number by Excel
        row(id_number=fresh_id(male=True)[:17]),  # 4: see below
        None,  # 5: blank, skipped, still counted by Excel
        row(name="=cmd|' /C calc'!A0"),  # 6
        row(),  # 7: a real formula as employer
        row(trade="T999", level="七级"),  # 8
        row(  # 9: full-width digits and stray spaces, fine
            name=" 马  建华 ",
            id_number=" " + full_width.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}),
            phone="１３９ ００９７ １２３４",
        ),
        row(trade="T004", group="", level="五级", years="0"),  # 10: not eligible for 机修钳工
        row(id_number=fresh_id(birth=dt.date(2012, 1, 1)), years="0"),  # 11: 15 on the cutoff
    ]
    # Row 4: an ID whose check character is X, with the X lost.
    for n in range(200, 400):
        candidate = bulk_import.idcard.compose("632801", dt.date(1985, 2, 3), n)
        if candidate.endswith("X"):
            rows[2]["id_number"] = candidate[:17]
            break
    data = xlsx_bytes(rows, numeric_ids={3}, formulas={(7, "工作单位"): "=A1&B1"})
    plan = await _dry_run(cid, data)
    messages = _messages(plan)
    assert sorted(messages) == [3, 4, 6, 7, 8, 10, 11]
    assert "科学计数法" in messages[3]["id_number"]
    assert "X" in messages[4]["id_number"] and "17" in messages[4]["id_number"]
    assert "公式" in messages[6]["name"]
    assert messages[7] == {"employer": "请填写工作单位，最多 100 个字。"}
    assert "T999" in messages[8]["trade"] and "七级" in messages[8]["skill_level"]
    assert "机修钳工" in messages[10]["trade"] and "参赛条件" in messages[10]["trade"]
    assert "id_number" not in messages[11] and "trade" in messages[11]
    assert plan.counts.as_dict() == {
        "rows": 9, "valid": 2, "errors": 7, "new": 2, "updated": 0, "unchanged": 0
    }  # fmt: skip
    normalised = next(c for c in plan.new if c.row == 9)
    assert (normalised.name, normalised.id_number, normalised.phone) == (
        "马 建华",
        full_width,
        "13900971234",
    )
    assert await _counts() == before  # the dry run wrote nothing


async def test_missing_columns_are_named_in_one_message(demo):
    data = csv_bytes([row()], header=["姓名", "手机号", "工作单位", "工龄"])
    with pytest.raises(FileRefused) as caught:
        await _dry_run(demo.competition_id, data)
    message = render(caught.value.message)
    assert caught.value.code == "missing_columns"
    for column in ("身份证号", "职业技能等级", "工种", "推荐单位"):
        assert column in bulk_import.gettext(caught.value.message, **caught.value.params)
    assert "缺少" in message


async def test_import_reimport_and_a_corrected_file(demo_mutable):
    cid = demo_mutable.competition_id
    rows = [
        row(name="马秀兰"),
        row(name="才让多杰", trade="工业机器人系统操作员"),
        row(trade="T004", group="", years="0"),
    ]
    data = csv_bytes(rows, encoding="gbk")
    before = await _counts()
    batch = await bulk_import.check_upload(cid, data, actor=SYSTEM, filename="第一批.csv")
    assert batch.counts == {
        "rows": 3, "valid": 2, "errors": 1, "new": 2, "updated": 0, "unchanged": 0
    }  # fmt: skip
    assert [e["row"] for e in batch.errors] == [4]
    assert await _counts() == {**before, "batches": before["batches"] + 1}

    done = await bulk_import.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
    assert done.status == "imported" and done.result["new"] == 2
    numbers = [r["id_number"] for r in rows]
    mine = Entry.person.id_number.is_in(numbers)
    entries = await Entry.select(
        Entry.id, Entry.status, Entry.source, Entry.slot, Entry.group_name, Entry.person.name,
        Entry.person.gender, Entry.trade.code,
    ).where(mine).order_by(Entry.id)  # fmt: skip
    assert [(e["person.name"], e["trade.code"]) for e in entries] == [
        ("马秀兰", "T007"),
        ("才让多杰", "T009"),
    ]
    assert {(e["status"], e["source"], e["slot"], e["group_name"]) for e in entries} == {
        ("submitted", "import", 1, "职工组")
    }
    assert entries[0]["person.gender"] == "male"
    creates = (
        await AuditLog.select(AuditLog.object_id, AuditLog.new)
        .where(
            (AuditLog.action == "entry.create")
            & AuditLog.object_id.is_in([str(e["id"]) for e in entries])
        )
        .output(load_json=True)
    )
    assert sorted(int(r["object_id"]) for r in creates) == [e["id"] for e in entries]
    assert {(r["new"]["source"], r["new"]["status"]) for r in creates} == {("import", "submitted")}
    after_first = await _counts()
    assert after_first["entries"] == before["entries"] + 2
    assert after_first["audit"] == before["audit"] + 2
    # A second decision (a refreshed page) changes nothing.
    again = await bulk_import.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
    assert again.status == "imported"
    assert await _counts() == after_first

    # The same file again: nothing new, nothing changed, no audit record.
    repeat = await bulk_import.check_upload(cid, data, actor=SYSTEM, filename="第一批.csv")
    assert repeat.counts["new"] == 0 and repeat.counts["updated"] == 0
    assert repeat.counts["unchanged"] == 2
    await bulk_import.import_batch(repeat.token, competition_id=cid, actor=SYSTEM)
    assert await _counts() == {**after_first, "batches": after_first["batches"] + 1}

    # Approve 马秀兰 at both levels, then correct her phone and fix the bad row.
    first = entries[0]["id"]
    _t, xn = await ids(cid, "T007", "XN")
    await review.review_by_delegation(cid, xn, [first], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [first], True, actor=SYSTEM)
    approved = await Entry.select(Entry.ticket_version).where(Entry.id == first).first()
    rows[0]["phone"] = "13709785678"
    rows[2]["years"] = "3"
    rows[2]["level"] = "4"
    corrected = xlsx_bytes(rows)
    fixed = await bulk_import.check_upload(cid, corrected, actor=SYSTEM, filename="更正.xlsx")
    assert fixed.counts == {
        "rows": 3, "valid": 3, "errors": 0, "new": 1, "updated": 1, "unchanged": 1
    }  # fmt: skip
    await bulk_import.import_batch(fixed.token, competition_id=cid, actor=SYSTEM)
    now = (
        await Entry.select(Entry.status, Entry.ticket_version, Entry.session, Entry.person.phone)
        .where(Entry.id == first)
        .first()
    )
    assert now["status"] == "submitted" and now["session"] is None
    assert now["ticket_version"] == approved["ticket_version"] + 1
    assert now["person.phone"] == "13709785678"
    update = (
        await AuditLog.select(AuditLog.old, AuditLog.new)
        .where((AuditLog.action == "entry.update") & (AuditLog.object_id == str(first)))
        .output(load_json=True)
        .first()
    )
    assert update["old"]["status"] == "approved" and update["new"]["phone"] == "13709785678"
    assert await Entry.count().where(mine) == 3


async def test_rows_beyond_the_quota_are_refused_in_file_order(demo_mutable):
    cid = demo_mutable.competition_id
    await register(cid, "T007", "XN")  # one of XN's 2 places in 数控铣工 is taken
    rows = [row(name=f"选手{c}") for c in "甲乙丙"]
    rows.append(row(delegation="西宁市总工会", trade="数控铣工", name="王志强"))
    rows.append(row(delegation="HX"))  # another delegation: its own quota
    plan = await _dry_run(cid, csv_bytes(rows))
    messages = _messages(plan)
    assert sorted(messages) == [3, 4, 5]  # the 2nd, 3rd and 4th XN rows
    assert "名额" in messages[3]["trade"] and "2 个名额" in messages[3]["trade"]
    assert plan.counts.new == 2


async def test_duplicates_in_the_file_and_against_the_database(demo_mutable):
    cid = demo_mutable.competition_id
    twice, two_trades = fresh_id(), fresh_id()
    existing = await register(cid, "T009", "XN")
    stored = await Entry.select(Entry.person.id_number).where(Entry.id == existing).first()
    number = stored["person.id_number"]
    rows = [
        row(id_number=twice),  # 2
        row(id_number=twice),  # 3: same ID and trade again
        row(id_number=two_trades),  # 4
        row(id_number=two_trades, trade="T009"),  # 5: a second trade, the limit is 1
        row(id_number=number, trade="T007"),  # 6: entered in another trade already
        row(id_number=number, trade="T009", name="新名字"),  # 7: an update of that entry
    ]
    plan = await _dry_run(cid, csv_bytes(rows))
    messages = _messages(plan)
    assert sorted(messages) == [3, 5, 6]
    assert "第 2 行" in messages[3]["id_number"]
    assert "最多报名 1 个工种" in messages[5]["trade"]
    assert "工业机器人系统操作员" in messages[6]["trade"]
    assert plan.counts.updated == 1 and plan.counts.new == 2


async def test_a_delegation_imports_only_its_own_rows(demo_mutable):
    cid = demo_mutable.competition_id
    _t, xn = await ids(cid, "T007", "XN")
    rows = [row(delegation=""), row(delegation="西宁市总工会"), row(delegation="HX")]
    plan = await _dry_run(cid, csv_bytes(rows), xn)
    messages = _messages(plan)
    assert sorted(messages) == [4] and "西宁市总工会" in messages[4]["delegation"]
    assert {c.delegation_id for c in plan.new} == {xn}
    # Another delegation's entry of the same person is not theirs to change.
    hx_entry = await register(cid, "T009", "HX")
    person = await Entry.select(Entry.person.id_number).where(Entry.id == hx_entry).first()
    plan = await _dry_run(
        cid, csv_bytes([row(id_number=person["person.id_number"], trade="T009")]), xn
    )
    assert "海西" in _messages(plan)[2]["delegation"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: zip_bomb(300),
        lying_zip,
        lambda: claims_rows(xlsx_bytes([row()]), 1_000_001),
        lambda: (
            csv_bytes([row(name="马秀兰")]) + ",".join(row(name="韩永福").values()).encode("gbk")
        ),
    ],
    ids=["zip-bomb", "lying-zip", "million-rows", "mixed-encoding"],
)
async def test_a_refused_file_stores_nothing(demo_mutable, make):
    before = await _counts()
    with pytest.raises(FileRefused):
        await bulk_import.check_upload(
            demo_mutable.competition_id, make(), actor=SYSTEM, filename="x"
        )
    assert await _counts() == before


async def test_the_report_keeps_formula_text_as_text(demo):
    data = xlsx_bytes([row(name="=cmd|' /C calc'!A0"), row(employer="@SUM(1+1)*cmd|x")])
    plan = await _dry_run(demo.competition_id, data)
    content = bulk_import.report_workbook(plan)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.cell(row=1, column=11).value == "错误"
    name = sheet.cell(row=2, column=1)
    assert name.value == "=cmd|' /C calc'!A0" and name.data_type == "s"
    assert sheet.cell(row=3, column=4).data_type == "s"
    assert "公式" in sheet.cell(row=2, column=11).value
    assert read_back(content)[0][:2] == ["姓名", "身份证号"]


async def test_writes_use_one_transaction(demo_mutable):
    """A failure after the first bulk insert leaves nothing behind."""
    cid = demo_mutable.competition_id
    before = await _counts()
    table = read_upload(csv_bytes([row(), row()]))
    with pytest.raises(RuntimeError):
        async with db.transaction():
            plan = await bulk_import.evaluate(cid, table)
            await bulk_import.write_plan(plan, SYSTEM)
            assert await Entry.count() == before["entries"] + 2
            raise RuntimeError("stop")
    assert await _counts() == before
