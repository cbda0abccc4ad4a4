"""The password rule (competition/passwords.py) and every place that sets a password: accounts
made in code and by `createuser`, a contestant's sign-up page (the organizer's pages:
test_user_admin.py)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from competition import accounts
from competition.audit import SYSTEM
from competition.errors import ValidationFailed
from competition.i18n import gettext, render
from competition.passwords import (
    HAS_USERNAME,
    MIN_LENGTH,
    TOO_COMMON,
    TOO_SIMPLE,
    common_passwords,
    password_problem,
)
from competition.tables import Role, User
from tests.competition.test_accounts import _cli
from tests.support import PASSWORD, login, make_user, post_form

REFUSED = [
    ("password", "", TOO_COMMON),
    ("Password1", "", TOO_COMMON),
    ("qwertyuiop", "", TOO_COMMON),
    ("woaini1314", "", TOO_COMMON),
    ("1qaz2wsx", "", TOO_COMMON),
    ("88888888", "", TOO_SIMPLE),
    ("aaaaaaaaaaaa", "", TOO_SIMPLE),
    ("12345678", "", TOO_SIMPLE),
    ("3456789012", "", TOO_SIMPLE),
    ("87654321", "", TOO_SIMPLE),
    ("abcdefgh", "", TOO_SIMPLE),
    ("HGFEDCBA", "", TOO_SIMPLE),
    ("12121212", "", TOO_SIMPLE),
    ("abcabcabc", "", TOO_SIMPLE),
    ("ma.xiaoyan", "ma.xiaoyan", HAS_USERNAME),
    ("Ma.Xiaoyan-2026", "ma.xiaoyan", HAS_USERNAME),
    ("xiaoyan1", "ma.xiaoyan1", HAS_USERNAME),
    ("13912345678", "13912345678", HAS_USERNAME),
]
ACCEPTED = [
    "jiangxin-demo",  # the demo accounts' password
    PASSWORD,  # the tests' password
    "fresh-start-2027",
    "a-long-password-1",
    "焊工组第三名-2026",
    "12345679x",
    "abcdefgz",
]


@pytest.mark.parametrize(("password", "username", "problem"), REFUSED)
def test_common_trivial_and_own_name_passwords_are_refused(password, username, problem):
    assert password_problem(password, username) == problem


@pytest.mark.parametrize("password", ACCEPTED)
def test_ordinary_passwords_pass(password):
    assert password_problem(password, "ma.xiaoyan") is None


def test_a_short_password_is_refused_for_its_length_first():
    problem = password_problem("abc", "abc")
    assert problem == "The password must have at least {n} characters."
    assert problem.params == {"n": MIN_LENGTH}


def test_the_embedded_list_is_a_few_thousand_lowercase_passwords_of_eight_or_more():
    common = common_passwords()
    assert 1000 <= len(common) <= 10_000
    assert all(len(p) >= MIN_LENGTH and p == p.casefold() for p in common)
    assert {"password", "123456789", "woaini1314", "qwertyuiop"} <= common


def test_every_refusal_is_explained_in_chinese():
    for message in (TOO_COMMON, TOO_SIMPLE, HAS_USERNAME):
        assert render(message) != message
        assert any("\u4e00" <= ch <= "\u9fff" for ch in render(message))


async def test_create_user_refuses_a_weak_password_and_creates_nothing(empty_db):
    with pytest.raises(ValidationFailed) as refused:
        await accounts.create_user("ma.xiaoyan", "马晓燕", "password1", actor=SYSTEM)
    assert refused.value.code == "weak_password"
    assert refused.value.field_errors == {"password": TOO_COMMON}
    with pytest.raises(ValidationFailed):
        await accounts.create_user("ma.xiaoyan", "马晓燕", "ma.xiaoyan.1", actor=SYSTEM)
    assert await User.count() == 0
    await accounts.create_user("ma.xiaoyan", "马晓燕", PASSWORD, actor=SYSTEM)
    assert await User.count() == 1


async def test_createuser_refuses_a_common_password_in_chinese(empty_db):
    result = _cli(
        "createuser",
        "--username",
        "first.organizer",
        "--role",
        "organizer",
        "--password",
        "12345678",
    )
    assert result.returncode == 1
    assert gettext(TOO_SIMPLE) in result.stderr
    assert "Traceback" not in result.stderr
    assert await User.count() == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [("qwerty123", TOO_COMMON), ("13700001111", HAS_USERNAME), ("13700001", HAS_USERNAME)],
)
async def test_sign_up_refuses_a_weak_password_and_keeps_what_was_typed(
    demo_mutable, client, password, message
):
    response = await post_form(
        client,
        "/signup",
        {
            "mobile": "13700001111",
            "name": "马建华",
            "password": password,
            "password_confirmation": password,
        },
    )
    assert response.status_code == 422
    assert gettext(message) in response.text
    assert 'value="13700001111"' in response.text
    assert "马建华" in response.text
    assert not await User.exists().where(User.username == "13700001111")

    accepted = await post_form(
        client,
        "/signup",
        {
            "mobile": "13700001111",
            "name": "马建华",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    assert accepted.status_code == 303
    assert await User.exists().where(User.username == "13700001111")


async def test_a_hash_made_with_older_parameters_is_upgraded_at_the_next_sign_in(
    empty_db, client, other_client
):
    user_id = await make_user("ma.xiaoyan", Role.organizer)
    older = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    await User.update({User.password_hash: older}).where(User.id == user_id)
    await login(client, "ma.xiaoyan", PASSWORD)
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    assert row["password_hash"] != older
    assert row["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await login(other_client, "ma.xiaoyan", PASSWORD)
