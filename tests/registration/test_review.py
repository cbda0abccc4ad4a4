"""Two-level review with quotas, on the demo (焊工 T001: 3 places a delegation, cap 80)."""

from __future__ import annotations

import asyncio

import pytest

from competition import db, services
from competition.audit import SYSTEM, Actor
from competition.errors import PhaseError, ValidationFailed
from competition.i18n import render
from competition.tables import AuditLog, Competition, Quota
from registration import queries, review
from registration.tables import Entry
from tests.registration.helpers import ids, register
from tests.support import login, post_form


async def _submitted(cid: int, n: int, delegation: str = "XN", trade: str = "T001") -> list[int]:
    return [await register(cid, trade, delegation) for _ in range(n)]


async def test_first_review_stays_inside_the_quota(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 4)
    _trade, xn = await ids(cid, "T001", "XN")
    outcome = await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    assert outcome.done == entry_ids[:3]
    assert [i for i, _ in outcome.refused] == [entry_ids[3]]
    assert "3" in render(outcome.refused[0][1])
    statuses = [
        r["status"]
        for r in await Entry.select(Entry.status)
        .where(Entry.id.is_in(entry_ids))
        .order_by(Entry.id)
    ]
    assert statuses == ["delegation_approved"] * 3 + ["submitted"]
    assert await AuditLog.count().where(AuditLog.action == "entry.delegation_approved") == 3


async def test_a_delegation_cannot_review_anothers_entries(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1, "XN")
    _trade, hx = await ids(cid, "T001", "HX")
    outcome = await review.review_by_delegation(cid, hx, entry_ids, True, actor=SYSTEM)
    assert outcome.done == [] and outcome.refused[0][0] == entry_ids[0]


async def test_rejection_needs_a_reason(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    _trade, xn = await ids(cid, "T001", "XN")
    with pytest.raises(ValidationFailed) as caught:
        await review.review_by_delegation(cid, xn, entry_ids, False, actor=SYSTEM, reason="  ")
    assert caught.value.code == "reason_required"


async def test_final_approval_issues_tickets_and_seats_in_sessions(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 3)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    outcome = await review.review_by_organizer(cid, entry_ids, True, actor=SYSTEM)
    assert outcome.done == entry_ids
    rows = (
        await Entry.select(Entry.ticket_number, Entry.session, Entry.ticket_version)
        .where(Entry.id.is_in(entry_ids))
        .order_by(Entry.id)
    )
    assert [r["ticket_number"] for r in rows] == [
        "QH16-T001-0001",
        "QH16-T001-0002",
        "QH16-T001-0003",
    ]
    assert all(r["ticket_version"] == 1 for r in rows)
    # T001 has two practical sessions: the three are spread over both.
    assert len({r["session"] for r in rows}) == 2


async def test_final_review_needs_first_review(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    outcome = await review.review_by_organizer(cid, entry_ids, True, actor=SYSTEM)
    assert outcome.done == [] and outcome.refused[0][0] == entry_ids[0]


async def test_two_reviewers_at_once_cannot_break_the_quota(demo_mutable):
    """Two organizers approve different entries of the same delegation and trade at the same
    moment; with a quota of 2 only two of the four are approved."""
    cid = demo_mutable.competition_id
    trade, xn = await ids(cid, "T001", "XN")
    entry_ids = await _submitted(cid, 3)
    await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    await Quota.update({Quota.max_entries: 2}).where(
        (Quota.delegation == xn) & (Quota.trade == trade)
    )
    first, second = await asyncio.gather(
        review.review_by_organizer(cid, entry_ids[:2], True, actor=SYSTEM),
        review.review_by_organizer(cid, entry_ids[2:], True, actor=SYSTEM),
    )
    approved = await Entry.count().where(
        (Entry.delegation == xn) & (Entry.trade == trade) & (Entry.status == "approved")
    )
    assert approved == 2
    assert len(first.done) + len(second.done) == 2
    assert len(first.refused) + len(second.refused) == 1


async def test_trade_cap_over_all_delegations(demo_mutable):
    cid = demo_mutable.competition_id
    from competition.tables import Trade

    trade, xn = await ids(cid, "T001", "XN")
    _t, hx = await ids(cid, "T001", "HX")
    await Trade.update({Trade.max_entries: 2}).where(Trade.id == trade)
    mine = await _submitted(cid, 2, "XN")
    theirs = await _submitted(cid, 1, "HX")
    await review.review_by_delegation(cid, xn, mine, True, actor=SYSTEM)
    await review.review_by_delegation(cid, hx, theirs, True, actor=SYSTEM)
    outcome = await review.review_by_organizer(cid, mine + theirs, True, actor=SYSTEM)
    assert len(outcome.done) == 2 and outcome.refused[0][0] == theirs[0]


async def test_revoke_is_final_and_audited(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    await review.revoke_entry(cid, entry_ids[0], "冒名顶替", actor=SYSTEM)
    row = await Entry.select().where(Entry.id == entry_ids[0]).first()
    assert row["status"] == "revoked" and row["review_note"] == "冒名顶替"
    record = await AuditLog.select().where(AuditLog.action == "entry.revoked").first()
    assert record["reason"] == "冒名顶替"
    with pytest.raises(ValidationFailed):
        await review.revoke_entry(cid, entry_ids[0], "again", actor=SYSTEM)


async def test_reviews_refused_after_the_draw_starts(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    # No entry may still wait for review when the draw starts (registration/phase_checks.py).
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, entry_ids, False, actor=SYSTEM, reason="不全")
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)
    with pytest.raises(PhaseError):
        await review.review_by_organizer(cid, entry_ids, True, actor=SYSTEM)


async def test_a_review_waits_for_a_phase_change_in_progress_and_sees_its_outcome(
    demo_mutable,
):
    """A review reads the phase under a share lock: it cannot act under "review" while a move
    to the draw is committing (on PostgreSQL, without the lock, it read the old phase from its
    snapshot and went ahead)."""
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    await services.advance_phase(cid, "review", SYSTEM)
    moving = asyncio.Event()

    async def move_to_the_draw() -> None:
        async with db.transaction():
            await Competition.update({Competition.phase: "draw"}).where(Competition.id == cid)
            moving.set()
            await asyncio.sleep(0.3)

    mover = asyncio.create_task(move_to_the_draw())
    await moving.wait()
    with pytest.raises(PhaseError):
        await review.review_by_organizer(cid, entry_ids, False, actor=SYSTEM, reason="照片不清")
    await mover
    rows = await Entry.select(Entry.status).where(Entry.id.is_in(entry_ids))
    assert [r["status"] for r in rows] == ["delegation_approved"]


async def test_quota_usage_counts_by_status(demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 2)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, entry_ids[:1], True, actor=SYSTEM)
    rows = (await queries.quota_overview(cid, delegation_id=xn)).rows
    welder = next(r for r in rows if r["trade"]["code"] == "T001")
    assert welder["cap"] == 3 and welder["submitted"] == 1
    assert welder["waiting"] == 1 and welder["held"] == 1


# ---------------------------------------------------------------------------- races


ORGANIZER_A = Actor(user_id=None, name="organizer-a")
ORGANIZER_B = Actor(user_id=None, name="organizer-b")


async def _records(action: str, entry_id: int) -> int:
    return await AuditLog.count().where(
        (AuditLog.action == action) & (AuditLog.object_id == str(entry_id))
    )


async def test_one_final_approval_from_two_sessions_at_once_approves_once(demo_mutable):
    """Two organizers approve the same entry at the same moment: one approval, one ticket
    number, one audit record; the next approval in the trade gets the next number (none was
    burned). PostgreSQL reads the status under the entry row's lock; SQLite's write
    transaction serialises the two."""
    cid = demo_mutable.competition_id
    _trade, xn = await ids(cid, "T001", "XN")
    entry_ids = await _submitted(cid, 2)
    await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    first, second = await asyncio.gather(
        review.review_by_organizer(cid, entry_ids[:1], True, actor=ORGANIZER_A),
        review.review_by_organizer(cid, entry_ids[:1], True, actor=ORGANIZER_B),
    )
    assert sorted([first.done, second.done]) == [[], entry_ids[:1]]
    loser = first if not first.done else second
    assert loser.refused[0][1] == "Only an entry that passed first review can be approved."
    winner = second if loser is first else first
    row = await Entry.select().where(Entry.id == entry_ids[0]).first()
    assert row["status"] == "approved" and row["ticket_version"] == 1
    assert row["ticket_number"] == "QH16-T001-0001" == winner.tickets[entry_ids[0]]
    assert await _records("entry.approved", entry_ids[0]) == 1
    following = await review.review_by_organizer(cid, entry_ids[1:], True, actor=SYSTEM)
    assert following.tickets == {entry_ids[1]: "QH16-T001-0002"}


async def test_two_final_rejections_at_once_reject_once(demo_mutable):
    cid = demo_mutable.competition_id
    _trade, xn = await ids(cid, "T001", "XN")
    entry_ids = await _submitted(cid, 1)
    await review.review_by_delegation(cid, xn, entry_ids, True, actor=SYSTEM)
    await review.review_by_organizer(cid, entry_ids, True, actor=SYSTEM)
    first, second = await asyncio.gather(
        review.review_by_organizer(cid, entry_ids, False, actor=ORGANIZER_A, reason="照片不符"),
        review.review_by_organizer(cid, entry_ids, False, actor=ORGANIZER_B, reason="工龄不符"),
    )
    assert sorted([first.done, second.done]) == [[], entry_ids]
    assert await _records("entry.rejected", entry_ids[0]) == 1


async def test_one_first_review_from_two_browsers_at_once_passes_once(
    demo_mutable, client, other_client
):
    """The delegation's admin clicks "pass" in two tabs at once, over HTTP: one passes and
    opens the next entry, the other says the entry is no longer waiting."""
    cid = demo_mutable.competition_id
    entry_ids = await _submitted(cid, 1)
    await login(client, "xining")
    await login(other_client, "xining")
    url = f"/delegation/entries/{entry_ids[0]}/review"
    responses = await asyncio.gather(
        post_form(client, url, {"action": "approve"}),
        post_form(other_client, url, {"action": "approve"}),
    )
    assert sorted(r.status_code for r in responses) == [303, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert "只有已提交的报名才能通过初审" in refused.text
    assert await _records("entry.delegation_approved", entry_ids[0]) == 1
    row = await Entry.select(Entry.status).where(Entry.id == entry_ids[0]).first()
    assert row["status"] == "delegation_approved"


# ---------------------------------------------------------------------------- quotas


async def test_an_unlimited_quota_has_no_cap_and_a_missing_one_no_places(demo_mutable):
    cid = demo_mutable.competition_id
    trade, xn = await ids(cid, "T001", "XN")
    _t, hx = await ids(cid, "T001", "HX")
    await Quota.update({Quota.max_entries: None}).where(
        (Quota.delegation == xn) & (Quota.trade == trade)
    )
    await Quota.delete().where((Quota.delegation == hx) & (Quota.trade == trade))
    mine = await _submitted(cid, 5, "XN")
    theirs = await _submitted(cid, 1, "HX")
    passed = await review.review_by_delegation(cid, xn, mine, True, actor=SYSTEM)
    assert passed.done == mine
    approved = await review.review_by_organizer(cid, mine, True, actor=SYSTEM)
    assert approved.done == mine
    refused = await review.review_by_delegation(cid, hx, theirs, True, actor=SYSTEM)
    assert refused.done == [] and "0" in render(refused.refused[0][1])


async def test_the_next_waiting_entry_comes_after_the_current_one_then_from_the_start(
    demo_mutable,
):
    cid = demo_mutable.competition_id
    _trade, xn = await ids(cid, "T001", "XN")
    a, b, c = await _submitted(cid, 3)
    waiting = "submitted"
    assert await review.next_waiting(cid, status=waiting, after_id=a, delegation_id=xn) == b
    assert await review.next_waiting(cid, status=waiting, after_id=c, delegation_id=xn) == a
    await review.review_by_delegation(cid, xn, [a, b], True, actor=SYSTEM)
    assert await review.next_waiting(cid, status=waiting, after_id=c, delegation_id=xn) is None
    _t, hx = await ids(cid, "T001", "HX")
    assert await review.next_waiting(cid, status=waiting, delegation_id=hx) is None
