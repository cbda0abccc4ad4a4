"""Each trade's own stage: the pure machine, its refusals with reasons, who takes each move."""

from __future__ import annotations

import datetime as dt

import pytest

from competition.errors import PhaseError
from competition.i18n import current_locale, render, translate_error
from competition.phases import Phase
from competition.stages import (
    MOVES,
    STAGE_PHASES,
    Mover,
    Stage,
    TradeFacts,
    allowed_targets,
    check_move,
    checkin_refusal,
    move_refusal,
    require_stage,
)

ORDER = [
    "not_drawn", "drawn", "competing", "marks_complete", "locked", "decrypted", "published",
    "final",
]  # fmt: skip
# A phase in which each stage may be entered.
PHASE_FOR = {
    Stage.drawn: Phase.draw,
    Stage.competing: Phase.competing,
    Stage.marks_complete: Phase.competing,
    Stage.locked: Phase.competing,
    Stage.decrypted: Phase.locked,
    Stage.published: Phase.published,
    Stage.final: Phase.final,
}


def english(message) -> str:
    token = current_locale.set("en")
    try:
        return render(message)
    finally:
        current_locale.reset(token)


def test_the_forward_path_visits_every_stage_in_order():
    stage = Stage.not_drawn
    visited = [stage.value]
    while stage != Stage.final:
        target = Stage(ORDER[ORDER.index(stage.value) + 1])
        stage = check_move(stage, target, TradeFacts(PHASE_FOR[target], checkin_closed=True))
        visited.append(stage.value)
    assert visited == ORDER


def test_every_legal_move_has_exactly_one_mover():
    legal = {(s, t) for s in Stage for t in allowed_targets(s)}
    assert legal == set(MOVES)
    # The organizer's own page takes only the start and its undo.
    assert {m for m, who in MOVES.items() if who == Mover.organizer} == {
        (Stage.drawn, Stage.competing),
        (Stage.competing, Stage.drawn),
    }


@pytest.mark.parametrize(
    ("current", "target", "phase", "expected"),
    [
        ("not_drawn", "competing", Phase.competing, "the next step can only be"),  # skip
        ("locked", "competing", Phase.competing, "the next step can only be"),  # unlock
        ("final", "published", Phase.final, "last stage"),
        ("drawn", "drawn", Phase.draw, "already in the stage"),
        # A trade draws only in the competition's check-in and draw (or later competing days).
        ("not_drawn", "drawn", Phase.review, "only while the competition is in"),
        # …and competes only once the competition competes.
        ("drawn", "competing", Phase.draw, "only while the competition is in"),
        # Results are final only once the competition's are published.
        ("published", "final", Phase.competing, "only while the competition is in"),
    ],
)
def test_refusals_name_the_reason(current, target, phase, expected):
    refusal = move_refusal(current, target, TradeFacts(phase, checkin_closed=True))
    assert refusal is not None
    assert expected in english(refusal)
    with pytest.raises(PhaseError) as caught:
        check_move(current, target, TradeFacts(phase, checkin_closed=True))
    assert caught.value.code == "illegal_stage_move"


def test_the_draw_waits_for_check_in_to_close():
    open_ = TradeFacts(Phase.draw, checkin_closed=False)
    assert "close it before the draw" in english(move_refusal("not_drawn", "drawn", open_))
    assert move_refusal("not_drawn", "drawn", TradeFacts(Phase.draw, checkin_closed=True)) is None


def test_a_start_is_taken_back_only_before_any_mark():
    assert move_refusal("competing", "drawn", TradeFacts(Phase.competing)) is None
    marked = TradeFacts(Phase.competing, marks_exist=True)
    assert "Marks have been given" in english(move_refusal("competing", "drawn", marked))


def test_every_stage_is_reachable_in_some_phase_and_phases_only_grow():
    index = list(Phase).index
    for stage in Stage:
        assert STAGE_PHASES[stage], stage
    # A later stage never needs an earlier phase than the stage before it.
    lows = [min(index(p) for p in STAGE_PHASES[s]) for s in Stage]
    assert lows == sorted(lows)


def test_unknown_stage_is_refused_not_a_crash():
    with pytest.raises(PhaseError) as caught:
        check_move("bogus", "drawn", TradeFacts(Phase.draw))
    assert caught.value.code == "unknown_stage"


def test_require_stage_refuses_in_chinese():
    with pytest.raises(PhaseError) as caught:
        require_stage("competing", frozenset({Stage.not_drawn}), "抽签")
    assert caught.value.code == "wrong_stage"
    token = current_locale.set("zh_CN")
    try:
        message = translate_error(caught.value)
    finally:
        current_locale.reset(token)
    assert "比赛中" in message and "抽签" in message


def test_check_in_closes_with_the_organizer_or_the_draw():
    assert checkin_refusal("not_drawn", None) is None
    now = dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
    assert "closed by the organizer" in english(checkin_refusal("not_drawn", now))
    assert "check-in is over" in english(checkin_refusal("drawn", now))
