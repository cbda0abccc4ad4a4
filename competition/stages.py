"""Each trade's own stage (工种进度) inside the competition's phase, as a state machine. Pure: no
database here, like `competition/phases.py`.

not drawn → drawn → competing → marks complete → locked → decrypted → published → final

A competition of 100 trades runs them on different days, so one trade may be locked while
another has not drawn. The competition's phase bounds what a trade may do: a trade draws only
while the competition is in check-in and draw (or already competing, for the later days), and
its results are final only once the competition's are published.

Each move belongs to one verb and one role (`MOVES`): the draw moves a trade to "drawn", the
organizer starts it, the chief judge locks it, the encryption role decrypts it. The organizer's
stage page offers only the organizer's own moves; the others say who takes them.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from dataclasses import dataclass

from competition.errors import PhaseError
from competition.i18n import N_, Msg
from competition.phases import PHASE_LABELS, Phase


class Stage(enum.StrEnum):
    not_drawn = "not_drawn"  # 未抽签
    drawn = "drawn"  # 已抽签
    competing = "competing"  # 比赛中
    marks_complete = "marks_complete"  # 评分完成
    locked = "locked"  # 成绩锁定
    decrypted = "decrypted"  # 已解密
    published = "published"  # 成绩公示
    final = "final"  # 最终结果


STAGE_LABELS: dict[Stage, Msg] = {
    Stage.not_drawn: N_("Not drawn"),
    Stage.drawn: N_("Drawn"),
    Stage.competing: N_("Competing"),
    Stage.marks_complete: N_("Marks complete"),
    Stage.locked: N_("Locked"),
    Stage.decrypted: N_("Decrypted"),
    Stage.published: N_("Published"),
    Stage.final: N_("Final"),
}

ORDER: tuple[Stage, ...] = tuple(Stage)

FORWARD: dict[Stage, Stage] = dict(itertools.pairwise(ORDER))

# Going back is allowed only where nothing others relied on is undone: a trade started by
# mistake before any mark, a sheet reopened before the lock, a publication withdrawn to
# correct a score after an appeal (through the locked-score change path).
BACKWARD: dict[Stage, Stage] = {
    Stage.competing: Stage.drawn,
    Stage.marks_complete: Stage.competing,
    Stage.published: Stage.decrypted,
}


class Mover(enum.StrEnum):
    """Who takes a move, and by which verb."""

    draw = "draw"  # the draw (抽签) run by the organizer
    organizer = "organizer"  # the stage page
    sheets = "sheets"  # the last signed score sheet completes the marks
    chief_judge = "chief_judge"  # the chief judge's lock
    encryption = "encryption"  # the encryption role's decryption
    publication = "publication"  # the organizer's publication and its end


MOVES: dict[tuple[Stage, Stage], Mover] = {
    (Stage.not_drawn, Stage.drawn): Mover.draw,
    (Stage.drawn, Stage.competing): Mover.organizer,
    (Stage.competing, Stage.drawn): Mover.organizer,
    (Stage.competing, Stage.marks_complete): Mover.sheets,
    (Stage.marks_complete, Stage.competing): Mover.chief_judge,
    (Stage.marks_complete, Stage.locked): Mover.chief_judge,
    (Stage.locked, Stage.decrypted): Mover.encryption,
    (Stage.decrypted, Stage.published): Mover.publication,
    (Stage.published, Stage.decrypted): Mover.publication,
    (Stage.published, Stage.final): Mover.publication,
}

MOVER_LABELS: dict[Mover, Msg] = {
    Mover.draw: N_("the draw"),
    Mover.organizer: N_("the organizer on this page"),
    Mover.sheets: N_("the last signed score sheet"),
    Mover.chief_judge: N_("the chief judge"),
    Mover.encryption: N_("the encryption role's decryption"),
    Mover.publication: N_("the publication of results"),
}

# The competition phases in which a trade may be in (and so move into) each stage.
STAGE_PHASES: dict[Stage, frozenset[Phase]] = {
    Stage.not_drawn: frozenset(
        {Phase.setup, Phase.registration, Phase.review, Phase.draw, Phase.competing}
    ),
    Stage.drawn: frozenset({Phase.draw, Phase.competing}),
    Stage.competing: frozenset({Phase.competing}),
    Stage.marks_complete: frozenset({Phase.competing}),
    Stage.locked: frozenset({Phase.competing, Phase.locked}),
    Stage.decrypted: frozenset({Phase.competing, Phase.locked}),
    Stage.published: frozenset({Phase.competing, Phase.locked, Phase.published}),
    Stage.final: frozenset({Phase.published, Phase.final}),
}

# Stages in which a trade's marking scheme, panel and sessions may still be changed: once it
# competes, marks are given under them.
BEFORE_COMPETING = frozenset({Stage.not_drawn, Stage.drawn})
# Stages in which the codes → person mapping is still secret (加密) to everyone but the
# encryption role and the supervisor.
ENCRYPTED = frozenset(
    {Stage.not_drawn, Stage.drawn, Stage.competing, Stage.marks_complete, Stage.locked}
)


@dataclass(frozen=True)
class TradeFacts:
    """What a move depends on besides the stages, read by the caller."""

    phase: Phase
    marks_exist: bool = False
    checkin_closed: bool = False


def stage_of(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError as exc:
        raise PhaseError("Unknown stage: {stage}", code="unknown_stage", stage=str(value)) from exc


def allowed_targets(current: Stage) -> list[Stage]:
    targets = []
    if current in FORWARD:
        targets.append(FORWARD[current])
    if current in BACKWARD:
        targets.append(BACKWARD[current])
    return targets


def move_refusal(current: Stage | str, target: Stage | str, facts: TradeFacts) -> Msg | None:
    """Why a trade in `current` may not move to `target`, or None if it may."""
    current, target = stage_of(current), stage_of(target)
    if target == current:
        return N_("The trade is already in the stage “{target}”.", target=STAGE_LABELS[target])
    allowed = allowed_targets(current)
    if target not in allowed:
        if not allowed:
            return N_(
                "“{current}” is the last stage; the trade cannot move on.",
                current=STAGE_LABELS[current],
            )
        return N_(
            "Cannot move the trade from “{current}” to “{target}”: the next step can only be "
            "{allowed}.",
            current=STAGE_LABELS[current],
            target=STAGE_LABELS[target],
            allowed=[STAGE_LABELS[s] for s in allowed],
        )
    phase = Phase(facts.phase)
    if phase not in STAGE_PHASES[target]:
        return N_(
            "A trade can be “{target}” only while the competition is in {phases}; it is in "
            "“{phase}”.",
            target=STAGE_LABELS[target],
            phases=[PHASE_LABELS[p] for p in Phase if p in STAGE_PHASES[target]],
            phase=PHASE_LABELS[phase],
        )
    if target == Stage.drawn and current == Stage.not_drawn and not facts.checkin_closed:
        return N_("Check-in of the trade is still open: close it before the draw.")
    if current == Stage.competing and target == Stage.drawn and facts.marks_exist:
        return N_(
            "Marks have been given in this trade: it cannot go back to “{target}”.",
            target=STAGE_LABELS[target],
        )
    return None


def check_move(current: Stage | str, target: Stage | str, facts: TradeFacts) -> Stage:
    """Return the target stage if the move is legal, else raise PhaseError with the reason."""
    refusal = move_refusal(current, target, facts)
    if refusal is not None:
        raise PhaseError(str(refusal), code="illegal_stage_move", **refusal.params)
    return stage_of(target)


def mover_of(current: Stage | str, target: Stage | str) -> Mover | None:
    return MOVES.get((stage_of(current), stage_of(target)))


def require_stage(current: Stage | str, allowed: frozenset[Stage], action: Msg) -> None:
    """Refuse an action that does not belong to the trade's current stage."""
    current = stage_of(current)
    if current not in allowed:
        raise PhaseError(
            "“{action}” is not possible while the trade is in the stage “{current}”.",
            code="wrong_stage",
            action=action,
            current=STAGE_LABELS[current],
        )


def checkin_refusal(stage: Stage | str, checkin_closed_at: dt.datetime | None) -> Msg | None:
    """Why a contestant of the trade may not be checked in (检录) to its practical sessions any
    more, or None: who is present there decides who is drawn."""
    stage = stage_of(stage)
    if stage != Stage.not_drawn:
        return N_(
            "The trade has been drawn: check-in is over (stage “{stage}”).",
            stage=STAGE_LABELS[stage],
        )
    if checkin_closed_at is not None:
        return N_("Check-in of this trade has been closed by the organizer.")
    return None
