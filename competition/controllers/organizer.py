"""Organizer (组委会) pages: competitions, their overview, and moving them through the lifecycle."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import audit_trail, catalogue, services
from competition.accounts import Identity
from competition.errors import DomainError, PermissionDenied
from competition.i18n import translate_error, translate_field_errors
from competition.phases import FORWARD, Phase, allowed_targets
from competition.services import CompetitionIn
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import FormReader, form_fields
from competition.web.templating import page

COMPETITION_FIELDS = (
    "code",
    "name",
    "name_en",
    "year",
    "edition",
    "organizer_name",
    "starts_on",
    "ends_on",
    "age_cutoff",
    "registration_closes_on",
    "max_trades_per_person",
    "appeal_window_minutes",
)


def read_competition_form(data: dict[str, str]) -> CompetitionIn:
    form = FormReader(data)
    values: dict[str, Any] = {
        "code": form.text("code", required=True, max_length=32),
        "name": form.text("name", required=True),
        "name_en": form.text("name_en"),
        "year": form.integer("year", required=True, minimum=2000, maximum=2100),
        "edition": form.integer("edition", minimum=1, maximum=999),
        "organizer_name": form.text("organizer_name"),
        "starts_on": form.date("starts_on"),
        "ends_on": form.date("ends_on"),
        "age_cutoff": form.date("age_cutoff"),
        "registration_closes_on": form.date("registration_closes_on"),
        "max_trades_per_person": form.integer(
            "max_trades_per_person", required=True, minimum=1, maximum=10
        ),
        "appeal_window_minutes": form.integer(
            "appeal_window_minutes", required=True, minimum=0, maximum=7 * 24 * 60
        ),
    }
    form.check()
    return CompetitionIn(**values)


def _form_values(competition: dict[str, Any]) -> dict[str, str]:
    return {
        k: "" if competition.get(k) is None else str(competition[k]) for k in COMPETITION_FIELDS
    }


class OrganizerController(Controller):
    path = "/org"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def home(self, request: Request) -> Template:
        identity: Identity = request.user
        competitions = [
            c
            for c in await services.list_competitions()
            if any(
                g.role == Role.organizer and g.competition_id in (None, c["id"])
                for g in identity.grants
            )
        ]
        return page("competition/org_home.html", competitions=competitions)

    @get("/competitions/new")
    async def new_competition(self) -> Template:
        return page(
            "competition/competition_form.html",
            competition=None,
            values={"max_trades_per_person": "1", "appeal_window_minutes": "120"},
            errors={},
            error=None,
        )

    @post("/competitions/new")
    async def create_competition(self, request: Request) -> Template | Redirect:
        data = await form_fields(request)
        identity: Identity = request.user
        if not any(g.role == Role.organizer and g.competition_id is None for g in identity.grants):
            raise PermissionDenied(
                "Only an organizer of all competitions can create one.",
                code="competition_create_forbidden",
            )
        try:
            competition_id = await services.create_competition(
                read_competition_form(data), identity.actor
            )
        except DomainError as exc:
            return self._form_error(None, data, exc)
        return Redirect(f"/org/competitions/{competition_id}?done=created", status_code=303)

    @get("/competitions/{competition_id:int}")
    async def overview(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await _overview(request, competition_id)

    @get("/competitions/{competition_id:int}/edit")
    async def edit_competition(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        return page(
            "competition/competition_form.html",
            competition=competition,
            values=_form_values(competition),
            errors={},
            error=None,
        )

    @post("/competitions/{competition_id:int}/edit")
    async def update_competition(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        data = await form_fields(request)
        competition = await services.get_competition(competition_id)
        try:
            await services.update_competition(
                competition_id, read_competition_form(data), request.user.actor
            )
        except DomainError as exc:
            return self._form_error(competition, data, exc)
        return Redirect(f"/org/competitions/{competition_id}?done=saved", status_code=303)

    @post("/competitions/{competition_id:int}/phase")
    async def change_phase(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        data = await form_fields(request)
        target, reason = data.get("target", ""), data.get("reason", "")
        try:
            await services.advance_phase(competition_id, target, request.user.actor, reason)
        except DomainError as exc:
            return await _overview(request, competition_id, error=exc, target=target, reason=reason)
        return Redirect(f"/org/competitions/{competition_id}?done=phase", status_code=303)

    @staticmethod
    def _form_error(competition: dict | None, data: dict[str, str], exc: DomainError) -> Template:
        return page(
            "competition/competition_form.html",
            status_code=exc.status_code,
            competition=competition,
            values=data,
            errors=translate_field_errors(exc),
            error=translate_error(exc),
        )


async def _overview(
    request: Request,
    competition_id: int,
    *,
    error: DomainError | None = None,
    target: str = "",
    reason: str = "",
) -> Template:
    """The competition's overview: its phase with what each possible move would leave behind
    (services.preview_phase), its structure, places and latest changes."""
    competition = await services.get_competition(competition_id)
    current = Phase(competition["phase"])
    return page(
        "competition/overview.html",
        status_code=error.status_code if error else 200,
        competition=competition,
        counts=await catalogue.structure_counts(competition_id),
        places=await catalogue.places_summary(competition_id),
        phases=list(Phase),
        previews=[
            await services.preview_phase(competition_id, t) for t in allowed_targets(current)
        ],
        forward=FORWARD.get(current),
        recent=await audit_trail.recent(competition_id, audit_trail.scope_of(request.user)),
        error=translate_error(error) if error else None,
        errors=translate_field_errors(error) if error else {},
        failed_target=target,
        reason=reason,
        severity=services.Severity,
    )


ROUTES = [OrganizerController]
