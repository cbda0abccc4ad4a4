"""How the quotas (名额) of a competition are used, for the organizer's and the supervisor's
quota pages and the delegation's strip of its own quotas.

Every count follows the one definition in `registration/quotas.py`: a place is used by an entry
that passed first review or was approved (`HOLDS_PLACE`); a quota row without a number is
unlimited (不限); a delegation × trade without a row has no places; a trade's own cap counts
approved entries. Two different things are counted and always named apart:

- **quota rows** (配额条目): one per delegation × trade the organizer set up;
- **places** (名额): the sum of the rows' numbers, unlimited rows aside.

The entries are counted by the database in one GROUP BY (delegation, trade, status); the rest is
arithmetic on at most delegations × trades cells.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition.tables import Delegation, Quota, Trade
from registration.quotas import HOLDS_PLACE, Places, cap_for, trade_approved
from registration.tables import Entry, EntryStatus

# Counts kept per cell; `held` = places used (HOLDS_PLACE), `waiting` = passed first review and
# waiting for the organizer.
_SUMMED = ("submitted", "waiting", "approved", "held", "rejected", "revoked")
MATRIX_TRADES_PER_PAGE = 10
ONLY = ("full", "over")  # the matrix's "only full / only over" filter


def _zero() -> dict[str, int]:
    return dict.fromkeys(_SUMMED, 0)


def _cell(cap: int | None, counts: dict[str, int], *, has_quota: bool) -> dict[str, Any]:
    places = Places(cap=cap, used=counts["held"])
    return {
        **counts,
        "cap": cap,
        "has_quota": has_quota,
        "unlimited": places.unlimited,
        "free": places.free,
        "full": places.full,
        "over": places.over,
    }


@dataclass(slots=True)
class PlaceTotals:
    """Totals over some cells, with rows and places apart."""

    quota_rows: int = 0
    places: int = 0  # sum of the limited rows' caps
    unlimited_rows: int = 0
    full: int = 0  # cells whose places are all used
    over: int = 0  # cells using more places than they have
    submitted: int = 0
    waiting: int = 0
    approved: int = 0
    held: int = 0
    rejected: int = 0
    revoked: int = 0

    def add(self, cell: dict[str, Any]) -> None:
        # Spelled out: this runs three times per cell (its row, its column, the whole).
        if cell["has_quota"]:
            self.quota_rows += 1
            if cell["cap"] is None:
                self.unlimited_rows += 1
            else:
                self.places += cell["cap"]
        self.full += cell["full"]
        self.over += cell["over"]
        self.submitted += cell["submitted"]
        self.waiting += cell["waiting"]
        self.approved += cell["approved"]
        self.held += cell["held"]
        self.rejected += cell["rejected"]
        self.revoked += cell["revoked"]


async def _pair_counts(conditions: list[Any]) -> dict[tuple[int, int], dict[str, int]]:
    rows = (
        await Entry.select(Entry.delegation, Entry.trade, Entry.status, Count(alias="n"))
        .where(functools.reduce(operator.and_, conditions))
        .group_by(Entry.delegation, Entry.trade, Entry.status)
    )
    pairs: dict[tuple[int, int], dict[str, int]] = defaultdict(_zero)
    for row in rows:
        cell = pairs[(row["delegation"], row["trade"])]
        status, n = row["status"], row["n"]
        if status in HOLDS_PLACE:
            cell["held"] += n
        if status == EntryStatus.delegation_approved.value:
            cell["waiting"] += n
        elif status in cell:
            cell[status] += n
    return pairs


async def _cells(
    competition_id: int, *, industry_id: int | None, delegation_id: int | None
) -> dict[tuple[int, int], dict[str, Any]]:
    """Every delegation × trade that has a quota row or entries, filtered."""
    quota_filter = [Quota.trade.competition == competition_id]
    entry_filter = [Entry.competition == competition_id]
    if industry_id is not None:
        quota_filter.append(Quota.trade.industry == industry_id)
        entry_filter.append(Entry.trade.industry == industry_id)
    if delegation_id is not None:
        quota_filter.append(Quota.delegation == delegation_id)
        entry_filter.append(Entry.delegation == delegation_id)
    caps = {
        (q["delegation"], q["trade"]): q["max_entries"]
        for q in await Quota.select(Quota.delegation, Quota.trade, Quota.max_entries).where(
            functools.reduce(operator.and_, quota_filter)
        )
    }
    counts = await _pair_counts(entry_filter)
    return {
        pair: _cell(cap_for(caps, pair), counts.get(pair) or _zero(), has_quota=pair in caps)
        for pair in set(caps) | set(counts)
    }


async def _delegations(competition_id: int, delegation_id: int | None) -> list[dict[str, Any]]:
    query = Delegation.select(
        Delegation.id, Delegation.code, Delegation.name, Delegation.sort_order
    ).where(Delegation.competition == competition_id)
    if delegation_id is not None:
        query = query.where(Delegation.id == delegation_id)
    return await query.order_by(Delegation.sort_order).order_by(Delegation.code)


async def _trades(competition_id: int, industry_id: int | None) -> list[dict[str, Any]]:
    query = Trade.select(
        Trade.id,
        Trade.code,
        Trade.name,
        Trade.name_en,
        Trade.industry,
        Trade.max_entries,
        Trade.sort_order,
    ).where(Trade.competition == competition_id)
    if industry_id is not None:
        query = query.where(Trade.industry == industry_id)
    return (
        await query.order_by(Trade.industry.sort_order)
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )


# ---------------------------------------------------------------------------- overview


@dataclass
class QuotaOverview:
    rows: list[dict[str, Any]]  # one per delegation × trade, ordered by delegation then trade
    by_delegation: list[dict[str, Any]]
    by_trade: list[dict[str, Any]]
    totals: PlaceTotals


async def quota_overview(
    competition_id: int, *, industry_id: int | None = None, delegation_id: int | None = None
) -> QuotaOverview:
    """Cap and use of every delegation × trade quota (and of any pair holding entries without
    one). Each row: `delegation`, `trade`, `cap` (None = unlimited), `has_quota`, `held`,
    `waiting`, `approved`, `submitted`, `rejected`, `revoked`, `free`, `full`, `over`."""
    cells = await _cells(competition_id, industry_id=industry_id, delegation_id=delegation_id)
    delegations = {d["id"]: d for d in await _delegations(competition_id, delegation_id)}
    trades = {t["id"]: t for t in await _trades(competition_id, industry_id)}
    order_d = {d: i for i, d in enumerate(delegations)}
    order_t = {t: i for i, t in enumerate(trades)}
    pairs = sorted(cells, key=lambda pair: (order_d[pair[0]], order_t[pair[1]]))
    rows = [{"delegation": delegations[d], "trade": trades[t], **cells[(d, t)]} for d, t in pairs]
    by_delegation: dict[int, dict[str, Any]] = {}
    by_trade: dict[int, dict[str, Any]] = {}
    totals = PlaceTotals()
    for row in rows:
        totals.add(row)
        d = by_delegation.setdefault(
            row["delegation"]["id"], {"delegation": row["delegation"], "totals": PlaceTotals()}
        )
        d["totals"].add(row)
        t = by_trade.setdefault(
            row["trade"]["id"], {"trade": row["trade"], "totals": PlaceTotals()}
        )
        t["totals"].add(row)
    await _trade_caps(list(by_trade.values()), "trade")
    return QuotaOverview(
        rows=rows,
        by_delegation=list(by_delegation.values()),
        by_trade=list(by_trade.values()),
        totals=totals,
    )


async def _trade_caps(columns: list[dict[str, Any]], key: str | None) -> None:
    """Each trade's own cap (`Trade.max_entries`, None: no cap), what it counts over every
    delegation (whatever the page's filter), and whether it is reached."""
    trades = [c[key] if key else c for c in columns]
    used = await trade_approved([t["id"] for t in trades if t["max_entries"] is not None])
    for column, trade in zip(columns, trades, strict=True):
        cap = trade["max_entries"]
        column["trade_cap"] = cap
        column["trade_cap_used"] = used.get(trade["id"], 0)
        column["trade_full"] = cap is not None and column["trade_cap_used"] >= cap


# ---------------------------------------------------------------------------- matrix


@dataclass
class QuotaMatrix:
    """A page of the delegation × trade matrix: every (filtered) delegation is a row, a page of
    trades are the columns; the row totals cover every filtered trade, not only this page."""

    delegations: list[dict[str, Any]]  # each with "totals" (PlaceTotals)
    trades: list[dict[str, Any]]  # this page's, each with "totals", "trade_cap", "trade_full"
    cells: dict[tuple[int, int], dict[str, Any]]
    totals: PlaceTotals
    trade_count: int  # trades over every page
    page: int
    pages: int

    def cell(self, delegation_id: int, trade_id: int) -> dict[str, Any] | None:
        return self.cells.get((delegation_id, trade_id))


def _matches(cell: dict[str, Any] | None, only: str) -> bool:
    if cell is None:
        return False
    return cell["over"] if only == "over" else cell["full"]


async def quota_matrix(
    competition_id: int,
    *,
    industry_id: int | None = None,
    delegation_id: int | None = None,
    only: str = "",
    page: int = 1,
    per_page: int = MATRIX_TRADES_PER_PAGE,
) -> QuotaMatrix:
    """`only` = "full" keeps the delegations and trades with at least one full cell (a cell
    using more places than it has is full too), "over" those with a cell over its quota."""
    cells = await _cells(competition_id, industry_id=industry_id, delegation_id=delegation_id)
    delegations = await _delegations(competition_id, delegation_id)
    trades = await _trades(competition_id, industry_id)
    if only in ONLY:
        hits = [pair for pair, cell in cells.items() if _matches(cell, only)]
        keep_d = {d for d, _t in hits}
        keep_t = {t for _d, t in hits}
        delegations = [d for d in delegations if d["id"] in keep_d]
        trades = [t for t in trades if t["id"] in keep_t]
    pages = max(1, -(-len(trades) // per_page))
    page = min(max(1, page), pages)
    shown = trades[(page - 1) * per_page : page * per_page]
    kept = {t["id"] for t in trades}
    totals = PlaceTotals()
    row_totals = {d["id"]: PlaceTotals() for d in delegations}
    column_totals = {t["id"]: PlaceTotals() for t in shown}  # only the page's columns show
    for (d, t), cell in cells.items():
        if d in row_totals and t in kept:
            row_totals[d].add(cell)
            totals.add(cell)
            if t in column_totals:
                column_totals[t].add(cell)
    for d in delegations:
        d["totals"] = row_totals[d["id"]]
    for t in shown:
        t["totals"] = column_totals[t["id"]]
    await _trade_caps(shown, None)
    shown_ids = {t["id"] for t in shown}
    return QuotaMatrix(
        delegations=delegations,
        trades=shown,
        cells={pair: cell for pair, cell in cells.items() if pair[1] in shown_ids},
        totals=totals,
        trade_count=len(trades),
        page=page,
        pages=pages,
    )
