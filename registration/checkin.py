"""Check-in (检录): a scanned admission ticket, or a contestant found by lookup, becomes a
check-in for one session.

Answers, rather than errors, for the things that happen at a venue door: a second scan of the
same ticket says when it was first checked in; a request retried with the same nonce (a flaky
network) is answered from the first one and changes nothing. A nonce names one scan of one
ticket: sent again with another ticket, for another session or by another account it is
refused, and never answered with the first ticket's contestant. (Only check-ins store their
nonce; a nonce whose scan was refused or "already" checked in changed nothing and may come
again.)

The path is built for a busy door (bench/checkin.py): the signature is checked without the
database, the session is cached, everything else is one read statement that never waits for
the write lock, and only a real check-in writes, in one short transaction (checkin_store).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from piccolo.utils.encoding import dump_json

from competition import audit, db
from competition.audit import Actor
from competition.errors import Conflict, DomainError, NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import Phase
from competition.stages import checkin_refusal
from competition.tables import EventKind
from registration import checkin_store, tokens
from registration.tables import EntryStatus

CHECK_IN_PHASES = frozenset({Phase.draw, Phase.competing})
NONCE_MAX = 64
# How the contestant was identified, kept in the audit record of the check-in.
BY_TICKET, BY_LOOKUP = "ticket", "lookup"

# A session's trade, venue and times change in setup, not during check-in; a desk may go on
# with what it read for this long. The competition's phase is read with every scan.
SESSION_CACHE_SECONDS = 30.0
SESSION_CACHE_MAX = 4096


@dataclass(frozen=True)
class CheckInResult:
    outcome: str  # "checked_in", "already", "refused"
    message: Msg
    checked_in_at: dt.datetime | None = None
    entry_id: int | None = None
    name: str = ""
    trade: str = ""
    trade_en: str = ""
    ticket_number: str = ""
    delegation: str = ""
    has_photo: bool = False


def _refused(message: Msg, **contestant: Any) -> CheckInResult:
    return CheckInResult(outcome="refused", message=message, **contestant)


# ---------------------------------------------------------------------------- sessions

_SESSION_SQL = (
    "SELECT s.id, s.trade, s.venue, s.code, s.name, s.event, s.starts_at, s.ends_at, "
    't.competition AS "trade.competition", t.code AS "trade.code", t.name AS "trade.name", '
    't.name_en AS "trade.name_en", v.name AS "venue.name" '
    "FROM competition_session s "
    "JOIN trade t ON t.id = s.trade "
    "JOIN venue v ON v.id = s.venue "
    "WHERE s.id = ?"
)
_sessions: dict[int, tuple[float, dict[str, Any]]] = {}


async def session_info(session_id: int) -> dict[str, Any]:
    """The session with its trade, competition and venue (cached for a few seconds)."""
    now = time.monotonic()
    cached = _sessions.get(session_id)
    if cached is not None and cached[0] > now:
        return dict(cached[1])
    rows = await checkin_store.read(_SESSION_SQL, session_id)
    if not rows:
        _sessions.pop(session_id, None)
        raise NotFound("The session was not found.", code="session_not_found")
    if len(_sessions) >= SESSION_CACHE_MAX:
        _sessions.clear()
    _sessions[session_id] = (now + SESSION_CACHE_SECONDS, rows[0])
    return dict(rows[0])


# ---------------------------------------------------------------------------- one scan

# Everything a scan needs to decide, in one statement: the session as it is now, the
# competition's phase, the entry with its contestant, an earlier check-in of the entry at this
# session, and the check-in that used this nonce, if any. Joins rather than subqueries, so that
# SQLite types the timestamps.
_SCAN_SQL = (
    "SELECT s.id AS session_id, s.trade AS session_trade, s.event AS session_event, "
    "st.stage AS trade_stage, st.checkin_closed_at AS trade_checkin_closed_at, "
    'c.id AS competition_id, c.phase, e.id AS entry_id, e.status, e.trade, e."session" AS seat, '
    "e.ticket_number, e.ticket_version, e.review_note, p.name AS person_name, "
    "t.name AS trade_name, t.name_en AS trade_name_en, d.name AS delegation_name, "
    "es.name AS seat_name, ph.id AS photo_id, prev.checked_in_at AS previous_at, "
    'used.entry AS nonce_entry, used."session" AS nonce_session, used.checked_in_by AS nonce_by, '
    "used.checked_in_at AS nonce_at "
    "FROM competition_session s "
    "JOIN trade st ON st.id = s.trade "
    "JOIN competition c ON c.id = st.competition "
    "LEFT JOIN entry e ON e.id = ? AND e.competition = c.id "
    "LEFT JOIN person p ON p.id = e.person "
    "LEFT JOIN trade t ON t.id = e.trade "
    "LEFT JOIN delegation d ON d.id = e.delegation "
    'LEFT JOIN competition_session es ON es.id = e."session" '
    "LEFT JOIN photo ph ON ph.person = e.person "
    'LEFT JOIN check_in prev ON prev.entry = e.id AND prev."session" = s.id '
    "LEFT JOIN check_in used ON used.nonce = ? "
    "WHERE s.id = ?"
)
# ON CONFLICT DO NOTHING covers both keys (the nonce; entry and session): whoever loses the
# race inserts nothing and reads what the winner stored.
_INSERT_SQL = (
    'INSERT INTO check_in (entry, "session", nonce, checked_in_at, checked_in_by) '
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
)
# The audit record of a check-in: the row competition.audit.record writes (same columns, same
# JSON), as SQL, because Piccolo spends ~0.6 ms of CPU building that one insert, as much as the
# rest of a check-in together (bench/checkin.py). A test holds the two to the same row
# (tests/registration/test_checkin_and_tickets.py).
_AUDIT_SQL = (
    "INSERT INTO audit_log (at, actor_id, actor_name, competition_id, action, object_type, "
    "object_id, old, new, reason) "
    "VALUES (?, ?, ?, ?, 'entry.check_in', 'entry', ?, NULL, ?, '')"
)
# On PostgreSQL both in one statement, so one round trip is the whole write transaction.
_CHECK_IN_SQL_POSTGRES = (
    "WITH stored AS ("
    'INSERT INTO check_in (entry, "session", nonce, checked_in_at, checked_in_by) '
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING entry) "
    "INSERT INTO audit_log (at, actor_id, actor_name, competition_id, action, object_type, "
    "object_id, old, new, reason) "
    "SELECT ?, ?, ?, ?, 'entry.check_in', 'entry', CAST(stored.entry AS varchar), NULL, "
    "?, '' FROM stored RETURNING id"
)


async def _store(
    entry_id: int, session_id: int, nonce: str, now: dt.datetime, actor: Actor, row: dict, by: str
) -> bool:
    """Save one check-in and its audit record together; False if another desk was first."""
    new = dump_json(audit.to_jsonable({"session": session_id, "by": by}))
    if db.is_postgres():
        stored = await checkin_store.write_statement(
            _CHECK_IN_SQL_POSTGRES,
            entry_id,
            session_id,
            nonce,
            now,
            actor.user_id,
            now,
            actor.user_id,
            actor.name,
            row["competition_id"],
            new,
        )
        return bool(stored)
    return await checkin_store.insert_then(
        (_INSERT_SQL, (entry_id, session_id, nonce, now, actor.user_id)),
        (_AUDIT_SQL, (now, actor.user_id, actor.name, row["competition_id"], str(entry_id), new)),
    )


@dataclass(frozen=True)
class _Presented:
    """What the desk presented: a verified ticket (its version must be the current one) or an
    entry found by lookup (no ticket, so no version)."""

    entry_id: int
    competition_id: int | None  # None: the session's own (a lookup)
    version: int | None
    by: str


def _contestant(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "entry_id": row["entry_id"],
        "name": row["person_name"],
        "trade": row["trade_name"],
        "trade_en": row["trade_name_en"] or "",
        "ticket_number": row["ticket_number"] or "",
        "delegation": row["delegation_name"],
        "has_photo": row["photo_id"] is not None,
    }


def _nonce(nonce: str) -> str:
    nonce = nonce.strip()
    if not nonce or len(nonce) > NONCE_MAX:
        raise ValidationFailed("The scan request is missing its nonce.", code="nonce_missing")
    return nonce


def _decide(
    row: dict[str, Any], presented: _Presented | None, actor: Actor
) -> CheckInResult | None:
    """The answer to a scan from what the database holds, or None: check the contestant in."""
    if row["phase"] not in CHECK_IN_PHASES:
        return _refused(
            N_(
                "Check-in opens when the competition reaches the phase “{phase}”.",
                phase=N_("Check-in and draw"),
            )
        )
    if presented is None:
        return _refused(N_("This QR code is not a genuine admission ticket of this system."))
    if row["nonce_entry"] is not None:
        # A retry comes from the desk that made the scan: same ticket, session and account
        # (the account, not the sign-in: a desk may sign in again before its queue is sent).
        if (
            row["nonce_entry"] != presented.entry_id
            or row["nonce_session"] != row["session_id"]
            or row["nonce_by"] != actor.user_id
        ):
            return _refused(
                N_(
                    "This scan id was already used for another ticket; nothing was checked "
                    "in. Scan the ticket again."
                )
            )
        # This very scan, retried: the first answer again.
        return CheckInResult(
            outcome="checked_in",
            message=N_("Checked in."),
            checked_in_at=row["nonce_at"],
            **_contestant(row),
        )
    # The practical event's check-in (检录) decides who is drawn: it ends when the organizer
    # closes it or the trade draws. Theory and oral sessions keep their own door.
    if row["session_event"] == EventKind.practical.value:
        closed = checkin_refusal(row["trade_stage"], row["trade_checkin_closed_at"])
        if closed is not None:
            return _refused(closed)
    if presented.competition_id not in (None, row["competition_id"]):
        return _refused(N_("This ticket belongs to another competition."))
    if row["entry_id"] is None:
        if presented.by == BY_LOOKUP:
            return _refused(N_("This contestant was not found in this competition."))
        return _refused(N_("This ticket is no longer valid: the entry was withdrawn."))
    contestant = _contestant(row)
    if row["status"] == EntryStatus.revoked:
        return _refused(
            N_("This entry was revoked: {reason}", reason=row["review_note"]), **contestant
        )
    if row["status"] != EntryStatus.approved or (
        presented.version is not None and presented.version != row["ticket_version"]
    ):
        return _refused(
            N_(
                "This ticket is no longer valid (the entry was changed or is not "
                "approved); the contestant needs the current ticket."
            ),
            **contestant,
        )
    if row["trade"] != row["session_trade"]:
        return _refused(
            N_("This ticket is for “{trade}”, not for this session.", trade=row["trade_name"]),
            **contestant,
        )
    if (
        row["session_event"] == EventKind.practical
        and row["seat"] is not None
        and row["seat"] != row["session_id"]
    ):
        return _refused(
            N_("This contestant sits another session: {session}.", session=row["seat_name"] or ""),
            **contestant,
        )
    if row["previous_at"] is not None:
        return CheckInResult(
            outcome="already",
            message=N_("Already checked in at {time}."),
            checked_in_at=row["previous_at"],
            **contestant,
        )
    return None


async def _read(presented: _Presented | None, session_id: int, nonce: str) -> dict[str, Any]:
    rows = await checkin_store.read(
        _SCAN_SQL, presented.entry_id if presented else 0, nonce, session_id
    )
    if not rows:
        raise NotFound("The session was not found.", code="session_not_found")
    return rows[0]


async def _check_in(
    presented: _Presented | None, session_id: int, nonce: str, actor: Actor
) -> CheckInResult:
    row = await _read(presented, session_id, nonce)
    answer = _decide(row, presented, actor)
    if answer is not None:
        return answer
    assert presented is not None  # _decide refuses a scan without a genuine ticket
    now = dt.datetime.now(dt.UTC)
    if await _store(presented.entry_id, session_id, nonce, now, actor, row, presented.by):
        return CheckInResult(
            outcome="checked_in", message=N_("Checked in."), checked_in_at=now, **_contestant(row)
        )
    # Another desk stored this ticket (or this nonce) first: answer from what it stored.
    answer = _decide(await _read(presented, session_id, nonce), presented, actor)
    if answer is None:
        raise Conflict("The check-in could not be saved. Scan again.", code="check_in_retry")
    return answer


async def redeem_ticket(token: str, session_id: int, nonce: str, *, actor: Actor) -> CheckInResult:
    """Check in the holder of a scanned ticket for one session."""
    nonce = _nonce(nonce)
    try:
        claim = tokens.verify(token)
    except DomainError:
        presented = None
    else:
        presented = _Presented(claim.entry_id, claim.competition_id, claim.version, BY_TICKET)
    return await _check_in(presented, session_id, nonce, actor)


async def check_in_entry(
    entry_id: int, session_id: int, nonce: str, *, actor: Actor
) -> CheckInResult:
    """Check in a contestant the desk found by lookup (the QR code would not scan): the same
    rules as a scan, except that there is no ticket whose version could be old."""
    presented = _Presented(entry_id, None, None, BY_LOOKUP)
    return await _check_in(presented, session_id, _nonce(nonce), actor)
