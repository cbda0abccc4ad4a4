"""The chief judge's page of one trade (裁判长): progress per session, the disagreement flags,
the sheets and who has not signed, absent contestants; re-marks, penalties, completion times,
the lock, and changes after it. Codes only, never a name.

Who: the route takes the chief judge's role; the page, a Role.chief_judge grant scoped to this
trade (the grant follows the panel, `scoring/panels/assignment.py`); every action, the services'
own check that the actor is the trade's chief judge in the register (`signing.chief_judge_of`).

Nothing here refreshes the page by itself — a half-typed penalty must never be lost: the page
reads everything fresh when it opens (the "Refresh" link), and static/js/chief.js refreshes the
read-only flag list and the progress figures every 15 s from `GET /api/chief/trades/{id}/progress`.
Every form posts back here and redirects (303) on success; on a refusal the page comes back with
what was typed and the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import clock
from competition.accounts import Identity
from competition.errors import DomainError, PermissionDenied, ValidationFailed
from competition.i18n import N_, gettext, render, translate_error, translate_field_errors
from competition.schemas import JUDGE_RULES
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Role
from competition.web.access import roles
from competition.web.forms import form_fields, parse_int
from competition.web.templating import page
from scoring.rules.values import format_hundredths
from scoring.sheets import chief, lock, penalties, signing
from scoring.sheets.audit_labels import PENALTY_KIND_LABELS
from scoring.sheets.lock import LockRefused
from scoring.sheets.marks import scheme_aspects, sheet_facts
from scoring.sheets.views import status_label
from scoring.stages import trade_state
from scoring.tables import PenaltyKind

BASE = "/chief/trades/{trade_id:int}"
DEVICE_MAX = 64
# Shown after a redirect (`?done=…`): a fixed list, so a link cannot put text on the page.
DONE = {
    "remark": N_("The sheet went back to its judge for a re-mark."),
    "penalty": N_("The penalty is saved."),
    "penalty_removed": N_("The penalty is removed."),
    "time": N_("The completion time is saved."),
    "locked": N_("The trade's marks are locked."),
    "changed": N_("The mark is changed; the change is in the marks' trail."),
    "unchanged": N_("The mark already had this value: nothing changed."),
}
FORMS = ("remark", "penalty", "penalty_remove", "time", "lock", "change")


def require_chief_grant(identity: Identity, trade_id: int) -> None:
    """The page is for the chief judge of this trade: a chief judge of another is refused."""
    for grant in identity.grants:
        if grant.role == Role.chief_judge and grant.trade_id == trade_id:
            return
    raise PermissionDenied(
        "Only the trade's chief judge may open this page.", code="not_chief_judge"
    )


def _device(request: Request, data: dict[str, str]) -> str:
    """The tablet's id (static/js/chief.js sends the one the score sheets keep), else the
    browser's own description."""
    device = data.get("device", "") or request.headers.get("user-agent", "")
    return device[:DEVICE_MAX]


async def _registered_chief(trade_id: int, identity: Identity) -> bool:
    try:
        await signing.chief_judge_of(trade_id, identity.actor)
    except PermissionDenied:
        return False
    return True


async def _context(request: Request, trade_id: int) -> dict[str, Any]:
    view = await chief.chief_view(trade_id)
    query = request.query_params
    remark_values = {}
    if query.get("sheet"):
        # A flag's "ask to re-mark" link fills the re-mark form.
        remark_values = {"sheet": query.get("sheet", ""), "cells": query.get("cells", "")}
    return {
        "view": view,
        "trade": {"id": view.state.trade_id, "code": view.state.code, "name": view.state.name},
        "stage": view.state.stage.value,
        "stage_label": render(STAGE_LABELS[view.state.stage]),
        "rule_label": render(JUDGE_RULES[view.settings.rule]),
        "can_remark": view.state.stage in (Stage.competing, Stage.marks_complete),
        "can_lock": view.state.stage in (Stage.competing, Stage.marks_complete),
        "can_change": view.state.stage in lock.CHANGE_AFTER_LOCK,
        "can_enter": view.state.stage in penalties.ENTRY_STAGES,
        "after_lock": view.state.stage in lock.CHANGE_AFTER_LOCK,
        "registered": await _registered_chief(trade_id, request.user),
        "kinds": [(k.value, render(PENALTY_KIND_LABELS[k.value])) for k in PenaltyKind],
        "kind_labels": {k: render(v) for k, v in PENALTY_KIND_LABELS.items()},
        "read_at": clock.now(),
        "done_text": render(DONE[query["done"]]) if query.get("done") in DONE else "",
        "format_hundredths": format_hundredths,
        "format_duration": penalties.format_duration,
        "values": {"remark": remark_values},
        "errors": {},
        "error": None,
        "form": "",
        "report": None,
        "api_url": f"/api/chief/trades/{trade_id}/progress",
        "texts": flag_texts(),
        "session_codes": {s.id: s.code for s in view.sessions},
        "status_label": status_label,
    }


async def _page(
    request: Request,
    trade_id: int,
    *,
    status_code: int = 200,
    form: str = "",
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
    report: lock.LockReport | None = None,
) -> Template:
    context = await _context(request, trade_id)
    if form:
        context["form"] = form
        context["values"] = {**context["values"], form: values or {}}
    if exc is not None:
        context["error"] = translate_error(exc)
        context["errors"] = translate_field_errors(exc)
    context["report"] = report
    return page("scoring/chief/trade.html", status_code=status_code, **context)


async def _refused(
    request: Request, trade_id: int, form: str, data: dict[str, str], exc: DomainError
) -> Template:
    """The page again after a form's refusal: the reason, and what was typed in that form (a
    refused lock also lists what is missing)."""
    report = exc.report if isinstance(exc, LockRefused) else None
    return await _page(
        request,
        trade_id,
        status_code=exc.status_code,
        form=form,
        values=data,
        exc=exc,
        report=report,
    )


def _done(trade_id: int, key: str, anchor: str) -> Redirect:
    return Redirect(f"/chief/trades/{trade_id}?done={key}#{anchor}", status_code=303)


def _required_id(data: dict[str, str], name: str, message: str) -> int:
    value = parse_int(data.get(name), minimum=1)
    if value is None:
        code = f"{name}_missing"
        raise ValidationFailed(message, code=code, field_errors={name: message})
    return value


class ChiefController(Controller):
    path = BASE
    opt = roles(Role.chief_judge)
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, trade_id: FromPath[int]) -> Template:
        require_chief_grant(request.user, trade_id)
        return await _page(request, trade_id)

    @post("/remark", status_code=200)
    async def remark(self, request: Request, trade_id: FromPath[int]) -> Template | Redirect:
        """Return a sheet to its judge: some cells ("A03 B6, A05"), or the whole sheet."""
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            sheet_id = _required_id(data, "sheet", N_("Choose the sheet."))
            facts = await sheet_facts(sheet_id)
            if facts.trade_id != trade_id:
                raise ValidationFailed(
                    "Choose a sheet of this trade.", code="sheet_of_another_trade",
                    field_errors={"sheet": N_("Choose the sheet.")},
                )  # fmt: skip
            codes = await signing.slot_codes(sorted(facts.slots))
            cells = chief.parse_cells(
                data.get("cells", ""), codes, await scheme_aspects(facts.scheme_id)
            )
            await signing.request_remark(
                sheet_id, cells=cells, note=data.get("note", ""), actor=identity.actor
            )
        except DomainError as exc:
            return await _refused(request, trade_id, "remark", data, exc)
        return _done(trade_id, "remark", "sheets")

    @post("/penalties", status_code=200)
    async def add_penalty(self, request: Request, trade_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            value = penalties.parse_penalty(data.get("value", ""))
            slot = await chief.slot_of_code(trade_id, data.get("code", ""))
            await penalties.add_penalty(
                trade_id, slot, value, data.get("kind", ""), data.get("reason", ""),
                actor=identity.actor,
            )  # fmt: skip
        except DomainError as exc:
            return await _refused(request, trade_id, "penalty", data, exc)
        return _done(trade_id, "penalty", "contestants")

    @post("/penalties/remove", status_code=200)
    async def remove_penalty(
        self, request: Request, trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            penalty_id = _required_id(data, "penalty", N_("Choose the penalty."))
            if penalty_id not in {p.id for p in await penalties.penalties_of(trade_id)}:
                raise ValidationFailed(
                    "Choose a penalty of this trade.", code="penalty_of_another_trade"
                )
            await penalties.remove_penalty(
                penalty_id, actor=identity.actor, reason=data.get("reason", "")
            )
        except DomainError as exc:
            return await _refused(request, trade_id, "penalty_remove", data, exc)
        return _done(trade_id, "penalty_removed", "contestants")

    @post("/completion-times", status_code=200)
    async def completion_time(
        self, request: Request, trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            seconds = penalties.parse_duration(data.get("time", ""))
            slot = await chief.slot_of_code(trade_id, data.get("code", ""))
            await penalties.set_completion_time(
                trade_id, slot, seconds, actor=identity.actor, reason=data.get("reason", "")
            )
        except DomainError as exc:
            return await _refused(request, trade_id, "time", data, exc)
        return _done(trade_id, "time", "contestants")

    @post("/lock", status_code=200)
    async def lock(self, request: Request, trade_id: FromPath[int]) -> Template | Redirect:
        """Lock the trade's marks; refused with the list of what is missing."""
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            if data.get("confirm") != "1":
                message = N_("Tick the box to confirm that the marks are to be locked.")
                raise ValidationFailed(
                    message, code="lock_not_confirmed", field_errors={"confirm": message}
                )
            await lock.lock_trade(trade_id, actor=identity.actor)
        except DomainError as exc:
            return await _refused(request, trade_id, "lock", data, exc)
        return _done(trade_id, "locked", "lock")

    @post("/marks", status_code=200)
    async def change_mark(self, request: Request, trade_id: FromPath[int]) -> Template | Redirect:
        """A mark changed after the lock: code, aspect, judge (Judgement), value, reason."""
        identity: Identity = request.user
        require_chief_grant(identity, trade_id)
        data = await form_fields(request)
        try:
            aspect_id = _required_id(data, "aspect", N_("Choose the aspect."))
            slot = await chief.slot_of_code(trade_id, data.get("code", ""))
            result = await lock.change_locked_mark(
                trade_id,
                slot_id=slot,
                aspect_id=aspect_id,
                judge_id=parse_int(data.get("judge"), minimum=1),
                value=data.get("value", ""),
                reason=data.get("reason", ""),
                actor=identity.actor,
                device=_device(request, data),
            )
        except DomainError as exc:
            return await _refused(request, trade_id, "change", data, exc)
        return _done(trade_id, "changed" if result == "saved" else "unchanged", "change")


# ---------------------------------------------------------------------------- the API


class TradeOut(msgspec.Struct):
    id: int
    code: str
    name: str
    stage: str


class SessionOut(msgspec.Struct):
    id: int
    code: str
    name: str
    cells_entered: int
    cells_expected: int
    sheets: int
    sheets_done: int


class FlagOut(msgspec.Struct):
    slot: int
    code: str
    aspect: int
    aspect_code: str
    judge: int
    judge_name: str
    level: int
    combined: str  # the exact combined level to 2 places, e.g. "1.67"
    sheet: int | None


class ChiefProgress(msgspec.Struct):
    trade: TradeOut
    cells_entered: int
    cells_expected: int
    sessions: list[SessionOut]
    unsigned_sheets: int
    waiting_verification: int
    flags: list[FlagOut]
    read_at: str
    read_at_text: str  # the same moment as the page shows it


class ChiefApi(Controller):
    path = "/api/chief"
    tags = ("chief judge",)
    opt = roles(Role.chief_judge)

    @get(
        "/trades/{trade_id:int}/progress",
        summary="A trade's marking progress and disagreement flags",
        description=(
            "For the trade's chief judge: marks entered / expected per session (a Measurement "
            "value, one for the panel, fills its cell on every sheet holding the contestant), "
            "unsigned sheets, sheets waiting for verification, and every Judgement mark more "
            "than the trade's tolerance away from the exactly combined value (codes only)."
        ),
    )
    async def progress(self, request: Request, trade_id: FromPath[int]) -> ChiefProgress:
        await trade_state(trade_id)  # 404 for no such trade (trades are public)
        require_chief_grant(request.user, trade_id)
        found = await chief.progress(trade_id)
        now = clock.now()
        return msgspec.convert(
            {**found, "read_at": now.isoformat(), "read_at_text": _time_text(now)},
            ChiefProgress,
        )


def _time_text(moment: dt.datetime) -> str:
    return clock.format_datetime(moment, "%H:%M:%S")


def flag_texts() -> dict[str, str]:
    """What static/js/chief.js writes into the flag list."""
    return {
        "remark": gettext("Ask to re-mark"),
        "none": gettext("No mark is flagged."),
        "live": gettext("Flags refreshed at {time}."),
        "failed": gettext("The flags could not be refreshed (offline?); the list shows {time}."),
    }


ROUTES = [ChiefController, ChiefApi]
