"""Security headers on every answer, and no caching of personal data.

Pages, JSON, static files, redirects and error answers (also for a path no route matches) all
carry the Content-Security-Policy, the framing, sniffing, referrer and permissions policies;
HSTS when the cookies are Secure. Every answer but a static file says `Cache-Control: no-store`:
pages (signed in or not), photos, tickets, exports and import reports.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from competition import config
from competition.config import REPO_ROOT
from registration.tables import Entry, EntryStatus, Photo
from tests.support import login, post_form

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EXPECTED = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def assert_security_headers(response: httpx.Response, what: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{what}: {name}={response.headers.get(name)}"
    # The test app serves plain HTTP (JIANGXIN_COOKIE_SECURE=0): no HSTS.
    assert "strict-transport-security" not in response.headers, what


async def test_every_kind_of_answer_carries_the_security_headers(demo, client):
    cid = demo.competition_id
    answers = {
        "the public front page": await client.get("/"),
        "a public JSON answer": await client.get(f"/api/competitions/{cid}"),
        "a static file": await client.get("/static/js/app.js"),
        "a redirect to sign in": await client.get("/org"),
        "a JSON refusal": await client.get("/api/me"),
        "a path no route has": await client.get("/no/such/page"),
        "a method the route has not": await client.request("DELETE", "/health"),
        "a refused form (no CSRF token)": await client.post("/login", data={"username": "x"}),
        "an unknown id": await client.get(f"/competitions/{2**63}"),
        "a NUL in the query": await client.get("/?q=%00"),
    }
    statuses = {what: r.status_code for what, r in answers.items()}
    assert statuses == {
        "the public front page": 200,
        "a public JSON answer": 200,
        "a static file": 200,
        "a redirect to sign in": 303,
        "a JSON refusal": 401,
        "a path no route has": 404,
        "a method the route has not": 405,
        "a refused form (no CSRF token)": 403,
        "an unknown id": 404,
        "a NUL in the query": 400,
    }
    await login(client, "organizer")
    answers["a signed-in page"] = await client.get(f"/org/competitions/{cid}")
    for what, response in answers.items():
        assert_security_headers(response, what)


async def test_pages_and_files_with_personal_data_are_not_cached_and_static_files_are(
    demo_full, client, other_client
):
    cid = demo_full.competition_id
    approved = await (
        Entry.select(Entry.id)
        .where(Entry.competition == cid, Entry.status == EntryStatus.approved)
        .first()
    )
    with_photo = await (
        Entry.select(Entry.id)
        .where(Entry.competition == cid, Entry.person.is_in(Photo.select(Photo.person)))
        .first()
    )
    assert approved and with_photo, "the full demo has approved entries with photos"
    anonymous = {
        "the sign-in page": await client.get("/login"),
        "the front page": await client.get("/"),
    }
    await login(client, "organizer")
    signed_in = {
        "the organizer's home": await client.get("/org"),
        "the entries": await client.get(f"/org/competitions/{cid}/entries"),
        "a photo": await client.get(f"/photos/entries/{with_photo['id']}.jpg"),
        "a ticket": await client.get(
            f"/org/competitions/{cid}/entries/{approved['id']}/ticket.pdf"
        ),
        "an export": await client.get(f"/org/competitions/{cid}/entries/export.xlsx"),
        "the JSON API": await client.get("/api/me"),
    }
    await login(other_client, "xining")
    template = await other_client.get("/delegation/import/template.xlsx")
    upload = await post_form(
        other_client, "/delegation/import", files={"file": ("名单.xlsx", template.content, XLSX)}
    )
    assert upload.status_code == 303
    signed_in["an import report"] = await other_client.get(
        f"{upload.headers['location']}/report.xlsx"
    )
    for what, response in {**anonymous, **signed_in}.items():
        assert response.status_code == 200, what
        assert "no-store" in response.headers["cache-control"], what
    static = await client.get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    assert static.headers.get("etag") or static.headers.get("last-modified")


@asynccontextmanager
async def app_with(monkeypatch: pytest.MonkeyPatch, **changes) -> AsyncIterator[httpx.AsyncClient]:
    """A second app built with other settings (the database pool is the session's)."""
    from competition.app import create_app

    monkeypatch.setattr(config, "_settings", dataclasses.replace(config.get_settings(), **changes))
    application = create_app()
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def test_hsts_is_sent_when_the_cookies_are_secure(demo, monkeypatch):
    async with app_with(monkeypatch, cookie_secure=True) as client:
        for response in (await client.get("/"), await client.get("/static/js/app.js")):
            assert response.headers["strict-transport-security"] == "max-age=31536000"
            assert response.headers["content-security-policy"] == CSP


def test_no_template_runs_an_inline_script():
    """The policy allows scripts from /static only: an inline <script>, an on…= attribute or a
    javascript: link would be blocked in the browser."""
    problems = []
    for path in sorted((REPO_ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                problems.append(f"{path.name}: {tag}")
        problems += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        problems += [f"{path.name}: javascript:" for _ in re.findall(r"javascript:", text)]
    assert not problems, "\n".join(problems)
