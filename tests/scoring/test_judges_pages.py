"""The judge register (裁判库) and panels (裁判组) through the organizer's pages: the form, the
xlsx import with bad files, one chief judge a trade, the stage guard, recusal on the assignment
page and its shortfall warning, and the demo's panels."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook

from competition.stages import Stage
from competition.tables import AuditLog, Delegation, Role, RoleGrant, Trade, User
from registration.tables import Entry, EntryStatus
from scoring.demo.panels import load_demo_panels
from scoring.panels import assignment
from scoring.tables import (
    Aspect,
    Criterion,
    Judge,
    MarkingScheme,
    PanelMember,
    SessionJudge,
)
from tests.support import csrf_token, login, post_form

GOOD_ID = "630102199001011235"  # a valid resident ID (check digit 5)


def judges_url(cid: int, rest: str = "") -> str:
    return f"/org/competitions/{cid}/judges{rest}"


def panel_url(cid: int, trade_id: int) -> str:
    return f"/org/competitions/{cid}/panels/{trade_id}"


async def trade_id(cid: int, code: str) -> int:
    row = await Trade.select(Trade.id).where((Trade.competition == cid) & (Trade.code == code))
    return row[0]["id"]


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def snapshot() -> tuple[int, int, int, int, int]:
    return (
        await Judge.count(),
        await PanelMember.count(),
        await SessionJudge.count(),
        await User.count(),
        await RoleGrant.count(),
    )


async def new_judge(client, cid: int, **fields) -> tuple[int, str]:
    response = await post_form(client, judges_url(cid, "/new"), {"qualification": "provincial",
                                                                 **fields})  # fmt: skip
    assert response.status_code == 201, response.text
    judge = await Judge.select(Judge.id).where(Judge.name == fields["name"]).first()
    return judge["id"], response.text


# ---------------------------------------------------------------------------- the form


async def test_a_judge_by_the_form_gets_an_account_shown_once_and_signs_in(
    client, other_client, demo_mutable
):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    xn = (await Delegation.select(Delegation.id).where(Delegation.code == "XN").first())["id"]
    judge_id, page = await new_judge(
        client, cid, name="白玉兰", employer="青海盐湖工业股份有限公司", delegation=str(xn),
        phone="13800001111", id_number=GOOD_ID,
    )  # fmt: skip
    username = re.search(r"用户名: <strong>([^<]+)</strong>", page).group(1)
    password = re.search(r'初始密码: <strong class="mono"[^>]*>([^<]+)</strong>', page).group(1)
    assert "密码仅在此显示一次" in page
    row = await Judge.select().where(Judge.id == judge_id).first()
    assert row["employer_key"] == "青海盐湖工业" and row["id_number"] == GOOD_ID
    user = await User.select(User.id).where(User.username == username).first()
    grants = await RoleGrant.select(RoleGrant.role, RoleGrant.competition, RoleGrant.trade).where(
        RoleGrant.user == user["id"]
    )
    assert grants == [{"role": "judge", "competition": cid, "trade": None}]
    # Neither the password nor the ID number reaches the audit trail.
    audit = str(await AuditLog.select(AuditLog.new).where(AuditLog.object_type == "judge"))
    assert password not in audit and GOOD_ID not in audit

    trail = await client.get(f"/supervisor/audit?competition={cid}")
    assert trail.status_code == 200 and "裁判员加入裁判库" in trail.text
    assert GOOD_ID not in trail.text and "13800001111" not in trail.text
    account = await client.get(f"/org/competitions/{cid}/users/{user['id']}")
    assert account.status_code == 200 and username in account.text

    listing = (await client.get(judges_url(cid, "?q=白玉"))).text
    assert "白玉兰" in listing and GOOD_ID not in listing and "6301**********1235" in listing

    assert (await login(other_client, username, password)).headers["location"] == "/judge"
    home = await other_client.get("/judge")
    assert home.status_code == 200 and "您尚未被分配执裁工种" in home.text

    # The same ID number again: 409, nothing added; a bad one: 422 next to the field.
    before = await snapshot()
    again = await post_form(client, judges_url(cid, "/new"), {
        "name": "白玉兰", "qualification": "national", "id_number": GOOD_ID})  # fmt: skip
    assert again.status_code == 409 and "裁判库中已有该身份证号的裁判员" in again.text
    wrong = {"name": "黑玉兰", "qualification": "national", "id_number": "630102199001011236"}
    bad = await post_form(client, judges_url(cid, "/new"), wrong)
    assert bad.status_code == 422 and "field-error" in bad.text
    assert await snapshot() == before

    # Editing keeps the ID on record when the field is left empty, and shows it masked.
    edit = await client.get(judges_url(cid, f"/{judge_id}"))
    assert "6301**********1235" in edit.text and GOOD_ID not in edit.text
    changed = {"name": "白玉兰", "employer": "西部矿业集团有限公司", "qualification": "national"}
    saved = await post_form(client, judges_url(cid, f"/{judge_id}"), changed)
    assert saved.status_code == 303
    row = await Judge.select().where(Judge.id == judge_id).first()
    assert (row["employer_key"], row["id_number"], row["qualification"]) == (
        "西部矿业",
        GOOD_ID,
        "national",
    )


# ---------------------------------------------------------------------------- the import


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = ["姓名", "工作单位", "推荐单位", "裁判资格", "手机号", "身份证号", "执裁工种", "裁判长",
          "用户名"]  # fmt: skip


async def upload(client, cid: int, data: bytes, action: str):
    token = await csrf_token(client)
    return await client.post(
        judges_url(cid, "/import"),
        data={"action": action, "_csrf_token": token},
        files={"file": ("judges.xlsx", data, "application/octet-stream")},
    )


async def test_the_template_reads_back_with_every_column(client, demo):
    await login(client, "organizer")
    response = await client.get(judges_url(demo.competition_id, "/template"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == HEADER


async def test_a_bad_judge_file_is_reported_row_by_row_and_stores_nothing(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    data = xlsx([
        HEADER,
        ["赵一", "青海大学", "XN", "国家级", "13800000001", GOOD_ID, "T001", "否", ""],
        ["钱二", "青海大学", "XN", "省级", "", "", "T999", "", ""],  # unknown trade
        ["孙三", "青海大学", "", "省级", "", "630102199001011236", "T002", "", ""],  # bad ID
        ["李四", "青海大学", "", "市级", "", GOOD_ID, "T002", "", ""],  # same ID as row 2
        ["周五", "=HYPERLINK(\"http://x\")", "", "省级", "", "", "T002", "", ""],  # formula
        ["吴六", "", "", "一级", "", "", "T002", "是", ""],  # bad qualification
        ["郑七", "", "", "省级", "", "", "T001", "是", ""],  # T001 already has a chief? no: first
        ["王八", "", "", "省级", "", "", "T001", "是", ""],  # a second chief in the file
    ])  # fmt: skip
    before = await snapshot()
    response = await upload(client, cid, data, "commit")
    assert response.status_code == 422
    page = text(main(response.text))
    assert "没有代码为 T999 的工种" in page or "T999" in page
    for expected in ("T999", "该身份证号在文件前面的行中已出现", "第 8 行已指定该工种的裁判长",
                     "裁判资格须为国家级、省级、市级或行业专家"):  # fmt: skip
        assert expected in page, expected
    assert await snapshot() == before

    report = await upload(client, cid, data, "report")
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(report.content))
    problems = book.worksheets[0]
    codes_rows = {r[1] for r in problems.iter_rows(min_row=2, values_only=True)}
    assert {3, 4, 5, 6, 7, 9} <= codes_rows
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert rows[0][-1] == "错误" and rows[1][-1] is None and "T999" in rows[2][-1]
    # The formula comes back as text, never as a live formula.
    assert rows[5][1].startswith("'=") or rows[5][1].startswith("=")
    assert book.worksheets[1].cell(6, 2).data_type != "f"
    assert await snapshot() == before


async def test_a_good_judge_file_links_demo_accounts_and_fills_the_panel(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    data = xlsx([
        ["裁判名单"],  # a title row above the header is passed over
        HEADER,
        ["马建国", "青海重型机床有限责任公司", "JXYJ", "省级", "", "", "T001", "否", "judge"],
        ["王志刚", "青海送变电工程有限公司", "国网青海省电力公司工会", "国家级", "", GOOD_ID,
         "T001", "是", "chief"],
        ["冯九", "青海大学", "XN", "行业专家", "13900000009", "", "T001、T002", "", ""],
    ])  # fmt: skip
    check = await upload(client, cid, data, "check")
    assert check.status_code == 200 and "没有问题" in check.text
    assert await Judge.count() == 0
    response = await upload(client, cid, data, "commit")
    assert response.status_code == 200, response.text
    assert "新建账号 1 个，关联现有账号 2 个，裁判组席位 4 个" in text(response.text)
    welder = await trade_id(cid, "T001")
    members = await PanelMember.select(PanelMember.judge.name, PanelMember.is_chief).where(
        PanelMember.trade == welder
    )
    assert sorted((m["judge.name"], m["is_chief"]) for m in members) == [
        ("冯九", False),
        ("王志刚", True),
        ("马建国", False),
    ]
    # Grants follow: the chief's trade grant once (the demo account held it already), a judge
    # grant reaching the competition for everyone.
    chief_id = (await User.select(User.id).where(User.username == "chief").first())["id"]
    chief_grants = await RoleGrant.count().where(
        (RoleGrant.user == chief_id) & (RoleGrant.role == Role.chief_judge.value)
        & (RoleGrant.trade == welder)
    )  # fmt: skip
    assert chief_grants == 1
    for name in ("冯九", "王志刚", "马建国"):
        user = (await Judge.select(Judge.user).where(Judge.name == name).first())["user"]
        assert await RoleGrant.exists().where(
            (RoleGrant.user == user) & (RoleGrant.role == Role.judge.value)
            & (RoleGrant.competition == cid)
        ), name  # fmt: skip
    assert await AuditLog.count().where(AuditLog.action == "judge.create") == 3
    # Practical sessions of the trade, not the theory exam.
    feng = (await Judge.select(Judge.id).where(Judge.name == "冯九").first())["id"]
    sessions = await SessionJudge.select(SessionJudge.session.code).where(
        SessionJudge.judge == feng
    )
    assert sorted(s["session.code"] for s in sessions) == [
        "T001-P1",
        "T001-P2",
        "T002-P1",
        "T002-P2",
    ]
    # The imported account signs in by badge only: no password matches it.
    user = await User.select(User.password_hash).where(User.display_name == "冯九").first()
    assert user["password_hash"] == "!badge-only"
    # The same file again: every row is now a duplicate, nothing changes.
    before = await snapshot()
    again = await upload(client, cid, data, "commit")
    assert again.status_code == 422 and "已是本届大赛的裁判员" in again.text
    assert await snapshot() == before


# ---------------------------------------------------------------------------- panels


async def _register(cid: int, *people: tuple[str, str, int | None]) -> list[int]:
    from competition.audit import SYSTEM
    from competition.db import transaction
    from scoring.panels import register
    from scoring.panels.register import JudgeIn

    ids = []
    async with transaction():
        for n, (name, employer, delegation) in enumerate(people):
            created = await register.add_judge_in_transaction(
                cid,
                JudgeIn(name=name, employer=employer, delegation_id=delegation,
                        username=f"test-judge-{n}-{abs(hash(name)) % 10000}"),
                actor=SYSTEM, password_hash=None,
            )  # fmt: skip
            ids.append(created.judge_id)
    return ids


async def test_one_chief_judge_a_trade_and_no_change_once_competing(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    welder = await trade_id(cid, "T001")
    first, second = await _register(cid, ("甲裁判", "", None), ("乙裁判", "", None))
    for judge, chief in ((first, "1"), (second, "")):
        form = {"action": "add", "judge": judge, "chief": chief}
        added = await post_form(client, panel_url(cid, welder), form)
        assert added.status_code == 303
    before = await snapshot()
    refused = await post_form(client, panel_url(cid, welder), {"action": "chief", "judge": second})
    assert refused.status_code == 409
    assert "本工种已有裁判长甲裁判" in refused.text
    assert await snapshot() == before
    chief_user = (await Judge.select(Judge.user).where(Judge.id == first).first())["user"]
    assert await RoleGrant.exists().where(
        (RoleGrant.user == chief_user) & (RoleGrant.role == Role.chief_judge.value)
        & (RoleGrant.trade == welder)
    )  # fmt: skip

    # Taking the chief off removes the grant; then the other one may become chief.
    assert (await post_form(client, panel_url(cid, welder),
                            {"action": "unchief", "judge": first})).status_code == 303  # fmt: skip
    assert not await RoleGrant.exists().where(
        (RoleGrant.user == chief_user) & (RoleGrant.role == Role.chief_judge.value)
    )
    assert (await post_form(client, panel_url(cid, welder),
                            {"action": "chief", "judge": second})).status_code == 303  # fmt: skip

    await Trade.update({Trade.stage: Stage.competing.value}).where(Trade.id == welder)
    before = await snapshot()
    late = await post_form(client, panel_url(cid, welder), {"action": "remove", "judge": second})
    assert late.status_code == 409 and "调整裁判组" in late.text
    assert await snapshot() == before
    page = (await client.get(panel_url(cid, welder))).text
    assert "工种开赛后裁判组不能再调整" in page and 'value="remove"' not in page


async def _welder_with_scheme(cid: int) -> int:
    welder = await trade_id(cid, "T001")
    scheme = MarkingScheme(trade=welder, version=1, is_current=True, total_hundredths=10000)
    await scheme.save()
    criterion = Criterion(scheme=scheme.id, code="A", name="焊缝外观")
    await criterion.save()
    for code, needed in (("A1", 3), ("A2", 1)):
        await Aspect.insert(
            Aspect(scheme=scheme.id, criterion=criterion.id, code=code, description=code,
                   kind="judgement", max_hundredths=5000, judges_needed=needed)
        )  # fmt: skip
    return welder


async def test_the_assignment_page_shows_recusal_and_warns_of_a_shortfall(client, demo_full):
    cid = demo_full.competition_id
    welder = await _welder_with_scheme(cid)
    people = (
        await Entry.select(Entry.id, Entry.delegation, Entry.person.name, Entry.person.employer)
        .where((Entry.trade == welder) & (Entry.status == EntryStatus.approved.value))
        .order_by(Entry.id)
    )
    target = people[0]
    other = next(p for p in people[1:] if p["delegation"] != target["delegation"])
    # One judge works where the first contestant works (another legal form of the name), one
    # comes from the second's delegation, one has no conflict.
    employer = target["person.employer"].replace("有限公司", "股份有限公司")
    ids = await _register(
        cid, ("同单位裁判", employer, None), ("同推荐单位裁判", "别的单位", other["delegation"]),
        ("无关裁判", "毫不相干研究院", None),
    )  # fmt: skip
    await login(client, "organizer")
    for judge in ids:
        assert (await post_form(client, panel_url(cid, welder),
                                {"action": "add", "judge": judge})).status_code == 303  # fmt: skip
    page = text(main((await client.get(panel_url(cid, welder))).text))
    assert f"{target['person.name']} 同单位裁判（同一工作单位）" in page
    assert f"{other['person.name']} 同推荐单位裁判（同一推荐单位）" in page
    assert "回避后裁判人数不足" in page
    assert f"{target['person.name']}：仅 2 名裁判员可评分" in page and "A1（3）" in page
    assert "A2（1）" not in page

    # The service the score sheets use agrees: the recused judge is not among the allowed.
    report = await assignment.recusal_report(welder)
    assert ids[0] not in report.allocation.allowed[target["id"]]
    assert ids[1] not in report.allocation.allowed[other["id"]]


async def test_the_panel_overview_lists_every_trade(client, demo_full):
    cid = demo_full.competition_id
    assert await load_demo_panels(cid) > 0
    await login(client, "organizer")
    page = text(main((await client.get(f"/org/competitions/{cid}/panels")).text))
    assert "T001 焊工" in page and "王志刚" in page and "尚未指定" in page


async def test_the_demo_panels_are_idempotent_and_show_recusal(demo_full):
    cid = demo_full.competition_id
    first = await load_demo_panels(cid)
    assert first > 30
    assert await load_demo_panels(cid) == 0
    chiefs = await PanelMember.select(
        PanelMember.trade.code, PanelMember.judge.user.username
    ).where(
        PanelMember.is_chief == True  # noqa: E712
    )
    by_trade = {c["trade.code"]: c["judge.user.username"] for c in chiefs}
    assert by_trade["T001"] == "chief"
    assert {"T001", "T002", "T087", "T003"} <= set(by_trade)
    welder = await trade_id(cid, "T001")
    demo_users = await PanelMember.select(PanelMember.judge.user.username).where(
        PanelMember.trade == welder
    )
    assert {"judge", "judge2", "judge3", "chief"} <= {u["judge.user.username"] for u in demo_users}
    for code in ("T001", "T002", "T087"):
        report = await assignment.recusal_report(await trade_id(cid, code))
        assert report.skipped_count >= 1, code


async def test_sessions_of_a_member_and_removing_them_from_the_panel(client, demo_mutable):
    from competition.tables import CompetitionSession

    cid = demo_mutable.competition_id
    await login(client, "organizer")
    electrician = await trade_id(cid, "T002")
    (judge,) = await _register(cid, ("丙裁判", "", None))
    form = {"action": "add", "judge": judge}
    assert (await post_form(client, panel_url(cid, electrician), form)).status_code == 303
    sessions = await CompetitionSession.select(
        CompetitionSession.id, CompetitionSession.code
    ).where(CompetitionSession.trade == electrician)
    by_code = {s["code"]: s["id"] for s in sessions}
    chosen = {"action": "sessions", "judge": judge, "session": [by_code["T002-P2"]]}
    assert (await post_form(client, panel_url(cid, electrician), chosen)).status_code == 303
    assert await assignment.judged_sessions_of([electrician]) == {
        electrician: sorted([by_code["T002-P1"], by_code["T002-P2"]])
    }
    rows = await SessionJudge.select(SessionJudge.session).where(SessionJudge.judge == judge)
    assert rows == [{"session": by_code["T002-P2"]}]
    load = await assignment.judge_loads([judge])
    assert load == {judge: {"trades": 1, "sessions": 1, "contestants": 0}}  # no entries here
    # A session of another trade is refused, nothing changes.
    welder_session = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.trade == await trade_id(cid, "T001"))
        .first()
    )["id"]
    wrong = {"action": "sessions", "judge": judge, "session": [welder_session]}
    refused = await post_form(client, panel_url(cid, electrician), wrong)
    assert refused.status_code == 422 and "请选择本工种的场次" in refused.text
    page = text(main((await client.get(panel_url(cid, electrician))).text))
    assert "丙裁判" in page
    on_panel = await post_form(client, judges_url(cid, f"/{judge}/delete"))
    assert on_panel.status_code == 409 and "请先将该裁判员移出其所在的裁判组" in on_panel.text
    assert (await post_form(client, panel_url(cid, electrician),
                            {"action": "remove", "judge": judge})).status_code == 303  # fmt: skip
    assert await SessionJudge.count().where(SessionJudge.judge == judge) == 0
    assert await PanelMember.count().where(PanelMember.judge == judge) == 0
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).where(
        AuditLog.action.like("panel.%")).order_by(AuditLog.id)]  # fmt: skip
    assert actions == ["panel.add", "panel.sessions", "panel.remove"]

    # Off every panel, the judge may leave the register; the account stays, the grant goes.
    user = (await Judge.select(Judge.user).where(Judge.id == judge).first())["user"]
    removed = await post_form(client, judges_url(cid, f"/{judge}/delete"))
    assert removed.status_code == 303
    assert not await Judge.exists().where(Judge.id == judge)
    assert await User.exists().where(User.id == user)
    assert not await RoleGrant.exists().where(
        (RoleGrant.user == user) & (RoleGrant.role == Role.judge.value)
    )
