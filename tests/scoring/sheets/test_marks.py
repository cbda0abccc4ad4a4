"""Putting marks (scoring/sheets/marks.py) on the real database: a mark saved as entered, a retry
never doubling it, two tablets on one mark detected, and every refusal from the issue's list
storing nothing and leaving an audit record."""

from __future__ import annotations

import json
import uuid

import pytest

from competition.errors import DomainError
from competition.tables import AuditLog, Trade, User
from scoring.sheets import marks, signing
from scoring.sheets.marks import MarkConflict, MarkIn
from scoring.tables import Aspect, DrawSlot, Judge, Mark, MarkChange, ScoreSheet
from tests.scoring.sheets.builders import competing_trade


def _id() -> str:
    return str(uuid.uuid4())


async def _first_cells(built, username="judge"):
    cells = await built.cells(username)
    judgement = next((s, a) for s, a in cells if a.is_judgement)
    measurement = next((s, a) for s, a in cells if not a.is_judgement)
    return judgement, measurement


async def _counts() -> tuple[int, int]:
    return await Mark.count(), await MarkChange.count()


async def test_a_mark_is_saved_once_and_a_retry_is_answered_from_the_first(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    (slot, aspect), _ = await _first_cells(built)
    mark = MarkIn(_id(), sheet.id, slot, aspect.id, "2", base_version=0, device="tablet-1")

    first = await marks.put_mark(mark, actor=actor)
    again = await marks.put_mark(mark, actor=actor)

    assert (first.result, first.mark.value_hundredths, first.mark.version) == ("saved", 200, 1)
    assert (again.result, again.mark.version) == ("repeat", 1)
    assert first.cells_entered == 1 and first.cells_expected == len(await built.cells("judge"))
    rows = await Mark.select().where((Mark.slot == slot) & (Mark.aspect == aspect.id))
    assert len(rows) == 1 and rows[0]["device"] == "tablet-1"
    trail = await MarkChange.select().where(MarkChange.mark == rows[0]["id"])
    assert [(t["old_hundredths"], t["new_hundredths"], t["version"]) for t in trail] == [
        (None, 200, 1)
    ]


async def test_a_change_bumps_the_version_and_keeps_the_old_value_in_the_trail(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    (slot, aspect), _ = await _first_cells(built)
    await marks.put_mark(MarkIn(_id(), sheet.id, slot, aspect.id, "1"), actor=actor)
    changed = await marks.put_mark(
        MarkIn(_id(), sheet.id, slot, aspect.id, "3", base_version=1, device="t"), actor=actor
    )
    same = await marks.put_mark(
        MarkIn(_id(), sheet.id, slot, aspect.id, "3", base_version=2), actor=actor
    )
    assert (changed.result, changed.mark.version, same.result) == ("saved", 2, "unchanged")
    trail = await MarkChange.select(MarkChange.old_hundredths, MarkChange.new_hundredths).where(
        MarkChange.trade == built.trade_id
    )
    assert [(t["old_hundredths"], t["new_hundredths"]) for t in trail] == [(None, 100), (100, 300)]


async def test_two_tablets_on_one_mark_get_a_conflict_never_a_silent_overwrite(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    (slot, aspect), _ = await _first_cells(built)
    await marks.put_mark(MarkIn(_id(), sheet.id, slot, aspect.id, "2"), actor=actor)
    # Both tablets saw version 1; the first changes it, the second must be told.
    await marks.put_mark(
        MarkIn(_id(), sheet.id, slot, aspect.id, "3", base_version=1, device="A"), actor=actor
    )
    with pytest.raises(MarkConflict) as caught:
        await marks.put_mark(
            MarkIn(_id(), sheet.id, slot, aspect.id, "1", base_version=1, device="B"),
            actor=actor,
        )
    assert caught.value.current["value_hundredths"] == 300
    assert caught.value.current["version"] == 2
    assert caught.value.current["device"] == "A"
    row = (
        await Mark.select(Mark.value_hundredths)
        .where((Mark.slot == slot) & (Mark.aspect == aspect.id))
        .first()
    )
    assert row["value_hundredths"] == 300
    # "Keep mine": sent again on top of the version it was shown.
    kept = await marks.put_mark(
        MarkIn(_id(), sheet.id, slot, aspect.id, "1", base_version=2, device="B"), actor=actor
    )
    assert (kept.result, kept.mark.version, kept.mark.value_hundredths) == ("saved", 3, 100)


async def test_a_measurement_value_is_the_panels_one_value(demo_scoring):
    built = await competing_trade()
    _, (slot, aspect) = await _first_cells(built)
    full = str(aspect.max_hundredths // 100)
    for username in ("judge", "judge2"):
        facts = await built.sheet(username)
        if slot not in facts.slots:
            continue
        outcome = await marks.put_mark(
            MarkIn(_id(), facts.id, slot, aspect.id, full), actor=await built.actor(username)
        )
        assert outcome.result in ("saved", "unchanged")
    rows = await Mark.select(Mark.judge).where((Mark.slot == slot) & (Mark.aspect == aspect.id))
    assert [r["judge"] for r in rows] == [None]


async def _refusal(built, mark: MarkIn, username="judge") -> str:
    before = await _counts()
    audits = await AuditLog.count().where(AuditLog.action == "mark.refused")
    with pytest.raises(DomainError) as caught:
        await marks.put_mark(mark, actor=await built.actor(username))
    assert await _counts() == before, "a refused mark stored something"
    record = (
        await AuditLog.select(AuditLog.new)
        .where(AuditLog.action == "mark.refused")
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    assert await AuditLog.count().where(AuditLog.action == "mark.refused") == audits + 1
    new = json.loads(record["new"]) if isinstance(record["new"], str) else record["new"]
    assert new["code"] == caught.value.code
    return caught.value.code


async def test_every_bad_mark_is_refused_with_its_reason_and_audited(demo_scoring):
    built = await competing_trade()
    sheet = await built.sheet("judge")
    (slot, judged), (mslot, measured) = await _first_cells(built)
    above = str(measured.max_hundredths // 100 + 1)
    cases = {
        "mark_above_maximum": MarkIn(_id(), sheet.id, mslot, measured.id, above),
        "mark_negative": MarkIn(_id(), sheet.id, mslot, measured.id, "-1"),
        "mark_too_many_decimals": MarkIn(_id(), sheet.id, mslot, measured.id, "1.255"),
        "judgement_not_whole": MarkIn(_id(), sheet.id, slot, judged.id, "2.5"),
        "judgement_out_of_range": MarkIn(_id(), sheet.id, slot, judged.id, "4"),
        "mark_not_a_number": MarkIn(_id(), sheet.id, slot, judged.id, "abc"),
    }
    other_aspect = (await Aspect.select(Aspect.id).where(Aspect.scheme != sheet.scheme_id).first())[
        "id"
    ]
    cases["aspect_not_on_sheet"] = MarkIn(_id(), sheet.id, slot, other_aspect, "2")
    other_slot = (
        await DrawSlot.select(DrawSlot.id).where(DrawSlot.trade != built.trade_id).first()
    )["id"]
    cases["contestant_not_on_sheet"] = MarkIn(_id(), sheet.id, other_slot, judged.id, "2")
    cases["not_your_sheet"] = MarkIn(_id(), (await built.sheet("judge2")).id, slot, judged.id, "2")
    for code, mark in cases.items():
        assert await _refusal(built, mark) == code, code


async def test_a_recused_contestant_is_refused(demo_scoring):
    # judge3 made a member of a drawn contestant's delegation before the trade starts.
    slot = (
        await DrawSlot.select(DrawSlot.entry.delegation)
        .where(DrawSlot.trade.code == "T001")
        .order_by(DrawSlot.id)
        .first()
    )
    await Judge.update({Judge.delegation: slot["entry.delegation"]}).where(
        Judge.user.is_in(User.select(User.id).where(User.username == "judge3"))
    )
    built = await competing_trade()
    # A judge whose sheet holds fewer slots than the session has was recused for the others.
    for username, ids in built.sheets.items():
        for index in range(len(ids)):
            facts = await built.sheet(username, index)
            session_slots = {
                r["id"]
                for r in await DrawSlot.select(DrawSlot.id).where(
                    DrawSlot.session == facts.session_id
                )
            }
            recused = sorted(session_slots - facts.slots)
            if recused:
                aspect = next(iter((await marks.scheme_aspects(facts.scheme_id)).values()))
                mark = MarkIn(_id(), facts.id, recused[0], aspect.id, "2")
                assert await _refusal(built, mark, username) == "contestant_recused"
                return
    pytest.fail("the demo panel of T001 has no recusal to test")


async def test_a_replay_with_a_changed_value_is_refused(demo_scoring):
    built = await competing_trade()
    sheet = await built.sheet("judge")
    (slot, aspect), _ = await _first_cells(built)
    client_id = _id()
    await marks.put_mark(
        MarkIn(client_id, sheet.id, slot, aspect.id, "2"), actor=await built.actor("judge")
    )
    replay = MarkIn(client_id, sheet.id, slot, aspect.id, "3", base_version=1)
    assert await _refusal(built, replay) == "client_id_reused"


async def test_marks_after_signing_after_the_lock_and_in_the_wrong_stage_are_refused(
    demo_scoring,
):
    built = await competing_trade()
    sheet = await built.sheet("judge")
    (slot, aspect), _ = await _first_cells(built)
    await built.fill("judge")
    await signing.sign_sheet(sheet.id, actor=await built.actor("judge"))
    assert await _refusal(built, MarkIn(_id(), sheet.id, slot, aspect.id, "1", 1)) == (
        "sheet_signed"
    )
    # Another judge's open sheet, with the trade no longer competing.
    other = await built.sheet("judge2")
    (oslot, oaspect) = next((s, a) for s, a in await built.cells("judge2") if a.is_judgement)
    await Trade.update({Trade.stage: "locked"}).where(Trade.id == built.trade_id)
    assert await _refusal(built, MarkIn(_id(), other.id, oslot, oaspect.id, "1"), "judge2") == (
        "trade_locked"
    )
    await Trade.update({Trade.stage: "drawn"}).where(Trade.id == built.trade_id)
    assert await _refusal(built, MarkIn(_id(), other.id, oslot, oaspect.id, "1"), "judge2") == (
        "trade_not_competing"
    )


async def test_a_sheet_holds_only_the_slots_of_its_session(demo_scoring):
    built = await competing_trade()
    for row in await ScoreSheet.select(ScoreSheet.session, ScoreSheet.slots).where(
        ScoreSheet.trade == built.trade_id
    ):
        slots = marks.json_list(row["slots"])
        sessions = {
            r["session"]
            for r in await DrawSlot.select(DrawSlot.session).where(DrawSlot.id.is_in(slots))
        }
        assert sessions == {row["session"]}
