"""Whose record is whose (registration/people.py, registration/claims.py), over real HTTP as
each role: a contestant, the admin of the delegation that owns a record (`xining`, XN), the admin
of another delegation (`haixi`, HX) and an organizer. Demo: 焊工 T001 has 3 places a delegation.

Also the one rule of a correction: which change of an approved entry sends it back to review,
which reissues its ticket (the older printout stops passing check-in) and which is only recorded,
and the audit trail of it all, which never holds a phone number or a full ID number."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import httpx
import pytest

from competition import services
from competition.audit import SYSTEM
from competition.errors import Conflict
from competition.tables import AuditLog, Competition, Role, User
from registration import checkin, claims, entries, idcard, people, review, tokens
from registration.people import ORGANIZER, Acting, Ownership
from registration.tables import ClaimStatus, Entry, Person, PersonClaim, Photo
from tests.registration.helpers import entry_in, ids, jpeg, new_id, register
from tests.support import PASSWORD, login, post_form

LIST = "/delegation/entries"
_mobiles = itertools.count(13700000101)


# ---------------------------------------------------------------------------- the rule


XN = Ownership(user_id=None, delegation_id=1, delegation_code="XN")
ACCOUNT = Ownership(user_id=7, delegation_id=1, delegation_code="XN")
NOBODY = Ownership(user_id=None, delegation_id=None, delegation_code=None)


@pytest.mark.parametrize(
    ("owner", "acting", "allowed"),
    [
        (XN, Acting(Role.delegation_admin, delegation_id=1, delegation_code="XN"), True),
        # The same delegation code in a later edition is the same owner.
        (XN, Acting(Role.delegation_admin, delegation_id=9, delegation_code="XN"), True),
        (XN, Acting(Role.delegation_admin, delegation_id=2, delegation_code="HX"), False),
        (XN, Acting(Role.contestant, user_id=7), False),
        (XN, ORGANIZER, True),
        (ACCOUNT, Acting(Role.contestant, user_id=7), True),
        (ACCOUNT, Acting(Role.contestant, user_id=8), False),
        # Once claimed, the record is the account's: not even its delegation changes it.
        (ACCOUNT, Acting(Role.delegation_admin, delegation_id=1, delegation_code="XN"), False),
        (ACCOUNT, ORGANIZER, True),
        (NOBODY, Acting(Role.delegation_admin, delegation_id=1, delegation_code="XN"), False),
        (NOBODY, ORGANIZER, True),
    ],
)
def test_who_may_change_a_record(owner, acting, allowed):
    assert people.may_change(owner, acting) is allowed


def test_audit_values_mask_phones_and_id_numbers():
    shown = people.audit_values(
        {"phone": "13900971234", "id_number": "630102199005171234", "name": "马建华"}
    )
    assert shown == {"phone": "139****1234", "id_number": "6301**********1234", "name": "马建华"}


# ---------------------------------------------------------------------------- helpers


def _form(trade_id: int, **overrides) -> dict[str, str]:
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


def _photo(color=(180, 40, 40)) -> dict:
    return {"photo": ("me.jpg", jpeg(color=color), "image/jpeg")}


async def _enter(client: httpx.AsyncClient, values: dict[str, str], **files) -> httpx.Response:
    return await post_form(client, f"{LIST}/new", values, files=files or _photo())


def _entry_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[-1].split("?")[0])


async def _approve(cid: int, entry_id: int) -> dict:
    row = await Entry.select(Entry.delegation).where(Entry.id == entry_id).first()
    await review.review_by_delegation(cid, row["delegation"], [entry_id], True, actor=SYSTEM)
    outcome = await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    assert outcome.done == [entry_id]
    return await Entry.select().where(Entry.id == entry_id).first()


async def _person(id_number: str) -> dict:
    return await Person.select().where(Person.id_number == id_number).first()


async def _sign_up(client: httpx.AsyncClient, mobile: str, name: str) -> int:
    response = await post_form(
        client,
        "/signup",
        {"mobile": mobile, "name": name, "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert response.status_code == 303, response.text
    return (await User.select(User.id).where(User.username == mobile).first())["id"]


# ---------------------------------------------------------------------------- delegations


async def test_another_delegation_cannot_enter_or_overwrite_a_person(
    demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    t001, xn = await ids(cid, "T001", "XN")
    t002, _hx = await ids(cid, "T002", "HX")
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    await login(client, "xining")
    values = _form(t001)
    _entry_id(await _enter(client, values))
    before = await _person(values["id_number"])
    photo_before = await Photo.select(Photo.sha256).where(Photo.person == before["id"]).first()
    assert before["owner_delegation"] == xn and before["user"] is None

    # 海西 enters the same ID number in another trade with other particulars and photo.
    await login(other_client, "haixi")
    forged = _form(
        t002,
        id_number=values["id_number"],
        name="王某某",
        phone="13600000000",
        employer="另一家单位",
    )
    response = await _enter(other_client, forged, **_photo((10, 200, 10)))
    assert response.status_code == 409
    assert "此人已有参赛档案" in response.text
    # The refusal names nothing of the record it protects.
    for secret in (before["name"], before["phone"], before["employer"]):
        assert secret not in response.text
    after = await _person(values["id_number"])
    assert {k: after[k] for k in ("name", "phone", "employer", "owner_delegation")} == {
        k: before[k] for k in ("name", "phone", "employer", "owner_delegation")
    }
    photo_after = await Photo.select(Photo.sha256).where(Photo.person == before["id"]).first()
    assert photo_after == photo_before
    assert await Entry.count().where(Entry.person == before["id"]) == 1


async def test_the_owning_delegation_enters_its_person_again_and_the_ticket_follows(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    t002, _ = await ids(cid, "T002", "XN")
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    await login(client, "xining")
    values = _form(t001)
    first = _entry_id(await _enter(client, values))
    approved = await _approve(cid, first)

    # A second trade with another employer: the record follows, and the approved entry's
    # ticket (which prints the employer) is reissued.
    response = await _enter(client, {**values, "trade_id": str(t002), "employer": "青海铝业"})
    _entry_id(response)
    assert (await _person(values["id_number"]))["employer"] == "青海铝业"
    now = await Entry.select().where(Entry.id == first).first()
    assert now["status"] == "approved" and now["ticket_version"] == approved["ticket_version"] + 1
    assert await AuditLog.exists().where(
        (AuditLog.action == "entry.ticket_reissued") & (AuditLog.object_id == str(first))
    )


async def test_a_delegation_leaves_a_record_its_person_keeps_through_an_account(
    demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    t001, xn = await ids(cid, "T001", "XN")
    # The contestant registers online, for 西宁: the record is the account's.
    user_id = await _sign_up(other_client, next_mobile(), "马建华")
    entry_id = await register(cid, account_user_id=user_id, name="马建华")
    person_id = (await Entry.select(Entry.person).where(Entry.id == entry_id).first())["person"]

    await login(client, "xining")
    page = await client.get(f"{LIST}/{entry_id}")
    assert 'id="why-not"' in page.text and "通过本人账号维护档案" in page.text
    assert f'action="{LIST}/{entry_id}/photo"' not in page.text
    form = await client.get(f"{LIST}/{entry_id}/edit")
    assert 'id="person-kept"' in form.text and "<fieldset disabled>" in form.text
    assert 'name="photo"' not in form.text

    # A forged form changing the name and the group: the entry's group changes, the record
    # does not.
    values = _form(t001, name="王某某", employer="另一家单位", group_name="学生组")
    values.pop("id_number")
    response = await post_form(client, f"{LIST}/{entry_id}/edit", values)
    assert response.status_code == 303, response.text
    person = await Person.select().where(Person.id == person_id).first()
    assert person["name"] == "马建华" and person["employer"] == "青海省某某机械有限公司"
    assert (await Entry.select(Entry.group_name).where(Entry.id == entry_id).first()) == {
        "group_name": "学生组"
    }
    # Nor does a photo sent to the photo address.
    refused = await post_form(client, f"{LIST}/{entry_id}/photo", {}, files=_photo((0, 0, 255)))
    assert refused.status_code == 409 and "此人已有参赛档案" in refused.text

    # The service refuses it too, whoever calls it.
    with pytest.raises(people.PersonOwned):
        await entries.update_entry(
            entry_id,
            entry_in(t001, xn, id_number=person["id_number"], name="王某某", group="学生组"),
            actor=SYSTEM,
            acting=Acting(Role.delegation_admin, delegation_id=xn, delegation_code="XN"),
        )
    # An organizer may change any record.
    await entries.update_entry(
        entry_id,
        entry_in(t001, xn, id_number=person["id_number"], name="马建国", group="学生组"),
        actor=SYSTEM,
        acting=ORGANIZER,
    )
    assert (await Person.select(Person.name).where(Person.id == person_id).first()) == {
        "name": "马建国"
    }


def next_mobile() -> str:
    return str(next(_mobiles))


# ---------------------------------------------------------------------------- claims


async def test_the_phone_on_file_claims_a_record_at_once(demo_mutable, client, other_client):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    mobile = next_mobile()
    await login(client, "xining")
    values = _form(t001, phone=mobile)
    entry_id = _entry_id(await _enter(client, values))
    approved = await _approve(cid, entry_id)

    user_id = await _sign_up(other_client, mobile, values["name"])
    response = await post_form(
        other_client,
        "/me/entries/claim",
        {"id_number": values["id_number"], "name": values["name"]},
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/me/entries?done=claimed"
    )
    page = await other_client.get(response.headers["location"])
    assert "您的档案已关联到此账号" in page.text and approved["ticket_number"] in page.text
    ticket = await other_client.get(f"/me/entries/{entry_id}/ticket.pdf")
    assert ticket.status_code == 200 and ticket.content.startswith(b"%PDF")
    claim = await PersonClaim.select().where(PersonClaim.user == user_id).first()
    assert claim["status"] == ClaimStatus.confirmed and claim["proof"] == "phone"
    assert (await _person(values["id_number"]))["user"] == user_id


async def test_a_claim_without_proof_waits_for_the_owning_delegation(
    app, demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    values = _form(t001)
    entry_id = _entry_id(await _enter(client, values))
    approved = await _approve(cid, entry_id)

    # Someone who knows the ID number and the name signs up with another mobile number and
    # registers with them: the claim waits, and nothing of the record is shown.
    user_id = await _sign_up(other_client, next_mobile(), values["name"])
    t003, xn = await ids(cid, "T003", "XN")
    register_again = {
        **{k: values[k] for k in ("name", "id_number", "employer", "job", "skill_level")},
        "phone": "13312345678",
        "years_of_service": "8",
        "delegation_id": str(xn),
        "trade_id": str(t003),
        "group_name": "",
    }
    response = await post_form(
        other_client,
        f"/me/entries/new?competition={cid}",
        register_again,
        files={"photo": ("me.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code == 303 and response.headers["location"] == "/me/entries"
    page = await other_client.get("/me/entries")
    assert 'id="claim-pending"' in page.text and "等待推荐单位确认" in page.text
    assert idcard.mask(values["id_number"]) in page.text
    assert approved["ticket_number"] not in page.text and values["employer"] not in page.text
    for url in (f"/me/entries/{entry_id}/ticket.pdf", f"/photos/entries/{entry_id}.jpg"):
        assert (await other_client.get(url)).status_code == 403
    assert (await other_client.get(f"/me/entries/{entry_id}/edit")).status_code == 403
    person = await _person(values["id_number"])
    assert person["user"] is None and person["phone"] == values["phone"]
    assert await Entry.count().where(Entry.person == person["id"]) == 1
    claim = await PersonClaim.select().where(PersonClaim.user == user_id).first()
    assert claim["status"] == ClaimStatus.pending

    # Another delegation neither sees nor decides it.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as haixi:
        await login(haixi, "haixi")
        listing = await haixi.get("/delegation/claims")
        assert 'id="no-claims"' in listing.text and values["name"] not in listing.text
        forged = await post_form(haixi, f"/delegation/claims/{claim['id']}", {"action": "confirm"})
        assert forged.status_code == 403
    assert (await PersonClaim.select(PersonClaim.status).where(PersonClaim.id == claim["id"]))[0][
        "status"
    ] == ClaimStatus.pending

    # The owning delegation sees it (its list says so) and refuses it, with a reason.
    entries_page = await client.get(LIST)
    assert 'id="claims-waiting"' in entries_page.text
    listing = await client.get("/delegation/claims")
    assert f'id="claim-{claim["id"]}"' in listing.text and values["name"] in listing.text
    no_reason = await post_form(client, f"/delegation/claims/{claim['id']}", {"action": "refuse"})
    assert no_reason.status_code == 422 and "请填写原因" in no_reason.text
    refused = await post_form(
        client,
        f"/delegation/claims/{claim['id']}",
        {"action": "refuse", "reason": "请本人携带身份证到单位核实"},
    )
    assert refused.status_code == 303
    page = await other_client.get("/me/entries")
    assert 'id="claim-refused"' in page.text and "请本人携带身份证到单位核实" in page.text
    assert approved["ticket_number"] not in page.text

    # Asked again, then confirmed: the record, its entry and the ticket are the account's.
    again = await post_form(
        other_client,
        "/me/entries/claim",
        {"id_number": values["id_number"], "name": values["name"]},
    )
    assert again.status_code == 303 and again.headers["location"] == "/me/entries"
    second = (
        await PersonClaim.select()
        .where((PersonClaim.user == user_id) & (PersonClaim.status == ClaimStatus.pending))
        .first()
    )
    confirmed = await post_form(client, f"/delegation/claims/{second['id']}", {"action": "confirm"})
    assert confirmed.status_code == 303
    page = await other_client.get("/me/entries")
    assert f"已通过终审，准考证号 {approved['ticket_number']}" in page.text
    ticket = await other_client.get(f"/me/entries/{entry_id}/ticket.pdf")
    assert ticket.status_code == 200
    decided = await PersonClaim.select().where(PersonClaim.id == second["id"]).first()
    assert decided["status"] == ClaimStatus.confirmed and decided["proof"] == "delegation"
    actions = [
        r["action"]
        for r in await AuditLog.select(AuditLog.action)
        .where(AuditLog.object_type == "person_claim")
        .order_by(AuditLog.id)
    ]
    assert actions == [
        "person.claim_requested",
        "person.claim_refused",
        "person.claim_requested",
        "person.claim_confirmed",
    ]


async def test_an_organizer_decides_a_claim_on_a_record_no_delegation_owns(
    app, demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number, acting=ORGANIZER)  # entered by an organizer
    user_id = await _sign_up(other_client, next_mobile(), "马建华")
    response = await post_form(
        other_client, "/me/entries/claim", {"id_number": number, "name": "马建华"}
    )
    assert response.status_code == 303
    claim = await PersonClaim.select().where(PersonClaim.user == user_id).first()

    await login(client, "xining")
    assert 'id="no-claims"' in (await client.get("/delegation/claims")).text
    forged = await post_form(client, f"/delegation/claims/{claim['id']}", {"action": "confirm"})
    assert forged.status_code == 403

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as organizer:
        await login(organizer, "organizer")
        listing = await organizer.get(f"/org/competitions/{cid}/claims")
        assert listing.status_code == 200 and f'id="claim-{claim["id"]}"' in listing.text
        done = await post_form(
            organizer, f"/org/competitions/{cid}/claims/{claim['id']}", {"action": "confirm"}
        )
        assert done.status_code == 303
        shown = (await organizer.get(done.headers["location"])).text
        assert "已确认认领" in shown
    decided = await PersonClaim.select().where(PersonClaim.id == claim["id"]).first()
    assert decided["status"] == ClaimStatus.confirmed and decided["proof"] == "organizer"
    assert (await _person(number))["user"] == user_id


async def test_a_wrong_name_is_answered_like_an_unknown_number(demo_mutable, client):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number, name="马建华")
    await _sign_up(client, next_mobile(), "马建华")
    answers = []
    for id_number, name in ((number, "马建国"), (new_id(), "马建华")):
        response = await post_form(
            client, "/me/entries/claim", {"id_number": id_number, "name": name}
        )
        assert response.status_code == 404
        answers.append(response.text.split('role="alert">')[1].split("<")[0])
    assert answers[0] == answers[1] and "没有找到" in answers[0]
    assert not await PersonClaim.exists()


async def test_two_accounts_and_one_record_only_the_proven_one_gets_it(demo_mutable):
    from tests.support import make_user

    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number, phone="13912345670")
    guesser = await make_user("guesser", Role.contestant)
    pending = await claims.request_claim(number, "马建华", user_id=guesser, actor=SYSTEM)
    assert pending.status == ClaimStatus.pending
    owner = await make_user("13912345670", Role.contestant)
    await User.update({User.phone: "13912345670"}).where(User.id == owner)
    granted = await claims.request_claim(number, "马建华", user_id=owner, actor=SYSTEM)
    assert granted.status == ClaimStatus.confirmed
    statuses = {
        r["user"]: r["status"]
        for r in await PersonClaim.select(PersonClaim.user, PersonClaim.status)
    }
    assert statuses == {guesser: ClaimStatus.refused, owner: ClaimStatus.confirmed}
    with pytest.raises(Conflict) as caught:
        await claims.decide_claim(pending.claim_id, True, acting=ORGANIZER, actor=SYSTEM)
    assert caught.value.code == "claim_decided"


# ---------------------------------------------------------------------------- corrections


CASES = [
    # field, new value, outcome, status afterwards, ticket version change
    ("name", "李海峰", "reissued", "approved", 1),
    ("employer", "青海铝业有限责任公司", "reissued", "approved", 1),
    ("phone", "13909710000", "recorded", "approved", 0),
    ("job", "焊接工", "recorded", "approved", 0),
    ("skill_level", "3", "back_to_review", "submitted", 1),
    ("years_of_service", "9", "back_to_review", "submitted", 1),
    ("group_name", "学生组", "back_to_review", "submitted", 1),
]


@pytest.mark.parametrize(("field", "value", "outcome", "status", "bump"), CASES)
async def test_one_rule_for_a_correction_of_an_approved_entry(
    demo_mutable, client, field, value, outcome, status, bump
):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    values = _form(t001)
    entry_id = _entry_id(await _enter(client, values))
    approved = await _approve(cid, entry_id)
    form = await client.get(f"{LIST}/{entry_id}/edit")
    assert 'id="change-rules"' in form.text

    changed = {**values, field: value}
    changed.pop("id_number")
    response = await post_form(client, f"{LIST}/{entry_id}/edit", changed)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{LIST}/{entry_id}?done={outcome}"
    after = await Entry.select().where(Entry.id == entry_id).first()
    assert after["status"] == status
    assert after["ticket_version"] == approved["ticket_version"] + bump
    assert after["ticket_number"] == approved["ticket_number"]
    assert after["session"] == (approved["session"] if status == "approved" else None)
    page = await client.get(response.headers["location"])
    assert 'id="done-notice"' in page.text


async def test_a_new_photo_reissues_the_ticket_and_the_old_printout_fails_check_in(
    demo_mutable, client
):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    entry_id = _entry_id(await _enter(client, _form(t001)))
    approved = await _approve(cid, entry_id)
    old_token = tokens.sign(
        tokens.TicketClaim(
            competition_id=cid,
            entry_id=entry_id,
            version=approved["ticket_version"],
            ticket_number=approved["ticket_number"],
        )
    )
    page = await client.get(f"{LIST}/{entry_id}")
    assert f'action="{LIST}/{entry_id}/photo"' in page.text
    response = await post_form(client, f"{LIST}/{entry_id}/photo", {}, files=_photo((0, 90, 200)))
    assert response.status_code == 303
    assert response.headers["location"] == f"{LIST}/{entry_id}?done=reissued"
    after = await Entry.select().where(Entry.id == entry_id).first()
    assert after["status"] == "approved"
    assert after["ticket_version"] == approved["ticket_version"] + 1

    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)
    session_id = after["session"]
    stale = await checkin.redeem_ticket(old_token, session_id, "nonce-old", actor=SYSTEM)
    assert stale.outcome == "refused"
    new_token = tokens.sign(
        tokens.TicketClaim(
            competition_id=cid,
            entry_id=entry_id,
            version=after["ticket_version"],
            ticket_number=after["ticket_number"],
        )
    )
    fresh = await checkin.redeem_ticket(new_token, session_id, "nonce-new", actor=SYSTEM)
    assert fresh.outcome == "checked_in"


async def test_the_trail_of_people_holds_no_phone_and_no_full_id(
    demo_mutable, client, other_client
):
    cid = demo_mutable.competition_id
    t001, _xn = await ids(cid, "T001", "XN")
    await login(client, "xining")
    values = _form(t001)
    entry_id = _entry_id(await _enter(client, values))
    await _approve(cid, entry_id)
    changed = {**values, "phone": "13909710000", "name": "李海峰"}
    changed.pop("id_number")
    assert (await post_form(client, f"{LIST}/{entry_id}/edit", changed)).status_code == 303
    await _sign_up(other_client, next_mobile(), "李海峰")
    await post_form(
        other_client, "/me/entries/claim", {"id_number": values["id_number"], "name": "李海峰"}
    )
    rows = await AuditLog.select(AuditLog.old, AuditLog.new).where(
        AuditLog.object_type.is_in(["person", "person_claim"])
    )
    assert len(rows) >= 3
    text = json.dumps([[r["old"], r["new"]] for r in rows], ensure_ascii=False)
    for secret in (values["id_number"], values["phone"], "13909710000"):
        assert secret not in text
    assert "139****0000" in text and idcard.mask(values["id_number"]) in text
