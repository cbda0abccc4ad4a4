"""Attendance and the draw (检录与抽签): the organizer's attendance and draw pages (codes only,
never a name next to a code), the encryption role's pages (加密组: the code → person mapping
through the one audited `codes.reveal`), and the supervisor's read-only draws with a re-run
from the seed."""

from __future__ import annotations

import io
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition import spreadsheets as kit
from competition.accounts import Identity
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, gettext, render, translate_error
from competition.spreadsheets import XLSX_MEDIA_TYPE
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import form_fields, parse_int
from competition.web.menus import (
    SCORING,
    MenuItem,
    add_competition_menu_item,
    add_supervisor_menu_item,
)
from competition.web.templating import page
from registration import idcard
from registration.tables import Entry, EntryStatus
from scoring import stages
from scoring.draw import attendance, codes, service, signin_sheet
from scoring.draw.attendance import SOURCE_LABELS, STATUS_LABELS
from scoring.tables import Draw

add_competition_menu_item(MenuItem("draw", "/draw", N_("Attendance and draw")), SCORING)
add_supervisor_menu_item(MenuItem("draws", "/draws", N_("Draws")))

SHOWN_PROBLEMS = 200
MISMATCH_LABELS = {
    "different": N_("The stored slot differs from the re-run."),
    "missing": N_("The re-run gives a slot the stored draw lacks."),
    "unexpected": N_("The stored draw holds a slot the re-run does not give."),
}


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
        "checkin_closed_at": state.checkin_closed_at,
        "not_drawn": state.stage == Stage.not_drawn,
    }


async def _counts(state: stages.TradeState) -> dict[str, int]:
    return attendance.counts(
        await attendance.presence(state.trade_id, closed=state.checkin_closed_at is not None)
    )


# ---------------------------------------------------------------------------- organizer


class DrawController(Controller):
    path = "/org/competitions/{competition_id:int}/draw"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        drawn = {
            r["trade"]
            for r in await Draw.select(Draw.trade).where(Draw.trade.competition == competition_id)
        }
        rows = []
        for state in await stages.trades_of(competition_id):
            rows.append({**_trade_dict(state), "drawn": state.trade_id in drawn,
                         "counts": await _counts(state)})  # fmt: skip
        return page("scoring/draw/index.html", competition=competition, rows=rows)

    async def _draw_page(
        self, competition_id: int, trade_id: int, *, error: str | None = None,
        status_code: int = 200, done: str = "",
    ) -> Template:  # fmt: skip
        competition = await services.get_competition(competition_id)
        state = await _trade(competition_id, trade_id)
        draw = await service.draw_of(trade_id)
        return page(
            "scoring/draw/trade.html",
            status_code=status_code,
            competition=competition,
            trade=_trade_dict(state),
            counts=await _counts(state),
            draw=draw,
            slots=await service.slot_list(trade_id) if draw else [],
            error=error,
            done=done,
        )

    @get("/{trade_id:int}")
    async def trade(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._draw_page(
            competition_id, trade_id, done=request.query_params.get("done", "")
        )

    @post("/{trade_id:int}/run", status_code=200)
    async def run(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        try:
            await _trade(competition_id, trade_id)
            await service.run_draw(
                competition_id, trade_id, actor=identity.actor,
                second_layer=data.get("second_layer") == "1",
            )  # fmt: skip
        except DomainError as exc:
            return await self._draw_page(
                competition_id, trade_id, error=translate_error(exc), status_code=exc.status_code
            )
        return Redirect(
            f"/org/competitions/{competition_id}/draw/{trade_id}?done=drawn", status_code=303
        )

    @get("/{trade_id:int}/codes.xlsx")
    async def codes_export(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Response:
        """Session, station and code of every slot: what the hall puts on the stations."""
        require_competition(request.user, competition_id, Role.organizer)
        state = await _trade(competition_id, trade_id)
        rows = await service.slot_list(trade_id)
        content = _workbook(
            gettext("Codes"),
            [gettext("Session"), gettext("Station"), gettext("Code")],
            [[f"{r['session_code']} {r['session_name']}", r["station_code"], r["code"]]
             for r in rows],
        )  # fmt: skip
        return attachment(content, f"{state.code}-工位加密号.xlsx", f"{state.code}-codes.xlsx",
                          XLSX_MEDIA_TYPE)  # fmt: skip

    # ------------------------------------------------------------------ attendance

    async def _attendance_page(
        self, competition_id: int, trade_id: int, *, status_code: int = 200, **shown: Any
    ) -> Template:
        competition = await services.get_competition(competition_id)
        state = await _trade(competition_id, trade_id)
        rows = await attendance.presence(trade_id, closed=state.checkin_closed_at is not None)
        people = {
            r["id"]: r
            for r in await Entry.select(
                Entry.id,
                Entry.ticket_number,
                Entry.person.name.as_alias("name"),
                Entry.person.id_number.as_alias("id_number"),
                Entry.delegation.name.as_alias("delegation"),
                Entry.session.name.as_alias("session_name"),
            ).where((Entry.trade == trade_id) & (Entry.status == EntryStatus.approved.value))
        }
        listed = []
        for r in rows:
            person = people[r.entry_id]
            listed.append({
                "entry_id": r.entry_id, "status": r.status, "status_label": STATUS_LABELS[r.status],
                "source": r.source, "source_label": SOURCE_LABELS[r.source], "reason": r.reason,
                "name": person["name"], "ticket": person["ticket_number"] or "",
                "id_masked": idcard.mask(person["id_number"]),
                "delegation": person["delegation"], "session": person["session_name"] or "",
            })  # fmt: skip
        listed.sort(key=lambda x: x["ticket"])
        for key, default in (("error", None), ("problems", []), ("problem_total", 0),
                             ("imported", None), ("checked", None), ("done", "")):  # fmt: skip
            shown.setdefault(key, default)
        return page(
            "scoring/draw/attendance.html",
            status_code=status_code,
            competition=competition,
            trade=_trade_dict(state),
            counts=attendance.counts(rows),
            rows=listed,
            columns=signin_sheet.COLUMNS,
            max_mb=signin_sheet.LIMITS.max_mb,
            max_rows=signin_sheet.LIMITS.max_rows,
            **shown,
        )

    @get("/{trade_id:int}/attendance")
    async def attendance_page(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._attendance_page(
            competition_id, trade_id, done=request.query_params.get("done", "")
        )

    @post("/{trade_id:int}/attendance/mark", status_code=200)
    async def mark(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        entry_id = parse_int(data.get("entry", ""), minimum=1) or 0
        action = data.get("action", "")
        try:
            if action == "clear":
                await attendance.clear_mark(
                    competition_id, trade_id, entry_id, actor=identity.actor
                )
            elif action in ("absent", "present"):
                await attendance.mark_entry(
                    competition_id, trade_id, entry_id, action == "present",
                    data.get("reason", ""), actor=identity.actor,
                )  # fmt: skip
            else:
                raise ValidationFailed("Choose what to do.", code="no_action")
        except DomainError as exc:
            return await self._attendance_page(
                competition_id, trade_id, status_code=exc.status_code, error=translate_error(exc)
            )
        return Redirect(
            f"/org/competitions/{competition_id}/draw/{trade_id}/attendance?done=marked",
            status_code=303,
        )

    @post("/{trade_id:int}/checkin", status_code=200)
    async def checkin(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        await _trade(competition_id, trade_id)
        closed = data.get("action") == "close"
        [outcome] = await stages.set_checkin_closed(
            competition_id, [trade_id], closed, actor=identity.actor
        ) or [None]
        if outcome is not None and not outcome.moved:
            return await self._attendance_page(
                competition_id, trade_id, status_code=409, error=render(outcome.reason)
            )
        done = "closed" if closed else "reopened"
        return Redirect(
            f"/org/competitions/{competition_id}/draw/{trade_id}/attendance?done={done}",
            status_code=303,
        )

    @get("/{trade_id:int}/attendance/template")
    async def template(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        return attachment(signin_sheet.template(), "签到表模板.xlsx", "signin-template.xlsx",
                          XLSX_MEDIA_TYPE)  # fmt: skip

    @post("/{trade_id:int}/attendance/import", status_code=200)
    async def upload(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Response:
        """action=check (dry run), report (the report workbook) or commit."""
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        await _trade(competition_id, trade_id)
        form = await request.form()
        action = str(form.get("action") or "check")
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed(
                    "Choose an Excel (.xlsx) or CSV file to upload.", code="no_file"
                )
            plan = await signin_sheet.read_plan(
                competition_id, await upload.read(signin_sheet.LIMITS.max_bytes + 1),
                trade_id=trade_id,
            )  # fmt: skip
            if action == "report":
                return attachment(signin_sheet.report(plan), "签到表检查报告.xlsx",
                                  "signin-report.xlsx", XLSX_MEDIA_TYPE)  # fmt: skip
            if action == "commit" and not plan.problems:
                result = await signin_sheet.commit(
                    competition_id, plan, actor=identity.actor, filename=upload.filename
                )
                return await self._attendance_page(competition_id, trade_id, imported=result)
        except DomainError as exc:
            return await self._attendance_page(
                competition_id, trade_id, status_code=exc.status_code, error=translate_error(exc)
            )
        problems = [
            {"row": p.row, "column": p.column, "text": p.text()}
            for p in plan.problems[:SHOWN_PROBLEMS]
        ]
        rejected = signin_sheet.SheetRejected(plan.problems) if plan.problems else None
        return await self._attendance_page(
            competition_id,
            trade_id,
            status_code=422 if rejected else 200,
            error=translate_error(rejected) if rejected else None,
            problems=problems,
            problem_total=len(plan.problems),
            checked=None if rejected else {"rows": len(plan.rows), "present": plan.present,
                                           "absent": plan.absent},
        )  # fmt: skip


def _workbook(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    book = kit.new_workbook(buffer)
    sheet = book.add_worksheet(kit.sheet_title(title))
    head = book.add_format({"bold": True})
    kit.write_row(sheet, 0, header, head)
    for n, row in enumerate(rows, start=1):
        kit.write_row(sheet, n, row)
    sheet.set_column(0, len(header) - 1, 18)
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------------- encryption role


def _competitions_of(identity: Identity, role: Role) -> set[int] | None:
    """The competitions a role's grants reach; None: all of them (an unscoped grant)."""
    ids: set[int] = set()
    for grant in identity.grants:
        if grant.role == role:
            if grant.competition_id is None:
                return None
            ids.add(grant.competition_id)
    return ids


async def _drawn_trades(competition_ids: set[int] | None) -> list[dict[str, Any]]:
    query = Draw.select(
        Draw.trade,
        Draw.trade.code.as_alias("code"),
        Draw.trade.name.as_alias("name"),
        Draw.trade.stage.as_alias("stage"),
        Draw.trade.competition.as_alias("competition_id"),
        Draw.trade.competition.name.as_alias("competition_name"),
        Draw.seed,
        Draw.algorithm,
        Draw.second_layer,
        Draw.created_at,
    )
    if competition_ids is not None:
        query = query.where(Draw.trade.competition.is_in(sorted(competition_ids) or [0]))
    rows = await query
    for row in rows:
        row["stage_label"] = STAGE_LABELS[Stage(row["stage"])]
    rows.sort(key=lambda r: (r["competition_id"], r["code"]))
    return rows


@get("/encryption", opt=roles(Role.encryption), include_in_schema=False)
async def encryption_home(request: Request) -> Template:
    """The encryption role's home (加密组): the drawn trades of the competitions it holds."""
    identity: Identity = request.user
    return page(
        "scoring/draw/encryption_home.html",
        trades=await _drawn_trades(_competitions_of(identity, Role.encryption)),
    )


def _mapping_rows(revealed: list[codes.Revealed], second_layer: bool) -> list[list[str]]:
    return [
        [r.code, *([r.judge_code] if second_layer else []), f"{r.session_code} {r.session_name}",
         r.station_code, r.name, r.ticket_number, r.delegation]
        for r in revealed
    ]  # fmt: skip


def _mapping_header(second_layer: bool) -> list[str]:
    return [
        gettext("Code"), *([gettext("Judge code")] if second_layer else []), gettext("Session"),
        gettext("Station"), gettext("Name"), gettext("Ticket number"), gettext("Delegation"),
    ]  # fmt: skip


async def _mapping_context(
    identity: Identity, competition_id: int, trade_id: int, purpose: str
) -> dict[str, Any]:
    state = await _trade(competition_id, trade_id)
    draw = await service.draw_of(trade_id)
    if draw is None:
        raise NotFound("The trade has not been drawn.", code="draw_not_found")
    revealed = await codes.reveal(competition_id, trade_id, identity=identity, purpose=purpose)
    competition = await services.get_competition(competition_id)
    return {"competition": competition, "trade": _trade_dict(state), "draw": draw,
            "rows": revealed}  # fmt: skip


ENCRYPTION_BASE = "/encryption/competitions/{competition_id:int}/trades/{trade_id:int}"


@get(ENCRYPTION_BASE, opt=roles(Role.encryption), include_in_schema=False)
async def encryption_mapping(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    require_competition(request.user, competition_id, Role.encryption)
    context = await _mapping_context(request.user, competition_id, trade_id, "page")
    return page("scoring/draw/mapping.html", audience="encryption", **context)


@get(ENCRYPTION_BASE + "/mapping.xlsx", opt=roles(Role.encryption), include_in_schema=False)
async def encryption_mapping_export(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Response:
    """The mapping as a workbook, kept by the encryption role until the decryption."""
    require_competition(request.user, competition_id, Role.encryption)
    context = await _mapping_context(request.user, competition_id, trade_id, "export")
    second = context["draw"]["second_layer"]
    content = _workbook(
        gettext("Codes and contestants"), _mapping_header(second),
        _mapping_rows(context["rows"], second),
    )  # fmt: skip
    code = context["trade"]["code"]
    return attachment(content, f"{code}-加密对照表.xlsx", f"{code}-mapping.xlsx", XLSX_MEDIA_TYPE)


@get(ENCRYPTION_BASE + "/slips", opt=roles(Role.encryption), include_in_schema=False)
async def encryption_slips(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    """Printable slips (抽签单), one a contestant: what the hall hands out at the door."""
    require_competition(request.user, competition_id, Role.encryption)
    context = await _mapping_context(request.user, competition_id, trade_id, "slips")
    return page("scoring/draw/slips.html", **context)


# ---------------------------------------------------------------------------- supervisor


@get("/supervisor/competitions/{competition_id:int}/draws", opt=roles(Role.supervisor),
     include_in_schema=False)  # fmt: skip
async def supervisor_draws(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    competition = await services.get_competition(competition_id)
    return page(
        "scoring/draw/supervisor_draws.html",
        competition=competition,
        trades=await _drawn_trades({competition_id}),
    )


@get("/supervisor/competitions/{competition_id:int}/draws/{trade_id:int}/verify",
     opt=roles(Role.supervisor), include_in_schema=False)  # fmt: skip
async def supervisor_verify(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    """Re-run the draw from its stored seed and inputs, and compare every slot."""
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.supervisor)
    competition = await services.get_competition(competition_id)
    state = await _trade(competition_id, trade_id)
    report = await service.verify_draw(competition_id, trade_id, actor=identity.actor)
    return page(
        "scoring/draw/verify.html", competition=competition, trade=_trade_dict(state),
        report=report, mismatch_labels=MISMATCH_LABELS,
    )  # fmt: skip


@get("/supervisor/competitions/{competition_id:int}/draws/{trade_id:int}/mapping",
     opt=roles(Role.supervisor), include_in_schema=False)  # fmt: skip
async def supervisor_mapping(
    request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
) -> Template:
    require_competition(request.user, competition_id, Role.supervisor)
    context = await _mapping_context(request.user, competition_id, trade_id, "supervisor")
    return page("scoring/draw/mapping.html", audience="supervisor", **context)


ROUTES = [
    DrawController,
    encryption_home,
    encryption_mapping,
    encryption_mapping_export,
    encryption_slips,
    supervisor_draws,
    supervisor_verify,
    supervisor_mapping,
]
