"""The competition dashboard beyond registration (赛事看板): check-in per session, scoring
progress per trade, a trade's score distribution, awards per delegation and industry, and the
hall board's figures (场馆大屏). Counts only, read with a few GROUP BY statements; the scoring
progress of a trade being marked comes from the chief judge's own count (`scoring.sheets.chief`)
so the two pages never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from competition import db
from competition.clock import now
from competition.results.exports import medal_table, named_trades
from competition.stages import Stage
from competition.tables import CompetitionSession
from registration.tables import EntryStatus
from scoring import scores
from scoring.sheets import chief

MARKING = frozenset({Stage.competing, Stage.marks_complete})
LOCKED_OR_LATER = frozenset({Stage.locked, Stage.decrypted, Stage.published, Stage.final})
PUBLISHED = frozenset({Stage.published, Stage.final})
BIN_WIDTH = 1000  # hundredths: the histogram's bars are 10 points wide


@dataclass
class SessionCheckIn:  # 场次检录
    id: int
    code: str
    name: str
    trade_code: str
    trade_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    expected: int  # approved entries seated in the session
    checked_in: int

    @property
    def running(self) -> bool:
        return self.starts_at <= now() <= self.ends_at

    @property
    def percent(self) -> int:
        return self.checked_in * 100 // self.expected if self.expected else 0


async def check_in_by_session(competition_id: int) -> list[SessionCheckIn]:
    sessions = await (
        CompetitionSession.select(
            CompetitionSession.id, CompetitionSession.code, CompetitionSession.name,
            CompetitionSession.trade.code, CompetitionSession.trade.name,
            CompetitionSession.starts_at, CompetitionSession.ends_at,
        )
        .where(CompetitionSession.trade.competition == competition_id)
        .order_by(CompetitionSession.starts_at)
        .order_by(CompetitionSession.code)
    )  # fmt: skip
    expected = dict(await db.fetch_rows(
        "SELECT e.session, COUNT(*) FROM entry e WHERE e.competition = ? AND e.status = ? "
        "AND e.session IS NOT NULL GROUP BY e.session",
        competition_id, EntryStatus.approved.value,
    ))  # fmt: skip
    checked = dict(await db.fetch_rows(
        "SELECT c.session, COUNT(DISTINCT c.entry) FROM check_in c "
        "JOIN competition_session s ON s.id = c.session JOIN trade t ON t.id = s.trade "
        "WHERE t.competition = ? GROUP BY c.session",
        competition_id,
    ))  # fmt: skip
    return [
        SessionCheckIn(s["id"], s["code"], s["name"], s["trade.code"], s["trade.name"],
                       s["starts_at"], s["ends_at"], int(expected.get(s["id"], 0)),
                       int(checked.get(s["id"], 0)))
        for s in sessions
    ]  # fmt: skip


@dataclass
class TradeProgress:  # 评分进度
    id: int
    code: str
    name: str
    stage: Stage
    cells_entered: int = 0
    cells_expected: int = 0
    sheets: int = 0
    sheets_signed: int = 0
    flags: int = 0

    @property
    def percent(self) -> int:
        if self.stage in LOCKED_OR_LATER:
            return 100
        return self.cells_entered * 100 // self.cells_expected if self.cells_expected else 0


async def _trades(competition_id: int) -> list[tuple]:
    return await db.fetch_rows(
        "SELECT id, code, name, stage FROM trade WHERE competition = ? ORDER BY sort_order, code",
        competition_id,
    )


async def _sheets_signed(competition_id: int) -> dict[int, tuple[int, int]]:
    """trade → (score sheets, sheets signed or verified)."""
    rows = await db.fetch_rows(
        "SELECT cs.trade, COUNT(*), SUM(CASE WHEN ss.status IN ('signed', 'verified') "
        "THEN 1 ELSE 0 END) FROM score_sheet ss "
        "JOIN competition_session cs ON cs.id = ss.session "
        "JOIN trade t ON t.id = cs.trade WHERE t.competition = ? GROUP BY cs.trade",
        competition_id,
    )
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}


async def scoring_by_trade(competition_id: int) -> list[TradeProgress]:
    """Every trade: marks entered of expected, sheets signed, disagreement flags open."""
    trades = [TradeProgress(t[0], t[1], t[2], Stage(t[3])) for t in await _trades(competition_id)]
    signed = await _sheets_signed(competition_id)
    for trade in trades:
        trade.sheets, trade.sheets_signed = signed.get(trade.id, (0, 0))
        if trade.stage in MARKING:
            progress = await chief.progress(trade.id)
            trade.cells_entered = progress["cells_entered"]
            trade.cells_expected = progress["cells_expected"]
            trade.flags = len(progress["flags"])
    return trades


@dataclass
class Distribution:  # 成绩分布 of one trade
    trade_id: int
    bins: list[tuple[str, int]] = field(default_factory=list)  # "60–70" → contestants
    count: int = 0
    mean: int | None = None  # hundredths, rounded down
    highest: int | None = None
    lowest: int | None = None


async def distribution(trade_id: int) -> Distribution:
    """The trade's weighted totals in bars of 10 points (the last bar holds 100 and over)."""
    totals = [t.weighted for t in await scores.totals_of_trade(trade_id) if t.weighted is not None]
    out = Distribution(trade_id, count=len(totals))
    if not totals:
        return out
    counts = Counter(min(value // BIN_WIDTH, 9) for value in totals)
    out.bins = [(f"{i * 10}–{i * 10 + 10}", counts.get(i, 0)) for i in range(10)]
    out.mean = sum(totals) // len(totals)
    out.highest, out.lowest = max(totals), min(totals)
    return out


async def trades_with_totals(competition_id: int) -> list[tuple[int, str, str]]:
    rows = await db.fetch_rows(
        "SELECT t.id, t.code, t.name FROM trade t WHERE t.competition = ? AND EXISTS "
        "(SELECT 1 FROM total x WHERE x.trade = t.id AND x.weighted_hundredths IS NOT NULL) "
        "ORDER BY t.sort_order, t.code",
        competition_id,
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def awards_by(competition_id: int) -> dict[str, list[list[Any]]]:
    """The medal table per delegation and per industry, over the decrypted trades only (before,
    counting awards per delegation would tell whose code is whose)."""
    trades = await named_trades(competition_id)
    return {"delegation": medal_table(trades, "delegation"),
            "industry": medal_table(trades, "industry")}  # fmt: skip


@dataclass
class HallBoard:  # 场馆大屏: what a screen in the hall shows, no sign-in needed
    running: list[SessionCheckIn]
    trades: list[TradeProgress]
    locked: int
    published: int


async def hall_board(competition_id: int) -> HallBoard:
    sessions = await check_in_by_session(competition_id)
    trades = [TradeProgress(t[0], t[1], t[2], Stage(t[3])) for t in await _trades(competition_id)]
    signed = await _sheets_signed(competition_id)
    for trade in trades:
        trade.sheets, trade.sheets_signed = signed.get(trade.id, (0, 0))
    return HallBoard(
        running=[s for s in sessions if s.running],
        trades=[t for t in trades if t.sheets or t.stage in LOCKED_OR_LATER],
        locked=sum(1 for t in trades if t.stage in LOCKED_OR_LATER),
        published=sum(1 for t in trades if t.stage in PUBLISHED),
    )
