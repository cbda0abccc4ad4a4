"""The demo contestants (registration/demo.py): every status, tickets, photos, the linked demo
account, and a second run that changes nothing."""

from __future__ import annotations

import csv
import io
from collections import Counter

from PIL import Image

from competition.tables import AuditLog, Quota, User
from registration import idcard
from registration.demo import DEMO_FILE, load_demo_registrations
from registration.tables import Entry, Person, Photo


async def test_the_demo_contestants_cover_every_status_and_load_once(demo_mutable):
    cid = demo_mutable.competition_id
    changes = await load_demo_registrations(cid)
    rows = list(csv.DictReader(io.StringIO(DEMO_FILE.read_text("utf-8"))))
    # (0 if the fixtures already loaded them: the state below is the same either way.)
    assert 280 <= len(rows) <= 340 and (changes == 0 or changes > 3 * len(rows))
    numbers = [idcard.normalise(r["身份证号"]) for r in rows]

    entries = await Entry.select(
        Entry.status, Entry.source, Entry.ticket_number, Entry.session, Entry.review_note,
        Entry.trade, Entry.delegation, Entry.person.id_number, Entry.person.name,
        Entry.person.user,
    ).where(
        (Entry.competition == cid) & Entry.person.id_number.is_in(numbers)
    )  # fmt: skip
    statuses = Counter(e["status"] for e in entries)
    assert len(entries) == len(rows)
    assert statuses["approved"] >= 150 and statuses["delegation_approved"] >= 40
    assert statuses["submitted"] >= 40
    assert statuses["rejected"] == 10 and statuses["revoked"] == 2
    assert {e["source"] for e in entries} == {"import"}
    assert len({e["trade"] for e in entries}) >= 28
    assert len({e["delegation"] for e in entries}) >= 25
    for e in entries:
        idcard.parse(e["person.id_number"])  # every ID is valid
        if e["status"] == "approved":
            assert e["ticket_number"] and e["session"] is not None
        if e["status"] in ("rejected", "revoked"):
            assert e["review_note"]
    assert any(e["review_note"] == "照片不清晰，请上传近期免冠正面照片" for e in entries)
    # Inside every quota.
    held = Counter(
        (e["delegation"], e["trade"])
        for e in entries
        if e["status"] in ("submitted", "delegation_approved", "approved")
    )
    caps = {
        (q["delegation"], q["trade"]): q["max_entries"]
        for q in await Quota.select(Quota.delegation, Quota.trade, Quota.max_entries)
    }
    assert all(n <= caps[pair] for pair, n in held.items())
    names = {e["person.name"] for e in entries}
    assert {"才让多杰", "卓玛"} & names and any(n.startswith("马") for n in names)

    # Photos: one per person, a real JPEG of ID-photo size, tinted per person.
    photos = await Photo.select(Photo.content, Photo.width, Photo.height).where(
        Photo.person.id_number.is_in(numbers)
    )
    assert len(photos) == await Person.count().where(Person.id_number.is_in(numbers)) == len(rows)
    first = Image.open(io.BytesIO(photos[0]["content"]))
    assert first.format == "JPEG" and first.size == (480, 640)
    assert len({p["content"][:2000] for p in photos}) > 200

    # The demo contestant account sees 韩永福's approved 焊工 entry.
    user = await User.select(User.id).where(User.username == "contestant").first()
    mine = [e for e in entries if e["person.user"] == user["id"]]
    assert [(m["person.name"], m["status"]) for m in mine] == [("韩永福", "approved")]

    audit = await AuditLog.count()
    assert await load_demo_registrations(cid) == 0
    assert await AuditLog.count() == audit
    again = await Entry.select(Entry.status).where(Entry.person.id_number.is_in(numbers))
    assert Counter(r["status"] for r in again) == statuses


async def test_every_demo_record_has_an_owner_and_one_claim_waits_for_xining(demo_full, client):
    from registration.demo import CLAIMANT_USERNAME
    from registration.tables import PersonClaim
    from tests.support import login

    cid = demo_full.competition_id
    people = await Person.select(Person.user, Person.owner_delegation).where(
        Person.id.is_in(Entry.select(Entry.person).where(Entry.competition == cid))
    )
    assert people and all(p["user"] or p["owner_delegation"] for p in people)
    claims = await PersonClaim.select(
        PersonClaim.status, PersonClaim.proof, PersonClaim.user.username
    ).order_by(PersonClaim.id)
    assert [(c["user.username"], c["status"], c["proof"]) for c in claims] == [
        ("contestant", "confirmed", "organizer"),
        (CLAIMANT_USERNAME, "pending", ""),
    ]
    await login(client, "xining")
    page = await client.get("/delegation/claims")
    assert CLAIMANT_USERNAME in page.text and 'id="no-claims"' not in page.text
