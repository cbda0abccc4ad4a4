"""The trade's lock (成绩锁定) by its chief judge, what stands in its way, and a change after it.

The lock is refused while any sheet is unsigned (or unverified where verification is asked
for) or any mark is missing, with the list. After the lock a mark changes only through the
chief judge, with a reason, and the change lands in the marks' trail (`mark_change`, kind
"locked") and in the audit trail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from competition import audit, db
from competition.audit import Actor
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.stages import Mover, Stage
from scoring import totals
from scoring.sheets.marks import (
    json_list,
    parse_value,
    scheme_aspects,
    set_mark_in_transaction,
    sheet_facts,
)
from scoring.sheets.roster import current_scheme_id, ensure_sheets
from scoring.sheets.signing import Cell, chief_judge_of, missing_cells, slot_codes
from scoring.stages import move_in_transaction, trade_for_action, trade_state
from scoring.tables import DrawSlot, Judge, MarkChangeKind, ScoreSheet, SheetStatus

# The stages after the lock in which a mark may still change, by the chief judge with a reason
# (an appeal's ruling goes this way too).
CHANGE_AFTER_LOCK = frozenset({Stage.locked, Stage.decrypted, Stage.published})
REASON_MAX = 500


@dataclass
class SheetGap:
    sheet_id: int
    judge: str
    session: str
    status: str
    needs_verification: bool
    missing: list[Cell] = field(default_factory=list)


@dataclass
class LockReport:
    stage: Stage
    sheets: int
    gaps: list[SheetGap]

    @property
    def ready(self) -> bool:
        return self.sheets > 0 and not self.gaps

    @property
    def missing_marks(self) -> int:
        return sum(len(g.missing) for g in self.gaps)


async def lock_report(trade_id: int) -> LockReport:
    """Every sheet not done, with its missing marks."""
    state = await trade_state(trade_id)
    await ensure_sheets(trade_id, state.stage)
    rows = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.status,
            ScoreSheet.needs_verification,
            ScoreSheet.judge.name,
            ScoreSheet.session.code,
            ScoreSheet.session.name,
        )
        .where(ScoreSheet.trade == trade_id)
        .order_by(ScoreSheet.session.code)
        .order_by(ScoreSheet.judge.name)
    )
    gaps = []
    for row in rows:
        done = row["status"] == SheetStatus.verified.value or (
            row["status"] == SheetStatus.signed.value and not row["needs_verification"]
        )
        if done:
            continue
        gap = SheetGap(
            row["id"],
            row["judge.name"],
            f"{row['session.code']} {row['session.name']}",
            row["status"],
            row["needs_verification"],
        )
        if row["status"] not in (SheetStatus.signed.value, SheetStatus.verified.value):
            gap.missing = await missing_cells(await sheet_facts(row["id"]))
        gaps.append(gap)
    return LockReport(state.stage, len(rows), gaps)


class LockRefused(Conflict):
    default_code = "lock_refused"

    def __init__(self, report: LockReport) -> None:
        super().__init__(
            "The trade cannot be locked yet: {sheets} sheets are not done and {marks} marks "
            "are missing.",
            code="lock_refused",
            sheets=len(report.gaps),
            marks=report.missing_marks,
        )
        self.report = report


async def lock_trade(trade_id: int, *, actor: Actor) -> None:
    """The chief judge locks the trade's marks: refused with the list while anything is
    missing."""
    await chief_judge_of(trade_id, actor)
    report = await lock_report(trade_id)
    if report.stage == Stage.locked:
        return
    if not report.ready:
        raise LockRefused(report)
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage == Stage.competing:
            raise PhaseError(
                "The last sheet is being signed: reload the page and lock again.",
                code="lock_not_complete",
            )
        await move_in_transaction(state, Stage.locked, actor=actor, mover=Mover.chief_judge)
    # The locked marks' totals, which the review sample and the results read.
    await totals.recompute_trade(trade_id)


async def change_locked_mark(
    trade_id: int,
    *,
    slot_id: int,
    aspect_id: int,
    judge_id: int | None,
    value: str,
    reason: str,
    actor: Actor,
    device: str = "",
) -> str:
    """A mark changed after the lock: by the chief judge, with a reason. Returns "saved" or
    "unchanged"."""
    await chief_judge_of(trade_id, actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(
            "A change after the lock needs a reason.", code="locked_change_reason_required"
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            "The reason has at most {max} characters.", code="reason_long", max=REASON_MAX
        )
    scheme_id = await current_scheme_id(trade_id)
    aspect = (await scheme_aspects(scheme_id)).get(aspect_id) if scheme_id else None
    if aspect is None:
        raise NotFound("The aspect was not found.", code="aspect_not_found")
    slot = await DrawSlot.select(DrawSlot.trade).where(DrawSlot.id == slot_id).first()
    if slot is None or slot["trade"] != trade_id:
        raise NotFound("The contestant was not found.", code="slot_not_found")
    if aspect.is_judgement:
        if judge_id is None or not await _judge_scores(trade_id, judge_id, slot_id):
            raise ValidationFailed(
                "Choose the judge whose mark changes.", code="locked_change_judge"
            )
    else:
        judge_id = None
    hundredths = parse_value(aspect, value)
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage not in CHANGE_AFTER_LOCK:
            raise PhaseError(
                "This way of changing a mark is for after the lock; before it, return the "
                "sheet for a re-mark.",
                code="not_locked",
            )
        result, mark = await set_mark_in_transaction(
            trade_id=trade_id,
            slot_id=slot_id,
            aspect_id=aspect_id,
            judge_id=judge_id,
            value_hundredths=hundredths,
            client_id=f"locked-{uuid.uuid4()}",
            actor=actor,
            kind=MarkChangeKind.locked,
            device=device,
            reason=reason,
        )
        if result == "saved":
            codes = await slot_codes([slot_id])
            await audit.record(
                "mark.locked_change",
                actor=actor,
                object_type="trade",
                object_id=trade_id,
                competition_id=state.competition_id,
                new={
                    "code": codes.get(slot_id, ""),
                    "aspect": aspect.code,
                    "judge": judge_id,
                    "value": hundredths,
                    "version": mark.version,
                },
                reason=reason,
            )
    if result == "saved":
        await totals.recompute_entry(slot_id)
    return result


async def _judge_scores(trade_id: int, judge_id: int, slot_id: int) -> bool:
    """Whether the judge's sheet holds the slot (so their mark exists to be changed)."""
    for row in await ScoreSheet.select(ScoreSheet.slots).where(
        (ScoreSheet.trade == trade_id) & (ScoreSheet.judge == judge_id)
    ):
        if slot_id in json_list(row["slots"]):
            return True
    return False


async def judges_of_slot(trade_id: int, slot_id: int) -> list[dict[str, Any]]:
    """The judges whose sheets hold a slot (for the locked-change form)."""
    rows = await ScoreSheet.select(ScoreSheet.judge, ScoreSheet.slots, ScoreSheet.judge.name).where(
        ScoreSheet.trade == trade_id
    )
    out = []
    for row in rows:
        if slot_id in json_list(row["slots"]):
            out.append({"id": row["judge"], "name": row["judge.name"]})
    return out


async def judge_name(judge_id: int) -> str:
    row = await Judge.select(Judge.name).where(Judge.id == judge_id).first()
    return row["name"] if row else ""
