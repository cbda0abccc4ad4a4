"""The batch import of registrations through the service (registration/imports/): the dry
run's report, importing the valid rows, re-importing, corrections and their effects, duplicates,
whose record is whose, the quota information, and nothing partial stored after a refused file.
Real files, on the demo competition, in trades without demo contestants: 数控铣工 T007 and
工业机器人系统操作员 T009 (groups 职工组|学生组, 2 places a delegation), 机修钳工 T004 (level 4
and 1 year of service)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from competition import db
from competition.audit import SYSTEM
from competition.i18n import gettext, render
from competition.spreadsheets import FileRefused
from competition.tables import AuditLog, Quota, Trade
from registration import idcard, imports, people, review
from registration.imports import read_upload
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

KEY_OF = {c.header: c.key for c in imports.COLUMNS}


async def _counts() -> dict[str, int]:
    return {
        "persons": await Person.count(),
        "entries": await Entry.count(),
        "audit": await AuditLog.count(),
        "batches": await ImportBatch.count(),
    }


def _messages(plan: imports.Plan) -> dict[int, dict[str, str]]:
    """Row → column key → the Chinese message(s)."""
    out: dict[int, dict[str, str]] = {}
    for r, problems in plan.errors.items():
        for p in problems:
            key = KEY_OF.get(p.column, p.column)
            out.setdefault(r, {})[key] = "；".join(
                filter(None, [out.get(r, {}).get(key), render(p.message)])
            )
    return out


def _codes(plan: imports.Plan) -> dict[int, list[str]]:
    return {r: [p.code for p in problems] for r, problems in plan.errors.items()}


async def _dry_run(cid: int, data: bytes, delegation_id: int | None = None) -> imports.Plan:
    return await imports.evaluate(cid, read_upload(data), delegation_id)


async def _owned_by(number: str, delegation_id: int) -> None:
    await Person.update({Person.owner_delegation: delegation_id}).where(Person.id_number == number)


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
        candidate = idcard.compose("632801", dt.date(1985, 2, 3), n)
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
    # The formula cell is reported as a formula, not read as its (missing) cached value.
    assert messages[7] == {"employer": messages[7]["employer"]}
    assert "公式" in messages[7]["employer"] and "=A1&B1" in messages[7]["employer"]
    assert _codes(plan)[7] == ["formula_cell"]
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
        assert column in gettext(caught.value.message, **caught.value.params)
    assert "缺少" in message


# ---------------------------------------------------------------------------- hostile cells


async def test_zero_width_characters_in_an_id_number_are_removed_like_spaces(demo):
    number = fresh_id()
    pasted = number[:6] + "\u200b" + number[6:14] + "\ufeff" + number[14:] + "\u200b"
    plan = await _dry_run(demo.competition_id, xlsx_bytes([row(id_number=pasted)]))
    assert plan.errors == {}
    assert [c.id_number for c in plan.new] == [number]


async def test_an_under_age_row_is_refused_for_its_age(demo):
    # 15 on the cutoff, with years of service that do not fit that age either.
    young = fresh_id(birth=dt.date(2012, 1, 1))
    plan = await _dry_run(demo.competition_id, csv_bytes([row(id_number=young, years="6")]))
    codes = _codes(plan)[2]
    assert "too_young" in codes and "invalid_years" in codes
    messages = _messages(plan)[2]
    assert "年满 16 周岁" in messages["trade"]


async def test_a_value_that_cannot_be_read_gets_one_message(demo):
    # 机修钳工 needs level 4 and a year of service: neither is asked of values not read.
    rows = [
        row(trade="T004", group="", years="三年"),
        row(trade="T004", group="", level="七级"),
    ]
    plan = await _dry_run(demo.competition_id, csv_bytes(rows))
    assert _codes(plan) == {2: ["invalid_years"], 3: ["unknown_skill_level"]}
    assert "整数" in _messages(plan)[2]["years"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("job", '\t=HYPERLINK("http://x.invalid")'),
        ("employer", " \u200b+cmd|' /C calc'!A0"),
        ("name", "\t@SUM(1+1)"),
        ("group", "-职工组"),
    ],
)
async def test_the_formula_guard_applies_to_every_text_column_after_cleaning(demo, column, value):
    plan = await _dry_run(demo.competition_id, csv_bytes([row(**{column: value})]))
    assert _codes(plan) == {2: ["formula_text"]}
    assert "公式" in _messages(plan)[2][column]


# ---------------------------------------------------------------------------- importing


async def test_import_reimport_and_a_corrected_file(demo_mutable):
    cid = demo_mutable.competition_id
    rows = [
        row(name="马秀兰"),
        row(name="才让多杰", trade="工业机器人系统操作员"),
        row(trade="T004", group="", years="0"),
    ]
    data = csv_bytes(rows, encoding="gbk")
    before = await _counts()
    batch = await imports.check_upload(cid, data, actor=SYSTEM, filename="第一批.csv")
    assert batch.counts == {
        "rows": 3, "valid": 2, "errors": 1, "new": 2, "updated": 0, "unchanged": 0
    }  # fmt: skip
    assert [e["row"] for e in batch.errors] == [4]
    assert await _counts() == {**before, "batches": before["batches"] + 1}

    done = await imports.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
    assert done.status == "imported" and done.result["new"] == 2
    numbers = [r["id_number"] for r in rows]
    mine = Entry.person.id_number.is_in(numbers)
    entries = await Entry.select(
        Entry.id, Entry.status, Entry.source, Entry.slot, Entry.group_name, Entry.person.name,
        Entry.person.gender, Entry.trade.code, Entry.person.owner_delegation,
    ).where(mine).order_by(Entry.id)  # fmt: skip
    assert [(e["person.name"], e["trade.code"]) for e in entries] == [
        ("马秀兰", "T007"),
        ("才让多杰", "T009"),
    ]
    assert {(e["status"], e["source"], e["slot"], e["group_name"]) for e in entries} == {
        ("submitted", "import", 1, "职工组")
    }
    assert entries[0]["person.gender"] == "male"
    _t, xn = await ids(cid, "T007", "XN")
    assert {e["person.owner_delegation"] for e in entries} == {xn}  # the rows' delegation
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
    # The file and plan are not kept once the batch is decided.
    kept = await ImportBatch.select(ImportBatch.content, ImportBatch.plan).where(
        ImportBatch.token == batch.token
    )
    assert (bytes(kept[0]["content"]), bytes(kept[0]["plan"])) == (b"", b"")
    # A second decision (a refreshed page) changes nothing.
    again = await imports.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
    assert again.status == "imported"
    assert await _counts() == after_first

    # The same file again: nothing new, nothing changed, no audit record.
    repeat = await imports.check_upload(cid, data, actor=SYSTEM, filename="第一批.csv")
    assert repeat.counts["new"] == 0 and repeat.counts["updated"] == 0
    assert repeat.counts["unchanged"] == 2
    await imports.import_batch(repeat.token, competition_id=cid, actor=SYSTEM)
    assert await _counts() == {**after_first, "batches": after_first["batches"] + 1}

    # Approve both at both levels, then correct: 马秀兰's phone (not on the ticket, not an
    # eligibility field: nothing else happens), 才让多杰's name (on the ticket: reissued) and
    # the bad row's years (now valid: a new entry).
    first, second = entries[0]["id"], entries[1]["id"]
    await review.review_by_delegation(cid, xn, [first, second], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [first, second], True, actor=SYSTEM)
    approved = {
        r["id"]: r
        for r in await Entry.select(Entry.id, Entry.ticket_version, Entry.session).where(
            Entry.id.is_in([first, second])
        )
    }
    rows[0]["phone"] = "13709785678"
    rows[1]["name"] = "才让多吉"
    rows[2]["years"] = "3"
    rows[2]["level"] = "4"
    fixed = await imports.check_upload(cid, xlsx_bytes(rows), actor=SYSTEM, filename="更正.xlsx")
    assert fixed.counts == {
        "rows": 3, "valid": 3, "errors": 0, "new": 1, "updated": 2, "unchanged": 0
    }  # fmt: skip
    await imports.import_batch(fixed.token, competition_id=cid, actor=SYSTEM)
    now = {
        r["id"]: r
        for r in await Entry.select(
            Entry.id, Entry.status, Entry.ticket_version, Entry.session, Entry.person.phone,
            Entry.person.name,
        ).where(Entry.id.is_in([first, second]))
    }  # fmt: skip
    assert now[first]["status"] == "approved" and now[first]["person.phone"] == "13709785678"
    assert now[first]["ticket_version"] == approved[first]["ticket_version"]
    assert now[second]["status"] == "approved" and now[second]["person.name"] == "才让多吉"
    assert now[second]["ticket_version"] == approved[second]["ticket_version"] + 1
    person_updates = (
        await AuditLog.select(AuditLog.old, AuditLog.new)
        .where(AuditLog.action == "person.update")
        .order_by(AuditLog.id, ascending=False)
        .limit(2)
        .output(load_json=True)
    )
    assert {"phone": "13709785678"} in [u["new"] for u in person_updates]
    assert await AuditLog.exists().where(
        (AuditLog.action == "entry.ticket_reissued") & (AuditLog.object_id == str(second))
    )
    assert await Entry.count().where(mine) == 3

    # Years of service (an eligibility field) and a new group send them back to review.
    rows[0]["years"] = "7"
    rows[1]["group"] = "学生组"
    later = await imports.check_upload(cid, csv_bytes(rows), actor=SYSTEM, filename="再改.csv")
    assert later.counts["updated"] == 2
    await imports.import_batch(later.token, competition_id=cid, actor=SYSTEM)
    back = {
        r["id"]: r
        for r in await Entry.select(Entry.id, Entry.status, Entry.session, Entry.group_name).where(
            Entry.id.is_in([first, second])
        )
    }
    assert {r["status"] for r in back.values()} == {"submitted"}
    assert back[second]["group_name"] == "学生组" and back[second]["session"] is None


async def test_quotas_refuse_no_row_and_the_dry_run_lists_candidates_and_places(demo_mutable):
    cid = demo_mutable.competition_id
    t007, xn = await ids(cid, "T007", "XN")
    _t009, hx = await ids(cid, "T009", "HX")
    # One of XN's 2 places in 数控铣工 is used by an entry that passed first review.
    used = await register(cid, "T007", "XN")
    await review.review_by_delegation(cid, xn, [used], True, actor=SYSTEM)
    await Quota.update({Quota.max_entries: None}).where(
        (Quota.delegation == hx) & (Quota.trade == t007)
    )
    rows = [row(name=f"选手{c}") for c in "甲乙丙"]
    rows.append(row(delegation="西宁市总工会", trade="数控铣工", name="王志强"))
    rows.append(row(delegation="HX"))  # another delegation: unlimited here
    plan = await _dry_run(cid, csv_bytes(rows))
    assert plan.errors == {} and plan.counts.new == 5
    lines = {(q.delegation, q.trade): (q.candidates, q.cap, q.free) for q in plan.quota_lines}
    assert lines == {
        ("西宁市总工会", "数控铣工"): (4, 2, 1),
        ("海西州总工会", "数控铣工"): (1, None, None),
    }
    batch = await imports.check_upload(cid, csv_bytes(rows), actor=SYSTEM, filename="q.csv")
    shown = {(q["delegation"], q["trade"]): q for q in batch.quotas}
    assert shown[("西宁市总工会", "数控铣工")]["over"] is True
    assert shown[("海西州总工会", "数控铣工")]["free"] is None


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


async def test_a_delegation_imports_only_its_own_rows_and_people(demo_mutable):
    cid = demo_mutable.competition_id
    _t, xn = await ids(cid, "T007", "XN")
    _t, hx = await ids(cid, "T009", "HX")
    rows = [row(delegation=""), row(delegation="西宁市总工会"), row(delegation="HX")]
    plan = await _dry_run(cid, csv_bytes(rows), xn)
    messages = _messages(plan)
    assert sorted(messages) == [4] and "西宁市总工会" in messages[4]["delegation"]
    assert {c.delegation_id for c in plan.new} == {xn}
    # A person 海西 entered is not XN's to enter again or to change: the refusal names nobody.
    hx_entry = await register(cid, "T009", "HX")
    person = await Entry.select(Entry.person.id_number).where(Entry.id == hx_entry).first()
    number = person["person.id_number"]
    await _owned_by(number, hx)
    for changed in (row(id_number=number, trade="T009"), row(id_number=number, trade="T007")):
        plan = await _dry_run(cid, csv_bytes([changed]), xn)
        assert _codes(plan) == {2: ["person_owned"]}
        text = _messages(plan)[2]["id_number"]
        assert text == render(people.OWNED_MESSAGE) and "海西" not in text
    # 海西 itself may correct its person; the organizer may change anyone's.
    plan = await _dry_run(
        cid, csv_bytes([row(id_number=number, trade="T009", delegation="HX")]), hx
    )
    assert plan.errors == {} and plan.counts.updated == 1
    plan = await _dry_run(cid, csv_bytes([row(id_number=number, trade="T009", delegation="HX")]))
    assert plan.errors == {} and plan.counts.updated == 1
    # An account's own record is its own: its delegation no longer changes it, though a row
    # that changes nothing is simply unchanged.
    mine = fresh_id()
    done = await imports.import_file(
        cid, csv_bytes([row(id_number=mine)]), actor=SYSTEM, delegation_id=xn
    )
    assert done.counts.new == 1
    user = await register_contestant_account()
    await Person.update({Person.user: user}).where(Person.id_number == mine)
    plan = await _dry_run(cid, csv_bytes([row(id_number=mine)]), xn)
    assert plan.errors == {} and plan.unchanged == [2]
    plan = await _dry_run(cid, csv_bytes([row(id_number=mine, phone="13709785678")]), xn)
    assert _codes(plan) == {2: ["person_owned"]}


async def register_contestant_account() -> int:
    from competition.tables import Role
    from tests.support import make_user

    return await make_user(f"acct{fresh_id()[-6:]}", Role.contestant)


# ---------------------------------------------------------------------------- the commit


async def test_the_commit_uses_the_kept_plan_and_rechecks_the_database(demo_mutable):
    cid = demo_mutable.competition_id
    _t, xn = await ids(cid, "T007", "XN")
    _t, hx = await ids(cid, "T009", "HX")
    taken, kept = fresh_id(), fresh_id()
    rows = [row(id_number=taken), row(id_number=kept)]
    batch = await imports.check_upload(
        cid, csv_bytes(rows), actor=SYSTEM, filename="a.csv", delegation_id=xn
    )
    assert batch.counts["new"] == 2
    # Meanwhile 海西 enters the first person; and the kept file is damaged: the commit must
    # not need it, since the settings it was checked against did not change.
    other = await imports.check_upload(
        cid, csv_bytes([row(id_number=taken, delegation="HX", trade="T009")]), actor=SYSTEM,
        filename="b.csv", delegation_id=hx,
    )  # fmt: skip
    await imports.import_batch(other.token, competition_id=cid, actor=SYSTEM, delegation_id=hx)
    await ImportBatch.update({ImportBatch.content: b"not a file any more"}).where(
        ImportBatch.token == batch.token
    )
    done = await imports.import_batch(
        batch.token, competition_id=cid, actor=SYSTEM, delegation_id=xn
    )
    assert done.result["new"] == 1 and done.result["errors"] == 1
    assert [(e["row"], e["column"]) for e in done.errors] == [(2, "身份证号")]
    assert await Entry.count().where(Entry.person.id_number == kept) == 1
    owner = await Person.select(Person.owner_delegation).where(Person.id_number == taken).first()
    assert owner["owner_delegation"] == hx


async def test_changed_settings_make_the_commit_check_the_file_again(demo_mutable):
    cid = demo_mutable.competition_id
    batch = await imports.check_upload(
        cid, csv_bytes([row(), row(years="1")]), actor=SYSTEM, filename="a.csv"
    )
    assert batch.counts["new"] == 2
    trade = (
        await Trade.select(Trade.id, Trade.eligibility)
        .where((Trade.competition == cid) & (Trade.code == "T007"))
        .output(load_json=True)
        .first()
    )
    await Trade.update({Trade.eligibility: {**trade["eligibility"], "min_years_service": 3}}).where(
        Trade.id == trade["id"]
    )
    done = await imports.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
    assert done.result["new"] == 1 and [e["row"] for e in done.errors] == [3]


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
        await imports.check_upload(demo_mutable.competition_id, make(), actor=SYSTEM, filename="x")
    assert await _counts() == before


async def test_the_report_escapes_formula_text(demo):
    formula = "=cmd|' /C calc'!A0"
    data = xlsx_bytes([row(name=formula), row(employer="@SUM(1+1)*cmd|x")])
    plan = await _dry_run(demo.competition_id, data)
    problems = [p for r in sorted(plan.errors) for p in plan.errors[r]]
    content = imports.report_workbook(read_upload(data), plan.header_row, problems)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.cell(row=1, column=11).value == "错误"
    name = sheet.cell(row=2, column=1)
    assert name.value == "'" + formula and name.data_type == "s"
    employer = sheet.cell(row=3, column=4)
    assert employer.value == "'@SUM(1+1)*cmd|x" and employer.data_type == "s"
    assert "公式" in sheet.cell(row=2, column=11).value
    assert read_back(content)[0][:2] == ["姓名", "身份证号"]


async def test_writes_use_one_transaction(demo_mutable):
    """A failure after the first bulk insert leaves nothing behind."""
    cid = demo_mutable.competition_id
    before = await _counts()
    table = read_upload(csv_bytes([row(), row()]))
    with pytest.raises(RuntimeError):
        async with db.transaction():
            plan = await imports.evaluate(cid, table)
            await imports.write_plan(plan, SYSTEM)
            assert await Entry.count() == before["entries"] + 2
            raise RuntimeError("stop")
    assert await _counts() == before
