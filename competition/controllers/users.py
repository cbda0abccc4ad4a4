"""The organizer's Accounts pages in one competition: who may sign in, with which scoped role."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import catalogue, services, user_admin
from competition.errors import DomainError
from competition.i18n import translate_error, translate_field_errors
from competition.tables import Role
from competition.user_admin import AccountFilter, AccountIn, GrantIn
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.middleware import SESSION_COOKIE
from competition.web.templating import page

# Kept out of every re-rendered form: a password is never sent back to the browser.
PASSWORD_FIELDS = ("password", "password_confirm")
ACCOUNT_FIELDS = ("username", "display_name", "phone", "role", "delegation", "trade", "venue")
GRANT_FIELDS = ("role", "delegation", "trade", "venue")
STATUS_CHOICES = ("active", "inactive")


def _int_or_none(value: str) -> int | None:
    """An id from a form or query string; anything else (or out of range) is no choice."""
    return parse_int(value, minimum=1)


def _role_or_none(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def read_grant(data: dict[str, str]) -> GrantIn | None:
    role = _role_or_none(data.get("role", ""))
    if role is None:
        return None
    return GrantIn(
        role=role,
        delegation_id=_int_or_none(data.get("delegation", "")),
        trade_id=_int_or_none(data.get("trade", "")),
        venue_id=_int_or_none(data.get("venue", "")),
    )


def _kept(data: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in data.items() if k not in PASSWORD_FIELDS}


async def _choices(competition_id: int) -> dict[str, Any]:
    delegations = await catalogue.delegations(competition_id)
    trades = await catalogue.trades(competition_id)
    venues = await catalogue.venues(competition_id)
    return {
        "delegation_options": [(d["id"], f"{d['code']} {d['name']}") for d in delegations],
        "trade_options": [(t["id"], f"{t['code']} {t['name']}") for t in trades],
        "venue_options": [(v["id"], f"{v['code']} {v['name']}") for v in venues],
        "roles": list(Role),
    }


class UsersController(Controller):
    path = "/org/competitions/{competition_id:int}/users"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def list_accounts(
        self,
        request: Request,
        competition_id: FromPath[int],
        role: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        trade: FromQuery[str] = "",
        venue: FromQuery[str] = "",
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page_number: FromQuery[int] = 1,
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        filters = {
            "role": role if _role_or_none(role) else "",
            "delegation": delegation if _int_or_none(delegation) is not None else "",
            "trade": trade if _int_or_none(trade) is not None else "",
            "venue": venue if _int_or_none(venue) is not None else "",
            "status": status if status in STATUS_CHOICES else "",
            "q": q.strip()[:100],
        }
        result = await user_admin.list_accounts(
            competition_id,
            AccountFilter(
                role=_role_or_none(filters["role"]),
                delegation_id=_int_or_none(filters["delegation"]),
                trade_id=_int_or_none(filters["trade"]),
                venue_id=_int_or_none(filters["venue"]),
                active=None if not filters["status"] else filters["status"] == "active",
                search=filters["q"],
            ),
            page=page_number,
        )
        return page(
            "competition/users.html",
            competition=competition,
            result=result,
            filters=filters,
            query=urlencode({k: v for k, v in filters.items() if v}),
            **await _choices(competition_id),
        )

    @get("/new")
    async def new_account(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._account_form(competition_id, {})

    @post("/new")
    async def create_account(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        data = await form_fields(request)
        grant = read_grant(data)
        account = AccountIn(
            username=data.get("username", ""),
            display_name=data.get("display_name", ""),
            password=data.get("password", ""),
            password_confirm=data.get("password_confirm", ""),
            phone=data.get("phone", ""),
            grants=(grant,) if grant else (),
        )
        try:
            user_id = await user_admin.create_account(competition_id, account, request.user)
        except DomainError as exc:
            return await self._account_form(competition_id, _kept(data), exc)
        return Redirect(
            f"/org/competitions/{competition_id}/users/{user_id}?done=created", status_code=303
        )

    @get("/{user_id:int}")
    async def account(
        self, request: Request, competition_id: FromPath[int], user_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._account_page(request, competition_id, user_id, {})

    @post("/{user_id:int}/grants")
    async def add_grant(
        self, request: Request, competition_id: FromPath[int], user_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        data = await form_fields(request)
        grant = read_grant(data)
        try:
            if grant is None:
                raise user_admin.missing_role()
            await user_admin.add_grant(competition_id, user_id, grant, request.user)
        except DomainError as exc:
            return await self._account_page(request, competition_id, user_id, data, exc)
        return self._back(competition_id, user_id, "saved")

    @post("/{user_id:int}/grants/{grant_id:int}/delete")
    async def remove_grant(
        self,
        request: Request,
        competition_id: FromPath[int],
        user_id: FromPath[int],
        grant_id: FromPath[int],
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        try:
            await user_admin.remove_grant(competition_id, user_id, grant_id, request.user)
        except DomainError as exc:
            return await self._account_page(request, competition_id, user_id, {}, exc)
        return self._back(competition_id, user_id, "deleted")

    @post("/{user_id:int}/deactivate")
    async def deactivate(
        self, request: Request, competition_id: FromPath[int], user_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        try:
            await user_admin.deactivate_account(competition_id, user_id, request.user)
        except DomainError as exc:
            return await self._account_page(request, competition_id, user_id, {}, exc)
        return self._back(competition_id, user_id, "saved")

    @post("/{user_id:int}/reactivate")
    async def reactivate(
        self, request: Request, competition_id: FromPath[int], user_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        try:
            await user_admin.reactivate_account(competition_id, user_id, request.user)
        except DomainError as exc:
            return await self._account_page(request, competition_id, user_id, {}, exc)
        return self._back(competition_id, user_id, "saved")

    @post("/{user_id:int}/password")
    async def reset_password(
        self, request: Request, competition_id: FromPath[int], user_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        data = await form_fields(request)
        try:
            await user_admin.reset_password(
                competition_id,
                user_id,
                data.get("password", ""),
                data.get("password_confirm", ""),
                request.user,
                keep_token=request.cookies.get(SESSION_COOKIE),
            )
        except DomainError as exc:
            return await self._account_page(request, competition_id, user_id, {}, exc)
        return self._back(competition_id, user_id, "saved")

    @staticmethod
    def _back(competition_id: int, user_id: int, done: str) -> Redirect:
        return Redirect(
            f"/org/competitions/{competition_id}/users/{user_id}?done={done}", status_code=303
        )

    @staticmethod
    async def _account_form(
        competition_id: int, values: dict[str, str], exc: DomainError | None = None
    ) -> Template:
        return page(
            "competition/users_new.html",
            status_code=exc.status_code if exc else 200,
            competition=await services.get_competition(competition_id),
            values={k: values.get(k, "") for k in ACCOUNT_FIELDS},
            errors=translate_field_errors(exc) if exc else {},
            error=translate_error(exc) if exc else None,
            min_length=user_admin.PASSWORD_MIN_LENGTH,
            **await _choices(competition_id),
        )

    @staticmethod
    async def _account_page(
        request: Request,
        competition_id: int,
        user_id: int,
        values: dict[str, str],
        exc: DomainError | None = None,
    ) -> Template:
        # An unknown account is a 404 page, not a re-rendered form.
        account = await user_admin.get_account(competition_id, user_id)
        return page(
            "competition/users_detail.html",
            status_code=exc.status_code if exc else 200,
            competition=await services.get_competition(competition_id),
            account=account,
            is_self=account["id"] == request.user.user_id,
            values={k: values.get(k, "") for k in GRANT_FIELDS},
            errors=translate_field_errors(exc) if exc else {},
            error=translate_error(exc) if exc else None,
            min_length=user_admin.PASSWORD_MIN_LENGTH,
            **await _choices(competition_id),
        )


ROUTES = [UsersController]
