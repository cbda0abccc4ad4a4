"""Completion times keyed in (scoring/imports/times.py): every way of writing a time, a time
replaced with the old one audited, a reason once the trade is locked, the trade's totals
recomputed after a commit, and every bad row refused with nothing stored."""

from __future__ import annotations

import pytest

from competition.audit import SYSTEM
from competition.errors import DomainError
from competition.tables import Trade
from scoring.imports import times
from scoring.tables import CompletionTime, Total
from tests.scoring.imports.files import (
    audit_count,
    last_audit,
    report_rows,
    shown_codes,
    total_of,
    xlsx,
)
from tests.scoring.sheets.builders import competing_trade

HEADER = ["加密号", "用时", "原因"]


async def _times() -> dict[int, int]:
    return {
        r["slot"]: r["seconds"]
        for r in await CompletionTime.select(CompletionTime.slot, CompletionTime.seconds)
    }


async def test_times_are_stored_and_replaced(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    a, b, c, d = sorted(codes)[:4]
    rows = [[codes[a], "95:30"], [codes[b], "1:38:05"], [codes[c], "5400"], [codes[d], 3600]]
    plan = await times.read_plan(built.competition_id, xlsx([HEADER, *rows]))
    assert plan.problems == [] and await CompletionTime.count() == 0
    result = await times.commit(built.competition_id, plan, actor=SYSTEM)
    assert (result.created, result.replaced) == (4, 0)
    assert await _times() == {a: 5730, b: 5885, c: 5400, d: 3600}

    again = [[codes[a], "95:31"], [codes[b], "1:38:05"]]
    result = await times.commit(
        built.competition_id, await times.read_plan(built.competition_id, xlsx([HEADER, *again])),
        actor=SYSTEM,
    )  # fmt: skip
    assert (result.created, result.replaced, result.unchanged) == (0, 1, 1)
    assert (await _times())[a] == 5731
    record = await last_audit("times.import")
    assert [(x["old"], x["new"]) for x in record["changes"]] == [("1:35:30", "1:35:31")]


async def test_after_the_lock_a_time_needs_a_reason(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    code = codes[sorted(codes)[0]]
    await Trade.update({Trade.stage: "locked"}).where(Trade.id == built.trade_id)
    plan = await times.read_plan(built.competition_id, xlsx([HEADER, [code, "90:00", ""]]))
    assert [p.code for p in plan.problems] == ["locked_change_reason_required"]
    plan = await times.read_plan(built.competition_id, xlsx([HEADER, [code, "90:00", "补录"]]))
    assert plan.problems == []
    await times.commit(built.competition_id, plan, actor=SYSTEM)
    assert list((await _times()).values()) == [5400]


async def test_every_bad_time_row_is_refused_and_nothing_is_stored(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    a, b = (codes[s] for s in sorted(codes)[:2])
    cases = [
        ([b, "12:60"], "completion_time_invalid"),
        ([b, "1:60:00"], "completion_time_invalid"),
        ([b, "0"], "completion_time_invalid"),
        ([b, "十分钟"], "completion_time_invalid"),
        ([b, ""], "time_missing"),
        ([a, "10:00"], "duplicate_in_file"),
        (["J0000", "10:00"], "code_not_found"),
    ]
    for row, expected in cases:
        refusals = await audit_count("score_import.refused")
        plan = await times.read_plan(built.competition_id, xlsx([HEADER, [a, "95:00"], row]))
        assert [p.code for p in plan.problems] == [expected], [p.text() for p in plan.problems]
        with pytest.raises(DomainError):
            await times.commit(built.competition_id, plan, actor=SYSTEM)
        assert await CompletionTime.count() == 0
        assert await audit_count("score_import.refused") == refusals + 1
    _listing, [sheet] = report_rows(times.report(plan))
    assert sheet[0][-1] == "错误" and "J0000" in sheet[2][-1]


async def test_a_committed_import_recomputes_the_totals(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    a, b = sorted(codes)[:2]
    plan = await times.read_plan(built.competition_id, xlsx([HEADER, [codes[a], "95:30"]]))
    assert await Total.count() == 0, "a check computes no total"
    await times.commit(built.competition_id, plan, actor=SYSTEM)
    assert (await total_of(a))["completion_seconds"] == 5730
    assert (await total_of(b))["completion_seconds"] is None

    again = xlsx([HEADER, [codes[a], "1:35:31"], [codes[b], "600"]])
    await times.commit(
        built.competition_id, await times.read_plan(built.competition_id, again), actor=SYSTEM
    )
    assert (await total_of(a))["completion_seconds"] == 5731
    assert (await total_of(b))["completion_seconds"] == 600
