"""Panels (裁判组): judges of the register assigned to a trade and to its sessions, one chief judge
(裁判长) a trade, each judge's load, and recusal (回避) applied to the trade's contestants.

Panel changes belong to the trade's stages before competing (`BEFORE_COMPETING`): once marks
may be given, who scores whom is fixed. Every change is audited, and the chief judge's
Role.chief_judge grant (scoped to the trade) follows the panel, since the core's access checks
and menus read grants.

Who would score a contestant without recusal: the judges of the contestant's session (the
draw's session after the draw, the session given at admission before it); when a session has
no judges of its own yet, the whole panel — a trade that does not split its panel judges every
session with all of it. Recusal (`recusal.py`) then removes the conflicted ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition import audit
from competition.audit import Actor
from competition.db import is_integrity_error, transaction
from competition.errors import Conflict, DomainError, NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.stages import BEFORE_COMPETING
from competition.tables import CompetitionSession, EventKind, Role, RoleGrant, Trade
from registration.tables import Entry, EntryStatus
from scoring.panels.recusal import (
    Allocation,
    ContestantFacts,
    JudgeFacts,
    Reason,
    Shortfall,
    allocate,
    employer_key,
    shortfalls,
)
from scoring.stages import require_trade_stage
from scoring.tables import Aspect, DrawSlot, Judge, MarkingScheme, PanelMember, SessionJudge

REASON_LABELS: dict[Reason, Msg] = {
    Reason.delegation: N_("same delegation"),
    Reason.employer: N_("same employer"),
}
CHANGE_PANEL = N_("Change the panel")
# Sessions a new panel member judges unless the organizer says otherwise: the theory exam is
# not marked by the panel.
JUDGED_EVENTS = (EventKind.practical.value, EventKind.oral.value)


# ---------------------------------------------------------------------------- changes


@asynccontextmanager
async def _panel_change():
    """One panel change in its own transaction. Two organizers changing the same panel at the
    same moment meet at a unique index; the second is told so (409), not shown a server
    error."""
    try:
        async with transaction():
            yield
    except DomainError:
        raise
    except Exception as exc:
        if is_integrity_error(exc):
            raise Conflict(
                "The panel was changed at the same moment by someone else; reload the page and "
                "try again.",
                code="panel_changed",
            ) from exc
        raise


async def lock_trade_for_panel(competition_id: int, trade_id: int):
    """The trade read for a panel change inside the caller's transaction, refused (409)
    unless it is before competing, or 404 when it is not of this competition."""
    state = await require_trade_stage(trade_id, BEFORE_COMPETING, CHANGE_PANEL)
    if state.competition_id != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return state


async def _judge(competition_id: int, judge_id: int) -> dict[str, Any]:
    row = (
        await Judge.select(Judge.id, Judge.name, Judge.user)
        .where((Judge.id == judge_id) & (Judge.competition == competition_id))
        .first()
    )
    if row is None:
        raise NotFound("The judge was not found.", code="judge_not_found")
    return row


async def _member(trade_id: int, judge_id: int) -> dict[str, Any] | None:
    return (
        await PanelMember.select()
        .where((PanelMember.trade == trade_id) & (PanelMember.judge == judge_id))
        .first()
    )


async def judged_sessions_of(trade_ids: list[int]) -> dict[int, list[int]]:
    """Each trade's sessions a new panel member judges by default."""
    result: dict[int, list[int]] = {}
    if not trade_ids:
        return result
    for row in (
        await CompetitionSession.select(CompetitionSession.id, CompetitionSession.trade)
        .where(
            CompetitionSession.trade.is_in(trade_ids)
            & CompetitionSession.event.is_in(JUDGED_EVENTS)
        )
        .order_by(CompetitionSession.id)
    ):
        result.setdefault(row["trade"], []).append(row["id"])
    return result


async def add_member_in_transaction(
    competition_id: int,
    trade_id: int,
    judge_id: int,
    *,
    actor: Actor,
    chief: bool = False,
    session_ids: Iterable[int] | None = None,
) -> bool:
    """Put a judge on the trade's panel (and, by default, on its judged sessions). False when
    they already were (the chief flag is then applied alone)."""
    state = await lock_trade_for_panel(competition_id, trade_id)
    judge = await _judge(competition_id, judge_id)
    if await _member(trade_id, judge_id) is not None:
        if chief:
            await _make_chief(state.competition_id, trade_id, judge, actor=actor)
        return False
    await PanelMember.insert(PanelMember(trade=trade_id, judge=judge_id, is_chief=False))
    sessions = (
        list(session_ids)
        if session_ids is not None
        else (await judged_sessions_of([trade_id])).get(trade_id, [])
    )
    await _write_sessions(trade_id, judge_id, sessions)
    await audit.record(
        "panel.add",
        actor=actor,
        object_type="trade",
        object_id=trade_id,
        competition_id=competition_id,
        new={"judge": judge_id, "name": judge["name"], "sessions": sorted(sessions)},
    )
    if chief:
        await _make_chief(competition_id, trade_id, judge, actor=actor)
    return True


async def add_member(
    competition_id: int, trade_id: int, judge_id: int, *, actor: Actor, chief: bool = False
) -> None:
    async with _panel_change():
        if (
            not await add_member_in_transaction(
                competition_id, trade_id, judge_id, actor=actor, chief=chief
            )
            and not chief
        ):
            raise Conflict("The judge is already on this panel.", code="panel_member_exists")


async def _chief_of(trade_id: int) -> dict[str, Any] | None:
    return (
        await PanelMember.select(PanelMember.judge, PanelMember.judge.name)
        .where((PanelMember.trade == trade_id) & (PanelMember.is_chief == True))  # noqa: E712
        .first()
    )


async def _make_chief(
    competition_id: int, trade_id: int, judge: dict[str, Any], *, actor: Actor
) -> None:
    current = await _chief_of(trade_id)
    if current is not None:
        if current["judge"] == judge["id"]:
            return
        raise Conflict(
            "The trade already has a chief judge, {name}. A trade has one chief judge: make "
            "{name} an ordinary member first.",
            code="second_chief_judge",
            name=current["judge.name"],
        )
    try:
        await PanelMember.update({PanelMember.is_chief: True}).where(
            (PanelMember.trade == trade_id) & (PanelMember.judge == judge["id"])
        )
    except Exception as exc:
        # A chief set at the same moment by someone else: the unique index keeps one.
        if is_integrity_error(exc):
            raise Conflict(
                "The trade already has a chief judge.", code="second_chief_judge", name=""
            ) from exc
        raise
    if not await RoleGrant.exists().where(
        (RoleGrant.user == judge["user"])
        & (RoleGrant.role == Role.chief_judge.value)
        & (RoleGrant.trade == trade_id)
    ):
        await RoleGrant.insert(
            RoleGrant(
                user=judge["user"],
                role=Role.chief_judge.value,
                competition=competition_id,
                trade=trade_id,
            )
        )
    await audit.record(
        "panel.chief",
        actor=actor,
        object_type="trade",
        object_id=trade_id,
        competition_id=competition_id,
        old={"chief": None},
        new={"chief": judge["id"], "name": judge["name"]},
    )


async def _drop_chief(
    competition_id: int, trade_id: int, judge: dict[str, Any], *, actor: Actor
) -> None:
    await PanelMember.update({PanelMember.is_chief: False}).where(
        (PanelMember.trade == trade_id) & (PanelMember.judge == judge["id"])
    )
    await RoleGrant.delete().where(
        (RoleGrant.user == judge["user"])
        & (RoleGrant.role == Role.chief_judge.value)
        & (RoleGrant.trade == trade_id)
    )
    await audit.record(
        "panel.chief",
        actor=actor,
        object_type="trade",
        object_id=trade_id,
        competition_id=competition_id,
        old={"chief": judge["id"], "name": judge["name"]},
        new={"chief": None},
    )


async def set_chief(
    competition_id: int, trade_id: int, judge_id: int, chief: bool, *, actor: Actor
) -> None:
    """Make a panel member the trade's chief judge, or an ordinary member again. A second
    chief is refused (409) with the first one's name."""
    async with _panel_change():
        await lock_trade_for_panel(competition_id, trade_id)
        judge = await _judge(competition_id, judge_id)
        member = await _member(trade_id, judge_id)
        if member is None:
            raise NotFound("The judge is not on this panel.", code="panel_member_not_found")
        if chief:
            await _make_chief(competition_id, trade_id, judge, actor=actor)
        elif member["is_chief"]:
            await _drop_chief(competition_id, trade_id, judge, actor=actor)


async def remove_member(competition_id: int, trade_id: int, judge_id: int, *, actor: Actor) -> None:
    async with _panel_change():
        await lock_trade_for_panel(competition_id, trade_id)
        judge = await _judge(competition_id, judge_id)
        member = await _member(trade_id, judge_id)
        if member is None:
            raise NotFound("The judge is not on this panel.", code="panel_member_not_found")
        if member["is_chief"]:
            await _drop_chief(competition_id, trade_id, judge, actor=actor)
        sessions = await _sessions_of(trade_id, judge_id)
        await _write_sessions(trade_id, judge_id, [])
        await PanelMember.delete().where(PanelMember.id == member["id"])
        await audit.record(
            "panel.remove",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=competition_id,
            old={"judge": judge_id, "name": judge["name"], "sessions": sessions},
        )


async def _sessions_of(trade_id: int, judge_id: int) -> list[int]:
    rows = await SessionJudge.select(SessionJudge.session).where(
        (SessionJudge.judge == judge_id) & (SessionJudge.session.trade == trade_id)
    )
    return sorted(r["session"] for r in rows)


async def _write_sessions(trade_id: int, judge_id: int, session_ids: list[int]) -> None:
    own = {
        r["id"]
        for r in await CompetitionSession.select(CompetitionSession.id).where(
            CompetitionSession.trade == trade_id
        )
    }
    if set(session_ids) - own:
        raise ValidationFailed("Choose sessions of this trade.", code="session_not_of_trade")
    if own:
        await SessionJudge.delete().where(
            (SessionJudge.judge == judge_id) & SessionJudge.session.is_in(sorted(own))
        )
    for session_id in sorted(set(session_ids)):
        await SessionJudge.insert(SessionJudge(session=session_id, judge=judge_id))


async def set_sessions(
    competition_id: int, trade_id: int, judge_id: int, session_ids: Iterable[int], *, actor: Actor
) -> None:
    """The sessions of the trade a panel member judges (the others' are untouched)."""
    chosen = sorted(set(session_ids))
    async with _panel_change():
        await lock_trade_for_panel(competition_id, trade_id)
        judge = await _judge(competition_id, judge_id)
        if await _member(trade_id, judge_id) is None:
            raise NotFound("The judge is not on this panel.", code="panel_member_not_found")
        before = await _sessions_of(trade_id, judge_id)
        if before == chosen:
            return
        await _write_sessions(trade_id, judge_id, chosen)
        await audit.record(
            "panel.sessions",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=competition_id,
            old={"judge": judge_id, "name": judge["name"], "sessions": before},
            new={"judge": judge_id, "name": judge["name"], "sessions": chosen},
        )


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Contestant:
    id: int  # slot id after the draw, entry id before
    session_id: int | None
    code: str  # the draw's code ("" before the draw)
    name: str  # the person's name; shown to the organizer before the draw only
    facts: ContestantFacts


async def contestants(trade_id: int) -> tuple[bool, list[Contestant]]:
    """(drawn, contestants): the draw's slots when the trade is drawn, else its admitted
    entries with the session given at admission."""
    slots = (
        await DrawSlot.select(
            DrawSlot.id,
            DrawSlot.session,
            DrawSlot.code,
            DrawSlot.judge_code,
            DrawSlot.entry.delegation,
            DrawSlot.entry.person.employer,
        )
        .where(DrawSlot.trade == trade_id)
        .order_by(DrawSlot.code)
    )
    if slots:
        return True, [
            Contestant(
                s["id"],
                s["session"],
                s["judge_code"] or s["code"],
                "",
                ContestantFacts(
                    s["id"], s["entry.delegation"], employer_key(s["entry.person.employer"])
                ),
            )
            for s in slots
        ]
    entries = (
        await Entry.select(
            Entry.id,
            Entry.session,
            Entry.delegation,
            Entry.person.name,
            Entry.person.employer,
        )
        .where((Entry.trade == trade_id) & (Entry.status == EntryStatus.approved.value))
        .order_by(Entry.id)
    )
    return False, [
        Contestant(
            e["id"],
            e["session"],
            "",
            e["person.name"],
            ContestantFacts(e["id"], e["delegation"], employer_key(e["person.employer"])),
        )
        for e in entries
    ]


@dataclass
class PanelFacts:
    members: list[dict[str, Any]]  # judge rows with is_chief and their sessions of the trade
    sessions: list[dict[str, Any]]
    judges: dict[int, JudgeFacts]
    session_judges: dict[int, list[int]]  # session → judge ids (panel members only)


async def panel_facts(trade_id: int) -> PanelFacts:
    members = (
        await PanelMember.select(
            PanelMember.judge,
            PanelMember.is_chief,
            PanelMember.judge.name,
            PanelMember.judge.employer,
            PanelMember.judge.employer_key,
            PanelMember.judge.qualification,
            PanelMember.judge.delegation,
            PanelMember.judge.delegation.name,
            PanelMember.judge.user,
        )
        .where(PanelMember.trade == trade_id)
        .order_by(PanelMember.is_chief, ascending=False)
        .order_by(PanelMember.judge.name)
    )
    sessions = await (
        CompetitionSession.select(
            CompetitionSession.id,
            CompetitionSession.code,
            CompetitionSession.name,
            CompetitionSession.event,
            CompetitionSession.starts_at,
            CompetitionSession.ends_at,
            CompetitionSession.venue.name,
        )
        .where(CompetitionSession.trade == trade_id)
        .order_by(CompetitionSession.starts_at)
        .order_by(CompetitionSession.code)
    )
    member_ids = {m["judge"] for m in members}
    session_judges: dict[int, list[int]] = {s["id"]: [] for s in sessions}
    if sessions:
        for row in await SessionJudge.select(SessionJudge.session, SessionJudge.judge).where(
            SessionJudge.session.is_in(list(session_judges))
        ):
            if row["judge"] in member_ids:
                session_judges[row["session"]].append(row["judge"])
    judges = {
        m["judge"]: JudgeFacts(m["judge"], m["judge.delegation"], m["judge.employer_key"])
        for m in members
    }
    for m in members:
        m["sessions"] = [s for s, ids in session_judges.items() if m["judge"] in ids]
    return PanelFacts(members, sessions, judges, session_judges)


def _judges_of(facts: PanelFacts, people: list[Contestant]) -> dict[int, list[JudgeFacts]]:
    whole_panel = list(facts.judges.values())
    result = {}
    for person in people:
        ids = facts.session_judges.get(person.session_id or -1) or []
        result[person.id] = [facts.judges[i] for i in ids] if ids else whole_panel
    return result


async def scheme_needs(trade_id: int) -> list[tuple[str, int]] | None:
    """The current scheme's (aspect code, judges needed), or None without a scheme."""
    scheme = (
        await MarkingScheme.select(MarkingScheme.id)
        .where((MarkingScheme.trade == trade_id) & (MarkingScheme.is_current == True))  # noqa: E712
        .order_by(MarkingScheme.version, ascending=False)
        .first()
    )
    if scheme is None:
        return None
    rows = (
        await Aspect.select(Aspect.code, Aspect.judges_needed)
        .where(Aspect.scheme == scheme["id"])
        .order_by(Aspect.sort_order)
        .order_by(Aspect.code)
    )
    return [(r["code"], r["judges_needed"]) for r in rows]


@dataclass
class RecusalReport:
    drawn: bool
    contestants: list[Contestant]
    allocation: Allocation
    shortfalls: list[Shortfall]
    needs: list[tuple[str, int]] | None
    facts: PanelFacts
    # Aspects needing more judges than a session has at all (recusal or not).
    thin_sessions: list[dict[str, Any]] = field(default_factory=list)

    def label(self, contestant_id: int, *, names: bool) -> str:
        person = self._by_id[contestant_id]
        if self.drawn:
            return person.code
        return person.name if names else ""

    def __post_init__(self) -> None:
        self._by_id = {c.id: c for c in self.contestants}

    @property
    def skipped_count(self) -> int:
        return sum(len(s) for s in self.allocation.skipped.values())


async def recusal_report(trade_id: int) -> RecusalReport:
    drawn, people = await contestants(trade_id)
    facts = await panel_facts(trade_id)
    allocation = allocate((p.facts for p in people), _judges_of(facts, people))
    needs = await scheme_needs(trade_id)
    short = shortfalls(allocation, needs or [])
    thin = []
    most = max((n for _, n in needs or []), default=0)
    counts = Counter(p.session_id for p in people)
    for session in facts.sessions:
        size = len(facts.session_judges[session["id"]]) or len(facts.judges)
        if counts.get(session["id"]) and size < most:
            thin.append({"session": session, "judges": size, "needed": most})
    return RecusalReport(drawn, people, allocation, short, needs, facts, thin)


async def judges_for_trade_slots(trade_id: int) -> tuple[list[Contestant], dict[int, list[int]]]:
    """The trade's drawn contestants and, for each draw slot, the judges who may score it (the
    score sheets are made from this, `scoring/sheets/roster.py`). No slots before the draw."""
    drawn, people = await contestants(trade_id)
    if not drawn:
        return [], {}
    facts = await panel_facts(trade_id)
    return people, allocate((p.facts for p in people), _judges_of(facts, people)).allowed


async def judges_for_slots(session_id: int) -> dict[int, list[int]]:
    """For the score sheets: each draw slot of a session → the judges who may score it (the
    session's judges, or the whole panel, less those recused)."""
    session = (
        await CompetitionSession.select(CompetitionSession.trade)
        .where(CompetitionSession.id == session_id)
        .first()
    )
    if session is None:
        raise NotFound("The session was not found.", code="session_not_found")
    drawn, people = await contestants(session["trade"])
    people = [p for p in people if drawn and p.session_id == session_id]
    facts = await panel_facts(session["trade"])
    return allocate((p.facts for p in people), _judges_of(facts, people)).allowed


async def may_score(judge_id: int, slot_id: int) -> bool:
    """Whether a judge may score one draw slot (a sheet's check before it takes a mark)."""
    slot = await DrawSlot.select(DrawSlot.session).where(DrawSlot.id == slot_id).first()
    if slot is None:
        return False
    return judge_id in (await judges_for_slots(slot["session"])).get(slot_id, [])


async def judge_loads(judge_ids: list[int]) -> dict[int, dict[str, int]]:
    """Judges' load: trades, sessions, and contestants in those sessions (the draw's after it,
    the admitted ones before). Counted in the database, for the judges asked about only."""
    loads = {j: {"trades": 0, "sessions": 0, "contestants": 0} for j in judge_ids}
    if not judge_ids:
        return loads
    for row in (
        await PanelMember.select(PanelMember.judge, Count(alias="n"))
        .where(PanelMember.judge.is_in(judge_ids))
        .group_by(PanelMember.judge)
    ):
        loads[row["judge"]]["trades"] = row["n"]
    assigned = await SessionJudge.select(
        SessionJudge.session, SessionJudge.judge, SessionJudge.session.trade
    ).where(SessionJudge.judge.is_in(judge_ids))
    session_ids = sorted({r["session"] for r in assigned})
    per_session: Counter[int] = Counter()
    drawn: set[int] = set()
    if session_ids:
        for row in (
            await DrawSlot.select(DrawSlot.session, Count(alias="n"))
            .where(DrawSlot.session.is_in(session_ids))
            .group_by(DrawSlot.session)
        ):
            per_session[row["session"]] = row["n"]
        drawn = {
            r["trade"]
            for r in await DrawSlot.select(DrawSlot.trade)
            .where(DrawSlot.trade.is_in(sorted({r["session.trade"] for r in assigned})))
            .distinct()
        }
        drawn_sessions = {r["session"] for r in assigned if r["session.trade"] in drawn}
        undrawn = [s for s in session_ids if s not in drawn_sessions]
        if undrawn:
            for row in (
                await Entry.select(Entry.session, Count(alias="n"))
                .where(Entry.session.is_in(undrawn) & (Entry.status == EntryStatus.approved.value))
                .group_by(Entry.session)
            ):
                per_session[row["session"]] = row["n"]
    for row in assigned:
        load = loads[row["judge"]]
        load["sessions"] += 1
        load["contestants"] += per_session.get(row["session"], 0)
    return loads


async def overview(competition_id: int) -> list[dict[str, Any]]:
    """Every trade: its stage, panel size, chief judge, sessions without judges."""
    trades = (
        await Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage)
        .where(Trade.competition == competition_id)
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )
    members = await PanelMember.select(
        PanelMember.trade, PanelMember.is_chief, PanelMember.judge.name
    ).where(PanelMember.trade.competition == competition_id)
    sessions = await CompetitionSession.select(
        CompetitionSession.id, CompetitionSession.trade, CompetitionSession.event
    ).where(CompetitionSession.trade.competition == competition_id)
    staffed = {
        r["session"]
        for r in await SessionJudge.select(SessionJudge.session).where(
            SessionJudge.session.trade.competition == competition_id
        )
    }
    size: Counter[int] = Counter()
    chief: dict[int, str] = {}
    for m in members:
        size[m["trade"]] += 1
        if m["is_chief"]:
            chief[m["trade"]] = m["judge.name"]
    unstaffed: Counter[int] = Counter()
    for s in sessions:
        if s["event"] in JUDGED_EVENTS and s["id"] not in staffed:
            unstaffed[s["trade"]] += 1
    for t in trades:
        t["panel"] = size.get(t["id"], 0)
        t["chief"] = chief.get(t["id"], "")
        t["unstaffed"] = unstaffed.get(t["id"], 0)
    return trades
