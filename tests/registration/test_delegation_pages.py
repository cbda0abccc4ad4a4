"""The delegation's pages over HTTP: its list, first review (初审) single and bulk inside the
quota, what it must never see of another delegation, the entry page, registering, correcting,
photos and withdrawing. Demo: 焊工 T001 has 3 places a delegation; `xining` runs XN, `haixi` HX."""

from __future__ import annotations

import datetime as dt
import re

from competition import services
from competition.audit import SYSTEM
from competition.clock import local_today
from competition.tables import AuditLog, Competition
from registration import idcard, review
from registration.tables import Entry, EntrySource, EntryStatus, Person, Photo
from tests.page_text import text, zh
from tests.registration.helpers import ids, jpeg, new_id, register
from tests.support import login, post_form

LIST = "/delegation/entries"


async def _statuses(entry_ids: list[int]) -> list[str]:
    rows = await Entry.select(Entry.status).where(Entry.id.is_in(entry_ids)).order_by(Entry.id)
    return [r["status"] for r in rows]


def _entry_form(trade_id: int, **overrides) -> dict[str, str]:
    values = {
        "name": "李海军",
        "id_number": new_id(dt.date(1991, 4, 2)),
        "phone": "13909711234",
        "employer": "西宁特殊钢股份有限公司",
        "job": "电焊工",
        "skill_level": "4",
        "years_of_service": "8",
        "trade_id": str(trade_id),
        "group_name": "职工组",
    }
    values.update(overrides)
    return values


async def test_bulk_first_review_names_the_entry_over_the_quota(client, demo_mutable):
    cid = demo_mutable.competition_id
    names = ["马建华", "韩永福", "才让多杰", "李秀英"]
    entry_ids = [await register(cid, name=n) for n in names]
    await login(client, "xining")
    response = await post_form(
        client, f"{LIST}/review", {"action": "approve", "entry": [str(i) for i in entry_ids]}
    )
    assert response.status_code == 200
    assert await _statuses(entry_ids) == ["delegation_approved"] * 3 + ["submitted"]
    html = response.text
    assert "通过：3 人。" in html and "未处理：1 人。" in html
    # The fourth is named with the reason, in Chinese.
    refused = html.split('class="refused"')[1].split("</ul>")[0]
    assert "李秀英" in refused and "“焊工”的名额已满（共 3 个）" in refused
    assert "马建华" not in refused
    assert await AuditLog.count().where(AuditLog.action == "entry.delegation_approved") == 3
    # The quota strip now shows the trade as full.
    page = await client.get(LIST)
    assert re.search(r"焊工\s*<strong>3/3</strong>", page.text)


async def test_another_delegations_people_stay_out_of_sight(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    theirs = await register(cid, delegation_code="HX", name="赵海西", id_number=number)
    mine = await register(cid, name="马西宁")
    await login(client, "xining")
    listing = await client.get(LIST, params={"status": "", "q": ""})
    assert listing.status_code == 200
    assert "马西宁" in listing.text and "赵海西" not in listing.text
    # Guessing the id: the detail, the edit form and every action are refused.
    assert (await client.get(f"{LIST}/{theirs}")).status_code == 403
    assert (await client.get(f"{LIST}/{theirs}/edit")).status_code == 403
    for action in ("review", "withdraw", "photo", "edit"):
        response = await post_form(client, f"{LIST}/{theirs}/{action}", {"action": "approve"})
        assert response.status_code == 403, action
    # A bulk post naming it changes only our own entry and does not reveal the other's name.
    response = await post_form(
        client, f"{LIST}/review", {"action": "approve", "entry": [str(theirs), str(mine)]}
    )
    assert response.status_code == 200
    assert await _statuses([theirs]) == ["submitted"]
    assert await _statuses([mine]) == ["delegation_approved"]
    assert "赵海西" not in response.text and f"#{theirs}" in response.text
    assert "该报名属于其他推荐单位。" in response.text
    # Searching by the other's ID digits finds nothing either.
    found = await client.get(LIST, params={"q": number[-6:]})
    assert "赵海西" not in found.text
    # A missing id is 404, not a hint.
    assert (await client.get(f"{LIST}/999999")).status_code == 404


async def test_reject_needs_a_reason_and_changes_nothing_without(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = [await register(cid) for _ in range(2)]
    await login(client, "xining")
    form = {"action": "reject", "reason": "  ", "entry": [str(i) for i in entry_ids]}
    response = await post_form(client, f"{LIST}/review", form)
    assert response.status_code == 422
    assert "请填写原因，选手将看到该原因。" in response.text
    assert await _statuses(entry_ids) == ["submitted", "submitted"]
    # The ticks survive the error.
    assert f'value="{entry_ids[0]}" aria-label' in response.text
    assert re.search(rf'value="{entry_ids[0]}"[^>]*checked', response.text)
    form["reason"] = "照片不清晰，请重新上传"
    response = await post_form(client, f"{LIST}/review", form)
    assert response.status_code == 200
    assert await _statuses(entry_ids) == ["rejected", "rejected"]
    row = (
        await Entry.select(Entry.review_note, Entry.rejected_by)
        .where(Entry.id == entry_ids[0])
        .first()
    )
    assert row == {"review_note": "照片不清晰，请重新上传", "rejected_by": "delegation"}


async def test_list_masks_id_numbers_and_filters_in_sql(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, name="王金山", id_number=number)
    await register(cid, "T002", name="周德明")
    await login(client, "xining")
    response = await client.get(LIST)
    assert number not in response.text
    assert idcard.mask(number) in response.text
    trade_t002, _xn = await ids(cid, "T002", "XN")
    filtered = await client.get(LIST, params={"trade": str(trade_t002)})
    assert "周德明" in filtered.text and "王金山" not in filtered.text
    by_digits = await client.get(LIST, params={"q": number[-4:]})
    assert "王金山" in by_digits.text and "周德明" not in by_digits.text
    by_name = await client.get(LIST, params={"q": "德明"})
    assert "周德明" in by_name.text and "王金山" not in by_name.text
    by_status = await client.get(LIST, params={"status": "approved"})
    assert "王金山" not in by_status.text and "没有符合条件的报名" in by_status.text


async def test_list_paginates(client, demo_mutable):
    cid = demo_mutable.competition_id
    for n in range(52):
        await register(
            cid, "T002" if n % 2 else "T001", name=f"测试{'甲乙'[n % 2]}{chr(0x4E00 + n)}"
        )
    await login(client, "xining")
    first = await client.get(LIST)
    assert first.text.count('name="entry"') == 50
    assert "第 1 页，共 2 页" in first.text
    second = await client.get(LIST, params={"page_number": "2"})
    assert second.text.count('name="entry"') == 2


async def test_entry_page_shows_derived_details_history_and_ticket_link(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id(dt.date(1987, 11, 30), male=False)
    entry_id = await register(cid, name="马秀兰", id_number=number)
    await login(client, "xining")
    page = await client.get(f"{LIST}/{entry_id}")
    assert page.status_code == 200
    html = page.text
    assert number not in html and idcard.mask(number) in html
    assert "女" in html and "1987-11-30" in html
    assert f'<img src="/photos/entries/{entry_id}.jpg"' in html
    assert "已报名" in html  # the history from the audit trail
    assert "ticket.pdf" not in html
    response = await post_form(client, f"{LIST}/{entry_id}/review", {"action": "approve"})
    assert response.status_code == 303
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    html = (await client.get(f"{LIST}/{entry_id}")).text
    assert f'href="{LIST}/{entry_id}/ticket.pdf"' in html
    assert "初审通过" in html and "终审通过" in html


async def test_single_first_review_refused_over_the_quota_says_why(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = [await register(cid) for _ in range(4)]
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, entry_ids[:3], True, actor=SYSTEM)
    await login(client, "xining")
    response = await post_form(client, f"{LIST}/{entry_ids[3]}/review", {"action": "approve"})
    assert response.status_code == 409
    assert "名额已满" in response.text
    assert await _statuses([entry_ids[3]]) == ["submitted"]
    response = await post_form(client, f"{LIST}/{entry_ids[3]}/review", {"action": "reject"})
    assert response.status_code == 422
    assert await _statuses([entry_ids[3]]) == ["submitted"]


async def test_register_a_person_for_the_delegation(client, demo_mutable):
    cid = demo_mutable.competition_id
    trade_id, xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    form = await client.get(f"{LIST}/new")
    assert form.status_code == 200 and "焊工" in form.text
    values = _entry_form(trade_id)
    response = await post_form(
        client, f"{LIST}/new", values, files={"photo": ("me.jpg", jpeg(), "image/jpeg")}
    )
    assert response.status_code == 303, response.text
    entry_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    entry = await Entry.select().where(Entry.id == entry_id).first()
    assert entry["delegation"] == xn and entry["source"] == EntrySource.delegation_import.value
    assert entry["status"] == EntryStatus.submitted.value
    person = await Person.select().where(Person.id == entry["person"]).first()
    assert person["user"] is None and person["id_number"] == values["id_number"]
    assert await Photo.exists().where(Photo.person == entry["person"])


async def test_register_form_shows_every_field_error_and_keeps_values(client, demo_mutable):
    cid = demo_mutable.competition_id
    trade_id, _xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    before = await Entry.count()
    values = _entry_form(trade_id, id_number="630102199005171230", phone="123")
    response = await post_form(client, f"{LIST}/new", values)
    assert response.status_code == 422
    assert "校验位" in response.text  # which part of the ID number is wrong
    assert "11 位手机号码" in response.text
    assert 'value="西宁特殊钢股份有限公司"' in response.text
    assert await Entry.count() == before
    # A PDF renamed .jpg is refused as a photo, and nothing is stored.
    values = _entry_form(trade_id)
    response = await post_form(
        client,
        f"{LIST}/new",
        values,
        files={"photo": ("photo.jpg", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "image/jpeg")},
    )
    assert response.status_code == 422
    assert await Entry.count() == before


async def test_edit_keeps_the_id_number_and_sends_an_approved_entry_back(client, demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await register(cid, id_number=number)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await login(client, "xining")
    form = await client.get(f"{LIST}/{entry_id}/edit")
    assert form.status_code == 200
    assert number not in form.text and idcard.mask(number) in form.text
    assert 'name="id_number"' not in form.text
    trade_id, _ = await ids(cid, "T001", "XN")
    values = _entry_form(trade_id, name="马建华", phone="13800001111")
    values.pop("id_number")
    response = await post_form(client, f"{LIST}/{entry_id}/edit", values)
    assert response.status_code == 303, response.text
    row = (
        await Entry.select(Entry.status, Entry.person.phone, Entry.person.id_number)
        .where(Entry.id == entry_id)
        .first()
    )
    assert row == {"status": "submitted", "person.phone": "13800001111", "person.id_number": number}


async def test_photo_replaced_before_review_and_refused_when_bad(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await register(cid, photo=False)
    await login(client, "xining")
    bad = await post_form(
        client,
        f"{LIST}/{entry_id}/photo",
        files={"photo": ("x.jpg", b"not an image at all", "image/jpeg")},
    )
    assert bad.status_code == 422
    assert not await Photo.exists().where(
        Photo.person.id.is_in(Entry.select(Entry.person).where(Entry.id == entry_id))
    )
    good = await post_form(
        client, f"{LIST}/{entry_id}/photo", files={"photo": ("x.jpg", jpeg(), "image/jpeg")}
    )
    assert good.status_code == 303
    person = (await Entry.select(Entry.person).where(Entry.id == entry_id).first())["person"]
    assert await Photo.exists().where(Photo.person == person)
    assert await AuditLog.exists().where(AuditLog.action == "person.photo")


async def test_withdraw_deletes_the_entry_with_an_audit_record(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await register(cid)
    await login(client, "xining")
    response = await post_form(client, f"{LIST}/{entry_id}/withdraw")
    assert response.status_code == 303
    assert not await Entry.exists().where(Entry.id == entry_id)
    assert await AuditLog.exists().where(
        (AuditLog.action == "entry.withdraw") & (AuditLog.object_id == str(entry_id))
    )


async def test_only_delegation_admins_reach_these_pages(client, other_client, demo):
    response = await client.get(LIST)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    await login(client, "organizer")
    assert (await client.get(LIST)).status_code == 403
    assert (await client.get(f"{LIST}/export.xlsx")).status_code == 403
    await login(other_client, "contestant")
    assert (await other_client.get(f"{LIST}/new")).status_code == 403


# ---------------------------------------------------------------------------- the review flow


async def test_first_review_opens_the_next_waiting_entry(client, demo_mutable):
    cid = demo_mutable.competition_id
    first, second, third = [await register(cid, name=name) for name in ("甲一", "乙二", "丙三")]
    await login(client, "xining")
    page = await client.get(f"{LIST}/{first}")
    assert 'id="review-form"' in page.text

    passed = await post_form(client, f"{LIST}/{first}/review", {"action": "approve"})
    assert passed.status_code == 303
    assert passed.headers["location"] == f"{LIST}/{second}?done=passed&prev={first}"
    page = await client.get(passed.headers["location"])
    assert "甲一 · 焊工：已通过初审。" in page.text and "下一位待初审" in page.text
    assert "<h1>乙二</h1>" in page.text

    returned = await post_form(
        client, f"{LIST}/{second}/review", {"action": "reject", "reason": "照片不清晰"}
    )
    assert returned.headers["location"] == f"{LIST}/{third}?done=returned&prev={second}"
    page = await client.get(returned.headers["location"])
    assert "乙二 · 焊工：已退回，原因：“照片不清晰”。" in page.text

    # The last one waiting: back to the list, which says so.
    last = await post_form(client, f"{LIST}/{third}/review", {"action": "approve"})
    location = last.headers["location"]
    assert location.startswith(f"{LIST}?") and f"prev={third}" in location
    page = await client.get(location)
    assert "丙三 · 焊工：已通过初审。 没有其他等待初审的报名。" in page.text
    assert await _statuses([first, second, third]) == [
        "delegation_approved",
        "rejected",
        "delegation_approved",
    ]


async def test_another_delegations_entry_is_not_named_after_a_review(client, demo_mutable):
    cid = demo_mutable.competition_id
    theirs = await register(cid, delegation_code="HX", name="海西人")
    mine = await register(cid, name="西宁人")
    await login(client, "xining")
    page = await client.get(f"{LIST}/{mine}?done=passed&prev={theirs}")
    assert page.status_code == 200 and "海西人" not in page.text


async def test_what_the_phase_or_the_quota_refuses_is_not_offered(client, demo_mutable):
    cid = demo_mutable.competition_id
    _trade, xn = await ids(cid, "T001", "XN")
    held = [await register(cid) for _ in range(3)]
    await review.review_by_delegation(cid, xn, held, True, actor=SYSTEM)
    waiting = await register(cid, name="第四人")
    await login(client, "xining")

    # The quota is full: passing is not offered, rejecting is, and the page says why.
    page = await client.get(f"{LIST}/{waiting}")
    assert 'value="approve"' not in page.text and 'value="reject"' in page.text
    assert "“焊工”的名额已满（3 个）" in page.text

    # Registration closed (review phase): no new people, no edits of passed entries.
    await services.advance_phase(cid, "review", SYSTEM)
    listing = await client.get(LIST)
    assert 'id="register-link"' not in listing.text and "/delegation/import" not in listing.text
    assert 'id="registration-closed"' in listing.text and "已停止新增报名" in listing.text
    page = await client.get(f"{LIST}/{held[0]}")
    assert 'id="edit-link"' not in page.text
    assert "不能修改" in page.text
    # A submitted entry may still be withdrawn and reviewed in this phase.
    page = await client.get(f"{LIST}/{waiting}")
    assert f'action="{LIST}/{waiting}/withdraw"' in page.text
    form = await client.get(f"{LIST}/new")
    assert 'type="submit">登记<' not in form.text and "已停止新增报名" in form.text


async def test_after_the_deadline_a_delegation_is_told_and_offered_no_new_entries(
    client, demo_mutable
):
    cid = demo_mutable.competition_id
    yesterday = local_today() - dt.timedelta(days=1)
    await Competition.update({Competition.registration_closes_on: yesterday}).where(
        Competition.id == cid
    )
    await login(client, "xining")
    reason = zh(
        "Registration closed on {date}: new entries are no longer accepted.",
        date=yesterday.isoformat(),
    )
    listing = await client.get(LIST)
    assert 'id="register-link"' not in listing.text and "/delegation/import" not in listing.text
    assert reason in text(listing.text)
    form = await client.get(f"{LIST}/new")
    assert 'type="submit">登记<' not in form.text and reason in text(form.text)
    imports_page = await client.get("/delegation/import")
    assert 'enctype="multipart/form-data"' not in imports_page.text
    assert reason in text(imports_page.text)
    trade, _xn = await ids(cid, "T001", "XN")
    before = await Entry.count()
    refused = await post_form(
        client,
        f"{LIST}/new",
        _entry_form(trade),
        files={"photo": ("me.jpg", jpeg(), "image/jpeg")},
    )
    assert refused.status_code == 409 and reason in text(refused.text)
    assert await Entry.count() == before


async def test_english_pages_name_trades_in_english(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await register(cid)
    await login(client, "xining")
    await client.get("/lang/en")
    page = await client.get(f"{LIST}/{entry_id}")
    assert "<title>马建华 · Welder" in page.text
    assert '<p class="muted">Welder · 职工组' in page.text
    form = await client.get(f"{LIST}/{entry_id}/edit")
    assert ">T001 Welder (职工组、学生组)</option>" in form.text
