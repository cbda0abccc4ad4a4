"""Pages anyone may open: the health check and each competition's public trade catalogue."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
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

log = logging.getLogger(__name__)

# How long /health waits for the database before it answers 503: a load balancer's probe gives up
# after a few seconds, and a check that hangs would look like a hung server, not a lost database.
HEALTH_TIMEOUT_S = 3.0


class HealthOut(msgspec.Struct):
    """The health check's answer: `ok` (200) or `unavailable` (503), and the database engine."""

    status: Literal["ok", "unavailable"]
    database: Literal["sqlite", "postgresql"]


# The check running in this process, shared by the probes that arrive meanwhile: probes every few
# seconds against a database that does not answer must not pile up connections.
_running: asyncio.Task | None = None


async def _database_answers() -> None:
    # A real query on a table of the app: a database that is there but not migrated, or an SQLite
    # path that is no longer the database file, fails it too.
    await Competition.count()


async def database_reachable(timeout: float = HEALTH_TIMEOUT_S) -> bool:
    """Whether the database answered a query within `timeout` seconds. The query runs as its own
    task and is only waited for: a driver cleaning up after a cancelled query (aiosqlite closing
    a connection whose thread waits on a lock) cannot hold the answer back."""
    global _running
    if _running is None or _running.done() or _running.get_loop() is not asyncio.get_running_loop():
        _running = asyncio.ensure_future(_database_answers())
        # Its failure is read below, or by this callback when nobody waited long enough.
        _running.add_done_callback(lambda task: task.cancelled() or task.exception())
    check = _running
    done, _ = await asyncio.wait({check}, timeout=timeout)
    if not done:
        log.warning("health: the database did not answer within %.0f s", timeout)
        return False
    exc = check.exception()
    if exc is not None:
        # The kind of failure and the driver's one-line reason (a refused port, a missing
        # database): no traceback, and never the connection string, which may hold a password.
        log.warning("health: the database check failed: %s: %s", type(exc).__name__, exc)
        return False
    return True


@get(
    "/health",
    opt=PUBLIC,
    tags=["system"],
    summary="Liveness and database check",
    description=(
        "200 when the database answers a query, 503 when it cannot be reached or does not answer "
        f"within {HEALTH_TIMEOUT_S:.0f} seconds; for a load balancer's or a monitor's probe."
    ),
    responses={
        503: ResponseSpec(
            data_container=HealthOut,
            description="The database cannot be reached or did not answer in time.",
            generate_examples=False,
        )
    },
)
async def health() -> Response[HealthOut]:
    engine = "postgresql" if is_postgres() else "sqlite"
    if await database_reachable():
        return Response(HealthOut(status="ok", database=engine), status_code=200)
    return Response(HealthOut(status="unavailable", database=engine), status_code=503)


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
