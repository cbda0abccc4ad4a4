"""What a competition's phase change means for its trades' stages, checked by
`competition.services` before every move (registered when the scoring package is imported).

- Into competing: trades that have not drawn yet are a note — they draw on their own day.
- Into scores locked: every trade must be locked (or beyond); the phase says all scores are.
- Into results published: every trade must be published; into final, every trade must be.
- Back from published to locked: published trades stay as they are (a withdrawal is per trade).
"""

from __future__ import annotations

from collections import Counter

from piccolo.query.functions.aggregate import Count

from competition.i18n import N_
from competition.phases import Phase
from competition.services import Finding, Severity, register_leaving_check
from competition.stages import ORDER, STAGE_LABELS, Stage
from competition.tables import Trade

# The stage every trade must have reached before the competition enters each phase.
REQUIRED_STAGE: dict[Phase, Stage] = {
    Phase.locked: Stage.locked,
    Phase.published: Stage.published,
    Phase.final: Stage.published,
}


async def _stage_counts(competition_id: int) -> Counter[Stage]:
    rows = (
        await Trade.select(Trade.stage, Count(Trade.id, alias="n"))
        .where(Trade.competition == competition_id)
        .group_by(Trade.stage)
    )
    return Counter({Stage(r["stage"]): r["n"] for r in rows})


async def leaving_checks(competition_id: int, current: Phase, target: Phase) -> list[Finding]:
    if target == Phase.competing and current == Phase.draw:
        if n := (await _stage_counts(competition_id)).get(Stage.not_drawn, 0):
            return [
                Finding(
                    "trades_not_drawn",
                    Severity.note,
                    n,
                    N_("Trades not drawn yet: {n}; each draws on its own day.", n=n),
                )
            ]
        return []
    required = REQUIRED_STAGE.get(target)
    if required is None:
        return []
    counts = await _stage_counts(competition_id)
    behind = sum(n for stage, n in counts.items() if ORDER.index(stage) < ORDER.index(required))
    if not behind:
        return []
    return [
        Finding(
            "trades_behind",
            Severity.blocking,
            behind,
            N_(
                "Trades not yet “{stage}”: {n}. Every trade must be before the competition "
                "moves on.",
                stage=STAGE_LABELS[required],
                n=behind,
            ),
        )
    ]


register_leaving_check(leaving_checks)
