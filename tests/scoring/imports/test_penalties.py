"""Penalties keyed in (scoring/imports/penalties.py): stored as the chief judge's entries are,
the same file twice never taking the marks off twice, the trade's totals recomputed after a
commit, and every bad row refused with nothing stored."""

from __future__ import annotations

import pytest

from competition.audit import SYSTEM
from competition.errors import DomainError
from scoring.imports import penalties
from scoring.tables import DrawSlot, Penalty, Total
from tests.scoring.imports.files import (
    audit_count,
    last_audit,
    report_rows,
    shown_codes,
    total_of,
    xlsx,
)
from tests.scoring.sheets.builders import competing_trade

HEADER = ["加密号", "分值", "类型", "原因"]


async def test_penalties_are_stored_once(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    slot, other = sorted(codes)[:2]
    rows = [
        [codes[slot], -5, "安全违规", "未佩戴护目镜"],  # a number cell
        [codes[other], "-2.5", "超时", "超时 4 分钟"],
        [codes[other], "+1", "其他", "加分 节约材料"],
    ]
    data = xlsx([HEADER, *rows])
    plan = await penalties.read_plan(built.competition_id, data)
    assert plan.problems == [] and await Penalty.count() == 0
    result = await penalties.commit(built.competition_id, plan, actor=SYSTEM, filename="p.xlsx")
    assert result.rows == 3
    stored = sorted(
        (r["slot"], r["kind"], r["hundredths"], r["reason"])
        for r in await Penalty.select(
            Penalty.slot, Penalty.kind, Penalty.hundredths, Penalty.reason
        )
    )
    assert stored == sorted([(slot, "safety", -500, "未佩戴护目镜"),
                             (other, "overtime", -250, "超时 4 分钟"),
                             (other, "other", 100, "加分 节约材料")])  # fmt: skip
    record = await last_audit("penalties.import")
    assert [p["marks"] for p in record["penalties"]] == ["-5.00", "-2.50", "1.00"]

    again = await penalties.read_plan(built.competition_id, data)
    assert {p.code for p in again.problems} == {"penalty_recorded"}
    assert await Penalty.count() == 3


async def test_every_bad_penalty_row_is_refused_and_nothing_is_stored(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    code = codes[sorted(codes)[0]]
    first_layer = (await DrawSlot.select(DrawSlot.code).where(DrawSlot.id == sorted(codes)[0])
                   .first())["code"]  # fmt: skip
    drawn = (await DrawSlot.select(DrawSlot.code).where(DrawSlot.trade.code == "T002").first())[
        "code"
    ]
    good = [code, "-1", "其他", "工位不整洁"]
    cases = [
        ([code, "0", "其他", "零"], "penalty_zero"),
        ([code, "-1.255", "其他", "三位小数"], "penalty_too_many_decimals"),
        ([code, "五分", "其他", "不是数"], "penalty_not_a_number"),
        ([code, "-101", "其他", "太大"], "penalty_too_large"),
        ([code, "", "其他", "没有分值"], "penalty_missing"),
        ([code, "-1", "罚款", "类型不对"], "penalty_kind"),
        ([code, "-1", "其他", ""], "penalty_reason_required"),
        (good, "duplicate_in_file"),
        ([first_layer, "-1", "其他", "一次加密号"], "first_layer_code"),
        ([drawn, "-1", "其他", "未开赛"], "penalty_wrong_stage"),
    ]
    for row, expected in cases:
        refusals = await audit_count("score_import.refused")
        plan = await penalties.read_plan(built.competition_id, xlsx([HEADER, good, row]))
        assert [p.code for p in plan.problems] == [expected], [p.text() for p in plan.problems]
        with pytest.raises(DomainError):
            await penalties.commit(built.competition_id, plan, actor=SYSTEM)
        assert await Penalty.count() == 0
        assert await audit_count("score_import.refused") == refusals + 1
    _listing, [sheet] = report_rows(penalties.report(plan))
    assert sheet[0][-1] == "错误" and sheet[1][-1] is None and "公示" in sheet[2][-1]


async def test_a_committed_import_recomputes_the_totals(demo_scoring):
    built = await competing_trade()
    codes = await shown_codes(built.trade_id)
    slot, other = sorted(codes)[:2]
    data = xlsx([HEADER, [codes[slot], "-5", "安全违规", "未佩戴护目镜"]])
    plan = await penalties.read_plan(built.competition_id, data)
    assert await Total.count() == 0, "a check computes no total"
    await penalties.commit(built.competition_id, plan, actor=SYSTEM)
    assert (await total_of(slot))["penalty_hundredths"] == -500
    assert (await total_of(other))["penalty_hundredths"] == 0

    # A second penalty adds up: −500 − 250.
    data = xlsx([HEADER, [codes[slot], "-2.5", "超时", "超时 4 分钟"]])
    await penalties.commit(
        built.competition_id, await penalties.read_plan(built.competition_id, data), actor=SYSTEM
    )
    total = await total_of(slot)
    # No marks: the practical score stays at 0, never below.
    assert (total["penalty_hundredths"], total["practical_hundredths"]) == (-750, 0)
