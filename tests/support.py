"""Helpers for tests that drive the app over HTTP."""

from __future__ import annotations

import httpx

from competition import accounts
from competition.accounts import Grant
from competition.audit import SYSTEM
from competition.demo.loader import DEMO_PASSWORD
from competition.tables import Role
from competition.web.middleware import SESSION_COOKIE

PASSWORD = "correct-horse-9"


def as_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Send this site's origin with every request, as a browser does on a form it loaded from
    the site: the app refuses a state-changing request without Origin or Referer."""
    client.headers.setdefault("origin", str(client.base_url).rstrip("/"))
    return client


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The client's CSRF token (fetching the sign-in page for it, like a browser opening a
    form); the client sends the site's origin from then on (`as_browser`)."""
    as_browser(client)
    if "csrftoken" not in client.cookies:
        response = await client.get("/login")
        # A signed-in client is sent on from the sign-in page; anyone else gets the form.
        expected = 303 if SESSION_COOKIE in client.cookies else 200
        assert response.status_code == expected, response.text
    return client.cookies["csrftoken"]


async def login(
    client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD
) -> httpx.Response:
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict | None = None, files: dict | None = None
) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(url, data={**(data or {}), "_csrf_token": token}, files=files)


async def post_json(client: httpx.AsyncClient, url: str, body: dict) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(url, json=body, headers={"x-csrftoken": token})


async def make_user(
    username: str,
    role: Role,
    *,
    competition_id: int | None = None,
    delegation_id: int | None = None,
    trade_id: int | None = None,
) -> int:
    return await accounts.create_user(
        username,
        username,
        PASSWORD,
        actor=SYSTEM,
        grants=[
            Grant(
                role=role,
                competition_id=competition_id,
                delegation_id=delegation_id,
                trade_id=trade_id,
            )
        ],
    )


def qr_in_pdf(pdf: bytes) -> str:
    """Render the first page of a PDF (pdfium, like a browser) and decode the QR code on it."""
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=200 / 72).to_pil()
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code found on the rendered page"
    return found[0].text
