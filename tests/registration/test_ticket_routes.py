"""Admission ticket PDFs, contestants' photos and the ticket signature key, over HTTP."""

from __future__ import annotations

import hashlib
import html
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from competition.audit import SYSTEM
from competition.errors import ValidationFailed
from competition.tables import Role, User
from registration import review, tokens
from registration.tables import Entry, Photo
from tests.registration.helpers import ids, register
from tests.support import PASSWORD, login, make_user, qr_in_pdf


@asynccontextmanager
async def signed_in(app, username: str, password: str | None = None):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if password:
            await login(client, username, password)
        else:
            await login(client, username)
        yield client


async def _user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def _approved(cid: int, **kwargs) -> int:
    entry_id = await register(cid, **kwargs)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    return entry_id


async def test_each_audience_downloads_the_ticket_pdf_with_a_verifiable_qr(demo_mutable, app):
    cid = demo_mutable.competition_id
    owner = await _user_id("contestant")
    entry_id = await _approved(cid, account_user_id=owner, name="才让多杰")
    number = (await Entry.select(Entry.ticket_number).where(Entry.id == entry_id).first())[
        "ticket_number"
    ]
    assert number == "QH16-T001-0001"
    doors = {
        "contestant": f"/me/entries/{entry_id}/ticket.pdf",
        "xining": f"/delegation/entries/{entry_id}/ticket.pdf",
        "organizer": f"/org/competitions/{cid}/entries/{entry_id}/ticket.pdf",
    }
    for username, url in doors.items():
        async with signed_in(app, username) as client:
            response = await client.get(url)
        assert response.status_code == 200, (username, response.text[:300])
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("inline;")
        assert f"filename*=UTF-8''{quote('准考证-' + number + '.pdf')}" in disposition
        assert response.headers["cache-control"] == "private, no-store"
        claim = tokens.verify(qr_in_pdf(response.content))
        assert (claim.entry_id, claim.ticket_number, claim.competition_id) == (
            entry_id,
            number,
            cid,
        )


async def test_tickets_are_refused_to_others_and_before_approval(demo_mutable, app, client):
    cid = demo_mutable.competition_id
    owner = await _user_id("contestant")
    entry_id = await _approved(cid, account_user_id=owner)
    waiting = await register(cid)  # submitted, not yet reviewed
    await make_user("stranger", Role.contestant)

    async with signed_in(app, "haixi") as haixi:  # another delegation
        response = await haixi.get(f"/delegation/entries/{entry_id}/ticket.pdf")
        assert response.status_code == 403
        assert "您无权访问该报名记录。" in response.text
        # A delegation admin is not the contestant: the contestant's door stays shut.
        assert (await haixi.get(f"/me/entries/{entry_id}/ticket.pdf")).status_code == 403
    async with signed_in(app, "stranger", PASSWORD) as stranger:
        response = await stranger.get(f"/me/entries/{entry_id}/ticket.pdf")
        assert response.status_code == 403
        assert "您无权访问该报名记录。" in response.text
    async with signed_in(app, "organizer") as organizer:
        response = await organizer.get(f"/org/competitions/{cid}/entries/{waiting}/ticket.pdf")
        assert response.status_code == 403
        assert "报名终审通过后才能下载准考证。" in response.text
        assert not response.content.startswith(b"%PDF")
        # The entry under another competition's address is not found there.
        other = await organizer.get(f"/org/competitions/{cid + 1000}/entries/{entry_id}/ticket.pdf")
        assert other.status_code == 404
    async with signed_in(app, "xining") as xining:
        response = await xining.get(f"/delegation/entries/{waiting}/ticket.pdf")
        assert response.status_code == 403
        assert "报名终审通过后才能下载准考证。" in response.text
    response = await client.get(f"/me/entries/{entry_id}/ticket.pdf")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_photos_reach_only_those_who_reach_the_entry_and_revalidate_by_etag(
    demo_mutable, app, client
):
    cid = demo_mutable.competition_id
    owner = await _user_id("contestant")
    entry_id = await register(cid, account_user_id=owner)
    without = await register(cid, photo=False)
    person = (await Entry.select(Entry.person).where(Entry.id == entry_id).first())["person"]
    stored = await Photo.select(Photo.content, Photo.sha256).where(Photo.person == person).first()
    assert hashlib.sha256(stored["content"]).hexdigest() == stored["sha256"]
    url = f"/photos/entries/{entry_id}.jpg"

    for username in ("contestant", "xining", "organizer"):
        async with signed_in(app, username) as reader:
            response = await reader.get(url)
            assert response.status_code == 200, username
            assert response.headers["content-type"] == "image/jpeg"
            assert response.content == stored["content"]
            assert response.content.startswith(b"\xff\xd8")
            assert response.headers["etag"] == f'"{stored["sha256"]}"'
            assert response.headers["cache-control"] == "private, no-store"

    async with signed_in(app, "organizer") as organizer:
        etag = f'"{stored["sha256"]}"'
        cached = await organizer.get(url, headers={"if-none-match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        weak = await organizer.get(url, headers={"if-none-match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        changed = await organizer.get(url, headers={"if-none-match": '"something-else"'})
        assert changed.status_code == 200 and changed.content == stored["content"]
        missing = await organizer.get(f"/photos/entries/{without}.jpg")
        assert missing.status_code == 404
        assert "未找到该照片。" in missing.text
        assert (await organizer.get("/photos/entries/abc.jpg")).status_code == 404
        assert (await organizer.get("/photos/entries/99999999.jpg")).status_code == 404

    async with signed_in(app, "haixi") as haixi:
        response = await haixi.get(url)
        assert response.status_code == 403
        assert response.content != stored["content"]
    await make_user("stranger", Role.contestant)
    async with signed_in(app, "stranger", PASSWORD) as stranger:
        assert (await stranger.get(url)).status_code == 403
    response = await client.get(url)
    assert response.status_code == 303


async def test_the_public_key_page_and_pem_verify_real_tickets(client):
    pem = tokens.public_key_pem()
    page = await client.get("/tickets/public-key")
    assert page.status_code == 200
    assert "-----BEGIN PUBLIC KEY-----" in page.text
    for line in pem.strip().splitlines():
        assert line in page.text
    assert "准考证签名公钥" in page.text
    assert "JX1.&lt;payload&gt;.&lt;signature&gt;" in page.text

    download = await client.get("/tickets/public-key.pem")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.text == pem
    key = load_pem_public_key(download.content)
    claim = tokens.TicketClaim(competition_id=3, entry_id=41, version=2, ticket_number="QH16-X")
    token = tokens.sign(claim)
    assert tokens.verify(token, key) == claim
    prefix, _payload, signature = token.split(".")
    forged = f"{prefix}.{tokens._b64(b'3|42|2|QH16-X')}.{signature}"
    with pytest.raises(ValidationFailed):
        tokens.verify(forged, key)


async def test_the_offline_check_shown_on_the_key_page_refuses_non_canonical_tokens(
    client, tmp_path, monkeypatch
):
    """The page's Python snippet, run as printed against the downloaded key: a real token
    passes, its twin with the last signature character's unused bits changed does not."""
    page = (await client.get("/tickets/public-key")).text
    assert "规范的 base64url" in page
    snippet = html.unescape(page.split('<pre class="key-pem">from base64', 1)[1].split("</pre>")[0])
    (tmp_path / "jiangxin-ticket-key.pem").write_bytes(
        (await client.get("/tickets/public-key.pem")).content
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec("from base64" + snippet, namespace)  # noqa: S102 - our own page's example
    token = tokens.sign(tokens.TicketClaim(3, 41, 2, "QH16-T001-0041"))
    assert namespace["check"](token) == (3, 41, 2, "QH16-T001-0041")
    prefix, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    with pytest.raises(AssertionError):
        namespace["check"](f"{prefix}.{payload}.{twin}")
    with pytest.raises(ValidationFailed):
        tokens.verify(f"{prefix}.{payload}.{twin}")
