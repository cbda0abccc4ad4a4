"""Read-side queries over a competition's structure, shared by pages and the JSON API."""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from competition.schemas import SKILL_LEVELS, events_from_json
from competition.tables import (
    CompetitionSession,
    Delegation,
    Industry,
    Quota,
    Station,
    Trade,
    Venue,
)


async def industries(competition_id: int) -> list[dict[str, Any]]:
    return (
        await Industry.select()
        .where(Industry.competition == competition_id)
        .order_by(Industry.sort_order)
        .order_by(Industry.code)
    )


async def trades(competition_id: int, industry_id: int | None = None) -> list[dict[str, Any]]:
    query = Trade.select(Trade.all_columns(), Trade.industry.name, Trade.industry.code).where(
        Trade.competition == competition_id
    )
    if industry_id is not None:
        query = query.where(Trade.industry == industry_id)
    rows = (
        await query.order_by(Trade.industry.sort_order)
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
        .output(load_json=True)
    )
    for row in rows:
        row["event_list"] = events_from_json(row["events"])
    return rows


async def trades_by_industry(competition_id: int) -> list[dict[str, Any]]:
    groups = [dict(i, trades=[]) for i in await industries(competition_id)]
    by_id = {g["id"]: g for g in groups}
    for trade in await trades(competition_id):
        by_id[trade["industry"]]["trades"].append(trade)
    return groups


async def delegations(competition_id: int) -> list[dict[str, Any]]:
    return (
        await Delegation.select()
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    )


async def venues(competition_id: int) -> list[dict[str, Any]]:
    rows = await Venue.select().where(Venue.competition == competition_id).order_by(Venue.code)
    counts = await station_counts(competition_id)
    for row in rows:
        row["station_count"] = counts.get(row["id"], 0)
    return rows


async def station_counts(competition_id: int) -> dict[int, int]:
    rows = await Station.select(Station.venue).where(Station.venue.competition == competition_id)
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["venue"]] = counts.get(row["venue"], 0) + 1
    return counts


async def stations(competition_id: int, venue_id: int | None = None) -> list[dict[str, Any]]:
    query = Station.select(Station.all_columns(), Station.venue.code, Station.venue.name).where(
        Station.venue.competition == competition_id
    )
    if venue_id is not None:
        query = query.where(Station.venue == venue_id)
    return await query.order_by(Station.venue.code).order_by(Station.code)


async def sessions(competition_id: int, trade_id: int | None = None) -> list[dict[str, Any]]:
    query = CompetitionSession.select(
        CompetitionSession.all_columns(),
        CompetitionSession.trade.code,
        CompetitionSession.trade.name,
        CompetitionSession.venue.code,
        CompetitionSession.venue.name,
    ).where(CompetitionSession.trade.competition == competition_id)
    if trade_id is not None:
        query = query.where(CompetitionSession.trade == trade_id)
    return await query.order_by(CompetitionSession.starts_at).order_by(
        CompetitionSession.trade.code
    )


async def quotas(
    competition_id: int, *, trade_id: int | None = None, delegation_id: int | None = None
) -> list[dict[str, Any]]:
    query = Quota.select(
        Quota.all_columns(),
        Quota.trade.code,
        Quota.trade.name,
        Quota.trade.name_en,
        Quota.delegation.code,
        Quota.delegation.name,
    ).where(Quota.trade.competition == competition_id)
    if trade_id is not None:
        query = query.where(Quota.trade == trade_id)
    if delegation_id is not None:
        query = query.where(Quota.delegation == delegation_id)
    return (
        await query.order_by(Quota.delegation.sort_order)
        .order_by(Quota.trade.sort_order)
        .order_by(Quota.trade.code)
    )


async def structure_counts(competition_id: int) -> dict[str, int]:
    return {
        "industries": await Industry.count().where(Industry.competition == competition_id),
        "trades": await Trade.count().where(Trade.competition == competition_id),
        "delegations": await Delegation.count().where(Delegation.competition == competition_id),
        "quotas": await Quota.count().where(Quota.trade.competition == competition_id),
        "venues": await Venue.count().where(Venue.competition == competition_id),
        "sessions": await CompetitionSession.count().where(
            CompetitionSession.trade.competition == competition_id
        ),
        "stations": await Station.count().where(Station.venue.competition == competition_id),
    }


async def places_summary(competition_id: int) -> dict[str, int]:
    """Quota rows and places are two things: `rows` delegation × trade quotas, `places` the sum
    of their numbers, `unlimited` the rows without a number (不限, no limit)."""
    in_competition = Quota.trade.competition == competition_id
    totals = (
        await Quota.select(Count(alias="rows"), Sum(Quota.max_entries, alias="places"))
        .where(in_competition)
        .first()
    )
    unlimited = await Quota.count().where(in_competition & Quota.max_entries.is_null())
    return {
        "rows": totals["rows"] if totals else 0,
        "places": (totals or {}).get("places") or 0,
        "unlimited": unlimited,
    }


def skill_level_label(level: int | None) -> str | None:
    return SKILL_LEVELS.get(level) if level else None
