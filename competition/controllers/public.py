"""Pages anyone may open: the health check and each competition's public trade catalogue."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from competition import catalogue
from competition.clock import local_today
from competition.db import is_postgres
from competition.phases import registration_refusal
from competition.services import get_competition
from competition.tables import Competition, Role
from competition.web.access import PUBLIC
from competition.web.menus import REGISTER_LINKS
from competition.web.templating import page


@get("/health", opt=PUBLIC, tags=["system"], summary="Liveness and database check")
async def health() -> dict[str, str]:
    await Competition.count()
    return {"status": "ok", "database": "postgresql" if is_postgres() else "sqlite"}


MAX_SEARCH = 50


def _matches(trade: dict[str, Any], industry: dict[str, Any], needle: str) -> bool:
    return any(
        needle in (text or "").casefold()
        for text in (
            trade["code"],
            trade["name"],
            trade["name_en"],
            industry["name"],
            industry["name_en"],
        )
    )


@get("/competitions/{competition_id:int}", opt=PUBLIC, include_in_schema=False)
async def competition_page(
    request: Request, competition_id: FromPath[int], q: FromQuery[str] = ""
) -> Template:
    """The public page of a competition: its trades folded by industry, a search over them
    (in the page's query, so it works without script), and the call to register while
    registration is open."""
    competition = await get_competition(competition_id)
    search = " ".join(q.split())[:MAX_SEARCH]
    needle = search.casefold()
    industries = await catalogue.trades_by_industry(competition_id)
    total = sum(len(i["trades"]) for i in industries)
    if needle:
        industries = [
            dict(i, trades=[t for t in i["trades"] if _matches(t, i, needle)]) for i in industries
        ]
        industries = [i for i in industries if i["trades"]]
    identity = request.scope.get("user")
    audience = "contestant" if identity and identity.has_role(Role.contestant) else "anonymous"
    if identity and audience == "anonymous":
        audience = ""  # signed in with another role: nothing to register
    link = REGISTER_LINKS.get(audience, "") if audience else ""
    return page(
        "public/competition.html",
        competition=competition,
        industries=industries,
        search=search,
        found=sum(len(i["trades"]) for i in industries),
        total=total,
        counts=await catalogue.structure_counts(competition_id),
        open_for_registration=registration_refusal(
            competition["phase"],
            competition["registration_closes_on"],
            local_today(),
            late_allowed=False,
        )
        is None,
        register_link=link.format(competition=competition_id),
        signed_in=identity is not None,
    )


ROUTES = [health, competition_page]
