"""The organizer's page of every trade's stage (工种进度) in one competition: where each trade
stands, who takes its next move, and the organizer's own moves for several trades at once
(close or reopen check-in, start competing, take a start back before any mark)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from competition import services
from competition.accounts import Identity
from competition.i18n import N_, Msg, render
from competition.stages import (
    MOVER_LABELS,
    STAGE_LABELS,
    Stage,
    allowed_targets,
    mover_of,
)
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.templating import page
from scoring import stages
from scoring.stages import MoveOutcome

# The organizer's actions on this page: the stage moves they take themselves, and check-in.
ACTIONS: dict[str, Msg] = {
    "close_checkin": N_("Close check-in"),
    "reopen_checkin": N_("Reopen check-in"),
    "start": N_("Start competing"),
    "unstart": N_("Back to “drawn” (no mark given yet)"),
}
STAGE_OF_ACTION = {"start": Stage.competing, "unstart": Stage.drawn}


def _next_moves(stage: Stage) -> list[dict[str, Any]]:
    moves = []
    for target in allowed_targets(stage):
        mover = mover_of(stage, target)
        moves.append({"target": STAGE_LABELS[target], "by": MOVER_LABELS[mover] if mover else None})
    return moves


async def _stage_context(competition_id: int, stage: str) -> dict[str, Any]:
    competition = await services.get_competition(competition_id)
    trades = await stages.trades_of(competition_id)
    counts = Counter(t.stage for t in trades)
    shown_stage = stage if stage in Stage.__members__ else ""
    rows = [
        {
            "id": t.trade_id,
            "code": t.code,
            "name": t.name,
            "stage": t.stage,
            "stage_label": STAGE_LABELS[t.stage],
            "checkin_closed_at": t.checkin_closed_at,
            "next": _next_moves(t.stage),
        }
        for t in trades
        if not shown_stage or t.stage == shown_stage
    ]
    return {
        "competition": competition,
        "rows": rows,
        "total": len(trades),
        "counts": [(s, STAGE_LABELS[s], counts.get(s, 0)) for s in Stage],
        "stage": shown_stage,
    }


class TradeStagesController(Controller):
    path = "/org/competitions/{competition_id:int}/trade-stages"
    opt = roles(Role.organizer)
    include_in_schema = False

    async def _page(
        self,
        competition_id: int,
        stage: str = "",
        *,
        outcome: dict[str, Any] | None = None,
        selected: list[int] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            "scoring/stages/trade_stages.html",
            status_code=status_code,
            **await _stage_context(competition_id, stage),
            actions=ACTIONS,
            outcome=outcome,
            selected=set(selected or ()),
            read_only=False,
        )

    @get("/")
    async def show(
        self, request: Request, competition_id: FromPath[int], stage: FromQuery[str] = ""
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._page(competition_id, stage)

    @post("/")
    async def act(
        self, request: Request, competition_id: FromPath[int], stage: FromQuery[str] = ""
    ) -> Template:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        form = await request.form()
        chosen = sorted(
            {n for v in form.getall("trade", []) if (n := parse_int(str(v), minimum=1))}
        )
        action = data.get("action", "")
        if action not in ACTIONS or not chosen:
            message = (
                N_("Choose what to do with the ticked trades.")
                if chosen
                else N_("Tick at least one trade.")
            )
            return await self._page(
                competition_id, stage, selected=chosen, status_code=422,
                outcome={"error": render(message)},
            )  # fmt: skip
        if action in STAGE_OF_ACTION:
            results = await stages.move_trades(
                competition_id, chosen, STAGE_OF_ACTION[action], actor=identity.actor
            )
        else:
            results = await stages.set_checkin_closed(
                competition_id, chosen, action == "close_checkin", actor=identity.actor
            )
        return await self._page(
            competition_id, stage, outcome=_outcome(action, results), selected=chosen
        )


def _outcome(action: str, results: list[MoveOutcome]) -> dict[str, Any]:
    return {
        "action": render(ACTIONS[action]),
        "done": sum(r.moved for r in results),
        "refused": [
            {"code": r.code, "name": r.name, "reason": render(r.reason)}
            for r in results
            if not r.moved and r.reason is not None
        ],
    }


@get(
    "/supervisor/competitions/{competition_id:int}/trade-stages",
    opt=roles(Role.supervisor),
    include_in_schema=False,
)
async def supervisor_trade_stages(
    request: Request, competition_id: FromPath[int], stage: FromQuery[str] = ""
) -> Template:
    """The same table for the supervisor (监督仲裁), read only: no ticks, no buttons."""
    require_competition(request.user, competition_id, Role.supervisor)
    return page(
        "scoring/stages/trade_stages.html",
        **await _stage_context(competition_id, stage),
        read_only=True,
        outcome=None,
        selected=set(),
        actions={},
    )


ROUTES = [TradeStagesController, supervisor_trade_stages]
