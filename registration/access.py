"""Who may see or change which entry: the contestant who owns it, the delegation it belongs
to, and the organizers of its competition. Controllers call these before any service, and
build here the `people.Acting` a service needs to decide whose person record may change."""

from __future__ import annotations

from typing import Any

from competition.accounts import Identity
from competition.errors import NotFound, PermissionDenied
from competition.tables import Role
from registration.people import Acting
from registration.tables import Entry, Person


def delegation_ids(identity: Identity) -> list[int]:
    return [
        g.delegation_id
        for g in identity.grants_for(Role.delegation_admin)
        if g.delegation_id is not None
    ]


def organizes(identity: Identity, competition_id: int) -> bool:
    return any(
        g.role == Role.organizer and g.competition_id in (None, competition_id)
        for g in identity.grants
    )


async def person_of(identity: Identity) -> dict[str, Any] | None:
    """The person record linked to a contestant's account, if they registered."""
    return await Person.select().where(Person.user == identity.user_id).first()


async def entry_scope(entry_id: int) -> dict[str, Any]:
    row = (
        await Entry.select(
            Entry.id, Entry.competition, Entry.delegation, Entry.person, Entry.person.user
        )
        .where(Entry.id == entry_id)
        .first()
    )
    if row is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    return row


async def require_entry_access(identity: Identity, entry_id: int, *roles: Role) -> dict[str, Any]:
    """The entry's scope if `identity` reaches it through one of `roles`, else 403."""
    scope = await entry_scope(entry_id)
    if Role.contestant in roles and scope["person.user"] == identity.user_id:
        return scope
    if Role.delegation_admin in roles and scope["delegation"] in delegation_ids(identity):
        return scope
    if Role.organizer in roles and organizes(identity, scope["competition"]):
        return scope
    raise PermissionDenied("You do not have access to this entry.", code="entry_forbidden")


def as_contestant(identity: Identity) -> Acting:
    return Acting(role=Role.contestant, user_id=identity.user_id)


def as_organizer(identity: Identity, competition_id: int) -> Acting:
    if not organizes(identity, competition_id):
        raise PermissionDenied("You do not have access to this competition.", code="forbidden")
    return Acting(role=Role.organizer, user_id=identity.user_id)
