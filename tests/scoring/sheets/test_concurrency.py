"""Two tablets writing one mark at the same moment (asyncio tasks on the real database; on
PostgreSQL two connections of the pool): exactly one change wins, the other is told."""

from __future__ import annotations

import asyncio
import uuid

from competition.errors import DomainError
from scoring.sheets import marks
from scoring.sheets.marks import MarkConflict, MarkIn
from scoring.tables import Mark, MarkChange
from tests.scoring.sheets.builders import competing_trade


async def _put(actor, sheet, slot, aspect, value, base):
    try:
        return await marks.put_mark(
            MarkIn(str(uuid.uuid4()), sheet, slot, aspect, value, base_version=base), actor=actor
        )
    except DomainError as exc:
        return exc


async def test_two_tablets_creating_one_mark_at_once(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    results = await asyncio.gather(
        _put(actor, sheet.id, slot, aspect.id, "1", 0),
        _put(actor, sheet.id, slot, aspect.id, "3", 0),
    )
    saved = [r for r in results if not isinstance(r, Exception) and r.result == "saved"]
    conflicts = [r for r in results if isinstance(r, MarkConflict)]
    assert len(saved) == 1 and len(conflicts) == 1, results
    rows = await Mark.select(Mark.value_hundredths, Mark.version).where(
        (Mark.slot == slot) & (Mark.aspect == aspect.id)
    )
    assert rows == [{"value_hundredths": saved[0].mark.value_hundredths, "version": 1}]
    assert await MarkChange.count().where(MarkChange.trade == built.trade_id) == 1


async def test_two_tablets_changing_one_mark_at_once(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    await _put(actor, sheet.id, slot, aspect.id, "2", 0)
    results = await asyncio.gather(
        _put(actor, sheet.id, slot, aspect.id, "1", 1),
        _put(actor, sheet.id, slot, aspect.id, "3", 1),
    )
    saved = [r for r in results if not isinstance(r, Exception)]
    conflicts = [r for r in results if isinstance(r, MarkConflict)]
    assert len(saved) == 1 and len(conflicts) == 1, results
    assert conflicts[0].current["value_hundredths"] == saved[0].mark.value_hundredths
    row = (
        await Mark.select(Mark.value_hundredths, Mark.version)
        .where((Mark.slot == slot) & (Mark.aspect == aspect.id))
        .first()
    )
    assert row == {"value_hundredths": saved[0].mark.value_hundredths, "version": 2}
    assert await MarkChange.count().where(MarkChange.trade == built.trade_id) == 2


async def test_the_same_change_sent_twice_at_once_is_stored_once(demo_scoring):
    built = await competing_trade()
    actor = await built.actor("judge")
    sheet = await built.sheet("judge")
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    mark = MarkIn(str(uuid.uuid4()), sheet.id, slot, aspect.id, "2")
    results = await asyncio.gather(
        marks.put_mark(mark, actor=actor), marks.put_mark(mark, actor=actor)
    )
    assert sorted(r.result for r in results) in (["repeat", "saved"], ["saved", "unchanged"])
    assert await MarkChange.count().where(MarkChange.trade == built.trade_id) == 1
