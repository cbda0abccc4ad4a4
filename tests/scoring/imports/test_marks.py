"""Paper score sheets keyed in (scoring/imports/marks.py) on the real database, from real xlsx
and CSV files: a good file stored and read back through the marks' trail, a dry run storing
nothing, every refusal of a tablet mark refused here too (and nothing stored), double entry,
signing, the trade's totals recomputed after a commit, and the report workbook."""

from __future__ import annotations

import pytest

from competition.audit import Actor
from competition.errors import DomainError
from competition.tables import Trade, User
from scoring.imports import marks
from scoring.sheets import marks as marks_service
from scoring.sheets import signing
from scoring.sheets.marks import MarkIn, json_list, scheme_aspects
from scoring.tables import DrawSlot, Judge, Mark, MarkChange, ScoreSheet, Total
from tests.scoring.imports.files import (
    audit_count,
    csv_file,
    last_audit,
    report_rows,
    shown_codes,
    total_of,
    xlsx,
)
from tests.scoring.sheets.builders import competing_trade, judge_id

HEADER = ["加密号", "评分项", "裁判", "分数"]


async def _organizer() -> Actor:
    user = await User.select(User.id).where(User.username == "organizer").first()
    return Actor(user_id=user["id"], name="organizer")


async def _setting(built, username="judge"):
    """The user's first sheet: its slots' codes in order, and its aspects by code."""
    facts = await built.sheet(username)
    codes = await shown_codes(built.trade_id)
    aspects = {a.code: a for a in (await scheme_aspects(facts.scheme_id)).values()}
    return facts, [codes[s] for s in sorted(facts.slots)], aspects


async def _stored() -> tuple[int, int]:
    return await Mark.count(), await MarkChange.count()


async def _plan(built, rows, **options):
    return await marks.read_plan(built.competition_id, xlsx([HEADER, *rows]), **options)


async def test_a_good_file_is_stored_through_the_marks_trail(demo_scoring):
    built = await competing_trade()
    facts, codes, aspects = await _setting(built)
    # B6 is Judgement (max 7 marks), A1 Measurement (max 3 marks): hand-written values.
    rows = [
        [codes[0], "B6", "judge", "2"],
        [codes[0], "b6", "李卫东", "3"],  # judge2 by name, the aspect code in lower case
        [codes[0], "A1", "", "2.5"],  # the panel's Measurement value
        [codes[1], "D1", "judge", " 0 "],
    ]
    plan = await marks.read_plan(built.competition_id, csv_file([HEADER, *rows]))
    assert plan.problems == [] and len(plan.rows) == 4
    assert await _stored() == (0, 0), "a check stores nothing"

    result = await marks.commit(
        built.competition_id, plan, actor=await _organizer(), filename="paper.csv"
    )
    assert (result.rows, result.saved, result.unchanged) == (4, 4, 0)
    slot0 = sorted(facts.slots)[0]
    slot1 = sorted(facts.slots)[1]
    stored = {
        (r["slot"], r["aspect"], r["judge"]): r["value_hundredths"]
        for r in await Mark.select(Mark.slot, Mark.aspect, Mark.judge, Mark.value_hundredths)
    }
    assert stored == {
        (slot0, aspects["B6"].id, await judge_id("judge")): 200,
        (slot0, aspects["B6"].id, await judge_id("judge2")): 300,
        (slot0, aspects["A1"].id, None): 250,
        (slot1, aspects["D1"].id, await judge_id("judge")): 0,
    }
    trail = await MarkChange.select(
        MarkChange.kind, MarkChange.client_id, MarkChange.actor_name, MarkChange.old_hundredths
    )
    assert {t["kind"] for t in trail} == {"paper"}
    assert all(t["client_id"].startswith("paper-") for t in trail)
    assert {t["actor_name"] for t in trail} == {"organizer"}
    record = await last_audit("marks.import")
    assert (record["rows"], record["saved"], record["file"]) == (4, 4, "paper.csv")

    # The same file again changes nothing; a corrected value bumps the version.
    again = await _plan(built, [[codes[0], "B6", "judge", "1"], rows[1]])
    result = await marks.commit(built.competition_id, again, actor=await _organizer())
    assert (result.saved, result.unchanged) == (1, 1)
    changed = (
        await Mark.select(Mark.value_hundredths, Mark.version)
        .where((Mark.slot == slot0) & (Mark.judge == await judge_id("judge")))
        .first()
    )
    assert changed == {"value_hundredths": 100, "version": 2}
    assert await MarkChange.count() == 5


async def _refused(built, rows, code: str, **options) -> str:
    """The file is refused with `code` on its (only) bad row, and nothing is stored."""
    before = await _stored()
    refusals = await audit_count("score_import.refused")
    plan = await _plan(built, rows, **options)
    assert [p.code for p in plan.problems] == [code], [(p.code, p.text()) for p in plan.problems]
    assert plan.rows == []
    with pytest.raises(DomainError):
        await marks.commit(built.competition_id, plan, actor=await _organizer())
    assert await _stored() == before, "a refused file stored something"
    assert await audit_count("score_import.refused") == refusals + 1
    return plan.problems[0].text()


async def test_every_bad_mark_is_refused_and_nothing_is_stored(demo_scoring):
    built = await competing_trade()
    _facts, codes, _aspects = await _setting(built)
    good = [codes[0], "B6", "judge", "2"]
    cases = [
        ([codes[1], "B6", "judge", "2.5"], "judgement_not_whole"),
        ([codes[1], "B6", "judge", "4"], "judgement_out_of_range"),
        ([codes[1], "A1", "", "3.01"], "mark_above_maximum"),  # A1's maximum is 3 marks
        ([codes[1], "A1", "", "1.255"], "mark_too_many_decimals"),
        ([codes[1], "A1", "", "-1"], "mark_negative"),
        ([codes[1], "A1", "", "abc"], "mark_not_a_number"),
        ([codes[1], "Z9", "judge", "2"], "aspect_not_on_sheet"),
        ([codes[1], "B6", "", "2"], "judge_missing"),
        ([codes[1], "B6", "nobody", "2"], "judge_not_found"),
        (["J000", "B6", "judge", "2"], "code_not_found"),
        ([codes[0], "B6", "judge", "3"], "duplicate_in_file"),  # the cell of the good row
    ]
    for row, code in cases:
        await _refused(built, [good, row], code)


async def test_a_first_layer_code_is_refused_where_the_sheets_show_the_second(demo_scoring):
    built = await competing_trade()
    facts, _codes, _aspects = await _setting(built)
    slot = await DrawSlot.select(DrawSlot.code).where(DrawSlot.id == sorted(facts.slots)[0]).first()
    text = await _refused(built, [[slot["code"], "B6", "judge", "2"]], "first_layer_code")
    assert "J" not in text.replace("T001", ""), "the message must not name the second code"


async def test_a_recused_contestant_is_refused(demo_scoring):
    # judge3 made a member of a drawn contestant's delegation before the trade starts.
    slot = (
        await DrawSlot.select(DrawSlot.id, DrawSlot.entry.delegation, DrawSlot.session)
        .where(DrawSlot.trade.code == "T001")
        .order_by(DrawSlot.id)
        .first()
    )
    await Judge.update({Judge.delegation: slot["entry.delegation"]}).where(
        Judge.user.is_in(User.select(User.id).where(User.username == "judge3"))
    )
    built = await competing_trade()
    sheet = (
        await ScoreSheet.select(ScoreSheet.slots)
        .where(
            (ScoreSheet.session == slot["session"]) & (ScoreSheet.judge == await judge_id("judge3"))
        )
        .first()
    )
    assert slot["id"] not in json_list(sheet["slots"]), "the demo should have recused judge3"
    code = (await shown_codes(built.trade_id))[slot["id"]]
    text = await _refused(built, [[code, "B6", "judge3", "2"]], "contestant_recused")
    assert "才让多杰" in text


async def test_a_signed_sheet_is_refused(demo_scoring):
    built = await competing_trade()
    _facts, codes, _aspects = await _setting(built, "judge2")
    await built.fill("judge2")
    await signing.sign_sheet(built.sheets["judge2"][0], actor=await built.actor("judge2"))
    await _refused(built, [[codes[0], "B6", "judge2", "3"]], "sheet_signed")
    # The panel's value, fixed by that signature, is refused from another judge's sheet too.
    await _refused(built, [[codes[0], "A1", "judge", "1"]], "measurement_signed")


async def test_a_trade_not_competing_is_refused(demo_scoring):
    built = await competing_trade()
    slot = await DrawSlot.select(DrawSlot.code).where(DrawSlot.trade.code == "T002").first()
    await _refused(built, [[slot["code"], "A1", "", "1"]], "trade_not_competing")


async def test_the_trade_column_and_the_chosen_trade(demo_scoring):
    built = await competing_trade()
    _facts, codes, _aspects = await _setting(built)
    header = ["工种", *HEADER]
    table = [header, ["T001", codes[0], "B6", "judge", "2"], ["T999", codes[0], "B6", "judge", "3"]]
    plan = await marks.read_plan(built.competition_id, xlsx(table))
    assert [p.code for p in plan.problems] == ["trade_not_found"]
    other = await Trade.select(Trade.id).where(Trade.code == "T002").first()
    plan = await _plan(built, [[codes[0], "B6", "judge", "2"]], trade_id=other["id"])
    assert [p.code for p in plan.problems] == ["code_not_found"]
    plan = await _plan(built, [[codes[0], "B6", "judge", "2"]], trade_id=built.trade_id)
    assert plan.problems == []


async def test_a_bad_file_gets_a_report_with_an_error_column(demo_scoring):
    built = await competing_trade()
    _facts, codes, _aspects = await _setting(built)
    plan = await _plan(built, [[codes[0], "B6", "judge", "2"], [codes[0], "B6", "judge2", "2.5"]])
    listing, [sheet] = report_rows(marks.report(plan))
    assert [r[1] for r in listing[1:]] == [3]
    assert sheet[0][-1] == "错误" and sheet[1][-1] is None
    assert "2.5" in sheet[2][-1] and "【分数】" in sheet[2][-1]


async def test_double_entry_stores_only_when_both_agree(demo_scoring):
    built = await competing_trade()
    _facts, codes, _aspects = await _setting(built)
    first = [[codes[0], "B6", "judge", "2"], [codes[0], "A1", "", "2.5"],
             [codes[1], "D1", "judge", "1"]]  # fmt: skip
    # The second person typed 2.50 (the same), 3 instead of 2, and missed a row but typed one
    # more; the judge by name instead of username is the same judge.
    second = [[codes[0], "A1", "", "2.50"], [codes[0], "B6", "马建国", "3"],
              [codes[2], "D1", "judge", "1"]]  # fmt: skip
    plan = await marks.read_plan(
        built.competition_id, xlsx([HEADER, *first]), second=xlsx([HEADER, *second])
    )
    found = sorted((p.sheet, p.row, p.code) for p in plan.problems)
    assert found == [
        ("1", 2, "double_entry_differs"),
        ("1", 4, "double_entry_missing"),
        ("2", 3, "double_entry_differs"),
        ("2", 4, "double_entry_missing"),
    ]
    differs = next(p for p in plan.problems if p.sheet == "1" and p.row == 2)
    assert "3.00" in differs.text() and "2.00" in differs.text()
    with pytest.raises(DomainError):
        await marks.commit(built.competition_id, plan, actor=await _organizer())
    assert await _stored() == (0, 0)
    _listing, sheets = report_rows(marks.report(plan))
    assert len(sheets) == 2 and sheets[0][0][-1] == "错误" and sheets[1][0][-1] == "错误"

    agreed = await marks.read_plan(
        built.competition_id, xlsx([HEADER, *first]), second=xlsx([HEADER, *reversed(first)])
    )
    assert agreed.problems == []
    result = await marks.commit(built.competition_id, agreed, actor=await _organizer())
    assert result.saved == 3 and await Mark.count() == 3
    assert (await last_audit("marks.import"))["double_entry"] is True


async def test_signing_the_sheets_the_import_completed(demo_scoring):
    built = await competing_trade()
    facts, codes, aspects = await _setting(built)
    rows = []
    for code in codes:
        for aspect in aspects.values():
            if aspect.is_judgement:
                rows.append([code, aspect.code, "judge", "2"])
            else:
                rows.append([code, aspect.code, "", str(aspect.max_hundredths // 100)])
    rows.append([codes[0], "B6", "judge2", "2"])  # judge2's sheet stays incomplete
    plan = await _plan(built, rows)
    assert plan.problems == []
    result = await marks.commit(built.competition_id, plan, actor=await _organizer(), sign=True)
    assert (result.signed, result.unsigned) == (1, 1)
    statuses = {
        r["id"]: r["status"]
        for r in await ScoreSheet.select(ScoreSheet.id, ScoreSheet.status).where(
            ScoreSheet.trade == built.trade_id
        )
    }
    assert statuses[facts.id] == "signed"
    assert statuses[built.sheets["judge2"][0]] == "open"
    # The Measurement values went on the sheet of the judge the file names.
    on_sheets = {r["sheet"] for r in await Mark.select(Mark.sheet).where(Mark.judge.is_null())}
    assert on_sheets == {facts.id}
    assert await audit_count("sheet.signed") == 1


async def test_a_tablet_value_is_not_replaced_from_paper(demo_scoring):
    built = await competing_trade()
    facts, codes, aspects = await _setting(built)
    slot = sorted(facts.slots)[0]
    await marks_service.put_mark(
        MarkIn("tablet-1", facts.id, slot, aspects["B6"].id, "2"), actor=await built.actor("judge")
    )
    text = await _refused(built, [[codes[0], "B6", "judge", "3"]], "mark_from_tablet")
    assert "2.00" in text
    same = await _plan(built, [[codes[0], "B6", "judge", "2"]])
    assert same.problems == []
    result = await marks.commit(built.competition_id, same, actor=await _organizer())
    assert (result.saved, result.unchanged) == (0, 1)


async def test_a_committed_import_recomputes_the_totals(demo_scoring):
    built = await competing_trade()
    await Trade.update(
        {Trade.events: [{"key": "theory", "weight": 30}, {"key": "practical", "weight": 70}]}
    ).where(Trade.id == built.trade_id)
    facts, codes, _aspects = await _setting(built)
    slot = sorted(facts.slots)[0]
    # A1 is a Measurement aspect: its score is the panel's value itself.
    plan = await _plan(built, [[codes[0], "A1", "", "2.5"]])
    assert plan.problems == []
    assert await Total.count() == 0, "a check computes no total"
    await marks.commit(built.competition_id, plan, actor=await _organizer())
    total = await total_of(slot)
    # 250 × 70 % = 175.
    assert (total["practical_hundredths"], total["weighted_hundredths"]) == (250, 175)

    # Corrected from paper: 125 × 70 % = 87.5 → 88 (half-up).
    plan = await _plan(built, [[codes[0], "A1", "", "1.25"]])
    await marks.commit(built.competition_id, plan, actor=await _organizer())
    total = await total_of(slot)
    assert (total["practical_hundredths"], total["weighted_hundredths"]) == (125, 88)


async def test_bulk_written_marks_are_what_a_tablet_leaves_and_tablets_go_on_from_them(
    demo_scoring,
):
    """The commit writes the marks of empty cells in bulk (ids taken beforehand): each trail
    row points at its own mark with version 1 and no old value, and a tablet changing one of
    them afterwards, or marking a new cell, works on the same sequence of ids."""
    built = await competing_trade()
    facts, codes, aspects = await _setting(built)
    rows = [[code, "B6", "judge", "2"] for code in codes]
    rows += [[code, "A1", "", "1.5"] for code in codes]
    plan = await _plan(built, rows)
    assert plan.problems == []
    result = await marks.commit(built.competition_id, plan, actor=await _organizer())
    assert result.saved == len(rows)
    stored = await Mark.select(Mark.id, Mark.client_id, Mark.version, Mark.value_hundredths)
    trail = await MarkChange.select(
        MarkChange.mark, MarkChange.client_id, MarkChange.version, MarkChange.old_hundredths,
        MarkChange.new_hundredths, MarkChange.trade,
    )  # fmt: skip
    assert len(stored) == len(trail) == len(rows)
    by_client = {m["client_id"]: m for m in stored}
    for change in trail:
        mark = by_client[change["client_id"]]
        assert change["mark"] == mark["id"]
        assert (change["version"], change["old_hundredths"]) == (1, None)
        assert change["new_hundredths"] == mark["value_hundredths"]
        assert change["trade"] == built.trade_id
    assert len({m["id"] for m in stored}) == len(rows)

    judge = await built.actor("judge")
    slot = sorted(facts.slots)[0]
    changed = await marks_service.put_mark(
        MarkIn("tablet-after-paper", facts.id, slot, aspects["B6"].id, "3", base_version=1),
        actor=judge,
    )
    assert (changed.result, changed.mark.version) == ("saved", 2)
    fresh = await marks_service.put_mark(
        MarkIn("tablet-new-cell", facts.id, slot, aspects["D1"].id, "1"), actor=judge
    )
    assert fresh.result == "saved"
    assert await Mark.count() == len(rows) + 1
    assert await MarkChange.count() == len(rows) + 2
