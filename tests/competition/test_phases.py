"""The lifecycle state machine, pure and through the service and the page."""

from __future__ import annotations

import datetime as dt

import pytest

from competition import services
from competition.audit import SYSTEM
from competition.errors import PhaseError
from competition.i18n import current_locale, translate_error
from competition.phases import Phase, allowed_targets, check_transition, registration_refusal
from competition.tables import AuditLog, Competition
from tests.support import login, post_form

LIFECYCLE = ["setup", "registration", "review", "draw", "competing", "locked", "published", "final"]


def test_forward_path_visits_every_phase_in_order():
    phase = Phase.setup
    visited = [phase.value]
    while phase != Phase.final:
        phase = check_transition(phase, LIFECYCLE[LIFECYCLE.index(phase.value) + 1])
        visited.append(phase.value)
    assert visited == LIFECYCLE


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("setup", "competing"),  # skipping ahead
        ("registration", "draw"),  # skipping review
        ("locked", "competing"),  # unlocking scores by moving back
        ("final", "published"),  # final is final
        ("draw", "review"),  # no going back once the draw has been made
    ],
)
def test_illegal_transitions_are_refused_with_the_allowed_steps(current, target):
    with pytest.raises(PhaseError) as caught:
        check_transition(current, target)
    assert caught.value.code == "illegal_transition"
    token = current_locale.set("en")
    try:
        message = translate_error(caught.value)
    finally:
        current_locale.reset(token)
    assert "Cannot move" in message or "last phase" in message


def test_the_registration_deadline_day_is_the_last_day_and_binds_all_but_late_entries():
    closes = dt.date(2027, 3, 31)
    assert registration_refusal("registration", closes, closes, late_allowed=False) is None
    after = registration_refusal("registration", closes, dt.date(2027, 4, 1), late_allowed=False)
    assert after is not None and after.params == {"date": "2027-03-31"}
    late = registration_refusal("registration", closes, dt.date(2027, 4, 1), late_allowed=True)
    assert late is None
    assert (
        registration_refusal("registration", None, dt.date(2099, 1, 1), late_allowed=False) is None
    )
    # The phase binds everyone, the organizer's late entries too.
    for phase in ("setup", "review", "draw"):
        refusal = registration_refusal(phase, None, closes, late_allowed=True)
        assert refusal is not None and "phase" in refusal.params


def test_unknown_and_same_phase():
    with pytest.raises(PhaseError) as unknown:
        check_transition("setup", "party")
    assert unknown.value.code == "unknown_phase"
    with pytest.raises(PhaseError) as same:
        check_transition("review", "review")
    assert same.value.code == "same_phase"


def test_allowed_backward_steps():
    assert allowed_targets(Phase.review) == [Phase.draw, Phase.registration]
    assert allowed_targets(Phase.published) == [Phase.final, Phase.locked]
    assert allowed_targets(Phase.final) == []


def test_chinese_reason_names_both_phases():
    with pytest.raises(PhaseError) as caught:
        check_transition("setup", "competing")
    message = translate_error(caught.value)  # zh_CN is the default locale
    assert "筹备" in message and "比赛" in message and "报名" in message


async def _competition() -> int:
    return await services.create_competition(
        services.CompetitionIn(code="T1", name="测试大赛", year=2027), SYSTEM
    )


async def test_registration_needs_a_trade_and_leaves_the_phase_unchanged(empty_db):
    competition_id = await _competition()
    with pytest.raises(PhaseError) as caught:
        await services.advance_phase(competition_id, "registration", SYSTEM)
    assert caught.value.code == "no_trades"
    row = (
        await Competition.select(Competition.phase).where(Competition.id == competition_id).first()
    )
    assert row["phase"] == "setup"
    assert not await AuditLog.exists().where(AuditLog.action == "competition.phase")


async def test_phase_change_is_audited_with_reason(demo_mutable):
    competition_id = demo_mutable.competition_id
    await services.advance_phase(competition_id, "review", SYSTEM, reason="报名截止")
    record = (
        await AuditLog.select()
        .where(AuditLog.action == "competition.phase")
        .order_by(AuditLog.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert record["old"] == {"phase": "registration"}
    assert record["new"] == {"phase": "review"}
    assert record["reason"] == "报名截止"


async def test_illegal_transition_over_http_is_409_in_chinese(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    response = await post_form(client, f"/org/competitions/{cid}/phase", {"target": "final"})
    assert response.status_code == 409
    assert "不能从" in response.text
    row = await Competition.select(Competition.phase).where(Competition.id == cid).first()
    assert row["phase"] == "registration"
