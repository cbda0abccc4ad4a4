"""The check-in desk over HTTP: choosing a session, the desk page, POST /api/checkin, counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from contextlib import asynccontextmanager

import httpx

from competition import services
from competition.audit import SYSTEM
from competition.clock import format_datetime
from competition.services import CompetitionIn
from competition.tables import AuditLog, CompetitionSession, Role, User
from registration import review, tickets, tokens
from registration.tables import CheckIn, Entry
from tests.registration.helpers import ids, register
from tests.support import PASSWORD, csrf_token, login, make_user, post_json


@asynccontextmanager
async def signed_in(app, username: str, password: str | None = None):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, username, *([password] if password else []))
        yield client


async def _approved(cid: int, **kwargs) -> int:
    entry_id = await register(cid, **kwargs)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    return entry_id


async def _token(entry_id: int) -> str:
    return (await tickets.load_ticket(entry_id)).token


async def _own_session(entry_id: int) -> int:
    return (await Entry.select(Entry.session).where(Entry.id == entry_id).first())["session"]


async def _at_checkin(cid: int) -> None:
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)


def _scan(session_id: int, token: str, nonce: str | None = None) -> dict:
    return {"session_id": session_id, "token": token, "nonce": nonce or str(uuid.uuid4())}


async def test_first_scan_checks_in_a_second_says_when_and_a_retry_changes_nothing(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid, name="才让多杰")
    token, session_id = await _token(entry_id), await _own_session(entry_id)
    await _at_checkin(cid)
    await login(client, "organizer")
    organizer_id = (await User.select(User.id).where(User.username == "organizer").first())["id"]

    status_url = f"/desk/sessions/{session_id}/status.json"
    before = (await client.get(status_url)).json()
    assert before == {"session_id": session_id, "checked_in": 0, "expected": 1}

    nonce = str(uuid.uuid4())
    first = await post_json(client, "/api/checkin", _scan(session_id, token, nonce))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["outcome"] == "checked_in"
    assert body["message"] == "检录成功。"
    assert body["entry_id"] == entry_id
    assert body["name"] == "才让多杰"
    assert body["trade"] == "焊工"
    assert body["ticket_number"] == "QH16-T001-0001"
    assert body["delegation"] == "西宁市总工会"
    assert body["photo_url"] == f"/desk/sessions/{session_id}/entries/{entry_id}/photo"
    photo = await client.get(body["photo_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    row = await CheckIn.select().where(CheckIn.entry == entry_id).first()
    assert row["session"] == session_id and row["nonce"] == nonce
    assert row["checked_in_by"] == organizer_id
    assert dt.datetime.fromisoformat(body["checked_in_at"]) == row["checked_in_at"]
    assert body["checked_in_time"] == format_datetime(row["checked_in_at"], "%H:%M")

    # The same request again (its answer was lost on the way): the first answer, no new row.
    retry = await post_json(client, "/api/checkin", _scan(session_id, token, nonce))
    assert retry.status_code == 200
    assert retry.json()["outcome"] == "checked_in"
    assert retry.json()["checked_in_at"] == body["checked_in_at"]

    # A new scan of the same ticket: not an error, but when it was checked in.
    again = await post_json(client, "/api/checkin", _scan(session_id, token))
    assert again.status_code == 200
    answer = again.json()
    assert answer["outcome"] == "already"
    assert answer["message"] == f"已于 {format_datetime(row['checked_in_at'], '%H:%M')} 检录。"
    assert answer["name"] == "才让多杰" and answer["checked_in_at"] == body["checked_in_at"]

    assert await CheckIn.count().where(CheckIn.entry == entry_id) == 1
    audits = await AuditLog.select().where(AuditLog.action == "entry.check_in")
    assert len(audits) == 1
    assert audits[0]["object_id"] == str(entry_id) and audits[0]["actor_id"] == organizer_id
    after = (await client.get(status_url)).json()
    assert after == {"session_id": session_id, "checked_in": 1, "expected": 1}

    # The desk page shows the session and the count; the chooser lists it with its count.
    desk = await client.get(f"/org/competitions/{cid}/checkin/{session_id}")
    assert desk.status_code == 200
    assert 'id="scan-input"' in desk.text and "autofocus" in desk.text
    assert "/static/js/checkin.js" in desk.text
    assert '<span id="count-checked">1</span>' in desk.text
    assert "检录台" in desk.text and "赛事进入" not in desk.text
    chooser = await client.get(f"/org/competitions/{cid}/checkin")
    assert chooser.status_code == 200
    assert f'href="/org/competitions/{cid}/checkin/{session_id}"' in chooser.text
    assert "1 / 1" in chooser.text


async def test_desks_scanning_one_ticket_at_the_same_moment_check_it_in_once(demo_mutable, app):
    cid = demo_mutable.competition_id
    first, second = await _approved(cid), await _approved(cid)
    scans = {e: (await _token(e), await _own_session(e)) for e in (first, second)}
    await _at_checkin(cid)
    async with signed_in(app, "organizer") as desk:
        header = {"x-csrftoken": await csrf_token(desk)}

        async def scan(entry_id: int, nonce: str) -> dict:
            token, session_id = scans[entry_id]
            response = await desk.post(
                "/api/checkin", json=_scan(session_id, token, nonce), headers=header
            )
            assert response.status_code == 200, response.text
            return response.json()

        # Five desks scan the same ticket at once: one check-in, four "already".
        answers = await asyncio.gather(*(scan(first, str(uuid.uuid4())) for _ in range(5)))
        assert sorted(a["outcome"] for a in answers) == ["already"] * 4 + ["checked_in"]
        assert len({a["checked_in_at"] for a in answers}) == 1
        assert await CheckIn.count().where(CheckIn.entry == first) == 1

        # One scan whose retries are in flight together: the same answer, one row.
        nonce = str(uuid.uuid4())
        retries = await asyncio.gather(*(scan(second, nonce) for _ in range(3)))
        assert [r["outcome"] for r in retries] == ["checked_in"] * 3
        assert len({r["checked_in_at"] for r in retries}) == 1
        rows = await CheckIn.select(CheckIn.nonce).where(CheckIn.entry == second)
        assert rows == [{"nonce": nonce}]
    assert await AuditLog.count().where(AuditLog.action == "entry.check_in") == 2


async def test_revoked_wrong_session_other_trade_and_forged_tickets_are_refused_with_reasons(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    revoked = await _approved(cid)
    revoked_token, revoked_session = await _token(revoked), await _own_session(revoked)
    seated = await _approved(cid)
    seated_token, own = await _token(seated), await _own_session(seated)
    trade_id, _xn = await ids(cid, "T001", "XN")
    other_practical = (
        await CompetitionSession.select(CompetitionSession.id, CompetitionSession.name)
        .where(
            (CompetitionSession.trade == trade_id)
            & (CompetitionSession.event == "practical")
            & (CompetitionSession.id != own)
        )
        .first()
    )
    own_name = (
        await CompetitionSession.select(CompetitionSession.name)
        .where(CompetitionSession.id == own)
        .first()
    )["name"]
    electrician_theory = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.code == "T002-TH")
        .first()
    )["id"]
    await review.revoke_entry(cid, revoked, "替考", actor=SYSTEM)
    await _at_checkin(cid)
    await login(client, "organizer")

    async def refused(session_id: int, token: str) -> dict:
        response = await post_json(client, "/api/checkin", _scan(session_id, token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["outcome"] == "refused", body
        return body

    body = await refused(revoked_session, revoked_token)
    assert body["message"] == "该报名已被取消资格：替考"
    assert body["entry_id"] == revoked and body["name"] == "马建华"

    body = await refused(other_practical["id"], seated_token)
    assert body["message"] == f"该选手应参加其他场次：{own_name}。"

    body = await refused(electrician_theory, seated_token)
    assert body["message"] == "该准考证对应“焊工”，不属于本场次。"

    claim = tokens.verify(seated_token)
    forged = tokens.sign(tokens.TicketClaim(cid, claim.entry_id, claim.version, "QH16-T001-9999"))
    prefix, payload, _signature = forged.split(".")
    genuine_signature = seated_token.split(".")[2]
    body = await refused(own, f"{prefix}.{payload}.{genuine_signature}")
    assert body["message"] == "该二维码不是本系统签发的有效准考证。"
    assert body["entry_id"] is None and body["photo_url"] is None
    body = await refused(own, "https://example.com/not-a-ticket")
    assert body["message"] == "该二维码不是本系统签发的有效准考证。"

    missing_nonce = await post_json(
        client, "/api/checkin", {"session_id": own, "token": seated_token, "nonce": "  "}
    )
    assert missing_nonce.status_code == 422
    assert missing_nonce.json()["message"] == "扫码请求缺少随机编号（nonce）。"
    unknown = await post_json(client, "/api/checkin", _scan(999_999, seated_token))
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "未找到该场次。"
    assert await CheckIn.count() == 0


async def test_only_organizers_of_the_competition_scan_and_the_csrf_header_is_required(
    demo_mutable, app, client
):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid)
    token, session_id = await _token(entry_id), await _own_session(entry_id)
    await _at_checkin(cid)
    other = await services.create_competition(
        CompetitionIn(code="QH17", name="青海省第十七届职工职业技能大赛", year=2028), SYSTEM
    )
    await make_user("org-qh17", Role.organizer, competition_id=other)

    anonymous = await client.post(
        "/api/checkin",
        json=_scan(session_id, token),
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert anonymous.status_code == 401

    async with signed_in(app, "xining") as delegation:
        response = await post_json(delegation, "/api/checkin", _scan(session_id, token))
        assert response.status_code == 403
        assert (await delegation.get(f"/org/competitions/{cid}/checkin")).status_code == 403

    async with signed_in(app, "org-qh17", PASSWORD) as elsewhere:
        response = await post_json(elsewhere, "/api/checkin", _scan(session_id, token))
        assert response.status_code == 403
        assert response.json()["message"] == "您不负责该场次的检录。"
        desk = await elsewhere.get(f"/org/competitions/{cid}/checkin/{session_id}")
        assert desk.status_code == 403
        # Their own competition's address does not lead to another competition's session.
        assert (
            await elsewhere.get(f"/org/competitions/{other}/checkin/{session_id}")
        ).status_code == 404

    async with signed_in(app, "organizer") as organizer:
        no_header = await organizer.post("/api/checkin", json=_scan(session_id, token))
        assert no_header.status_code == 403
        assert no_header.json()["code"] == "csrf_failed"
        wrong_header = await organizer.post(
            "/api/checkin", json=_scan(session_id, token), headers={"x-csrftoken": "forged"}
        )
        assert wrong_header.status_code == 403
    assert await CheckIn.count() == 0

    async with signed_in(app, "organizer") as organizer:
        response = await post_json(organizer, "/api/checkin", _scan(session_id, token))
        assert response.json()["outcome"] == "checked_in"
    assert await CheckIn.count() == 1


async def test_before_the_draw_phase_the_pages_say_so_and_scans_are_refused(demo, client):
    cid = demo.competition_id
    await login(client, "organizer")
    chooser = await client.get(f"/org/competitions/{cid}/checkin")
    assert chooser.status_code == 200
    assert "赛事进入“检录与抽签”阶段后才能检录。" in chooser.text
    assert "全部场次" in chooser.text and "理论知识考试" in chooser.text
    session_id = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.code == "T001-P1")
        .first()
    )["id"]
    desk = await client.get(f"/org/competitions/{cid}/checkin/{session_id}")
    assert desk.status_code == 200
    assert "赛事进入“检录与抽签”阶段后才能检录。" in desk.text
    assert "操作技能 第1场" in desk.text and 'id="desk-config"' in desk.text
    scan = await post_json(client, "/api/checkin", _scan(session_id, "JX1.x.y"))
    assert scan.status_code == 200
    assert scan.json()["outcome"] == "refused"
    assert scan.json()["message"] == "赛事进入“检录与抽签”阶段后才能检录。"
    assert (await client.get(f"/org/competitions/{cid}/checkin/999999")).status_code == 404
    assert await CheckIn.count() == 0


async def test_the_scan_endpoint_is_documented_in_the_openapi_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/checkin"]["post"]
    assert operation["tags"] == ["check-in"]
    assert "nonce" in operation["description"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("ScanIn")
    assert not any("/checkin/" in path and "status" in path for path in schema["paths"])
