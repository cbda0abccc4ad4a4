"""Accounts: users, scoped roles, sign-in (throttled: competition/throttle.py), and sessions.

The password rule and hashing live in competition/passwords.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field

import anyio

from competition import audit, clock, throttle
from competition.audit import Actor
from competition.db import fetch_rows, transaction
from competition.errors import Conflict, DomainError, NotFound, ValidationFailed
from competition.i18n import N_
from competition.passwords import (
    DUMMY_HASH,
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
)
from competition.passwords import verify_password as _verify
from competition.tables import (
    Competition,
    Delegation,
    Role,
    RoleGrant,
    Trade,
    User,
    UserSession,
    Venue,
)

SESSION_LIFETIME = dt.timedelta(hours=12)
PASSWORD_MIN_LENGTH = MIN_LENGTH
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")

ROLE_LABELS = {
    Role.organizer: N_("Organizer"),
    Role.delegation_admin: N_("Delegation admin"),
    Role.judge: N_("Judge"),
    Role.chief_judge: N_("Chief judge"),
    Role.supervisor: N_("Supervisor"),
    Role.contestant: N_("Contestant"),
    Role.checkin_clerk: N_("Check-in clerk"),
    Role.encryption: N_("Encryption officer"),
}


def _now() -> dt.datetime:
    return clock.now()


@dataclass(frozen=True)
class Grant:
    role: Role
    competition_id: int | None = None
    delegation_id: int | None = None
    delegation_name: str | None = None
    trade_id: int | None = None
    trade_name: str | None = None
    venue_id: int | None = None  # a check-in clerk's venue
    venue_name: str | None = None


@dataclass(frozen=True)
class Identity:
    """The signed-in user as the web layer sees it."""

    user_id: int
    username: str
    display_name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def grants_for(self, role: Role) -> list[Grant]:
        return [g for g in self.grants if g.role == role]

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, name=self.username)


# ---------------------------------------------------------------------------- passwords


def check_new_password(password: str, username: str = "") -> None:
    """Refuse a password that is too short, too common, trivial or holds the username."""
    problem = password_problem(password, username)
    if problem is not None:
        raise ValidationFailed(
            problem,
            code="weak_password",
            field_errors={"password": problem},
            **problem.params,
        )


# ---------------------------------------------------------------------------- users


async def create_user(
    username: str,
    display_name: str,
    password: str,
    *,
    actor: Actor,
    grants: list[Grant] | None = None,
    phone: str = "",
) -> int:
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed(
            "A username has 3 to 64 letters, digits or . _ @ -",
            code="bad_username",
            field_errors={"username": "A username has 3 to 64 letters, digits or . _ @ -"},
        )
    check_new_password(password, username)
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with transaction():
        if await User.exists().where(User.username == username):
            raise Conflict(
                "The username {username} is taken.", code="username_taken", username=username
            )
        user = User(
            username=username,
            display_name=display_name.strip() or username,
            password_hash=password_hash,
            phone=phone,
        )
        await user.save()
        for grant in grants or []:
            await _insert_grant(user.id, grant)
        await audit.record(
            "user.create",
            actor=actor,
            object_type="user",
            object_id=user.id,
            new={"username": username, "roles": [g.role.value for g in grants or []]},
        )
    return user.id


async def _insert_grant(user_id: int, grant: Grant) -> None:
    await RoleGrant.insert(
        RoleGrant(
            user=user_id,
            role=grant.role.value,
            competition=grant.competition_id,
            delegation=grant.delegation_id,
            trade=grant.trade_id,
            venue=grant.venue_id,
        )
    )


async def resolve_grant(
    role: Role,
    *,
    competition_code: str | None = None,
    delegation_code: str | None = None,
    trade_code: str | None = None,
    venue_code: str | None = None,
) -> Grant:
    """Turn codes given on a command line or in a data file into a scoped grant."""
    competition_id = None
    if competition_code:
        row = (
            await Competition.select(Competition.id)
            .where(Competition.code == competition_code)
            .first()
        )
        if row is None:
            raise NotFound(
                "No competition has the code {value}.",
                code="competition_not_found",
                value=competition_code,
            )
        competition_id = row["id"]
    if role == Role.delegation_admin:
        if not delegation_code:
            raise ValidationFailed("A delegation admin needs a delegation.", code="scope_required")
        query = Delegation.select(Delegation.id, Delegation.competition).where(
            Delegation.code == delegation_code
        )
        if competition_id:
            query = query.where(Delegation.competition == competition_id)
        row = await query.first()
        if row is None:
            raise NotFound(
                "No delegation has the code {value}.",
                code="delegation_not_found",
                value=delegation_code,
            )
        return Grant(role=role, competition_id=row["competition"], delegation_id=row["id"])
    if role in (Role.judge, Role.chief_judge):
        if not trade_code:
            raise ValidationFailed("A judge or chief judge needs a trade.", code="scope_required")
        query = Trade.select(Trade.id, Trade.competition).where(Trade.code == trade_code)
        if competition_id:
            query = query.where(Trade.competition == competition_id)
        row = await query.first()
        if row is None:
            raise NotFound(
                "No trade has the code {value}.", code="trade_not_found", value=trade_code
            )
        return Grant(role=role, competition_id=row["competition"], trade_id=row["id"])
    if role == Role.checkin_clerk:
        return await _clerk_grant(competition_id, venue_code, trade_code)
    return Grant(role=role, competition_id=competition_id)


async def _clerk_grant(
    competition_id: int | None, venue_code: str | None, trade_code: str | None
) -> Grant:
    """A check-in clerk works the desks of one venue, or of one trade, of one competition."""
    if competition_id is None or not (venue_code or trade_code):
        raise ValidationFailed(
            "A check-in clerk needs a competition and a venue or a trade.", code="scope_required"
        )
    if venue_code:
        row = (
            await Venue.select(Venue.id)
            .where((Venue.code == venue_code) & (Venue.competition == competition_id))
            .first()
        )
        if row is None:
            raise NotFound(
                "No venue has the code {value}.", code="venue_not_found", value=venue_code
            )
        return Grant(role=Role.checkin_clerk, competition_id=competition_id, venue_id=row["id"])
    row = (
        await Trade.select(Trade.id)
        .where((Trade.code == trade_code) & (Trade.competition == competition_id))
        .first()
    )
    if row is None:
        raise NotFound("No trade has the code {value}.", code="trade_not_found", value=trade_code)
    return Grant(role=Role.checkin_clerk, competition_id=competition_id, trade_id=row["id"])


# ---------------------------------------------------------------------------- sign-in


async def authenticate(username: str, password: str, address: str) -> int:
    """Check a username and password tried from `address` (the peer, or the client a trusted
    proxy names); return the user id or raise."""
    username = username.strip()
    charge = await throttle.charge_sign_in(username, address)
    row = (
        await User.select(User.id, User.password_hash, User.is_active)
        .where(User.username == username)
        .first()
    )
    ok = await anyio.to_thread.run_sync(
        _verify, row["password_hash"] if row else DUMMY_HASH, password
    )
    if row is None or not ok or not row["is_active"]:
        message = charge.failure_message()
        raise DomainError(message, code="bad_credentials", **message.params)  # 400

    await throttle.refund(charge)
    changes: dict = {User.last_login_at: _now()}
    if needs_rehash(row["password_hash"]):
        changes[User.password_hash] = await anyio.to_thread.run_sync(hash_password, password)
    await User.update(changes).where(User.id == row["id"])
    return row["id"]


async def clear_sign_in_lock(username: str) -> None:
    """Forget failed sign-ins of a username, e.g. once an organizer has reset its password."""
    await throttle.clear_username(username)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    await UserSession.insert(
        UserSession(
            user=user_id, token_hash=token_hash(token), expires_at=_now() + SESSION_LIFETIME
        )
    )
    return token


async def end_session(token: str) -> None:
    await UserSession.delete().where(UserSession.token_hash == token_hash(token))


def _name(table) -> str:
    return f'"{table._meta.tablename}"'


# Every signed-in request runs this: one indexed query for the session, its user and every
# grant with the names it shows, instead of two Piccolo queries with joins (see
# bench/request_floor.py). Table names come from code; the token hash is a parameter.
_IDENTITY_SQL = f"""
SELECT u.id, u.username, u.display_name, u.is_active, s.expires_at,
       g.role, g.competition, g.delegation, d.name AS delegation_name,
       g.trade, t.name AS trade_name, g.venue, v.name AS venue_name
FROM {_name(UserSession)} s
JOIN {_name(User)} u ON u.id = s."user"
LEFT JOIN {_name(RoleGrant)} g ON g."user" = u.id
LEFT JOIN {_name(Delegation)} d ON d.id = g.delegation
LEFT JOIN {_name(Trade)} t ON t.id = g.trade
LEFT JOIN {_name(Venue)} v ON v.id = g.venue
WHERE s.token_hash = ?
ORDER BY g.id
"""  # noqa: S608


async def load_identity(token: str) -> Identity | None:
    """The signed-in user of a session token, or None (unknown, expired, deactivated)."""
    rows = await fetch_rows(_IDENTITY_SQL, token_hash(token))
    if not rows:
        return None
    user_id, username, display_name, is_active, expires_at = rows[0][:5]
    if not is_active or expires_at <= _now():
        return None
    return Identity(
        user_id=user_id,
        username=username,
        display_name=display_name,
        grants=tuple(
            Grant(
                role=Role(r[5]),
                competition_id=r[6],
                delegation_id=r[7],
                delegation_name=r[8],
                trade_id=r[9],
                trade_name=r[10],
                venue_id=r[11],
                venue_name=r[12],
            )
            for r in rows
            if r[5] is not None
        ),
    )


async def purge_expired_sessions() -> int:
    expired = await UserSession.select(UserSession.id).where(UserSession.expires_at <= _now())
    if expired:
        await UserSession.delete().where(UserSession.expires_at <= _now())
    return len(expired)
