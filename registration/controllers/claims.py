"""Claims of person records (认领), decided by the record's owner: the delegation that entered
the person (/delegation/claims) or an organizer (/org/competitions/{id}/claims). The service
(registration/claims.py) checks that the one deciding owns the record; these pages only list
what waits and pass the decision on."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound
from competition.i18n import N_, gettext, translate_error, translate_field_errors
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields
from competition.web.menus import REGISTRATION, MenuItem, add_competition_menu_item, add_home_link
from competition.web.templating import page
from registration import claims
from registration.access import as_organizer
from registration.controllers.delegation import acting_for, my_delegation
from registration.people import Acting

add_home_link(
    Role.delegation_admin,
    MenuItem("claims", "/delegation/claims", N_("Confirm who may take over a record")),
)
add_competition_menu_item(MenuItem("claims", "/claims", N_("Record claims")), REGISTRATION)

DONE = {"confirmed": N_("The claim was confirmed."), "refused": N_("The claim was refused.")}


async def _page(
    *,
    acting: Acting,
    action_base: str,
    query: str,
    competition: dict[str, Any] | None = None,
    delegation: dict[str, Any] | None = None,
    exc: DomainError | None = None,
    failed_claim: int | None = None,
    reason: str = "",
    done: str = "",
) -> Template:
    return page(
        "registration/claims/claims.html",
        status_code=exc.status_code if exc else 200,
        claims=await claims.pending_claims(
            acting=acting, competition_id=competition["id"] if competition else None
        ),
        action_base=action_base,
        query=query,
        competition=competition,
        delegation=delegation,
        error=translate_error(exc) if exc else None,
        errors=translate_field_errors(exc) if exc else {},
        failed_claim=failed_claim,
        reason=reason,
        done_notice=gettext(DONE[done]) if done in DONE else None,
    )


async def _decide(
    request: Request, claim_id: int, acting: Acting
) -> tuple[DomainError | None, str, str]:
    """Pass the decision on; returns (error, done key, the reason typed)."""
    identity: Identity = request.user
    data = await form_fields(request)
    confirm = data.get("action") == "confirm"
    try:
        await claims.decide_claim(
            claim_id, confirm, acting=acting, actor=identity.actor, reason=data.get("reason", "")
        )
    except DomainError as exc:
        return exc, "", data.get("reason", "")
    return None, "confirmed" if confirm else "refused", ""


class DelegationClaimsController(Controller):
    path = "/delegation/claims"
    opt = roles(Role.delegation_admin)
    include_in_schema = False

    @get("/")
    async def list_claims(
        self, request: Request, delegation: FromQuery[str] = "", done: FromQuery[str] = ""
    ) -> Template:
        mine = await my_delegation(request.user, delegation)
        return await _page(
            acting=acting_for(mine),
            action_base="/delegation/claims",
            query=f"delegation={mine['id']}",
            delegation=mine,
            done=done,
        )

    @post("/{claim_id:int}")
    async def decide(
        self, request: Request, claim_id: FromPath[int], delegation: FromQuery[str] = ""
    ) -> Template | Redirect:
        mine = await my_delegation(request.user, delegation)
        exc, done, reason = await _decide(request, claim_id, acting_for(mine))
        if exc is not None:
            return await _page(
                acting=acting_for(mine),
                action_base="/delegation/claims",
                query=f"delegation={mine['id']}",
                delegation=mine,
                exc=exc,
                failed_claim=claim_id,
                reason=reason,
            )
        return Redirect(f"/delegation/claims?delegation={mine['id']}&done={done}", status_code=303)


class OrganizerClaimsController(Controller):
    path = "/org/competitions/{competition_id:int}/claims"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def list_claims(
        self, request: Request, competition_id: FromPath[int], done: FromQuery[str] = ""
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await _page(
            acting=as_organizer(request.user, competition_id),
            action_base=f"/org/competitions/{competition_id}/claims",
            query="",
            competition=await services.get_competition(competition_id),
            done=done,
        )

    @post("/{claim_id:int}")
    async def decide(
        self, request: Request, competition_id: FromPath[int], claim_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        acting = as_organizer(request.user, competition_id)
        # An organizer of one competition decides the claims this page lists, no other.
        listed = await claims.pending_claims(acting=acting, competition_id=competition_id)
        if claim_id not in {c["id"] for c in listed}:
            raise NotFound("The claim was not found.", code="claim_not_found")
        exc, done, reason = await _decide(request, claim_id, acting)
        if exc is not None:
            return await _page(
                acting=acting,
                action_base=f"/org/competitions/{competition_id}/claims",
                query="",
                competition=await services.get_competition(competition_id),
                exc=exc,
                failed_claim=claim_id,
                reason=reason,
            )
        return Redirect(f"/org/competitions/{competition_id}/claims?done={done}", status_code=303)


ROUTES = [DelegationClaimsController, OrganizerClaimsController]
