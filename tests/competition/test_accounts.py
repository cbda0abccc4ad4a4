"""Signing in and out: cookies, password hashes, open redirects, `createuser`, the identity a
session carries. Throttling: test_sign_in_throttle.py; the password rule: test_passwords.py."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from competition.i18n import gettext
from competition.tables import AuditLog, Role, RoleGrant, User, UserSession
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
    assert response.status_code == 400
    assert zh(WRONG_CREDENTIALS) in response.text
    assert 'value="ma.xiaoyan"' in response.text
    assert SESSION_COOKIE not in client.cookies
    assert await UserSession.count() == 0


async def test_a_wrong_password_answers_400(empty_db, client):
    await make_user("ma.xiaoyan", Role.organizer)
    response = await attempt(client, "ma.xiaoyan", "not-the-password")
    assert response.status_code == 400


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


async def test_createuser_makes_a_check_in_clerk_for_one_venue(demo_mutable):
    result = _cli(
        "createuser",
        "--username",
        "desk.clerk",
        "--role",
        "checkin_clerk",
        "--competition",
        "QH16",
        "--venue",
        "QHGZ",
        "--password",
        "a-long-password-1",
    )
    assert result.returncode == 0, result.stderr
    grant = (
        await RoleGrant.select(RoleGrant.role, RoleGrant.competition, RoleGrant.venue.code)
        .where(RoleGrant.user.username == "desk.clerk")
        .first()
    )
    assert grant == {
        "role": "checkin_clerk",
        "competition": demo_mutable.competition_id,
        "venue.code": "QHGZ",
    }
    unscoped = _cli(
        "createuser",
        "--username",
        "desk.clerk2",
        "--role",
        "checkin_clerk",
        "--competition",
        "QH16",
        "--password",
        "a-long-password-1",
    )
    assert unscoped.returncode == 1
    assert zh("A check-in clerk needs a competition and a venue or a trade.") in unscoped.stderr
    assert not await User.exists().where(User.username == "desk.clerk2")


async def _three_grants(cid: int) -> tuple[int, dict, dict, dict]:
    """An account holding an unscoped organizer grant, a delegation admin grant and a judge
    grant that also names a venue; returns (user id, delegation, trade, venue)."""
    from competition.accounts import Grant, create_user
    from competition.audit import SYSTEM
    from competition.tables import Delegation, Trade, Venue

    delegation = (
        await Delegation.select(Delegation.id, Delegation.name)
        .where(Delegation.competition == cid)
        .first()
    )
    trade = await Trade.select(Trade.id, Trade.name).where(Trade.competition == cid).first()
    venue = await Venue.select(Venue.id, Venue.name).where(Venue.competition == cid).first()
    user_id = await create_user(
        "three.hats",
        "三顶帽子",
        PASSWORD,
        actor=SYSTEM,
        grants=[
            Grant(role=Role.organizer),
            Grant(role=Role.delegation_admin, competition_id=cid, delegation_id=delegation["id"]),
        ],
    )
    await RoleGrant.insert(
        RoleGrant(user=user_id, role="judge", competition=cid, trade=trade["id"], venue=venue["id"])
    )
    return user_id, delegation, trade, venue


async def test_a_session_carries_every_grant_with_the_names_it_shows(demo_mutable, client):
    from competition.accounts import Grant, load_identity

    cid = demo_mutable.competition_id
    user_id, delegation, trade, venue = await _three_grants(cid)
    await login(client, "three.hats", PASSWORD)
    identity = await load_identity(client.cookies[SESSION_COOKIE])
    assert identity is not None
    assert (identity.user_id, identity.username, identity.display_name) == (
        user_id,
        "three.hats",
        "三顶帽子",
    )
    assert identity.grants == (
        Grant(role=Role.organizer),
        Grant(
            role=Role.delegation_admin,
            competition_id=cid,
            delegation_id=delegation["id"],
            delegation_name=delegation["name"],
        ),
        Grant(
            role=Role.judge,
            competition_id=cid,
            trade_id=trade["id"],
            trade_name=trade["name"],
            venue_id=venue["id"],
            venue_name=venue["name"],
        ),
    )
    me = (await client.get("/api/me")).json()
    assert [g["role"] for g in me["grants"]] == ["organizer", "delegation_admin", "judge"]
    assert me["grants"][1]["delegation_id"] == delegation["id"]


async def test_an_account_without_grants_is_signed_in_but_may_open_nothing(empty_db, client):
    from competition.accounts import load_identity

    user_id = await make_user("no.roles.left", Role.supervisor)
    await login(client, "no.roles.left", PASSWORD)
    await RoleGrant.delete().where(RoleGrant.user == user_id)
    identity = await load_identity(client.cookies[SESSION_COOKIE])
    assert identity is not None and identity.grants == ()
    assert (await client.get("/api/me")).status_code == 403


async def test_changes_made_anywhere_take_effect_on_the_next_request(empty_db, client):
    """Every request reads its session from the database (one query; no per-process cache), so
    a sign-out, deactivation or role change made by another worker counts at once. Here the
    changes are made straight in the database, as another process would."""
    user_id = await make_user("ma.xiaoyan", Role.organizer)
    await login(client, "ma.xiaoyan", PASSWORD)
    assert (await client.get("/api/me")).status_code == 200
    assert (await client.get("/org")).status_code == 200

    # A role taken away: the organizer pages close at once.
    await RoleGrant.update({RoleGrant.role: Role.supervisor.value}).where(RoleGrant.user == user_id)
    assert [g["role"] for g in (await client.get("/api/me")).json()["grants"]] == ["supervisor"]
    assert (await client.get("/org")).status_code == 403

    # Deactivated: signed out on the next request, and back when reactivated.
    await User.update({User.is_active: False}).where(User.id == user_id)
    assert (await client.get("/api/me")).status_code == 401
    await User.update({User.is_active: True}).where(User.id == user_id)
    assert (await client.get("/api/me")).status_code == 200

    # An expired session is no session.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await UserSession.update({UserSession.expires_at: past}).where(UserSession.user == user_id)
    assert (await client.get("/api/me")).status_code == 401

    # Signed out elsewhere (the row deleted by another worker).
    await UserSession.delete().where(UserSession.user == user_id)
    await login(client, "ma.xiaoyan", PASSWORD)
    assert (await client.get("/api/me")).status_code == 200
    await UserSession.delete().where(UserSession.user == user_id)
    assert (await client.get("/api/me")).status_code == 401


async def test_a_cookie_that_is_no_token_is_no_session(empty_db, client):
    for value in ("", "x", "' OR 1=1 --", "a" * 4000):
        client.cookies.set(SESSION_COOKIE, value)
        assert (await client.get("/api/me")).status_code == 401
    client.cookies.delete(SESSION_COOKIE)
