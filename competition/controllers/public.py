"""Pages anyone may open: the health check and each competition's public trade catalogue."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from competition import catalogue
from competition.db import is_postgres
from competition.services import get_competition
from competition.tables import Competition
from competition.web.access import PUBLIC
from competition.web.templating import page


@get("/health", opt=PUBLIC, tags=["system"], summary="Liveness and database check")
async def health() -> dict[str, str]:
    await Competition.count()
    return {"status": "ok", "database": "postgresql" if is_postgres() else "sqlite"}


@get("/competitions/{competition_id:int}", opt=PUBLIC, include_in_schema=False)
async def competition_page(competition_id: FromPath[int]) -> Template:
    competition = await get_competition(competition_id)
    return page(
        "public/competition.html",
        competition=competition,
        industries=await catalogue.trades_by_industry(competition_id),
        counts=await catalogue.structure_counts(competition_id),
    )


ROUTES = [health, competition_page]
