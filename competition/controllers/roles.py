"""The home page of each role other than the organizer, scoped to what the role's grants reach."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from competition import catalogue, services
from competition.accounts import Identity
from competition.schemas import events_from_json
from competition.tables import AuditLog, Competition, Delegation, Role, RoleGrant, Trade
from competition.web.access import roles
from competition.web.templating import page

AUDIT_PAGE_SIZE = 50


async def _trade_cards(identity: Identity, role: Role) -> list[dict[str, Any]]:
    cards = []
    for grant in identity.grants_for(role):
        if grant.trade_id is None:
            continue
        trade = (
            await Trade.select(
                Trade.all_columns(),
                Trade.industry.name,
                Trade.competition.name,
                Trade.competition.phase,
            )
            .where(Trade.id == grant.trade_id)
            .output(load_json=True)
            .first()
        )
        if trade is None:
            continue
        trade["event_list"] = events_from_json(trade["events"])
        panel = (
            await RoleGrant.select(
                RoleGrant.role,
                RoleGrant.user.display_name,
                RoleGrant.user.username,
            )
            .where(
                (RoleGrant.trade == grant.trade_id)
                & RoleGrant.role.is_in([Role.judge.value, Role.chief_judge.value])
            )
            .order_by(RoleGrant.role)
            .order_by(RoleGrant.user.username)
        )
        cards.append(
            {
                "trade": trade,
                "sessions": await catalogue.sessions(trade["competition"], trade_id=trade["id"]),
                "panel": panel,
            }
        )
    return cards


@get("/judge", opt=roles(Role.judge), include_in_schema=False)
async def judge_home(request: Request) -> Template:
    return page(
        "competition/judge_home.html",
        role=Role.judge,
        cards=await _trade_cards(request.user, Role.judge),
    )


@get("/chief", opt=roles(Role.chief_judge), include_in_schema=False)
async def chief_home(request: Request) -> Template:
    return page(
        "competition/judge_home.html",
        role=Role.chief_judge,
        cards=await _trade_cards(request.user, Role.chief_judge),
    )


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
                "total": sum(q["max_entries"] for q in quotas),
            }
        )
    return page("competition/delegation_home.html", cards=cards)


@get("/supervisor", opt=roles(Role.supervisor), include_in_schema=False)
async def supervisor_home(request: Request) -> Template:
    competitions = await services.list_competitions()
    for competition in competitions:
        competition["counts"] = await catalogue.structure_counts(competition["id"])
    return page("competition/supervisor_home.html", competitions=competitions)


@get("/supervisor/audit", opt=roles(Role.supervisor, Role.organizer), include_in_schema=False)
async def audit_trail(
    request: Request,
    competition: FromQuery[int | None] = None,
    action: FromQuery[str] = "",
    object_type: FromQuery[str] = "",
    page_number: FromQuery[int] = 1,
) -> Template:
    """The audit trail (审计日志), newest first, filterable; read-only for everyone."""
    query = AuditLog.select()
    count = AuditLog.count()
    conditions = []
    if competition is not None:
        conditions.append(AuditLog.competition_id == competition)
    if action:
        conditions.append(AuditLog.action.like(f"{action}%"))
    if object_type:
        conditions.append(AuditLog.object_type == object_type)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    page_number = max(1, page_number)
    rows = (
        await query.order_by(AuditLog.id, ascending=False)
        .limit(AUDIT_PAGE_SIZE)
        .offset((page_number - 1) * AUDIT_PAGE_SIZE)
        .output(load_json=True)
    )
    total = await count
    return page(
        "competition/audit.html",
        rows=rows,
        total=total,
        page_number=page_number,
        pages=max(1, (total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE),
        filters={"competition": competition or "", "action": action, "object_type": object_type},
        competitions=await Competition.select(Competition.id, Competition.name),
    )


@get("/me", opt=roles(Role.contestant), include_in_schema=False)
async def contestant_home(request: Request) -> Template:
    competitions = await services.list_competitions()
    return page("competition/contestant_home.html", competitions=competitions)


ROUTES = [judge_home, chief_home, delegation_home, supervisor_home, audit_trail, contestant_home]
