"""The OpenAPI document says what the API answers when it refuses, and in which shape.

Every error answer of the API is `ErrorOut` (`{code, message, fields?}`, competition/web/errors.py).
Which statuses a route answers follows from how it is declared, so a route added later is
documented without a line of its own:

- 400 — every route: the edge refuses a number out of range or text that cannot be stored in any
  parameter (competition/web/params.py), and a body that is not the declared JSON;
- 401 — every route that is not public: nobody is signed in;
- 403 — a route for some roles only (a signed-in user without one, or without access to the
  competition), and every unsafe method (the CSRF token or the request's origin is wrong);
- 404 — a route with a path parameter: there is no such record;
- and each status of the errors the handler declares with Litestar's `raises=[...]` (e.g.
  `PhaseError` → 409, `ValidationFailed` → 422, `NotFound` → 404 for an id in the body).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from competition.tables import Role
from competition.web.errors import ErrorOut

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DESCRIPTIONS = {
    400: "The request cannot be used: a parameter or body field out of range or not of the "
    "declared type, text with a character that cannot be stored (NUL), or a body that is not "
    "the declared JSON. `fields` names the parameters.",
    401: "Nobody is signed in (the session cookie is missing or expired).",
    403: "Not allowed: the signed-in user lacks the role or access to this competition, or, "
    "for an unsafe method, the CSRF token (`x-csrftoken`) or the request's origin is wrong.",
    404: "There is no such record.",
    409: "The action conflicts with the current state (e.g. the competition's phase).",
    422: "A value is not valid; `fields` names each field with its message.",
    429: "Too many attempts; wait and try again.",
}


def error_statuses(handler: HTTPRouteHandler, path: str) -> list[int]:
    """The error statuses a handler answers (see the module's docstring)."""
    statuses = {400}
    if not handler.opt.get("public"):
        statuses.add(401)
        if frozenset(handler.opt.get("roles") or ()) != frozenset(Role):
            statuses.add(403)
    if UNSAFE & set(handler.http_methods):
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    for exc in handler.raises or ():
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and status in DESCRIPTIONS:
            statuses.add(status)
    return sorted(statuses)


def document_errors(app: Litestar) -> None:
    """Adds the error answers to every handler the schema shows; run before the schema is made
    (it is made on its first request)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or "OPTIONS" in handler.http_methods:
                continue
            handler.responses = {
                **{
                    status: ResponseSpec(
                        data_container=ErrorOut,
                        description=DESCRIPTIONS[status],
                        generate_examples=False,
                    )
                    for status in error_statuses(handler, route.path)
                },
                **(handler.responses or {}),
            }
