"""Who may call which route.

Every route declares its audience in `opt`: `public=True`, or `roles={...}`. The app-wide
`access_guard` refuses any route that declares neither, so a route added without thought is
closed, not open.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from competition.accounts import Identity
from competition.errors import PermissionDenied
from competition.tables import Role

PUBLIC = {"public": True}
SIGNED_IN = {"roles": frozenset(Role)}


def roles(*allowed: Role) -> dict:
    return {"roles": frozenset(allowed)}


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    # A coroutine on purpose: Litestar runs a plain function guard in a worker thread, a
    # thread hop on every request (~0.3 ms, more under load; bench/request_floor.py).
    # Litestar's automatic OPTIONS answer lists the allowed methods and nothing else.
    if handler.opt.get("public") or connection.scope.get("method") == "OPTIONS":
        return
    allowed = handler.opt.get("roles")
    if not allowed:
        raise PermissionDeniedException("route declares no audience")
    identity: Identity | None = connection.scope.get("user")
    if identity is None:
        raise NotAuthorizedException("sign-in required")
    if not identity.roles.intersection(allowed):
        raise PermissionDeniedException("role not allowed")


def current_identity(connection: ASGIConnection) -> Identity | None:
    return connection.scope.get("user")


def require_competition(identity: Identity, competition_id: int, *allowed: Role) -> None:
    """A grant scoped to one competition reaches only that competition; an unscoped organizer
    or supervisor grant reaches all of them."""
    for grant in identity.grants:
        if grant.role in allowed and grant.competition_id in (None, competition_id):
            return
    raise PermissionDenied(
        "You do not have access to this competition.", code="competition_forbidden"
    )
