"""The organizer's page for the end of a competition's personal data (个人信息销毁): the
retention period, what the shredder will remove, and the shredding itself after a typed
confirmation."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.clock import format_datetime
from competition.errors import DomainError
from competition.i18n import N_, render, translate_error
from competition.results import shredder
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.menus import RESULTS, MenuItem, add_competition_menu_item
from competition.web.templating import page

add_competition_menu_item(MenuItem("shredder", "/shredder", N_("Personal data")), RESULTS)

BASE = "/org/competitions/{competition_id:int}/shredder"
GUARD = {"opt": roles(Role.organizer), "include_in_schema": False}


async def _page(
    competition_id: int, *, status_code: int = 200, error: str | None = None, done: str = ""
) -> Template:
    competition = await services.get_competition(competition_id)
    plan = await shredder.plan(competition_id)
    return page(
        "competition/results/shredder.html",
        status_code=status_code,
        error=error,
        done=done,
        competition=competition,
        plan=plan,
        final_at=format_datetime(plan.final_at),
        allowed_from=format_datetime(plan.allowed_from),
        shredded_at=format_datetime(plan.shredded_at),
    )


@get(BASE, **GUARD)
async def shredder_page(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    shown = {"shredded": N_("The personal data has been shredded."),
             "retention": N_("Saved.")}.get(request.query_params.get("done", ""))  # fmt: skip
    return await _page(competition_id, done=render(shown) if shown else "")


async def _act(request: Request, competition_id: int, action: str) -> Template | Redirect:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.organizer)
    data = await form_fields(request)
    try:
        if action == "retention":
            days = parse_int(data.get("retention_days"), minimum=-1)
            await shredder.set_retention(competition_id, -1 if days is None else days,
                                         actor=identity.actor)  # fmt: skip
        else:
            await shredder.shred(competition_id, confirmation=data.get("confirmation", ""),
                                 actor=identity.actor)  # fmt: skip
    except DomainError as exc:
        return await _page(competition_id, status_code=exc.status_code, error=translate_error(exc))
    done = "retention" if action == "retention" else "shredded"
    return Redirect(f"/org/competitions/{competition_id}/shredder?done={done}", status_code=303)


@post(BASE + "/retention", **GUARD, status_code=200)
async def shredder_retention(
    request: Request, competition_id: FromPath[int]
) -> Template | Redirect:
    return await _act(request, competition_id, "retention")


@post(BASE, **GUARD, status_code=200)
async def shredder_run(request: Request, competition_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, competition_id, "shred")


ROUTES = [shredder_page, shredder_retention, shredder_run]
