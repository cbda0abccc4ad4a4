"""The lifecycle of one competition (届) as a state machine. Pure: no database here.

setup → registration → review → draw → competing → locked → published → final

A few steps may be taken back while nothing irreversible has happened (reopen registration
during review, withdraw a publication to correct a score after an appeal).
"""

from __future__ import annotations

import datetime as dt
import enum

from competition.errors import PhaseError
from competition.i18n import N_, Msg


class Phase(enum.StrEnum):
    setup = "setup"  # 筹备
    registration = "registration"  # 报名
    review = "review"  # 审核
    draw = "draw"  # 检录与抽签
    competing = "competing"  # 比赛与评分
    locked = "locked"  # 成绩锁定
    published = "published"  # 成绩公示
    final = "final"  # 最终结果


PHASE_LABELS: dict[Phase, Msg] = {
    Phase.setup: N_("Setup"),
    Phase.registration: N_("Registration open"),
    Phase.review: N_("Review"),
    Phase.draw: N_("Check-in and draw"),
    Phase.competing: N_("Competing and scoring"),
    Phase.locked: N_("Scores locked"),
    Phase.published: N_("Results published"),
    Phase.final: N_("Final results"),
}

FORWARD: dict[Phase, Phase] = {
    Phase.setup: Phase.registration,
    Phase.registration: Phase.review,
    Phase.review: Phase.draw,
    Phase.draw: Phase.competing,
    Phase.competing: Phase.locked,
    Phase.locked: Phase.published,
    Phase.published: Phase.final,
}

# Going back is allowed only where no decision that others relied on is undone.
BACKWARD: dict[Phase, Phase] = {
    Phase.registration: Phase.setup,
    Phase.review: Phase.registration,
    Phase.published: Phase.locked,
}

# Phases in which the structure (industries, trades, delegations, quotas, venues, sessions,
# stations) may still be edited. Once competing starts, changing a weight would change results.
STRUCTURE_EDITABLE = frozenset({Phase.setup, Phase.registration, Phase.review, Phase.draw})


# New people may be entered (registered, imported) only while registration is open.
REGISTRATION_PHASES = frozenset({Phase.registration})


def registration_refusal(
    phase: Phase | str, closes_on: dt.date | None, today: dt.date, *, late_allowed: bool
) -> Msg | None:
    """Why new people may not be entered in a competition in `phase` whose registration closes
    after the day `closes_on` (报名截止日期, local time), or None if they may. `late_allowed`
    (an organizer entering a late registration) passes the deadline, never the phase."""
    phase = Phase(phase)
    if phase not in REGISTRATION_PHASES:
        return N_(
            "The competition is in the phase “{phase}”: registering new people is closed.",
            phase=PHASE_LABELS[phase],
        )
    if closes_on is not None and today > closes_on and not late_allowed:
        return N_(
            "Registration closed on {date}: new entries are no longer accepted.",
            date=closes_on.isoformat(),
        )
    return None


def allowed_targets(current: Phase) -> list[Phase]:
    targets = []
    if current in FORWARD:
        targets.append(FORWARD[current])
    if current in BACKWARD:
        targets.append(BACKWARD[current])
    return targets


def check_transition(current: Phase | str, target: Phase | str) -> Phase:
    """Return the target phase if the move is legal, else raise PhaseError with the reason."""
    try:
        current = Phase(current)
    except ValueError as exc:
        raise PhaseError(
            "Unknown phase: {phase}", code="unknown_phase", phase=str(current)
        ) from exc
    try:
        target = Phase(target)
    except ValueError as exc:
        raise PhaseError("Unknown phase: {phase}", code="unknown_phase", phase=str(target)) from exc
    if target == current:
        raise PhaseError(
            "The competition is already in the phase “{target}”.",
            code="same_phase",
            target=PHASE_LABELS[target],
        )
    allowed = allowed_targets(current)
    if target not in allowed:
        if not allowed:
            raise PhaseError(
                "“{current}” is the last phase; the competition cannot move on.",
                code="illegal_transition",
                current=PHASE_LABELS[current],
            )
        raise PhaseError(
            "Cannot move from “{current}” to “{target}”: the next step can only be {allowed}.",
            code="illegal_transition",
            current=PHASE_LABELS[current],
            target=PHASE_LABELS[target],
            allowed=[PHASE_LABELS[p] for p in allowed],
        )
    return target


def require_phase(current: Phase | str, allowed: frozenset[Phase], action: Msg) -> None:
    """Refuse an action that does not belong to the current phase."""
    current = Phase(current)
    if current not in allowed:
        raise PhaseError(
            "“{action}” is not possible while the competition is in “{current}”.",
            code="wrong_phase",
            action=action,
            current=PHASE_LABELS[current],
        )
