"""The public notice board (成绩公示), no sign-in: the published trades of a competition, and a
trade's version on the board — names partly masked, no ticket or ID number — with its notice
period, the appeal deadline, and any earlier version compared with the one before it. A trade
that is not published is not found: a draft never leaks."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from competition import clock
from competition.errors import NotFound
from competition.results import publication
from competition.results.controllers.organizer import AWARD_LABELS, FIELD_LABELS, MEDAL_LABELS
from competition.results.tables import PublicationStatus
from competition.services import get_competition
from competition.tables import Trade
from competition.web.access import PUBLIC
from competition.web.forms import parse_int
from competition.web.templating import page

BASE = "/competitions/{competition_id:int}/results"


async def _published_trade(competition_id: int, trade_id: int) -> dict[str, Any]:
    trade = (
        await Trade.select(Trade.competition, Trade.code, Trade.name, Trade.groups)
        .where(Trade.id == trade_id)
        .output(load_json=True)
        .first()
    )
    if trade is None or trade["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return trade


@get(BASE, opt=PUBLIC, include_in_schema=False)
async def public_board(competition_id: FromPath[int]) -> Template:
    """Every trade of the competition on the notice board."""
    competition = await get_competition(competition_id)
    boards = await publication.board_versions(competition_id)
    trades = {
        row["id"]: row
        for row in await Trade.select(Trade.id, Trade.code, Trade.name, Trade.sort_order).where(
            Trade.id.is_in(list(boards) or [0])
        )
    }
    rows = sorted(
        ({"trade": trades[tid], "version": v} for tid, v in boards.items() if tid in trades),
        key=lambda r: (r["trade"]["sort_order"], r["trade"]["code"]),
    )
    return page("competition/results/public_board.html", competition=competition, rows=rows)


@get(BASE + "/{trade_id:int}", opt=PUBLIC, include_in_schema=False)
async def public_trade(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    """The version on the board (or `?version=N`, an earlier one that was on it)."""
    competition = await get_competition(competition_id)
    trade = await _published_trade(competition_id, trade_id)
    board = await publication.board_version(trade_id)
    if board is None:
        raise NotFound("These results are not published.", code="results_not_published")
    wanted = parse_int(request.query_params.get("version"), minimum=1)
    shown = board
    if wanted is not None and wanted != board.version:
        shown = await publication.version_of(trade_id, wanted)
        # Only what was on the board: a withdrawn version was taken down for a reason.
        if shown.status != PublicationStatus.superseded:
            raise NotFound("That version of the results was not found.", code="version_not_found")
    before = (
        await publication.version_of(trade_id, shown.version - 1) if shown.version > 1 else None
    )
    if before is not None and before.status == PublicationStatus.withdrawn:
        before = None
    groups: dict[str, list] = {name: [] for name in trade["groups"] or []}
    absent = []
    for row in shown.rows:
        if row.present:
            groups.setdefault(row.group, []).append(row)
        else:
            absent.append(row)
    awards = (shown.settings or {}).get("awards", {})
    return page(
        "competition/results/public_trade.html",
        competition=competition,
        trade=trade,
        trade_id=trade_id,
        version=shown,
        board=board,
        groups=groups,
        absent=absent,
        worldskills=bool(awards.get("worldskills_view")),
        changes=publication.compare(before.rows, shown.rows) if before else [],
        before=before,
        appeals_open=board.appeals_open() and shown is board,
        now=clock.now(),
        award_labels=AWARD_LABELS,
        medal_labels=MEDAL_LABELS,
        field_labels=FIELD_LABELS,
        status_labels=publication.STATUS_LABELS,
    )


ROUTES = [public_board, public_trade]
