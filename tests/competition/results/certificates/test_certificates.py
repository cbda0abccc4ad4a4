"""Certificates through the real stack: refused before the final results; a trade's batch issued
and printed by a real worker from the organizer's page, its PDF read back and its QR codes
opening the verification page; the holder's own download; revocation and reissue as the
verification page and the API tell them; a second batch adding nothing; the design with a
background picture; and who may do what."""

from __future__ import annotations

import io
import re

import pypdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from competition.errors import PhaseError
from competition.results.certificates import service as certificates
from competition.results.standings import trade_standings
from competition.results.tables import Certificate, CertificateRevision
from competition.tables import AuditLog, User
from registration.tables import Entry, Person
from tests.competition.jobs.test_jobs import run_queued_jobs
from tests.competition.results.builders import actor, decrypted_trade, final_trade
from tests.support import csrf_token, login

BASE = "http://testserver"


async def _issue(client, competition_id: int, trade_id: int | None = None) -> dict:
    token = await csrf_token(client)
    data = {"_csrf_token": token, **({"trade_id": str(trade_id)} if trade_id else {})}
    response = await client.post(f"/org/competitions/{competition_id}/certificates/issue",
                                 data=data)  # fmt: skip
    assert response.status_code == 303, response.text
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    await run_queued_jobs()
    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "done", status
    return status


async def test_certificates_wait_for_the_final_results(demo_marks):
    trade = await decrypted_trade()
    with pytest.raises(PhaseError) as refused:
        await certificates.issue_trade(trade.trade_id, actor=await actor("organizer"))
    assert refused.value.code == "certificates_before_final"


async def test_a_trades_certificates_are_issued_printed_and_verified(demo_marks, client):
    trade = await final_trade()
    standings = await trade_standings(trade.trade_id)
    due = [
        (r.entry_id, kind)
        for r in standings.rows
        if r.present
        for kind, held in (("award", r.award), ("title", r.title), ("promotion", r.promotion))
        if held
    ]
    assert due, "the demo's 装配钳工 has awards"
    await login(client, "organizer")
    page = await client.get(f"/org/competitions/{trade.competition_id}/certificates")
    assert page.status_code == 200 and "证书" in page.text

    status = await _issue(client, trade.competition_id, trade.trade_id)
    assert status["done"] == status["total"] == len(due)
    [made] = status["files"]
    assert made["name"].endswith("-证书.pdf")
    content = (await client.get(made["url"])).content
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == len(due)

    rows = await Certificate.select().where(Certificate.trade == trade.trade_id)
    assert sorted((r["entry"], r["kind"]) for r in rows) == sorted(due)
    assert len({r["number"] for r in rows}) == len(rows)
    assert await CertificateRevision.count() == len(rows)
    assert await AuditLog.count().where(AuditLog.action == "certificate.issue") == len(rows)

    # The first page: its text names the holder, its QR code opens its verification page.
    first_text = reader.pages[0].extract_text().replace("\n", "")
    number = re.search(r"证书编号：(\S+)", first_text).group(1)
    row = next(r for r in rows if r["number"] == number)
    assert row["holder_name"] in first_text and row["honour"] in first_text
    image = pdfium.PdfDocument(content)[0].render(scale=2).to_pil()
    [url] = [code.text for code in zxingcpp.read_barcodes(image)]
    assert url == f"{BASE}/certificates/{number}"
    verify = await client.get(url.removeprefix(BASE))
    assert verify.status_code == 200 and "证书有效" in verify.text
    assert row["holder_name"] not in verify.text  # masked
    assert certificates.mask_name(row["holder_name"]) in verify.text

    # A second batch: nothing new, the same numbers.
    again = await _issue(client, trade.competition_id)
    assert again["total"] == len(due)
    assert {r["number"] for r in await Certificate.select(Certificate.number)} == {
        r["number"] for r in rows
    }


async def test_a_big_trade_prints_in_files_of_at_most_part_pages_in_order(
    demo_marks, client, monkeypatch
):
    """A renderer holds its whole file in memory: a trade of more than PART_PAGES certificates
    is printed in several files, numbered to sort in order, that together hold every
    certificate once, in the order one file would have."""
    from competition.results import jobs

    trade = await final_trade()
    monkeypatch.setattr(jobs, "PART_PAGES", 2)
    await login(client, "organizer")
    status = await _issue(client, trade.competition_id, trade.trade_id)
    total = status["total"]
    assert total > 2 * 2, "the demo's trade has more than two files' worth of certificates"
    parts = -(-total // 2)
    names = [f["name"] for f in status["files"]]
    width = len(str(parts))
    assert names == [
        names[0].rsplit("-", 1)[0] + f"-{k:0{width}d}.pdf" for k in range(1, parts + 1)
    ]
    assert all("-证书-" in name for name in names)
    numbers = []
    for made in status["files"]:
        reader = pypdf.PdfReader(io.BytesIO((await client.get(made["url"])).content))
        assert 1 <= len(reader.pages) <= 2
        for page in reader.pages:
            text = page.extract_text().replace("\n", "")
            numbers.append(re.search(r"证书编号：(\S+)", text).group(1))
    expected = [v.number for v in await certificates.of_trade(trade.trade_id, only_valid=True)]
    assert numbers == expected


async def test_revocation_and_reissue_as_the_verification_page_tells_them(
    demo_marks, client, other_client
):
    trade = await final_trade()
    await certificates.issue_trade(trade.trade_id, actor=await actor("organizer"))
    row = await Certificate.select().where(Certificate.kind == "award").first()
    number = row["number"]
    detail = f"/org/competitions/{trade.competition_id}/certificates/{number}"
    await login(client, "organizer")
    # Found by a number typed loosely.
    typed = number.lower().replace("-", " ", 1).replace("0", "o")
    found = await client.get(f"/org/competitions/{trade.competition_id}/certificates",
                             params={"number": typed.replace(" ", "-", 1)})  # fmt: skip
    assert found.status_code == 303 and found.headers["location"] == detail

    token = await csrf_token(client)
    empty = await client.post(detail + "/revoke", data={"_csrf_token": token, "reason": ""})
    assert empty.status_code == 422 and "原因" in empty.text
    revoked = await client.post(detail + "/revoke",
                                data={"_csrf_token": token, "reason": "成绩复核有误"})  # fmt: skip
    assert revoked.status_code == 303
    public = await other_client.get(f"/certificates/{number}")
    assert public.status_code == 200 and "证书已被组委会撤销" in public.text
    assert re.search(r"已于 \d{4}-\d\d-\d\d 撤销", public.text)
    assert "成绩复核有误" not in public.text  # the reason stays with the organizer
    api = (await other_client.get(f"/api/certificates/{number}")).json()
    assert api["status"] == "revoked" and api["revoked_on"]
    assert (await client.get(detail + "/pdf")).status_code == 404

    # Reissued with the holder's corrected name: same number, version 2, valid again.
    person = await Entry.select(Entry.person).where(Entry.id == row["entry"]).first()
    await Person.update({Person.name: "更正名"}).where(Person.id == person["person"])
    reissued = await client.post(detail + "/reissue",
                                 data={"_csrf_token": token, "reason": "姓名更正"})  # fmt: skip
    assert reissued.status_code == 303
    api = (await other_client.get(f"/api/certificates/{number}")).json()
    assert api["status"] == "valid" and api["version"] == 2 and api["holder"] == "更*名"
    pdf_text = pypdf.PdfReader(io.BytesIO((await client.get(detail + "/pdf")).content))
    assert "更正名" in pdf_text.pages[0].extract_text()
    history = await CertificateRevision.select().where(CertificateRevision.certificate == row["id"])
    assert [h["version"] for h in history] == [1, 2]
    actions = [a["action"] for a in await AuditLog.select(AuditLog.action).where(
        AuditLog.object_id == number)]  # fmt: skip
    assert actions == ["certificate.issue", "certificate.revoke", "certificate.reissue"]

    # A typo and an unknown number are told apart; neither is a server error.
    typo = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "输错" in (await other_client.get(f"/certificates?number={typo}")).text
    unknown = await other_client.get("/certificates/QH16-0000-00000")
    assert unknown.status_code == 404
    assert (await other_client.get("/api/certificates/nothing")).status_code == 404


async def test_the_holder_downloads_their_own_certificate_and_no_one_elses(demo_marks, client):
    trade = await final_trade()
    await certificates.issue_trade(trade.trade_id, actor=await actor("organizer"))
    mine, other = await Certificate.select().order_by(Certificate.id).limit(2)
    contestant = await User.select(User.id).where(User.username == "contestant").first()
    person = await Entry.select(Entry.person).where(Entry.id == mine["entry"]).first()
    await Person.update({Person.user: None}).where(Person.user == contestant["id"])
    await Person.update({Person.user: contestant["id"]}).where(Person.id == person["person"])
    await login(client, "contestant")
    listing = await client.get("/me/results")
    assert mine["number"] in listing.text and f"/me/certificates/{mine['number']}" in listing.text
    own = await client.get(f"/me/certificates/{mine['number']}")
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert mine["holder_name"] in pypdf.PdfReader(io.BytesIO(own.content)).pages[0].extract_text()
    if other["entry"] != mine["entry"]:
        assert (await client.get(f"/me/certificates/{other['number']}")).status_code == 403


async def test_the_design_with_a_background_picture(demo_marks, client):
    trade = await final_trade()
    await login(client, "organizer")
    root = f"/org/competitions/{trade.competition_id}/certificates/layout"
    token = await csrf_token(client)
    picture = Image.new("RGB", (1600, 1131), (250, 240, 220))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    form = {"_csrf_token": token, "heading": "荣誉证书", "issuer": "青海省总工会",
            "issued_on": "2026-12-20", "x_name": "60", "size_name": "26"}  # fmt: skip
    png = {"background": ("bg.png", buffer.getvalue(), "image/png")}
    saved = await client.post(root, data=form, files=png)
    assert saved.status_code == 303, saved.text
    design = await certificates.design_of(trade.competition_id)
    assert design.places["name"].x == 60 and design.places["name"].size == 26
    assert design.date_text == "二〇二六年十二月二十日" and design.background[:2] == b"\xff\xd8"
    preview = await client.get(root + "/preview.pdf")
    assert preview.status_code == 200
    text = pypdf.PdfReader(io.BytesIO(preview.content)).pages[0].extract_text()
    assert "青海省总工会" in text and "二〇二六年十二月二十日" in text

    not_a_picture = {"background": ("x.png", b"not a picture", "image/png")}
    bad = await client.post(root, data={**form, "x_name": "900"}, files=not_a_picture)
    assert bad.status_code == 422 and "JPEG" in bad.text
    outside = await client.post(root, data={**form, "x_name": "900"})
    assert outside.status_code == 422 and "超出" in outside.text
    # Nothing of the refused forms was kept.
    assert (await certificates.design_of(trade.competition_id)).places["name"].x == 60
