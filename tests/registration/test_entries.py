"""Registering, correcting and withdrawing entries through the services, on the demo."""

from __future__ import annotations

import datetime as dt

import pytest

from competition import clock, services
from competition.audit import SYSTEM
from competition.errors import Conflict, PhaseError, ValidationFailed
from competition.i18n import translate_error
from competition.tables import AuditLog, Competition, Role
from registration import claims, entries, review
from registration.people import Acting
from registration.tables import AwardHistory, Entry, Person, PersonClaim
from tests.page_text import in_chinese, zh
from tests.registration.helpers import entry_in, ids, new_id, register
from tests.support import make_user

# The demo's 西宁 delegation, known by its code (the same code is the same owner, people.py).
XN_ACTS = Acting(role=Role.delegation_admin, delegation_code="XN")


async def test_register_derives_gender_and_birth_date_and_audits(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id(dt.date(1988, 3, 9), male=False)
    entry_id = await register(cid, id_number=number.lower())
    person = await Person.select().where(Person.id_number == number).first()
    assert person["gender"] == "female" and person["birth_date"] == dt.date(1988, 3, 9)
    entry = await Entry.select().where(Entry.id == entry_id).first()
    assert entry["status"] == "submitted" and entry["slot"] == 1
    assert entry["group_name"] == "职工组"
    record = (
        await AuditLog.select()
        .where((AuditLog.action == "entry.create") & (AuditLog.object_id == str(entry_id)))
        .first()
    )
    assert record is not None


async def test_same_trade_twice_is_refused(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number)
    with pytest.raises(Conflict) as caught:
        await register(cid, id_number=number)
    assert caught.value.code == "already_entered"
    assert await Entry.count().where(Entry.person.id_number == number) == 1


async def test_second_trade_refused_when_the_limit_is_one(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number)
    with pytest.raises(Conflict) as caught:
        await register(cid, "T002", id_number=number)
    assert caught.value.code == "too_many_trades"
    assert "1" in translate_error(caught.value)


async def test_limit_of_two_allows_a_second_trade_and_the_database_backs_it(demo_mutable):
    cid = demo_mutable.competition_id
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    number = new_id()
    await register(cid, id_number=number)
    await register(cid, "T002", id_number=number)
    with pytest.raises(Conflict):
        await register(cid, "T003", id_number=number, group="")
    # The unique index is the backstop: a third row in slot 2 is refused by the database.
    person = await Person.select(Person.id).where(Person.id_number == number).first()
    row = await Entry.select().where(Entry.person == person["id"]).first()
    trade3, _ = await ids(cid, "T003", "XN")
    with pytest.raises(Exception) as caught:
        await Entry.insert(
            Entry(
                competition=cid,
                trade=trade3,
                person=person["id"],
                delegation=row["delegation"],
                slot=2,
                status="submitted",
            )
        )
    from competition.db import is_integrity_error

    assert is_integrity_error(caught.value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": "630102199005171230"}, "id_number"),  # bad checksum
        ({"phone": "12345"}, "phone"),
        ({"name": "张3"}, "name"),
        ({"group": "少年组"}, "group_name"),
        ({"employer": ""}, "employer"),
        ({"years": 40}, "years_of_service"),  # 36 years old: cannot have worked 40 years
    ],
)
async def test_bad_fields_are_named_and_nothing_is_stored(demo_mutable, overrides, field):
    cid = demo_mutable.competition_id
    before = await Entry.count()
    with pytest.raises(ValidationFailed) as caught:
        await register(cid, **overrides)
    assert field in caught.value.field_errors
    assert await Entry.count() == before


async def test_eligibility_refusal_gives_every_reason(demo_mutable):
    cid = demo_mutable.competition_id
    # T003 装配钳工: level 4 required, 1 year of service; a 15-year-old without a level.
    young = new_id(dt.date(2012, 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        await register(cid, "T003", id_number=young, group="", skill_level=None, years=0)
    assert caught.value.code == "not_eligible"
    message = translate_error(caught.value)
    assert "16" in message and "四级" in message and "工龄" in message


async def test_previous_first_prize_winner_is_barred(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    await AwardHistory.insert(
        AwardHistory(id_number=number, name="马建华", trade_name="焊工", award="first", year=2019)
    )
    with pytest.raises(ValidationFailed) as caught:
        await register(cid, id_number=number)
    assert "一等奖" in translate_error(caught.value)
    # A second prize does not bar.
    other = new_id()
    await AwardHistory.insert(
        AwardHistory(id_number=other, trade_name="焊工", award="second", year=2019)
    )
    await register(cid, id_number=other)


async def test_registration_only_while_open(demo_mutable):
    cid = demo_mutable.competition_id
    await services.advance_phase(cid, "review", SYSTEM)
    with pytest.raises(PhaseError):
        await register(cid)


async def test_the_deadline_closes_registration_for_contestants_and_delegations_only(
    demo_mutable,
):
    cid = demo_mutable.competition_id
    today = clock.local_today()
    await Competition.update({Competition.registration_closes_on: today}).where(
        Competition.id == cid
    )
    await register(cid)  # the deadline day itself is still open
    await Competition.update(
        {Competition.registration_closes_on: today - dt.timedelta(days=1)}
    ).where(Competition.id == cid)
    before = await Entry.count()
    with pytest.raises(PhaseError) as caught:
        await register(cid)
    assert caught.value.code == "registration_closed"
    closed_on = (today - dt.timedelta(days=1)).isoformat()
    assert zh(
        "Registration closed on {date}: new entries are no longer accepted.", date=closed_on
    ) == in_chinese(translate_error, caught.value)
    user = await make_user("late-contestant", Role.contestant)
    with pytest.raises(PhaseError):
        await register(cid, account_user_id=user)
    assert await Entry.count() == before
    # A late registration entered by the organizer is still taken.
    await register(cid, acting=Acting(role=Role.organizer))
    assert await Entry.count() == before + 1


async def test_account_meeting_a_delegations_record_claims_it_and_nobody_else_can(
    demo_mutable,
):
    cid = demo_mutable.competition_id
    number = new_id()
    await register(cid, id_number=number, photo=False)  # entered by 西宁 (XN)
    owner = await make_user("claimer", Role.contestant)
    trade2, xn = await ids(cid, "T002", "XN")
    await Competition.update({Competition.max_trades_per_person: 2}).where(Competition.id == cid)
    # The account's phone is not the one on file: the claim waits, nothing is registered.
    with pytest.raises(claims.ClaimPending):
        await entries.register_entry(
            cid,
            entry_in(trade2, xn, id_number=number),
            actor=SYSTEM,
            acting=Acting(role=Role.contestant, user_id=owner),
        )
    person = await Person.select().where(Person.id_number == number).first()
    assert person["user"] is None
    assert await Entry.count().where(Entry.person == person["id"]) == 1
    claim = await PersonClaim.select().where(PersonClaim.user == owner).first()
    assert claim["status"] == "pending"
    # The delegation confirms; the account registers for a second trade as the owner.
    await claims.decide_claim(
        claim["id"],
        True,
        acting=Acting(role=Role.delegation_admin, delegation_id=xn, delegation_code="XN"),
        actor=SYSTEM,
    )
    await entries.register_entry(
        cid,
        entry_in(trade2, xn, id_number=number),
        actor=SYSTEM,
        acting=Acting(role=Role.contestant, user_id=owner),
    )
    assert await Entry.count().where(Entry.person == person["id"]) == 2
    intruder = await make_user("intruder", Role.contestant)
    trade3, _ = await ids(cid, "T003", "XN")
    with pytest.raises(Conflict) as caught:
        await entries.register_entry(
            cid,
            entry_in(trade3, xn, id_number=number, group=""),
            actor=SYSTEM,
            acting=Acting(role=Role.contestant, user_id=intruder),
        )
    assert caught.value.code == "id_taken"


async def test_a_trade_change_sends_an_approved_entry_back_and_voids_the_ticket(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await register(cid, id_number=number)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    before = await Entry.select().where(Entry.id == entry_id).first()
    assert before["status"] == "approved" and before["ticket_number"]
    trade2, xn = await ids(cid, "T002", "XN")
    correction = await entries.update_entry(
        entry_id, entry_in(trade2, xn, id_number=number), actor=SYSTEM, acting=XN_ACTS
    )
    after = await Entry.select().where(Entry.id == entry_id).first()
    assert correction.outcome == "back_to_review" and after["status"] == "submitted"
    assert after["ticket_version"] == before["ticket_version"] + 1
    assert after["ticket_number"] == before["ticket_number"]
    assert after["session"] is None


async def test_rejected_entry_is_corrected_and_resubmitted(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await register(cid, id_number=number)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], False, actor=SYSTEM, reason="照片不清晰")
    rejected = await Entry.select().where(Entry.id == entry_id).first()
    assert rejected["status"] == "rejected" and rejected["review_note"] == "照片不清晰"
    trade, xn = await ids(cid, "T001", "XN")
    correction = await entries.update_entry(
        entry_id, entry_in(trade, xn, id_number=number), actor=SYSTEM, acting=XN_ACTS
    )
    again = await Entry.select().where(Entry.id == entry_id).first()
    assert again["status"] == "submitted" and again["review_note"] == ""
    assert correction.outcome == "resubmitted"


async def test_withdraw_frees_the_place(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await register(cid, id_number=number)
    await entries.withdraw_entry(entry_id, actor=SYSTEM)
    assert not await Entry.exists().where(Entry.id == entry_id)
    await register(cid, "T002", id_number=number)
