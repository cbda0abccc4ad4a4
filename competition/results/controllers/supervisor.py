"""The supervisor's (监督仲裁) results pages: the organizer's results read-only, and the
appeals (申诉) with the one form the supervisor has here — the ruling, with its reason."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, translate_error
from competition.results import appeals
from competition.results.controllers.organizer import (
    overview_context,
    trade_context,
    version_context,
)
from competition.results.tables import Appeal
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.menus import MenuItem, add_supervisor_menu_item
from competition.web.templating import page

add_supervisor_menu_item(MenuItem("results", "/results", N_("Results")))
add_supervisor_menu_item(MenuItem("appeals", "/appeals", N_("Appeals")))

BASE = "/supervisor/competitions/{competition_id:int}"
GUARD = {"opt": roles(Role.supervisor), "include_in_schema": False}


@get(BASE + "/results", **GUARD)
async def supervisor_results(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    context = await overview_context(competition_id)
    return page("competition/results/overview.html", audience="supervisor", **context)


@get(BASE + "/results/{trade_id:int}", **GUARD)
async def supervisor_results_trade(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    context = await trade_context(competition_id, trade_id, "supervisor")
    return page("competition/results/trade.html", error=None, done="", values={}, **context)


@get(BASE + "/results/{trade_id:int}/versions/{version:int}", **GUARD)
async def supervisor_results_version(
    request: Request,
    competition_id: FromPath[int],
    trade_id: FromPath[int],
    version: FromPath[int],
) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    context = await version_context(competition_id, trade_id, version, "supervisor")
    return page("competition/results/version.html", **context)


async def _appeals_page(
    competition_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    form_appeal: int | None = None,
    values: dict[str, str] | None = None,
    done: str = "",
) -> Template:
    competition = await services.get_competition(competition_id)
    return page(
        "competition/results/appeals.html",
        status_code=status_code,
        competition=competition,
        appeals=await appeals.appeals_of_competition(competition_id),
        labels=appeals.STATUS_LABELS,
        error=error,
        form_appeal=form_appeal,
        values=values or {},
        done=done,
    )


@get(BASE + "/appeals", **GUARD)
async def supervisor_appeals(request: Request, competition_id: FromPath[int]) -> Template:
    """Every appeal of the competition, those waiting for a ruling first."""
    require_competition(request.user, competition_id, Role.supervisor)
    return await _appeals_page(competition_id, done=request.query_params.get("done", ""))


@post(BASE + "/appeals/{appeal_id:int}/ruling", **GUARD)
async def supervisor_rule(
    request: Request, competition_id: FromPath[int], appeal_id: FromPath[int]
) -> Any:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.supervisor)
    row = await Appeal.select(Appeal.trade.competition).where(Appeal.id == appeal_id).first()
    if row is None or row["trade.competition"] != competition_id:
        raise NotFound("The appeal was not found.", code="appeal_not_found")
    data = await form_fields(request)
    decision = data.get("decision", "")
    try:
        if decision not in ("upheld", "dismissed"):
            raise ValidationFailed(
                "Choose whether the appeal is upheld or dismissed.", code="ruling_decision"
            )
        await appeals.rule_appeal(
            appeal_id,
            upheld=decision == "upheld",
            ruling=data.get("ruling", ""),
            actor=identity.actor,
        )
    except DomainError as exc:
        return await _appeals_page(
            competition_id,
            status_code=409 if exc.code == "appeal_ruled" else 422,
            error=translate_error(exc),
            form_appeal=parse_int(str(appeal_id)),
            values=data,
        )
    url = f"/supervisor/competitions/{competition_id}/appeals?done={decision}"
    return Redirect(url, status_code=303)


ROUTES = [
    supervisor_results,
    supervisor_results_trade,
    supervisor_results_version,
    supervisor_appeals,
    supervisor_rule,
]
