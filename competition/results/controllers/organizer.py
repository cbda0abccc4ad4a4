"""The organizer's results pages (成绩): every trade's results at a glance, one trade's
standings with the award rules that made them, its publication (公示), withdrawal and final
result, and every published version compared with the one before it. The supervisor sees the
same pages read-only (`supervisor.py`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import clock, services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound
from competition.i18n import N_, render, translate_error
from competition.results import appeals, publication
from competition.results.standings import TradeStandings, competition_standings, trade_standings
from competition.schemas import AWARD_ROUNDINGS, SKILL_LEVELS, TIE_BREAKERS
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Role, Trade
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.menus import RESULTS, MenuItem, add_competition_menu_item
from competition.web.templating import page

add_competition_menu_item(MenuItem("results", "/results", N_("Results")), RESULTS)

BASE = "/org/competitions/{competition_id:int}/results"
GUARD = {"opt": roles(Role.organizer), "include_in_schema": False}
# The stages in which a trade has results to show (codes only while locked).
WITH_RESULTS = frozenset({Stage.locked, Stage.decrypted, Stage.published, Stage.final})
MEDAL_LABELS = {
    "gold": N_("Gold"),
    "silver": N_("Silver"),
    "bronze": N_("Bronze"),
    "excellence": N_("Medallion for Excellence"),
}
AWARD_LABELS = {1: N_("First prize"), 2: N_("Second prize"), 3: N_("Third prize")}
# The fields `publication.compare` reports, as a version's comparison names them.
FIELD_LABELS = {
    "total": N_("Total score"),
    "place": N_("Place"),
    "award": N_("Award"),
    "title": N_("Title"),
    "promotion": N_("Promotion"),
    "score700": N_("700 scale"),
    "medal": N_("Medal"),
    "present": N_("Present"),
}


def url_of(audience: str, competition_id: int, trade_id: int | None = None) -> str:
    root = "org" if audience == "organizer" else "supervisor"
    url = f"/{root}/competitions/{competition_id}/results"
    return url if trade_id is None else f"{url}/{trade_id}"


async def _trade_of(competition_id: int, trade_id: int) -> None:
    row = await Trade.select(Trade.competition).where(Trade.id == trade_id).first()
    if row is None or row["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")


async def overview_context(competition_id: int) -> dict[str, Any]:
    competition = await services.get_competition(competition_id)
    boards = await publication.board_versions(competition_id)
    waiting: dict[int, int] = {}
    for appeal in await appeals.appeals_of_competition(competition_id):
        if appeal.status == appeals.AppealStatus.filed:
            waiting[appeal.trade_id] = waiting.get(appeal.trade_id, 0) + 1
    rows = []
    for trade in await competition_standings(competition_id):
        present = sum(1 for r in trade.rows if r.present)
        rows.append(
            {
                "id": trade.trade_id,
                "code": trade.code,
                "name": trade.name,
                "industry": trade.industry,
                "stage": trade.stage,
                "stage_label": STAGE_LABELS[trade.stage],
                "present": present,
                "absent": len(trade.rows) - present,
                "awards": [sum(g.award_counts()[k] for g in trade.groups) for k in range(3)],
                "board": boards.get(trade.trade_id),
                "appeals_waiting": waiting.get(trade.trade_id, 0),
                "has_results": trade.stage in WITH_RESULTS,
            }
        )
    return {"competition": competition, "rows": rows}


def _rules_text(trade: TradeStandings) -> dict[str, Any]:
    rules = trade.rules
    return {
        "mode": rules.mode,
        "shares": (rules.first, rules.second, rules.third),
        "rounding": AWARD_ROUNDINGS[rules.rounding],
        "min_score": rules.min_score,
        "chain": " → ".join(render(TIE_BREAKERS[c]) for c in trade.chain),
        "titles": rules.titles,
        "promotions": rules.promotions,
        "worldskills": rules.worldskills_view,
        "scope": rules.worldskills_scope,
        "spread": rules.worldskills_spread,
    }


async def trade_context(competition_id: int, trade_id: int, audience: str) -> dict[str, Any]:
    await _trade_of(competition_id, trade_id)
    competition = await services.get_competition(competition_id)
    trade = await trade_standings(trade_id)
    versions = await publication.versions_of(trade_id)
    board = next((v for v in versions if v.on_board), None)
    check = (
        await publication.final_check(trade_id, trade) if trade.stage == Stage.published else None
    )
    unpublished_changes = bool(
        board is not None
        and board.status == publication.PublicationStatus.notice
        and publication.compare(
            (await publication.version_of(trade_id, board.version)).rows,
            [publication.published_row(r) for r in trade.rows],
        )
    )
    return {
        "competition": competition,
        "trade": trade,
        "rules": _rules_text(trade),
        "versions": versions,
        "board": board,
        "final_check": check,
        "unpublished_changes": unpublished_changes,
        "appeals": await appeals.appeals_of_trade(trade_id),
        "has_results": trade.stage in WITH_RESULTS,
        "stage_label": STAGE_LABELS[trade.stage],
        "skill_levels": SKILL_LEVELS,
        "medal_labels": MEDAL_LABELS,
        "award_labels": AWARD_LABELS,
        "status_labels": publication.STATUS_LABELS,
        "appeal_labels": appeals.STATUS_LABELS,
        "audience": audience,
        "url": url_of(audience, competition_id, trade_id),
        "base": url_of(audience, competition_id),
        "default_notice_hours": publication.DEFAULT_NOTICE_HOURS,
        "now": clock.now(),
    }


async def version_context(
    competition_id: int, trade_id: int, number: int, audience: str
) -> dict[str, Any]:
    await _trade_of(competition_id, trade_id)
    competition = await services.get_competition(competition_id)
    version = await publication.version_of(trade_id, number)
    before = await publication.version_of(trade_id, number - 1) if number > 1 else None
    trade = await Trade.select(Trade.code, Trade.name).where(Trade.id == trade_id).first()
    return {
        "competition": competition,
        "trade": trade,
        "trade_id": trade_id,
        "version": version,
        "before": before,
        "changes": publication.compare(before.rows, version.rows) if before else [],
        "field_labels": FIELD_LABELS,
        "status_labels": publication.STATUS_LABELS,
        "medal_labels": MEDAL_LABELS,
        "award_labels": AWARD_LABELS,
        "audience": audience,
        "url": url_of(audience, competition_id, trade_id),
    }


@get(BASE, **GUARD)
async def results_overview(request: Request, competition_id: FromPath[int]) -> Template:
    """Every trade: its stage, how many competed, its awards, what is on the board."""
    require_competition(request.user, competition_id, Role.organizer)
    context = await overview_context(competition_id)
    return page("competition/results/overview.html", audience="organizer", **context)


async def _trade_page(
    competition_id: int,
    trade_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    done: str = "",
    values: dict[str, str] | None = None,
) -> Template:
    context = await trade_context(competition_id, trade_id, "organizer")
    return page(
        "competition/results/trade.html",
        status_code=status_code,
        error=error,
        done=done,
        values=values or {},
        **context,
    )


@get(BASE + "/{trade_id:int}", **GUARD)
async def results_trade(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    done = {"published": N_("Published."), "withdrawn": N_("Withdrawn."), "final": N_("Final.")}
    shown = done.get(request.query_params.get("done", ""))
    return await _trade_page(competition_id, trade_id, done=render(shown) if shown else "")


async def _act(request: Request, competition_id: int, trade_id: int, action: str) -> Any:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.organizer)
    await _trade_of(competition_id, trade_id)
    data = await form_fields(request)
    try:
        if action == "published":
            raw = data.get("notice_hours", "").strip()
            # Text that is no number becomes 0, which the service refuses with its message.
            hours = (parse_int(raw) or 0) if raw else None
            await publication.publish(
                trade_id, actor=identity.actor, notice_hours=hours, note=data.get("note", "")
            )
        elif action == "withdrawn":
            await publication.withdraw(
                trade_id, actor=identity.actor, reason=data.get("reason", "")
            )
        else:
            await publication.make_final(trade_id, actor=identity.actor)
    except DomainError as exc:
        return await _trade_page(
            competition_id,
            trade_id,
            status_code=409 if exc.code not in ("notice_hours", "reason_long") else 422,
            error=translate_error(exc),
            values=data,
        )
    return Redirect(
        f"{url_of('organizer', competition_id, trade_id)}?done={action}", status_code=303
    )


@post(BASE + "/{trade_id:int}/publish", **GUARD)
async def results_publish(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Any:
    return await _act(request, competition_id, trade_id, "published")


@post(BASE + "/{trade_id:int}/withdraw", **GUARD)
async def results_withdraw(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Any:
    return await _act(request, competition_id, trade_id, "withdrawn")


@post(BASE + "/{trade_id:int}/final", **GUARD)
async def results_final(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Any:
    return await _act(request, competition_id, trade_id, "final")


@get(BASE + "/{trade_id:int}/versions/{version:int}", **GUARD)
async def results_version(
    request: Request,
    competition_id: FromPath[int],
    trade_id: FromPath[int],
    version: FromPath[int],
) -> Template:
    """One published version as it was on the board, and what changed from the one before."""
    require_competition(request.user, competition_id, Role.organizer)
    context = await version_context(competition_id, trade_id, version, "organizer")
    return page("competition/results/version.html", **context)


ROUTES = [
    results_overview,
    results_trade,
    results_publish,
    results_withdraw,
    results_final,
    results_version,
]
