"""Two-level review (初审 by the delegation, 终审 by the organizer), quotas, and revocation.

Quotas are registration/quotas.py's, the one definition: a delegation passes at first review at
most its quota of entries in a trade (`delegation_approved` and `approved` use a place; a quota
left unlimited has no cap; no quota row means no places), and the organizer admits at final
review at most the quota's number of approved entries and at most the trade's own cap.

Two reviewers (or one reviewer's two tabs) acting on the same entries at once are served one
after the other, and the second sees what the first did. On PostgreSQL each review locks, in
this order, the trade rows, the quota rows (the import locks quotas in the same order) and then
the entry rows (`SELECT … FOR UPDATE`), and reads the entries' status only under that lock;
SQLite's IMMEDIATE write transaction already serialises writers. So a final approval clicked
twice approves once, writes one audit record and issues one ticket number.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition import audit, services
from competition.audit import Actor
from competition.db import (
    among_ids,
    execute_many,
    fetch_rows,
    ids_param,
    is_postgres,
    timestamp_param,
    transaction,
)
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import Phase, require_phase
from competition.tables import Competition, CompetitionSession, EventKind, Quota, Trade
from registration import quotas
from registration.schemas import ReviewOutcome
from registration.tables import Entry, EntryStatus

REVIEW_PHASES = frozenset({Phase.registration, Phase.review})
REVOKE_PHASES = frozenset({Phase.registration, Phase.review, Phase.draw, Phase.competing})
MAX_REASON = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def required_reason(reason: str) -> str:
    """A reason the person concerned will read: required, at most `MAX_REASON` characters."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(
            "Give a reason: the contestant will see it.",
            code="reason_required",
            field_errors={"reason": "Give a reason: the contestant will see it."},
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            "At most {n} characters.",
            code="reason_too_long",
            field_errors={"reason": "At most {n} characters."},
            n=MAX_REASON,
        )
    return reason


async def _phase(competition_id: int, allowed: frozenset[Phase], action: Msg) -> None:
    row = await services.competition_for_action(competition_id, Competition.phase)
    require_phase(row["phase"], allowed, action)


# The entries a review acts on, with what it needs of their trade and competition. "+ 0": an
# expression has no declared type, so SQLite hands the integer over as it is instead of through
# Piccolo's converter for INTEGER columns (plain statements, not a Piccolo select with joins and
# `is_in`: a province's first review of 200,000 entries spent ~4 s building and reading those).
_ENTRY_KEYS = ("id", "status", "trade", "delegation", "ticket_number", "ticket_version",
               "session", "trade.code", "trade.name", "competition.code")  # fmt: skip
_ENTRIES_SQL = (
    "SELECT e.id + 0, e.status, e.trade + 0, e.delegation + 0, e.ticket_number, "
    'e.ticket_version + 0, e."session" + 0, t.code, t.name, c.code '
    "FROM entry e JOIN trade t ON t.id = e.trade JOIN competition c ON c.id = e.competition "
    "WHERE {ids} AND e.competition = ? ORDER BY e.id"
)


async def _entries(
    entry_ids: list[int], competition_id: int, *, lock: bool = False
) -> list[dict[str, Any]]:
    if not entry_ids:
        raise ValidationFailed("Choose at least one entry.", code="nothing_selected")
    sql = _ENTRIES_SQL.format(ids=among_ids("e.id"))
    if lock and is_postgres():
        # Only the entry rows: the joined trade and competition rows stay free.
        sql += " FOR UPDATE OF e"
    rows = await fetch_rows(sql, ids_param(entry_ids), competition_id)
    return [dict(zip(_ENTRY_KEYS, row, strict=True)) for row in rows]


async def _set_status(entry_ids: list[int], status: str, **also: Any) -> None:
    """The entries' new status and review time, and the other columns given in `also`."""
    stamp = timestamp_param(_now())
    columns = "".join(f', "{name}" = ?' for name in also)
    await fetch_rows(
        f"UPDATE entry SET status = ?, reviewed_at = ?, updated_at = ?{columns} "  # noqa: S608 - names from code
        f"WHERE {among_ids('id')}",
        status, stamp, stamp, *also.values(), ids_param(entry_ids),
    )  # fmt: skip


async def _lock(quota_pairs: set[tuple[int, int]], trade_ids: set[int]) -> None:
    """Serialize reviews touching the same trades and quotas (PostgreSQL; see module doc)."""
    for trade_id in sorted(trade_ids):
        await Trade.select(Trade.id).where(Trade.id == trade_id).lock_rows()
    for delegation_id, trade_id in sorted(quota_pairs):
        await (
            Quota.select(Quota.id)
            .where((Quota.delegation == delegation_id) & (Quota.trade == trade_id))
            .lock_rows()
        )


async def _read_locked(
    entry_ids: list[int],
    competition_id: int,
    *,
    quotas_too: bool = False,
    trades_too: bool = False,
    delegation_id: int | None = None,
) -> list[dict[str, Any]]:
    """The entries, read under their row lock after the trade and quota locks a review needs
    (`quotas_too`: the quotas of the entries' delegation × trade pairs, only `delegation_id`'s
    when given, as a delegation never counts another's quota). On SQLite the write
    transaction is already exclusive: one plain read.
    """
    if not is_postgres():
        return await _entries(entry_ids, competition_id)
    # Which trades and quotas to lock first comes from a read without locks; the status that
    # decides is read again below, under the entry rows' lock.
    preview = await _entries(entry_ids, competition_id)
    pairs = {
        (e["delegation"], e["trade"])
        for e in preview
        if quotas_too and delegation_id in (None, e["delegation"])
    }
    await _lock(pairs, {e["trade"] for e in preview} if trades_too else set())
    return await _entries(entry_ids, competition_id, lock=True)


async def _grouped(columns: list, where) -> Counter:
    """Entries counted per value of `columns`, by the database (GROUP BY)."""
    rows = await Entry.select(*columns, Count(alias="n")).where(where).group_by(*columns)
    names = [c._meta.name for c in columns]
    return Counter(
        {tuple(r[n] for n in names) if len(names) > 1 else r[names[0]]: r["n"] for r in rows}
    )


def _record(entry: dict[str, Any], new_status: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": f"entry.{new_status}",
        "object_id": entry["id"],
        "old": {"status": entry["status"]},
        "new": {"status": new_status, **extra},
    }


def _quota_full(entry: dict[str, Any], cap: int | None) -> Msg:
    return N_("The quota for “{trade}” is full ({cap} places).", trade=entry["trade.name"], cap=cap)


async def next_waiting(
    competition_id: int,
    *,
    status: str,
    after_id: int = 0,
    delegation_id: int | None = None,
    trade_id: int | None = None,
) -> int | None:
    """The entry a reviewer opens next: the first one in `status` after `after_id` (by id),
    else the first from the start; None when nothing else waits."""
    condition = (Entry.competition == competition_id) & (Entry.status == status)
    if delegation_id is not None:
        condition &= Entry.delegation == delegation_id
    if trade_id is not None:
        condition &= Entry.trade == trade_id
    for extra in (Entry.id > after_id, Entry.id != after_id):
        row = await Entry.select(Entry.id).where(condition & extra).order_by(Entry.id).first()
        if row is not None:
            return row["id"]
    return None


# ---------------------------------------------------------------------------- first review


async def review_by_delegation(
    competition_id: int,
    delegation_id: int,
    entry_ids: list[int],
    approve: bool,
    *,
    actor: Actor,
    reason: str = "",
) -> ReviewOutcome:
    """初审: a delegation approves or rejects its own entries, staying inside its quotas."""
    reason = "" if approve else required_reason(reason)
    outcome = ReviewOutcome()
    async with transaction():
        await _phase(competition_id, REVIEW_PHASES, N_("First review"))
        entries = await _read_locked(
            entry_ids, competition_id, quotas_too=approve, delegation_id=delegation_id
        )
        found = {e["id"] for e in entries}
        for missing in sorted(set(entry_ids) - found):
            outcome.refused.append((missing, N_("The entry was not found.")))
        mine = []
        for entry in entries:
            if entry["delegation"] != delegation_id:
                outcome.refused.append(
                    (entry["id"], N_("This entry belongs to another delegation."))
                )
            elif approve and entry["status"] != EntryStatus.submitted:
                outcome.refused.append(
                    (entry["id"], N_("Only a submitted entry can pass first review."))
                )
            elif not approve and entry["status"] not in (
                EntryStatus.submitted,
                EntryStatus.delegation_approved,
            ):
                outcome.refused.append(
                    (entry["id"], N_("Only an entry waiting for review can be rejected here."))
                )
            else:
                mine.append(entry)
        records = []
        if approve:
            trade_ids = {e["trade"] for e in mine}
            held = await quotas.places_used(trade_ids=trade_ids, delegation_id=delegation_id)
            caps = await quotas.caps(trade_ids=trade_ids, delegation_id=delegation_id)
            for entry in mine:
                pair = (entry["delegation"], entry["trade"])
                cap = quotas.cap_for(caps, pair)
                if not quotas.has_room(cap, held[pair]):
                    outcome.refused.append((entry["id"], _quota_full(entry, cap)))
                    continue
                held[pair] += 1
                outcome.done.append(entry["id"])
                records.append(_record(entry, EntryStatus.delegation_approved.value))
            new_status = EntryStatus.delegation_approved.value
        else:
            outcome.done = [e["id"] for e in mine]
            records = [_record(e, EntryStatus.rejected.value, by="delegation") for e in mine]
            new_status = EntryStatus.rejected.value
        if outcome.done:
            if approve:
                await _set_status(outcome.done, new_status)
            else:
                await _set_status(
                    outcome.done, new_status, review_note=reason, rejected_by="delegation"
                )
            await audit.record_many(
                records,
                actor=actor,
                object_type="entry",
                competition_id=competition_id,
                reason=reason,
            )
    return outcome


# ---------------------------------------------------------------------------- final review


async def _next_ticket_numbers(trade_ids: set[int]) -> dict[int, int]:
    """The highest ticket sequence used so far in each trade."""
    rows = await Entry.select(Entry.trade, Entry.ticket_number).where(
        Entry.trade.is_in(sorted(trade_ids) or [0]) & Entry.ticket_number.is_not_null()
    )
    highest: dict[int, int] = dict.fromkeys(trade_ids, 0)
    for row in rows:
        highest[row["trade"]] = max(highest[row["trade"]], int(row["ticket_number"][-4:]))
    return highest


async def _session_loads(trade_ids: set[int]) -> dict[int, list[list[int]]]:
    """Practical sessions of each trade with how many approved entries sit each: [[id, n]]."""
    sessions = (
        await CompetitionSession.select(CompetitionSession.id, CompetitionSession.trade)
        .where(
            CompetitionSession.trade.is_in(sorted(trade_ids) or [0])
            & (CompetitionSession.event == EventKind.practical.value)
        )
        .order_by(CompetitionSession.starts_at)
    )
    seated = await _grouped(
        [Entry.session],
        Entry.trade.is_in(sorted(trade_ids) or [0])
        & (Entry.status == EntryStatus.approved.value)
        & Entry.session.is_not_null(),
    )
    loads: dict[int, list[list[int]]] = {t: [] for t in trade_ids}
    for s in sessions:
        loads[s["trade"]].append([s["id"], seated[s["id"]]])
    return loads


def ticket_number(competition_code: str, trade_code: str, sequence: int) -> str:
    """准考证号: competition, trade and a 4-digit sequence, e.g. QH16-T001-0012."""
    return f"{competition_code}-{trade_code}-{sequence:04d}"


async def review_by_organizer(
    competition_id: int, entry_ids: list[int], approve: bool, *, actor: Actor, reason: str = ""
) -> ReviewOutcome:
    """终审: approve (within quotas and the trade's cap; issues the ticket and seats the
    contestant in the least-filled practical session) or reject."""
    reason = "" if approve else required_reason(reason)
    outcome = ReviewOutcome()
    async with transaction():
        await _phase(competition_id, REVIEW_PHASES, N_("Final review"))
        entries = await _read_locked(
            entry_ids, competition_id, quotas_too=approve, trades_too=approve
        )
        for missing in sorted(set(entry_ids) - {e["id"] for e in entries}):
            outcome.refused.append((missing, N_("The entry was not found.")))
        eligible = []
        for entry in entries:
            if approve and entry["status"] != EntryStatus.delegation_approved:
                outcome.refused.append(
                    (
                        entry["id"],
                        N_("Only an entry that passed first review can be approved."),
                    )
                )
            elif not approve and entry["status"] not in (
                EntryStatus.delegation_approved,
                EntryStatus.approved,
            ):
                outcome.refused.append(
                    (entry["id"], N_("Only an entry after first review can be rejected here."))
                )
            else:
                eligible.append(entry)
        if approve:
            records = await _approve(eligible, outcome)
            if outcome.done:
                await audit.record_many(
                    records, actor=actor, object_type="entry", competition_id=competition_id
                )
        else:
            outcome.done = [e["id"] for e in eligible]
            if outcome.done:
                await _set_status(
                    outcome.done,
                    EntryStatus.rejected.value,
                    review_note=reason,
                    rejected_by="organizer",
                    session=None,
                )
                await audit.record_many(
                    [_record(e, EntryStatus.rejected.value, by="organizer") for e in eligible],
                    actor=actor,
                    object_type="entry",
                    competition_id=competition_id,
                    reason=reason,
                )
    return outcome


async def _approve(entries: list[dict[str, Any]], outcome: ReviewOutcome) -> list[dict]:
    """Approve entries read under their locks (see `_read_locked`); returns audit records."""
    trade_ids = {e["trade"] for e in entries}
    approved = await quotas.places_used(trade_ids=trade_ids, statuses=quotas.COUNTS_FOR_TRADE_CAP)
    caps = await quotas.caps(trade_ids=trade_ids)
    trade_caps = await quotas.trade_caps(trade_ids)
    trade_totals = await quotas.trade_approved(trade_ids)
    sequences = await _next_ticket_numbers(trade_ids)
    loads = await _session_loads(trade_ids)
    seats = {
        trade: [(load, order, session) for order, (session, load) in enumerate(sessions)]
        for trade, sessions in loads.items()
    }
    for heap in seats.values():
        heapq.heapify(heap)
    stamp = timestamp_param(_now())
    records = []
    changes: list[tuple] = []
    for entry in sorted(entries, key=lambda e: e["id"]):
        pair = (entry["delegation"], entry["trade"])
        cap = quotas.cap_for(caps, pair)
        if not quotas.has_room(cap, approved[pair]):
            outcome.refused.append((entry["id"], _quota_full(entry, cap)))
            continue
        trade_cap = trade_caps.get(entry["trade"])
        if not quotas.has_room(trade_cap, trade_totals[entry["trade"]]):
            outcome.refused.append(
                (
                    entry["id"],
                    N_(
                        "“{trade}” has reached its cap of {cap} contestants.",
                        trade=entry["trade.name"],
                        cap=trade_cap,
                    ),
                )
            )
            continue
        approved[pair] += 1
        trade_totals[entry["trade"]] += 1
        number = entry["ticket_number"]
        if number is None:
            sequences[entry["trade"]] += 1
            number = ticket_number(
                entry["competition.code"], entry["trade.code"], sequences[entry["trade"]]
            )
        session_id = None
        if seats[entry["trade"]]:
            # The least-filled session, the earliest of equals: a heap of (load, order, id).
            load, order, session_id = heapq.heappop(seats[entry["trade"]])
            heapq.heappush(seats[entry["trade"]], (load + 1, order, session_id))
        changes.append((EntryStatus.approved.value, number, entry["ticket_version"] + 1,
                        session_id, stamp, stamp, entry["id"]))  # fmt: skip
        outcome.done.append(entry["id"])
        outcome.tickets[entry["id"]] = number
        records.append(
            _record(entry, EntryStatus.approved.value, ticket=number, session=session_id)
        )
    # One statement for every approved entry (a Piccolo update each cost ~1 ms: 200 s for a
    # province's 200,000).
    await execute_many(
        "UPDATE entry SET status = ?, ticket_number = ?, ticket_version = ?, session = ?, "
        "review_note = '', rejected_by = '', reviewed_at = ?, updated_at = ? WHERE id = ?",
        changes,
    )
    return records


# ---------------------------------------------------------------------------- revocation


async def revoke_entry(competition_id: int, entry_id: int, reason: str, *, actor: Actor) -> None:
    """取消资格: final; the ticket stops working at check-in."""
    reason = required_reason(reason)
    async with transaction():
        await _phase(competition_id, REVOKE_PHASES, N_("Revoking an entry"))
        entries = await _entries([entry_id], competition_id, lock=True)
        if not entries:
            raise NotFound("The entry was not found.", code="entry_not_found")
        entry = entries[0]
        if entry["status"] == EntryStatus.revoked:
            raise ValidationFailed("The entry is already revoked.", code="already_revoked")
        await Entry.update(
            {
                Entry.status: EntryStatus.revoked.value,
                Entry.review_note: reason,
                Entry.rejected_by: "organizer",
                Entry.updated_at: _now(),
            }
        ).where(Entry.id == entry_id)
        await audit.record(
            "entry.revoked",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=competition_id,
            old={"status": entry["status"]},
            new={"status": EntryStatus.revoked.value},
            reason=reason,
        )
