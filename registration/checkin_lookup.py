"""Finding a contestant at a check-in desk when the QR code will not scan (查找选手).

The desk types a ticket number (or its end), the last digits of the resident ID (at least
four), or part of the name. Only the session's trade is searched, and a hit shows what the desk
needs to recognise the person in front of it: name, ticket number, trade, delegation, a masked
ID number and the photo; the check-in itself is registration.checkin.check_in_entry. The search
text is personal data: it travels in a POST body and is never logged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from competition.errors import NotFound, ValidationFailed
from registration import checkin_store, idcard
from registration.tables import EntryStatus

LOOKUP_LIMIT = 20
MIN_ID_DIGITS = 4
MIN_NAME_CHARS = 2
QUERY_MAX = 50

# Kinds of search, told apart by what was typed.
BY_DIGITS, BY_TICKET, BY_NAME = "digits", "ticket", "name"
_DIGITS = re.compile(r"\d+[Xx]?")
_TICKET = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+|[A-Za-z]+\d[A-Za-z0-9]*")


@dataclass(frozen=True)
class LookupHit:
    entry_id: int
    name: str
    ticket_number: str
    trade: str
    trade_en: str
    delegation: str
    id_number: str  # masked
    has_photo: bool
    status: str
    seat: str  # the practical session the contestant sits, "" if none
    checked_in_at: dt.datetime | None  # at this session


@dataclass(frozen=True)
class LookupResult:
    kind: str
    hits: list[LookupHit]
    more: bool  # more than LOOKUP_LIMIT matched: type more


_LOOKUP_SQL = (
    "SELECT e.id AS entry_id, e.status, e.ticket_number, p.name AS person_name, p.id_number, "
    "t.name AS trade_name, t.name_en AS trade_name_en, d.name AS delegation_name, "
    "es.name AS seat_name, ph.id AS photo_id, ci.checked_in_at "
    "FROM entry e "
    "JOIN person p ON p.id = e.person "
    "JOIN trade t ON t.id = e.trade "
    "JOIN delegation d ON d.id = e.delegation "
    'LEFT JOIN competition_session es ON es.id = e."session" '
    "LEFT JOIN photo ph ON ph.person = e.person "
    'LEFT JOIN check_in ci ON ci.entry = e.id AND ci."session" = ? '
    "WHERE e.trade = ? AND e.status IN (?, ?) AND (MATCH) "
    "ORDER BY p.name, e.id LIMIT ?"
)
_MATCH = {
    # The end of the ID number, or of the ticket number ("0007" of QH16-T001-0007).
    BY_DIGITS: "p.id_number LIKE ? OR e.ticket_number LIKE ?",
    BY_TICKET: "UPPER(e.ticket_number) LIKE ? ESCAPE '\\'",
    BY_NAME: "LOWER(p.name) LIKE ? ESCAPE '\\'",
}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _refuse(message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(message, code="lookup_query", field_errors={"query": message}, **params)


def _classify(text: str) -> tuple[str, list[str]]:
    """The kind of search and the LIKE patterns for its condition."""
    if _DIGITS.fullmatch(text):
        if len(text) < MIN_ID_DIGITS:
            raise _refuse("Type at least {n} digits of the ID number.", n=MIN_ID_DIGITS)
        tail = "%" + text.upper()
        return BY_DIGITS, [tail, tail]
    if _TICKET.fullmatch(text):
        return BY_TICKET, ["%" + _like(text.upper())]
    if len(text) < MIN_NAME_CHARS:
        raise _refuse("Type at least {n} characters of the name.", n=MIN_NAME_CHARS)
    return BY_NAME, ["%" + _like(text.lower()) + "%"]


async def find_contestants(session: dict[str, Any], text: str) -> LookupResult:
    """Contestants of the session's trade matching `text` (approved ones, and revoked ones so
    that the desk learns why they may not sit). `session` as checkin.session_info gives it."""
    text = " ".join(text.split())
    if not text:
        raise _refuse("Type a ticket number, the last digits of the ID number, or a name.")
    if len(text) > QUERY_MAX:
        raise _refuse("Type at most {n} characters.", n=QUERY_MAX)
    kind, patterns = _classify(text)
    # The condition is one of the fixed strings above; every value is a parameter.
    sql = _LOOKUP_SQL.replace("(MATCH)", f"({_MATCH[kind]})", 1)
    rows = await checkin_store.read(
        sql,
        session["id"],
        session["trade"],
        EntryStatus.approved.value,
        EntryStatus.revoked.value,
        *patterns,
        LOOKUP_LIMIT + 1,
    )
    hits = [
        LookupHit(
            entry_id=r["entry_id"],
            name=r["person_name"],
            ticket_number=r["ticket_number"] or "",
            trade=r["trade_name"],
            trade_en=r["trade_name_en"] or "",
            delegation=r["delegation_name"],
            id_number=idcard.mask(r["id_number"]),
            has_photo=r["photo_id"] is not None,
            status=r["status"],
            seat=r["seat_name"] or "",
            checked_in_at=r["checked_in_at"],
        )
        for r in rows[:LOOKUP_LIMIT]
    ]
    return LookupResult(kind=kind, hits=hits, more=len(rows) > LOOKUP_LIMIT)


async def photo_owner(session: dict[str, Any], entry_id: int) -> int:
    """The person whose photo the desk of `session` may show for `entry_id`: only contestants
    of the session's trade."""
    rows = await checkin_store.read(
        "SELECT person FROM entry WHERE id = ? AND trade = ?", entry_id, session["trade"]
    )
    if not rows:
        raise NotFound("The photo was not found.", code="photo_not_found")
    return rows[0]["person"]
