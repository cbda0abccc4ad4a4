"""Turn errors into answers in the user's language: a page for people, JSON for the API."""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from competition.errors import DomainError
from competition.i18n import gettext, translate_error, translate_field_errors

log = logging.getLogger("jiangxin")

CSRF_FAILED = "CSRF token verification failed"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def _page(
    request: Request, status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        body: dict = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        return Response(body, status_code=status, media_type=MediaType.JSON)
    return Template(  # type: ignore[return-value]
        template_name="error.html",
        context={"status": status, "code": code, "message": message},
        status_code=status,
    )


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    return _page(
        request, exc.status_code, exc.code, translate_error(exc), translate_field_errors(exc)
    )


def not_authorized_handler(request: Request, exc: NotAuthorizedException) -> Response:
    if wants_json(request):
        return _page(request, 401, "sign_in_required", gettext("Please sign in first."))
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return Redirect(f"/login?next={quote(target, safe='')}", status_code=303)  # type: ignore[return-value]


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


def not_found_handler(request: Request, exc: NotFoundException) -> Response:
    return _page(request, 404, "not_found", gettext("The page or record was not found."))


def validation_handler(request: Request, exc: ValidationException) -> Response:
    return _page(
        request,
        400,
        "bad_request",
        gettext("The request was not understood: some values are missing or invalid."),
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 405:
        message = gettext("This action is not available here.")
    elif status == 413:
        message = gettext("The upload is too large.")
    else:
        message = gettext("The request could not be handled.")
    return _page(request, status, "http_error", message)


def server_error_handler(request: Request, exc: Exception) -> Response:
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
