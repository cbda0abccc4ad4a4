"""Per-request context: the user's language and the signed-in identity."""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Receive, Scope, Send

from competition.accounts import load_identity
from competition.i18n import LOCALE_COOKIE, current_locale, normalise_locale

SESSION_COOKIE = "jx_session"


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return _parse_cookie_header(value.decode("latin-1"))
    return {}


def _parse_cookie_header(header: str) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {k: m.value for k, m in jar.items()}


def context_middleware(app: ASGIApp) -> ASGIApp:
    """Sets the locale (cookie `lang`, default zh-CN) and `scope["user"]` for every request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = current_locale.set(normalise_locale(cookies.get(LOCALE_COOKIE)))
        try:
            scope["user"] = None
            path = scope.get("path", "")
            session = cookies.get(SESSION_COOKIE)
            if session and not path.startswith("/static/"):
                scope["user"] = await load_identity(session)
            await app(scope, receive, send)
        finally:
            current_locale.reset(token)

    return middleware


def session_cookie(token: str, *, secure: bool, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=max_age,
        path="/",
    )
