"""The demo's check-in and draws (检录与抽签): the demo competition moves to its check-in and
draw phase; in several trades the approved contestants are checked in at their session, one or
two are marked absent with a reason, check-in is closed and the draw is run (焊工 with a second
layer of codes). Idempotent: a trade already drawn is left as it is."""

from __future__ import annotations

import hashlib

from competition import services
from competition.audit import Actor
from competition.db import transaction
from competition.phases import FORWARD, Phase
from competition.stages import Stage
from competition.tables import Competition, CompetitionSession, EventKind, Trade
from registration import review
from registration.tables import CheckIn, Entry, EntryStatus
from scoring.draw import attendance, service
from scoring.stages import set_checkin_closed, trade_state
from scoring.tables import Attendance

DEMO_ACTOR = Actor(user_id=None, name="demo")
# The trades drawn in the demo, and the one whose judges get a second layer of codes.
DRAW_TRADES = ("T001", "T002", "T087", "T003", "T004")
SECOND_LAYER = "T001"
ABSENT_REASONS = ("病假，已提交医院证明", "交通延误，未能按时到场")
# Fixed seeds, so `make demo` draws the same codes every time (a real draw takes a random one).
SEED_SALT = "jiangxin-demo-draw"


WAITING_REASON = "报名材料审核期已结束，未完成审核"


async def _decide_waiting(competition_id: int) -> int:
    """The draw phase waits for every entry to be decided: the demo's entries still waiting are
    passed by their delegation and approved by the organizer (within the quotas); whatever the
    quotas refuse is rejected with a reason."""
    changes = 0
    waiting = await Entry.select(Entry.id, Entry.delegation).where(
        (Entry.competition == competition_id) & (Entry.status == EntryStatus.submitted.value)
    )
    by_delegation: dict[int, list[int]] = {}
    for row in waiting:
        by_delegation.setdefault(row["delegation"], []).append(row["id"])
    for delegation_id, ids in sorted(by_delegation.items()):
        outcome = await review.review_by_delegation(
            competition_id, delegation_id, ids, True, actor=DEMO_ACTOR
        )
        changes += len(outcome.done)
    for approve in (True, False):
        ids = [
            r["id"]
            for r in await Entry.select(Entry.id).where(
                (Entry.competition == competition_id)
                & Entry.status.is_in(
                    [EntryStatus.submitted.value, EntryStatus.delegation_approved.value]
                )
            )
        ]
        if not ids:
            break
        outcome = await review.review_by_organizer(
            competition_id, ids, approve, actor=DEMO_ACTOR,
            reason="" if approve else WAITING_REASON,
        )  # fmt: skip
        changes += len(outcome.done)
    return changes


async def _to_draw_phase(competition_id: int) -> int:
    row = (
        await Competition.select(Competition.phase).where(Competition.id == competition_id).first()
    )
    assert row is not None
    changes = 0
    phase = Phase(row["phase"])
    order = list(Phase)
    while order.index(phase) < order.index(Phase.draw):
        phase = FORWARD[phase]
        if phase == Phase.draw:
            changes += await _decide_waiting(competition_id)
        await services.advance_phase(competition_id, phase, DEMO_ACTOR, reason="demo data")
        changes += 1
    return changes


async def _check_in(trade_id: int) -> int:
    """Check in the approved contestants at their session, but the first one or two of the
    trade (by ticket), who are marked absent with a reason instead."""
    entries = (
        await Entry.select(Entry.id, Entry.session, Entry.ticket_number)
        .where((Entry.trade == trade_id) & (Entry.status == EntryStatus.approved.value))
        .order_by(Entry.ticket_number)
    )
    if not entries:
        return 0
    first = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(
            (CompetitionSession.trade == trade_id)
            & (CompetitionSession.event == EventKind.practical.value)
        )
        .order_by(CompetitionSession.starts_at)
        .first()
    )
    if first is None:
        return 0
    absent = entries[: 2 if len(entries) >= 6 else 1] if len(entries) >= 3 else []
    absent_ids = {e["id"] for e in absent}
    done = {r["entry"] for r in await CheckIn.select(CheckIn.entry).where(
        CheckIn.entry.is_in([e["id"] for e in entries])
    )}  # fmt: skip
    changes = 0
    async with transaction():
        for entry in entries:
            if entry["id"] in absent_ids or entry["id"] in done:
                continue
            nonce = hashlib.sha256(f"demo-checkin|{entry['id']}".encode()).hexdigest()
            await CheckIn.insert(
                CheckIn(entry=entry["id"], session=entry["session"] or first["id"], nonce=nonce)
            )
            changes += 1
    marked = {r["entry"] for r in await Attendance.select(Attendance.entry).where(
        Attendance.entry.is_in(sorted(absent_ids) or [0])
    )}  # fmt: skip
    state = await trade_state(trade_id)
    for n, entry in enumerate(absent):
        if entry["id"] not in marked:
            await attendance.mark_entry(
                state.competition_id, trade_id, entry["id"], False,
                ABSENT_REASONS[n % len(ABSENT_REASONS)], actor=DEMO_ACTOR,
            )  # fmt: skip
            changes += 1
    return changes


async def load_demo_draws(competition_id: int) -> int:
    """Check-in, absences, closed check-in and the draw for the demo's drawn trades; returns
    the records written."""
    changes = await _to_draw_phase(competition_id)
    trades = await Trade.select(Trade.id, Trade.code).where(
        (Trade.competition == competition_id) & Trade.code.is_in(list(DRAW_TRADES))
    )
    for trade in sorted(trades, key=lambda t: DRAW_TRADES.index(t["code"])):
        state = await trade_state(trade["id"])
        if state.stage != Stage.not_drawn:
            continue
        if not await Entry.exists().where(
            (Entry.trade == trade["id"]) & (Entry.status == EntryStatus.approved.value)
        ):
            continue
        changes += await _check_in(trade["id"])
        if state.checkin_closed_at is None:
            await set_checkin_closed(competition_id, [trade["id"]], True, actor=DEMO_ACTOR)
            changes += 1
        seed = hashlib.sha256(f"{SEED_SALT}|{trade['code']}".encode()).hexdigest()[:32]
        result = await service.run_draw(
            competition_id, trade["id"], actor=DEMO_ACTOR,
            second_layer=trade["code"] == SECOND_LAYER, seed=seed,
        )  # fmt: skip
        changes += 1 + result.present
    return changes
