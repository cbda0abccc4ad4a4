"""Appeals (申诉) against published results, and the supervisor's ruling on them.

A contestant (from their page) or their delegation (from its page) files an appeal about one
entry while the version on the board is in its notice period and the trade's window is open:
from publication for the competition's `appeal_window_minutes` (default 120, "2 hours"),
never past the end of the notice period. One appeal per entry waits for a ruling at a time.

The supervisor (监督仲裁) upholds or dismisses it, with a reason. An upheld appeal that changes
a score goes through the locked-score change path — the chief judge changes the mark with the
appeal's number in the reason (scoring/sheets/lock.py), the totals are recomputed — and the
organizer publishes the corrected results as a new version, re-ranked; the trade cannot be made
final before that (`publication.final_check`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from competition import audit, clock, db
from competition.audit import Actor
from competition.errors import Conflict, NotFound, PermissionDenied, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.results.publication import board_version
from competition.results.tables import Appeal, AppealStatus
from competition.tables import Role, Trade
from registration.tables import Entry
from scoring.tables import DrawSlot

STATUS_LABELS = {
    AppealStatus.filed: N_("Waiting for a ruling"),
    AppealStatus.upheld: N_("Upheld"),
    AppealStatus.dismissed: N_("Dismissed"),
}
TEXT_MAX = 2000
RULING_MAX = 1000


@dataclass(frozen=True)
class AppealView:
    id: int
    trade_id: int
    trade: str
    entry_id: int
    delegation: str
    version: int
    filed_as: str
    text: str
    status: AppealStatus
    ruling: str
    filed_at: dt.datetime
    ruled_at: dt.datetime | None
    # Filled for the supervisor and the organizer only.
    name: str = ""
    code: str = ""


def _text(value: str, *, maximum: int, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(
            "Write what the appeal is about.", code=code, field_errors={"text": "Required."}
        )
    if len(value) > maximum:
        raise ValidationFailed(
            "At most {n} characters.",
            code=f"{code}_long",
            field_errors={"text": "Too long."},
            n=maximum,
        )
    return value


async def file_appeal(entry_id: int, text: str, *, actor: Actor, filed_as: Role) -> int:
    """File an appeal about one entry; the caller has checked the actor may speak for it
    (`may_appeal_for`). Returns the appeal's id."""
    text = _text(text, maximum=TEXT_MAX, code="appeal_text")
    entry = (
        await Entry.select(Entry.trade, Entry.delegation, Entry.competition)
        .where(Entry.id == entry_id)
        .first()
    )
    if entry is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    version = await board_version(entry["trade"])
    if version is None or not version.appeals_open():
        raise PhaseError(
            "Appeals against these results are not open (they are open for a while after "
            "publication).",
            code="appeals_closed",
        )
    if not any(row.entry_id == entry_id for row in version.rows):
        raise NotFound("The entry is not in the published results.", code="entry_not_published")
    async with db.transaction():
        waiting = await Appeal.exists().where(
            (Appeal.entry == entry_id) & (Appeal.status == AppealStatus.filed)
        )
        if waiting:
            raise Conflict(
                "An appeal about this entry is already waiting for a ruling.",
                code="appeal_waiting",
            )
        appeal = Appeal(
            trade=entry["trade"],
            entry=entry_id,
            delegation=entry["delegation"],
            publication_version=version.version,
            filed_by=actor.user_id,
            filed_as=filed_as.value,
            text=text,
        )
        await appeal.save()
        await audit.record(
            "appeal.filed",
            actor=actor,
            object_type="appeal",
            object_id=appeal.id,
            competition_id=entry["competition"],
            new={"entry": entry_id, "trade": entry["trade"], "version": version.version},
        )
    return appeal.id


async def rule_appeal(appeal_id: int, *, upheld: bool, ruling: str, actor: Actor) -> None:
    """The supervisor's ruling (裁决), with its reason."""
    ruling = _text(ruling, maximum=RULING_MAX, code="ruling_text")
    async with db.transaction():
        row = (
            await Appeal.select(Appeal.status, Appeal.trade, Appeal.trade.competition)
            .where(Appeal.id == appeal_id)
            .first()
        )
        if row is None:
            raise NotFound("The appeal was not found.", code="appeal_not_found")
        if row["status"] != AppealStatus.filed:
            raise Conflict("The appeal has already been ruled on.", code="appeal_ruled")
        status = AppealStatus.upheld if upheld else AppealStatus.dismissed
        await Appeal.update(
            {
                Appeal.status: status,
                Appeal.ruling: ruling,
                Appeal.ruled_by: actor.user_id,
                Appeal.ruled_at: clock.now(),
            }
        ).where((Appeal.id == appeal_id) & (Appeal.status == AppealStatus.filed))
        await audit.record(
            "appeal.ruled",
            actor=actor,
            object_type="appeal",
            object_id=appeal_id,
            competition_id=row["trade.competition"],
            old={"status": AppealStatus.filed.value},
            new={"status": status.value, "trade": row["trade"]},
            reason=ruling,
        )


_COLUMNS = (
    Appeal.id,
    Appeal.trade,
    Appeal.trade.name,
    Appeal.entry,
    Appeal.delegation.name,
    Appeal.publication_version,
    Appeal.filed_as,
    Appeal.text,
    Appeal.status,
    Appeal.ruling,
    Appeal.filed_at,
    Appeal.ruled_at,
)


def _view(row: dict, *, named: bool, codes: dict[int, str] | None = None) -> AppealView:
    return AppealView(
        id=row["id"],
        trade_id=row["trade"],
        trade=row["trade.name"],
        entry_id=row["entry"],
        delegation=row["delegation.name"],
        version=row["publication_version"],
        filed_as=row["filed_as"],
        text=row["text"],
        status=AppealStatus(row["status"]),
        ruling=row["ruling"],
        filed_at=row["filed_at"],
        ruled_at=row["ruled_at"],
        name=row.get("entry.person.name", "") if named else "",
        code=(codes or {}).get(row["entry"], ""),
    )


async def appeals_of_competition(competition_id: int) -> list[AppealView]:
    """Every appeal of the competition, waiting ones first (the supervisor's and organizer's
    list: names shown, the trades are decrypted by then)."""
    rows = (
        await Appeal.select(*_COLUMNS, Appeal.entry.person.name)
        .where(
            Appeal.trade.is_in(Trade.select(Trade.id).where(Trade.competition == competition_id))
        )
        .order_by(Appeal.filed_at, ascending=False)
    )
    codes = await _codes([r["entry"] for r in rows])
    views = [_view(row, named=True, codes=codes) for row in rows]
    return sorted(views, key=lambda a: a.status != AppealStatus.filed)


async def appeals_of_entries(entry_ids: list[int]) -> list[AppealView]:
    if not entry_ids:
        return []
    rows = (
        await Appeal.select(*_COLUMNS)
        .where(Appeal.entry.is_in(entry_ids))
        .order_by(Appeal.filed_at, ascending=False)
    )
    return [_view(row, named=False) for row in rows]


async def appeals_of_trade(trade_id: int) -> list[AppealView]:
    rows = (
        await Appeal.select(*_COLUMNS, Appeal.entry.person.name)
        .where(Appeal.trade == trade_id)
        .order_by(Appeal.filed_at, ascending=False)
    )
    codes = await _codes([r["entry"] for r in rows])
    return [_view(row, named=True, codes=codes) for row in rows]


async def _codes(entry_ids: list[int]) -> dict[int, str]:
    if not entry_ids:
        return {}
    rows = await DrawSlot.select(DrawSlot.entry, DrawSlot.code).where(
        DrawSlot.entry.is_in(entry_ids)
    )
    return {r["entry"]: r["code"] for r in rows}


async def may_appeal_for(entry_id: int, *, user_id: int, delegation_ids: set[int]) -> Role:
    """The role the user files an appeal about the entry in: its contestant, or an admin of its
    delegation; else refused."""
    row = (
        await Entry.select(Entry.delegation, Entry.person.user).where(Entry.id == entry_id).first()
    )
    if row is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    if row["person.user"] == user_id:
        return Role.contestant
    if row["delegation"] in delegation_ids:
        return Role.delegation_admin
    raise PermissionDenied("You cannot appeal about this entry.", code="appeal_forbidden")
