"""The organizer's registration pages over HTTP: final review (终审) single and in bulk inside
the quotas (also with two organizers clicking at once), revocation, and
earlier prizes (往届获奖记录) feeding the "no second first prize" rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re

import openpyxl

from competition import services
from competition.audit import SYSTEM
from competition.tables import AuditLog, Quota, Role
from registration import idcard, review
from registration.tables import AwardHistory, Entry
from tests.registration.helpers import ids, new_id, register
from tests.support import PASSWORD, login, make_user, post_form


def _base(cid: int) -> str:
    return f"/org/competitions/{cid}"


async def _first_reviewed(
    cid: int, n: int, delegation: str = "XN", trade: str = "T001", **kwargs
) -> list[int]:
    entry_ids = [await register(cid, trade, delegation, **kwargs) for _ in range(n)]
    _trade_id, delegation_id = await ids(cid, trade, delegation)
    outcome = await review.review_by_delegation(cid, delegation_id, entry_ids, True, actor=SYSTEM)
    assert outcome.done == entry_ids
    return entry_ids


async def _set_quota(cid: int, trade: str, delegation: str, places: int) -> None:
    trade_id, delegation_id = await ids(cid, trade, delegation)
    await Quota.update({Quota.max_entries: places}).where(
        (Quota.delegation == delegation_id) & (Quota.trade == trade_id)
    )


async def _statuses(entry_ids: list[int]) -> list[str]:
    rows = await Entry.select(Entry.status).where(Entry.id.is_in(entry_ids)).order_by(Entry.id)
    return [r["status"] for r in rows]


async def test_bulk_final_review_refuses_the_entry_over_the_quota(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _first_reviewed(cid, 3)
    await _set_quota(cid, "T001", "XN", 2)  # the quota was cut after first review
    await login(client, "organizer")
    listing = await client.get(f"{_base(cid)}/entries")
    assert listing.status_code == 200
    # The list opens on what waits for final review.
    assert listing.text.count('name="entry"') == 3
    response = await post_form(
        client,
        f"{_base(cid)}/entries/review",
        {"action": "approve", "entry": [str(i) for i in entry_ids]},
    )
    assert response.status_code == 200
    assert await _statuses(entry_ids) == ["approved", "approved", "delegation_approved"]
    refused = response.text.split('class="refused"')[1].split("</ul>")[0]
    assert f'/entries/{entry_ids[2]}"' in refused
    assert "“焊工”的名额已满（共 2 个）" in refused
    assert "通过：2 人。" in response.text
    tickets = await Entry.select(Entry.ticket_number).where(Entry.id.is_in(entry_ids[:2]))
    assert all(t["ticket_number"].startswith("QH16-T001-") for t in tickets)


async def test_two_organizers_at_once_with_one_place_left(client, other_client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _first_reviewed(cid, 3)
    trade_id, xn = await ids(cid, "T001", "XN")
    await review.review_by_organizer(cid, entry_ids[:1], True, actor=SYSTEM)
    await _set_quota(cid, "T001", "XN", 2)  # one place left
    await make_user("organizer2", Role.organizer)
    await login(client, "organizer")
    await login(other_client, "organizer2", PASSWORD)
    url = f"{_base(cid)}/entries/review"
    first, second = await asyncio.gather(
        post_form(client, url, {"action": "approve", "entry": str(entry_ids[1])}),
        post_form(other_client, url, {"action": "approve", "entry": str(entry_ids[2])}),
    )
    assert first.status_code == second.status_code == 200
    approved = await Entry.count().where(
        (Entry.delegation == xn) & (Entry.trade == trade_id) & (Entry.status == "approved")
    )
    assert approved == 2
    assert sorted(await _statuses(entry_ids[1:])) == ["approved", "delegation_approved"]
    # Exactly one of the two pages names its entry as refused for the quota.
    assert ["名额已满" in r.text for r in (first, second)].count(True) == 1


async def test_final_reject_needs_a_reason(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _first_reviewed(cid, 2)
    await login(client, "organizer")
    url = f"{_base(cid)}/entries/review"
    response = await post_form(
        client, url, {"action": "reject", "reason": "", "entry": [str(i) for i in entry_ids]}
    )
    assert response.status_code == 422
    assert "请填写原因，选手将看到该原因。" in response.text
    assert await _statuses(entry_ids) == ["delegation_approved"] * 2
    single = await post_form(
        client, f"{_base(cid)}/entries/{entry_ids[0]}/review", {"action": "reject", "reason": " "}
    )
    assert single.status_code == 422
    assert await _statuses(entry_ids) == ["delegation_approved"] * 2
    response = await post_form(
        client,
        url,
        {"action": "reject", "reason": "工龄证明缺失", "entry": [str(i) for i in entry_ids]},
    )
    assert response.status_code == 200
    assert await _statuses(entry_ids) == ["rejected"] * 2
    record = (
        await AuditLog.select()
        .where((AuditLog.action == "entry.rejected") & (AuditLog.object_id == str(entry_ids[0])))
        .first()
    )
    assert record["reason"] == "工龄证明缺失" and record["actor_name"] == "organizer"


async def test_single_approval_from_the_entry_page(client, demo_mutable):
    cid = demo_mutable.competition_id
    (entry_id,) = await _first_reviewed(cid, 1)
    await login(client, "organizer")
    response = await post_form(
        client, f"{_base(cid)}/entries/{entry_id}/review", {"action": "approve"}
    )
    assert response.status_code == 303
    assert await _statuses([entry_id]) == ["approved"]
    # Approving again is refused with the reason, not a crash.
    again = await post_form(
        client, f"{_base(cid)}/entries/{entry_id}/review", {"action": "approve"}
    )
    assert again.status_code == 409
    assert "只有" in again.text


async def test_revoke_with_a_reason_is_final_and_audited(client, demo_mutable):
    cid = demo_mutable.competition_id
    (entry_id,) = await _first_reviewed(cid, 1)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    await login(client, "organizer")
    url = f"{_base(cid)}/entries/{entry_id}/revoke"
    page = await client.get(f"{_base(cid)}/entries/{entry_id}")
    assert f'action="{url}"' in page.text and "data-confirm" in page.text
    missing = await post_form(client, url, {"reason": ""})
    assert missing.status_code == 422
    assert await _statuses([entry_id]) == ["approved"]
    response = await post_form(client, url, {"reason": "经核实存在替考行为"})
    assert response.status_code == 303
    row = await Entry.select(Entry.status, Entry.review_note).where(Entry.id == entry_id).first()
    assert row == {"status": "revoked", "review_note": "经核实存在替考行为"}
    record = (
        await AuditLog.select()
        .where((AuditLog.action == "entry.revoked") & (AuditLog.object_id == str(entry_id)))
        .first()
    )
    assert record["reason"] == "经核实存在替考行为" and record["actor_name"] == "organizer"
    page = await client.get(f"{_base(cid)}/entries/{entry_id}")
    assert "已取消资格" in page.text and "经核实存在替考行为" in page.text
    assert f'action="{url}"' not in page.text


async def test_lists_mask_the_id_number_and_the_detail_shows_it(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id(dt.date(1979, 2, 14))
    (entry_id,) = await _first_reviewed(cid, 1, name="祁占元", id_number=number)
    await login(client, "organizer")
    listing = await client.get(f"{_base(cid)}/entries", params={"status": "all"})
    assert "祁占元" in listing.text
    assert number not in listing.text and idcard.mask(number) in listing.text
    detail = await client.get(f"{_base(cid)}/entries/{entry_id}")
    assert detail.status_code == 200 and number in detail.text
    assert "1979-02-14" in detail.text and "初审通过" in detail.text
    # An entry id of this competition only.
    assert (await client.get(f"{_base(cid)}/entries/999999")).status_code == 404


async def test_final_review_list_filters(client, demo_mutable):
    cid = demo_mutable.competition_id
    await _first_reviewed(cid, 1, name="海西甲")
    await _first_reviewed(cid, 1, "HX", name="海西乙")
    await register(cid, name="未初审")
    _t, hx = await ids(cid, "T001", "HX")
    await login(client, "organizer")
    default = await client.get(f"{_base(cid)}/entries")
    assert "海西甲" in default.text and "海西乙" in default.text and "未初审" not in default.text
    by_delegation = await client.get(f"{_base(cid)}/entries", params={"delegation": str(hx)})
    assert "海西乙" in by_delegation.text and "海西甲" not in by_delegation.text
    everything = await client.get(f"{_base(cid)}/entries", params={"status": "all"})
    assert "未初审" in everything.text
    by_name = await client.get(f"{_base(cid)}/entries", params={"status": "all", "q": "初审"})
    assert "未初审" in by_name.text and "海西甲" not in by_name.text


async def test_organizer_pages_are_the_organizers_alone(client, other_client, demo_mutable):
    cid = demo_mutable.competition_id
    for path in (
        "/entries",
        "/quota-usage",
        "/dashboard",
        "/award-history",
        "/entries/export.xlsx",
    ):
        anonymous = await client.get(f"{_base(cid)}{path}")
        assert anonymous.status_code == 303, path
        assert anonymous.headers["location"].startswith("/login?next=")
    await login(client, "xining")
    for path in (
        "/entries",
        "/quota-usage",
        "/dashboard",
        "/award-history",
        "/entries/export.xlsx",
    ):
        assert (await client.get(f"{_base(cid)}{path}")).status_code == 403, path
    refused = await post_form(client, f"{_base(cid)}/entries/review", {"action": "approve"})
    assert refused.status_code == 403
    # An organizer of another competition only.
    other = await services.create_competition(
        services.CompetitionIn(code="QH17", name="第十七届", year=2027), SYSTEM
    )
    await make_user("elsewhere", Role.organizer, competition_id=other)
    await login(other_client, "elsewhere", PASSWORD)
    for path in ("/entries", "/quota-usage", "/dashboard"):
        assert (await other_client.get(f"{_base(cid)}{path}")).status_code == 403, path


# ---------------------------------------------------------------------------- earlier prizes


def _csv(rows: list[list[str]], encoding: str) -> bytes:
    lines = ["身份证号,姓名,工种,奖项,年份,赛事名称"] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def test_earlier_first_prize_bars_a_new_entry_in_that_trade(
    client, other_client, demo_mutable
):
    cid = demo_mutable.competition_id
    winner, second = new_id(), new_id()
    data = _csv(
        [
            [winner, "马永福", "焊工", "一等奖", "2019", "青海省第十五届职工职业技能大赛"],
            [second, "韩文斌", "焊工", "二等奖", "2019", "青海省第十五届职工职业技能大赛"],
        ],
        "gbk",
    )
    await login(client, "organizer")
    url = f"{_base(cid)}/award-history"
    response = await post_form(client, url, files={"file": ("往届获奖.csv", data, "text/csv")})
    assert response.status_code == 303, response.text
    assert await AwardHistory.count() == 2
    page = await client.get(response.headers["location"])
    assert "新增 2 条，已有记录 0 条。" in page.text
    assert winner not in page.text and idcard.mask(winner) in page.text
    assert "马永福" in page.text and "一等奖" in page.text
    # The same file again adds nothing.
    again = await post_form(client, url, files={"file": ("往届获奖.csv", data, "text/csv")})
    assert again.status_code == 303 and await AwardHistory.count() == 2
    assert "新增 0 条，已有记录 2 条。" in (await client.get(again.headers["location"])).text
    assert await AuditLog.count().where(AuditLog.action == "award_history.import") == 1
    # The delegation now cannot register the winner for 焊工; the second-prize winner can.
    trade_id, _xn = await ids(cid, "T001", "XN")
    await login(other_client, "xining")
    form = {
        "name": "马永福",
        "id_number": winner,
        "phone": "13909710000",
        "employer": "青海盐湖工业股份有限公司",
        "job": "焊工",
        "skill_level": "4",
        "years_of_service": "10",
        "trade_id": str(trade_id),
        "group_name": "职工组",
    }
    refused = await post_form(other_client, "/delegation/entries/new", form)
    assert refused.status_code == 422
    assert "一等奖" in refused.text
    assert not await Entry.exists().where(Entry.person.id_number == winner)
    allowed = await post_form(
        other_client, "/delegation/entries/new", {**form, "name": "韩文斌", "id_number": second}
    )
    assert allowed.status_code == 303


async def test_earlier_prizes_all_or_nothing_with_row_errors(client, demo_mutable):
    cid = demo_mutable.competition_id
    good = new_id()
    data = _csv(
        [
            [good, "马永福", "焊工", "一等奖", "2019", ""],
            ["630102199005171230", "韩文斌", "焊工", "二等奖", "2019", ""],
            [new_id(), "才让", "焊工", "特等奖", "2035", ""],
        ],
        "utf-8-sig",
    )
    await login(client, "organizer")
    url = f"{_base(cid)}/award-history"
    response = await post_form(client, url, files={"file": ("a.csv", data, "text/csv")})
    assert response.status_code == 422
    assert "发现 3 处问题，未导入任何数据" in response.text
    rows = re.findall(
        r'data-label="行号" class="num">(\d+)</td><td data-label="列">([^<]+)</td>', response.text
    )
    assert rows == [("3", "身份证号"), ("4", "奖项"), ("4", "年份")]
    assert "校验位" in response.text
    assert await AwardHistory.count() == 0
    # An xlsx whose ID column Excel turned into numbers says so.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "工种", "奖项", "年份"])
    sheet.append(
        [int(good[:17] + "0") if good[-1] == "X" else int(good), "马永福", "焊工", "一等奖", 2019]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    response = await post_form(
        client, url, files={"file": ("a.xlsx", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.status_code == 422
    assert "科学计数法" in response.text
    # Mixed encodings and a renamed PDF get their own messages; nothing is stored.
    mixed = (
        _csv([[good, "马永福", "焊工", "一等奖", "2019", ""]], "utf-8")
        + _csv([[new_id(), "韩文斌", "焊工", "二等奖", "2019", ""]], "gbk").split(b"\r\n", 1)[1]
    )
    response = await post_form(client, url, files={"file": ("m.csv", mixed, "text/csv")})
    assert response.status_code == 422 and "混用了多种文字编码" in response.text
    response = await post_form(
        client, url, files={"file": ("p.csv", b"%PDF-1.4\n%\xe2\xe3", "text/csv")}
    )
    assert response.status_code == 422 and "既不是 Excel 工作簿" in response.text
    assert await AwardHistory.count() == 0


async def test_earlier_prizes_menu_item_and_xlsx_upload(client, demo_mutable):
    cid = demo_mutable.competition_id
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "工种", "奖项", "年份", "赛事名称"])
    numbers = [new_id() for _ in range(3)]
    for number, award in zip(numbers, ("一等奖", "二等奖", "三等奖"), strict=True):
        sheet.append([number, "马建国", "电工", award, "2021", "青海省第十五届职工职业技能大赛"])
    buffer = io.BytesIO()
    book.save(buffer)
    await login(client, "organizer")
    overview = await client.get(_base(cid))
    assert f'href="{_base(cid)}/award-history"' in overview.text and "往届获奖记录" in overview.text
    response = await post_form(
        client,
        f"{_base(cid)}/award-history",
        files={"file": ("list.xlsx", buffer.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 303, response.text
    stored = await AwardHistory.select().order_by(AwardHistory.id)
    assert [r["award"] for r in stored] == ["first", "second", "third"]
    # (A formula cell is refused: tests/registration/test_award_history.py.)
    assert stored[0]["competition_name"] == "青海省第十五届职工职业技能大赛"
    page = await client.get(f"{_base(cid)}/award-history", params={"award": "first"})
    assert page.text.count("马建国") == 1


async def test_final_review_flows_to_the_next_entry_and_says_what_happened(client, demo_mutable):
    cid = demo_mutable.competition_id
    first, second = await _first_reviewed(cid, 2)
    await login(client, "organizer")
    approved = await post_form(
        client, f"{_base(cid)}/entries/{first}/review", {"action": "approve"}
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == (
        f"{_base(cid)}/entries/{second}?done=approved&prev={first}"
    )
    ticket = (await Entry.select(Entry.ticket_number).where(Entry.id == first).first())[
        "ticket_number"
    ]
    following = await client.get(approved.headers["location"])
    notice = re.search(r'<div class="notice ok"[^>]*id="done-notice">(.*?)</div>', following.text)
    assert notice is not None
    assert f"已通过终审，准考证号 {ticket}" in notice.group(1)
    assert "下一位待终审" in notice.group(1)
    # The last one waiting: rejecting it returns to the list, which says none is left.
    rejected = await post_form(
        client,
        f"{_base(cid)}/entries/{second}/review",
        {"action": "reject", "reason": "照片不清晰"},
    )
    assert rejected.headers["location"] == f"{_base(cid)}/entries?done=rejected&prev={second}"
    listing = await client.get(rejected.headers["location"])
    assert "已退回，原因“照片不清晰”" in listing.text
    assert "没有其他待终审的报名" in listing.text
    # A notice never comes from the address: another competition's entry or junk shows none.
    junk = await client.get(f"{_base(cid)}/entries?done=approved&prev=999999")
    assert 'id="done-notice"' not in junk.text
