"""Score imports (成绩导入): the organizer's pages for the four imports of scoring/imports/ —
paper score sheets, theory and oral scores, penalties, completion times. Each: download the
template, upload an xlsx or CSV file, check it (a dry run listing every problem, and the report
workbook with its 错误 column), then import it.

Every route is the organizer's, inside one competition (`/org/competitions/{id}/*`). One page
per import, at a path of its own (no path parameter for the kind)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, ValidationFailed
from competition.i18n import N_, translate_error
from competition.spreadsheets import XLSX_MEDIA_TYPE
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import parse_int
from competition.web.menus import SCORING, MenuItem, add_competition_menu_item
from competition.web.templating import page
from scoring.imports.kinds import KINDS, Kind
from scoring.imports.shared import trades_of

add_competition_menu_item(MenuItem("score-imports", "/score-imports", N_("Score imports")), SCORING)

BASE = "/org/competitions/{competition_id:int}/score-imports"
SHOWN_PROBLEMS = 200


async def _trades(competition_id: int) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "code": t.code, "name": t.name}
        for t in (await trades_of(competition_id)).values()
    ]


async def _page(
    competition_id: int,
    kind: Kind,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    **shown: Any,
) -> Template:
    for key, default in (("error", None), ("problems", []), ("problem_total", 0),
                         ("imported", None), ("checked", None)):  # fmt: skip
        shown.setdefault(key, default)
    return page(
        "scoring/imports/kind.html",
        status_code=status_code,
        competition=await services.get_competition(competition_id),
        kind=kind,
        kinds=list(KINDS.values()),
        trades=await _trades(competition_id),
        columns=kind.columns,
        max_mb=kind.limits.max_mb,
        max_rows=kind.limits.max_rows,
        values={"trade": None, "sign": False, **(values or {})},
        **shown,
    )


@get(BASE, opt=roles(Role.organizer), include_in_schema=False, name="score-imports")
async def score_imports(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    return page(
        "scoring/imports/index.html",
        competition=await services.get_competition(competition_id),
        kinds=list(KINDS.values()),
    )


async def _file(form: Any, name: str, kind: Kind, *, required: bool) -> bytes | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        if required:
            raise ValidationFailed("Choose an Excel (.xlsx) or CSV file to upload.", code="no_file")
        return None
    return await upload.read(kind.limits.max_bytes + 1)


async def _upload(request: Request, competition_id: int, kind: Kind) -> Template | Response:
    """action=check (dry run), report (the report workbook) or commit."""
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.organizer)
    form = await request.form()
    action = str(form.get("action") or "check")
    trade_id = parse_int(str(form.get("trade") or ""), minimum=1)
    sign = kind.key == "marks" and str(form.get("sign") or "") == "1"
    values = {"trade": trade_id, "sign": sign}
    try:
        if trade_id is not None and trade_id not in {
            t["id"] for t in await _trades(competition_id)
        }:
            raise ValidationFailed("Choose a trade of this competition.", code="trade_not_found")
        data = await _file(form, "file", kind, required=True)
        options: dict[str, Any] = {"trade_id": trade_id}
        if kind.key == "marks":
            second = await _file(form, "second", kind, required=False)
            if second is not None:
                options["second"] = second
        plan = await kind.module.read_plan(competition_id, data, **options)
        if action == "report":
            return attachment(kind.module.report(plan), f"{kind.file_stem}检查报告.xlsx",
                              f"{kind.key}-report.xlsx", XLSX_MEDIA_TYPE)  # fmt: skip
        if action == "commit" and not plan.problems:
            filename = form.get("file").filename
            extra = {"sign": sign} if kind.key == "marks" else {}
            result = await kind.module.commit(
                competition_id, plan, actor=identity.actor, filename=filename, **extra
            )
            return await _page(competition_id, kind, values=values, imported=result.summary())
        if action == "commit":
            # Refused: audited like a refused tablet mark, and the problems listed below.
            await kind.module.commit(
                competition_id, plan, actor=identity.actor, filename=form.get("file").filename
            )
    except DomainError as exc:
        if isinstance(exc, kind.rejected):
            plan_problems = exc.problems
        else:
            return await _page(
                competition_id, kind, status_code=exc.status_code, values=values,
                error=translate_error(exc),
            )  # fmt: skip
    else:
        plan_problems = plan.problems
    rejected = kind.rejected(plan_problems) if plan_problems else None
    problems = [
        {"file": p.sheet, "row": p.row, "column": p.column, "text": p.text()}
        for p in plan_problems[:SHOWN_PROBLEMS]
    ]
    return await _page(
        competition_id,
        kind,
        status_code=422 if rejected else 200,
        values=values,
        error=translate_error(rejected) if rejected else None,
        problems=problems,
        problem_total=len(plan_problems),
        checked=None if rejected else plan.summary(),
    )


def _routes(kind: Kind) -> list:
    path = f"{BASE}/{kind.key}"

    @get(path, opt=roles(Role.organizer), include_in_schema=False,
         name=f"score-imports-{kind.key}")  # fmt: skip
    async def show(request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await _page(competition_id, kind)

    @get(f"{path}/template", opt=roles(Role.organizer), include_in_schema=False,
         name=f"score-imports-{kind.key}-template")  # fmt: skip
    async def template(request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        return attachment(kind.module.template(), f"{kind.file_stem}模板.xlsx",
                          f"{kind.key}-template.xlsx", XLSX_MEDIA_TYPE)  # fmt: skip

    @post(path, opt=roles(Role.organizer), include_in_schema=False, status_code=200,
          name=f"score-imports-{kind.key}-upload")  # fmt: skip
    async def upload(request: Request, competition_id: FromPath[int]) -> Template | Response:
        return await _upload(request, competition_id, kind)

    return [show, template, upload]


ROUTES = [score_imports, *(route for kind in KINDS.values() for route in _routes(kind))]
