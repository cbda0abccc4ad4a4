"""Decryption, publication (成绩公示) and the final result of a trade.

decrypted → published (version 1) → [appeal upheld, locked mark changed, published again:
version 2 …] → final, once the notice period is over, no appeal waits for a ruling and the
results still equal the version on the notice board.

- **Decryption** (解密) is the encryption role's move of a locked trade; before it no page,
  export or API of the results names anyone (`standings` does not even read the names).
- **Publishing** stores the rows as the public sees them (names masked) as a new version, and
  the award rules they were made with; an earlier version stays, superseded, so every version
  can be compared with the one before it (`compare`).
- **Withdrawing** takes the board down (the trade goes back to "decrypted"), with a reason.
- **Final** freezes the last version (最终结果).
Every step leaves an audit record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec

from competition import audit, clock, db
from competition.audit import Actor
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.results.standings import ResultRow, TradeStandings, trade_standings
from competition.results.tables import (
    Appeal,
    AppealStatus,
    Publication,
    PublicationStatus,
)
from competition.schemas import to_json
from competition.stages import STAGE_LABELS, Mover, Stage
from competition.tables import Competition, Trade
from scoring.stages import move_in_transaction, trade_for_action

# 公示期: how long a version stays on the notice board before it may be made final.
DEFAULT_NOTICE_HOURS = 72
MAX_NOTICE_HOURS = 24 * 30
REASON_MAX = 500
# What a published row says; `compare` looks at these.
COMPARED = ("total", "place", "award", "title", "promotion", "score700", "medal", "present")


STATUS_LABELS = {
    PublicationStatus.notice: N_("On the notice board"),
    PublicationStatus.superseded: N_("Superseded"),
    PublicationStatus.withdrawn: N_("Withdrawn"),
    PublicationStatus.final: N_("Final"),
}


def mask_name(name: str) -> str:
    """张三 → 张*, 王小明 → 王*明, 欧阳娜娜 → 欧**娜: enough for a contestant to find their
    line, not enough to read a stranger's name off the public board."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class PublishedRow(msgspec.Struct, frozen=True):
    entry_id: int
    group: str
    present: bool
    code: str
    name: str  # masked
    delegation_id: int | None
    delegation: str
    total: int | None
    practical: int | None
    theory: int | None
    oral: int | None
    place: int | None
    award: int | None
    title: str
    promotion: int | None
    score700: int | None
    medal: str


def published_row(row: ResultRow) -> PublishedRow:
    return PublishedRow(
        entry_id=row.entry_id,
        group=row.group,
        present=row.present,
        code=row.code,
        name=mask_name(row.name),
        delegation_id=row.delegation_id,
        delegation=row.delegation,
        total=row.total,
        practical=row.practical,
        theory=row.theory,
        oral=row.oral,
        place=row.place,
        award=row.award,
        title=row.title,
        promotion=row.promotion,
        score700=row.score700,
        medal=row.medal,
    )


@dataclass
class Version:
    id: int
    trade_id: int
    version: int
    status: PublicationStatus
    published_at: dt.datetime
    notice_ends_at: dt.datetime
    appeals_close_at: dt.datetime
    note: str
    rows: list[PublishedRow] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    ended_at: dt.datetime | None = None

    @property
    def on_board(self) -> bool:
        return self.status in (PublicationStatus.notice, PublicationStatus.final)

    def appeals_open(self, now: dt.datetime | None = None) -> bool:
        now = now or clock.now()
        return self.status == PublicationStatus.notice and now <= self.appeals_close_at


def _version(row: dict[str, Any], with_rows: bool = True) -> Version:
    rows = row.get("rows") or []
    if isinstance(rows, str):
        rows = msgspec.json.decode(rows)
    settings = row.get("settings") or {}
    if isinstance(settings, str):
        settings = msgspec.json.decode(settings)
    return Version(
        id=row["id"],
        trade_id=row["trade"],
        version=row["version"],
        status=PublicationStatus(row["status"]),
        published_at=row["published_at"],
        notice_ends_at=row["notice_ends_at"],
        appeals_close_at=row["appeals_close_at"],
        note=row["note"],
        rows=msgspec.convert(rows, list[PublishedRow]) if with_rows else [],
        settings=settings,
        ended_at=row["ended_at"],
    )


# ---------------------------------------------------------------------------- decryption


async def decrypt_trade(trade_id: int, *, actor: Actor) -> None:
    """The encryption role (加密组) opens the codes of a locked trade to the results."""
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage != Stage.locked:
            if state.stage in (Stage.decrypted, Stage.published, Stage.final):
                raise Conflict("The trade is already decrypted.", code="already_decrypted")
            raise PhaseError(
                "A trade is decrypted only once its chief judge has locked the marks; it is "
                "in the stage “{stage}”.",
                code="decrypt_before_lock",
                stage=STAGE_LABELS[state.stage],
            )
        await move_in_transaction(state, Stage.decrypted, actor=actor, mover=Mover.encryption)


# ---------------------------------------------------------------------------- versions


async def versions_of(trade_id: int, *, with_rows: bool = False) -> list[Version]:
    """Every published version of the trade, the latest first."""
    columns = [c for c in Publication._meta.columns if with_rows or c._meta.name != "rows"]
    rows = (
        await Publication.select(*columns)
        .where(Publication.trade == trade_id)
        .order_by(Publication.version, ascending=False)
    )
    return [_version(row, with_rows) for row in rows]


async def version_of(trade_id: int, version: int) -> Version:
    row = (
        await Publication.select()
        .where((Publication.trade == trade_id) & (Publication.version == version))
        .first()
    )
    if row is None:
        raise NotFound("That version of the results was not found.", code="version_not_found")
    return _version(row)


async def board_version(trade_id: int) -> Version | None:
    """The version on the public board (in its notice period, or final), or None."""
    row = (
        await Publication.select()
        .where(
            (Publication.trade == trade_id)
            & Publication.status.is_in([PublicationStatus.notice, PublicationStatus.final])
        )
        .order_by(Publication.version, ascending=False)
        .first()
    )
    return _version(row) if row else None


async def board_versions(competition_id: int) -> dict[int, Version]:
    """trade id → the version on the board, for every published trade of the competition."""
    rows = (
        await Publication.select()
        .where(
            Publication.trade.is_in(
                Trade.select(Trade.id).where(Trade.competition == competition_id)
            )
            & Publication.status.is_in([PublicationStatus.notice, PublicationStatus.final])
        )
        .order_by(Publication.version)
    )
    return {row["trade"]: _version(row) for row in rows}


@dataclass(frozen=True)
class RowChange:
    entry_id: int
    code: str
    name: str
    changes: tuple[tuple[str, Any, Any], ...]  # (field, before, after)
    kind: str = "changed"  # changed / added / removed


def compare(before: list[PublishedRow], after: list[PublishedRow]) -> list[RowChange]:
    """What changed between two versions, contestant by contestant."""
    old = {r.entry_id: r for r in before}
    out = []
    for row in after:
        previous = old.pop(row.entry_id, None)
        if previous is None:
            out.append(RowChange(row.entry_id, row.code, row.name, (), "added"))
            continue
        changes = tuple(
            (name, getattr(previous, name), getattr(row, name))
            for name in COMPARED
            if getattr(previous, name) != getattr(row, name)
        )
        if changes:
            out.append(RowChange(row.entry_id, row.code, row.name, changes))
    out += [RowChange(r.entry_id, r.code, r.name, (), "removed") for r in old.values()]
    return out


# ---------------------------------------------------------------------------- publishing


def _notice_hours(hours: int | None) -> int:
    hours = DEFAULT_NOTICE_HOURS if hours is None else hours
    if not 1 <= hours <= MAX_NOTICE_HOURS:
        raise ValidationFailed(
            "The notice period is between 1 and {max} hours.",
            code="notice_hours",
            field_errors={"notice_hours": "The notice period is between 1 and {max} hours."},
            max=MAX_NOTICE_HOURS,
        )
    return hours


def _clean_reason(reason: str, *, required: bool, code: str) -> str:
    reason = " ".join((reason or "").split())
    if required and not reason:
        raise ValidationFailed("Give a reason.", code=code)
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            "The reason has at most {max} characters.", code="reason_long", max=REASON_MAX
        )
    return reason


def _unfinished(standings: TradeStandings) -> int:
    return sum(1 for row in standings.rows if row.present and not row.complete)


async def publish(
    trade_id: int, *, actor: Actor, notice_hours: int | None = None, note: str = ""
) -> Version:
    """Put the trade's current results on the public board as a new version (公示)."""
    hours = _notice_hours(notice_hours)
    note = _clean_reason(note, required=False, code="note")
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage not in (Stage.decrypted, Stage.published):
            raise PhaseError(
                "Results are published once the trade is decrypted; it is in the stage “{stage}”.",
                code="publish_stage",
                stage=STAGE_LABELS[state.stage],
            )
        standings = await trade_standings(trade_id)
        unfinished = _unfinished(standings)
        if unfinished:
            raise PhaseError(
                "{n} contestants have an incomplete total: the results cannot be published.",
                code="totals_incomplete",
                n=unfinished,
            )
        rows = [published_row(row) for row in standings.rows]
        versions = await versions_of(trade_id, with_rows=True)
        previous = next((v for v in versions if v.status == PublicationStatus.notice), None)
        if previous is not None and not compare(previous.rows, rows):
            raise Conflict(
                "Nothing changed since version {version}: it stays on the board.",
                code="nothing_to_publish",
                version=previous.version,
            )
        now = clock.now()
        window = await Competition.select(Competition.appeal_window_minutes).where(
            Competition.id == state.competition_id
        )
        notice_ends = now + dt.timedelta(hours=hours)
        appeals_close = min(
            notice_ends, now + dt.timedelta(minutes=window[0]["appeal_window_minutes"])
        )
        number = (versions[0].version + 1) if versions else 1
        if previous is not None:
            await Publication.update(
                {Publication.status: PublicationStatus.superseded, Publication.ended_at: now}
            ).where(Publication.id == previous.id)
        publication = Publication(
            trade=trade_id,
            version=number,
            status=PublicationStatus.notice,
            published_at=now,
            published_by=actor.user_id,
            notice_ends_at=notice_ends,
            appeals_close_at=appeals_close,
            note=note,
            rows=msgspec.json.encode(rows).decode(),
            settings={
                "awards": to_json(standings.rules),
                "tie_break": list(standings.chain),
            },
        )
        await publication.save()
        if state.stage == Stage.decrypted:
            await move_in_transaction(state, Stage.published, actor=actor, mover=Mover.publication)
        await audit.record(
            "results.published",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            old={"version": previous.version} if previous else None,
            new={
                "version": number,
                "rows": len(rows),
                "changed": len(compare(previous.rows, rows)) if previous else None,
                "notice_ends_at": notice_ends,
            },
            reason=note,
        )
    return await version_of(trade_id, number)


async def withdraw(trade_id: int, *, actor: Actor, reason: str) -> None:
    """Take the results off the board (the trade goes back to "decrypted")."""
    reason = _clean_reason(reason, required=True, code="withdraw_reason_required")
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage != Stage.published:
            raise PhaseError(
                "Only results in their notice period can be withdrawn.", code="withdraw_stage"
            )
        current = await board_version(trade_id)
        await move_in_transaction(state, Stage.decrypted, actor=actor, mover=Mover.publication)
        if current is not None:
            await Publication.update(
                {Publication.status: PublicationStatus.withdrawn, Publication.ended_at: clock.now()}
            ).where(Publication.id == current.id)
        await audit.record(
            "results.withdrawn",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            old={"version": current.version if current else None},
            reason=reason,
        )


@dataclass(frozen=True)
class FinalCheck:
    ready: bool
    reasons: list[Any]


async def final_check(trade_id: int, standings: TradeStandings | None = None) -> FinalCheck:
    """Why the trade's results cannot be made final yet (empty when they can)."""
    current = await board_version(trade_id)
    reasons: list[Any] = []
    if current is None or current.status != PublicationStatus.notice:
        return FinalCheck(False, [N_("The results are not in their notice period.")])
    if clock.now() < current.notice_ends_at:
        reasons.append(
            N_(
                "The notice period ends at {time}.",
                time=clock.format_datetime(current.notice_ends_at),
            )
        )
    waiting = await Appeal.count().where(
        (Appeal.trade == trade_id) & (Appeal.status == AppealStatus.filed)
    )
    if waiting:
        reasons.append(N_("{n} appeals wait for the supervisor's ruling.", n=waiting))
    standings = standings or await trade_standings(trade_id)
    if compare(current.rows, [published_row(r) for r in standings.rows]):
        reasons.append(
            N_(
                "The results changed after version {version} was published: publish them "
                "again first.",
                version=current.version,
            )
        )
    return FinalCheck(not reasons, reasons)


async def make_final(trade_id: int, *, actor: Actor) -> None:
    """Freeze the version on the board as the final result (最终结果)."""
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage != Stage.published:
            raise PhaseError("Only published results can be made final.", code="final_stage")
        check = await final_check(trade_id)
        if not check.ready:
            first = check.reasons[0]
            raise PhaseError(str(first), code="final_refused", **first.params)
        current = await board_version(trade_id)
        assert current is not None
        await move_in_transaction(state, Stage.final, actor=actor, mover=Mover.publication)
        await Publication.update(
            {Publication.status: PublicationStatus.final, Publication.ended_at: clock.now()}
        ).where(Publication.id == current.id)
        await audit.record(
            "results.final",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            new={"version": current.version},
        )
