"""Check-in clerks (检录员) over HTTP: granted on the Accounts pages with a venue or a trade, a
home listing their sessions (today's first), desks, lookup and scans only there, and nothing
else of the site."""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import asynccontextmanager

import httpx

from competition import accounts, clock, services
from competition.accounts import Grant
from competition.audit import SYSTEM
from competition.services import CompetitionIn
from competition.tables import AuditLog, CompetitionSession, Role, RoleGrant, Trade, User, Venue
from registration import review, tickets
from registration.tables import CheckIn, Entry
from tests.registration.helpers import ids, new_id, register
from tests.support import PASSWORD, login, post_form, post_json


@asynccontextmanager
async def signed_in(app, username: str, password: str | None = None):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, username, *([password] if password else []))
        yield client


async def _approved(cid: int, trade_code: str = "T001", **kwargs) -> int:
    entry_id = await register(cid, trade_code, **kwargs)
    _trade, xn = await ids(cid, trade_code, "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    return entry_id


async def _session(code: str) -> int:
    row = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.code == code)
        .first()
    )
    return row["id"]


async def _venue(cid: int, code: str) -> int:
    row = (
        await Venue.select(Venue.id)
        .where((Venue.competition == cid) & (Venue.code == code))
        .first()
    )
    return row["id"]


async def _trade(cid: int, code: str) -> int:
    row = (
        await Trade.select(Trade.id)
        .where((Trade.competition == cid) & (Trade.code == code))
        .first()
    )
    return row["id"]


async def _at_checkin(cid: int) -> None:
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)


def _scan(session_id: int, token: str, nonce: str | None = None) -> dict:
    return {"session_id": session_id, "token": token, "nonce": nonce or str(uuid.uuid4())}


async def test_an_organizer_grants_the_clerk_role_with_a_venue_or_a_trade(
    demo_mutable, app, client
):
    cid = demo_mutable.competition_id
    qhjt, welding = await _venue(cid, "QHJT"), await _trade(cid, "T001")
    await login(client, "organizer")
    base = f"/org/competitions/{cid}/users"
    form = await client.get(f"{base}/new")
    assert 'name="venue"' in form.text
    assert "青海交通职业技术学院" in form.text and "检录员" in form.text

    account = {
        "username": "desk-qhjt",
        "display_name": "王芳",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "role": "checkin_clerk",
    }
    # A clerk needs exactly one of venue and trade.
    for scope in ({}, {"venue": str(qhjt), "trade": str(welding)}):
        refused = await post_form(client, f"{base}/new", {**account, **scope})
        assert refused.status_code == 422
        assert "请选择该检录员负责检录的赛场或工种。" in refused.text
    assert await User.count().where(User.username == "desk-qhjt") == 0

    created = await post_form(client, f"{base}/new", {**account, "venue": str(qhjt)})
    assert created.status_code == 303, created.text
    user_id = (await User.select(User.id).where(User.username == "desk-qhjt").first())["id"]
    grants = await RoleGrant.select(
        RoleGrant.role, RoleGrant.competition, RoleGrant.venue, RoleGrant.trade
    ).where(RoleGrant.user == user_id)
    assert grants == [{"role": "checkin_clerk", "competition": cid, "venue": qhjt, "trade": None}]
    detail = await client.get(f"{base}/{user_id}")
    assert "检录员 · 青海交通职业技术学院" in detail.text

    # A second grant for one trade, on the account's page; the same again is refused.
    added = await post_form(
        client, f"{base}/{user_id}/grants", {"role": "checkin_clerk", "trade": str(welding)}
    )
    assert added.status_code == 303
    again = await post_form(
        client, f"{base}/{user_id}/grants", {"role": "checkin_clerk", "trade": str(welding)}
    )
    assert again.status_code == 409
    assert "检录员 · T001 焊工" in (await client.get(f"{base}/{user_id}")).text

    # A venue of another competition is not offered and not accepted.
    other = await services.create_competition(
        CompetitionIn(code="QH17", name="青海省第十七届职工职业技能大赛", year=2028), SYSTEM
    )
    foreign = Venue(competition=other, code="X1", name="外届赛场", address="")
    await foreign.save()
    foreign_grant = await post_form(
        client, f"{base}/{user_id}/grants", {"role": "checkin_clerk", "venue": str(foreign.id)}
    )
    assert foreign_grant.status_code == 422
    assert "所选赛场不属于本届赛事。" in foreign_grant.text

    listed = await client.get(base, params={"role": "checkin_clerk", "venue": str(qhjt)})
    assert "desk-qhjt" in listed.text and "organizer" not in listed.text.split("<tbody>")[1]
    audits = (
        await AuditLog.select(AuditLog.new)
        .where((AuditLog.action == "user.grant.add") & (AuditLog.object_id == str(user_id)))
        .order_by(AuditLog.id)
        .output(load_json=True)
    )
    assert [(a["new"]["venue"], a["new"]["trade"]) for a in audits] == [
        ("青海交通职业技术学院", None),
        (None, "焊工"),
    ]

    # The new clerk lands on their own home and works the desks of that venue.
    async with signed_in(app, "desk-qhjt", PASSWORD) as clerk:
        home = await clerk.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/desk"
        page = await clerk.get("/desk")
        assert "T041" in page.text and "青海交通职业技术学院" in page.text


async def test_the_clerk_home_lists_the_sessions_of_their_venue_today_first(demo_mutable, client):
    cid = demo_mutable.competition_id
    # The 电工 theory session at the clerk's venue QHGZ moves to today; the others stay in 2027.
    now = clock.now()
    today_session = await _session("T002-TH")
    # Started a little earlier, but never before the local midnight: "today" is the local date
    # (Asia/Shanghai), and 30 minutes back from 00:10 is yesterday (a flake from 16:00 to 16:30
    # UTC).
    local = clock.local_time(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    started = max(local - dt.timedelta(minutes=30), midnight)
    await CompetitionSession.update(
        {
            CompetitionSession.starts_at: started,
            CompetitionSession.ends_at: now + dt.timedelta(minutes=60),
        }
    ).where(CompetitionSession.id == today_session)
    await login(client, "clerk")
    page = await client.get("/desk")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1]
    assert "检录员 · 张丽（青海高职赛场检录员）" in main
    today_part, later = main.split("<section", 1)
    assert f'href="/desk/sessions/{today_session}"' in today_part
    assert "今天" in today_part
    # Every session at QHGZ is there, and none elsewhere.
    qhgz = await _venue(cid, "QHGZ")
    sessions = await CompetitionSession.select(
        CompetitionSession.id, CompetitionSession.venue
    ).where(CompetitionSession.trade.competition == cid)
    for s in sessions:
        link = f'href="/desk/sessions/{s["id"]}"'
        assert (link in main) == (s["venue"] == qhgz), s
    assert f'href="/desk/sessions/{today_session}"' not in later
    # No menu entry of any other role.
    nav = page.text.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/desk"' in nav and 'href="/org"' not in nav


async def test_a_clerk_works_only_the_desks_of_their_venue_and_sees_no_other_page(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid, name="才让多杰")
    own = (await Entry.select(Entry.session).where(Entry.id == entry_id).first())["session"]
    token = (await tickets.load_ticket(entry_id)).token
    elsewhere = await _session("T041-TH")  # at QHJT, not the clerk's venue
    await _at_checkin(cid)
    await login(client, "clerk")
    clerk_id = (await User.select(User.id).where(User.username == "clerk").first())["id"]

    desk = await client.get(f"/desk/sessions/{own}")
    assert desk.status_code == 200
    assert 'id="scan-input"' in desk.text and 'id="lookup-input"' in desk.text
    assert 'href="/desk"' in desk.text and "/org/competitions" not in desk.text
    status = await client.get(f"/desk/sessions/{own}/status.json")
    assert status.json() == {"session_id": own, "checked_in": 0, "expected": 1}
    scanned = await post_json(client, "/api/checkin", _scan(own, token))
    assert scanned.status_code == 200 and scanned.json()["outcome"] == "checked_in"
    photo = await client.get(scanned.json()["photo_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    row = await CheckIn.select(CheckIn.checked_in_by).where(CheckIn.entry == entry_id).first()
    assert row["checked_in_by"] == clerk_id

    refused = {
        "desk": await client.get(f"/desk/sessions/{elsewhere}"),
        "status": await client.get(f"/desk/sessions/{elsewhere}/status.json"),
        "photo": await client.get(f"/desk/sessions/{elsewhere}/entries/{entry_id}/photo"),
        "scan": await post_json(client, "/api/checkin", _scan(elsewhere, token)),
        "lookup": await post_json(
            client, "/api/checkin/lookup", {"session_id": elsewhere, "query": "才让多杰"}
        ),
        "entry": await post_json(
            client,
            "/api/checkin/entry",
            {"session_id": elsewhere, "entry_id": entry_id, "nonce": str(uuid.uuid4())},
        ),
    }
    for what, response in refused.items():
        assert response.status_code == 403, (what, response.status_code)
    assert refused["scan"].json()["message"] == "您不负责该场次的检录。"
    for path in (
        "/org",
        f"/org/competitions/{cid}/checkin",
        f"/org/competitions/{cid}/checkin/{own}",
        f"/org/competitions/{cid}/entries",
        f"/photos/entries/{entry_id}.jpg",
        "/supervisor/audit",
        "/delegation",
        "/judge",
        "/me",
    ):
        assert (await client.get(path)).status_code == 403, path
    assert await CheckIn.count() == 1


async def test_a_clerk_of_one_trade_works_its_desks_at_every_venue_of_this_competition(
    demo_mutable, app
):
    cid = demo_mutable.competition_id
    electrician = await _approved(cid, "T002", name="才让卓玛")
    token = (await tickets.load_ticket(electrician)).token
    other = await services.create_competition(
        CompetitionIn(code="QH17", name="青海省第十七届职工职业技能大赛", year=2028), SYSTEM
    )
    await accounts.create_user(
        "desk-t002",
        "电工检录",
        PASSWORD,
        actor=SYSTEM,
        grants=[Grant(Role.checkin_clerk, competition_id=cid, trade_id=await _trade(cid, "T002"))],
    )
    # A clerk of the same venue code in another competition reaches nothing here.
    await accounts.create_user(
        "desk-qh17",
        "十七届检录",
        PASSWORD,
        actor=SYSTEM,
        grants=[
            Grant(Role.checkin_clerk, competition_id=other, venue_id=await _venue(cid, "QHGZ"))
        ],
    )
    await _at_checkin(cid)
    theory, welding = await _session("T002-TH"), await _session("T001-TH")
    async with signed_in(app, "desk-t002", PASSWORD) as clerk:
        assert (await clerk.get(f"/desk/sessions/{theory}")).status_code == 200
        assert (await clerk.get(f"/desk/sessions/{welding}")).status_code == 403
        answer = await post_json(clerk, "/api/checkin", _scan(theory, token))
        assert answer.json()["outcome"] == "checked_in" and answer.json()["name"] == "才让卓玛"
        home = await clerk.get("/desk")
        assert f'href="/desk/sessions/{theory}"' in home.text
        assert f'href="/desk/sessions/{welding}"' not in home.text
    async with signed_in(app, "desk-qh17", PASSWORD) as stranger:
        assert (await stranger.get(f"/desk/sessions/{theory}")).status_code == 403
        scan = await post_json(stranger, "/api/checkin", _scan(theory, token))
        assert scan.status_code == 403
    assert await CheckIn.count() == 1


async def test_the_desk_looks_up_by_post_shows_masked_hits_and_checks_in_by_lookup(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await _approved(cid, id_number=number, name="才让多杰")
    session_id = await _session("T001-TH")
    await _at_checkin(cid)
    await login(client, "clerk")
    clerk_id = (await User.select(User.id).where(User.username == "clerk").first())["id"]

    found = await post_json(
        client, "/api/checkin/lookup", {"session_id": session_id, "query": number[-4:]}
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["more"] is False and body["message"] == ""
    [hit] = body["hits"]
    assert hit["entry_id"] == entry_id and hit["name"] == "才让多杰"
    assert hit["ticket_number"] == "QH16-T001-0001" and hit["trade"] == "焊工"
    assert hit["delegation"] == "西宁市总工会" and hit["checked_in_time"] == ""
    assert hit["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert number not in found.text
    assert hit["photo_url"] == f"/desk/sessions/{session_id}/entries/{entry_id}/photo"
    assert (await client.get(hit["photo_url"])).status_code == 200

    too_short = await post_json(
        client, "/api/checkin/lookup", {"session_id": session_id, "query": "123"}
    )
    assert too_short.status_code == 422
    assert too_short.json()["message"] == "请至少输入身份证号码的 4 位数字。"
    none = await post_json(
        client, "/api/checkin/lookup", {"session_id": session_id, "query": "王五"}
    )
    assert none.json() == {"hits": [], "more": False, "message": "本场次没有符合条件的选手。"}
    # The search is never a URL.
    assert (await client.get("/api/checkin/lookup", params={"query": "才让"})).status_code == 405

    nonce = str(uuid.uuid4())
    checked = await post_json(
        client,
        "/api/checkin/entry",
        {"session_id": session_id, "entry_id": entry_id, "nonce": nonce},
    )
    assert checked.status_code == 200
    assert checked.json()["outcome"] == "checked_in" and checked.json()["name"] == "才让多杰"
    audit = (
        await AuditLog.select(AuditLog.actor_id, AuditLog.object_id, AuditLog.new)
        .where(AuditLog.action == "entry.check_in")
        .output(load_json=True)
    )
    assert audit == [
        {
            "actor_id": clerk_id,
            "object_id": str(entry_id),
            "new": {"session": session_id, "by": "lookup"},
        }
    ]
    after = await post_json(
        client, "/api/checkin/lookup", {"session_id": session_id, "query": "才让多杰"}
    )
    expected_time = clock.format_datetime(
        (await CheckIn.select(CheckIn.checked_in_at).first())["checked_in_at"], "%H:%M"
    )
    assert after.json()["hits"][0]["checked_in_time"] == expected_time
    # Out-of-range ids are refused at the edge, not by the database.
    huge = await post_json(
        client,
        "/api/checkin/entry",
        {"session_id": session_id, "entry_id": 2**40, "nonce": str(uuid.uuid4())},
    )
    assert huge.status_code == 400
    assert await CheckIn.count() == 1
