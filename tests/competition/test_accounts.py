"""Signing in and out: cookies, password hashes, throttling, open redirects, `createuser`."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from competition.accounts import USER_FAILURE_LIMIT
from competition.i18n import gettext
from competition.tables import AuditLog, LoginThrottle, Role, RoleGrant, User, UserSession
from competition.web.middleware import SESSION_COOKIE
from tests.support import PASSWORD, csrf_token, login, make_user

WRONG_CREDENTIALS = "Wrong username or password."


async def attempt(
    client: httpx.AsyncClient, username: str, password: str, next_path: str | None = None
) -> httpx.Response:
    data = {"username": username, "password": password, "_csrf_token": await csrf_token(client)}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/login", data=data)


def zh(message: str, **params) -> str:
    text = gettext(message, **params)  # zh_CN is the default locale
    assert text != message.format(**params), f"no Chinese translation for {message!r}"
    return text


def locked_message(minutes: int) -> str:
    return zh("Too many failed sign-ins. Try again in {minutes} minutes.", minutes=minutes)


async def test_signing_in_sets_an_http_only_same_site_session_cookie(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    response = await attempt(client, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/org"
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part for part in cookies[0].split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == "Path=/"
    # The cookie is a random token; the database keeps only its hash.
    token = client.cookies[SESSION_COOKIE]
    assert len(token) >= 32
    stored = await UserSession.select(UserSession.token_hash)
    assert len(stored) == 1 and token not in stored[0]["token_hash"]
    assert (await client.get("/org")).status_code == 200


async def test_passwords_are_stored_as_argon2id(empty_db):
    await make_user("ma.xiaoyan", Role.organizer)
    row = await User.select(User.password_hash).where(User.username == "ma.xiaoyan").first()
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]


async def test_a_wrong_password_shows_the_chinese_message_and_keeps_the_username(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    response = await attempt(client, "ma.xiaoyan", "not-the-password")
    assert 400 <= response.status_code < 500
    assert zh(WRONG_CREDENTIALS) in response.text
    assert 'value="ma.xiaoyan"' in response.text
    assert SESSION_COOKIE not in client.cookies
    assert await UserSession.count() == 0


async def test_a_wrong_password_answers_400(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    response = await attempt(client, "ma.xiaoyan", "not-the-password")
    assert response.status_code == 400


async def _fail_until_locked(client: httpx.AsyncClient, username: str) -> tuple[int, int, str]:
    """Wrong passwords until the answer is 429; returns (attempts, status before, message)."""
    first = await attempt(client, username, "wrong-password-0")
    status = first.status_code
    assert status != 429
    for n in range(2, USER_FAILURE_LIMIT + 2):
        response = await attempt(client, username, f"wrong-password-{n}")
        if response.status_code == 429:
            return n, status, response.text
        assert response.status_code == status
        assert zh(WRONG_CREDENTIALS) in response.text
    raise AssertionError(f"{USER_FAILURE_LIMIT + 1} wrong passwords did not lock {username}")


async def test_ten_wrong_passwords_lock_the_username_until_the_lock_expires(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    attempts, _, text = await _fail_until_locked(client, "ma.xiaoyan")
    assert attempts in (USER_FAILURE_LIMIT, USER_FAILURE_LIMIT + 1)
    assert USER_FAILURE_LIMIT == 10
    assert locked_message(15) in text
    assert 'value="ma.xiaoyan"' in text

    # Locked: even the right password is refused, and no session starts.
    response = await attempt(client, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 429
    assert locked_message(15) in response.text
    assert await UserSession.count() == 0

    # The lock is per username: another user still signs in from the same place.
    await make_user("zhao.jianping", Role.organizer)
    assert (await attempt(client, "zhao.jianping", PASSWORD)).status_code == 303
    await client.post("/logout", data={"_csrf_token": await csrf_token(client)})

    # A quarter of an hour later (moved into the past here) the right password works again.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await LoginThrottle.update({LoginThrottle.locked_until: past}).where(
        LoginThrottle.locked_until.is_not_null()
    )
    response = await attempt(client, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 303
    assert (await client.get("/org")).status_code == 200


async def test_an_unknown_username_is_answered_like_a_wrong_password(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    known = await attempt(client, "ma.xiaoyan", "not-the-password")
    unknown = await attempt(client, "nobody.here", "not-the-password")
    assert unknown.status_code == known.status_code
    assert zh(WRONG_CREDENTIALS) in unknown.text
    assert 'value="nobody.here"' in unknown.text

    # The lock comes after as many attempts as for a real user, with the same message.
    await LoginThrottle.delete(force=True)
    attempts, status, text = await _fail_until_locked(client, "nobody.else")
    assert attempts in (USER_FAILURE_LIMIT, USER_FAILURE_LIMIT + 1)
    assert status == known.status_code
    assert locked_message(15) in text


async def test_signing_out_ends_the_session_on_the_server(empty_db, client, app):
    await make_user("ma.xiaoyan", Role.organizer)
    await login(client, "ma.xiaoyan", PASSWORD)
    token = client.cookies[SESSION_COOKIE]
    assert await UserSession.count() == 1

    response = await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert await UserSession.count() == 0

    # Replaying the old cookie from another browser does not bring the session back.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as replay:
        replay.cookies.set(SESSION_COOKIE, token)
        page = await replay.get("/org")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
        api = await replay.get("/api/me")
        assert api.status_code == 401


@pytest.mark.parametrize(
    ("next_path", "lands_on"),
    [
        ("/supervisor/audit?action=competition", "/supervisor/audit?action=competition"),
        ("//evil.example", "/org"),
        ("https://evil.example", "/org"),
        ("/\\evil.example", "/org"),
        ("", "/org"),
    ],
)
async def test_next_only_leads_to_paths_of_this_site(empty_db, client, next_path, lands_on):
    await make_user("ma.xiaoyan", Role.organizer)
    response = await attempt(client, "ma.xiaoyan", PASSWORD, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == lands_on
    # Already signed in, /login?next=… goes to the same place.
    again = await client.get("/login", params={"next": next_path})
    assert again.status_code == 303
    assert again.headers["location"] == lands_on


def _cli(*args: str) -> subprocess.CompletedProcess:
    """`jiangxin …` as a separate process on the test database."""
    script = Path(sys.executable).with_name("jiangxin")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "competition.cli"]
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "JIANGXIN_SECRET": os.environ["JIANGXIN_SECRET"],
    }
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [*command, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_createuser_makes_an_organizer_who_can_sign_in(empty_db, client):
    result = _cli(
        "createuser",
        "--username",
        "first.organizer",
        "--role",
        "organizer",
        "--display-name",
        "组委会办公室",
        "--password",
        "a-long-password-1",
    )
    assert result.returncode == 0, result.stderr
    assert "first.organizer" in result.stdout
    grants = await RoleGrant.select(RoleGrant.role, RoleGrant.user.username)
    assert grants == [{"role": "organizer", "user.username": "first.organizer"}]
    assert await AuditLog.count().where(AuditLog.action == "user.create") == 1

    response = await attempt(client, "first.organizer", "a-long-password-1")
    assert response.status_code == 303
    assert response.headers["location"] == "/org"
    assert "组委会办公室" in (await client.get("/org")).text


async def test_createuser_refuses_a_delegation_admin_without_a_delegation(empty_db):
    result = _cli(
        "createuser",
        "--username",
        "orphan",
        "--role",
        "delegation_admin",
        "--password",
        "a-long-password-1",
    )
    assert result.returncode == 1
    assert zh("A delegation admin needs a delegation.") in result.stderr
    assert "Traceback" not in result.stderr
    assert await User.count() == 0
