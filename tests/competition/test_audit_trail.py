"""The audit trail as a person reads it: every action named, people by name, objects linked,
old → new as a diff, paging by id that never answers 400, scoped to the competitions the
viewer may see, and no phone number or full ID number even where a record holds one."""

from __future__ import annotations

import re
from pathlib import Path

from competition import audit, audit_trail, services, structure
from competition.audit import SYSTEM, Actor
from competition.config import REPO_ROOT
from competition.phases import PHASE_LABELS, Phase
from competition.tables import AuditLog, Competition, Role, User
from registration.tables import EntryStatus
from tests.page_text import en, main, text, zh
from tests.registration.helpers import register
from tests.support import PASSWORD, login, make_user

AUDIT = "/supervisor/audit"


# ---------------------------------------------------------------------------- labels


def _written_actions() -> set[str]:
    """Every action string the code writes: literals passed to audit.record / record_many
    (and the raw rows of the batch import), plus the two families built with an f-string."""
    found: set[str] = set()
    patterns = (
        re.compile(r'audit\.record\(\s*"([a-z_]+\.[a-z_.]+)"'),
        re.compile(r'"action":\s*"([a-z_]+\.[a-z_.]+)"'),
        re.compile(r'\baction="([a-z_]+\.[a-z_.]+)"'),
        re.compile(r'competition_id,\s*"([a-z_]+\.[a-z_.]+)",\s*"entry"'),
        # Audit rows written in SQL of their own (the check-in's one-statement write).
        re.compile(r"'([a-z_]+\.[a-z_.]+)', '[a-z_]+', "),
    )
    for package in ("competition", "registration", "scoring"):
        for path in Path(REPO_ROOT, package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for pattern in patterns:
                found.update(pattern.findall(source))
            if 'f"{kind.name}.' in source:  # competition/structure.py
                found.update(
                    f"{kind}.{verb}"
                    for kind in structure.KINDS
                    for verb in ("create", "update", "delete")
                )
            if 'f"entry.{new_status}"' in source:  # registration/review.py
                found.update(
                    f"entry.{s}"
                    for s in (EntryStatus.delegation_approved, EntryStatus.approved, "rejected")
                )
    return found


def test_every_action_the_code_writes_has_a_label_in_both_languages():
    written = _written_actions()
    assert {"competition.phase", "entry.approved", "quota.update", "entry.check_in"} <= written
    missing = sorted(a for a in written if a not in audit_trail.ACTION_LABELS)
    assert not missing, f"actions without a label in competition/audit_trail.py: {missing}"
    for action in written:
        label = audit_trail.ACTION_LABELS[action]
        assert zh(label) and en(label) == label


# ---------------------------------------------------------------------------- reading


def test_phone_numbers_are_hidden_and_id_numbers_masked_wherever_they_sit():
    old = {
        "phone": "13900971234",
        "contact_phone": "13800000000",
        "id_number": "630102199001011234",
        "note": "本人电话13912345678，身份证630102199001011234",
        "nested": [{"mobile": "13700000000"}],
    }
    shown = " ".join(f"{c.old} {c.new}" for c in audit_trail.diff(old, {"phone": "13900979999"}))
    assert not re.search(r"1[3-9]\d{9}", shown)
    assert "630102199001011234" not in shown and "6301**********1234" in shown
    assert audit_trail.scrub("请联系 13912345678") == "请联系 " + zh("(hidden)")


def test_a_diff_shows_only_what_changed_with_labels_and_names():
    changes = audit_trail.diff(
        {"phase": "registration", "name": "焊工"},
        {"phase": "review", "name": "焊工", "max_entries": 3},
    )
    assert [(c.label, c.old, c.new) for c in changes] == [
        (zh("Phase"), zh(PHASE_LABELS[Phase.registration]), zh(PHASE_LABELS[Phase.review])),
        (zh("Quota"), None, "3"),
    ]


async def test_the_trail_page_names_actions_people_and_objects(client, demo_full):
    cid = demo_full.competition_id
    await login(client, "organizer")
    page = (await client.get(AUDIT, params={"competition": str(cid), "object_type": "entry"})).text
    rows = re.findall(r'<li class="audit-row" id="audit-(\d+)">(.*?)</li>', page, re.S)
    assert len(rows) == audit_trail.PAGE_SIZE
    revoked = await AuditLog.select().where(AuditLog.action == "entry.revoked").first()
    shown = dict(rows)[str(revoked["id"])]
    assert zh("Entry revoked") in shown
    link = re.search(r'<a href="(/org/competitions/\d+/entries/(\d+))">([^<]+)</a>', shown)
    assert link.group(1) == f"/org/competitions/{cid}/entries/{revoked['object_id']}"
    assert " · " in link.group(3)  # the person and the trade
    assert f"{zh('Approved')} → {zh('Revoked')}" in text(shown)
    assert revoked["reason"] in text(shown)
    # Actions are labels, not codes.
    assert "entry." not in "".join(body for _id, body in rows)

    # A record by a person shows their current name, not the name stored with it.
    user = await User.select().where(User.username == "organizer").first()
    await audit.record(
        "competition.update",
        actor=Actor(user["id"], "old name"),
        object_type="competition",
        object_id=cid,
        competition_id=cid,
        old={"name_en": ""},
        new={"name_en": "QH16"},
    )
    page = (await client.get(AUDIT, params={"competition": str(cid)})).text
    first = re.search(r'<li class="audit-row"[^>]*>(.*?)</li>', page, re.S).group(1)
    assert user["display_name"] in first and "old name" not in first
    assert f'href="/org/competitions/{cid}"' in first


async def test_old_records_never_show_phone_numbers(client, demo):
    await login(client, "organizer")
    page = (await client.get(AUDIT, params={"object_type": "delegation"})).text
    assert zh("Delegation created") in page
    assert zh("Contact phone") in page and zh("(hidden)") in page
    assert not re.search(r"1[3-9]\d{9}", main(page))


async def test_keyset_paging_walks_the_whole_trail_and_back(client, demo):
    await login(client, "organizer")
    total = await AuditLog.count()
    assert total > 3 * audit_trail.PAGE_SIZE
    pages: list[list[str]] = []
    params: dict[str, str] = {}
    while True:
        response = await client.get(AUDIT, params=params)
        assert response.status_code == 200
        page = response.text
        pages.append(re.findall(r'id="audit-(\d+)"', page))
        older = re.search(r'href="/supervisor/audit\?before=(\d+)"', page)
        if not older:
            break
        params = {"before": older.group(1)}
        assert len(pages) < 200
    seen = [int(i) for ids in pages for i in ids]
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)
    assert all(len(ids) == audit_trail.PAGE_SIZE for ids in pages[:-1])
    # From the oldest page, "newer" leads back to the page before it; the newest has none.
    newer = re.search(r'href="/supervisor/audit\?after=(\d+)"', page)
    back = await client.get(AUDIT, params={"after": newer.group(1)})
    assert re.findall(r'id="audit-(\d+)"', back.text) == pages[-2]
    assert "after=" not in (await client.get(AUDIT)).text
    # Any value in the paging and filter fields gets a page, never a 400 or a 500.
    for odd in (
        {"competition": ""},
        {"before": "abc"},
        {"before": "99999999999999999999"},
        {"after": "-1"},
        {"action": "drop table"},
        {"object_type": "nothing"},
    ):
        assert (await client.get(AUDIT, params=odd)).status_code == 200, odd


async def test_filters_narrow_to_one_action_and_one_object(client, demo_full):
    await login(client, "organizer")
    page = (await client.get(AUDIT, params={"action": "entry.approved"})).text
    labels = re.findall(r'<span class="badge audit-action">([^<]+)</span>', page)
    assert labels and set(labels) == {zh("Approved in final review")}
    one = await AuditLog.select().where(AuditLog.action == "entry.approved").first()
    page = (
        await client.get(AUDIT, params={"object_type": "entry", "object_id": one["object_id"]})
    ).text
    assert zh("Only the records of one object (#{id}).", id=one["object_id"]) in page
    assert set(re.findall(r'/entries/(\d+)"', main(page))) == {one["object_id"]}


async def test_the_trail_is_scoped_to_the_viewers_competitions(client, other_client, demo_mutable):
    cid = demo_mutable.competition_id
    other = await services.create_competition(
        services.CompetitionIn(code="QH17", name="第十七届大赛", year=2028), SYSTEM
    )
    await make_user("org17", Role.organizer, competition_id=other)
    await make_user("sup17", Role.supervisor, competition_id=other)
    await login(client, "org17", PASSWORD)
    page = (await client.get(AUDIT)).text
    ids = [int(i) for i in re.findall(r'id="audit-(\d+)"', page)]
    records = await AuditLog.select(AuditLog.competition_id).where(AuditLog.id.is_in(ids))
    assert records and {r["competition_id"] for r in records} == {other}
    # No record of the demo and none without a competition (accounts) reaches them.
    assert "青海省第十六届" not in page
    assert (await client.get(AUDIT, params={"competition": str(cid)})).status_code == 403
    options = re.findall(r'<option value="(\d+)"', page.split('id="f-competition"')[1])
    assert options == [str(other)]

    await login(other_client, "sup17", PASSWORD)
    assert (await other_client.get(AUDIT, params={"competition": str(cid)})).status_code == 403
    assert (await other_client.get(f"/supervisor/competitions/{cid}")).status_code == 403
    home = (await other_client.get("/supervisor")).text
    assert "第十七届大赛" in home and "青海省第十六届" not in home


async def test_the_demo_supervisor_reads_everything_in_english(client, demo_mutable):
    cid = demo_mutable.competition_id
    await register(cid)
    await login(client, "supervisor")
    client.cookies.set("lang", "en")
    page = (await client.get(AUDIT, params={"competition": str(cid)})).text
    assert "<h1>Audit trail</h1>" in page
    assert "Entry registered" in page
    first = re.search(r'<li class="audit-row"[^>]*>(.*?)</li>', page, re.S).group(1)
    assert f'href="/supervisor/competitions/{cid}/entries/' in first
    name = (await Competition.select().where(Competition.id == cid).first())["name_en"]
    assert name in text(page)
