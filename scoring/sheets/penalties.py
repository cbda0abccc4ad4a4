"""Penalties (扣分/加分) and completion times (完成用时), entered by the chief judge (裁判长).

A penalty is an explicit signed entry with a reason — a safety violation or overtime takes marks
off (−500 takes 5 marks off the practical score, `scoring/rules/totals.py`). The completion time
of each contestant is kept for the tie-break.

Who and when: the trade's chief judge only (`signing.chief_judge_of`), from the start of
competing up to publication (`ENTRY_STAGES`). The lock changes nothing about who may do it: the
rule for every change after the lock is "the chief judge, a reason, an audit record", and a
penalty always has its reason anyway. What the lock adds: removing a penalty or changing a
completion time then needs a reason too (before the lock a mistyped entry may be taken back
without one), and the audit record says `after_lock`. Every change is audited in its own
write transaction ("penalty.add", "penalty.remove", "completion_time.set").

Values are read exactly (`scoring.rules.values.read_number`): at most 2 decimals, never a
float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from competition import audit, clock, db
from competition.audit import Actor
from competition.errors import NotFound, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.stages import Stage
from scoring import totals
from scoring.rules.values import MarkValueError, format_hundredths, read_number
from scoring.sheets.lock import CHANGE_AFTER_LOCK
from scoring.sheets.signing import chief_judge_of, slot_codes
from scoring.stages import trade_for_action
from scoring.tables import CompletionTime, DrawSlot, Penalty, PenaltyKind

REASON_MAX = 500
# No single penalty takes (or gives) more than the whole scale of a practical score.
PENALTY_MAX = 10_000
# A completion time is under 100 hours: more is a typing mistake, not a long event.
SECONDS_MAX = 100 * 3600 - 1
ENTRY_STAGES = frozenset({Stage.competing, Stage.marks_complete}) | CHANGE_AFTER_LOCK

_DURATION = re.compile(r"(?:(\d{1,2}):)?(\d{1,4}):(\d{2})", re.ASCII)
_SECONDS = re.compile(r"\d{1,6}", re.ASCII)


@dataclass(frozen=True)
class PenaltyRow:
    id: int
    slot: int
    code: str
    kind: str
    hundredths: int
    reason: str
    entered_by: str
    entered_at: Any

    @property
    def shown(self) -> str:
        """−500 → "-5.00", 250 → "+2.50"."""
        return ("+" if self.hundredths > 0 else "") + format_hundredths(self.hundredths)


# ---------------------------------------------------------------------------- values


def _reason(reason: str | None, *, required: bool, code: str) -> str:
    reason = " ".join((reason or "").split())
    if required and not reason:
        raise ValidationFailed(
            "Give a reason.", code=code, field_errors={"reason": N_("Give a reason.")}
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            "The reason has at most {max} characters.",
            code="reason_long",
            field_errors={"reason": N_("Too long.")},
            max=REASON_MAX,
        )
    return reason


def _refused_value(message: str, code: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(message, code=code, field_errors={"value": message}, **params)


def parse_penalty(value: str | int) -> int:
    """A penalty as typed ("-5", "-2.5", "+1") in signed hundredths: at most 2 decimals, not
    zero, at most 100 marks either way."""
    text = value.strip().removeprefix("+") if isinstance(value, str) else value
    try:
        number = read_number(text)
    except MarkValueError as exc:
        raise _refused_value(
            N_("The penalty {value} is not a number."),
            "penalty_not_a_number",
            value=str(value)[:20],
        ) from exc
    hundredths = number * 100
    if hundredths.denominator != 1:
        raise _refused_value(
            N_("A penalty has at most 2 decimals: {value}."), "penalty_too_many_decimals",
            value=str(value)[:20],
        )  # fmt: skip
    return check_penalty(int(hundredths))


def check_penalty(hundredths: int) -> int:
    if isinstance(hundredths, bool) or not isinstance(hundredths, int):
        raise TypeError(f"a penalty is integer hundredths, not {hundredths!r}")
    if hundredths == 0:
        raise _refused_value(N_("A penalty is not zero."), "penalty_zero")
    if abs(hundredths) > PENALTY_MAX:
        raise _refused_value(
            N_("A penalty is at most {max} marks either way."), "penalty_too_large",
            max=format_hundredths(PENALTY_MAX),
        )  # fmt: skip
    return hundredths


def parse_duration(value: str | int) -> int:
    """A completion time as typed — "mm:ss", "h:mm:ss" or whole seconds — in seconds."""
    if isinstance(value, bool):
        raise TypeError(f"a completion time is text or whole seconds, not {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        text = value.strip().replace("：", ":")
        if _SECONDS.fullmatch(text):
            seconds = int(text)
        elif match := _DURATION.fullmatch(text):
            hours, minutes, secs = int(match[1] or 0), int(match[2]), int(match[3])
            if secs > 59 or (match[1] is not None and minutes > 59):
                raise _time_refused(value)
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            raise _time_refused(value)
    if not 0 < seconds <= SECONDS_MAX:
        raise _time_refused(value)
    return seconds


def _time_refused(value: Any) -> ValidationFailed:
    message = N_('Write the completion time as "mm:ss", "h:mm:ss" or seconds: {value}.')
    return ValidationFailed(
        message, code="completion_time_invalid", field_errors={"time": message},
        value=str(value)[:20],
    )  # fmt: skip


def format_duration(seconds: int | None) -> str:
    """3725 → "1:02:05", 754 → "12:34"."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------------------- writing


async def _open_for_entry(trade_id: int) -> tuple[Any, bool]:
    """The trade (read FOR SHARE inside the caller's transaction, so the lock waits for the
    entry and the other way round) and whether it is past the lock."""
    state = await trade_for_action(trade_id)
    if state.stage not in ENTRY_STAGES:
        raise PhaseError(
            "Penalties and completion times are entered from the start of competing until "
            "the results are published.",
            code="penalty_wrong_stage",
        )
    return state, state.stage in CHANGE_AFTER_LOCK


async def _slot_code(trade_id: int, slot_id: int) -> str:
    slot = await DrawSlot.select(DrawSlot.trade).where(DrawSlot.id == slot_id).first()
    if slot is None or slot["trade"] != trade_id:
        raise NotFound(
            "The contestant was not found.", code="slot_not_found",
            field_errors={"code": N_("The contestant was not found.")},
        )  # fmt: skip
    return (await slot_codes([slot_id])).get(slot_id, "")


async def add_penalty(
    trade_id: int,
    slot_id: int,
    hundredths: int | str,
    kind: PenaltyKind | str,
    reason: str,
    *,
    actor: Actor,
) -> int:
    """A signed penalty of one contestant, with its reason; returns its id."""
    await chief_judge_of(trade_id, actor)
    value = parse_penalty(hundredths) if isinstance(hundredths, str) else check_penalty(hundredths)
    try:
        kind = PenaltyKind(kind)
    except ValueError:
        raise ValidationFailed(
            "Choose the kind of penalty.", code="penalty_kind",
            field_errors={"kind": N_("Choose the kind of penalty.")},
        ) from None  # fmt: skip
    reason = _reason(reason, required=True, code="penalty_reason_required")
    code = await _slot_code(trade_id, slot_id)
    async with db.transaction():
        state, after_lock = await _open_for_entry(trade_id)
        rows = await Penalty.insert(
            Penalty(
                slot=slot_id,
                trade=trade_id,
                kind=kind.value,
                hundredths=value,
                reason=reason,
                entered_by=actor.user_id,
                entered_at=clock.now(),
            )
        ).returning(Penalty.id)
        penalty_id = rows[0]["id"]
        await audit.record(
            "penalty.add",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            new={
                "penalty": penalty_id,
                "code": code,
                "penalty_kind": kind.value,
                "marks": format_hundredths(value),
                "hundredths": value,
                "after_lock": after_lock,
            },
            reason=reason,
        )
    if after_lock:
        await totals.recompute_entry(slot_id)
    return penalty_id


async def remove_penalty(penalty_id: int, *, actor: Actor, reason: str = "") -> None:
    """Take a penalty back; after the lock only with a reason."""
    row = await Penalty.select(Penalty.trade).where(Penalty.id == penalty_id).first()
    if row is None:
        raise NotFound("The penalty was not found.", code="penalty_not_found")
    trade_id = row["trade"]
    await chief_judge_of(trade_id, actor)
    async with db.transaction():
        state, after_lock = await _open_for_entry(trade_id)
        reason = _reason(reason, required=after_lock, code="locked_change_reason_required")
        old = await Penalty.select().where(Penalty.id == penalty_id).first()
        if old is None:  # removed meanwhile by another tap
            raise NotFound("The penalty was not found.", code="penalty_not_found")
        await Penalty.delete().where(Penalty.id == penalty_id)
        await audit.record(
            "penalty.remove",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            old={
                "penalty": penalty_id,
                "code": (await slot_codes([old["slot"]])).get(old["slot"], ""),
                "penalty_kind": old["kind"],
                "marks": format_hundredths(old["hundredths"]),
                "hundredths": old["hundredths"],
                "reason": old["reason"],
            },
            new={"after_lock": after_lock},
            reason=reason,
        )
    if after_lock:
        await totals.recompute_entry(old["slot"])


async def set_completion_time(
    trade_id: int, slot_id: int, seconds: int | str, *, actor: Actor, reason: str = ""
) -> str:
    """Record (or correct) a contestant's completion time; after the lock only with a reason.
    Returns "saved" or "unchanged"."""
    await chief_judge_of(trade_id, actor)
    value = parse_duration(seconds)
    code = await _slot_code(trade_id, slot_id)
    async with db.transaction():
        state, after_lock = await _open_for_entry(trade_id)
        reason = _reason(reason, required=after_lock, code="locked_change_reason_required")
        if db.is_postgres():
            # Two chief-judge tablets recording the same contestant: the second waits and
            # updates. NO KEY UPDATE leaves the marks' foreign-key checks on the slot alone.
            await db.fetch_rows("SELECT id FROM draw_slot WHERE id = ? FOR NO KEY UPDATE", slot_id)
        old = (
            await CompletionTime.select(CompletionTime.id, CompletionTime.seconds)
            .where(CompletionTime.slot == slot_id)
            .first()
        )
        if old is not None and old["seconds"] == value:
            return "unchanged"
        if old is None:
            await CompletionTime.insert(
                CompletionTime(
                    slot=slot_id,
                    trade=trade_id,
                    seconds=value,
                    entered_by=actor.user_id,
                    entered_at=clock.now(),
                )
            )
        else:
            await CompletionTime.update(
                {
                    CompletionTime.seconds: value,
                    CompletionTime.entered_by: actor.user_id,
                    CompletionTime.entered_at: clock.now(),
                }
            ).where(CompletionTime.id == old["id"])
        await audit.record(
            "completion_time.set",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            old={"completion_time": format_duration(old["seconds"])} if old else None,
            new={
                "code": code,
                "completion_time": format_duration(value),
                "seconds": value,
                "after_lock": after_lock,
            },
            reason=reason,
        )
    if after_lock:
        await totals.recompute_entry(slot_id)
    return "saved"


# ---------------------------------------------------------------------------- reading


async def penalties_of(trade_id: int) -> list[PenaltyRow]:
    rows = await db.fetch_rows(
        "SELECT p.id, p.slot, d.code, d.judge_code, p.kind, p.hundredths, p.reason, "
        "u.display_name, p.entered_at FROM penalty p JOIN draw_slot d ON d.id = p.slot "
        "LEFT JOIN app_user u ON u.id = p.entered_by WHERE p.trade = ? ORDER BY p.id",
        trade_id,
    )
    return [PenaltyRow(r[0], r[1], r[3] or r[2], r[4], r[5], r[6], r[7] or "", r[8]) for r in rows]


async def completion_times_of(trade_id: int) -> dict[int, int]:
    rows = await db.fetch_rows(
        "SELECT slot, seconds FROM completion_time WHERE trade = ?", trade_id
    )
    return {r[0]: r[1] for r in rows}


def total_hundredths(penalties: list[PenaltyRow]) -> dict[int, int]:
    """Slot → the sum of its penalties."""
    totals: dict[int, int] = {}
    for p in penalties:
        totals[p.slot] = totals.get(p.slot, 0) + p.hundredths
    return totals
