"""Check-in (检录): a scanned admission ticket becomes a check-in for one session.

Answers, rather than errors, for the things that happen at a venue door: a second scan of the
same ticket says when it was first checked in; a request retried with the same nonce (a flaky
network) is answered from the first one and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from competition import audit
from competition.audit import Actor
from competition.db import is_integrity_error, transaction
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import Phase
from competition.tables import CompetitionSession, EventKind
from registration import tokens
from registration.tables import CheckIn, Entry, EntryStatus

CHECK_IN_PHASES = frozenset({Phase.draw, Phase.competing})
NONCE_MAX = 64


@dataclass(frozen=True)
class CheckInResult:
    outcome: str  # "checked_in", "already", "refused"
    message: Msg
    checked_in_at: dt.datetime | None = None
    entry_id: int | None = None
    name: str = ""
    trade: str = ""
    ticket_number: str = ""
    delegation: str = ""
    has_photo: bool = False


def _refused(message: Msg, **contestant) -> CheckInResult:
    return CheckInResult(outcome="refused", message=message, **contestant)


# The two lookups of every scan in SQL of their own: Piccolo spends ~2 ms of CPU building a
# select with joins, a tenth of the whole budget of a scan (bench/checkin.py).
_SESSION_SQL = (
    "SELECT s.id, s.trade, s.venue, s.code, s.name, s.event, s.starts_at, s.ends_at, "
    't.competition AS "trade.competition", c.phase AS "trade.competition.phase", '
    't.name AS "trade.name", v.name AS "venue.name" '
    "FROM competition_session s "
    "JOIN trade t ON t.id = s.trade "
    "JOIN competition c ON c.id = t.competition "
    "JOIN venue v ON v.id = s.venue "
    "WHERE s.id = {}"
)
_ENTRY_SQL = (
    'SELECT e.id, e.status, e.trade, e."session", es.name AS "session.name", e.ticket_number, '
    'e.ticket_version, e.review_note, e.person, p.name AS "person.name", '
    't.name AS "trade.name", d.name AS "delegation.name", '
    "EXISTS (SELECT 1 FROM photo ph WHERE ph.person = e.person) AS has_photo "
    "FROM entry e "
    "JOIN person p ON p.id = e.person "
    "JOIN trade t ON t.id = e.trade "
    "JOIN delegation d ON d.id = e.delegation "
    'LEFT JOIN competition_session es ON es.id = e."session" '
    "WHERE e.id = {}"
)


async def session_info(session_id: int) -> dict:
    rows = await CompetitionSession.raw(_SESSION_SQL, session_id)
    if not rows:
        raise NotFound("The session was not found.", code="session_not_found")
    return rows[0]


async def redeem_ticket(token: str, session_id: int, nonce: str, *, actor: Actor) -> CheckInResult:
    nonce = nonce.strip()
    if not nonce or len(nonce) > NONCE_MAX:
        raise ValidationFailed("The scan request is missing its nonce.", code="nonce_missing")
    try:
        claim = tokens.verify(token)
    except DomainError:
        claim = None
    try:
        # One transaction, so one connection for the whole scan: on SQLite every statement
        # outside a transaction opens a connection of its own.
        async with transaction():
            return await _redeem(claim, session_id, nonce, actor)
    except Exception as exc:
        if claim is None or not is_integrity_error(exc):
            raise
    # Another scanner won the race for this ticket, or this nonce was just used.
    replay = await _replay(nonce)
    if replay is not None:
        return replay
    previous = await _previous(claim.entry_id, session_id)
    return CheckInResult(
        outcome="already",
        message=N_("Already checked in at {time}."),
        checked_in_at=previous["checked_in_at"] if previous else None,
        **_contestant(await _entry(claim.entry_id)),
    )


async def _redeem(
    claim: tokens.TicketClaim | None, session_id: int, nonce: str, actor: Actor
) -> CheckInResult:
    session = await session_info(session_id)
    if session["trade.competition.phase"] not in CHECK_IN_PHASES:
        return _refused(
            N_(
                "Check-in opens when the competition reaches the phase “{phase}”.",
                phase=N_("Check-in and draw"),
            )
        )
    replay = await _replay(nonce)
    if replay is not None:
        return replay
    if claim is None:
        return _refused(N_("This QR code is not a genuine admission ticket of this system."))
    if claim.competition_id != session["trade.competition"]:
        return _refused(N_("This ticket belongs to another competition."))
    entry = await _entry(claim.entry_id)
    if entry is None:
        return _refused(N_("This ticket is no longer valid: the entry was withdrawn."))
    contestant = _contestant(entry)
    if entry["status"] == EntryStatus.revoked:
        return _refused(
            N_("This entry was revoked: {reason}", reason=entry["review_note"]), **contestant
        )
    if entry["status"] != EntryStatus.approved or claim.version != entry["ticket_version"]:
        return _refused(
            N_(
                "This ticket is no longer valid (the entry was changed or is not "
                "approved); the contestant needs the current ticket."
            ),
            **contestant,
        )
    if entry["trade"] != session["trade"]:
        return _refused(
            N_("This ticket is for “{trade}”, not for this session.", trade=entry["trade.name"]),
            **contestant,
        )
    if (
        session["event"] == EventKind.practical
        and entry["session"] is not None
        and entry["session"] != session_id
    ):
        return _refused(
            N_(
                "This contestant sits another session: {session}.",
                session=entry["session.name"] or "",
            ),
            **contestant,
        )
    previous = await _previous(entry["id"], session_id)
    if previous is not None and previous["nonce"] == nonce:
        # This very request, retried while its first attempt was being saved: on PostgreSQL
        # each statement sees what committed before it, so the first attempt's row can appear
        # between the nonce lookup above and this one.
        return CheckInResult(
            outcome="checked_in",
            message=N_("Checked in."),
            checked_in_at=previous["checked_in_at"],
            **contestant,
        )
    if previous is not None:
        return CheckInResult(
            outcome="already",
            message=N_("Already checked in at {time}."),
            checked_in_at=previous["checked_in_at"],
            **contestant,
        )
    now = dt.datetime.now(dt.UTC)
    await CheckIn.insert(
        CheckIn(
            entry=entry["id"],
            session=session_id,
            nonce=nonce,
            checked_in_at=now,
            checked_in_by=actor.user_id,
        )
    )
    await audit.record(
        "entry.check_in",
        actor=actor,
        object_type="entry",
        object_id=entry["id"],
        competition_id=session["trade.competition"],
        new={"session": session_id},
    )
    return CheckInResult(
        outcome="checked_in", message=N_("Checked in."), checked_in_at=now, **contestant
    )


def _contestant(entry: dict | None) -> dict:
    if entry is None:
        return {}
    return {
        "entry_id": entry["id"],
        "name": entry["person.name"],
        "trade": entry["trade.name"],
        "ticket_number": entry["ticket_number"] or "",
        "delegation": entry["delegation.name"],
        "has_photo": entry["has_photo"],
    }


async def _replay(nonce: str) -> CheckInResult | None:
    row = (
        await CheckIn.select(CheckIn.checked_in_at, CheckIn.entry)
        .where(CheckIn.nonce == nonce)
        .first()
    )
    if row is None:
        return None
    return CheckInResult(
        outcome="checked_in",
        message=N_("Checked in."),
        checked_in_at=row["checked_in_at"],
        **(_contestant(await _entry(row["entry"])) or {"entry_id": row["entry"]}),
    )


async def _previous(entry_id: int, session_id: int) -> dict | None:
    return (
        await CheckIn.select(CheckIn.checked_in_at, CheckIn.nonce)
        .where((CheckIn.entry == entry_id) & (CheckIn.session == session_id))
        .first()
    )


async def _entry(entry_id: int) -> dict | None:
    rows = await Entry.raw(_ENTRY_SQL, entry_id)
    if not rows:
        return None
    row = rows[0]
    row["has_photo"] = bool(row["has_photo"])  # 0/1 from SQLite
    return row
