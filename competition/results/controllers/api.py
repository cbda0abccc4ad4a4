"""The results as JSON (in the OpenAPI schema): public for the trades on the notice board; an
organizer or supervisor of the competition also sees the standings of the trades locked
(draw codes only) or decrypted, live. Never an ID number; names masked for the public."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from competition.errors import NotFound
from competition.results import publication
from competition.results.standings import (
    LOCKED_STAGES,
    ResultRow,
    TradeStandings,
    competition_standings,
    trade_standings,
)
from competition.stages import Stage
from competition.tables import Competition, Role, Trade
from competition.web.access import PUBLIC


class ResultLineOut(msgspec.Struct):
    group: str
    present: bool
    code: str
    name: str  # masked for the public; empty before decryption
    delegation: str
    total: int | None  # hundredths
    practical: int | None
    theory: int | None
    oral: int | None
    place: int | None
    award: int | None  # 1, 2, 3
    title: str
    promotion: int | None  # skill level
    score700: int | None
    medal: str


class TradeResultsOut(msgspec.Struct):
    trade_id: int
    code: str
    name: str
    stage: str
    source: str  # "board": the published version; "live": the current standings
    version: int | None
    published_at: dt.datetime | None
    notice_ends_at: dt.datetime | None
    status: str | None  # notice / final
    lines: list[ResultLineOut] = msgspec.field(default_factory=list)


def _oversees(request: Request, competition_id: int) -> bool:
    identity = request.scope.get("user")
    if identity is None:
        return False
    return any(
        g.role in (Role.organizer, Role.supervisor) and g.competition_id in (None, competition_id)
        for g in identity.grants
    )


def _line(r: publication.PublishedRow | ResultRow) -> ResultLineOut:
    """A published row or a live one: the same public fields."""
    return ResultLineOut(r.group, r.present, r.code, r.name, r.delegation, r.total, r.practical,
                         r.theory, r.oral, r.place, r.award, r.title, r.promotion, r.score700,
                         r.medal)  # fmt: skip


def _board_out(trade: dict, version: publication.Version, lines: bool) -> TradeResultsOut:
    return TradeResultsOut(
        trade_id=trade["id"], code=trade["code"], name=trade["name"], stage=trade["stage"],
        source="board", version=version.version, published_at=version.published_at,
        notice_ends_at=version.notice_ends_at, status=version.status.value,
        lines=[_line(r) for r in version.rows] if lines else [],
    )  # fmt: skip


def _live_out(trade: TradeStandings, lines: bool) -> TradeResultsOut:
    return TradeResultsOut(
        trade_id=trade.trade_id, code=trade.code, name=trade.name, stage=trade.stage.value,
        source="live", version=None, published_at=None, notice_ends_at=None, status=None,
        lines=[_line(r) for r in trade.rows] if lines else [],
    )  # fmt: skip


@get(
    "/api/competitions/{competition_id:int}/results", opt=PUBLIC, tags=["results"],
    summary="The competition's results, trade by trade (without the lines)",
)  # fmt: skip
async def results_list(request: Request, competition_id: FromPath[int]) -> list[TradeResultsOut]:
    trades = await Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage).where(
        Trade.competition == competition_id
    ).order_by(Trade.sort_order).order_by(Trade.code)  # fmt: skip
    if not trades and not await _competition_exists(competition_id):
        raise NotFound("The competition was not found.", code="competition_not_found")
    boards = await publication.board_versions(competition_id)
    if _oversees(request, competition_id):
        live = [t["id"] for t in trades if Stage(t["stage"]) in LOCKED_STAGES]
        return [_live_out(s, False) for s in await competition_standings(competition_id, live)]
    return [_board_out(t, boards[t["id"]], False) for t in trades if t["id"] in boards]


@get(
    "/api/competitions/{competition_id:int}/results/{trade_id:int}", opt=PUBLIC,
    tags=["results"], summary="One trade's results: every contestant's line",
)  # fmt: skip
async def results_trade(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> TradeResultsOut:
    trade = await Trade.select(Trade.id, Trade.competition, Trade.code, Trade.name,
                               Trade.stage).where(Trade.id == trade_id).first()  # fmt: skip
    if trade is None or trade["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    if _oversees(request, competition_id) and Stage(trade["stage"]) in LOCKED_STAGES:
        return _live_out(await trade_standings(trade_id), True)
    board = await publication.board_version(trade_id)
    if board is None:
        raise NotFound("These results are not published.", code="results_not_published")
    return _board_out(trade, board, True)


async def _competition_exists(competition_id: int) -> bool:
    return await Competition.exists().where(Competition.id == competition_id)


ROUTES = [results_list, results_trade]
