"""Sign-in throttling (登录限流): growing waits that slow a guesser down and never lock anyone out.

Locking a username after N failures would let anyone lock out the organizer by typing wrong
passwords for them. So a failure of username X from address A counts against three keys:

- **A and X together**: after `PAIR_FREE` failures each further try from A for X must wait,
  longer every time (`FIRST_WAIT`, doubled each failure, at most `MAX_WAIT`);
- **A**: the same after `ADDRESS_FREE` failures over all usernames (one address trying many
  names, i.e. password spraying; high enough for a workplace behind one address);
- **X alone**: never a wait of its own. Once X has `USER_UNDER_ATTACK` failures from anywhere,
  every address gets only `PAIR_FREE_UNDER_ATTACK` free tries for X before its waits begin.

The organizer typing the right password from their own office therefore always gets in, however
hard their username is hammered from elsewhere; a guesser gets a few dozen tries an hour per
address. Counts are forgotten `WINDOW` after the first failure of a run.

Every try is charged before the password is checked and refunded if it was right, so a burst
of simultaneous requests cannot all slip past the check while the first hashes are computed.
Keys are HMACs under the app secret: the table holds neither usernames nor addresses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from competition import clock
from competition.config import get_settings
from competition.db import transaction
from competition.errors import TooManyAttempts
from competition.i18n import N_, Msg
from competition.tables import LoginThrottle

PAIR_FREE = 5
PAIR_FREE_UNDER_ATTACK = 2
ADDRESS_FREE = 50
USER_UNDER_ATTACK = 20
FIRST_WAIT = dt.timedelta(seconds=30)
MAX_WAIT = dt.timedelta(minutes=15)
WINDOW = dt.timedelta(hours=1)
# With this many tries or fewer left before the first wait, the answer says how many are left.
WARN_WHEN_LEFT = 2

_TABLE = LoginThrottle._meta.tablename
# One statement, so two workers counting the same key at once neither lose a count nor collide
# on inserting its row. `locked_until` is left as it was: the caller reads the wait in force
# before this try.
_CHARGE = f"""
INSERT INTO {_TABLE} (key_hash, failures, window_started_at, locked_until)
VALUES ({{}}, 1, {{}}, NULL)
ON CONFLICT (key_hash) DO UPDATE SET
  failures = CASE WHEN {_TABLE}.window_started_at < {{}} THEN 1
                  ELSE {_TABLE}.failures + 1 END,
  window_started_at = CASE WHEN {_TABLE}.window_started_at < {{}}
                           THEN excluded.window_started_at
                           ELSE {_TABLE}.window_started_at END
RETURNING failures, locked_until
"""  # noqa: S608 - the table name comes from code; every value is a parameter
# The refund of a right password: the count goes back, and so does the wait unless another try
# counted on the key in between (then its wait stands).
_REFUND = f"""
UPDATE {_TABLE} SET
  locked_until = CASE WHEN failures = {{}} THEN {{}} ELSE locked_until END,
  failures = failures - 1
WHERE key_hash = {{}} AND failures > 0
"""  # noqa: S608 - as above


def key(kind: str, value: str) -> str:
    secret = get_settings().secret.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _user_key(username: str) -> str:
    return key("user", username.strip().casefold())


def _pair_key(username: str, address: str) -> str:
    """Starts with half of the username's key, so that every address's row for one username
    can be found (and cleared after a password reset) without storing the username."""
    name = username.strip().casefold()
    return _user_key(username)[:32] + key("pair", f"{name}\n{address}")[:32]


def wait_after(failures: int, free: int) -> dt.timedelta:
    """The wait before the next try once `failures` have been counted."""
    if failures < free:
        return dt.timedelta(0)
    return min(MAX_WAIT, FIRST_WAIT * 2 ** min(failures - free, 20))


def wait_text(wait: dt.timedelta) -> Msg:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 60:
        return N_("1 second") if seconds == 1 else N_("{n} seconds", n=seconds)
    minutes = (seconds + 59) // 60
    return N_("1 minute") if minutes == 1 else N_("{n} minutes", n=minutes)


def _too_many(until: dt.datetime) -> TooManyAttempts:
    return TooManyAttempts(
        "Too many failed sign-ins. Try again in {wait}.",
        code="too_many_attempts",
        wait=wait_text(until - clock.now()),
    )


@dataclass(frozen=True)
class _Count:
    key: str
    failures: int  # including this try
    locked_until: dt.datetime | None  # the wait in force before this try
    free: int = 0


@dataclass(frozen=True)
class Charge:
    """One sign-in try, counted before its password is checked."""

    counts: tuple[_Count, ...]
    pair_key: str
    pair_failures: int
    pair_free: int
    address_failures: int

    def failure_message(self) -> Msg:
        """What a wrong password is answered with: how long the next try must wait, or how
        many tries are left before waits begin."""
        wait = max(
            wait_after(self.pair_failures, self.pair_free),
            wait_after(self.address_failures, ADDRESS_FREE),
        )
        if wait:
            return N_(
                "Wrong username or password. Wait {wait} before the next try.",
                wait=wait_text(wait),
            )
        left = min(self.pair_free - self.pair_failures, ADDRESS_FREE - self.address_failures)
        if left > WARN_WHEN_LEFT:
            return N_("Wrong username or password.")
        first_wait = wait_text(FIRST_WAIT)
        if left == 1:
            return N_(
                "Wrong username or password. 1 attempt left before you must wait {wait}.",
                wait=first_wait,
            )
        return N_(
            "Wrong username or password. {left} attempts left before you must wait {wait}.",
            left=left,
            wait=first_wait,
        )


async def _charge_key(key_hash: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    window_start = now - WINDOW
    [row] = await LoginThrottle.raw(_CHARGE, key_hash, now, window_start, window_start)
    return row["failures"], row["locked_until"]


# Every this many sign-in tries a process forgets the counts nobody needs any more: a guesser
# trying made-up usernames adds rows, and nothing else would ever remove them.
PURGE_EVERY = 500
_tries_since_purge = 0


async def purge_stale(now: dt.datetime | None = None) -> int:
    """Delete counts whose window is over and whose wait has passed; returns how many."""
    now = now or clock.now()
    stale = (LoginThrottle.window_started_at < now - WINDOW) & (
        LoginThrottle.locked_until.is_null() | (LoginThrottle.locked_until < now)
    )
    rows = await LoginThrottle.delete().where(stale).returning(LoginThrottle.id)
    return len(rows)


async def charge_sign_in(username: str, address: str) -> Charge:
    """Count a try of `username` from `address`, or raise TooManyAttempts (and count nothing)
    while a wait from earlier failures is in force."""
    global _tries_since_purge
    now = clock.now()
    _tries_since_purge += 1
    if _tries_since_purge >= PURGE_EVERY:
        _tries_since_purge = 0
        await purge_stale(now)
    user_key, address_key = _user_key(username), key("address", address)
    pair_key = _pair_key(username, address)
    async with transaction():
        # The same order everywhere, so two tries sharing keys cannot deadlock on PostgreSQL.
        counted = {k: await _charge_key(k, now) for k in sorted((user_key, address_key, pair_key))}
        waits = [counted[k][1] for k in (pair_key, address_key)]
        in_force = [until for until in waits if until is not None and until > now]
        if in_force:
            raise _too_many(max(in_force))  # rolls the counts back
        under_attack = counted[user_key][0] > USER_UNDER_ATTACK
        pair_free = PAIR_FREE_UNDER_ATTACK if under_attack else PAIR_FREE
        counts = (
            _Count(user_key, *counted[user_key]),
            _Count(address_key, *counted[address_key], free=ADDRESS_FREE),
            _Count(pair_key, *counted[pair_key], free=pair_free),
        )
        for count in counts[1:]:
            # Set as if this try fails, so tries arriving while its hash is being checked
            # already wait; a right password takes it back (refund).
            wait = wait_after(count.failures, count.free)
            if wait:
                await LoginThrottle.update({LoginThrottle.locked_until: now + wait}).where(
                    LoginThrottle.key_hash == count.key
                )
    return Charge(
        counts=counts,
        pair_key=pair_key,
        pair_failures=counts[2].failures,
        pair_free=pair_free,
        address_failures=counts[1].failures,
    )


async def refund(charge: Charge) -> None:
    """The password was right: this try does not count, and the failures of this username from
    this address are forgotten."""
    async with transaction():
        # The keys in the order `charge_sign_in` locks them: a refund taking the pair's row
        # first while another try of the same user held the address's row deadlocked on
        # PostgreSQL (16 right passwords at once, 1–2 answered 500).
        for count in sorted(charge.counts, key=lambda c: c.key):
            if count.key == charge.pair_key:
                await LoginThrottle.delete().where(LoginThrottle.key_hash == charge.pair_key)
            else:
                await LoginThrottle.raw(_REFUND, count.failures, count.locked_until, count.key)


async def clear_username(username: str) -> None:
    """Lift the waits of a username from every address, e.g. once its password was reset."""
    user_key = _user_key(username)
    rows = await LoginThrottle.select(LoginThrottle.key_hash).where(
        LoginThrottle.key_hash.like(user_key[:32] + "%")
    )
    pair_keys = [r["key_hash"] for r in rows if r["key_hash"] != user_key]
    if pair_keys:
        await LoginThrottle.delete().where(LoginThrottle.key_hash.is_in(pair_keys))


async def throttle_attempt(kind: str, value: str, limit: int, window: dt.timedelta) -> None:
    """Count one attempt of `kind` (e.g. a sign-up) from `value` (e.g. an address) and refuse
    it once `limit` attempts fall within `window`; the refusal lasts `window`."""
    now = clock.now()
    key_hash = key(kind, value)
    window_start = now - window
    async with transaction():
        [row] = await LoginThrottle.raw(_CHARGE, key_hash, now, window_start, window_start)
        until = row["locked_until"]
        if until is not None and until > now:
            raise _attempts_refused(until, now)  # rolls the count back
        if row["failures"] >= limit:
            until = now + window
            await LoginThrottle.update({LoginThrottle.locked_until: until}).where(
                LoginThrottle.key_hash == key_hash
            )
        else:
            until = None
    if until is not None:
        raise _attempts_refused(until, now)


def _attempts_refused(until: dt.datetime, now: dt.datetime) -> TooManyAttempts:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return TooManyAttempts(
        "Too many attempts from this address. Try again in {minutes} minutes.",
        code="too_many_attempts",
        minutes=minutes,
    )
