"""The organizer's marking schemes (评分细则): every trade's scheme status, the xlsx template and
import (check first, then import), one trade's scheme, its edit form, and the printouts (the
scheme, and a blank score sheet per session for the paper fallback).

The edit form needs no script (the CSP forbids inline JS): "add an aspect" and "add a
criterion" are submit buttons that show the form again with one more empty line, and a ticked
"remove" box leaves its line out.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import services
from competition import spreadsheets as kit
from competition.accounts import Identity
from competition.controllers.imports import load_report, save_report
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, gettext, render, translate_error
from competition.stages import BEFORE_COMPETING, STAGE_LABELS, Stage
from competition.tables import CompetitionSession, Role, Station, Trade
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import parse_int
from competition.web.menus import SCORING, MenuItem, add_competition_menu_item
from competition.web.templating import page
from scoring.schemes import printouts, rules, service, sheet
from scoring.schemes.rules import AspectDraft, CriterionDraft, SchemeDraft
from scoring.tables import DrawSlot, SessionJudge

add_competition_menu_item(MenuItem("schemes", "/schemes", N_("Marking schemes")), SCORING)

PDF = "application/pdf"
SHOWN_PROBLEMS = 200
MAX_LINES = rules.MAX_ASPECTS
ASPECT_FIELDS = ("criterion", "code", "description", "kind", "max", "judges", "deductions",
                 "level0", "level1", "level2", "level3")  # fmt: skip
# Where a scheme problem's field is shown on the form.
FORM_FIELDS = {"criterion_code": "criterion", "aspect_code": "code", "descriptors": "level0",
               "criterion_name": "name"}  # fmt: skip


async def _trade(competition_id: int, trade_id: int) -> dict[str, Any]:
    row = (
        await Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage)
        .where((Trade.id == trade_id) & (Trade.competition == competition_id))
        .first()
    )
    if row is None:
        raise NotFound("The trade was not found.", code="trade_not_found")
    row["stage_label"] = STAGE_LABELS[Stage(row["stage"])]
    row["editable"] = Stage(row["stage"]) in BEFORE_COMPETING
    return row


def _problem_rows(problems: list[kit.RowProblem]) -> list[dict[str, Any]]:
    return [{"row": p.row, "column": p.column, "text": p.text()} for p in problems[:SHOWN_PROBLEMS]]


class SchemesController(Controller):
    path = "/org/competitions/{competition_id:int}"
    opt = roles(Role.organizer)
    include_in_schema = False

    async def _list(self, competition_id: int, *, status_code: int = 200, **extra: Any):
        competition = await services.get_competition(competition_id)
        rows = await service.scheme_statuses(competition_id)
        return page(
            "scoring/schemes/list.html",
            status_code=status_code,
            competition=competition,
            rows=rows,
            with_scheme=sum(1 for r in rows if r["scheme"]),
            columns=sheet.COLUMNS,
            max_mb=sheet.LIMITS.max_mb,
            max_rows=sheet.LIMITS.max_rows,
            marks=rules.marks_text,
            **{"error": None, "problems": [], "problem_total": 0, "report_url": None,
               "result": None, "saved": "", **extra},
        )  # fmt: skip

    @get("/schemes")
    async def index(
        self, request: Request, competition_id: FromPath[int], imported: FromQuery[str] = ""
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._list(competition_id, saved=imported[:20])

    @get("/schemes/template.xlsx")
    async def template(self, request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        codes = [
            r["code"]
            for r in await Trade.select(Trade.code)
            .where(Trade.competition == competition_id)
            .order_by(Trade.sort_order)
            .order_by(Trade.code)
        ]
        content = await anyio.to_thread.run_sync(sheet.template_workbook, codes)
        return attachment(content, f"{competition['code']}-评分细则模板.xlsx",
                          "scheme-template.xlsx", kit.XLSX_MEDIA_TYPE)  # fmt: skip

    @post("/schemes/import")
    async def upload(self, request: Request, competition_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        form = await request.form()
        upload = form.get("file")
        commit = form.get("action") == "commit"
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed(
                    N_("Choose an Excel file (.xlsx) to upload."), code="no_file"
                )
            data = await upload.read(sheet.LIMITS.max_bytes + 1)
            result = await service.import_schemes(
                competition_id, data, actor=identity.actor, commit=commit,
                filename=upload.filename,
            )  # fmt: skip
        except service.SchemeFileRejected as exc:
            report_url = None
            if exc.read is not None:
                table = exc.read.grid.table
                report = kit.ReportSheet(sheet.SHEET, table.rows, exc.read.grid.header_row)
                content = await anyio.to_thread.run_sync(_report_workbook, report, exc.problems)
                token = save_report(competition_id, identity.user_id, content)
                report_url = f"/org/competitions/{competition_id}/schemes/report/{token}.xlsx"
            return await self._list(
                competition_id, status_code=exc.status_code, error=translate_error(exc),
                problems=_problem_rows(exc.problems), problem_total=len(exc.problems),
                report_url=report_url,
            )  # fmt: skip
        except DomainError as exc:
            return await self._list(
                competition_id, status_code=exc.status_code, error=translate_error(exc)
            )
        if commit:
            return Redirect(
                f"/org/competitions/{competition_id}/schemes?imported={result.trades}",
                status_code=303,
            )
        return await self._list(competition_id, result=result)

    @get("/schemes/report/{token:str}")
    async def report(
        self, request: Request, competition_id: FromPath[int], token: FromPath[str]
    ) -> Response:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        content = load_report(competition_id, identity.user_id, token.removesuffix(".xlsx"))
        if content is None:
            raise NotFound(
                N_("This error report has expired (reports are kept for an hour). Upload the "
                   "file again to get a new one."),
                code="report_expired",
            )  # fmt: skip
        return attachment(content, gettext("import-errors") + ".xlsx", "import-errors.xlsx",
                          kit.XLSX_MEDIA_TYPE)  # fmt: skip

    @get("/trades/{trade_id:int}/scheme")
    async def show(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade_id: FromPath[int],
        saved: FromQuery[str] = "",
        version: FromQuery[int | None] = None,
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return page(
            "scoring/schemes/show.html",
            **await _show_context(competition_id, trade_id, version),
            saved=saved[:20],
            read_only=False,
        )

    # ------------------------------------------------------------------------ the form

    async def _form(
        self,
        competition_id: int,
        trade: dict[str, Any],
        criteria: list[dict[str, str]],
        aspects: list[dict[str, str]],
        *,
        status_code: int = 200,
        error: str | None = None,
        general: list[str] | None = None,
    ) -> Template:
        return page(
            "scoring/schemes/edit.html",
            status_code=status_code,
            competition=await services.get_competition(competition_id),
            trade=trade,
            criteria=criteria,
            aspects=aspects,
            error=error,
            general=general or [],
            kinds=rules.KIND_LABELS,
            total=rules.marks_text(_total(aspects)),
        )

    @get("/trades/{trade_id:int}/scheme/edit")
    async def edit(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        require_competition(request.user, competition_id, Role.organizer)
        trade = await _trade(competition_id, trade_id)
        if not trade["editable"]:
            # The scheme page says why it can no longer change.
            return Redirect(
                f"/org/competitions/{competition_id}/trades/{trade_id}/scheme", status_code=303
            )
        scheme = await service.current_scheme(trade_id)
        if scheme is None:
            criteria = [{"code": "A", "name": "", "errors": {}}]
            aspects = [_blank_aspect("A")]
        else:
            criteria, aspects = _form_lines(scheme.draft())
        return await self._form(competition_id, trade, criteria, aspects)

    @post("/trades/{trade_id:int}/scheme/edit")
    async def save(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        trade = await _trade(competition_id, trade_id)
        form = await request.form()
        fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        criteria, aspects = _read_form(fields)
        action = fields.get("action", "save")
        if action in ("add_aspect", "add_criterion"):
            if action == "add_aspect" and len(aspects) < MAX_LINES:
                aspects.append(_blank_aspect(criteria[-1]["code"] if criteria else ""))
            if action == "add_criterion" and len(criteria) < 26:
                criteria.append({"code": _next_code(criteria), "name": "", "errors": {}})
            return await self._form(competition_id, trade, criteria, aspects)
        draft, unreadable = _draft(criteria, aspects)
        try:
            if unreadable:
                raise service.SchemeRejected([])
            change = await service.save_scheme(competition_id, trade_id, draft,
                                               actor=identity.actor)  # fmt: skip
        except service.SchemeRejected as exc:
            general = _place_problems(exc.problems, criteria, aspects)
            n = len(exc.problems) + unreadable
            return await self._form(
                competition_id, trade, criteria, aspects, status_code=422, general=general,
                error=render(N_("Problems found: {n}. Nothing was saved; fix them and save "
                                "again.", n=n)),
            )  # fmt: skip
        except DomainError as exc:
            return await self._form(
                competition_id, trade, criteria, aspects, status_code=exc.status_code,
                error=translate_error(exc),
            )  # fmt: skip
        return Redirect(
            f"/org/competitions/{competition_id}/trades/{trade_id}/scheme?saved={change.how}",
            status_code=303,
        )

    # ------------------------------------------------------------------------ printouts

    @get("/trades/{trade_id:int}/scheme.pdf")
    async def scheme_pdf(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade_id: FromPath[int],
        version: FromQuery[int | None] = None,
    ) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        return await _scheme_pdf(competition_id, trade_id, version)

    @get("/sessions/{session_id:int}/score-sheet.pdf")
    async def score_sheet(
        self, request: Request, competition_id: FromPath[int], session_id: FromPath[int]
    ) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        session = (
            await CompetitionSession.select(CompetitionSession.id, CompetitionSession.code,
                                            CompetitionSession.name, CompetitionSession.trade,
                                            CompetitionSession.venue)
            .where(CompetitionSession.id == session_id)
            .first()
        )  # fmt: skip
        if session is None:
            raise NotFound("The session was not found.", code="session_not_found")
        trade = await _trade(competition_id, session["trade"])
        scheme = await _scheme_or_404(trade["id"], None)
        slots = (
            await DrawSlot.select(DrawSlot.code, DrawSlot.judge_code)
            .where(DrawSlot.session == session_id)
            .order_by(DrawSlot.position)
        )
        # The judges see the second layer where the draw added one.
        codes = sorted(s["judge_code"] or s["code"] for s in slots)
        stations = [] if codes else [
            r["code"] for r in await Station.select(Station.code)
            .where(Station.venue == session["venue"]).order_by(Station.code)
        ]  # fmt: skip
        judges = [
            r["judge.name"]
            for r in await SessionJudge.select(SessionJudge.judge.name)
            .where(SessionJudge.session == session_id)
            .order_by(SessionJudge.judge.name)
        ]
        labels = {
            "title": gettext("Score sheet"),
            "meta": gettext("Marking scheme version {version}; codes only.",
                            version=scheme.version),
            "judge": gettext("Judge"),
            "code": gettext("Code"),
            "station": gettext("Station"),
            "note": gettext("Notes"),
            "sign": gettext("Judge's signature: ____________    Chief judge: ____________    "
                            "Date: ____________"),
        }  # fmt: skip
        content = await anyio.to_thread.run_sync(
            lambda: printouts.score_sheet_pdf(trade, session, scheme, codes, stations, judges,
                                              labels)
        )  # fmt: skip
        return attachment(content, f"{trade['code']}-{session['code']}-评分表.pdf",
                          f"{trade['code']}-{session['code']}-score-sheet.pdf", PDF)  # fmt: skip


def _report_workbook(report: kit.ReportSheet, problems: list[kit.RowProblem]) -> bytes:
    return kit.report_workbook([report], problems, listing=True)


async def _scheme_or_404(trade_id: int, version: int | None) -> service.SchemeView:
    rows = await service.versions(trade_id)
    chosen = next((v for v in rows if v["version"] == version), None) if version else None
    chosen = chosen or next((v for v in rows if v["is_current"]), None)
    if chosen is None:
        raise NotFound("The trade has no marking scheme yet.", code="no_scheme")
    return await service.scheme_view(chosen["id"])


# ---------------------------------------------------------------------------- form lines


def _blank_aspect(criterion: str) -> dict[str, Any]:
    return {**{k: "" for k in ASPECT_FIELDS}, "criterion": criterion, "kind": "measurement",
            "judges": "3", "verify": False, "errors": {}}  # fmt: skip


def _next_code(criteria: list[dict[str, Any]]) -> str:
    used = {c["code"] for c in criteria}
    return next((c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used), "")


def _form_lines(draft: SchemeDraft) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    criteria = [{"code": c.code, "name": c.name, "errors": {}} for c in draft.criteria]
    aspects = []
    for a in draft.aspects:
        levels = (a.descriptors + [""] * rules.LEVELS)[: rules.LEVELS]
        aspects.append({
            "criterion": a.criterion, "code": a.code, "description": a.description,
            "kind": a.kind, "max": rules.marks_short(a.max_hundredths),
            "judges": str(a.judges_needed), "verify": a.needs_verification,
            "deductions": "\n".join(f"{d.label}:{rules.marks_short(d.hundredths)}"
                                    for d in a.deductions),
            **{f"level{n}": levels[n] for n in range(rules.LEVELS)},
            "errors": {},
        })  # fmt: skip
    return criteria, aspects


def _read_form(fields: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    criteria, aspects = [], []
    n_criteria = parse_int(fields.get("criteria"), minimum=0, maximum=26) or 0
    n_aspects = parse_int(fields.get("aspects"), minimum=0, maximum=MAX_LINES) or 0
    for i in range(n_criteria):
        if fields.get(f"c{i}-remove"):
            continue
        criteria.append({"code": fields.get(f"c{i}-code", "").upper()[:20],
                         "name": fields.get(f"c{i}-name", "")[:300], "errors": {}})  # fmt: skip
    for i in range(n_aspects):
        if fields.get(f"a{i}-remove"):
            continue
        line = {k: fields.get(f"a{i}-{k}", "")[:3000] for k in ASPECT_FIELDS}
        line["criterion"] = line["criterion"].upper()
        line["code"] = line["code"].upper()
        line["verify"] = bool(fields.get(f"a{i}-verify"))
        line["errors"] = {}
        aspects.append(line)
    return criteria, aspects


def _total(aspects: list[dict[str, Any]]) -> int:
    total = 0
    for a in aspects:
        try:
            total += rules.parse_hundredths(a["max"])
        except ValueError:
            continue
    return total


def _draft(
    criteria: list[dict[str, Any]], aspects: list[dict[str, Any]]
) -> tuple[SchemeDraft, int]:
    """The form as a draft, and how many cells could not be read (marked on their lines)."""
    unreadable = 0
    draft = SchemeDraft(
        criteria=[CriterionDraft(c["code"], c["name"], row=i) for i, c in enumerate(criteria)]
    )
    for i, a in enumerate(aspects):
        try:
            max_hundredths = rules.parse_hundredths(a["max"])
        except ValueError:
            max_hundredths = 0
            a["errors"]["max"] = render(N_("Enter the maximum mark as a number with at most two "
                                           "decimals, e.g. 12.5."))  # fmt: skip
            unreadable += 1
        judges = parse_int(a["judges"], minimum=0, maximum=99)
        try:
            deductions = rules.parse_deductions(a["deductions"])
        except ValueError as exc:
            deductions = []
            a["errors"]["deductions"] = render(
                N_("The deduction step “{step}” is not “label:marks”.", step=str(exc)[:50])
            )
            unreadable += 1
        descriptors = [a[f"level{n}"] for n in range(rules.LEVELS)]
        if a["kind"] != "judgement" and not any(descriptors):
            descriptors = []
        draft.aspects.append(
            AspectDraft(
                criterion=a["criterion"], code=a["code"], description=a["description"],
                kind=a["kind"], max_hundredths=max_hundredths,
                judges_needed=judges if judges is not None else 0,
                needs_verification=a["verify"], deductions=deductions,
                descriptors=descriptors, row=1000 + i,
            )
        )  # fmt: skip
    return draft, unreadable


def _place_problems(
    problems: list[rules.SchemeProblem],
    criteria: list[dict[str, Any]],
    aspects: list[dict[str, Any]],
) -> list[str]:
    """Each problem next to its line's field; the scheme's own (the total) returned."""
    general = []
    for problem in problems:
        where = FORM_FIELDS.get(problem.field, problem.field) or "code"
        text = render(problem.message)
        if problem.row is None:
            general.append(text)
        elif problem.row >= 1000 and problem.row - 1000 < len(aspects):
            aspects[problem.row - 1000]["errors"].setdefault(where, text)
        elif problem.row < len(criteria):
            criteria[problem.row]["errors"].setdefault("name" if where == "name" else "code", text)
        else:
            general.append(text)
    return general


async def _show_context(competition_id: int, trade_id: int, version: int | None) -> dict[str, Any]:
    trade = await _trade(competition_id, trade_id)
    all_versions = await service.versions(trade_id)
    chosen = next((v for v in all_versions if v["version"] == version), None)
    if chosen is None:
        chosen = next((v for v in all_versions if v["is_current"]), None)
    scheme = await service.scheme_view(chosen["id"]) if chosen else None
    sessions = (
        await CompetitionSession.select(CompetitionSession.id, CompetitionSession.code,
                                        CompetitionSession.name)
        .where(CompetitionSession.trade == trade_id)
        .order_by(CompetitionSession.starts_at)
        .order_by(CompetitionSession.code)
    )  # fmt: skip
    return {
        "competition": await services.get_competition(competition_id),
        "trade": trade,
        "scheme": scheme,
        "versions": all_versions,
        "sessions": sessions,
        "marks": rules.marks_text,
        "kinds": rules.KIND_LABELS,
    }


async def _scheme_pdf(competition_id: int, trade_id: int, version: int | None) -> Response:
    trade = await _trade(competition_id, trade_id)
    scheme = await _scheme_or_404(trade_id, version)
    labels = {
        "title": gettext("Marking scheme"),
        "summary": gettext(
            "Version {version} · {n} aspects · total {total} marks",
            version=scheme.version,
            n=len(scheme.aspects),
            total=rules.marks_text(scheme.total),
        ),
        "columns": [
            gettext("Code"),
            gettext("Aspect"),
            gettext("Type"),
            gettext("Max"),
            gettext("Judges"),
            gettext("Descriptors or deductions"),
        ],
        "kinds": printouts.kind_labels(render),
        "verify": gettext("verified"),
        "full_or_zero": gettext("Full marks or zero"),
    }
    content = await anyio.to_thread.run_sync(printouts.scheme_pdf, trade, scheme, labels)
    return attachment(content, f"{trade['code']}-{trade['name']}-评分细则.pdf",
                      f"{trade['code']}-scheme.pdf", PDF)  # fmt: skip


SUPERVISOR = "/supervisor/competitions/{competition_id:int}/trades/{trade_id:int}"


@get(f"{SUPERVISOR}/scheme", opt=roles(Role.supervisor), include_in_schema=False)
async def supervisor_scheme(
    request: Request,
    competition_id: FromPath[int],
    trade_id: FromPath[int],
    version: FromQuery[int | None] = None,
) -> Template:
    """A trade's scheme for the supervisor (监督仲裁), read only, with its versions."""
    require_competition(request.user, competition_id, Role.supervisor)
    return page(
        "scoring/schemes/show.html",
        **await _show_context(competition_id, trade_id, version),
        saved="",
        read_only=True,
    )


@get(f"{SUPERVISOR}/scheme.pdf", opt=roles(Role.supervisor), include_in_schema=False)
async def supervisor_scheme_pdf(
    request: Request,
    competition_id: FromPath[int],
    trade_id: FromPath[int],
    version: FromQuery[int | None] = None,
) -> Response:
    require_competition(request.user, competition_id, Role.supervisor)
    return await _scheme_pdf(competition_id, trade_id, version)


ROUTES = [SchemesController, supervisor_scheme, supervisor_scheme_pdf]
