"""The contestant's pages over real HTTP: sign up, register with a photo, every bad input shown
in Chinese with the typed values kept, follow the review, correct, resubmit and withdraw."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import re

import httpx
import pytest

from competition import services
from competition.audit import SYSTEM
from competition.clock import local_today
from competition.tables import AuditLog, Competition, CompetitionSession, Role, RoleGrant, User
from registration import idcard, review
from registration.photos import MAX_UPLOAD_BYTES
from registration.tables import Entry, Person, Photo
from tests.page_text import text
from tests.registration.helpers import ids, jpeg, new_id
from tests.support import PASSWORD, login, post_form

EMPLOYER = "青海省某某机械有限公司"
_mobiles = itertools.count(13800000001)


async def sign_up(client: httpx.AsyncClient, name: str = "马建华") -> tuple[str, int]:
    """A new contestant account, signed in on `client`; returns (mobile, user id)."""
    mobile = str(next(_mobiles))
    response = await post_form(
        client,
        "/signup",
        {"mobile": mobile, "name": name, "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/me/entries/new"
    user = await User.select(User.id).where(User.username == mobile).first()
    return mobile, user["id"]


async def form(cid: int, trade: str = "T001", delegation: str = "XN", **overrides) -> dict:
    trade_id, delegation_id = await ids(cid, trade, delegation)
    values = {
        "name": "马建华",
        "id_number": new_id(),
        "phone": "13900971234",
        "employer": EMPLOYER,
        "job": "焊工",
        "skill_level": "4",
        "years_of_service": "5",
        "delegation_id": str(delegation_id),
        "trade_id": str(trade_id),
        "group_name": "职工组",
    }
    values.update(overrides)
    return values


def photo_file(content: bytes | None = None, name: str = "photo.jpg") -> dict:
    return {"photo": (name, jpeg() if content is None else content, "image/jpeg")}


async def submit(
    client: httpx.AsyncClient, cid: int, data: dict, files: dict | None = None
) -> httpx.Response:
    return await post_form(
        client,
        f"/me/entries/new?competition={cid}",
        data,
        files=photo_file() if files is None else files,
    )


async def entry_of(user_id: int) -> dict:
    return (
        await Entry.select(Entry.all_columns(), Entry.person.id_number)
        .where(Entry.person.user == user_id)
        .first()
    )


def id_ending_in_x() -> str:
    for sequence in range(1, 1000):
        number = idcard.compose("630102", dt.date(1991, 8, 2), sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives a check character X")


# ---------------------------------------------------------------------------- sign-up


async def test_sign_up_then_register_with_a_photo(demo_mutable, client):
    cid = demo_mutable.competition_id
    mobile, user_id = await sign_up(client)
    grants = await RoleGrant.select().where(RoleGrant.user == user_id)
    assert [(g["role"], g["competition"]) for g in grants] == [(Role.contestant.value, None)]

    page = await client.get("/me/entries/new")
    assert page.status_code == 200
    assert 'value="马建华"' in page.text and f'value="{mobile}"' in page.text
    assert "焊工" in page.text and 'capture="user"' in page.text
    assert 'enctype="multipart/form-data"' in page.text

    data = await form(cid, phone=mobile)
    response = await submit(client, cid, data)
    assert response.status_code == 303, response.text
    entry = await entry_of(user_id)
    assert response.headers["location"] == f"/me/entries?done=submitted&entry={entry['id']}"
    confirmation = await client.get(response.headers["location"])
    assert "已提交“焊工”的报名，等待初审" in confirmation.text
    assert entry["status"] == "submitted" and entry["source"] == "self"
    assert entry["person.id_number"] == data["id_number"]
    person = await Person.select().where(Person.user == user_id).first()
    assert person["gender"] == "male" and person["birth_date"] == dt.date(1990, 5, 17)
    photo = await Photo.select().where(Photo.person == person["id"]).first()
    assert photo["content"][:2] == b"\xff\xd8" and photo["mime"] == "image/jpeg"
    assert await AuditLog.exists().where(
        (AuditLog.action == "entry.create") & (AuditLog.object_id == str(entry["id"]))
    )

    status = await client.get("/me/entries")
    assert status.status_code == 200
    text = status.text
    assert "焊工" in text and "待初审" in text and "西宁市总工会" in text
    assert "男" in text and "1990-05-17" in text
    assert idcard.mask(data["id_number"]) in text and data["id_number"] not in text
    assert f"/photos/entries/{entry['id']}.jpg" in text
    assert f"/me/entries/{entry['id']}/ticket.pdf" not in text


async def test_sign_up_refuses_a_taken_number_and_bad_input(demo_mutable, client, other_client):
    mobile, _user_id = await sign_up(client)
    taken = await post_form(
        other_client,
        "/signup",
        {"mobile": mobile, "name": "李四", "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert taken.status_code == 409
    assert "该手机号已注册账号，请直接登录" in taken.text and 'value="李四"' in taken.text
    assert await User.count().where(User.username == mobile) == 1

    bad = await post_form(
        other_client,
        "/signup",
        {"mobile": "2380000", "name": "", "password": "short", "password_confirmation": "short"},
    )
    assert bad.status_code == 422
    assert "请输入以 1 开头的 11 位手机号码" in bad.text
    assert "请填写姓名（最多 50 个字）" in bad.text
    assert "密码至少需要 8 个字符" in bad.text
    assert 'value="2380000"' in bad.text

    mismatch = await post_form(
        other_client,
        "/signup",
        {
            "mobile": "138 0000 9999",
            "name": "李四",
            "password": PASSWORD,
            "password_confirmation": PASSWORD + "x",
        },
    )
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.text
    assert not await User.exists().where(User.username == "13800009999")

    # Full-width digits and spaces are what a phone keyboard may give.
    ok = await post_form(
        other_client,
        "/signup",
        {
            "mobile": "１３８ ０００９ ９９９９",
            "name": "李四",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    assert ok.status_code == 303
    assert await User.exists().where(User.username == "13800099999")
    assert await AuditLog.exists().where(
        (AuditLog.action == "user.create") & (AuditLog.actor_name == "signup:13800099999")
    )


# ---------------------------------------------------------------------------- bad input


async def test_each_bad_input_is_explained_in_chinese_and_the_typed_values_stay(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    good = new_id()
    typed = new_id()
    wrong_check = typed[:17] + ("0" if typed[17] != "0" else "1")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    oversized = b"\xff\xd8\xff\xe0" + b"\0" * MAX_UPLOAD_BYTES
    cases = [
        (await form(cid, id_number=wrong_check), None, ["身份证号校验位错误", wrong_check]),
        (await form(cid, id_number=typed[:15]), None, ["不再接受 15 位旧身份证号"]),
        (
            await form(cid, "T003", skill_level="", years_of_service="0", group_name=""),
            None,
            ["不符合“装配钳工”的参赛条件", "职业技能等级须达到", "工龄须满 1 年（实际 0 年）"],
        ),
        (
            await form(cid, "T002", id_number=new_id(dt.date(2010, 9, 1)), years_of_service="0"),
            None,
            ["不符合“电工”的参赛条件", "须在 2027-04-19 时年满 18 周岁（实际 16 周岁）"],
        ),
        (
            await form(cid, id_number=good),
            photo_file(pdf),
            ["该文件不是 JPEG、PNG 或 WebP 格式的照片"],
        ),
        (await form(cid, id_number=good), photo_file(oversized), ["照片超过 5 MB"]),
        (await form(cid, id_number=good), photo_file(jpeg(50, 50)), ["照片至少需要 150×200 像素"]),
        (await form(cid, id_number=good), {}, ["请选择要上传的照片"]),
        (
            await form(cid, id_number=good, employer="", group_name="", years_of_service="abc"),
            None,
            # The photo was fine: it comes back kept, with its preview, not to be chosen again.
            [
                "请填写工作单位",
                "请选择组别：职工组、学生组",
                "请输入整数",
                'id="kept-photo"',
                "3 项",
            ],
        ),
    ]
    for data, files, messages in cases:
        response = await submit(client, cid, data, files)
        assert response.status_code == 422, response.text  # every one is bad input
        for message in messages:
            assert message in response.text, (message, data)
        # What was typed is still there (the name, the employer unless it was the fault).
        assert 'value="马建华"' in response.text
        if data["employer"]:
            assert f'value="{EMPLOYER}"' in response.text
        assert f'value="{data["id_number"]}"' in response.text
    assert not await Person.exists().where(Person.user == user_id)
    assert not await Person.exists().where(Person.id_number.is_in([good, typed, wrong_check]))


async def test_a_lowercase_x_is_accepted(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    number = id_ending_in_x()
    response = await submit(client, cid, await form(cid, id_number=number.lower()))
    assert response.status_code == 303, response.text
    assert (await entry_of(user_id))["person.id_number"] == number


async def test_the_same_trade_twice_and_a_trade_over_the_limit_are_refused(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    assert (await submit(client, cid, await form(cid))).status_code == 303

    # The competition allows one trade: another registration is not offered, and says why.
    status = await client.get("/me/entries")
    assert "/me/entries/new" not in status.text and 'id="no-more-trades"' in status.text
    page = await client.get(f"/me/entries/new?competition={cid}")
    assert page.status_code == 409 and "f-trade_id" not in page.text
    assert "您已报名本届赛事允许的全部工种（1 个）" in page.text
    second = await submit(client, cid, await form(cid, "T002"), {})
    assert second.status_code == 409 and "您已报名本届赛事允许的全部工种（1 个）" in second.text

    # With two trades allowed the form comes back: the person is on record with a photo, so
    # the ID number is fixed and the photo optional; the same trade twice is refused.
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    page = await client.get(f"/me/entries/new?competition={cid}")
    assert page.status_code == 200
    assert "f-id_number" not in page.text and "不能在此修改" in page.text
    again = await submit(client, cid, await form(cid, employer="另一家公司"), {})
    assert again.status_code == 409
    assert "此人已报名“焊工”" in again.text and 'value="另一家公司"' in again.text
    assert await Entry.count().where(Entry.person.user == user_id) == 1


# ---------------------------------------------------------------------------- the review


async def test_a_returned_entry_shows_its_reason_and_can_be_resubmitted(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    data = await form(cid)
    assert (await submit(client, cid, data)).status_code == 303
    entry = await entry_of(user_id)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(
        cid, xn, [entry["id"]], False, actor=SYSTEM, reason="工作单位名称不完整"
    )

    status = await client.get("/me/entries")
    assert "已退回" in status.text and "工作单位名称不完整" in status.text
    assert "推荐单位退回" in status.text
    assert f"/me/entries/{entry['id']}/edit" in status.text and "修改后重新提交" in status.text

    edit = await client.get(f"/me/entries/{entry['id']}/edit")
    assert edit.status_code == 200
    assert f'value="{EMPLOYER}"' in edit.text and idcard.mask(data["id_number"]) in edit.text
    assert "工作单位名称不完整" in edit.text

    # A broken correction comes back with the message; nothing changes.
    broken = await post_form(
        client, f"/me/entries/{entry['id']}/edit", {**data, "phone": "12"}, files={}
    )
    assert broken.status_code == 422 and "请输入 11 位手机号码" in broken.text
    assert (await entry_of(user_id))["status"] == "rejected"

    # The ID number typed into a forged form is ignored: it is never taken from the form.
    fixed = {**data, "employer": "青海省某某机械有限公司第二分厂", "id_number": new_id()}
    response = await post_form(client, f"/me/entries/{entry['id']}/edit", fixed, files={})
    assert response.status_code == 303, response.text
    after = await entry_of(user_id)
    assert after["status"] == "submitted" and after["review_note"] == ""
    assert after["person.id_number"] == data["id_number"]
    person = await Person.select().where(Person.user == user_id).first()
    assert person["employer"] == "青海省某某机械有限公司第二分厂"
    record = (
        await AuditLog.select()
        .where((AuditLog.action == "entry.update") & (AuditLog.object_id == str(entry["id"])))
        .first()
    )
    assert record["reason"] == "resubmitted"
    assert "待初审" in (await client.get("/me/entries")).text


async def test_correcting_an_approved_entry_reissues_the_ticket_or_sends_it_back(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    data = await form(cid)
    assert (await submit(client, cid, data)).status_code == 303
    entry = await entry_of(user_id)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry["id"]], True, actor=SYSTEM)
    assert "待终审" in (await client.get("/me/entries")).text
    await review.review_by_organizer(cid, [entry["id"]], True, actor=SYSTEM)

    status = await client.get("/me/entries")
    approved = await entry_of(user_id)
    assert f"已通过终审，准考证号 {approved['ticket_number']}" in status.text
    assert f"/me/entries/{entry['id']}/ticket.pdf" in status.text
    # The links lead somewhere real: the ticket and the photo of one's own entry.
    ticket = await client.get(f"/me/entries/{entry['id']}/ticket.pdf")
    assert ticket.status_code == 200 and ticket.content.startswith(b"%PDF")
    picture = await client.get(f"/photos/entries/{entry['id']}.jpg")
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    # Withdrawing an admitted entry is not offered, and the page says why.
    assert f"/me/entries/{entry['id']}/withdraw" not in status.text
    assert "已录取的报名不能在此撤回" in status.text

    # A new photo and another job: the ticket is reissued, the entry stays approved.
    edit = await client.get(f"/me/entries/{entry['id']}/edit")
    assert 'id="change-rules"' in edit.text and "重新进入审核" in edit.text
    old_photo = await Photo.select(Photo.sha256).where(Photo.person.user == user_id).first()
    response = await post_form(
        client,
        f"/me/entries/{entry['id']}/edit",
        {**data, "job": "焊接工"},
        files=photo_file(jpeg(color=(20, 90, 200))),
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/me/entries?done=reissued&entry={entry['id']}")
    after = await entry_of(user_id)
    assert after["status"] == "approved" and after["session"] == approved["session"]
    assert after["ticket_version"] == approved["ticket_version"] + 1
    assert after["ticket_number"] == approved["ticket_number"]
    new_photo = await Photo.select(Photo.sha256).where(Photo.person.user == user_id).first()
    assert new_photo["sha256"] != old_photo["sha256"]
    notice = await client.get(response.headers["location"])
    assert "准考证已重新签发" in notice.text

    # Another skill level: eligibility is judged again, so the entry goes back to review.
    response = await post_form(
        client, f"/me/entries/{entry['id']}/edit", {**data, "skill_level": "3"}, files={}
    )
    assert response.status_code == 303, response.text
    assert "done=back_to_review" in response.headers["location"]
    back = await entry_of(user_id)
    assert back["status"] == "submitted" and back["session"] is None
    assert back["ticket_version"] == after["ticket_version"] + 1
    status = await client.get("/me/entries")
    assert 'data-explain="back_to_review"' in status.text
    assert "重新进入审核" in status.text and "旧准考证已失效" in status.text
    assert f"/me/entries/{entry['id']}/ticket.pdf" not in status.text


async def test_a_revoked_entry_shows_the_reason_and_cannot_be_changed(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    data = await form(cid)
    assert (await submit(client, cid, data)).status_code == 303
    entry = await entry_of(user_id)
    await review.revoke_entry(cid, entry["id"], "冒名顶替", actor=SYSTEM)
    status = await client.get("/me/entries")
    assert "已取消资格" in status.text and "冒名顶替" in status.text
    assert f"/me/entries/{entry['id']}/edit" not in status.text
    refused = await post_form(client, f"/me/entries/{entry['id']}/edit", data, files={})
    assert refused.status_code == 409 and "该报名已被取消资格，不能修改" in refused.text


async def test_withdrawing_removes_the_entry(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    assert (await submit(client, cid, await form(cid))).status_code == 303
    entry = await entry_of(user_id)
    status = await client.get("/me/entries")
    assert "data-confirm=" in status.text and f"/me/entries/{entry['id']}/withdraw" in status.text
    response = await post_form(client, f"/me/entries/{entry['id']}/withdraw")
    assert response.status_code == 303
    assert response.headers["location"] == "/me/entries?done=withdrawn"
    assert "您的报名已撤回" in (await client.get(response.headers["location"])).text
    assert not await Entry.exists().where(Entry.id == entry["id"])
    assert await AuditLog.exists().where(
        (AuditLog.action == "entry.withdraw") & (AuditLog.object_id == str(entry["id"]))
    )


async def test_registration_closed_is_explained(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    await services.advance_phase(cid, "review", SYSTEM)
    page = await client.get(f"/me/entries/new?competition={cid}")
    assert page.status_code == 409 and "不能进行“报名”" in page.text
    refused = await submit(client, cid, await form(cid))
    assert refused.status_code == 409
    assert not await Entry.exists().where(Entry.person.user == user_id)
    # With no competition open the status page offers none.
    status = await client.get("/me/entries")
    assert "目前没有开放报名的赛事" in status.text


async def test_the_deadline_is_shown_and_after_it_no_registration_is_offered(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    today = local_today()
    await Competition.update({Competition.registration_closes_on: today}).where(
        Competition.id == cid
    )
    status = await client.get("/me/entries")
    assert "报名截止日期：" + today.isoformat() in text(status.text)
    assert 'href="/me/entries/new"' in status.text
    yesterday = today - dt.timedelta(days=1)
    await Competition.update({Competition.registration_closes_on: yesterday}).where(
        Competition.id == cid
    )
    status = await client.get("/me/entries")
    assert 'href="/me/entries/new"' not in status.text and "目前没有开放报名的赛事" in status.text
    page = await client.get(f"/me/entries/new?competition={cid}")
    assert page.status_code == 409
    assert f"报名已于 {yesterday.isoformat()} 截止" in text(page.text)
    refused = await submit(client, cid, await form(cid))
    assert refused.status_code == 409
    assert not await Entry.exists().where(Entry.person.user == user_id)


async def test_an_empty_list_offers_the_big_register_button(demo_mutable, client):
    await sign_up(client)
    status = await client.get("/me/entries")
    assert status.status_code == 200
    assert "您还没有报名任何工种" in status.text
    assert re.search(r'class="btn btn-primary btn-big" href="/me/entries/new"', status.text)
    competition = await Competition.select(Competition.name).first()
    assert competition["name"] in status.text


# ---------------------------------------------------------------------------- who may


async def test_another_contestant_cannot_touch_my_entry(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    data = await form(cid)
    assert (await submit(client, cid, data)).status_code == 303
    entry = await entry_of(user_id)
    await sign_up(other_client, "李四")
    assert (await other_client.get(f"/me/entries/{entry['id']}/edit")).status_code == 403
    edit = await post_form(
        other_client, f"/me/entries/{entry['id']}/edit", {**data, "job": "x"}, files={}
    )
    assert edit.status_code == 403
    withdraw = await post_form(other_client, f"/me/entries/{entry['id']}/withdraw")
    assert withdraw.status_code == 403
    assert (await entry_of(user_id))["status"] == "submitted"
    assert "您还没有报名任何工种" in (await other_client.get("/me/entries")).text
    missing = await other_client.get("/me/entries/999999/edit")
    assert missing.status_code == 404


async def test_anonymous_visitors_are_sent_to_sign_in(demo, client):
    for path in ("/me/entries", "/me/entries/new", "/me/entries/1/edit"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fme%2Fentries")
    signup = await client.get("/signup")
    assert signup.status_code == 200 and "创建参赛选手账号" in signup.text


@pytest.mark.parametrize("username", ["xining", "organizer"])
async def test_other_roles_are_refused_on_contestant_pages(demo, client, username):
    await login(client, username)
    for path in ("/me/entries", "/me/entries/new", "/me/entries/1/edit"):
        assert (await client.get(path)).status_code == 403
    assert (await post_form(client, "/me/entries/1/withdraw")).status_code == 403


async def test_one_address_cannot_sign_up_without_end(demo_mutable, client):
    """Every sign-up costs an argon2 hash: an address gets SIGN_UPS_PER_ADDRESS a window."""
    from registration.accounts import SIGN_UPS_PER_ADDRESS

    for _ in range(SIGN_UPS_PER_ADDRESS - 1):
        await sign_up(client)
        client.cookies.delete("jx_session")
    mobile = str(next(_mobiles))
    refused = await post_form(
        client,
        "/signup",
        {
            "mobile": mobile,
            "name": "马建华",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    assert refused.status_code == 429 and "尝试次数过多" in refused.text
    assert not await User.exists().where(User.username == mobile)


# ---------------------------------------------------------------------------- issue 11


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def test_a_failed_submit_keeps_the_photo_for_the_next_one(demo_mutable, client, app):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    data = await form(cid)
    chosen = jpeg(color=(30, 120, 60))
    failed = await submit(client, cid, {**data, "employer": ""}, photo_file(chosen))
    assert failed.status_code == 422 and "请填写工作单位" in failed.text
    assert 'id="kept-photo"' in failed.text and 'src="data:image/jpeg;base64,' in failed.text
    assert "请重新选择照片" not in failed.text
    kept = {
        "kept_photo": _hidden(failed.text, "kept_photo"),
        "kept_photo_token": _hidden(failed.text, "kept_photo_token"),
    }
    # A kept photo that was tampered with is not taken: the form asks for a photo again.
    forged = {**kept, "kept_photo": kept["kept_photo"][:-8] + "AAAAAAA="}
    again = await submit(client, cid, {**data, **forged}, {})
    assert again.status_code == 422 and "请选择要上传的照片" in again.text
    # The kept one, sent back without choosing a file, is the photo stored.
    response = await submit(client, cid, {**data, **kept}, {})
    assert response.status_code == 303, response.text
    stored = await Photo.select(Photo.content).where(Photo.person.user == user_id).first()
    assert stored["content"] == base64.b64decode(kept["kept_photo"])
    # Another account cannot use it.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        await sign_up(other, "王小明")
        stolen = await submit(other, cid, {**await form(cid), **kept}, {})
        assert stolen.status_code == 422 and "请选择要上传的照片" in stolen.text


async def test_every_session_is_listed_with_time_and_venue(demo_mutable, client):
    cid = demo_mutable.competition_id
    _mobile, user_id = await sign_up(client)
    assert (await submit(client, cid, await form(cid))).status_code == 303
    entry = await entry_of(user_id)
    page = (await client.get("/me/entries")).text
    sessions = page[page.index(f'data-sessions="{entry["id"]}"') :]
    sessions = sessions[: sessions.index("</ul>")]
    assert "理论" in sessions and "理论知识考试" in sessions
    assert "2027-04-19 14:00–15:30" in sessions and "青海高等职业技术学院" in sessions
    assert "操作技能 第1场" in sessions and "操作技能 第2场" in sessions
    assert "终审通过时确定" in sessions

    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry["id"]], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry["id"]], True, actor=SYSTEM)
    approved = await entry_of(user_id)
    page = (await client.get("/me/entries")).text
    sessions = page[page.index(f'data-sessions="{entry["id"]}"') :]
    sessions = sessions[: sessions.index("</ul>")]
    assert sessions.count('data-event="practical"') == 1
    assert sessions.count('data-event="theory"') == 1 and "终审通过时确定" not in sessions
    own = await CompetitionSession.select(CompetitionSession.name).where(
        CompetitionSession.id == approved["session"]
    )
    assert own[0]["name"] in sessions


async def test_the_english_page_names_the_trade_in_english(demo_mutable, client):
    cid = demo_mutable.competition_id
    await sign_up(client)
    assert (await submit(client, cid, await form(cid))).status_code == 303
    await client.get("/lang/en")
    page = (await client.get("/me/entries")).text
    assert "<h2>Welder · 职工组</h2>" in page
    new = (await client.get(f"/me/entries/new?competition={cid}")).text
    assert ">Welder</option>" not in new  # one trade allowed: no form, but a reason
    assert "You have already entered as many trades as this competition allows (1)." in new
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    new = (await client.get(f"/me/entries/new?competition={cid}")).text
    assert ">Welder</option>" in new
