"""The supervisor's (监督仲裁) read-only registration pages in one competition: entries with
their history, the registration dashboard, quota usage, check-ins per session and the import
batches. Every route is a GET and no page carries a form that changes data; ID numbers are
masked and phone numbers are not shown (a supervisor checks the process, not the people).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from competition import catalogue, services
from competition.errors import NotFound
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.templating import page
from registration import oversight, queries, quota_usage
from registration.controllers import statistics
from registration.controllers.delegation import LABELS, query_string
from registration.controllers.delegation import page_number as page_of
from registration.controllers.organizer import ALL, entry_filters
from registration.entries import get_entry

BASE = "/supervisor/competitions/{competition_id:int}"


def _base(competition_id: int) -> str:
    return f"/supervisor/competitions/{competition_id}"


class SupervisorRegistrationController(Controller):
    path = BASE
    opt = roles(Role.supervisor)
    include_in_schema = False

    async def _open(self, request: Request, competition_id: int) -> dict[str, Any]:
        require_competition(request.user, competition_id, Role.supervisor)
        return await services.get_competition(competition_id)

    @get("/entries")
    async def entries(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        status: FromQuery[str] = ALL,
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        competition = await self._open(request, competition_id)
        entry_filter, shown = entry_filters(competition_id, trade, delegation, status, q)
        result = await queries.list_entries(entry_filter, page_of(page_number))
        return page(
            "registration/supervisor/entries.html",
            competition=competition,
            result=result,
            filters=shown,
            query=query_string(shown),
            base_query=query_string({k: v for k, v in shown.items() if k != "status"}),
            trades=await catalogue.trades(competition_id),
            delegations=await catalogue.delegations(competition_id),
            labels=LABELS,
        )

    @get("/entries/{entry_id:int}")
    async def entry(
        self, request: Request, competition_id: FromPath[int], entry_id: FromPath[int]
    ) -> Template:
        competition = await self._open(request, competition_id)
        entry = await get_entry(entry_id)
        if entry["competition"] != competition_id:
            raise NotFound("The entry was not found.", code="entry_not_found")
        detail = await queries.entry_detail(entry, full_id=False)
        detail.pop("person.phone", None)
        return page(
            "registration/supervisor/entry.html",
            competition=competition,
            entry=detail,
            history=await queries.entry_history(entry_id),
            labels=LABELS,
        )

    @get("/dashboard")
    async def dashboard(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self._open(request, competition_id)
        return page(
            "registration/organizer/dashboard.html",
            competition=competition,
            viewer="supervisor",
            entries_url=f"{_base(competition_id)}/entries",
            **await statistics.dashboard_context(competition_id),
        )

    @get("/quota-usage")
    async def quota_usage(
        self,
        request: Request,
        competition_id: FromPath[int],
        industry: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        only: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        competition = await self._open(request, competition_id)
        return page(
            "registration/organizer/quota_usage.html",
            competition=competition,
            viewer="supervisor",
            page_url=f"{_base(competition_id)}/quota-usage",
            entries_url=f"{_base(competition_id)}/entries",
            per_page=quota_usage.MATRIX_TRADES_PER_PAGE,
            **await statistics.quota_context(
                competition_id, industry, delegation, only, page_number
            ),
        )

    @get("/checkins")
    async def checkins(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self._open(request, competition_id)
        return page(
            "registration/supervisor/checkins.html",
            competition=competition,
            sessions=await oversight.sessions_with_checkins(competition_id),
        )

    @get("/checkins/{session_id:int}")
    async def session_checkins(
        self,
        request: Request,
        competition_id: FromPath[int],
        session_id: FromPath[int],
        page_number: FromQuery[str] = "1",
    ) -> Template:
        competition = await self._open(request, competition_id)
        session = await oversight.session_of(competition_id, session_id)
        if session is None:
            raise NotFound("The session was not found.", code="session_not_found")
        return page(
            "registration/supervisor/session_checkins.html",
            competition=competition,
            session=session,
            result=await oversight.checkins(session_id, page_of(page_number)),
        )

    @get("/imports")
    async def imports(
        self, request: Request, competition_id: FromPath[int], page_number: FromQuery[str] = "1"
    ) -> Template:
        competition = await self._open(request, competition_id)
        return page(
            "registration/supervisor/imports.html",
            competition=competition,
            result=await oversight.import_batches(competition_id, page_of(page_number)),
            batch_labels=oversight.BATCH_LABELS,
        )


ROUTES = [SupervisorRegistrationController]
