"""A trade of the demo (`demo_mutable`) with as many drawn contestants as a test needs, each with
a final total, and the trade locked: what the review sample is drawn from. Built row by row
rather than through check-in, the draw and the marks — the totals are what the review reads
(Total rows are written only by scoring/totals.py in the product)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from competition.stages import Stage
from competition.tables import (
    Competition,
    CompetitionSession,
    Delegation,
    EventKind,
    Station,
    Trade,
    User,
    Venue,
)
from registration.tables import Entry, EntryStatus, Person
from scoring.tables import Draw, DrawSlot, Total

TRADE = "T010"
CHUNK = 50  # rows a statement, under SQLite's variable limit


@dataclass
class Built:
    competition_id: int
    trade_id: int
    slots: list[int] = field(default_factory=list)  # in the order of the totals given
    codes: dict[int, str] = field(default_factory=dict)  # slot → code
    names: list[str] = field(default_factory=list)

    async def actor(self, username: str = "supervisor"):
        from competition.audit import Actor

        user = await User.select(User.id).where(User.username == username).first()
        return Actor(user_id=user["id"], name=username)


async def _insert(table, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        await table.insert(*rows[start : start + CHUNK])


async def reviewed_trade(
    totals: list[int],
    *,
    stage: Stage = Stage.locked,
    code: str = TRADE,
    complete: bool = True,
    without_total: int = 0,
) -> Built:
    """The trade `code` with one contestant per total (weighted hundredths), drawn and totalled;
    the last `without_total` contestants have a slot but no total yet."""
    trade = await Trade.select(Trade.id, Trade.competition).where(Trade.code == code).first()
    trade_id, competition_id = trade["id"], trade["competition"]
    await Competition.update({Competition.phase: "competing"}).where(
        Competition.id == competition_id
    )
    await Trade.update({Trade.stage: stage.value}).where(Trade.id == trade_id)
    delegation = (
        await Delegation.select(Delegation.id)
        .where(Delegation.competition == competition_id)
        .first()
    )["id"]
    venue = Venue(competition=competition_id, code="REVIEW", name="复核测试赛场")
    await venue.save()
    now = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    session = CompetitionSession(
        trade=trade_id, venue=venue.id, code="RS1", name="复核场次", event=EventKind.practical,
        starts_at=now, ends_at=now + dt.timedelta(hours=4),
    )  # fmt: skip
    await session.save()
    n = len(totals) + without_total
    await _insert(Station, [Station(venue=venue.id, code=f"R{k}") for k in range(1, n + 1)])
    stations = [
        r["id"]
        for r in await Station.select(Station.id)
        .where(Station.venue == venue.id)
        .order_by(Station.id)
    ]
    names = [f"复核选手{k:03d}" for k in range(1, n + 1)]
    await _insert(
        Person,
        [
            Person(id_number=f"63010219900101{k:04d}", name=names[k - 1], gender="male",
                   birth_date=dt.date(1990, 1, 1))
            for k in range(1, n + 1)
        ],
    )  # fmt: skip
    people = {
        r["id_number"]: r["id"]
        for r in await Person.select(Person.id, Person.id_number).where(
            Person.id_number.like("63010219900101%")
        )
    }
    await _insert(
        Entry,
        [
            Entry(competition=competition_id, trade=trade_id, delegation=delegation, slot=1,
                  person=people[f"63010219900101{k:04d}"], status=EntryStatus.approved.value,
                  session=session.id)
            for k in range(1, n + 1)
        ],
    )  # fmt: skip
    entries = [
        r["id"]
        for r in await Entry.select(Entry.id).where(Entry.session == session.id).order_by(Entry.id)
    ]
    draw = Draw(trade=trade_id, seed="review-test", algorithm="sha256-order-v1")
    await draw.save()
    await _insert(
        DrawSlot,
        [
            DrawSlot(draw=draw.id, trade=trade_id, entry=entries[k], session=session.id,
                     station=stations[k], code=f"{k + 1:03d}", position=k + 1)
            for k in range(n)
        ],
    )  # fmt: skip
    slots = await DrawSlot.select(DrawSlot.id, DrawSlot.entry, DrawSlot.code).where(
        DrawSlot.draw == draw.id
    )
    slots.sort(key=lambda r: r["code"])
    await _insert(
        Total,
        [
            Total(entry=s["entry"], trade=trade_id, slot=s["id"], weighted_hundredths=t,
                  practical_hundredths=t, complete=complete)
            for s, t in zip(slots, totals, strict=False)
        ],
    )  # fmt: skip
    return Built(
        competition_id, trade_id, [s["id"] for s in slots], {s["id"]: s["code"] for s in slots},
        names,
    )  # fmt: skip
