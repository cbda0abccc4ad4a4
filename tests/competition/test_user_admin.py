"""The organizer's Accounts pages: accounts with scoped roles, granting and revoking roles,
deactivating accounts and resetting passwords, over HTTP on the real stack."""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pytest

from competition import services, structure
from competition.audit import SYSTEM
from competition.schemas import DelegationIn, IndustryIn, TradeIn
from competition.tables import (
    AuditLog,
    Delegation,
    DelegationKind,
    Role,
    RoleGrant,
    Trade,
    User,
    UserSession,
)
from competition.web.templating import format_datetime
from tests.support import PASSWORD, login, make_user, post_form

NEW_PASSWORD = "fresh-start-2027"
ROW_LINK = re.compile(r'<a href="/org/competitions/\d+/users/\d+">([^<]+)</a>')


def users_url(competition_id: int, tail: str = "") -> str:
    return f"/org/competitions/{competition_id}/users{tail}"


async def delegation_id(competition_id: int, code: str) -> int:
    row = (
        await Delegation.select(Delegation.id)
        .where((Delegation.competition == competition_id) & (Delegation.code == code))
        .first()
    )
    return row["id"]


async def trade_id(competition_id: int, code: str) -> int:
    row = (
        await Trade.select(Trade.id)
        .where((Trade.competition == competition_id) & (Trade.code == code))
        .first()
    )
    return row["id"]


async def user_row(username: str) -> dict | None:
    return await User.select().where(User.username == username).first()


async def grants_of(user_id: int) -> list[tuple]:
    rows = (
        await RoleGrant.select(
            RoleGrant.role, RoleGrant.competition, RoleGrant.delegation, RoleGrant.trade
        )
        .where(RoleGrant.user == user_id)
        .order_by(RoleGrant.id)
    )
    return [(r["role"], r["competition"], r["delegation"], r["trade"]) for r in rows]


async def audit_rows(action: str, object_id: int) -> list[dict]:
    return (
        await AuditLog.select()
        .where((AuditLog.action == action) & (AuditLog.object_id == str(object_id)))
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def snapshot() -> tuple:
    """What a refused change must leave exactly as it was."""
    users = await User.select(
        User.id, User.username, User.display_name, User.is_active, User.password_hash
    ).order_by(User.id)
    grants = await RoleGrant.select(
        RoleGrant.id, RoleGrant.user, RoleGrant.role, RoleGrant.delegation, RoleGrant.trade
    ).order_by(RoleGrant.id)
    return users, grants, await AuditLog.count()


def listed(html: str) -> set[str]:
    return set(ROW_LINK.findall(html))


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await post_form(client, "/login", {"username": username, "password": password})


def account_form(**overrides: str) -> dict[str, str]:
    form = {
        "username": "new_person",
        "display_name": "新来的人",
        "phone": "",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "role": "supervisor",
        "delegation": "",
        "trade": "",
    }
    form.update(overrides)
    return form


async def other_competition() -> tuple[int, int, int]:
    """A second competition with a delegation and a trade of its own."""
    cid = await services.create_competition(
        services.CompetitionIn(code="OTHER27", name="另一届大赛", year=2027), SYSTEM
    )
    did = await structure.save_record(
        "delegation",
        cid,
        DelegationIn(code="ZZ", name="外省总工会", kind=DelegationKind.city),
        SYSTEM,
    )
    await structure.save_record("industry", cid, IndustryIn(code="I1", name="外省行业"), SYSTEM)
    tid = await structure.save_record(
        "trade", cid, TradeIn(code="X01", name="外省工种", industry_code="I1"), SYSTEM
    )
    return cid, did, tid


# ---------------------------------------------------------------------------- access


async def test_anonymous_is_sent_to_sign_in(demo, client):
    cid = demo.competition_id
    for path in (users_url(cid), users_url(cid, "/new"), users_url(cid, "/1")):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


async def test_other_roles_and_other_competitions_are_refused(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    await login(client, "judge")
    before = await snapshot()
    assert (await client.get(users_url(cid))).status_code == 403
    response = await post_form(client, users_url(cid, "/new"), account_form())
    assert response.status_code == 403
    assert await snapshot() == before

    # An organizer of another competition reaches that one only.
    other_cid, _, _ = await other_competition()
    await make_user("org_other", Role.organizer, competition_id=other_cid)
    await login(other_client, "org_other", PASSWORD)
    assert (await other_client.get(users_url(other_cid))).status_code == 200
    response = await other_client.get(users_url(cid))
    assert response.status_code == 403
    judge = await user_row("judge")
    assert (await other_client.get(users_url(cid, f"/{judge['id']}"))).status_code == 403


async def test_account_of_another_competition_is_not_found_here(demo_mutable, client):
    cid = demo_mutable.competition_id
    other_cid, _, other_trade = await other_competition()
    uid = await make_user("far_judge", Role.judge, competition_id=other_cid, trade_id=other_trade)
    await login(client, "organizer")
    response = await client.get(users_url(cid, f"/{uid}"))
    assert response.status_code == 404
    assert "该账号在本届大赛中没有任何角色" in response.text
    assert "far_judge" not in listed((await client.get(users_url(cid))).text)


# ---------------------------------------------------------------------------- creating


async def test_new_delegation_admin_signs_in_and_sees_the_delegation(
    demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    haidong = await delegation_id(cid, "HD")
    await login(client, "organizer")
    form = await client.get(users_url(cid, "/new"))
    assert form.status_code == 200
    assert "新建账号" in form.text and "海东市总工会" in form.text

    response = await post_form(
        client,
        users_url(cid, "/new"),
        account_form(
            username="haidong",
            display_name="海东市总工会（韩文斌）",
            phone="13900971002",
            role="delegation_admin",
            delegation=str(haidong),
            # A trade chosen by mistake is ignored: a delegation admin has no trade.
            trade=str(await trade_id(cid, "T001")),
        ),
    )
    assert response.status_code == 303, response.text
    user = await user_row("haidong")
    assert response.headers["location"] == users_url(cid, f"/{user['id']}?done=created")
    assert user["display_name"] == "海东市总工会（韩文斌）"
    assert user["phone"] == "13900971002"
    assert user["is_active"] is True
    assert await grants_of(user["id"]) == [("delegation_admin", cid, haidong, None)]
    [record] = await audit_rows("user.grant.add", user["id"])
    assert record["competition_id"] == cid
    assert record["new"]["role"] == "delegation_admin"
    assert record["new"]["delegation"] == "海东市总工会"

    detail = await client.get(response.headers["location"])
    assert detail.status_code == 200
    assert "海东市总工会（韩文斌）" in detail.text and "13900971002" in detail.text

    signed_in = await login(other_client, "haidong", PASSWORD)
    assert signed_in.headers["location"] == "/delegation"
    home = await other_client.get("/delegation")
    assert home.status_code == 200
    assert "海东市总工会" in home.text
    assert "西宁市总工会" not in home.text


async def test_new_judge_signs_in_and_sees_the_trade(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    electrician = await trade_id(cid, "T002")
    await login(client, "organizer")
    response = await post_form(
        client,
        users_url(cid, "/new"),
        account_form(
            username="judge.t002",
            display_name="电工裁判甲",
            role="judge",
            trade=str(electrician),
        ),
    )
    assert response.status_code == 303, response.text
    user = await user_row("judge.t002")
    assert await grants_of(user["id"]) == [("judge", cid, None, electrician)]

    assert (await login(other_client, "judge.t002", PASSWORD)).headers["location"] == "/judge"
    home = await other_client.get("/judge")
    assert home.status_code == 200
    assert "电工" in home.text and "T002" in home.text
    assert "焊工" not in home.text


@pytest.mark.parametrize(
    ("overrides", "status", "message", "field"),
    [
        ({"username": "judge"}, 409, "用户名 judge 已被占用。", "username"),
        (
            {"username": "张 三"},
            422,
            "用户名须为 3 到 64 个字母、数字或 . _ @ - 字符。",
            "username",
        ),
        ({"username": "ab"}, 422, "用户名须为 3 到 64 个字母、数字或 . _ @ - 字符。", "username"),
        (
            {"password": "short7", "password_confirm": "short7"},
            422,
            "密码至少需要 8 个字符。",
            "password",
        ),
        ({"password_confirm": PASSWORD + "x"}, 422, "两次输入的密码不一致。", "password_confirm"),
        (
            {"password": "iloveyou1", "password_confirm": "iloveyou1"},
            422,
            "这是最常见的密码之一，很容易被猜中，请换一个。",
            "password",
        ),
        (
            {"password": "87654321", "password_confirm": "87654321"},
            422,
            "密码不能是同一个字符的重复、12345678 或 abcdefgh 这样的简单序列，"
            "也不能是一小组字符的重复。",
            "password",
        ),
        (
            {"password": "New_Person-2027", "password_confirm": "New_Person-2027"},
            422,
            "密码不能包含用户名，也不能是用户名的一部分。",
            "password",
        ),
        ({"role": "judge"}, 422, "请选择该裁判执裁的工种。", "trade"),
        ({"role": "chief_judge"}, 422, "请选择该裁判执裁的工种。", "trade"),
        ({"role": "delegation_admin"}, 422, "请选择该管理员所属的推荐单位。", "delegation"),
        ({"role": ""}, 422, "请选择角色。", "role"),
        ({"role": "superuser"}, 422, "请选择角色。", "role"),
        ({"display_name": ""}, 422, "请填写姓名。", "display_name"),
        ({"phone": "call me"}, 422, "请填写 5 到 20 位的电话号码。", "phone"),
    ],
)
async def test_bad_new_account_is_refused_and_the_form_kept(
    demo, client, overrides, status, message, field
):
    cid = demo.competition_id
    await login(client, "organizer")
    before = await snapshot()
    data = account_form(**overrides)
    response = await post_form(client, users_url(cid, "/new"), data)
    assert response.status_code == status
    assert response.text.count(message) >= 1
    assert f'id="f-{field}"' in response.text
    assert re.search(r'class="field has-error[^"]*">\s*<label for="f-' + field, response.text)
    # What was typed comes back, except the passwords.
    if data["username"]:
        assert f'value="{data["username"]}"' in response.text
    if data["display_name"]:
        assert f'value="{data["display_name"]}"' in response.text
    for secret in {data["password"], data["password_confirm"]}:
        assert secret not in response.text
    assert await snapshot() == before


async def test_scope_from_another_competition_is_refused(demo_mutable, client):
    cid = demo_mutable.competition_id
    _, foreign_delegation, foreign_trade = await other_competition()
    await login(client, "organizer")
    before = await snapshot()
    response = await post_form(
        client,
        users_url(cid, "/new"),
        account_form(role="delegation_admin", delegation=str(foreign_delegation)),
    )
    assert response.status_code == 422
    assert "所选推荐单位不属于本届大赛。" in response.text
    assert 'value="new_person"' in response.text
    response = await post_form(
        client, users_url(cid, "/new"), account_form(role="judge", trade=str(foreign_trade))
    )
    assert response.status_code == 422
    assert "所选工种不属于本届大赛。" in response.text
    judge = await user_row("judge")
    response = await post_form(
        client,
        users_url(cid, f"/{judge['id']}/grants"),
        {"role": "chief_judge", "trade": str(foreign_trade)},
    )
    assert response.status_code == 422
    assert "所选工种不属于本届大赛。" in response.text
    assert await snapshot() == before


# ---------------------------------------------------------------------------- the list


async def test_list_filters_search_and_local_sign_in_time(demo, client, other_client):
    cid = demo.competition_id
    await login(other_client, "judge")
    await login(client, "organizer")
    everyone = await client.get(users_url(cid))
    assert everyone.status_code == 200
    assert {"organizer", "xining", "haixi", "judge", "chief", "supervisor"} <= listed(everyone.text)
    assert "全部大赛" in everyone.text  # the demo organizer's role reaches every competition

    async def names(**params: str) -> set[str]:
        response = await client.get(users_url(cid), params=params)
        assert response.status_code == 200
        return listed(response.text)

    assert await names(role="judge") == {"judge", "judge2", "judge3"}
    welder = str(await trade_id(cid, "T001"))
    assert await names(role="chief_judge", trade=welder) == {"chief"}
    assert await names(trade=welder) == {"judge", "judge2", "judge3", "chief"}
    assert await names(delegation=str(await delegation_id(cid, "XN"))) == {"xining"}
    assert await names(q="马建国") == {"judge"}
    assert await names(q="JUDGE") == {"judge", "judge2", "judge3"}
    assert await names(status="inactive") == set()
    assert "没有符合条件的账号。" in (await client.get(users_url(cid), params={"q": "nobody"})).text

    # Last sign-in in the competition's local time (Asia/Shanghai), not UTC.
    signed_in_at = (await user_row("judge"))["last_login_at"]
    if signed_in_at.tzinfo is None:
        signed_in_at = signed_in_at.replace(tzinfo=dt.UTC)
    local = format_datetime(signed_in_at)
    utc = signed_in_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    assert local != utc
    only_judge = await client.get(users_url(cid), params={"q": "马建国"})
    assert local in only_judge.text
    assert utc not in only_judge.text


# ---------------------------------------------------------------------------- changes


async def test_deactivation_ends_sessions_and_blocks_sign_in(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    uid = await make_user(
        "tmp_judge", Role.judge, competition_id=cid, trade_id=await trade_id(cid, "T001")
    )
    await login(other_client, "tmp_judge", PASSWORD)
    assert (await other_client.get("/judge")).status_code == 200
    await login(client, "organizer")

    response = await post_form(client, users_url(cid, f"/{uid}/deactivate"))
    assert response.status_code == 303
    assert response.headers["location"] == users_url(cid, f"/{uid}?done=saved")
    assert (await user_row("tmp_judge"))["is_active"] is False
    assert await UserSession.count().where(UserSession.user == uid) == 0

    after = await other_client.get("/judge")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    refused = await sign_in(other_client, "tmp_judge", PASSWORD)
    assert refused.status_code == 400
    assert await UserSession.count().where(UserSession.user == uid) == 0

    [record] = await audit_rows("user.deactivate", uid)
    assert record["competition_id"] == cid
    assert record["old"]["is_active"] is True
    assert record["new"] == {"is_active": False, "sessions_ended": 1}

    inactive = await client.get(users_url(cid), params={"status": "inactive"})
    assert listed(inactive.text) == {"tmp_judge"}
    detail = await client.get(users_url(cid, f"/{uid}"))
    assert "已停用" in detail.text and "重新启用账号" in detail.text

    response = await post_form(client, users_url(cid, f"/{uid}/reactivate"))
    assert response.status_code == 303
    assert (await user_row("tmp_judge"))["is_active"] is True
    assert len(await audit_rows("user.reactivate", uid)) == 1
    assert (await sign_in(other_client, "tmp_judge", PASSWORD)).status_code == 303
    assert (await other_client.get("/judge")).status_code == 200


async def test_password_reset_ends_sessions_and_leaves_no_secret_in_the_audit(
    demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    response = await post_form(
        client,
        users_url(cid, "/new"),
        account_form(username="reset_me", role="judge", trade=str(await trade_id(cid, "T003"))),
    )
    assert response.status_code == 303
    user = await user_row("reset_me")
    old_hash = user["password_hash"]
    await login(other_client, "reset_me", PASSWORD)

    # Refused first: too short, then mismatched; nothing changes and nothing is echoed.
    before = await snapshot()
    url = users_url(cid, f"/{user['id']}/password")
    short = await post_form(client, url, {"password": "abc1234", "password_confirm": "abc1234"})
    assert short.status_code == 422 and "密码至少需要 8 个字符。" in short.text
    assert "abc1234" not in short.text
    mismatch = await post_form(
        client, url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "!"}
    )
    assert mismatch.status_code == 422 and "两次输入的密码不一致。" in mismatch.text
    assert NEW_PASSWORD not in mismatch.text
    # The account's own username in the new password is refused like everywhere else.
    own_name = await post_form(
        client, url, {"password": "reset_me!!", "password_confirm": "reset_me!!"}
    )
    assert own_name.status_code == 422
    assert "密码不能包含用户名，也不能是用户名的一部分。" in own_name.text
    assert await snapshot() == before
    assert (await other_client.get("/judge")).status_code == 200

    response = await post_form(
        client, url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 303
    new_hash = (await user_row("reset_me"))["password_hash"]
    assert new_hash != old_hash and new_hash.startswith("$argon2")
    kicked = await other_client.get("/judge")
    assert kicked.status_code == 303 and kicked.headers["location"].startswith("/login")
    assert (await sign_in(other_client, "reset_me", PASSWORD)).status_code == 400
    assert (await sign_in(other_client, "reset_me", NEW_PASSWORD)).status_code == 303

    [record] = await audit_rows("user.password_reset", user["id"])
    assert record["competition_id"] == cid
    assert record["new"] == {"sessions_ended": 1}
    everything = await AuditLog.select().output(load_json=True)
    assert everything
    for row in everything:
        text = json.dumps([row["old"], row["new"], row["reason"]], ensure_ascii=False)
        for secret in (old_hash, new_hash, PASSWORD, NEW_PASSWORD, "$argon2"):
            assert secret not in text, row["action"]


async def test_own_password_reset_keeps_this_browser_only(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    me = await user_row("organizer")
    await login(client, "organizer")
    await login(other_client, "organizer")
    response = await post_form(
        client,
        users_url(cid, f"/{me['id']}/password"),
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert (await client.get(users_url(cid))).status_code == 200
    assert (await other_client.get(users_url(cid))).status_code == 303
    assert await UserSession.count().where(UserSession.user == me["id"]) == 1


async def test_roles_are_added_and_removed_on_the_account_page(demo_mutable, client):
    cid = demo_mutable.competition_id
    judge2 = await user_row("judge2")
    electrician = await trade_id(cid, "T002")
    await login(client, "organizer")
    grants_url = users_url(cid, f"/{judge2['id']}/grants")

    response = await post_form(
        client, grants_url, {"role": "chief_judge", "trade": str(electrician), "delegation": ""}
    )
    assert response.status_code == 303
    assert ("chief_judge", cid, None, electrician) in await grants_of(judge2["id"])
    [added] = await audit_rows("user.grant.add", judge2["id"])
    assert added["new"]["role"] == "chief_judge" and added["new"]["trade"] == "电工"
    detail = await client.get(users_url(cid, f"/{judge2['id']}"))
    assert "T002 电工" in detail.text

    before = await snapshot()
    again = await post_form(client, grants_url, {"role": "chief_judge", "trade": str(electrician)})
    assert again.status_code == 409 and "该账号已有此角色。" in again.text
    no_trade = await post_form(client, grants_url, {"role": "judge", "trade": ""})
    assert no_trade.status_code == 422 and "请选择该裁判执裁的工种。" in no_trade.text
    assert re.search(r'<option value="judge"\s+selected', no_trade.text)
    assert await snapshot() == before

    new_grant = (
        await RoleGrant.select(RoleGrant.id)
        .where((RoleGrant.user == judge2["id"]) & (RoleGrant.role == "chief_judge"))
        .first()
    )
    response = await post_form(
        client, users_url(cid, f"/{judge2['id']}/grants/{new_grant['id']}/delete")
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=deleted")
    assert await grants_of(judge2["id"]) == [("judge", cid, None, await trade_id(cid, "T001"))]
    [removed] = await audit_rows("user.grant.remove", judge2["id"])
    assert removed["old"]["role"] == "chief_judge" and removed["competition_id"] == cid

    # The only role left cannot go: the account would drop out of sight with no role at all.
    before = await snapshot()
    only = (await RoleGrant.select(RoleGrant.id).where(RoleGrant.user == judge2["id"]).first())[
        "id"
    ]
    response = await post_form(client, users_url(cid, f"/{judge2['id']}/grants/{only}/delete"))
    assert response.status_code == 409
    assert "这是该账号唯一的角色。" in response.text
    # A role covering every competition is not this competition's to remove.
    supervisor = await user_row("supervisor")
    global_grant = (
        await RoleGrant.select(RoleGrant.id).where(RoleGrant.user == supervisor["id"]).first()
    )["id"]
    response = await post_form(
        client, users_url(cid, f"/{supervisor['id']}/grants/{global_grant}/delete")
    )
    assert response.status_code == 403
    assert "该角色适用于全部大赛，不能在此处移除。" in response.text
    assert await snapshot() == before


async def test_organizer_cannot_lock_themselves_out(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    me = await user_row("organizer")
    await login(client, "organizer")
    before = await snapshot()
    response = await post_form(client, users_url(cid, f"/{me['id']}/deactivate"))
    assert response.status_code == 409
    assert "不能停用您自己的账号。" in response.text
    assert await snapshot() == before

    # An organizer of this competition only, with a second role so only the lock-out rule applies.
    org2 = await make_user("org2", Role.organizer, competition_id=cid)
    await login(other_client, "org2", PASSWORD)
    response = await post_form(
        other_client, users_url(cid, f"/{org2}/grants"), {"role": "supervisor"}
    )
    assert response.status_code == 303
    assert await grants_of(org2) == [
        ("organizer", cid, None, None),
        ("supervisor", cid, None, None),
    ]
    own = (
        await RoleGrant.select(RoleGrant.id)
        .where((RoleGrant.user == org2) & (RoleGrant.role == "organizer"))
        .first()
    )["id"]
    before = await snapshot()
    response = await post_form(other_client, users_url(cid, f"/{org2}/grants/{own}/delete"))
    assert response.status_code == 409
    assert "不能移除您自己在本届大赛中唯一的组委会角色" in response.text
    assert await snapshot() == before
    assert (await other_client.get(users_url(cid))).status_code == 200

    # Nor may an organizer of one competition reach accounts that work beyond it.
    response = await post_form(
        other_client,
        users_url(cid, f"/{me['id']}/password"),
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 403
    assert "只有负责全部大赛的组委会账号才能修改它" in response.text
    response = await post_form(other_client, users_url(cid, f"/{me['id']}/deactivate"))
    assert response.status_code == 403
    assert await snapshot() == before

    # The organizer of all competitions can remove org2's organizer role.
    response = await post_form(client, users_url(cid, f"/{org2}/grants/{own}/delete"))
    assert response.status_code == 303
    assert (await other_client.get(users_url(cid))).status_code == 403


async def test_password_reset_lifts_a_sign_in_lock(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    response = await post_form(
        client,
        users_url(cid, "/new"),
        account_form(username="locked_out", role="judge", trade=str(await trade_id(cid, "T003"))),
    )
    assert response.status_code == 303
    for _ in range(10):
        await sign_in(other_client, "locked_out", "wrong-password")
    assert (await sign_in(other_client, "locked_out", PASSWORD)).status_code == 429
    user = await user_row("locked_out")
    response = await post_form(
        client,
        users_url(cid, f"/{user['id']}/password"),
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert (await sign_in(other_client, "locked_out", NEW_PASSWORD)).status_code == 303
