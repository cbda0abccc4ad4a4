"""Turn errors into answers in the user's language: a page for people, JSON for the API.

Every error answer has one shape: `{code, message, fields?}` as JSON (`ErrorOut`, documented in
the OpenAPI schema), or `error.html` with the same message. Some errors are raised outside the
request's middleware (the CSRF check, a path no route matches), after the context variable of the
user's language was reset; the handlers here therefore set the language themselves, from what the
middleware recorded in the scope or else from the language cookie.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from competition.errors import DomainError
from competition.i18n import (
    LOCALE_COOKIE,
    N_,
    current_locale,
    gettext,
    normalise_locale,
    render,
    translate_error,
    translate_field_errors,
)
from competition.web.forms import safe_next
from competition.web.params import BadInput

log = logging.getLogger("jiangxin")

CSRF_FAILED = "CSRF token verification failed"
# Where the middleware leaves the user's language for handlers that run after it returned.
LOCALE_SCOPE_KEY = "jiangxin.locale"

BAD_REQUEST = N_("The request was not understood: some values are missing or invalid.")
BAD_VALUE = N_("This value is not valid.")


class ErrorOut(msgspec.Struct, omit_defaults=True):
    """Every error answer: a stable `code`, a `message` in the user's language, and for input
    that was refused, `fields`: parameter or field name → message."""

    code: str
    message: str
    fields: dict[str, str] | None = None


def wants_json(request: Request) -> bool:
    """JSON for the API (every route of the OpenAPI document) and for a client that asks for
    it; a page for a browser."""
    handler = request.scope.get("route_handler")
    if request.url.path.startswith("/api/") or (
        handler is not None and handler.resolve_include_in_schema()
    ):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def users_locale(request: Request) -> str:
    recorded = request.scope.get(LOCALE_SCOPE_KEY)  # type: ignore[call-overload]
    return recorded or normalise_locale(request.cookies.get(LOCALE_COOKIE))


class _ErrorPage(Template):
    """error.html, rendered in the user's language even where the context variable is unset."""

    def __init__(self, *, locale: str, **kwargs: Any) -> None:
        super().__init__(template_name="error.html", **kwargs)
        self.locale = locale

    def to_asgi_response(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        token = current_locale.set(self.locale)
        try:
            return super().to_asgi_response(*args, **kwargs)
        finally:
            current_locale.reset(token)


def _back(request: Request) -> str:
    """The page the request came from, when it is one of this site's; else the home page."""
    referer = request.headers.get("referer", "")
    try:
        parts = urlsplit(referer)
    except ValueError:
        return "/"
    if not parts.netloc or parts.netloc.lower() != request.headers.get("host", "").lower():
        return "/"
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def error_body(code: str, message: str, fields: Mapping[str, str] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    return body


def _page(
    request: Request,
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, str] | None = None,
) -> Response:
    if wants_json(request):
        return Response(
            error_body(code, message, fields), status_code=status, media_type=MediaType.JSON
        )
    return _ErrorPage(  # type: ignore[return-value]
        locale=current_locale.get(),
        context={"status": status, "code": code, "message": message, "back": _back(request)},
        status_code=status,
    )


def _in_users_language(
    handler: Callable[[Request, Any], Response],
) -> Callable[[Request, Any], Response]:
    @functools.wraps(handler)
    def wrapper(request: Request, exc: Any) -> Response:
        token = current_locale.set(users_locale(request))
        try:
            return handler(request, exc)
        finally:
            current_locale.reset(token)

    return wrapper


@_in_users_language
def domain_error_handler(request: Request, exc: DomainError) -> Response:
    return _page(
        request, exc.status_code, exc.code, translate_error(exc), translate_field_errors(exc)
    )


@_in_users_language
def not_authorized_handler(request: Request, exc: NotAuthorizedException) -> Response:
    if wants_json(request):
        return _page(request, 401, "sign_in_required", gettext("Please sign in first."))
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return Redirect(f"/login?next={quote(target, safe='')}", status_code=303)  # type: ignore[return-value]


@_in_users_language
def permission_denied_handler(request: Request, exc: PermissionDeniedException) -> Response:
    if exc.detail == CSRF_FAILED:
        return _page(
            request,
            403,
            "csrf_failed",
            gettext(
                "This form has expired or did not come from this site. "
                "Go back, reload the page and submit it again."
            ),
        )
    return _page(
        request, 403, "forbidden", gettext("You do not have permission to open this page.")
    )


@_in_users_language
def not_found_handler(request: Request, exc: NotFoundException) -> Response:
    return _page(request, 404, "not_found", gettext("The page or record was not found."))


@_in_users_language
def validation_handler(request: Request, exc: ValidationException) -> Response:
    if isinstance(exc, BadInput):
        return _page(
            request,
            400,
            "bad_request",
            gettext(exc.message),
            {name: render(msgid) for name, msgid in exc.fields.items()},
        )
    # Litestar's own checks of the declared parameters (a word where a number belongs): their
    # English wording is not shown; the field names are.
    extra = exc.extra if isinstance(exc.extra, list) else []
    keys = [item["key"] for item in extra if isinstance(item, dict) and item.get("key")]
    return _page(
        request,
        400,
        "bad_request",
        gettext(BAD_REQUEST),
        {key: gettext(BAD_VALUE) for key in keys},
    )


@_in_users_language
def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 405:
        message = gettext("This action is not available here.")
    elif status == 413:
        message = gettext("The upload is too large.")
    elif status == 400:
        return _page(request, 400, "bad_request", gettext(BAD_REQUEST))
    else:
        message = gettext("The request could not be handled.")
    return _page(request, status, "http_error", message)


BUSY_RETRY_SECONDS = 2


def is_busy(exc: BaseException) -> bool:
    """A write that could not get the database this time and would succeed when tried again:
    SQLite's lock still held after the busy timeout (several workers on one file, past
    capacity), a PostgreSQL deadlock or serialization failure (the transaction was rolled
    back)."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        return "database is locked" in text or "database is busy" in text
    return isinstance(
        exc, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError
    )


@_in_users_language
def server_error_handler(request: Request, exc: Exception) -> Response:
    if is_busy(exc):
        # Nothing was written (the transaction rolled back): "try again", not "broken". A
        # tablet's queue and any API client retry a 503 after Retry-After.
        log.warning("database busy (%s) on %s %s", type(exc).__name__, request.method,
                    request.url.path)  # fmt: skip
        response = _page(
            request,
            HTTP_503_SERVICE_UNAVAILABLE,
            "busy",
            gettext("The server is very busy right now. Nothing was saved; please try again "
                    "in a moment."),
        )  # fmt: skip
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    # Only the type and the route: request bodies may hold personal data.
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return _page(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "server_error",
        gettext("Something went wrong on our side. Nothing was saved; please try again."),
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    NotAuthorizedException: not_authorized_handler,
    PermissionDeniedException: permission_denied_handler,
    NotFoundException: not_found_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: server_error_handler,
}
