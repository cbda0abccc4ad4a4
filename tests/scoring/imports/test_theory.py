"""Theory and oral scores from the exam system (scoring/imports/theory.py): by ticket number or
code, stored and replaced with the old value kept in the audit record, the trade's totals
recomputed after a commit, and every bad row refused with nothing stored."""

from __future__ import annotations

import pytest

from competition.audit import SYSTEM
from competition.errors import DomainError
from competition.tables import Trade
from registration.tables import Entry, EntryStatus
from scoring.imports import shared, theory
from scoring.tables import DrawSlot, EventScore, Total
from tests.scoring.imports.files import audit_count, last_audit, report_rows, total_of, xlsx

HEADER = ["准考证号", "加密号", "成绩", "项目"]


async def _tickets(trade_code: str, n: int) -> list[str]:
    rows = (
        await Entry.select(Entry.ticket_number)
        .where(
            (Entry.trade.code == trade_code)
            & (Entry.status == EntryStatus.approved.value)
            & Entry.ticket_number.is_not_null()
        )
        .order_by(Entry.ticket_number)
        .limit(n)
    )
    return [r["ticket_number"] for r in rows]


async def _scores() -> dict[tuple[str, str], int]:
    rows = await EventScore.select(
        EventScore.entry.ticket_number, EventScore.event, EventScore.hundredths
    )
    return {(r["entry.ticket_number"], r["event"]): r["hundredths"] for r in rows}


@pytest.mark.parametrize("whole", [False, True], ids=["lookups", "one-read"])
async def test_scores_by_ticket_and_by_code_are_stored_and_replaced(
    demo_scoring, monkeypatch, whole
):
    if whole:  # the path of a file of more than 5,000 contestants: everything read at once
        monkeypatch.setattr(shared, "WHOLE_DRAW", 0)
    cid = demo_scoring.competition_id
    slot = await DrawSlot.select(DrawSlot.code, DrawSlot.judge_code, DrawSlot.entry.ticket_number)\
        .where(DrawSlot.trade.code == "T001").order_by(DrawSlot.id).first()  # fmt: skip
    by_code = slot["entry.ticket_number"]
    t1, t2 = [t for t in await _tickets("T001", 3) if t != by_code][:2]
    # 100 as a number cell, the rest as text.
    rows = [[t1, "", "85.5", "理论"], [t2, "", 100, ""], ["", slot["code"], "0", "theory"]]
    plan = await theory.read_plan(cid, xlsx([HEADER, *rows]))
    assert plan.problems == [] and len(plan.rows) == 3
    assert await EventScore.count() == 0, "a check stores nothing"
    result = await theory.commit(cid, plan, actor=SYSTEM, filename="exam.xlsx")
    assert (result.created, result.replaced, result.unchanged) == (3, 0, 0)
    stored = await _scores()
    assert stored[(t1, "theory")] == 8550 and stored[(by_code, "theory")] == 0
    assert stored[(t2, "theory")] == 10000

    # Again, one score changed, by the second-layer code this time: the old value is audited.
    again = [[t1, "", "86", "理论"], ["", slot["judge_code"], "0", ""]]
    result = await theory.commit(cid, await theory.read_plan(cid, xlsx([HEADER, *again])),
                                 actor=SYSTEM)  # fmt: skip
    assert (result.created, result.replaced, result.unchanged) == (0, 1, 1)
    assert (await _scores())[(t1, "theory")] == 8600
    record = await last_audit("theory.import")
    entry = await Entry.select(Entry.id).where(Entry.ticket_number == t1).first()
    assert record["changes"] == [[entry["id"], "theory", 8550, 8600]]
    assert await audit_count("theory.import") == 2


async def test_an_oral_score_needs_a_weighted_oral_event(demo_scoring):
    cid = demo_scoring.competition_id
    [ticket] = await _tickets("T001", 1)
    plan = await theory.read_plan(cid, xlsx([HEADER, [ticket, "", "70", "答辩"]]))
    assert [p.code for p in plan.problems] == ["event_not_weighted"]
    await Trade.update(
        {Trade.events: [{"key": "theory", "weight": 25}, {"key": "practical", "weight": 55},
                        {"key": "oral", "weight": 20}]}
    ).where(Trade.code == "T001")  # fmt: skip
    plan = await theory.read_plan(cid, xlsx([HEADER, [ticket, "", "70", "答辩"]]))
    assert plan.problems == []
    await theory.commit(cid, plan, actor=SYSTEM)
    assert (await _scores())[(ticket, "oral")] == 7000


@pytest.mark.parametrize("whole", [False, True], ids=["lookups", "one-read"])
async def test_every_bad_score_row_is_refused_and_nothing_is_stored(
    demo_scoring, monkeypatch, whole
):
    if whole:  # the path of a file of more than 5,000 contestants: everything read at once
        monkeypatch.setattr(shared, "WHOLE_DRAW", 0)
    cid = demo_scoring.competition_id
    t1, t2 = await _tickets("T001", 2)
    other_code = (
        await DrawSlot.select(DrawSlot.code)
        .where((DrawSlot.trade.code == "T001") & (DrawSlot.entry.ticket_number != t2))
        .first()
    )["code"]
    cases = [
        ([t2, "", "100.01", ""], "score_out_of_range"),
        ([t2, "", "-1", ""], "score_out_of_range"),
        ([t2, "", "85.555", ""], "score_too_many_decimals"),
        ([t2, "", "八十", ""], "score_not_a_number"),
        ([t2, "", "", ""], "score_missing"),
        ([t2, "", "80", "实操"], "invalid_event"),
        (["QH16-T001-9999", "", "80", ""], "ticket_not_found"),
        ([t1, "", "80", ""], "duplicate_in_file"),
        ([t2, other_code, "80", ""], "ticket_code_differ"),  # another contestant's code
        ([t2, "9999", "80", ""], "code_not_found"),
        (["", "", "80", ""], "contestant_missing"),
    ]
    for row, code in cases:
        refusals = await audit_count("score_import.refused")
        plan = await theory.read_plan(cid, xlsx([HEADER, [t1, "", "80", ""], row]))
        assert [p.code for p in plan.problems] == [code], (code, [p.text() for p in plan.problems])
        with pytest.raises(DomainError):
            await theory.commit(cid, plan, actor=SYSTEM)
        assert await EventScore.count() == 0
        assert await audit_count("score_import.refused") == refusals + 1
    _listing, [sheet] = report_rows(theory.report(plan))
    assert sheet[0][-1] == "错误" and sheet[1][-1] is None and sheet[2][-1]


async def test_a_published_trade_takes_no_more_scores(demo_scoring):
    cid = demo_scoring.competition_id
    [ticket] = await _tickets("T002", 1)
    await Trade.update({Trade.stage: "published"}).where(Trade.code == "T002")
    plan = await theory.read_plan(cid, xlsx([HEADER, [ticket, "", "80", ""]]))
    assert [p.code for p in plan.problems] == ["trade_published"]


async def test_a_file_without_a_contestant_column_is_refused(demo_scoring):
    with pytest.raises(DomainError) as caught:
        await theory.read_plan(demo_scoring.competition_id, xlsx([["成绩", "项目"], ["80", ""]]))
    assert caught.value.code == "missing_columns"


async def test_a_committed_import_recomputes_the_totals(demo_scoring):
    cid = demo_scoring.competition_id
    await Trade.update(
        {Trade.events: [{"key": "theory", "weight": 30}, {"key": "practical", "weight": 70}]}
    ).where(Trade.code == "T001")
    slot = await DrawSlot.select(DrawSlot.id, DrawSlot.entry.ticket_number)\
        .where(DrawSlot.trade.code == "T001").order_by(DrawSlot.id).first()  # fmt: skip
    ticket = slot["entry.ticket_number"]
    plan = await theory.read_plan(cid, xlsx([HEADER, [ticket, "", "85.55", "理论"]]))
    assert plan.problems == []
    assert await Total.count() == 0, "a check computes no total"

    # No marks yet (practical 0): 8555 × 30 % = 2566.5 → 2567 (half-up).
    await theory.commit(cid, plan, actor=SYSTEM)
    total = await total_of(slot["id"])
    assert (total["theory_hundredths"], total["weighted_hundredths"]) == (8555, 2567)
    drawn = await DrawSlot.count().where(DrawSlot.trade.code == "T001")
    assert await Total.count() == drawn, "every contestant of the trade gets a total"

    # Replaced: 7005 × 30 % = 2101.5 → 2102.
    plan = await theory.read_plan(cid, xlsx([HEADER, [ticket, "", "70.05", ""]]))
    await theory.commit(cid, plan, actor=SYSTEM)
    total = await total_of(slot["id"])
    assert (total["theory_hundredths"], total["weighted_hundredths"]) == (7005, 2102)
