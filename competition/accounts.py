"""Accounts: users, scoped roles, password hashing, sign-in with throttling, and sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from competition import audit
from competition.audit import Actor
from competition.config import get_settings
from competition.db import transaction
from competition.errors import Conflict, DomainError, NotFound, TooManyAttempts, ValidationFailed
from competition.i18n import N_
from competition.tables import (
    Competition,
    Delegation,
    LoginThrottle,
    Role,
    RoleGrant,
    Trade,
    User,
    UserSession,
    Venue,
)

SESSION_LIFETIME = dt.timedelta(hours=12)
# Ten wrong passwords in a row lock the account name for a quarter of an hour; an address
# that fails fifty times in that window is locked too (password spraying over many names).
USER_FAILURE_LIMIT = 10
ADDRESS_FAILURE_LIMIT = 50
LOCK_DURATION = dt.timedelta(minutes=15)
PASSWORD_MIN_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
# Verified against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))

ROLE_LABELS = {
    Role.organizer: N_("Organizer"),
    Role.delegation_admin: N_("Delegation admin"),
    Role.judge: N_("Judge"),
    Role.chief_judge: N_("Chief judge"),
    Role.supervisor: N_("Supervisor"),
    Role.contestant: N_("Contestant"),
    Role.checkin_clerk: N_("Check-in clerk"),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            "The password must have at least {n} characters.",
            code="password_too_short",
            field_errors={"password": "The password must have at least {n} characters."},
            n=PASSWORD_MIN_LENGTH,
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


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
    check_new_password(password)
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


def _throttle_key(kind: str, value: str) -> str:
    secret = get_settings().secret.encode()
    # Keyed so the table holds neither usernames nor addresses in the clear.
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


async def _locked_until(key_hash: str) -> dt.datetime | None:
    row = (
        await LoginThrottle.select(LoginThrottle.locked_until)
        .where(LoginThrottle.key_hash == key_hash)
        .first()
    )
    if row and row["locked_until"] and row["locked_until"] > _now():
        return row["locked_until"]
    return None


async def _note_failure(key_hash: str, limit: int) -> dt.datetime | None:
    now = _now()
    row = await LoginThrottle.objects().where(LoginThrottle.key_hash == key_hash).first()
    if row is None:
        row = LoginThrottle(key_hash=key_hash, failures=0, window_started_at=now)
    if row.window_started_at < now - LOCK_DURATION or (
        row.locked_until is not None and row.locked_until <= now
    ):
        row.failures = 0
        row.window_started_at = now
        row.locked_until = None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + LOCK_DURATION
    await row.save()
    return row.locked_until


def _too_many(until: dt.datetime) -> TooManyAttempts:
    minutes = max(1, int((until - _now()).total_seconds() // 60) + 1)
    return TooManyAttempts(
        "Too many failed sign-ins. Try again in {minutes} minutes.",
        code="too_many_attempts",
        minutes=minutes,
    )


async def authenticate(username: str, password: str, address: str) -> int:
    """Check a username and password; return the user id or raise."""
    username = username.strip()
    user_key = _throttle_key("user", username.lower())
    address_key = _throttle_key("address", address)
    for key in (user_key, address_key):
        until = await _locked_until(key)
        if until:
            raise _too_many(until)

    row = (
        await User.select(User.id, User.password_hash, User.is_active)
        .where(User.username == username)
        .first()
    )
    ok = await anyio.to_thread.run_sync(
        _verify, row["password_hash"] if row else _DUMMY_HASH, password
    )
    if row is None or not ok or not row["is_active"]:
        async with transaction():
            user_lock = await _note_failure(user_key, USER_FAILURE_LIMIT)
            address_lock = await _note_failure(address_key, ADDRESS_FAILURE_LIMIT)
        lock = user_lock or address_lock
        if lock:
            raise _too_many(lock)
        raise DomainError("Wrong username or password.", code="bad_credentials")  # 400

    async with transaction():
        await LoginThrottle.delete().where(LoginThrottle.key_hash == user_key)
        await User.update({User.last_login_at: _now()}).where(User.id == row["id"])
    return row["id"]


async def throttle_attempt(kind: str, value: str, limit: int) -> None:
    """Count one attempt of `kind` (e.g. a sign-up) from `value` (e.g. an address) and refuse
    it once `limit` attempts fall within the window. Each attempt may cost an argon2 hash, so an
    address cannot make the server hash all day."""
    key = _throttle_key(kind, value)
    until = await _locked_until(key)
    if until is None:
        async with transaction():
            until = await _note_failure(key, limit)
    if until is not None:
        minutes = max(1, int((until - _now()).total_seconds() // 60) + 1)
        raise TooManyAttempts(
            "Too many attempts from this address. Try again in {minutes} minutes.",
            code="too_many_attempts",
            minutes=minutes,
        )


async def clear_sign_in_lock(username: str) -> None:
    """Forget failed sign-ins of a username, e.g. once an organizer has reset its password."""
    await LoginThrottle.delete().where(
        LoginThrottle.key_hash == _throttle_key("user", username.strip().lower())
    )


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


async def load_identity(token: str) -> Identity | None:
    session = (
        await UserSession.select(
            UserSession.user.id,
            UserSession.user.username,
            UserSession.user.display_name,
            UserSession.user.is_active,
            UserSession.expires_at,
        )
        .where(UserSession.token_hash == token_hash(token))
        .first()
    )
    if session is None or not session["user.is_active"] or session["expires_at"] <= _now():
        return None
    user_id = session["user.id"]
    return Identity(
        user_id=user_id,
        username=session["user.username"],
        display_name=session["user.display_name"],
        grants=await load_grants(user_id),
    )


async def load_grants(user_id: int) -> tuple[Grant, ...]:
    rows = (
        await RoleGrant.select(
            RoleGrant.role,
            RoleGrant.competition,
            RoleGrant.delegation,
            RoleGrant.delegation.name,
            RoleGrant.trade,
            RoleGrant.trade.name,
            RoleGrant.venue,
            RoleGrant.venue.name,
        )
        .where(RoleGrant.user == user_id)
        .order_by(RoleGrant.id)
    )
    return tuple(
        Grant(
            role=Role(r["role"]),
            competition_id=r["competition"],
            delegation_id=r["delegation"],
            delegation_name=r["delegation.name"],
            trade_id=r["trade"],
            trade_name=r["trade.name"],
            venue_id=r["venue"],
            venue_name=r["venue.name"],
        )
        for r in rows
    )


async def purge_expired_sessions() -> int:
    expired = await UserSession.select(UserSession.id).where(UserSession.expires_at <= _now())
    if expired:
        await UserSession.delete().where(UserSession.expires_at <= _now())
    return len(expired)
