"""Judges and panels (裁判): the organizer's register, import, panels and badges; the judge's and
the chief judge's home pages; and the badge sign-in (/badge/{token}), public because the badge
is the credential.

Judge-facing pages show codes only: never a contestant's name, ticket or ID number.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import accounts, services
from competition.accounts import SESSION_LIFETIME, Identity
from competition.config import get_settings
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, render, translate_error, translate_field_errors
from competition.spreadsheets import XLSX_MEDIA_TYPE
from competition.stages import BEFORE_COMPETING, STAGE_LABELS, Stage
from competition.tables import (
    CompetitionSession,
    Delegation,
    Role,
    RoleGrant,
    Trade,
)
from competition.web.access import PUBLIC, require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import form_fields, parse_int
from competition.web.menus import SCORING, MenuItem, add_competition_menu_item
from competition.web.middleware import SESSION_COOKIE, session_cookie
from competition.web.templating import page
from scoring.panels import assignment, badges, register, sheet
from scoring.panels.register import QUALIFICATION_LABELS, JudgeIn
from scoring.sheets import views as sheet_views
from scoring.tables import Judge, PanelMember, Qualification, SessionJudge

add_competition_menu_item(MenuItem("judges", "/judges", N_("Judges")), SCORING)
add_competition_menu_item(MenuItem("panels", "/panels", N_("Panels")), SCORING)

SHOWN_PROBLEMS = 200
PDF = "application/pdf"


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _qualifications() -> list[tuple[str, str]]:
    return [(q.value, render(label)) for q, label in QUALIFICATION_LABELS.items()]


async def _delegations(competition_id: int) -> list[tuple[int, str]]:
    rows = (
        await Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    )
    return [(r["id"], f"{r['code']} {r['name']}") for r in rows]


def _judge_in(data: dict[str, str]) -> JudgeIn:
    return JudgeIn(
        name=data.get("name", ""),
        employer=data.get("employer", ""),
        delegation_id=parse_int(data.get("delegation"), minimum=1),
        qualification=data.get("qualification", ""),
        phone=data.get("phone", ""),
        id_number=data.get("id_number", ""),
        username=data.get("username", ""),
    )


class JudgesController(Controller):
    """The register (裁判库): list, new, edit, import, badges."""

    path = "/org/competitions/{competition_id:int}/judges"
    opt = roles(Role.organizer)
    include_in_schema = False

    async def _list(
        self,
        competition_id: int,
        q: str = "",
        page_text: str = "1",
        *,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        result = await register.list_judges(
            competition_id, search=q, page=parse_int(page_text, minimum=1) or 1
        )
        valid = await badges.badge_status([r["id"] for r in result.rows])
        shown = {"imported": None, "checked": None, "error": None, "problems": [],
                 "problem_total": 0, **extra}  # fmt: skip
        return page(
            "scoring/judges/list.html",
            status_code=status_code,
            competition=await services.get_competition(competition_id),
            result=result,
            q=q,
            query=urlencode({"q": q}) if q else "",
            badges=valid,
            labels=QUALIFICATION_LABELS,
            columns=sheet.COLUMNS,
            max_mb=sheet.LIMITS.max_mb,
            max_rows=sheet.LIMITS.max_rows,
            **shown,
        )

    @get("/")
    async def index(
        self,
        request: Request,
        competition_id: FromPath[int],
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._list(competition_id, q, page_number)

    async def _form(
        self,
        competition_id: int,
        *,
        judge: dict[str, Any] | None,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        return page(
            "scoring/judges/form.html",
            status_code=status_code,
            competition=await services.get_competition(competition_id),
            judge=judge,
            values=values,
            errors=errors or {},
            error=error,
            qualifications=_qualifications(),
            delegations=await _delegations(competition_id),
            **extra,
        )

    @get("/new")
    async def new_form(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._form(
            competition_id, judge=None, values={"qualification": Qualification.provincial.value}
        )

    @post("/new")
    async def create(self, request: Request, competition_id: FromPath[int]) -> Template:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        try:
            created = await register.create_judge(
                competition_id, _judge_in(data), actor=identity.actor
            )
        except DomainError as exc:
            return await self._form(
                competition_id, judge=None, values=data, status_code=exc.status_code,
                errors=translate_field_errors(exc), error=translate_error(exc),
            )  # fmt: skip
        # The password is shown here once and stored nowhere but as its hash.
        return page(
            "scoring/judges/created.html",
            status_code=201,
            competition=await services.get_competition(competition_id),
            created=created,
            name=" ".join(data.get("name", "").split()),
        )

    @get("/template")
    async def template(self, request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        return attachment(sheet.template(), "裁判名单模板.xlsx", "judges-template.xlsx",
                          XLSX_MEDIA_TYPE)  # fmt: skip

    @post("/import", status_code=200)
    async def upload(self, request: Request, competition_id: FromPath[int]) -> Template | Response:
        """action=check (dry run), report (the report workbook) or commit."""
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        form = await request.form()
        action = str(form.get("action") or "check")
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed(
                    "Choose an Excel (.xlsx) or CSV file to upload.", code="no_file"
                )
            plan = await sheet.read_plan(
                competition_id, await upload.read(sheet.LIMITS.max_bytes + 1)
            )
            if action == "report":
                return attachment(sheet.report(plan), "裁判名单检查报告.xlsx",
                                  "judges-report.xlsx", XLSX_MEDIA_TYPE)  # fmt: skip
            if action == "commit" and not plan.problems:
                result = await sheet.commit(competition_id, plan, actor=identity.actor)
                return await self._list(competition_id, imported=result)
        except DomainError as exc:
            return await self._list(
                competition_id, status_code=exc.status_code, error=translate_error(exc)
            )
        problems = [
            {"row": p.row, "column": p.column, "text": p.text()}
            for p in plan.problems[:SHOWN_PROBLEMS]
        ]
        rejected = sheet.JudgesRejected(plan.problems) if plan.problems else None
        return await self._list(
            competition_id,
            status_code=422 if rejected else 200,
            error=translate_error(rejected) if rejected else None,
            problems=problems,
            problem_total=len(plan.problems),
            checked={"rows": len(plan.judges), "assignments": plan.assignments}
            if not rejected
            else None,
        )

    @get("/{judge_id:int}")
    async def edit_form(
        self, request: Request, competition_id: FromPath[int], judge_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        judge = await register.get_judge(competition_id, judge_id)
        return await self._form(
            competition_id, judge=judge, values={**judge, "id_number": ""},
            **await self._judge_extra(judge_id),
        )  # fmt: skip

    async def _judge_extra(self, judge_id: int) -> dict[str, Any]:
        status = await badges.badge_status([judge_id])
        trades = await PanelMember.select(
            PanelMember.trade, PanelMember.trade.code, PanelMember.trade.name, PanelMember.is_chief
        ).where(PanelMember.judge == judge_id)
        return {"badge": status.get(judge_id), "trades": trades, "max_days": badges.MAX_DAYS}

    @post("/{judge_id:int}")
    async def update(
        self, request: Request, competition_id: FromPath[int], judge_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        try:
            await register.update_judge(
                competition_id, judge_id, _judge_in(data), actor=identity.actor
            )
        except DomainError as exc:
            judge = await register.get_judge(competition_id, judge_id)
            return await self._form(
                competition_id, judge=judge, values=data, status_code=exc.status_code,
                errors=translate_field_errors(exc), error=translate_error(exc),
                **await self._judge_extra(judge_id),
            )  # fmt: skip
        return Redirect(f"/org/competitions/{competition_id}/judges?done=saved", status_code=303)

    @post("/{judge_id:int}/delete")
    async def delete(
        self, request: Request, competition_id: FromPath[int], judge_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        try:
            await register.remove_judge(competition_id, judge_id, actor=identity.actor)
        except DomainError as exc:
            judge = await register.get_judge(competition_id, judge_id)
            return await self._form(
                competition_id, judge=judge, values={**judge, "id_number": ""},
                status_code=exc.status_code, error=translate_error(exc),
                **await self._judge_extra(judge_id),
            )  # fmt: skip
        return Redirect(f"/org/competitions/{competition_id}/judges?done=removed", status_code=303)

    @post("/{judge_id:int}/badge", status_code=200)
    async def issue_badge(
        self, request: Request, competition_id: FromPath[int], judge_id: FromPath[int]
    ) -> Response:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        days = parse_int(data.get("days"), minimum=0) or None
        issued = await badges.issue_badges(
            competition_id, [judge_id], actor=identity.actor, days=days
        )
        competition = await services.get_competition(competition_id)
        return attachment(
            badges.badge_pdf(competition["name"], issued, _base_url(request)),
            f"裁判证-{issued[0].name}.pdf", "judge-badge.pdf", PDF,
        )  # fmt: skip

    @post("/{judge_id:int}/badge/revoke")
    async def revoke_badge(
        self, request: Request, competition_id: FromPath[int], judge_id: FromPath[int]
    ) -> Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        await badges.revoke_badges(competition_id, judge_id, actor=identity.actor)
        return Redirect(
            f"/org/competitions/{competition_id}/judges/{judge_id}?done=revoked", status_code=303
        )


# ---------------------------------------------------------------------------- panels


def _contestant_rows(report: assignment.RecusalReport, names: dict[int, str], *, show_names: bool):
    rows = []
    for person in report.contestants:
        skipped = report.allocation.skipped.get(person.id, [])
        if not skipped:
            continue
        rows.append({
            "label": report.label(person.id, names=show_names),
            "skipped": [
                {"judge": names.get(j, ""), "reason": render(assignment.REASON_LABELS[r])}
                for j, r in skipped
            ],
            "left": len(report.allocation.allowed.get(person.id, [])),
        })  # fmt: skip
    return rows


def _shortfall_rows(report: assignment.RecusalReport, *, show_names: bool):
    return [
        {
            "label": report.label(s.contestant_id, names=show_names),
            "available": s.available,
            "aspects": "、".join(f"{code}（{n}）" for code, n in s.aspects),
        }
        for s in report.shortfalls
    ]


async def _trade_context(competition_id: int, trade_id: int) -> dict[str, Any]:
    trade = (
        await Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage, Trade.competition)
        .where(Trade.id == trade_id)
        .first()
    )
    if trade is None or trade["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    report = await assignment.recusal_report(trade_id)
    loads = await assignment.judge_loads([m["judge"] for m in report.facts.members])
    names = {m["judge"]: m["judge.name"] for m in report.facts.members}
    here = _allowed_counts(report)
    for member in report.facts.members:
        member["load"] = loads.get(member["judge"], {"trades": 0, "sessions": 0, "contestants": 0})
        member["here"] = here.get(member["judge"], 0)
    in_panel = set(names)
    candidates = (
        await Judge.select(Judge.id, Judge.name, Judge.employer)
        .where(Judge.competition == competition_id)
        .order_by(Judge.name)
    )
    stage = Stage(trade["stage"])
    return {
        "competition": await services.get_competition(competition_id),
        "trade": trade,
        "stage_label": render(STAGE_LABELS[stage]),
        "editable": stage in BEFORE_COMPETING,
        "report": report,
        "members": report.facts.members,
        "sessions": report.facts.sessions,
        "candidates": [c for c in candidates if c["id"] not in in_panel],
        "skipped": _contestant_rows(report, names, show_names=True),
        "shortfalls": _shortfall_rows(report, show_names=True),
        "labels": QUALIFICATION_LABELS,
    }


def _allowed_counts(report: assignment.RecusalReport) -> dict[int, int]:
    counts: dict[int, int] = {}
    for allowed in report.allocation.allowed.values():
        for judge_id in allowed:
            counts[judge_id] = counts.get(judge_id, 0) + 1
    return counts


class PanelsController(Controller):
    """The panels (裁判组) of every trade, and one trade's assignment page."""

    path = "/org/competitions/{competition_id:int}/panels"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def overview(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        trades = await assignment.overview(competition_id)
        for t in trades:
            t["stage_label"] = render(STAGE_LABELS[Stage(t["stage"])])
        return page(
            "scoring/judges/panels.html",
            competition=await services.get_competition(competition_id),
            trades=trades,
        )

    async def _trade_page(
        self, competition_id: int, trade_id: int, *, status_code: int = 200, error: str = ""
    ) -> Template:
        return page(
            "scoring/judges/trade.html",
            status_code=status_code,
            error=error,
            **await _trade_context(competition_id, trade_id),
        )

    @get("/{trade_id:int}")
    async def trade(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._trade_page(competition_id, trade_id)

    @post("/{trade_id:int}")
    async def change(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Template | Redirect:
        """action: add (judge, chief), chief / unchief / remove (judge), sessions."""
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        form = await request.form()
        action = str(form.get("action") or "")
        judge_id = parse_int(str(form.get("judge") or ""), minimum=1)
        try:
            if judge_id is None:
                raise ValidationFailed("Choose a judge.", code="judge_missing")
            if action == "add":
                await assignment.add_member(
                    competition_id, trade_id, judge_id, actor=identity.actor,
                    chief=form.get("chief") == "1",
                )  # fmt: skip
            elif action in ("chief", "unchief"):
                await assignment.set_chief(
                    competition_id, trade_id, judge_id, action == "chief", actor=identity.actor
                )
            elif action == "remove":
                await assignment.remove_member(
                    competition_id, trade_id, judge_id, actor=identity.actor
                )
            elif action == "sessions":
                chosen = [n for v in form.getall("session", []) if (n := parse_int(str(v)))]
                await assignment.set_sessions(
                    competition_id, trade_id, judge_id, chosen, actor=identity.actor
                )
            else:
                raise ValidationFailed("Choose what to do.", code="action_missing")
        except DomainError as exc:
            return await self._trade_page(
                competition_id, trade_id, status_code=exc.status_code, error=translate_error(exc)
            )
        return Redirect(
            f"/org/competitions/{competition_id}/panels/{trade_id}?done=saved", status_code=303
        )

    @post("/{trade_id:int}/badges", status_code=200)
    async def trade_badges(
        self, request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Response:
        """New badges for the whole panel, one PDF (the earlier badges stop working)."""
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        members = await PanelMember.select(PanelMember.judge).where(
            (PanelMember.trade == trade_id) & (PanelMember.trade.competition == competition_id)
        )
        if not members:
            raise ValidationFailed("The panel has no judges yet.", code="panel_empty")
        issued = await badges.issue_badges(
            competition_id, [m["judge"] for m in members], actor=identity.actor
        )
        competition = await services.get_competition(competition_id)
        return attachment(
            badges.badge_pdf(competition["name"], issued, _base_url(request)),
            "裁判证.pdf", "judge-badges.pdf", PDF,
        )  # fmt: skip


# ---------------------------------------------------------------------------- judge homes


async def _home_trades(identity: Identity) -> list[dict[str, Any]]:
    """The trades a judge works on: panels of the register, and trades their grants name (an
    account given a trade on the accounts page before it is in the register)."""
    judges = await Judge.select(Judge.id, Judge.competition).where(Judge.user == identity.user_id)
    judge_ids = [j["id"] for j in judges]
    chief_of: dict[int, bool] = {}
    if judge_ids:
        for m in await PanelMember.select(PanelMember.trade, PanelMember.is_chief).where(
            PanelMember.judge.is_in(judge_ids)
        ):
            chief_of[m["trade"]] = chief_of.get(m["trade"], False) or m["is_chief"]
    for grant in identity.grants:
        if grant.role in (Role.judge, Role.chief_judge) and grant.trade_id is not None:
            chief_of[grant.trade_id] = chief_of.get(grant.trade_id, False) or (
                grant.role == Role.chief_judge
            )
    if not chief_of:
        return []
    trades = (
        await Trade.select(
            Trade.id,
            Trade.code,
            Trade.name,
            Trade.stage,
            Trade.competition,
            Trade.competition.name,
            Trade.industry.name,
        )
        .where(Trade.id.is_in(sorted(chief_of)))
        .order_by(Trade.code)
    )
    mine: set[int] = set()
    if judge_ids:
        mine = {
            r["session"]
            for r in await SessionJudge.select(SessionJudge.session).where(
                SessionJudge.judge.is_in(judge_ids)
            )
        }
    for trade in trades:
        trade["is_chief"] = chief_of[trade["id"]]
        trade["stage_label"] = render(STAGE_LABELS[Stage(trade["stage"])])
        trade["judge_id"] = next(
            (j["id"] for j in judges if j["competition"] == trade["competition"]), None
        )
        trade["sessions"] = await (
            CompetitionSession.select(
                CompetitionSession.id,
                CompetitionSession.name,
                CompetitionSession.starts_at,
                CompetitionSession.ends_at,
                CompetitionSession.venue.name,
            )
            .where(CompetitionSession.trade == trade["id"])
            .order_by(CompetitionSession.starts_at)
        )
        report = await assignment.recusal_report(trade["id"])
        judge_id = trade["judge_id"]
        for s in trade["sessions"]:
            s["mine"] = s["id"] in mine
            s["codes"] = (
                sum(
                    1
                    for c in report.contestants
                    if c.session_id == s["id"]
                    and judge_id in report.allocation.allowed.get(c.id, [])
                )
                if report.drawn and judge_id is not None
                else None
            )
        trade["drawn"] = report.drawn
        trade["panel"] = await _panel_names(trade["id"], report)
        if trade["is_chief"]:
            names = {m["judge"]: m["judge.name"] for m in report.facts.members}
            # Codes after the draw; before it a judge sees no one, not even by name.
            trade["skipped"] = (
                _contestant_rows(report, names, show_names=False) if report.drawn else []
            )
            trade["skipped_count"] = report.skipped_count
            trade["shortfalls"] = _shortfall_rows(report, show_names=False)
            trade["thin"] = report.thin_sessions
    return trades


async def _panel_names(trade_id: int, report: assignment.RecusalReport) -> list[dict[str, Any]]:
    panel = [
        {"name": m["judge.name"], "chief": m["is_chief"], "qualification": m["judge.qualification"]}
        for m in report.facts.members
    ]
    if panel:
        return panel
    grants = (
        await RoleGrant.select(RoleGrant.role, RoleGrant.user.display_name)
        .where(
            (RoleGrant.trade == trade_id)
            & RoleGrant.role.is_in([Role.judge.value, Role.chief_judge.value])
        )
        .order_by(RoleGrant.role)
        .order_by(RoleGrant.user.username)
    )
    return [
        {"name": g["user.display_name"], "chief": g["role"] == Role.chief_judge.value,
         "qualification": ""}
        for g in grants
    ]  # fmt: skip


@get("/judge", opt=roles(Role.judge), include_in_schema=False)
async def judge_home(request: Request) -> Template:
    return page(
        "scoring/judges/home.html",
        role=Role.judge,
        trades=await _home_trades(request.user),
        labels=QUALIFICATION_LABELS,
        sheets=await sheet_views.my_sheets(request.user.user_id),
        to_verify=await sheet_views.sheets_to_verify(request.user.user_id),
    )


@get("/chief", opt=roles(Role.chief_judge), include_in_schema=False)
async def chief_home(request: Request) -> Template:
    trades = [t for t in await _home_trades(request.user) if t["is_chief"]]
    return page(
        "scoring/judges/home.html",
        role=Role.chief_judge,
        trades=trades,
        labels=QUALIFICATION_LABELS,
        sheets=[],
        to_verify=[],
    )


# ---------------------------------------------------------------------------- badge sign-in


@get("/badge/{token:str}", opt=PUBLIC, include_in_schema=False)
async def badge_page(token: FromPath[str]) -> Template:
    try:
        holder = await badges.badge_holder(token)
    except DomainError as exc:
        return page(
            "scoring/judges/badge.html", status_code=exc.status_code, error=translate_error(exc)
        )
    return page("scoring/judges/badge.html", holder=holder, error=None, token=token)


@post("/badge/{token:str}", opt=PUBLIC, include_in_schema=False)
async def badge_sign_in(request: Request, token: FromPath[str]) -> Template | Redirect:
    try:
        session = await badges.sign_in_by_badge(token)
    except DomainError as exc:
        return page(
            "scoring/judges/badge.html", status_code=exc.status_code, error=translate_error(exc)
        )
    # A shared tablet: whoever was signed in on it before is signed out, not just hidden.
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await accounts.end_session(previous)
    response = Redirect("/judge", status_code=303)
    response.set_cookie(session_cookie(session, secure=get_settings().cookie_secure,
                                       max_age=int(SESSION_LIFETIME.total_seconds())))  # fmt: skip
    return response


ROUTES = [
    JudgesController,
    PanelsController,
    judge_home,
    chief_home,
    badge_page,
    badge_sign_in,
]
