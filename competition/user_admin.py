"""Accounts inside one competition (账号与角色): who holds which scoped role, and the organizer's
verbs to create accounts, grant and revoke roles, deactivate accounts and reset passwords.

A role given here is always scoped to this competition, and a delegation admin's delegation, a
judge's trade or a check-in clerk's venue or trade must belong to it. Changes that reach beyond
one competition (deactivating an account, resetting its password, removing a role that covers
all competitions) are reserved to an organizer of all competitions when the account also works
elsewhere, so that the organizer of one competition cannot lock out people of another.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import anyio

from competition import accounts, audit
from competition.accounts import PASSWORD_MIN_LENGTH, USERNAME_PATTERN, Grant, Identity
from competition.db import is_postgres, transaction
from competition.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from competition.i18n import N_
from competition.tables import Delegation, Role, RoleGrant, Trade, User, UserSession, Venue

PAGE_SIZE = 50
DISPLAY_NAME_MAX = 100
PHONE_PATTERN = re.compile(r"^[0-9+\- ]{5,20}$")
# Roles that need a delegation or a trade of the competition to mean anything.
DELEGATION_ROLES = frozenset({Role.delegation_admin})
TRADE_ROLES = frozenset({Role.judge, Role.chief_judge})
# A check-in clerk (检录员) works the desks of one venue, or of one trade.
DESK_ROLES = frozenset({Role.checkin_clerk})

# Where a grant applies, seen from one competition.
HERE, EVERYWHERE, ELSEWHERE = "here", "everywhere", "elsewhere"


@dataclass(frozen=True)
class GrantIn:
    role: Role
    delegation_id: int | None = None
    trade_id: int | None = None
    venue_id: int | None = None


@dataclass(frozen=True)
class AccountIn:
    username: str
    display_name: str
    password: str
    password_confirm: str
    phone: str = ""
    grants: tuple[GrantIn, ...] = ()


@dataclass
class AccountPage:
    accounts: list[dict[str, Any]]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class AccountFilter:
    role: Role | None = None
    delegation_id: int | None = None
    trade_id: int | None = None
    venue_id: int | None = None
    active: bool | None = None
    search: str = ""


@dataclass
class _Account:
    user: dict[str, Any]
    grants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def user_id(self) -> int:
        return self.user["id"]

    def grants_at(self, *reaches: str) -> list[dict[str, Any]]:
        return [g for g in self.grants if g["reach"] in reaches]


# ---------------------------------------------------------------------------- reading

_GRANT_COLUMNS = (
    RoleGrant.id,
    RoleGrant.user,
    RoleGrant.role,
    RoleGrant.competition,
    RoleGrant.delegation,
    RoleGrant.delegation.name,
    RoleGrant.delegation.code,
    RoleGrant.delegation.competition,
    RoleGrant.trade,
    RoleGrant.trade.name,
    RoleGrant.trade.code,
    RoleGrant.trade.competition,
    RoleGrant.venue,
    RoleGrant.venue.name,
    RoleGrant.venue.code,
    RoleGrant.venue.competition,
    RoleGrant.created_at,
)

_USER_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.phone,
    User.is_active,
    User.last_login_at,
    User.created_at,
)


def _reach(grant: dict[str, Any], competition_id: int) -> str:
    # Older rows may carry only the delegation or the trade; their competition decides.
    owner = (
        grant["competition"]
        or grant["delegation.competition"]
        or grant["trade.competition"]
        or grant["venue.competition"]
    )
    if owner is None:
        return EVERYWHERE
    return HERE if owner == competition_id else ELSEWHERE


def _here_or_everywhere(competition_id: int):
    here = (
        (RoleGrant.competition == competition_id)
        | (RoleGrant.delegation.competition == competition_id)
        | (RoleGrant.trade.competition == competition_id)
        | (RoleGrant.venue.competition == competition_id)
    )
    everywhere = (
        RoleGrant.competition.is_null()
        & RoleGrant.delegation.is_null()
        & RoleGrant.trade.is_null()
        & RoleGrant.venue.is_null()
    )
    return here | everywhere


async def _grants_of(user_ids: list[int], competition_id: int) -> dict[int, list[dict[str, Any]]]:
    by_user: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return by_user
    rows = (
        await RoleGrant.select(*_GRANT_COLUMNS)
        .where(RoleGrant.user.is_in(user_ids))
        .order_by(RoleGrant.id)
    )
    for row in rows:
        row["reach"] = _reach(row, competition_id)
        by_user[row["user"]].append(row)
    return by_user


async def list_accounts(
    competition_id: int, filters: AccountFilter | None = None, *, page: int = 1
) -> AccountPage:
    """Accounts holding a role in this competition (or in all competitions), by username."""
    filters = filters or AccountFilter()
    holders = RoleGrant.select(RoleGrant.user).where(_here_or_everywhere(competition_id))
    if filters.role is not None:
        holders = holders.where(RoleGrant.role == filters.role.value)
    if filters.delegation_id is not None:
        holders = holders.where(RoleGrant.delegation == filters.delegation_id)
    if filters.trade_id is not None:
        holders = holders.where(RoleGrant.trade == filters.trade_id)
    if filters.venue_id is not None:
        holders = holders.where(RoleGrant.venue == filters.venue_id)

    conditions = [User.id.is_in(holders)]
    if filters.active is not None:
        conditions.append(User.is_active == filters.active)
    search = filters.search.strip()
    if search:
        pattern = f"%{search}%"
        # SQLite's LIKE already ignores ASCII case; PostgreSQL needs ILIKE for that.
        if is_postgres():
            matches = User.username.ilike(pattern) | User.display_name.ilike(pattern)
        else:
            matches = User.username.like(pattern) | User.display_name.like(pattern)
        conditions.append(matches)

    query = User.select(*_USER_COLUMNS)
    count = User.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    total = await count
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(1, page), pages)
    rows = await query.order_by(User.username).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)

    grants = await _grants_of([r["id"] for r in rows], competition_id)
    for row in rows:
        own = grants[row["id"]]
        row["grants"] = [g for g in own if g["reach"] != ELSEWHERE]
        row["elsewhere"] = sum(1 for g in own if g["reach"] == ELSEWHERE)
    return AccountPage(accounts=rows, total=total, page=page, pages=pages)


async def _load_account(competition_id: int, user_id: int) -> _Account:
    user = await User.select(*_USER_COLUMNS).where(User.id == user_id).first()
    grants = (await _grants_of([user_id], competition_id))[user_id] if user else []
    if user is None or not any(g["reach"] != ELSEWHERE for g in grants):
        raise NotFound("This account has no role in this competition.", code="account_not_found")
    return _Account(user=user, grants=grants)


async def get_account(competition_id: int, user_id: int) -> dict[str, Any]:
    """One account with its roles as seen from this competition, and how many sessions it has."""
    account = await _load_account(competition_id, user_id)
    sessions = await UserSession.count().where(
        (UserSession.user == user_id) & (UserSession.expires_at > dt.datetime.now(dt.UTC))
    )
    return {
        **account.user,
        "grants": account.grants_at(HERE, EVERYWHERE),
        "elsewhere": len(account.grants_at(ELSEWHERE)),
        "sessions": sessions,
    }


# ---------------------------------------------------------------------------- checks


def _password_errors(password: str, confirm: str, username: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(password) < PASSWORD_MIN_LENGTH:
        errors["password"] = N_("The password needs at least {n} characters.")
    elif problem := accounts.password_problem(password, username):
        errors["password"] = problem
    elif password != confirm:
        errors["password_confirm"] = N_("The two passwords do not match.")
    return errors


def _scope_errors(grant: GrantIn) -> dict[str, str]:
    if grant.role in DELEGATION_ROLES and grant.delegation_id is None:
        return {"delegation": N_("Choose the delegation this admin works for.")}
    if grant.role in TRADE_ROLES and grant.trade_id is None:
        return {"trade": N_("Choose the trade this judge works in.")}
    if grant.role in DESK_ROLES and (grant.venue_id is None) == (grant.trade_id is None):
        return {
            "venue": N_("Choose either the venue or the trade whose check-in this clerk works.")
        }
    return {}


def missing_role() -> ValidationFailed:
    return ValidationFailed(
        "Choose a role.", code="role_required", field_errors={"role": "Choose a role."}
    )


def _normalise(grant: GrantIn) -> GrantIn:
    """Keep only the scope the role uses: a form offers both selects to every role."""
    return GrantIn(
        role=grant.role,
        delegation_id=grant.delegation_id if grant.role in DELEGATION_ROLES else None,
        trade_id=grant.trade_id if grant.role in TRADE_ROLES | DESK_ROLES else None,
        venue_id=grant.venue_id if grant.role in DESK_ROLES else None,
    )


def _raise_invalid(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(
            next(iter(errors.values())),
            code="invalid_account",
            field_errors=errors,
            n=PASSWORD_MIN_LENGTH,
        )


async def _resolve_scope(competition_id: int, grant: GrantIn) -> Grant:
    """The grant as stored, after checking its delegation, trade or venue belongs to this
    competition."""
    delegation_name = trade_name = venue_name = None
    if grant.delegation_id is not None:
        row = (
            await Delegation.select(Delegation.name)
            .where(
                (Delegation.id == grant.delegation_id) & (Delegation.competition == competition_id)
            )
            .first()
        )
        if row is None:
            raise ValidationFailed(
                "The chosen delegation does not belong to this competition.",
                code="foreign_delegation",
                field_errors={
                    "delegation": "The chosen delegation does not belong to this competition."
                },
            )
        delegation_name = row["name"]
    if grant.trade_id is not None:
        row = (
            await Trade.select(Trade.name)
            .where((Trade.id == grant.trade_id) & (Trade.competition == competition_id))
            .first()
        )
        if row is None:
            raise ValidationFailed(
                "The chosen trade does not belong to this competition.",
                code="foreign_trade",
                field_errors={"trade": "The chosen trade does not belong to this competition."},
            )
        trade_name = row["name"]
    if grant.venue_id is not None:
        row = (
            await Venue.select(Venue.name)
            .where((Venue.id == grant.venue_id) & (Venue.competition == competition_id))
            .first()
        )
        if row is None:
            raise ValidationFailed(
                "The chosen venue does not belong to this competition.",
                code="foreign_venue",
                field_errors={"venue": "The chosen venue does not belong to this competition."},
            )
        venue_name = row["name"]
    return Grant(
        role=grant.role,
        competition_id=competition_id,
        delegation_id=grant.delegation_id,
        delegation_name=delegation_name,
        trade_id=grant.trade_id,
        trade_name=trade_name,
        venue_id=grant.venue_id,
        venue_name=venue_name,
    )


def _grant_audit(username: str, grant: Grant | dict[str, Any]) -> dict[str, Any]:
    if isinstance(grant, Grant):
        return {
            "username": username,
            "role": grant.role.value,
            "delegation": grant.delegation_name,
            "trade": grant.trade_name,
            "venue": grant.venue_name,
        }
    return {
        "username": username,
        "role": grant["role"],
        "delegation": grant["delegation.name"],
        "trade": grant["trade.name"],
        "venue": grant["venue.name"],
    }


def _is_global_organizer(identity: Identity) -> bool:
    return any(g.role == Role.organizer and g.competition_id is None for g in identity.grants)


def _require_manageable(identity: Identity, account: _Account) -> None:
    if _is_global_organizer(identity) or not account.grants_at(EVERYWHERE, ELSEWHERE):
        return
    raise PermissionDenied(
        "This account also has roles outside this competition; "
        "only an organizer of all competitions can change it.",
        code="account_outside_competition",
    )


async def _end_sessions(user_id: int, keep_token: str | None = None) -> int:
    sessions = UserSession.select(UserSession.id).where(UserSession.user == user_id)
    delete = UserSession.delete().where(UserSession.user == user_id)
    if keep_token:
        # The organizer resetting their own password stays signed in on this browser only.
        kept = UserSession.token_hash != accounts.token_hash(keep_token)
        sessions = sessions.where(kept)
        delete = delete.where(kept)
    ended = len(await sessions)
    if ended:
        await delete
    return ended


# ---------------------------------------------------------------------------- changes


async def create_account(competition_id: int, data: AccountIn, identity: Identity) -> int:
    """A new account with its roles in this competition. Every input error is reported at once."""
    username = data.username.strip()
    display_name = " ".join(data.display_name.split())
    phone = data.phone.strip()
    grants = [_normalise(g) for g in data.grants]

    errors: dict[str, str] = {}
    if not USERNAME_PATTERN.match(username):
        errors["username"] = N_(
            "Use 3 to 64 letters, digits or the characters . _ @ - for the username."
        )
    if not display_name:
        errors["display_name"] = N_("Enter the person's name.")
    elif len(display_name) > DISPLAY_NAME_MAX:
        errors["display_name"] = N_("The name is too long (at most 100 characters).")
    if phone and not PHONE_PATTERN.match(phone):
        errors["phone"] = N_("Enter a phone number of 5 to 20 digits.")
    errors.update(_password_errors(data.password, data.password_confirm, username))
    if not grants:
        errors["role"] = N_("Choose a role.")
    for grant in grants:
        errors.update(_scope_errors(grant))
    _raise_invalid(errors)

    async with transaction():
        resolved = [await _resolve_scope(competition_id, g) for g in grants]
        if await User.exists().where(User.username == username):
            raise Conflict(
                "The username {username} is already taken.",
                code="username_taken",
                field_errors={"username": "The username {username} is already taken."},
                username=username,
            )
        user_id = await accounts.create_user(
            username,
            display_name,
            data.password,
            actor=identity.actor,
            grants=resolved,
            phone=phone,
        )
        await audit.record_many(
            [
                {
                    "action": "user.grant.add",
                    "object_id": user_id,
                    "new": {**_grant_audit(username, g), "display_name": display_name},
                }
                for g in resolved
            ],
            actor=identity.actor,
            object_type="user",
            competition_id=competition_id,
        )
    return user_id


async def add_grant(competition_id: int, user_id: int, grant: GrantIn, identity: Identity) -> int:
    grant = _normalise(grant)
    _raise_invalid(_scope_errors(grant))
    async with transaction():
        account = await _load_account(competition_id, user_id)
        resolved = await _resolve_scope(competition_id, grant)
        for held in account.grants_at(HERE, EVERYWHERE):
            same_scope = (
                held["delegation"] == resolved.delegation_id
                and held["trade"] == resolved.trade_id
                and held["venue"] == resolved.venue_id
            )
            if held["role"] == grant.role.value and same_scope:
                raise Conflict("The account already has this role.", code="grant_exists")
        row = RoleGrant(
            user=user_id,
            role=grant.role.value,
            competition=competition_id,
            delegation=resolved.delegation_id,
            trade=resolved.trade_id,
            venue=resolved.venue_id,
        )
        await row.save()
        await audit.record(
            "user.grant.add",
            actor=identity.actor,
            object_type="user",
            object_id=user_id,
            competition_id=competition_id,
            new=_grant_audit(account.user["username"], resolved),
        )
    return row.id


async def remove_grant(
    competition_id: int, user_id: int, grant_id: int, identity: Identity
) -> None:
    async with transaction():
        account = await _load_account(competition_id, user_id)
        grant = next((g for g in account.grants if g["id"] == grant_id), None)
        if grant is None or grant["reach"] == ELSEWHERE:
            raise NotFound("The role was not found.", code="grant_not_found")
        if grant["reach"] == EVERYWHERE:
            raise PermissionDenied(
                "This role covers all competitions and cannot be removed here.",
                code="grant_global",
            )
        if user_id == identity.user_id and grant["role"] == Role.organizer.value:
            other_organizer = any(
                g["id"] != grant_id and g["role"] == Role.organizer.value
                for g in account.grants_at(HERE, EVERYWHERE)
            )
            if not other_organizer:
                raise Conflict(
                    "You cannot remove your own last organizer role in this competition: "
                    "you would lose access to it.",
                    code="own_last_organizer",
                )
        if len(account.grants) == 1:
            raise Conflict(
                "This is the account's only role. Add another role first, "
                "or deactivate the account instead.",
                code="last_grant",
            )
        await RoleGrant.delete().where(RoleGrant.id == grant_id)
        await audit.record(
            "user.grant.remove",
            actor=identity.actor,
            object_type="user",
            object_id=user_id,
            competition_id=competition_id,
            old=_grant_audit(account.user["username"], grant),
        )


async def deactivate_account(competition_id: int, user_id: int, identity: Identity) -> int:
    """Blocks sign-in and ends every session of the account at once. Returns sessions ended."""
    if user_id == identity.user_id:
        raise Conflict("You cannot deactivate your own account.", code="deactivate_self")
    async with transaction():
        account = await _load_account(competition_id, user_id)
        _require_manageable(identity, account)
        ended = await _end_sessions(user_id)
        if account.user["is_active"]:
            await User.update({User.is_active: False}).where(User.id == user_id)
        if account.user["is_active"] or ended:
            await audit.record(
                "user.deactivate",
                actor=identity.actor,
                object_type="user",
                object_id=user_id,
                competition_id=competition_id,
                old={"username": account.user["username"], "is_active": account.user["is_active"]},
                new={"is_active": False, "sessions_ended": ended},
            )
    return ended


async def reactivate_account(competition_id: int, user_id: int, identity: Identity) -> None:
    async with transaction():
        account = await _load_account(competition_id, user_id)
        _require_manageable(identity, account)
        if account.user["is_active"]:
            return
        await User.update({User.is_active: True}).where(User.id == user_id)
        await audit.record(
            "user.reactivate",
            actor=identity.actor,
            object_type="user",
            object_id=user_id,
            competition_id=competition_id,
            old={"username": account.user["username"], "is_active": False},
            new={"is_active": True},
        )


async def reset_password(
    competition_id: int,
    user_id: int,
    password: str,
    password_confirm: str,
    identity: Identity,
    *,
    keep_token: str | None = None,
) -> int:
    """Sets a new password and ends the account's sessions. Returns sessions ended."""
    account = await _load_account(competition_id, user_id)
    _require_manageable(identity, account)
    _raise_invalid(_password_errors(password, password_confirm, account.user["username"]))
    # Hashing takes a noticeable moment: done before the write lock is taken.
    password_hash = await anyio.to_thread.run_sync(accounts.hash_password, password)
    async with transaction():
        await _load_account(competition_id, user_id)
        await User.update({User.password_hash: password_hash}).where(User.id == user_id)
        ended = await _end_sessions(user_id, keep_token)
        await accounts.clear_sign_in_lock(account.user["username"])
        await audit.record(
            "user.password_reset",
            actor=identity.actor,
            object_type="user",
            object_id=user_id,
            competition_id=competition_id,
            old={"username": account.user["username"]},
            new={"sessions_ended": ended},
        )
    return ended
