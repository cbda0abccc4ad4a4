"""Per-request context: the user's language and the signed-in identity."""

from __future__ import annotations

from functools import lru_cache
from http.cookies import SimpleCookie

from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from competition.accounts import load_identity
from competition.i18n import (
    DEFAULT_LOCALE,
    LOCALE_COOKIE,
    LOCALES,
    current_locale,
    normalise_locale,
)

SESSION_COOKIE = "jx_session"


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _cookies(scope: Scope) -> dict[str, str]:
    header = _header(scope, b"cookie")
    return _parse_cookie_header(header) if header else {}


@lru_cache(maxsize=256)
def locale_from_accept_language(header: str) -> str:
    """The first of our languages in a browser's Accept-Language, by preference (q), for a visit
    without a `lang` cookie: zh* is zh_CN, en* is en, anything else the default. Browsers send
    a handful of distinct headers, so the parse is cached."""
    best, best_q = DEFAULT_LOCALE, 0.0
    for position, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-")[0].split("_")[0].lower()
        locale = next((loc for loc in LOCALES if loc.split("_")[0].lower() == primary), None)
        if locale is None:
            continue
        q = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        # Equal weights keep the browser's order.
        q -= position * 1e-6
        if q > best_q:
            best, best_q = locale, q
    return best


def request_locale(scope: Scope, cookies: dict[str, str]) -> str:
    chosen = cookies.get(LOCALE_COOKIE)
    if chosen:
        return normalise_locale(chosen)
    header = _header(scope, b"accept-language")
    return locale_from_accept_language(header[:200]) if header else DEFAULT_LOCALE


def _parse_cookie_header(header: str) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {k: m.value for k, m in jar.items()}


def _vary_on_language(send: Send) -> Send:
    """Without a `lang` cookie the page's language follows Accept-Language: caches are told."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"vary", b"Accept-Language")]
        await send(message)

    return wrapped


def context_middleware(app: ASGIApp) -> ASGIApp:
    """Sets the locale (cookie `lang`, else the browser's Accept-Language, else zh-CN) and
    `scope["user"]` for every request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = current_locale.set(request_locale(scope, cookies))
        path = scope.get("path", "")
        if LOCALE_COOKIE not in cookies and not path.startswith("/static/"):
            send = _vary_on_language(send)
        try:
            scope["user"] = None
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
