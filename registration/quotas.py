"""Quotas (名额): the one definition of what uses a place, for the import, the review and every
overview.

- A delegation's quota in a trade (`competition.tables.Quota`) limits the entries that **passed
  first review**: `delegation_approved` and `approved` use a place. A submitted entry is a
  candidate: a delegation may register more people than it has places and choose at first
  review, and a contestant who registers online cannot take a place the delegation meant for
  someone else. Rejected and revoked entries use nothing.
- A quota row with `max_entries` None is unlimited; a delegation × trade without a row has no
  places at all (0), so nobody can be admitted where the organizer gave no quota.
- A trade's optional cap (`Trade.max_entries`) limits the **approved** entries over all
  delegations: it is checked at final review.

Counting is one GROUP BY in the database; the checks on the counts are pure functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count

from competition.tables import Quota, Trade
from registration.tables import Entry, EntryStatus

# The statuses that use a place of the delegation's quota (see the module docstring).
HOLDS_PLACE: tuple[str, ...] = (EntryStatus.delegation_approved.value, EntryStatus.approved.value)
# The statuses a trade's cap counts.
COUNTS_FOR_TRADE_CAP: tuple[str, ...] = (EntryStatus.approved.value,)

Pair = tuple[int, int]  # (delegation id, trade id)


@dataclass(frozen=True)
class Places:
    """One delegation × trade: its cap (None = unlimited) and the places in use."""

    cap: int | None
    used: int

    @property
    def unlimited(self) -> bool:
        return self.cap is None

    @property
    def free(self) -> int | None:
        """Places left (never negative), None when unlimited."""
        return None if self.cap is None else max(self.cap - self.used, 0)

    @property
    def full(self) -> bool:
        return self.cap is not None and self.used >= self.cap

    @property
    def over(self) -> bool:
        """More places in use than the cap, e.g. after the organizer lowered a quota."""
        return self.cap is not None and self.used > self.cap


def cap_for(caps: dict[Pair, int | None], pair: Pair) -> int | None:
    """The cap of a pair: its quota row's value (None = unlimited), 0 without a row."""
    return caps.get(pair, 0)


def has_room(cap: int | None, used: int, adding: int = 1) -> bool:
    return cap is None or used + adding <= cap


async def caps(
    *,
    trade_ids: Iterable[int] | None = None,
    competition_id: int | None = None,
    delegation_id: int | None = None,
) -> dict[Pair, int | None]:
    """Every quota row of the given trades (or of a whole competition; of one delegation
    only, when given): pair → cap."""
    query = Quota.select(Quota.delegation, Quota.trade, Quota.max_entries)
    if delegation_id is not None:
        query = query.where(Quota.delegation == delegation_id)
    if trade_ids is not None:
        query = query.where(Quota.trade.is_in(sorted(set(trade_ids)) or [0]))
    if competition_id is not None:
        query = query.where(Quota.trade.competition == competition_id)
    return {(r["delegation"], r["trade"]): r["max_entries"] for r in await query}


async def places_used(
    *,
    trade_ids: Iterable[int] | None = None,
    competition_id: int | None = None,
    delegation_id: int | None = None,
    statuses: tuple[str, ...] = HOLDS_PLACE,
) -> Counter[Pair]:
    """Places in use per delegation × trade, by the database (GROUP BY). Final review counts
    the approved ones alone (`statuses=COUNTS_FOR_TRADE_CAP`): an entry it approves already
    holds its place, and the organizer admits at most the cap of a pair even when the quota
    was lowered after first review."""
    condition = Entry.status.is_in(list(statuses))
    if trade_ids is not None:
        condition &= Entry.trade.is_in(sorted(set(trade_ids)) or [0])
    if competition_id is not None:
        condition &= Entry.competition == competition_id
    if delegation_id is not None:  # a delegation's review reads its own pairs alone
        condition &= Entry.delegation == delegation_id
    rows = (
        await Entry.select(Entry.delegation, Entry.trade, Count(alias="n"))
        .where(condition)
        .group_by(Entry.delegation, Entry.trade)
    )
    return Counter({(r["delegation"], r["trade"]): r["n"] for r in rows})


async def places(
    *, trade_ids: Iterable[int] | None = None, competition_id: int | None = None
) -> dict[Pair, Places]:
    """Cap and use of every pair that has a quota row or uses places."""
    trade_list = None if trade_ids is None else sorted(set(trade_ids))
    known = await caps(trade_ids=trade_list, competition_id=competition_id)
    used = await places_used(trade_ids=trade_list, competition_id=competition_id)
    return {
        pair: Places(cap=cap_for(known, pair), used=used.get(pair, 0))
        for pair in set(known) | set(used)
    }


async def trade_caps(trade_ids: Iterable[int]) -> dict[int, int | None]:
    """Each trade's own cap on approved entries (None: no cap)."""
    rows = await Trade.select(Trade.id, Trade.max_entries).where(
        Trade.id.is_in(sorted(set(trade_ids)) or [0])
    )
    return {r["id"]: r["max_entries"] for r in rows}


async def trade_approved(trade_ids: Iterable[int]) -> Counter[int]:
    """Entries each trade's cap counts."""
    rows = (
        await Entry.select(Entry.trade, Count(alias="n"))
        .where(
            Entry.trade.is_in(sorted(set(trade_ids)) or [0])
            & Entry.status.is_in(list(COUNTS_FOR_TRADE_CAP))
        )
        .group_by(Entry.trade)
    )
    return Counter({r["trade"]: r["n"] for r in rows})
