"""Which score sheets a trade has: one per judge and session, holding the draw slots the judge
marks (the session's contestants less the recused ones, `panels/assignment.py`).

Sheets are made the first time anyone reads them once the trade competes: from then on the
panel, the draw and the scheme are fixed (`BEFORE_COMPETING`), so the sheets are too. A trade
sent back to "drawn" before any mark loses its sheets (`scoring/stages.py`), and gets new ones,
from the panel as it then is, when it competes again.
"""

from __future__ import annotations

import json

from competition.db import is_integrity_error, transaction
from competition.stages import Stage
from competition.tables import Trade
from scoring.panels.assignment import judges_for_trade_slots
from scoring.tables import Aspect, MarkingScheme, ScoreSheet

# Stages in which a trade has sheets: from the start of competing on.
WITH_SHEETS = frozenset(
    {
        Stage.competing,
        Stage.marks_complete,
        Stage.locked,
        Stage.decrypted,
        Stage.published,
        Stage.final,
    }
)


async def current_scheme_id(trade_id: int) -> int | None:
    row = (
        await MarkingScheme.select(MarkingScheme.id)
        .where((MarkingScheme.trade == trade_id) & (MarkingScheme.is_current == True))  # noqa: E712
        .order_by(MarkingScheme.version, ascending=False)
        .first()
    )
    return row["id"] if row else None


async def planned_sheets(trade_id: int) -> list[dict]:
    """The sheets the trade's panel and draw give: (session, judge) → the slots to mark."""
    people, allowed = await judges_for_trade_slots(trade_id)
    per_sheet: dict[tuple[int, int], list[int]] = {}
    for person in people:
        for judge_id in allowed.get(person.id, []):
            per_sheet.setdefault((person.session_id, judge_id), []).append(person.id)
    return [
        {"session": session, "judge": judge, "slots": sorted(slots)}
        for (session, judge), slots in sorted(per_sheet.items())
    ]


async def _needs_verification(trade_id: int, scheme_id: int) -> bool:
    trade = await Trade.select(Trade.judge_rule).where(Trade.id == trade_id).first()
    rule = trade["judge_rule"] if trade else {}
    if isinstance(rule, str):
        rule = json.loads(rule or "{}")
    if (rule or {}).get("verify_sheets"):
        return True
    return await Aspect.exists().where(
        (Aspect.scheme == scheme_id) & (Aspect.needs_verification == True)  # noqa: E712
    )


async def ensure_sheets(trade_id: int, stage: Stage | str) -> None:
    """Make the trade's sheets if it competes (or later) and has none yet."""
    if Stage(stage) not in WITH_SHEETS:
        return
    if await ScoreSheet.exists().where(ScoreSheet.trade == trade_id):
        return
    scheme_id = await current_scheme_id(trade_id)
    if scheme_id is None:
        return
    planned = await planned_sheets(trade_id)
    verify = await _needs_verification(trade_id, scheme_id)
    try:
        async with transaction():
            if await ScoreSheet.exists().where(ScoreSheet.trade == trade_id):
                return
            if not planned:
                return
            await ScoreSheet.insert(
                *[
                    ScoreSheet(
                        trade=trade_id,
                        session=p["session"],
                        judge=p["judge"],
                        scheme=scheme_id,
                        slots=p["slots"],
                        needs_verification=verify,
                    )
                    for p in planned
                ]
            )
    except Exception as exc:
        # Two first readers at the same moment: the other one made them.
        if not is_integrity_error(exc):
            raise


async def drop_sheets_in_transaction(trade_id: int) -> None:
    """A trade going back to "drawn" (allowed only before any mark) loses its sheets."""
    await ScoreSheet.delete().where(ScoreSheet.trade == trade_id)
