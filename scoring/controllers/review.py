"""The supervisors' review sampling (复核) pages: every trade with the state of its sample, and
one trade's sample — drawn here, with its seed shown — with a form per entry to record its
re-check and the error rate found. Entries by their draw codes only, never a name."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, render, translate_error
from competition.stages import STAGE_LABELS
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields, parse_int
from competition.web.menus import MenuItem, add_supervisor_menu_item
from competition.web.templating import page
from scoring import stages
from scoring.review import service
from scoring.review.audit_labels import OUTCOME_LABELS, REASON_LABELS
from scoring.rules.values import format_hundredths

add_supervisor_menu_item(MenuItem("review", "/review", N_("Review sampling")))

BASE = "/supervisor/competitions/{competition_id:int}/review"
GUARD = {"opt": roles(Role.supervisor), "include_in_schema": False}


def _url(competition_id: int, trade_id: int | None = None) -> str:
    url = f"/supervisor/competitions/{competition_id}/review"
    return url if trade_id is None else f"{url}/{trade_id}"


async def _trade(competition_id: int, trade_id: int) -> stages.TradeState:
    state = await stages.trade_state(trade_id)
    if state.competition_id != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return state


def _trade_dict(state: stages.TradeState) -> dict[str, Any]:
    return {
        "id": state.trade_id,
        "code": state.code,
        "name": state.name,
        "stage": state.stage.value,
        "stage_label": STAGE_LABELS[state.stage],
        "can_review": state.stage in service.REVIEW_STAGES,
    }


def _percent(hundredths: int | None) -> str:
    return "—" if hundredths is None else f"{format_hundredths(hundredths)} %"


def _publication(progress: service.Progress | None) -> str:
    refusal = service.refusal_for(progress)
    return "" if refusal is None else render(refusal)


@get(BASE, **GUARD)
async def review_trades(request: Request, competition_id: FromPath[int]) -> Template:
    """Every trade with the state of its review sample."""
    require_competition(request.user, competition_id, Role.supervisor)
    competition = await services.get_competition(competition_id)
    states = await stages.trades_of(competition_id)
    progress = await service.progress_of(s.trade_id for s in states)
    rows = []
    for state in states:
        done = progress.get(state.trade_id)
        rows.append({**_trade_dict(state), "progress": done,
                     "rate": _percent(done.error_rate_hundredths) if done else "",
                     "waiting": _publication(done)})  # fmt: skip
    return page("scoring/review/trades.html", competition=competition, rows=rows)


async def _trade_page(
    competition_id: int,
    trade_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    form_slot: int | None = None,
    values: dict[str, str] | None = None,
    done: str = "",
) -> Template:
    competition = await services.get_competition(competition_id)
    state = await _trade(competition_id, trade_id)
    sample = await service.sample_view(trade_id)
    progress = sample.progress if sample else None
    return page(
        "scoring/review/trade.html",
        status_code=status_code,
        competition=competition,
        trade=_trade_dict(state),
        sample=sample,
        progress=progress,
        rate=_percent(progress.error_rate_hundredths) if progress else "",
        waiting=_publication(progress),
        error=error,
        form_slot=form_slot,
        values=values or {},
        done=done,
        reason_labels=REASON_LABELS,
        outcome_labels=OUTCOME_LABELS,
        format_hundredths=format_hundredths,
        error_percent=service.sampling.ERROR_PERCENT,
        url=_url(competition_id, trade_id),
    )


@get(BASE + "/{trade_id:int}", **GUARD)
async def review_trade(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    return await _trade_page(competition_id, trade_id, done=request.query_params.get("done", ""))


@post(BASE + "/{trade_id:int}/sample", status_code=200, **GUARD)
async def review_draw(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template | Redirect:
    """Draw the trade's sample with a fresh random seed."""
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.supervisor)
    try:
        await _trade(competition_id, trade_id)
        await service.draw_sample(trade_id, actor=identity.actor)
    except DomainError as exc:
        return await _trade_page(
            competition_id, trade_id, status_code=exc.status_code, error=translate_error(exc)
        )
    return Redirect(f"{_url(competition_id, trade_id)}?done=drawn", status_code=303)


@post(BASE + "/{trade_id:int}/checks", status_code=200, **GUARD)
async def review_check(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template | Redirect:
    """Record the re-check of one sampled entry (slot): ok, or an error with a note."""
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.supervisor)
    data = await form_fields(request)
    slot_id = parse_int(data.get("slot"), minimum=1)
    try:
        await _trade(competition_id, trade_id)
        sample = await service.sample_of(trade_id)
        if sample is None:
            raise NotFound("The review sample has not been drawn.", code="sample_not_found")
        if slot_id is None:
            raise ValidationFailed("Choose the entry you re-checked.", code="check_slot_missing")
        result = await service.record_check(
            sample["id"], slot_id, data.get("outcome", ""), data.get("note", ""),
            actor=identity.actor,
        )  # fmt: skip
    except DomainError as exc:
        return await _trade_page(
            competition_id, trade_id, status_code=exc.status_code, error=translate_error(exc),
            form_slot=slot_id, values=data,
        )  # fmt: skip
    done = "full" if result.full_required else "checked"
    return Redirect(
        f"{_url(competition_id, trade_id)}?done={done}#check-{slot_id}", status_code=303
    )


ROUTES = [review_trades, review_trade, review_draw, review_check]
