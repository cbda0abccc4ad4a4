"""Decryption (解密) by the encryption role: the locked trades of its competitions, each opened
to the results with one audited step. Before it, the results name no one."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound
from competition.i18n import translate_error
from competition.results import publication
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Role, Trade
from competition.web.access import require_competition, roles
from competition.web.templating import page

BASE = "/encryption/competitions/{competition_id:int}/decryption"
GUARD = {"opt": roles(Role.encryption), "include_in_schema": False}
SHOWN = (Stage.marks_complete, Stage.locked, Stage.decrypted, Stage.published, Stage.final)


async def _page(
    competition_id: int, *, status_code: int = 200, error: str | None = None, done: str = ""
) -> Template:
    competition = await services.get_competition(competition_id)
    rows = (
        await Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage)
        .where((Trade.competition == competition_id) & Trade.stage.is_in([s.value for s in SHOWN]))
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )
    for row in rows:
        row["stage_label"] = STAGE_LABELS[Stage(row["stage"])]
    return page(
        "competition/results/decryption.html",
        status_code=status_code,
        competition=competition,
        rows=rows,
        error=error,
        done=done,
    )


@get(BASE, **GUARD)
async def decryption_page(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.encryption)
    return await _page(competition_id, done=request.query_params.get("done", ""))


@post(BASE + "/{trade_id:int}", **GUARD)
async def decrypt(request: Request, competition_id: FromPath[int], trade_id: FromPath[int]) -> Any:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.encryption)
    row = await Trade.select(Trade.competition, Trade.code).where(Trade.id == trade_id).first()
    if row is None or row["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    try:
        await publication.decrypt_trade(trade_id, actor=identity.actor)
    except DomainError as exc:
        return await _page(competition_id, status_code=409, error=translate_error(exc))
    url = f"/encryption/competitions/{competition_id}/decryption?done={row['code']}"
    return Redirect(url, status_code=303)


ROUTES = [decryption_page, decrypt]
