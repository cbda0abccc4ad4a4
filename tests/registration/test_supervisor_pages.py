"""The supervisor (监督仲裁) sees everything read-only: entries with their history, the
dashboard, quota usage, check-ins per session and the import batches — never a form that
changes data, never a phone number, never a full ID number."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from competition import services
from competition.audit import SYSTEM
from competition.tables import CompetitionSession, Role, User
from registration import idcard, review
from registration.tables import CheckIn, Entry, ImportBatch, Person
from tests.page_text import en, main, text, zh, zh_plural
from tests.registration.helpers import ids, register
from tests.support import PASSWORD, login, make_user

PHONE = re.compile(r"1[3-9]\d{9}")


def _base(cid: int) -> str:
    return f"/supervisor/competitions/{cid}"


# The things the supervisors write: the review sample and their re-checks (复核,
# scoring/controllers/review.py), theirs to do before publication, and the ruling on an appeal
# (申诉裁决, competition/results/controllers/supervisor.py).
SUPERVISOR_WRITES = (
    "/supervisor/competitions/{competition_id:int}/review/",
    "/supervisor/competitions/{competition_id:int}/appeals/",
)


def test_every_supervisor_route_only_reads(app):
    routes = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/supervisor")
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"
    ]
    assert len(routes) >= 9
    writes = [(method, path) for method, path in routes if method not in {"GET", "HEAD"}]
    assert all(path.startswith(SUPERVISOR_WRITES) for _method, path in writes), writes


async def test_each_read_only_page_shows_its_content_and_no_form_that_changes_data(
    client, demo_full
):
    cid = demo_full.competition_id
    await login(client, "supervisor")
    entry = (
        await Entry.select(Entry.id, Entry.person.id_number, Entry.person.name)
        .where((Entry.competition == cid) & (Entry.status == "approved"))
        .first()
    )
    pages = {
        "": [zh("Structure"), zh("Recent changes"), "青海省第十六届职工职业技能大赛"],
        "/entries": [zh("Entries"), zh("{n} entries", n=312)],
        f"/entries/{entry['id']}": [
            entry["person.name"],
            zh("History"),
            idcard.mask(entry["person.id_number"]),
        ],
        "/dashboard": [zh("Registration dashboard"), zh("Entries by delegation")],
        "/quota-usage": [zh("Quota usage"), zh("Quota rows (delegation × trade)")],
        "/checkins": [zh("Check-ins per session"), "T001-P1"],
        "/imports": [zh("Registration imports")],
    }
    for path, expected in pages.items():
        response = await client.get(_base(cid) + path)
        assert response.status_code == 200, path
        body = main(response.text)
        for piece in expected:
            assert piece in text(body), (path, piece)
        assert not re.search(r'<form[^>]*method="post"', body, re.I), path
        assert not PHONE.search(body), path
        assert entry["person.id_number"] not in body, path
        # The menu leads to the supervisor's own views, never to the organizer's.
        assert "/org/competitions" not in body, path


async def test_entries_filter_and_the_entry_shows_its_history(client, demo_full):
    cid = demo_full.competition_id
    await login(client, "supervisor")
    revoked = (
        await Entry.select().where((Entry.competition == cid) & (Entry.status == "revoked")).first()
    )
    listing = (await client.get(f"{_base(cid)}/entries", params={"status": "revoked"})).text
    links = re.findall(rf'href="{_base(cid)}/entries/(\d+)"', listing)
    assert len(links) == 2 and str(revoked["id"]) in links
    detail = (await client.get(f"{_base(cid)}/entries/{revoked['id']}")).text
    history = text(detail.split(zh("History"))[1])
    assert zh("Revoked") in history and revoked["review_note"] in history
    assert (
        f"/supervisor/audit?competition={cid}&amp;object_type=entry&amp;object_id={revoked['id']}"
        in detail
    )
    elsewhere = await register(cid)
    assert (await client.get(f"{_base(cid)}/entries/{elsewhere + 1000}")).status_code == 404


async def test_checkins_per_session_and_who_checked_in(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await register(cid)
    _t, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    entry = await Entry.select().where(Entry.id == entry_id).first()
    clerk = await User.select().where(User.username == "organizer").first()
    await CheckIn.insert(
        CheckIn(entry=entry_id, session=entry["session"], checked_in_by=clerk["id"], nonce="n-1")
    )
    await login(client, "supervisor")
    sessions = (await client.get(f"{_base(cid)}/checkins")).text
    session = (
        await CompetitionSession.select().where(CompetitionSession.id == entry["session"]).first()
    )
    row = re.search(
        rf'<a href="{_base(cid)}/checkins/{session["id"]}">[^<]*</a></td>(.*?)</tr>', sessions, re.S
    ).group(1)
    assert re.findall(r'class="num">(\d+)</td>', row) == ["1", "1"]
    detail = (await client.get(f"{_base(cid)}/checkins/{session['id']}")).text
    person = await Person.select().where(Person.id == entry["person"]).first()
    assert person["name"] in detail and clerk["display_name"] in detail
    assert idcard.mask(person["id_number"]) in detail and person["id_number"] not in detail
    assert zh_plural("{n} check-in", "{n} check-ins", 1) in detail
    other_session = (
        await CompetitionSession.select().where(CompetitionSession.id != session["id"]).first()
    )
    empty = (await client.get(f"{_base(cid)}/checkins/{other_session['id']}")).text
    assert zh("Nobody has been checked in for this session yet.") in empty
    assert (await client.get(f"{_base(cid)}/checkins/999999")).status_code == 404


async def test_import_batches_are_listed_without_their_files(client, demo_mutable):
    cid = demo_mutable.competition_id
    _t, xn = await ids(cid, "T001", "XN")
    uploader = await User.select().where(User.username == "xining").first()
    await ImportBatch.insert(
        ImportBatch(
            token="t" * 40,
            competition=cid,
            delegation=xn,
            user_id=uploader["id"],
            filename="西宁报名表.xlsx",
            content=b"secret file",
            status="imported",
            summary={
                "counts": {"rows": 12, "valid": 10, "errors": 2, "new": 10, "updated": 0},
                "result": {"new": 9, "updated": 1},
            },
        )
    )
    await login(client, "supervisor")
    page = (await client.get(f"{_base(cid)}/imports")).text
    row = text(re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1))
    for piece in ("西宁报名表.xlsx", "西宁市总工会", uploader["display_name"], zh("Imported")):
        assert piece in row
    assert row.split(zh("Imported"))[1].split() == ["12", "2", "9", "1"]
    assert "t" * 40 not in page and "secret file" not in page


async def test_other_roles_cannot_open_the_supervisors_pages(client, other_client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    for path in ("", "/entries", "/quota-usage", "/checkins", "/imports", "/dashboard"):
        assert (await client.get(_base(cid) + path)).status_code == 403, path
    other = await services.create_competition(
        services.CompetitionIn(code="QH17", name="第十七届", year=2028), SYSTEM
    )
    await make_user("sup-elsewhere", Role.supervisor, competition_id=other)
    await login(other_client, "sup-elsewhere", PASSWORD)
    for path in ("", "/entries", "/quota-usage"):
        assert (await other_client.get(_base(cid) + path)).status_code == 403, path


async def test_supervisor_pages_in_english(client, demo_full):
    cid = demo_full.competition_id
    await login(client, "supervisor")
    client.cookies.set("lang", "en")
    home = (await client.get("/supervisor")).text
    assert "Qinghai 16th Workers" in home and f'href="{_base(cid)}"' in home
    page = (await client.get(f"{_base(cid)}/checkins")).text
    assert "<h1>Check-ins per session</h1>" in page and "Welder" in page
    entries = (await client.get(f"{_base(cid)}/entries")).text
    assert en("Read only: every entry of the competition, with its review history.") in entries
