"""Signing, re-marks, second-person verification and the lock (scoring/sheets/signing.py,
lock.py) on the real database, with the audit records each leaves."""

from __future__ import annotations

import json
import uuid

import pytest

from competition.audit import SYSTEM
from competition.errors import DomainError
from competition.stages import Stage
from competition.tables import AuditLog, Trade
from scoring.rules.values import format_hundredths
from scoring.sheets import lock, marks, signing
from scoring.sheets.lock import LockRefused
from scoring.sheets.marks import MarkIn
from scoring.sheets.signing import SheetIncomplete
from scoring.tables import DrawSlot, Mark, MarkChange, ScoreSheet, SheetStatus, Total
from tests.scoring.sheets.builders import competing_trade, judge_id


async def _stage(trade_id: int) -> str:
    return (await Trade.select(Trade.stage).where(Trade.id == trade_id).first())["stage"]


async def _status(sheet_id: int) -> str:
    row = await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.id == sheet_id).first()
    return row["status"]


async def _fill_and_sign_all(built) -> None:
    await built.complete()


async def test_an_incomplete_sheet_cannot_be_signed_and_names_what_is_missing(demo_scoring):
    built = await competing_trade()
    sheet = await built.sheet("judge")
    slot, aspect = (await built.cells("judge"))[0]
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), sheet.id, slot, aspect.id, "2" if aspect.is_judgement else "0"),
        actor=await built.actor("judge"),
    )
    with pytest.raises(SheetIncomplete) as caught:
        await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    assert len(caught.value.missing) == len(await built.cells("judge")) - 1
    assert (slot, aspect.id) not in {(c.slot, c.aspect) for c in caught.value.missing}
    assert await _status(sheet.id) == SheetStatus.open.value


async def test_signing_makes_the_marks_read_only_and_a_second_signature_answers_the_first(
    demo_scoring,
):
    built = await competing_trade()
    sheet = await built.sheet("judge")
    await built.fill("judge")
    first = await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    second = await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    assert first["status"] == second["status"] == "signed"
    assert await AuditLog.count().where(AuditLog.action == "sheet.signed") == 1
    with pytest.raises(DomainError) as caught:
        await signing.sign_sheet(sheet.id, actor=await built.actor("judge2"))
    assert caught.value.code == "not_your_sheet"


async def test_the_last_signature_completes_the_trade_and_the_chief_locks_it(demo_scoring):
    built = await competing_trade()
    chief = await built.actor("chief")
    with pytest.raises(LockRefused) as caught:
        await lock.lock_trade(built.trade_id, actor=chief)
    report = caught.value.report
    assert len(report.gaps) == sum(len(ids) for ids in built.sheets.values())
    assert report.missing_marks > 0
    await _fill_and_sign_all(built)
    assert await _stage(built.trade_id) == Stage.marks_complete
    with pytest.raises(DomainError) as caught:
        await lock.lock_trade(built.trade_id, actor=await built.actor("judge"))
    assert caught.value.code == "not_chief_judge"
    await lock.lock_trade(built.trade_id, actor=chief)
    assert await _stage(built.trade_id) == Stage.locked
    # The lock writes the trade's totals: one per drawn contestant, the practical from every
    # mark (not complete yet: the theory scores come from the exam system).
    slots = await DrawSlot.count().where(DrawSlot.trade == built.trade_id)
    totals = await Total.select(Total.practical_hundredths, Total.complete).where(
        Total.trade == built.trade_id
    )
    assert len(totals) == slots
    assert all(t["practical_hundredths"] and not t["complete"] for t in totals)
    record = (
        await AuditLog.select(AuditLog.new)
        .where((AuditLog.action == "trade.stage") & (AuditLog.object_id == str(built.trade_id)))
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    assert (
        json.loads(record["new"])
        if isinstance(record["new"], str)
        else record["new"] == {"stage": "locked"}
    )


async def test_after_the_lock_a_change_needs_the_chief_and_a_reason_and_is_in_the_trail(
    demo_scoring,
):
    built = await competing_trade()
    await _fill_and_sign_all(built)
    chief = await built.actor("chief")
    await lock.lock_trade(built.trade_id, actor=chief)
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    judge = await judge_id("judge")
    with pytest.raises(DomainError) as caught:
        await lock.change_locked_mark(
            built.trade_id, slot_id=slot, aspect_id=aspect.id, judge_id=judge, value="3",
            reason=" ", actor=chief,
        )  # fmt: skip
    assert caught.value.code == "locked_change_reason_required"
    with pytest.raises(DomainError) as caught:
        await lock.change_locked_mark(
            built.trade_id, slot_id=slot, aspect_id=aspect.id, judge_id=judge, value="3",
            reason="申诉复核", actor=await built.actor("judge"),
        )  # fmt: skip
    assert caught.value.code == "not_chief_judge"
    result = await lock.change_locked_mark(
        built.trade_id, slot_id=slot, aspect_id=aspect.id, judge_id=judge, value="3",
        reason="申诉复核：录入错误", actor=chief, device="chief-tablet",
    )  # fmt: skip
    assert result == "saved"
    mark = (
        await Mark.select()
        .where((Mark.slot == slot) & (Mark.aspect == aspect.id) & (Mark.judge == judge))
        .first()
    )
    assert (mark["value_hundredths"], mark["version"]) == (300, 2)
    change = (
        await MarkChange.select()
        .where(MarkChange.mark == mark["id"])
        .order_by(MarkChange.id, ascending=False)
        .first()
    )
    assert (change["kind"], change["old_hundredths"], change["new_hundredths"]) == (
        "locked",
        200,
        300,
    )
    assert (change["reason"], change["device"], change["actor_name"]) == (
        "申诉复核：录入错误",
        "chief-tablet",
        "chief",
    )
    assert await AuditLog.count().where(AuditLog.action == "mark.locked_change") == 1


async def test_a_change_after_the_lock_is_refused_before_it(demo_scoring):
    built = await competing_trade()
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    with pytest.raises(DomainError) as caught:
        await lock.change_locked_mark(
            built.trade_id, slot_id=slot, aspect_id=aspect.id, judge_id=await judge_id("judge"),
            value="3", reason="x", actor=await built.actor("chief"),
        )  # fmt: skip
    assert caught.value.code == "not_locked"


async def test_a_re_mark_reopens_the_sheet_and_sends_the_trade_back_to_competing(demo_scoring):
    built = await competing_trade()
    await _fill_and_sign_all(built)
    assert await _stage(built.trade_id) == Stage.marks_complete
    sheet = await built.sheet("judge")
    slot, aspect = (await built.cells("judge"))[0]
    with pytest.raises(DomainError) as caught:
        await signing.request_remark(
            sheet.id, cells=[(slot, aspect.id)], note="", actor=await built.actor("chief")
        )
    assert caught.value.code == "remark_note_required"
    await signing.request_remark(
        sheet.id, cells=[(slot, aspect.id)], note="请复核A1", actor=await built.actor("chief")
    )
    assert await _status(sheet.id) == SheetStatus.returned.value
    assert await _stage(built.trade_id) == Stage.competing
    # The judge may change the mark again, then signs once more.
    current = await marks.current_mark(
        slot, aspect.id, sheet.judge_id if aspect.is_judgement else None
    )
    value = "3" if aspect.is_judgement else "0"
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), sheet.id, slot, aspect.id, value, current["version"]),
        actor=await built.actor("judge"),
    )
    await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    # Signed again, it waits for its second person again before the trade is complete.
    assert await _stage(built.trade_id) == Stage.competing
    readings = {
        cell: format_hundredths(row["value_hundredths"])
        for cell, row in (await signing.entered_cells(sheet)).items()
    }
    assert await signing.verify_sheet(sheet.id, readings, actor=await built.actor("judge2")) == []
    assert await _stage(built.trade_id) == Stage.marks_complete


async def test_verification_by_a_second_judge_confirms_or_returns_the_sheet(demo_scoring):
    built = await competing_trade()
    await Trade.update(
        {Trade.judge_rule: {"rule": "trimmed_mean", "judgement_tolerance": 1,
                            "verify_sheets": True}}
    ).where(Trade.id == built.trade_id)  # fmt: skip
    await ScoreSheet.update({ScoreSheet.needs_verification: True}).where(
        ScoreSheet.trade == built.trade_id
    )
    sheet = await built.sheet("judge")
    await built.fill("judge")
    await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    entered = await signing.entered_cells(sheet)
    readings = {cell: str(row["value_hundredths"] // 100) for cell, row in entered.items()}
    with pytest.raises(DomainError) as caught:
        await signing.verify_sheet(sheet.id, readings, actor=await built.actor("judge"))
    assert caught.value.code == "verify_own_sheet"
    wrong = dict(readings)
    first = sorted(wrong)[0]
    wrong[first] = "0" if wrong[first] != "0" else "1"
    mismatches = await signing.verify_sheet(sheet.id, wrong, actor=await built.actor("judge2"))
    assert [(c.slot, c.aspect) for c in mismatches] == [first]
    assert await _status(sheet.id) == SheetStatus.returned.value
    await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    assert await signing.verify_sheet(sheet.id, readings, actor=await built.actor("judge2")) == []
    assert await _status(sheet.id) == SheetStatus.verified.value
    actions = [
        r["action"]
        for r in await AuditLog.select(AuditLog.action)
        .where(AuditLog.action.like("sheet.%"))
        .order_by(AuditLog.id)
    ]
    assert actions == [
        "sheet.signed", "sheet.verification_failed", "sheet.signed", "sheet.verified"
    ]  # fmt: skip


async def test_a_trade_unstarted_before_any_mark_loses_its_sheets(demo_scoring):
    from competition.stages import Mover
    from scoring import stages

    built = await competing_trade()
    assert await ScoreSheet.count().where(ScoreSheet.trade == built.trade_id) > 0
    await stages.move_trade(built.trade_id, Stage.drawn, actor=SYSTEM, mover=Mover.organizer)
    assert await ScoreSheet.count().where(ScoreSheet.trade == built.trade_id) == 0
