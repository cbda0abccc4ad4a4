"""Check-in desks (检录台): who may work the desk of a session, and the sessions with their counts.

An organizer of the competition works every desk. A check-in clerk (检录员, Role.checkin_clerk)
works the desks of the venue, or of the trade, their grant names, in that grant's competition
only, so a door can be staffed without an organizer account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition import catalogue, clock
from competition.accounts import Grant, Identity
from competition.errors import PermissionDenied
from competition.tables import EventKind, Role
from registration.tables import CheckIn, Entry, EntryStatus

DESK_ROLES = (Role.organizer, Role.checkin_clerk)


def _clerk_reaches(grant: Grant, session: dict[str, Any]) -> bool:
    if grant.competition_id != session["trade.competition"]:
        return False
    return (grant.venue_id is not None and grant.venue_id == session["venue"]) or (
        grant.trade_id is not None and grant.trade_id == session["trade"]
    )


def may_work(identity: Identity, session: dict[str, Any]) -> bool:
    """`session` as registration.checkin.session_info gives it."""
    for grant in identity.grants:
        if grant.role == Role.organizer and grant.competition_id in (
            None,
            session["trade.competition"],
        ):
            return True
        if grant.role == Role.checkin_clerk and _clerk_reaches(grant, session):
            return True
    return False


def works_as_clerk(identity: Identity, session: dict[str, Any]) -> bool:
    return any(_clerk_reaches(g, session) for g in identity.grants_for(Role.checkin_clerk))


def require_desk(identity: Identity, session: dict[str, Any]) -> None:
    if not may_work(identity, session):
        raise PermissionDenied(
            "You do not work the check-in desk of this session.", code="desk_forbidden"
        )


async def desk_counts(session: dict[str, Any]) -> dict[str, int]:
    """Checked in at this session / approved entries expected there: everyone of the trade
    sits its theory and oral sessions, and each their own practical one."""
    expected = Entry.count().where(
        (Entry.trade == session["trade"]) & (Entry.status == EntryStatus.approved)
    )
    if session["event"] == EventKind.practical:
        expected = expected.where(Entry.session == session["id"])
    return {
        "session_id": session["id"],
        "checked_in": await CheckIn.count().where(CheckIn.session == session["id"]),
        "expected": await expected,
    }


async def session_board(competition_id: int) -> list[dict[str, Any]]:
    """Every session of the competition with its counts and local day, in time order."""
    sessions = await catalogue.sessions(competition_id)
    by_trade: dict[int, int] = {}
    by_session: dict[int, int] = {}
    for row in (
        await Entry.select(Entry.trade, Entry.session, Count(alias="n"))
        .where((Entry.competition == competition_id) & (Entry.status == EntryStatus.approved))
        .group_by(Entry.trade, Entry.session)
    ):
        by_trade[row["trade"]] = by_trade.get(row["trade"], 0) + row["n"]
        if row["session"] is not None:
            by_session[row["session"]] = row["n"]
    checked = {
        row["session"]: row["n"]
        for row in await CheckIn.select(CheckIn.session, Count(alias="n"))
        .where(CheckIn.session.trade.competition == competition_id)
        .group_by(CheckIn.session)
    }
    for s in sessions:
        s["expected"] = (
            by_session.get(s["id"], 0)
            if s["event"] == EventKind.practical
            else by_trade.get(s["trade"], 0)
        )
        s["checked_in"] = checked.get(s["id"], 0)
        s["day"] = clock.local_time(s["starts_at"]).date()
    return sessions


def current(sessions: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """The sessions running now; if none, those starting next."""
    running = [s for s in sessions if s["starts_at"] <= now < s["ends_at"]]
    if running:
        return running
    upcoming = [s for s in sessions if s["starts_at"] > now]
    if not upcoming:
        return []
    first = min(s["starts_at"] for s in upcoming)
    return [s for s in upcoming if s["starts_at"] == first]


async def clerk_board(identity: Identity) -> list[dict[str, Any]]:
    """The sessions a check-in clerk works, each competition's in time order, with counts."""
    grants = identity.grants_for(Role.checkin_clerk)
    sessions: list[dict[str, Any]] = []
    for competition_id in sorted({g.competition_id for g in grants if g.competition_id}):
        for s in await session_board(competition_id):
            info = {**s, "trade.competition": competition_id}
            if any(_clerk_reaches(g, info) for g in grants):
                sessions.append(info)
    return sessions


def today_first(
    sessions: list[dict[str, Any]], today: dt.date
) -> tuple[list[dict[str, Any]], list[tuple[dt.date, list[dict[str, Any]]]]]:
    """Today's sessions, then the other days' (upcoming days first, past days last)."""
    todays = [s for s in sessions if s["day"] == today]
    days: dict[dt.date, list[dict[str, Any]]] = {}
    for s in sessions:
        if s["day"] != today:
            days.setdefault(s["day"], []).append(s)
    ordered = sorted(days.items(), key=lambda item: (item[0] < today, item[0]))
    return todays, ordered
