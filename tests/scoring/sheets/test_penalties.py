"""Penalties and completion times (scoring/sheets/penalties.py): values read exactly, entered by
the trade's chief judge only, in the stages that allow it, each change audited — and after the
lock a removal or a new time needs a reason."""

from __future__ import annotations

import json

import pytest

from competition.errors import DomainError, ValidationFailed
from competition.stages import Stage
from competition.tables import AuditLog, Trade
from scoring.sheets import penalties
from scoring.tables import CompletionTime, Penalty, PenaltyKind
from tests.scoring.sheets.builders import competing_trade


@pytest.mark.parametrize(
    ("typed", "hundredths"),
    [
        ("-5", -500),
        ("-2.5", -250),
        ("+1", 100),
        (" 1.25 ", 125),
        ("-0.01", -1),
        ("-100", -10_000),
        (-300, -300),
    ],
)
def test_a_penalty_is_read_exactly_in_signed_hundredths(typed, hundredths):
    value = penalties.parse_penalty(typed) if isinstance(typed, str) else typed
    assert penalties.check_penalty(value) == hundredths


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("0", "penalty_zero"),
        ("-0.00", "penalty_zero"),
        ("-1.234", "penalty_too_many_decimals"),
        ("abc", "penalty_not_a_number"),
        ("", "penalty_not_a_number"),
        ("1e2", "penalty_not_a_number"),
        ("-100.01", "penalty_too_large"),
        ("－5", "penalty_not_a_number"),
    ],
)
def test_a_bad_penalty_is_refused_with_its_reason(typed, code):
    with pytest.raises(ValidationFailed) as caught:
        penalties.parse_penalty(typed)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("12:34", 754),
        ("1:02:05", 3725),
        ("95:00", 5700),
        ("3600", 3600),
        ("1：30：00", 5400),
        ("99:59:59", 359_999),
        (90, 90),
    ],
)
def test_a_completion_time_is_read_as_mm_ss_h_mm_ss_or_seconds(typed, seconds):
    assert penalties.parse_duration(typed) == seconds
    assert penalties.parse_duration(penalties.format_duration(seconds)) == seconds


@pytest.mark.parametrize("typed", ["", "0", "1:60:00", "12:60", "1.5", "1:2:3", "100:00:00", "-5"])
def test_a_bad_completion_time_is_refused(typed):
    with pytest.raises(ValidationFailed) as caught:
        penalties.parse_duration(typed)
    assert caught.value.code == "completion_time_invalid"


async def _records(action: str) -> list[dict]:
    rows = await AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id)
    for row in rows:
        for key in ("old", "new"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
    return rows


async def _set_stage(trade_id: int, stage: Stage) -> None:
    # Only the stage gate is under test here; the lock itself is tested in test_chief_page.
    await Trade.update({Trade.stage: stage.value}).where(Trade.id == trade_id)


async def test_the_chief_enters_and_removes_a_penalty_and_both_are_audited(demo_scoring):
    built = await competing_trade()
    chief = await built.actor("chief")
    slot = sorted((await built.sheet("judge")).slots)[0]
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, slot, -500, PenaltyKind.safety, "未戴护目镜",
                                    actor=await built.actor("judge"))  # fmt: skip
    assert caught.value.code == "not_chief_judge"
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, slot, -500, "safety", "  ", actor=chief)
    assert caught.value.code == "penalty_reason_required"
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, slot, -500, "lateness", "x", actor=chief)
    assert caught.value.code == "penalty_kind"
    assert await Penalty.count() == 0

    penalty_id = await penalties.add_penalty(
        built.trade_id, slot, "-2.5", PenaltyKind.safety, "未戴  护目镜", actor=chief
    )
    stored = await Penalty.select().where(Penalty.id == penalty_id).first()
    assert (stored["hundredths"], stored["kind"], stored["reason"]) == (
        -250,
        "safety",
        "未戴 护目镜",
    )
    [added] = await _records("penalty.add")
    code = (await penalties.penalties_of(built.trade_id))[0].code
    assert added["new"] == {
        "penalty": penalty_id, "code": code, "penalty_kind": "safety", "marks": "-2.50",
        "hundredths": -250, "after_lock": False,
    }  # fmt: skip
    assert (added["reason"], added["actor_name"]) == ("未戴 护目镜", "chief")

    # Before the lock a mistaken entry is taken back without a reason.
    await penalties.remove_penalty(penalty_id, actor=chief)
    assert await Penalty.count() == 0
    [removed] = await _records("penalty.remove")
    assert removed["old"]["hundredths"] == -250 and removed["old"]["code"] == code
    assert removed["new"] == {"after_lock": False}
    with pytest.raises(DomainError) as caught:
        await penalties.remove_penalty(penalty_id, actor=chief)
    assert caught.value.code == "penalty_not_found"


async def test_after_the_lock_a_removal_needs_a_reason_and_says_so(demo_scoring):
    built = await competing_trade()
    chief = await built.actor("chief")
    slot = sorted((await built.sheet("judge")).slots)[0]
    penalty_id = await penalties.add_penalty(
        built.trade_id, slot, -300, PenaltyKind.overtime, "超时3分钟", actor=chief
    )
    await _set_stage(built.trade_id, Stage.locked)
    with pytest.raises(DomainError) as caught:
        await penalties.remove_penalty(penalty_id, actor=chief, reason=" ")
    assert caught.value.code == "locked_change_reason_required"
    assert await Penalty.count() == 1
    await penalties.remove_penalty(penalty_id, actor=chief, reason="申诉成立：计时错误")
    [removed] = await _records("penalty.remove")
    assert removed["new"] == {"after_lock": True}
    assert removed["reason"] == "申诉成立：计时错误"
    # Entering one after the lock is allowed too, and recorded as such.
    await penalties.add_penalty(built.trade_id, slot, -100, "other", "补录", actor=chief)
    assert (await _records("penalty.add"))[-1]["new"]["after_lock"] is True

    await _set_stage(built.trade_id, Stage.final)
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, slot, -100, "other", "x", actor=chief)
    assert caught.value.code == "penalty_wrong_stage"


async def test_a_slot_of_another_trade_or_a_trade_not_competing_is_refused(demo_scoring):
    built = await competing_trade()
    chief = await built.actor("chief")
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, 999_999, -100, "other", "x", actor=chief)
    assert caught.value.code == "slot_not_found"
    slot = sorted((await built.sheet("judge")).slots)[0]
    await _set_stage(built.trade_id, Stage.drawn)
    with pytest.raises(DomainError) as caught:
        await penalties.add_penalty(built.trade_id, slot, -100, "other", "x", actor=chief)
    assert caught.value.code == "penalty_wrong_stage"
    with pytest.raises(DomainError) as caught:
        await penalties.set_completion_time(built.trade_id, slot, "1:00:00", actor=chief)
    assert caught.value.code == "penalty_wrong_stage"
    assert await Penalty.count() == 0 and await CompletionTime.count() == 0
    assert await AuditLog.count().where(AuditLog.action.like("penalty.%")) == 0


async def test_a_completion_time_is_recorded_once_and_corrected_with_its_old_value(demo_scoring):
    built = await competing_trade()
    chief = await built.actor("chief")
    slot = sorted((await built.sheet("judge")).slots)[0]
    with pytest.raises(DomainError) as caught:
        await penalties.set_completion_time(built.trade_id, slot, "1:00:00",
                                            actor=await built.actor("judge"))  # fmt: skip
    assert caught.value.code == "not_chief_judge"
    assert await penalties.set_completion_time(built.trade_id, slot, "1:45:30", actor=chief) == (
        "saved"
    )
    assert await penalties.set_completion_time(built.trade_id, slot, "6330", actor=chief) == (
        "unchanged"
    )
    assert await penalties.set_completion_time(built.trade_id, slot, "1:40:00", actor=chief) == (
        "saved"
    )
    assert await penalties.completion_times_of(built.trade_id) == {slot: 6000}
    assert await CompletionTime.count() == 1
    first, second = await _records("completion_time.set")
    assert first["old"] is None and first["new"]["seconds"] == 6330
    assert second["old"] == {"completion_time": "1:45:30"}
    assert (second["new"]["completion_time"], second["new"]["after_lock"]) == ("1:40:00", False)

    await _set_stage(built.trade_id, Stage.locked)
    with pytest.raises(DomainError) as caught:
        await penalties.set_completion_time(built.trade_id, slot, "1:41:00", actor=chief)
    assert caught.value.code == "locked_change_reason_required"
    await penalties.set_completion_time(
        built.trade_id, slot, "1:41:00", actor=chief, reason="计时表复核"
    )
    last = (await _records("completion_time.set"))[-1]
    assert (last["reason"], last["new"]["after_lock"]) == ("计时表复核", True)
