"""Each trade's stage, read and moved: the services around the pure machine in
`competition/stages.py`.

Every scoring verb that depends on a trade's stage reads it with `trade_for_action` inside its
own transaction (on PostgreSQL the trade row FOR SHARE, as `competition_for_action` does for the
phase), so no draw, scheme change or panel change lands in a stage that has just ended. A move
locks the row FOR UPDATE and leaves an audit record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from competition import audit
from competition.audit import Actor
from competition.db import fetch_rows, in_transaction, is_postgres, transaction
from competition.errors import NotFound, PhaseError
from competition.i18n import N_, Msg
from competition.phases import Phase
from competition.stages import (
    MOVER_LABELS,
    STAGE_LABELS,
    Mover,
    Stage,
    TradeFacts,
    check_move,
    move_refusal,
    mover_of,
    require_stage,
    stage_of,
)
from competition.tables import Trade
from scoring.tables import Aspect, Mark, ScoreSheet


@dataclass(frozen=True)
class TradeState:
    trade_id: int
    competition_id: int
    code: str
    name: str
    stage: Stage
    phase: Phase
    checkin_closed_at: dt.datetime | None


# The trade and its competition's phase as plain statements: every scoring action reads them
# first, and a Piccolo select with a join costs about a millisecond to build.
_STATE_SQL = (
    "SELECT t.id, t.competition, t.code, t.name, t.stage, t.checkin_closed_at, c.phase "
    "FROM trade t JOIN competition c ON c.id = t.competition "
)
_LOCKS = {"SHARE": " FOR SHARE OF t", "UPDATE": " FOR UPDATE OF t"}


def _state(row: tuple) -> TradeState:
    trade, competition, code, name, stage, closed_at, phase = row
    return TradeState(trade, competition, code, name, Stage(stage), Phase(phase), closed_at)


async def _read_state(trade_id: int, lock: str | None = None) -> TradeState:
    sql = _STATE_SQL + "WHERE t.id = ?" + (_LOCKS[lock] if lock else "")
    rows = await fetch_rows(sql, trade_id)
    if not rows:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return _state(rows[0])


async def trade_state(trade_id: int) -> TradeState:
    return await _read_state(trade_id)


async def trade_for_action(trade_id: int, *, lock: str = "SHARE") -> TradeState:
    """The trade's stage (and its competition's phase) for an action that depends on them,
    read inside the action's transaction: FOR SHARE on PostgreSQL (FOR UPDATE for a move)."""
    if is_postgres() and in_transaction():
        # The competition row first: a phase change waits for the action, and the other way.
        await fetch_rows(
            "SELECT 1 FROM competition WHERE id = (SELECT competition FROM trade WHERE id = ?) "
            "FOR SHARE",
            trade_id,
        )
        return await _read_state(trade_id, lock)
    return await _read_state(trade_id)


async def require_trade_stage(trade_id: int, allowed: frozenset[Stage], action: Msg) -> TradeState:
    """Refuse `action` unless the trade is in one of the `allowed` stages; call it inside the
    action's transaction."""
    state = await trade_for_action(trade_id)
    require_stage(state.stage, allowed, action)
    return state


async def trades_of(competition_id: int) -> list[TradeState]:
    rows = await fetch_rows(
        _STATE_SQL + "WHERE t.competition = ? ORDER BY t.sort_order, t.code", competition_id
    )
    return [_state(row) for row in rows]


async def marks_exist(trade_id: int) -> bool:
    return await Mark.exists().where(
        Mark.aspect.is_in(Aspect.select(Aspect.id).where(Aspect.scheme.trade == trade_id))
    )


# Checks a later part of scoring adds to a move into a stage (e.g. the review sample before
# "published", scoring/review/), registered when that part is imported: each returns why the
# move is refused, or None. This module never imports them, so nothing here depends upward.
StageCheck = Callable[[TradeState], Awaitable[Msg | None]]
_ENTRY_CHECKS: dict[Stage, list[StageCheck]] = {}


def register_entry_check(stage: Stage, check: StageCheck) -> None:
    """Refuse moves into `stage` for the reason `check` gives (once per check)."""
    checks = _ENTRY_CHECKS.setdefault(stage, [])
    if check not in checks:
        checks.append(check)


async def entry_refusal(state: TradeState, target: Stage) -> Msg | None:
    for check in _ENTRY_CHECKS.get(target, []):
        refusal = await check(state)
        if refusal is not None:
            return refusal
    return None


async def _facts(state: TradeState, target: Stage) -> TradeFacts:
    # Whether marks exist decides only the way back from competing (a query of the trade's
    # marks, not made for every other move: the draw of 102 trades made it 102 times).
    back_from_competing = state.stage == Stage.competing and target == Stage.drawn
    return TradeFacts(
        phase=state.phase,
        marks_exist=back_from_competing and await marks_exist(state.trade_id),
        checkin_closed=state.checkin_closed_at is not None,
    )


async def move_in_transaction(
    state: TradeState, target: Stage, *, actor: Actor, mover: Mover, reason: str = ""
) -> TradeState:
    """Move a trade already read with `trade_for_action(…, lock="UPDATE")` inside the caller's
    transaction (the draw moves its trade to "drawn" with the draw itself)."""
    target = check_move(state.stage, target, await _facts(state, stage_of(target)))
    if mover_of(state.stage, target) != mover:
        raise PhaseError("This move of the trade is not taken here.", code="stage_move_elsewhere")
    refusal = await entry_refusal(state, target)
    if refusal is not None:
        raise PhaseError(str(refusal), code="stage_entry_refused", **refusal.params)
    await Trade.update({Trade.stage: target.value}).where(Trade.id == state.trade_id)
    if state.stage == Stage.competing and target == Stage.drawn:
        # Back before competing (only while no mark exists): the panel may change again, and
        # the sheets are made anew from it when the trade competes again.
        await ScoreSheet.delete().where(ScoreSheet.trade == state.trade_id)
    await audit.record(
        "trade.stage",
        actor=actor,
        object_type="trade",
        object_id=state.trade_id,
        competition_id=state.competition_id,
        old={"stage": state.stage.value},
        new={"stage": target.value},
        reason=reason,
    )
    return TradeState(**{**state.__dict__, "stage": target})


async def move_trade(
    trade_id: int, target: Stage | str, *, actor: Actor, mover: Mover, reason: str = ""
) -> TradeState:
    async with transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        return await move_in_transaction(
            state, Stage(target), actor=actor, mover=mover, reason=reason
        )


async def _trade_of(competition_id: int, trade_id: int) -> TradeState | None:
    """The trade locked for a move, or None when it is not one of this competition's (a stale
    or forged tick: skipped, the others still move)."""
    try:
        state = await trade_for_action(trade_id, lock="UPDATE")
    except NotFound:
        return None
    return state if state.competition_id == competition_id else None


@dataclass(frozen=True)
class MoveOutcome:
    trade_id: int
    code: str
    name: str
    moved: bool
    reason: Msg | None = None  # why not, when not moved


async def move_trades(
    competition_id: int, trade_ids: Iterable[int], target: Stage | str, *, actor: Actor
) -> list[MoveOutcome]:
    """The organizer's move of several trades at once: each trade moves in its own transaction
    or is refused with its reason; one refusal does not hold back the others."""
    target = Stage(target)
    outcomes = []
    for trade_id in dict.fromkeys(trade_ids):
        async with transaction():
            state = await _trade_of(competition_id, trade_id)
            if state is None:
                continue
            refusal = move_refusal(state.stage, target, await _facts(state, stage_of(target)))
            if refusal is None and mover_of(state.stage, target) != Mover.organizer:
                refusal = _taken_elsewhere(state.stage, target)
            if refusal is None:
                refusal = await entry_refusal(state, target)
            if refusal is None:
                await move_in_transaction(state, target, actor=actor, mover=Mover.organizer)
            outcomes.append(MoveOutcome(trade_id, state.code, state.name, refusal is None, refusal))
    return outcomes


def _taken_elsewhere(current: Stage, target: Stage) -> Msg:
    mover = mover_of(current, target)
    return N_(
        "The move to “{target}” is taken by {mover}, not on this page.",
        target=STAGE_LABELS[target],
        mover=MOVER_LABELS[mover] if mover else "",
    )


async def set_checkin_closed(
    competition_id: int, trade_ids: Iterable[int], closed: bool, *, actor: Actor
) -> list[MoveOutcome]:
    """Close (or reopen) check-in (检录) of trades that have not drawn: who is present is then
    final and the draw may run."""
    outcomes = []
    now = dt.datetime.now(dt.UTC)
    for trade_id in dict.fromkeys(trade_ids):
        async with transaction():
            state = await _trade_of(competition_id, trade_id)
            if state is None:
                continue
            refusal: Msg | None = None
            if state.stage != Stage.not_drawn:
                refusal = N_(
                    "The trade is in the stage “{stage}”: its check-in can no longer change.",
                    stage=STAGE_LABELS[state.stage],
                )
            elif (state.checkin_closed_at is not None) == closed:
                refusal = (
                    N_("Check-in of the trade is already closed.")
                    if closed
                    else N_("Check-in of the trade is already open.")
                )
            if refusal is None:
                await Trade.update({Trade.checkin_closed_at: now if closed else None}).where(
                    Trade.id == trade_id
                )
                await audit.record(
                    "trade.checkin_closed" if closed else "trade.checkin_reopened",
                    actor=actor,
                    object_type="trade",
                    object_id=trade_id,
                    competition_id=competition_id,
                    old={"checkin_closed_at": state.checkin_closed_at},
                    new={"checkin_closed_at": now if closed else None},
                )
            outcomes.append(MoveOutcome(trade_id, state.code, state.name, refusal is None, refusal))
    return outcomes
