"""Read-only views for the supervisor (监督仲裁): check-ins per session and the import batches of
a competition. Nothing here writes. Lists carry masked ID numbers only; counts are GROUP BYs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition.i18n import N_, Msg
from competition.tables import CompetitionSession, User
from registration import idcard
from registration.tables import CheckIn, Entry, EntryStatus, ImportBatch

CHECKINS_PAGE = 100
BATCHES_PAGE = 50
# The states of an import batch (ImportBatch.status) as the supervisor reads them.
BATCH_LABELS: dict[str, Msg] = {
    "checked": N_("Checked, not imported yet"),
    "imported": N_("Imported"),
    "discarded": N_("Nothing imported"),
    "expired": N_("Expired"),
}


async def sessions_with_checkins(competition_id: int) -> list[dict[str, Any]]:
    """Every session of the competition with the approved entries assigned to it and the
    check-ins recorded for it."""
    sessions = (
        await CompetitionSession.select(
            CompetitionSession.id,
            CompetitionSession.code,
            CompetitionSession.name,
            CompetitionSession.event,
            CompetitionSession.starts_at,
            CompetitionSession.trade.code,
            CompetitionSession.trade.name,
            CompetitionSession.trade.name_en,
            CompetitionSession.venue.name,
        )
        .where(CompetitionSession.trade.competition == competition_id)
        .order_by(CompetitionSession.starts_at)
        .order_by(CompetitionSession.trade.code)
    )
    assigned = {
        r["session"]: r["n"]
        for r in await Entry.select(Entry.session, Count(alias="n"))
        .where(
            (Entry.competition == competition_id)
            & (Entry.status == EntryStatus.approved.value)
            & Entry.session.is_not_null()
        )
        .group_by(Entry.session)
    }
    checked = {
        r["session"]: r["n"]
        for r in await CheckIn.select(CheckIn.session, Count(alias="n"))
        .where(CheckIn.session.trade.competition == competition_id)
        .group_by(CheckIn.session)
    }
    for s in sessions:
        s["assigned"] = assigned.get(s["id"], 0)
        s["checked_in"] = checked.get(s["id"], 0)
    return sessions


async def session_of(competition_id: int, session_id: int) -> dict[str, Any] | None:
    return (
        await CompetitionSession.select(
            CompetitionSession.all_columns(),
            CompetitionSession.trade.code,
            CompetitionSession.trade.name,
            CompetitionSession.trade.name_en,
            CompetitionSession.venue.name,
        )
        .where(
            (CompetitionSession.id == session_id)
            & (CompetitionSession.trade.competition == competition_id)
        )
        .first()
    )


@dataclass
class CheckInPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


async def checkins(session_id: int, page: int = 1) -> CheckInPage:
    """The check-ins of one session, in the order they happened, with who checked each in."""
    total = await CheckIn.count().where(CheckIn.session == session_id)
    pages = max(1, -(-total // CHECKINS_PAGE))
    page = min(max(1, page), pages)
    rows = (
        await CheckIn.select(
            CheckIn.id,
            CheckIn.checked_in_at,
            CheckIn.checked_in_by,
            CheckIn.entry,
            CheckIn.entry.ticket_number,
            CheckIn.entry.person.name,
            CheckIn.entry.person.id_number,
            CheckIn.entry.delegation.name,
        )
        .where(CheckIn.session == session_id)
        .order_by(CheckIn.id)
        .limit(CHECKINS_PAGE)
        .offset((page - 1) * CHECKINS_PAGE)
    )
    names = await _user_names([r["checked_in_by"] for r in rows])
    for row in rows:
        row["id_masked"] = idcard.mask(row.pop("entry.person.id_number"))
        row["clerk"] = names.get(row["checked_in_by"], "")
    return CheckInPage(rows=rows, total=total, page=page, pages=pages)


async def _user_names(ids: list[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(wanted))
    return {r["id"]: r["display_name"] for r in rows}


@dataclass
class BatchPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


async def import_batches(competition_id: int, page: int = 1) -> BatchPage:
    """The registration imports of a competition, newest first: file, delegation, who, when,
    and what the dry run found and the import did (never the file itself)."""
    condition = ImportBatch.competition == competition_id
    total = await ImportBatch.count().where(condition)
    pages = max(1, -(-total // BATCHES_PAGE))
    page = min(max(1, page), pages)
    rows = (
        await ImportBatch.select(
            ImportBatch.id,
            ImportBatch.filename,
            ImportBatch.status,
            ImportBatch.summary,
            ImportBatch.user_id,
            ImportBatch.created_at,
            ImportBatch.delegation.name,
        )
        .where(condition)
        .order_by(ImportBatch.id, ascending=False)
        .limit(BATCHES_PAGE)
        .offset((page - 1) * BATCHES_PAGE)
    )
    names = await _user_names([r["user_id"] for r in rows])
    for row in rows:
        summary = row.pop("summary")
        if isinstance(summary, str):
            summary = json.loads(summary or "{}")
        summary = summary if isinstance(summary, dict) else {}
        row["counts"] = summary.get("counts") or {}
        row["result"] = summary.get("result") or {}
        row["uploader"] = names.get(row["user_id"], "")
    return BatchPage(rows=rows, total=total, page=page, pages=pages)
