"""Contestant accounts (参赛选手账号): anyone may sign up with a mobile number as the username.

The account carries an unscoped contestant role; the person record (the resident ID and the
rest) is made when the contestant first registers for a trade (registration/entries.py).
"""

from __future__ import annotations

import datetime as dt
import re

from competition import accounts, throttle
from competition.accounts import Grant, password_problem
from competition.audit import Actor
from competition.db import is_integrity_error
from competition.errors import Conflict, ValidationFailed
from competition.i18n import N_, Msg
from competition.tables import Role, User
from registration import idcard

MOBILE = re.compile(r"^1\d{10}$")
NAME_MAX_LENGTH = 50
# Sign-ups an address may make in SIGN_UP_WINDOW: a workplace behind one address signs up many
# people, a script far more.
SIGN_UPS_PER_ADDRESS = 30
SIGN_UP_WINDOW = dt.timedelta(minutes=15)
MOBILE_TAKEN = N_("An account with this mobile number already exists; sign in instead.")


def normalise_mobile(raw: str) -> str:
    """Full-width digits, spaces, dashes and a +86 prefix are what people type on phones."""
    number = idcard.normalise(raw).replace("-", "")
    return number.removeprefix("+86") if len(number) == 14 else number


def check_sign_up(mobile: str, name: str, password: str, confirmation: str) -> tuple[str, str]:
    """The normalised mobile number and name, or one error carrying a message per bad field."""
    errors: dict[str, Msg] = {}
    mobile = normalise_mobile(mobile)
    if not MOBILE.match(mobile):
        errors["mobile"] = N_("Enter an 11-digit mobile number starting with 1.")
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        errors["name"] = N_("Enter your name (at most {n} characters).", n=NAME_MAX_LENGTH)
    # The mobile number is the username: a password holding it is refused like any username.
    if problem := password_problem(password, mobile if MOBILE.match(mobile) else ""):
        errors["password"] = problem
    elif password != confirmation:
        errors["password_confirmation"] = N_("The two passwords are not the same.")
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first, code="invalid_signup", field_errors=errors, **first.params)
    return mobile, name


async def sign_up_contestant(
    mobile: str, name: str, password: str, confirmation: str, *, address: str
) -> int:
    """Create a contestant's account; returns the new user's id."""
    mobile, name = check_sign_up(mobile, name, password, confirmation)
    await throttle.throttle_attempt("signup", address, SIGN_UPS_PER_ADDRESS, SIGN_UP_WINDOW)
    taken = Conflict(MOBILE_TAKEN, code="mobile_taken", field_errors={"mobile": MOBILE_TAKEN})
    if await User.exists().where(User.username == mobile):
        raise taken
    try:
        return await accounts.create_user(
            mobile,
            name,
            password,
            # Nobody is signed in yet: the audit record names the number that signed up.
            actor=Actor(user_id=None, name=f"signup:{mobile}"),
            grants=[Grant(role=Role.contestant)],
            phone=mobile,
        )
    except Conflict as exc:
        # Another sign-up with the same number got in between the check and the insert.
        if exc.code == "username_taken":
            raise taken from exc
        raise
    except Exception as exc:
        if is_integrity_error(exc):
            raise taken from exc
        raise
