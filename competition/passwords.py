"""Which new passwords are accepted (密码规则), and how passwords are hashed.

Every place that sets a password (`accounts.create_user`, the organizer's password reset, a
contestant's sign-up) asks `password_problem`, so the rule is one rule. Guessing is slowed by the
sign-in throttle; refusing the passwords tried first (the common ones, the username, one
character repeated, 12345678) is what makes the few guesses it allows worthless.
"""

from __future__ import annotations

import itertools
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from competition.i18n import N_, Msg

MIN_LENGTH = 8
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common_passwords.txt"
# A password that is a short chunk said over and over (12121212, abcabcab) is as weak as one
# character repeated.
REPEATED_CHUNK_MAX = 4

TOO_SHORT = N_("The password must have at least {n} characters.")
TOO_COMMON = N_("This password is one of the most common ones and easy to guess. Choose another.")
HAS_USERNAME = N_("The password must not contain the username or be part of it.")
TOO_SIMPLE = N_(
    "The password must not be one character repeated, a plain sequence such as 12345678 or "
    "abcdefgh, or a short group of characters repeated."
)

# argon2id with OWASP's minimum: 19 MiB, 2 passes, 1 lane. argon2-cffi's default (RFC 9106's
# low-memory profile: 64 MiB, 3 passes, 4 lanes) took 400-500 ms a verify on this 2-core machine
# under load and 64 MiB for each sign-in in flight; this takes 35-55 ms in the same conditions
# (bench/request_floor.py), which keeps a sign-in well under 300 ms. Hashes made with other
# parameters still verify, and are rehashed with these at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user does not exist, so both paths cost the same time.
DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _is_sequence(text: str) -> bool:
    """12345678, 87654321, abcdefgh, 7890123 (digits wrap round): each step +1, or each -1."""
    steps = set()
    for a, b in itertools.pairwise(text):
        if a.isdigit() and b.isdigit():
            steps.add((int(b) - int(a)) % 10)
        else:
            steps.add(ord(b) - ord(a))
    # A step of 9 between digits is -1 read round the dial.
    return steps in ({1}, {-1}, {9})


def _is_repeated_chunk(text: str) -> bool:
    for size in range(1, REPEATED_CHUNK_MAX + 1):
        chunk = text[:size]
        if (chunk * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def password_problem(password: str, username: str = "") -> Msg | None:
    """Why a new password is refused, or None. `username` is the account's own name."""
    if len(password) < MIN_LENGTH:
        return N_(TOO_SHORT, n=MIN_LENGTH)
    folded = password.casefold()
    name = username.strip().casefold()
    if name and (name in folded or folded in name):
        return HAS_USERNAME
    if _is_repeated_chunk(folded) or _is_sequence(folded):
        return TOO_SIMPLE
    if folded in common_passwords():
        return TOO_COMMON
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Made with other parameters than today's (e.g. before they changed)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
