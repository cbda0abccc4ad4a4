"""Read-side queries over entries for the review pages and exports.

Every list is filtered, counted and paginated in SQL (a competition holds up to 200,000
entries): one query for the page of rows, one GROUP BY for the counts per status, never a
query per row. Lists carry masked ID numbers only; the full number leaves this module only
through `entry_detail(..., full_id=True)` and `export_batches(..., full_id=True)`, the two places
an organizer needs it.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition.db import is_postgres
from competition.i18n import N_, Msg
from competition.tables import AuditLog, CompetitionSession, Trade
from registration import idcard

# The quota overview lives in registration/quota_usage.py; the delegation's pages call it here.
from registration.quota_usage import QuotaOverview, quota_overview  # noqa: F401
from registration.tables import Entry, EntryStatus, Photo

PAGE_SIZE = 50
MAX_SEARCH = 50

STATUS_LABELS: dict[str, Msg] = {
    EntryStatus.submitted.value: N_("Waiting for first review"),
    EntryStatus.delegation_approved.value: N_("Passed first review"),
    EntryStatus.approved.value: N_("Approved"),
    EntryStatus.rejected.value: N_("Rejected"),
    EntryStatus.revoked.value: N_("Revoked"),
}
# The badge class of each status (static/css/app.css).
STATUS_BADGES = {
    EntryStatus.submitted.value: "",
    EntryStatus.delegation_approved.value: "warn",
    EntryStatus.approved.value: "ok",
    EntryStatus.rejected.value: "bad",
    EntryStatus.revoked.value: "bad",
}
GENDER_LABELS: dict[str, Msg] = {"male": N_("Male"), "female": N_("Female")}
# What each audit action on an entry means, for the history shown on the entry's page.
HISTORY_LABELS: dict[str, Msg] = {
    "entry.create": N_("Registered"),
    "entry.update": N_("Corrected and sent back to review"),
    "entry.delegation_approved": N_("Passed first review"),
    "entry.approved": N_("Approved in final review"),
    "entry.rejected": N_("Rejected"),
    "entry.revoked": N_("Revoked"),
    "entry.withdraw": N_("Withdrawn"),
    "entry.check_in": N_("Checked in at the venue"),
}
REASON_CODES: dict[str, dict[str, Msg]] = {
    "resubmitted": {"entry.update": N_("Corrected and resubmitted")},
    "import": {
        "entry.create": N_("Registered through an Excel import"),
        "entry.update": N_("Corrected through an Excel import and sent back to review"),
    },
}

_ID_SUFFIX = re.compile(r"^[0-9X]{3,18}$")


def name_like(column: Any, text: str) -> Any:
    # SQLite's LIKE already ignores ASCII case and warns about ILIKE.
    pattern = f"%{text}%"
    return column.ilike(pattern) if is_postgres() else column.like(pattern)


def status_label(status: str) -> Msg:
    return STATUS_LABELS.get(status, N_("Unknown"))


# ---------------------------------------------------------------------------- entry lists


@dataclass(frozen=True)
class EntryFilter:
    competition_id: int
    delegation_id: int | None = None
    trade_id: int | None = None
    status: str | None = None  # None: every status
    # A name, part of one, or the last digits of an ID number (at least three).
    search: str = ""


@dataclass
class EntryPage:
    rows: list[dict[str, Any]]
    total: int  # rows matching every filter
    page: int
    pages: int
    # Entries matching every filter but the status, by status: the tabs above a list.
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def all_statuses(self) -> int:
        return sum(self.status_counts.values())


def clean_search(text: str) -> str:
    return " ".join(text.split())[:MAX_SEARCH]


def _conditions(f: EntryFilter, *, with_status: bool = True) -> Any:
    conditions = [Entry.competition == f.competition_id]
    if f.delegation_id is not None:
        conditions.append(Entry.delegation == f.delegation_id)
    if f.trade_id is not None:
        conditions.append(Entry.trade == f.trade_id)
    if with_status and f.status is not None:
        conditions.append(Entry.status == f.status)
    search = clean_search(f.search)
    # LIKE wildcards typed by the user are taken literally by dropping them: no name or ID
    # number contains them.
    search = search.replace("%", "").replace("_", "")
    if search:
        digits = idcard.normalise(search)
        if _ID_SUFFIX.match(digits):
            conditions.append(Entry.person.id_number.like(f"%{digits}"))
        else:
            conditions.append(name_like(Entry.person.name, search))
    return functools.reduce(operator.and_, conditions)


async def status_counts(f: EntryFilter) -> dict[str, int]:
    rows = (
        await Entry.select(Entry.status, Count(alias="n"))
        .where(_conditions(f, with_status=False))
        .group_by(Entry.status)
    )
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


_LIST_COLUMNS = (
    Entry.id,
    Entry.status,
    Entry.group_name,
    Entry.review_note,
    Entry.rejected_by,
    Entry.ticket_number,
    Entry.submitted_at,
    Entry.trade,
    Entry.delegation,
    Entry.person.name,
    Entry.person.id_number,
    Entry.person.gender,
    Entry.person.birth_date,
    Entry.trade.code,
    Entry.trade.name,
    Entry.trade.name_en,
    Entry.delegation.code,
    Entry.delegation.name,
)


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    row["id_masked"] = idcard.mask(row.pop("person.id_number"))
    return row


async def list_entries(f: EntryFilter, page: int = 1, page_size: int = PAGE_SIZE) -> EntryPage:
    counts = await status_counts(f)
    total = counts.get(f.status, 0) if f.status is not None else sum(counts.values())
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = (
        await Entry.select(*_LIST_COLUMNS)
        .where(_conditions(f))
        .order_by(Entry.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return EntryPage(
        rows=[_masked(r) for r in rows],
        total=total,
        page=page,
        pages=pages,
        status_counts=counts,
    )


async def entry_labels(
    competition_id: int, entry_ids: list[int], delegation_id: int | None
) -> dict[int, str]:
    """Names for a review's outcome. With `delegation_id`, only that delegation's entries are
    named: an id typed in from elsewhere stays a bare number."""
    if not entry_ids:
        return {}
    query = Entry.select(Entry.id, Entry.person.name, Entry.trade.name).where(
        Entry.id.is_in(entry_ids) & (Entry.competition == competition_id)
    )
    if delegation_id is not None:
        query = query.where(Entry.delegation == delegation_id)
    return {r["id"]: f"{r['person.name']} · {r['trade.name']}" for r in await query}


# ---------------------------------------------------------------------------- one entry


async def entry_detail(entry: dict[str, Any], *, full_id: bool) -> dict[str, Any]:
    """An entry as `registration.entries.get_entry` returns it, with what its page shows
    besides: the session, whether there is a photo, and the ID number masked unless
    `full_id`."""
    detail = dict(entry)
    number = detail["person.id_number"]
    detail["id_masked"] = idcard.mask(number)
    if not full_id:
        detail.pop("person.id_number")
    detail["has_photo"] = await Photo.exists().where(Photo.person == entry["person"])
    detail["session_info"] = None
    if entry["session"] is not None:
        detail["session_info"] = (
            await CompetitionSession.select(
                CompetitionSession.code,
                CompetitionSession.name,
                CompetitionSession.starts_at,
                CompetitionSession.venue.name,
            )
            .where(CompetitionSession.id == entry["session"])
            .first()
        )
    return detail


async def entry_history(entry_id: int) -> list[dict[str, Any]]:
    rows = (
        await AuditLog.select(
            AuditLog.at, AuditLog.actor_name, AuditLog.action, AuditLog.reason, AuditLog.new
        )
        .where((AuditLog.object_type == "entry") & (AuditLog.object_id == str(entry_id)))
        .order_by(AuditLog.id)
        .output(load_json=True)
    )
    for row in rows:
        action, reason = row["action"], row["reason"]
        row["label"] = HISTORY_LABELS.get(action, N_("Changed"))
        row["code"] = "" if action in HISTORY_LABELS else action
        # Writers of these records mark how a change came with a code in the reason field.
        if reason in REASON_CODES:
            row["label"] = REASON_CODES[reason].get(action, row["label"])
            row["reason"] = ""
        new = row.pop("new") or {}
        row["by"] = new.get("by", "") if isinstance(new, dict) else ""
    return rows


# ---------------------------------------------------------------------------- exports


_EXPORT_COLUMNS = (
    Entry.id,
    Entry.status,
    Entry.group_name,
    Entry.review_note,
    Entry.ticket_number,
    Entry.person.name,
    Entry.person.id_number,
    Entry.person.gender,
    Entry.person.birth_date,
    Entry.person.phone,
    Entry.person.employer,
    Entry.person.job,
    Entry.person.skill_level,
    Entry.person.years_of_service,
    Entry.trade.code,
    Entry.trade.name,
    Entry.delegation.code,
    Entry.delegation.name,
    Entry.session.code,
    Entry.session.name,
    Entry.session.starts_at,
)


async def export_batches(f: EntryFilter, *, full_id: bool) -> AsyncIterator[list[dict[str, Any]]]:
    """Every entry matching the filter, one trade at a time (in the trades' order), each
    trade's by delegation: a list of 200,000 never sits in memory whole."""
    trades = Trade.select(Trade.id).where(Trade.competition == f.competition_id)
    if f.trade_id is not None:
        trades = trades.where(Trade.id == f.trade_id)
    for trade in await trades.order_by(Trade.sort_order).order_by(Trade.code):
        rows = (
            await Entry.select(*_EXPORT_COLUMNS)
            .where(_conditions(replace(f, trade_id=trade["id"])))
            .order_by(Entry.delegation.sort_order)
            .order_by(Entry.delegation.code)
            .order_by(Entry.id)
        )
        for row in rows:
            if not full_id:
                row["person.id_number"] = idcard.mask(row["person.id_number"])
        if rows:
            yield rows
