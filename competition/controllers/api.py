"""The JSON API of the core (documented at /schema/openapi.json).

Authentication is the same session cookie as the pages; unsafe methods need the CSRF token in
the `x-csrftoken` header.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from competition import catalogue, services
from competition.accounts import Identity
from competition.errors import PhaseError
from competition.phases import Phase, allowed_targets
from competition.tables import Role
from competition.web.access import PUBLIC, SIGNED_IN, require_competition, roles


class CompetitionOut(msgspec.Struct):
    id: int
    code: str
    name: str
    year: int
    phase: str
    next_phases: list[str]
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class EventOut(msgspec.Struct):
    key: str
    weight: int


class TradeOut(msgspec.Struct):
    id: int
    code: str
    name: str
    industry_code: str
    industry_name: str
    groups: list[str]
    events: list[EventOut]
    eligibility: dict[str, Any]
    max_entries: int | None


class IndustryOut(msgspec.Struct):
    id: int
    code: str
    name: str


class DelegationOut(msgspec.Struct):
    id: int
    code: str
    name: str
    kind: str


class PhaseChange(msgspec.Struct):
    target: str
    reason: str = ""


class GrantOut(msgspec.Struct):
    role: str
    competition_id: int | None
    delegation_id: int | None
    trade_id: int | None


class MeOut(msgspec.Struct):
    user_id: int
    username: str
    display_name: str
    grants: list[GrantOut]


def _competition_out(row: dict[str, Any]) -> CompetitionOut:
    return CompetitionOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        year=row["year"],
        phase=row["phase"],
        next_phases=[p.value for p in allowed_targets(Phase(row["phase"]))],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
    )


class CompetitionApi(Controller):
    path = "/api/competitions"
    tags = ("competitions",)

    @get("/", opt=roles(Role.organizer, Role.supervisor))
    async def list_competitions(self) -> list[CompetitionOut]:
        return [_competition_out(r) for r in await services.list_competitions()]

    @get("/{competition_id:int}", opt=PUBLIC)
    async def get_competition(self, competition_id: FromPath[int]) -> CompetitionOut:
        return _competition_out(await services.get_competition(competition_id))

    @get("/{competition_id:int}/industries", opt=PUBLIC)
    async def industries(self, competition_id: FromPath[int]) -> list[IndustryOut]:
        await services.get_competition(competition_id)
        return [
            IndustryOut(id=r["id"], code=r["code"], name=r["name"])
            for r in await catalogue.industries(competition_id)
        ]

    @get("/{competition_id:int}/trades", opt=PUBLIC)
    async def trades(self, competition_id: FromPath[int]) -> list[TradeOut]:
        await services.get_competition(competition_id)
        return [
            TradeOut(
                id=r["id"],
                code=r["code"],
                name=r["name"],
                industry_code=r["industry.code"],
                industry_name=r["industry.name"],
                groups=list(r["groups"]),
                events=[EventOut(key=e.key.value, weight=e.weight) for e in r["event_list"]],
                eligibility=r["eligibility"],
                max_entries=r["max_entries"],
            )
            for r in await catalogue.trades(competition_id)
        ]

    @get("/{competition_id:int}/delegations", opt=roles(Role.organizer, Role.supervisor))
    async def delegations(
        self, request: Request, competition_id: FromPath[int]
    ) -> list[DelegationOut]:
        require_competition(request.user, competition_id, Role.organizer, Role.supervisor)
        await services.get_competition(competition_id)
        return [
            DelegationOut(id=r["id"], code=r["code"], name=r["name"], kind=r["kind"])
            for r in await catalogue.delegations(competition_id)
        ]

    @post(
        "/{competition_id:int}/phase",
        opt=roles(Role.organizer),
        status_code=200,
        raises=[PhaseError],
    )
    async def change_phase(
        self, request: Request, competition_id: FromPath[int], data: JSONBody[PhaseChange]
    ) -> CompetitionOut:
        require_competition(request.user, competition_id, Role.organizer)
        await services.advance_phase(competition_id, data.target, request.user.actor, data.reason)
        return _competition_out(await services.get_competition(competition_id))


@get("/api/me", opt=SIGNED_IN, tags=["accounts"])
async def me(request: Request) -> MeOut:
    identity: Identity = request.user
    return MeOut(
        user_id=identity.user_id,
        username=identity.username,
        display_name=identity.display_name,
        grants=[
            GrantOut(
                role=g.role.value,
                competition_id=g.competition_id,
                delegation_id=g.delegation_id,
                trade_id=g.trade_id,
            )
            for g in identity.grants
        ],
    )


ROUTES = [CompetitionApi, me]
