"""Cross-site request forgery: a form or API call without the right token changes nothing."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from competition import config
from competition.demo.loader import DEMO_PASSWORD
from competition.i18n import gettext
from competition.tables import AuditLog, Competition, User, UserSession
from tests.support import csrf_token, login

# What the user reads when the token is missing or wrong (competition/web/errors.py).
EXPIRED_FORM = (
    "This form has expired or did not come from this site. "
    "Go back, reload the page and submit it again."
)


def expired_form_message() -> str:
    message = gettext(EXPIRED_FORM)  # zh_CN, the default locale
    assert message != EXPIRED_FORM, "the CSRF message has no Chinese translation"
    assert "表单" in message
    return message


async def phase_and_audit_count(competition_id: int) -> tuple[str, int]:
    row = await Competition.select(Competition.phase).where(Competition.id == competition_id)
    return row[0]["phase"], await AuditLog.count()


async def test_signing_out_needs_the_token_too(demo, client):
    await login(client, "organizer")
    sessions = await UserSession.count()
    response = await client.post("/logout")
    assert response.status_code == 403
    assert expired_form_message() in response.text
    assert await UserSession.count() == sessions
    assert (await client.get("/org")).status_code == 200


async def test_a_form_without_the_right_token_is_refused_and_changes_nothing(
    demo_mutable, client, other_client
):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    assert before[0] == "registration"
    another_browsers = await csrf_token(other_client)
    assert another_browsers != client.cookies["csrftoken"]
    for token in (None, "forged-token-value", another_browsers):
        data = {"target": "review", "reason": "forged"}
        if token is not None:
            data["_csrf_token"] = token
        response = await client.post(f"/org/competitions/{competition_id}/phase", data=data)
        assert response.status_code == 403, token
        assert response.headers["content-type"].startswith("text/html")
        assert expired_form_message() in response.text
        assert await phase_and_audit_count(competition_id) == before


async def test_a_json_call_without_the_header_is_refused_and_changes_nothing(demo_mutable, client):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    response = await client.post(
        f"/api/competitions/{competition_id}/phase", json={"target": "review"}
    )
    assert response.status_code == 403
    assert response.json() == {"code": "csrf_failed", "message": expired_form_message()}
    assert await phase_and_audit_count(competition_id) == before
    # The same call with the header goes through: the refusal above was the token's doing.
    ok = await client.post(
        f"/api/competitions/{competition_id}/phase",
        json={"target": "review"},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert ok.status_code == 200
    assert (await phase_and_audit_count(competition_id))[0] == "review"


# ---------------------------------------------------------------------------- origin check
# Besides the token, a state-changing request must come from this site: its Origin header (or,
# without one, its Referer) names this site's origin. The requests below carry a valid token.

SITE = "http://testserver"


async def _phase_form(client, competition_id: int, headers: dict) -> httpx.Response:
    token = await csrf_token(client)
    # The helper sets this site's origin on the client; each case says what it sends instead.
    client.headers.pop("origin", None)
    return await client.post(
        f"/org/competitions/{competition_id}/phase",
        data={"target": "review", "reason": "forged", "_csrf_token": token},
        headers=headers,
    )


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"origin": "https://evil.example"}, "another site"),
        ({"origin": "http://testserver.evil.example"}, "a look-alike host"),
        ({"origin": "http://testserver:8080"}, "another port"),
        ({"origin": "https://testserver"}, "another scheme (cookies are not Secure here)"),
        ({"origin": "null"}, "the opaque origin of a sandboxed frame or a file"),
        ({}, "neither Origin nor Referer"),
        ({"referer": "https://evil.example/org"}, "a Referer from another site"),
        ({"origin": "https://evil.example", "referer": f"{SITE}/org"}, "Origin wins"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_a_form_from_elsewhere_is_refused_even_with_the_token(
    demo_mutable, client, headers, why
):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    response = await _phase_form(client, competition_id, headers)
    assert response.status_code == 403, why
    assert expired_form_message() in response.text
    assert await phase_and_audit_count(competition_id) == before


@pytest.mark.parametrize(
    "headers",
    [{"origin": SITE}, {"referer": f"{SITE}/org/competitions"}, {"origin": "http://TESTSERVER:80"}],
    ids=["origin", "referer", "origin with its default port in capitals"],
)
async def test_a_form_from_this_site_goes_through(demo_mutable, client, headers):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    response = await _phase_form(client, competition_id, headers)
    assert response.status_code == 303
    assert (await phase_and_audit_count(competition_id))[0] == "review"


async def test_a_json_call_from_elsewhere_is_refused_in_the_error_shape(demo_mutable, client):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    response = await client.post(
        f"/api/competitions/{competition_id}/phase",
        json={"target": "review"},
        headers={"x-csrftoken": client.cookies["csrftoken"], "origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json() == {"code": "csrf_failed", "message": expired_form_message()}
    assert await phase_and_audit_count(competition_id) == before


async def test_signing_in_and_signing_up_from_elsewhere_are_refused(demo, client):
    token = await csrf_token(client)
    sessions = await UserSession.count()
    users = await User.count()
    evil = {"origin": "https://evil.example"}
    signed_in = await client.post(
        "/login",
        data={"username": "organizer", "password": DEMO_PASSWORD, "_csrf_token": token},
        headers=evil,
    )
    signed_up = await client.post(
        "/signup",
        data={"username": "newcomer", "password": "a-long-passphrase-9", "_csrf_token": token},
        headers=evil,
    )
    for response in (signed_in, signed_up):
        assert response.status_code == 403
        assert expired_form_message() in response.text
    assert await UserSession.count() == sessions
    assert await User.count() == users
    assert "jx_session" not in client.cookies


async def test_the_refusal_speaks_the_users_language(demo, client):
    """The CSRF check runs before the handler; its page is still in the user's language."""
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    no_token = await client.post("/logout")
    wrong_origin = await client.post(
        "/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers={"origin": "null"}
    )
    for response in (no_token, wrong_origin):
        assert response.status_code == 403
        assert EXPIRED_FORM in response.text
        assert '<html lang="en">' in response.text


@asynccontextmanager
async def app_with(monkeypatch: pytest.MonkeyPatch, **changes) -> AsyncIterator[httpx.AsyncClient]:
    """A second app built with other settings (the database pool is the session's)."""
    from competition.app import create_app

    monkeypatch.setattr(config, "_settings", dataclasses.replace(config.get_settings(), **changes))
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        yield client


async def test_behind_a_proxy_the_public_origin_and_https_are_this_site(demo, monkeypatch):
    """A TLS proxy forwards plain HTTP, maybe with its own Host: the configured public origin,
    and https on the request's host when cookies are Secure, are this site; others are not."""
    public = "https://jiangxin.example.org"
    async with app_with(monkeypatch, public_origins=(public,), cookie_secure=True) as client:
        # The cookie is Secure and this hop is plain HTTP (as behind the proxy): sent by hand.
        form_page = await client.get("/login")
        token = re.search(r"csrftoken=([^;]+)", form_page.headers["set-cookie"]).group(1)
        answers = {}
        for origin in (public, "https://testserver", SITE, "https://other.example.org"):
            response = await client.post(
                "/login",
                data={"username": "organizer", "password": DEMO_PASSWORD, "_csrf_token": token},
                headers={"origin": origin, "cookie": f"csrftoken={token}"},
            )
            answers[origin] = response.status_code
    # 303: signed in, so the origin check let it through.
    assert answers == {
        public: 303,
        "https://testserver": 303,
        SITE: 303,
        "https://other.example.org": 403,
    }


async def test_without_secure_cookies_https_on_the_same_host_is_another_origin(demo, monkeypatch):
    async with app_with(monkeypatch, cookie_secure=False) as client:
        token = await csrf_token(client)
        response = await client.post(
            "/login",
            data={"username": "organizer", "password": DEMO_PASSWORD, "_csrf_token": token},
            headers={"origin": "https://testserver"},
        )
        assert response.status_code == 403
