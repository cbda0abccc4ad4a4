"""The one way from an anonymous code to a person (解密对照表): `reveal`.

Before a trade is decrypted only the organizer's encryption role (加密组) and the supervisor
may read which code is whom, and every read leaves an audit record "codes.revealed" (who,
which trade, how many rows, why). Nothing else in the code base joins DrawSlot to a person:
the organizer's draw page, the judges' pages and every export before decryption work from codes
only (scoring/draw/service.py `slot_list`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from competition import audit
from competition.accounts import Identity
from competition.db import transaction
from competition.errors import NotFound, PermissionDenied
from competition.tables import Role
from registration import idcard
from scoring.tables import DrawSlot

READERS = frozenset({Role.encryption, Role.supervisor})


@dataclass(frozen=True)
class Revealed:
    position: int
    code: str
    judge_code: str
    session_code: str
    session_name: str
    station_code: str
    name: str
    ticket_number: str
    delegation: str
    id_masked: str


def _may_read(identity: Identity, competition_id: int) -> bool:
    return any(
        grant.role in READERS and grant.competition_id in (None, competition_id)
        for grant in identity.grants
    )


def _natural(code: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))


async def reveal(
    competition_id: int, trade_id: int, *, identity: Identity, purpose: str
) -> list[Revealed]:
    """The trade's codes with their contestants, for the encryption role or the supervisor of
    the competition; every call is logged with `purpose` (page, export, slips …)."""
    if not _may_read(identity, competition_id):
        raise PermissionDenied(
            "Only the encryption role and the supervisor may read who holds which code.",
            code="codes_forbidden",
        )
    rows = await DrawSlot.select(
        DrawSlot.position,
        DrawSlot.code,
        DrawSlot.judge_code,
        DrawSlot.trade.competition.as_alias("competition"),
        DrawSlot.session.code.as_alias("session_code"),
        DrawSlot.session.name.as_alias("session_name"),
        DrawSlot.session.starts_at.as_alias("starts_at"),
        DrawSlot.station.code.as_alias("station_code"),
        DrawSlot.entry.person.name.as_alias("name"),
        DrawSlot.entry.person.id_number.as_alias("id_number"),
        DrawSlot.entry.ticket_number.as_alias("ticket_number"),
        DrawSlot.entry.delegation.name.as_alias("delegation"),
    ).where(DrawSlot.trade == trade_id)
    if rows and rows[0]["competition"] != competition_id:
        raise NotFound("The trade has not been drawn.", code="draw_not_found")
    rows.sort(key=lambda r: (r["starts_at"], r["session_code"], _natural(r["station_code"])))
    async with transaction():
        await audit.record(
            "codes.revealed",
            actor=identity.actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=competition_id,
            new={"rows": len(rows), "purpose": purpose[:40]},
        )
    return [
        Revealed(
            position=r["position"],
            code=r["code"],
            judge_code=r["judge_code"],
            session_code=r["session_code"],
            session_name=r["session_name"],
            station_code=r["station_code"],
            name=r["name"],
            ticket_number=r["ticket_number"] or "",
            delegation=r["delegation"],
            id_masked=idcard.mask(r["id_number"]),
        )
        for r in rows
    ]


async def codes_by_entry(trade_ids: list[int]) -> dict[int, tuple[int, str]]:
    """entry id → (trade id, code) of the drawn trades, with no name, ticket or ID number: for
    the rehearsal (competition/results/rehearsal.py), which replays last year's files keyed by
    person on a fresh competition it runs by itself. No page serves it."""
    rows = await DrawSlot.select(DrawSlot.entry, DrawSlot.trade, DrawSlot.code).where(
        DrawSlot.trade.is_in(trade_ids or [0])
    )
    return {r["entry"]: (r["trade"], r["code"]) for r in rows}
