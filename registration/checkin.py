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
from registration.tables import CheckIn, Entry, EntryStatus, Photo

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


async def session_info(session_id: int) -> dict:
    row = (
        await CompetitionSession.select(
            CompetitionSession.all_columns(),
            CompetitionSession.trade.competition,
            CompetitionSession.trade.competition.phase,
            CompetitionSession.trade.name,
            CompetitionSession.venue.name,
        )
        .where(CompetitionSession.id == session_id)
        .first()
    )
    if row is None:
        raise NotFound("The session was not found.", code="session_not_found")
    return row


async def redeem_ticket(token: str, session_id: int, nonce: str, *, actor: Actor) -> CheckInResult:
    nonce = nonce.strip()
    if not nonce or len(nonce) > NONCE_MAX:
        raise ValidationFailed("The scan request is missing its nonce.", code="nonce_missing")
    session = await session_info(session_id)
    if session["trade.competition.phase"] not in CHECK_IN_PHASES:
        return _refused(
            N_(
                "Check-in opens when the competition reaches the phase “{phase}”.",
                phase=N_("Check-in and draw"),
            )
        )
    replay = await _replay(nonce, session_id)
    if replay is not None:
        return replay
    try:
        claim = tokens.verify(token)
    except DomainError:
        return _refused(N_("This QR code is not a genuine admission ticket of this system."))
    if claim.competition_id != session["trade.competition"]:
        return _refused(N_("This ticket belongs to another competition."))
    entry = await _entry(claim.entry_id)
    if entry is None:
        return _refused(N_("This ticket is no longer valid: the entry was withdrawn."))
    contestant = {
        "entry_id": entry["id"],
        "name": entry["person.name"],
        "trade": entry["trade.name"],
        "ticket_number": entry["ticket_number"] or "",
        "delegation": entry["delegation.name"],
        "has_photo": entry["has_photo"],
    }
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
    return await _check_in(entry, session, nonce, actor, contestant)


async def _replay(nonce: str, session_id: int) -> CheckInResult | None:
    row = (
        await CheckIn.select(CheckIn.checked_in_at, CheckIn.session, CheckIn.entry)
        .where(CheckIn.nonce == nonce)
        .first()
    )
    if row is None:
        return None
    entry = await _entry(row["entry"])
    return CheckInResult(
        outcome="checked_in",
        message=N_("Checked in."),
        checked_in_at=row["checked_in_at"],
        entry_id=row["entry"],
        name=entry["person.name"] if entry else "",
        trade=entry["trade.name"] if entry else "",
        ticket_number=(entry["ticket_number"] or "") if entry else "",
        delegation=entry["delegation.name"] if entry else "",
        has_photo=bool(entry and entry["has_photo"]),
    )


async def _entry(entry_id: int) -> dict | None:
    row = (
        await Entry.select(
            Entry.id,
            Entry.status,
            Entry.trade,
            Entry.session,
            Entry.session.name,
            Entry.ticket_number,
            Entry.ticket_version,
            Entry.review_note,
            Entry.person,
            Entry.person.name,
            Entry.trade.name,
            Entry.delegation.name,
        )
        .where(Entry.id == entry_id)
        .first()
    )
    if row is not None:
        row["has_photo"] = await Photo.exists().where(Photo.person == row["person"])
    return row


async def _check_in(
    entry: dict, session: dict, nonce: str, actor: Actor, contestant: dict
) -> CheckInResult:
    previous = (
        await CheckIn.select(CheckIn.checked_in_at)
        .where((CheckIn.entry == entry["id"]) & (CheckIn.session == session["id"]))
        .first()
    )
    if previous is not None:
        return CheckInResult(
            outcome="already",
            message=N_("Already checked in at {time}."),
            checked_in_at=previous["checked_in_at"],
            **contestant,
        )
    now = dt.datetime.now(dt.UTC)
    try:
        async with transaction():
            await CheckIn.insert(
                CheckIn(
                    entry=entry["id"],
                    session=session["id"],
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
                new={"session": session["id"]},
            )
    except Exception as exc:
        if not is_integrity_error(exc):
            raise
        # Another scanner won the race for this ticket, or this nonce was just used.
        replay = await _replay(nonce, session["id"])
        if replay is not None:
            return replay
        previous = (
            await CheckIn.select(CheckIn.checked_in_at)
            .where((CheckIn.entry == entry["id"]) & (CheckIn.session == session["id"]))
            .first()
        )
        return CheckInResult(
            outcome="already",
            message=N_("Already checked in at {time}."),
            checked_in_at=previous["checked_in_at"] if previous else None,
            **contestant,
        )
    return CheckInResult(
        outcome="checked_in", message=N_("Checked in."), checked_in_at=now, **contestant
    )
