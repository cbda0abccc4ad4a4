"""The home page of each role other than the organizer, scoped to what the role's grants reach."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from competition import audit_trail, catalogue, services
from competition.accounts import Identity
from competition.phases import Phase
from competition.tables import Competition, Delegation, Role
from competition.web.access import require_competition, roles
from competition.web.templating import localized, page


@get("/delegation", opt=roles(Role.delegation_admin), include_in_schema=False)
async def delegation_home(request: Request) -> Template:
    identity: Identity = request.user
    cards = []
    for grant in identity.grants_for(Role.delegation_admin):
        if grant.delegation_id is None:
            continue
        delegation = (
            await Delegation.select(
                Delegation.all_columns(),
                Delegation.competition.name,
                Delegation.competition.phase,
            )
            .where(Delegation.id == grant.delegation_id)
            .first()
        )
        if delegation is None:
            continue
        quotas = await catalogue.quotas(delegation["competition"], delegation_id=delegation["id"])
        cards.append(
            {
                "delegation": delegation,
                "quotas": quotas,
                # Places over the limited quotas; an unlimited one (None) is counted apart.
                "total": sum(q["max_entries"] for q in quotas if q["max_entries"] is not None),
                "unlimited": sum(q["max_entries"] is None for q in quotas),
            }
        )
    return page("competition/delegation_home.html", cards=cards)


def _reached(identity: Identity, role: Role, competitions: list[dict[str, Any]]) -> list[dict]:
    """The competitions a role's grants reach (an unscoped grant reaches every one)."""
    return [
        c
        for c in competitions
        if any(g.role == role and g.competition_id in (None, c["id"]) for g in identity.grants)
    ]


@get("/supervisor", opt=roles(Role.supervisor), include_in_schema=False)
async def supervisor_home(request: Request) -> Template:
    competitions = _reached(request.user, Role.supervisor, await services.list_competitions())
    for competition in competitions:
        competition["counts"] = await catalogue.structure_counts(competition["id"])
    return page("competition/supervisor_home.html", competitions=competitions)


@get(
    "/supervisor/competitions/{competition_id:int}",
    opt=roles(Role.supervisor),
    include_in_schema=False,
)
async def supervisor_competition(request: Request, competition_id: FromPath[int]) -> Template:
    """One competition as the supervisor sees it: its phase, structure and latest changes, and
    the read-only views of everything else (SUPERVISOR_MENU)."""
    require_competition(request.user, competition_id, Role.supervisor)
    scope = audit_trail.scope_of(request.user)
    return page(
        "competition/supervisor_competition.html",
        competition=await services.get_competition(competition_id),
        counts=await catalogue.structure_counts(competition_id),
        places=await catalogue.places_summary(competition_id),
        phases=list(Phase),
        recent=await audit_trail.recent(competition_id, scope),
    )


@get("/supervisor/audit", opt=roles(Role.supervisor, Role.organizer), include_in_schema=False)
async def audit_trail_page(
    request: Request,
    competition: FromQuery[str] = "",
    action: FromQuery[str] = "",
    object_type: FromQuery[str] = "",
    object_id: FromQuery[str] = "",
    before: FromQuery[str] = "",
    after: FromQuery[str] = "",
) -> Template:
    """The audit trail (审计日志), newest first, filterable, paged by id; read-only for
    everyone and scoped to the competitions the viewer's grants reach."""
    scope = audit_trail.scope_of(request.user)
    choices = audit_trail.action_choices()
    known_types = sorted(audit_trail.OBJECT_KINDS)
    shown = {
        "competition": competition if _id(competition) is not None else "",
        "action": action if action in {value for value, _label in choices} else "",
        "object_type": object_type if object_type in known_types else "",
        "object_id": object_id if object_id.isdigit() and len(object_id) < 20 else "",
    }
    result = await audit_trail.trail_page(
        scope,
        audit_trail.TrailFilter(
            competition_id=_id(shown["competition"]),
            action=shown["action"],
            object_type=shown["object_type"],
            object_id=shown["object_id"],
        ),
        before=_id(before),
        after=_id(after),
    )
    competitions = await Competition.select(
        Competition.id, Competition.name, Competition.name_en
    ).order_by(Competition.id)
    return page(
        "competition/audit.html",
        result=result,
        filters=shown,
        query=urlencode({k: v for k, v in shown.items() if v}),
        choices=choices,
        object_kinds=[(t, audit_trail.OBJECT_KINDS[t].label) for t in known_types],
        competitions=[c for c in competitions if scope.allows(c["id"])],
        competition_names={c["id"]: localized(c["name"], c["name_en"]) for c in competitions},
    )


def _id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


@get("/me", opt=roles(Role.contestant), include_in_schema=False)
async def contestant_home(request: Request) -> Template:
    competitions = await services.list_competitions()
    return page("competition/contestant_home.html", competitions=competitions)


ROUTES = [
    delegation_home,
    supervisor_home,
    supervisor_competition,
    audit_trail_page,
    contestant_home,
]
