"""Moving a competition to its next phase: what the move leaves behind is shown and recorded,
a move that leaves things behind needs a reason, and no entry may still wait for review when
the draw starts — in the service, so the page and the API refuse alike."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from competition import services
from competition.audit import SYSTEM
from competition.clock import local_today
from competition.errors import PhaseError, ValidationFailed
from competition.i18n import render
from competition.phases import Phase
from competition.services import Finding, Severity
from competition.tables import AuditLog, Competition, Quota
from registration import review
from registration.tables import Entry
from tests.page_text import element, en, in_chinese, text, zh
from tests.registration.helpers import ids, register
from tests.support import login, post_form, post_json


async def _phase(cid: int) -> str:
    return (await Competition.select(Competition.phase).where(Competition.id == cid).first())[
        "phase"
    ]


async def _last_phase_record() -> dict:
    return (
        await AuditLog.select()
        .where(AuditLog.action == "competition.phase")
        .order_by(AuditLog.id, ascending=False)
        .output(load_json=True)
        .first()
    )


async def _entries(cid: int) -> dict[str, list[int]]:
    """Two entries waiting for first review, one for final review, one approved."""
    waiting = [await register(cid) for _ in range(2)]
    first = [await register(cid) for _ in range(2)]
    _t, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, first, True, actor=SYSTEM)
    await review.review_by_organizer(cid, first[:1], True, actor=SYSTEM)
    return {"submitted": waiting, "final": first[1:], "approved": first[:1]}


async def test_the_draw_cannot_start_while_entries_wait_for_review(demo_mutable):
    cid = demo_mutable.competition_id
    made = await _entries(cid)
    # Registration → review leaves the waiting entries for the review phase: noted, no reason.
    preview = await services.preview_phase(cid, "review")
    assert [(f.code, f.severity, f.count) for f in preview.findings] == [
        ("waiting_first_review", Severity.note, 2),
        ("waiting_final_review", Severity.note, 1),
    ]
    await services.advance_phase(cid, "review", SYSTEM)
    record = await _last_phase_record()
    assert record["new"] == {
        "phase": "review",
        "left_behind": {"waiting_first_review": 2, "waiting_final_review": 1},
    }

    with pytest.raises(PhaseError) as caught:
        await services.advance_phase(cid, "draw", SYSTEM, reason="赶时间")
    assert caught.value.code == "waiting_first_review"
    message = zh(caught.value.message, **caught.value.params)
    assert zh("Entries still waiting for first review: {n}.", n=2) in message
    assert zh("Entries still waiting for final review: {n}.", n=1) in message
    assert await _phase(cid) == "review"
    assert (await _last_phase_record())["new"]["phase"] == "review"

    # Once every entry is decided, the draw may start.
    _t, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(
        cid, xn, made["submitted"], False, actor=SYSTEM, reason="材料不全"
    )
    await review.review_by_organizer(cid, made["final"], True, actor=SYSTEM)
    assert (await services.preview_phase(cid, "draw")).findings == []
    assert await services.advance_phase(cid, "draw", SYSTEM) == Phase.draw
    assert (await _last_phase_record())["new"] == {"phase": "draw"}


async def test_leaving_something_behind_needs_a_reason_kept_in_the_record(demo_mutable):
    cid = demo_mutable.competition_id
    made = await _entries(cid)
    welder, xn = await ids(cid, "T001", "XN")
    await Quota.update({Quota.max_entries: 10}).where(
        (Quota.delegation == xn) & (Quota.trade == welder)
    )
    await review.review_by_delegation(cid, xn, made["submitted"], True, actor=SYSTEM)
    await review.review_by_organizer(cid, made["submitted"] + made["final"], True, actor=SYSTEM)
    # An approved entry whose session was taken away (e.g. the session was moved).
    await Entry.update({Entry.session: None}).where(Entry.id == made["approved"][0])
    await services.advance_phase(cid, "review", SYSTEM)
    preview = await services.preview_phase(cid, "draw")
    assert preview.findings == [
        Finding(
            "approved_without_session",
            Severity.warning,
            1,
            preview.findings[0].message,
        )
    ]
    assert preview.needs_reason and not preview.blocking
    with pytest.raises(ValidationFailed) as caught:
        await services.advance_phase(cid, "draw", SYSTEM, reason="   ")
    assert caught.value.code == "phase_reason_required"
    assert await _phase(cid) == "review"
    await services.advance_phase(cid, "draw", SYSTEM, reason="场次稍后补排")
    record = await _last_phase_record()
    assert record["reason"] == "场次稍后补排"
    assert record["new"] == {"phase": "draw", "left_behind": {"approved_without_session": 1}}


async def test_closing_registration_before_its_announced_deadline_is_a_warning(demo_mutable):
    cid = demo_mutable.competition_id
    deadline = local_today() + dt.timedelta(days=2)
    await Competition.update({Competition.registration_closes_on: deadline}).where(
        Competition.id == cid
    )
    preview = await services.preview_phase(cid, "review")
    assert [(f.code, f.severity, f.count) for f in preview.findings] == [
        ("before_registration_deadline", Severity.warning, 3)
    ]
    assert preview.needs_reason and not preview.blocking
    assert deadline.isoformat() in in_chinese(render, preview.findings[0].message)
    await Competition.update(
        {Competition.registration_closes_on: local_today() - dt.timedelta(days=1)}
    ).where(Competition.id == cid)
    assert (await services.preview_phase(cid, "review")).findings == []


async def test_the_overview_shows_each_move_and_what_it_leaves_behind(client, demo_full):
    cid = demo_full.competition_id
    await login(client, "organizer")
    page = (await client.get(f"/org/competitions/{cid}")).text
    forward = text(element(page, "move-review", "form"))
    assert zh("Move on to “{phase}”", phase=zh("Review")) in forward
    assert zh("Entries still waiting for first review: {n}.", n=55) in forward
    assert zh("Entries still waiting for final review: {n}.", n=65) in forward
    back = element(page, "move-setup", "form")
    assert zh("Registered entries: {n}; in setup nobody can register or correct one.", n=312) in (
        text(back)
    )
    assert re.search(r'name="reason"[^>]*required', back)  # going back needs a reason
    assert not re.search(r'name="reason"[^>]*required', element(page, "move-review", "form"))

    # Going back without a reason is refused on the page, the phase stays, the text is kept.
    response = await post_form(
        client, f"/org/competitions/{cid}/phase", {"target": "setup", "reason": ""}
    )
    assert response.status_code == 422
    assert zh("Give a reason for moving on: {left}", left="") in text(response.text)
    assert await _phase(cid) == "registration"

    response = await post_form(
        client, f"/org/competitions/{cid}/phase", {"target": "review", "reason": "报名截止"}
    )
    assert response.status_code == 303
    page = (await client.get(f"/org/competitions/{cid}")).text
    # In review, the draw is blocked: the reasons show and no button offers the move.
    draw = element(page, "move-draw", "form")
    assert zh("Blocks the move") in text(draw)
    assert zh("Entries still waiting for first review: {n}.", n=55) in text(draw)
    assert "<button" not in draw
    refused = await post_form(
        client, f"/org/competitions/{cid}/phase", {"target": "draw", "reason": "试试"}
    )
    assert refused.status_code == 409
    assert await _phase(cid) == "review"


async def test_the_api_uses_the_same_service(client, demo_full):
    cid = demo_full.competition_id
    await login(client, "organizer")
    url = f"/api/competitions/{cid}/phase"
    assert (await post_json(client, url, {"target": "review"})).status_code == 200
    refused = await post_json(client, url, {"target": "draw", "reason": "x"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "waiting_first_review"
    assert await _phase(cid) == "review"
    back = await post_json(client, url, {"target": "registration"})
    assert back.status_code == 200


async def test_overview_in_english(client, demo_full):
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    page = (await client.get(f"/org/competitions/{demo_full.competition_id}")).text
    assert "Qinghai 16th Workers' Vocational Skills Competition" in text(page)
    assert en("Entries still waiting for first review: {n}.", n=55) in text(page)
    assert en("What this move leaves behind:") in page
