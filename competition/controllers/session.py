"""Signing in and out, choosing the language, and the front door `/`."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import accounts
from competition.accounts import Identity
from competition.config import get_settings
from competition.errors import DomainError
from competition.i18n import LOCALE_COOKIE, normalise_locale, translate_error
from competition.services import list_competitions
from competition.tables import Role
from competition.web.access import PUBLIC, SIGNED_IN
from competition.web.forms import form_fields, safe_next
from competition.web.middleware import SESSION_COOKIE, session_cookie
from competition.web.templating import page

# Where each role starts, in the order a person with several roles is sent.
ROLE_HOMES: dict[Role, str] = {
    Role.organizer: "/org",
    Role.supervisor: "/supervisor",
    Role.chief_judge: "/chief",
    Role.judge: "/judge",
    Role.delegation_admin: "/delegation",
    Role.checkin_clerk: "/desk",
    Role.encryption: "/encryption",
    Role.contestant: "/me",
}


def home_of(identity: Identity) -> str:
    for role, path in ROLE_HOMES.items():
        if identity.has_role(role):
            return path
    return "/"


@get("/", opt=PUBLIC, include_in_schema=False)
async def front_door(request: Request) -> Template | Redirect:
    identity: Identity | None = request.scope.get("user")
    if identity is not None and len(identity.roles) == 1:
        return Redirect(home_of(identity), status_code=303)
    homes = [
        (role, path)
        for role, path in ROLE_HOMES.items()
        if identity is not None and identity.has_role(role)
    ]
    return page("front.html", competitions=await list_competitions(), homes=homes)


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    if request.scope.get("user") is not None:
        return Redirect(safe_next(next, home_of(request.scope["user"])), status_code=303)
    return page("login.html", next=safe_next(next, ""), username="", error=None)


@post("/login", opt=PUBLIC, include_in_schema=False)
async def login(request: Request) -> Template | Redirect:
    data = await form_fields(request)
    username = data.get("username", "")
    next_path = safe_next(data.get("next"), "")
    address = request.client.host if request.client else "unknown"
    try:
        user_id = await accounts.authenticate(username, data.get("password", ""), address)
    except DomainError as exc:
        return page(
            "login.html",
            status_code=exc.status_code,
            next=next_path,
            username=username,
            error=translate_error(exc),
        )
    token = await accounts.start_session(user_id)
    identity = await accounts.load_identity(token)
    target = safe_next(next_path, home_of(identity) if identity else "/")
    response = Redirect(target, status_code=303)
    response.set_cookie(
        session_cookie(
            token,
            secure=get_settings().cookie_secure,
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
    )
    return response


@post("/logout", opt=SIGNED_IN, include_in_schema=False)
async def logout(request: Request) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await accounts.end_session(token)
    response = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/lang/{code:str}", opt=PUBLIC, include_in_schema=False)
async def choose_language(code: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
    response = Redirect(safe_next(next), status_code=303)
    response.set_cookie(
        Cookie(
            key=LOCALE_COOKIE,
            value=normalise_locale(code),
            path="/",
            max_age=365 * 24 * 3600,
            samesite="lax",
            httponly=True,
        )
    )
    return response


ROUTES = [front_door, login_form, login, logout, choose_language]
