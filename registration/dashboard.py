"""The registration dashboard (报名统计) of one competition: how many entries there are, where
each waits in review, by delegation, by trade and by day.

Two statements whatever the size of the competition: one GROUP BY (delegation, trade, status)
from which the totals, the delegations and the trades are summed (at most delegations × trades ×
statuses rows), and one GROUP BY hour of registration, folded into local days here (the zone is
the display zone, so a day is the organizer's day; an hour never straddles two local days in a
zone whose offset is whole hours, as China's is).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition.clock import DISPLAY_TIMEZONE
from competition.db import is_postgres
from competition.i18n import N_, Msg
from competition.tables import Delegation, Industry, Trade
from registration.tables import Entry, EntryStatus

# The review levels in the order an entry passes them, with what each means for the organizer.
LEVELS: tuple[tuple[str, Msg], ...] = (
    (EntryStatus.submitted.value, N_("Waiting for first review")),
    (EntryStatus.delegation_approved.value, N_("Waiting for final review")),
    (EntryStatus.approved.value, N_("Approved")),
    (EntryStatus.rejected.value, N_("Rejected")),
    (EntryStatus.revoked.value, N_("Revoked")),
)
STATUSES = tuple(status for status, _label in LEVELS)
# Chart colours per level (static/css/app.css uses the same for the legend in tables).
COLORS = {
    EntryStatus.submitted.value: "#7f9cc4",
    EntryStatus.delegation_approved.value: "#e0a526",
    EntryStatus.approved.value: "#2e8b57",
    EntryStatus.rejected.value: "#c8453b",
    EntryStatus.revoked.value: "#6e4b47",
}
# The chart by day shows at most this many days, the last ones; entries registered before are
# counted apart (`Dashboard.before_days`).
MAX_DAYS = 120


def _zero() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass
class Group:
    """A delegation, trade or industry with its entries per status."""

    id: int
    code: str
    name: str
    name_en: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def values(self) -> list[int]:
        return [self.counts[s] for s in STATUSES]


@dataclass
class Dashboard:
    totals: dict[str, int]
    by_delegation: list[Group]
    by_trade: list[Group]
    by_industry: list[Group]
    by_day: list[tuple[dt.date, int]]
    before_days: int = 0  # entries registered before the first day of `by_day`

    @property
    def total(self) -> int:
        return sum(self.totals.values())


async def dashboard(competition_id: int) -> Dashboard:
    counts = (
        await Entry.select(Entry.delegation, Entry.trade, Entry.status, Count(alias="n"))
        .where(Entry.competition == competition_id)
        .group_by(Entry.delegation, Entry.trade, Entry.status)
    )
    delegations = await (
        Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    )
    trades = await (
        Trade.select(Trade.id, Trade.code, Trade.name, Trade.name_en, Trade.industry)
        .where(Trade.competition == competition_id)
        .order_by(Trade.industry.sort_order)
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )
    industries = await (
        Industry.select(Industry.id, Industry.code, Industry.name, Industry.name_en)
        .where(Industry.competition == competition_id)
        .order_by(Industry.sort_order)
        .order_by(Industry.code)
    )
    by_delegation = {d["id"]: Group(**d, name_en="", counts=_zero()) for d in delegations}
    by_trade = {
        t["id"]: Group(t["id"], t["code"], t["name"], t["name_en"], _zero()) for t in trades
    }
    industry_of = {t["id"]: t["industry"] for t in trades}
    by_industry = {i["id"]: Group(**i, counts=_zero()) for i in industries}
    totals = _zero()
    for row in counts:
        status, n = row["status"], row["n"]
        if status not in totals:
            continue
        totals[status] += n
        by_delegation[row["delegation"]].counts[status] += n
        by_trade[row["trade"]].counts[status] += n
        by_industry[industry_of[row["trade"]]].counts[status] += n
    by_day, before_days = await registrations_by_day(competition_id)
    return Dashboard(
        totals=totals,
        by_delegation=list(by_delegation.values()),
        by_trade=list(by_trade.values()),
        by_industry=list(by_industry.values()),
        by_day=by_day,
        before_days=before_days,
    )


async def registrations_by_day(competition_id: int) -> tuple[list[tuple[dt.date, int]], int]:
    """Entries registered per local day, every day from the first to the last (days without
    any included), at most the last MAX_DAYS; and the number registered before those."""
    if is_postgres():  # a timestamp per hour (cheaper to group than formatted text)
        hour = "date_trunc('hour', created_at AT TIME ZONE 'UTC')"
    else:  # SQLite's strftime reads the stored offset and answers in UTC
        hour = "strftime('%Y-%m-%d %H', created_at)"
    rows = await Entry.raw(
        f"SELECT {hour} AS hour, COUNT(*) AS n FROM entry WHERE competition = {{}} GROUP BY 1",  # noqa: S608 - fixed text
        competition_id,
    )
    days: Counter[dt.date] = Counter()
    for row in rows:
        if row["hour"] is None:
            continue
        hour = row["hour"]
        if isinstance(hour, str):
            hour = dt.datetime.strptime(hour, "%Y-%m-%d %H")
        start = hour.replace(tzinfo=dt.UTC)
        days[start.astimezone(DISPLAY_TIMEZONE).date()] += row["n"]
    if not days:
        return [], 0
    first, last = min(days), max(days)
    shown_from = max(first, last - dt.timedelta(days=MAX_DAYS - 1))
    series = []
    day = shown_from
    while day <= last:
        series.append((day, days.get(day, 0)))
        day += dt.timedelta(days=1)
    return series, sum(n for day, n in days.items() if day < shown_from)


def top(groups: list[Group], n: int) -> list[Group]:
    """The n groups with the most entries (a chart of a hundred trades is a wall)."""
    return sorted((g for g in groups if g.total), key=lambda g: -g.total)[:n]


def level_rows(dashboard: Dashboard) -> list[dict[str, Any]]:
    return [
        {"status": status, "label": label, "n": dashboard.totals[status]}
        for status, label in LEVELS
    ]
