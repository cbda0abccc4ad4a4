"""The judges' score sheets (评分表): the tablet page, its service worker, the JSON API every
client uses (list my sheets, put a mark, sign a sheet), and the second person's verification.

The tablet page is a shell the script (static/js/sheet.js) draws from the sheet embedded in it;
marks go through the shared offline queue (static/js/queue.js) to `POST /api/judge/marks`.
Judges see codes only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from competition.config import REPO_ROOT
from competition.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from competition.i18n import translate_error
from competition.tables import Role
from competition.web.access import PUBLIC, roles
from competition.web.forms import form_fields
from competition.web.templating import page
from scoring.sheets import marks as sheet_marks
from scoring.sheets import signing, views
from scoring.sheets.marks import MarkConflict, MarkIn
from scoring.sheets.signing import SheetIncomplete

DB_ID = msgspec.Meta(ge=1, le=2_147_483_647)
SERVICE_WORKER = REPO_ROOT / "static" / "js" / "sheet-sw.js"


# ---------------------------------------------------------------------------- shapes


class TradeRef(msgspec.Struct):
    id: int
    code: str
    name: str
    stage: str = ""
    rule: str = ""
    rule_label: str = ""


class SessionRef(msgspec.Struct):
    id: int
    code: str
    name: str
    starts_at: str | None = None
    ends_at: str | None = None


class SheetSummary(msgspec.Struct):
    id: int
    status: str
    signed_at: str | None
    trade: TradeRef
    session: SessionRef
    cells_expected: int
    cells_entered: int
    url: str


class SheetList(msgspec.Struct):
    sheets: list[SheetSummary]


class MarkBody(msgspec.Struct):
    """One change of one mark, as the tablet makes it."""

    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    sheet: Annotated[int, DB_ID]
    slot: Annotated[int, DB_ID]
    aspect: Annotated[int, DB_ID]
    # As typed or tapped: "2", "7.5". A number is accepted too (a whole one is safest: 7.25 as
    # a JSON number may not survive a client's float).
    value: Annotated[str, msgspec.Meta(max_length=20)] | int
    base_version: Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)] = 0
    device: Annotated[str, msgspec.Meta(max_length=64)] = ""


class MarkOut(msgspec.Struct):
    slot: int
    aspect: int
    value_hundredths: int
    version: int
    entered_at: str | None
    locked: bool


class Progress(msgspec.Struct):
    cells_entered: int
    cells_expected: int


class MarkSaved(msgspec.Struct):
    result: str  # saved / unchanged / repeat
    mark: MarkOut
    sheet: Progress


class SignBody(msgspec.Struct):
    client_id: Annotated[str, msgspec.Meta(max_length=64)] = ""


class Signed(msgspec.Struct):
    status: str
    signed_at: str | None


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return None if value is None else str(value)


def _json_error(status: int, code: str, message: str, **extra: Any) -> Response:
    return Response({"code": code, "message": message, **extra}, status_code=status)


# ---------------------------------------------------------------------------- the API


class JudgeSheetsApi(Controller):
    path = "/api/judge"
    tags = ("score sheets",)
    opt = roles(Role.judge)

    @get(
        "/sheets",
        summary="My score sheets",
        description="The signed-in judge's sheets (one per session judged), with progress.",
    )
    async def list_sheets(self, request: Request) -> SheetList:
        rows = await views.my_sheets(request.user.user_id)
        return SheetList(sheets=[msgspec.convert(r, SheetSummary) for r in rows])

    @get(
        "/sheets/{sheet_id:int}",
        summary="One score sheet",
        description=(
            "The contestants (anonymous codes only) × aspects of one of my sheets, with my "
            "Judgement marks, the panel's Measurement values, and what is still missing."
        ),
    )
    async def get_sheet(self, request: Request, sheet_id: FromPath[int]) -> dict[str, Any]:
        return await views.sheet_view(sheet_id, request.user.user_id)

    @post(
        "/marks",
        status_code=200,
        summary="Put a mark",
        description=(
            "Saves one mark. Idempotent on `client_id`: send a fresh random id with every change "
            "and the SAME id when retrying a request whose answer was lost — the retry is "
            "answered `repeat` and nothing is doubled. `base_version` is the version the client "
            "last saw (0: no mark): when another client changed the mark since, the answer is "
            "409 `mark_conflict` with the `current` value, and nothing is stored. A refused "
            "mark (4xx) stores nothing and is audited. Unsafe methods need `x-csrftoken`."
        ),
    )
    async def put_mark(self, request: Request, data: JSONBody[MarkBody]) -> Response:
        try:
            outcome = await sheet_marks.put_mark(
                MarkIn(
                    client_id=data.client_id,
                    sheet_id=data.sheet,
                    slot_id=data.slot,
                    aspect_id=data.aspect,
                    value=data.value,
                    base_version=data.base_version,
                    device=data.device,
                ),
                actor=request.user.actor,
            )
        except MarkConflict as exc:
            return _json_error(409, exc.code, translate_error(exc), current=exc.current)
        mark = outcome.mark
        return Response(
            MarkSaved(
                result=outcome.result,
                mark=MarkOut(
                    mark.slot,
                    mark.aspect,
                    mark.value_hundredths,
                    mark.version,
                    _iso(mark.entered_at),
                    mark.locked,
                ),
                sheet=Progress(outcome.cells_entered, outcome.cells_expected),
            )
        )

    @post(
        "/sheets/{sheet_id:int}/sign",
        status_code=200,
        summary="Sign a sheet",
        description=(
            "Signs a finished sheet; my marks on it are read-only from then on. Refused (409 "
            "`sheet_incomplete`, with the `missing` cells) while a mark is missing. Signing a "
            "signed sheet again answers as the first time."
        ),
    )
    async def sign(
        self, request: Request, sheet_id: FromPath[int], data: JSONBody[SignBody]
    ) -> Response:
        try:
            result = await signing.sign_sheet(sheet_id, actor=request.user.actor)
        except SheetIncomplete as exc:
            return _json_error(
                409,
                exc.code,
                translate_error(exc),
                missing=[c.as_json() for c in exc.missing],
            )
        return Response(Signed(result["status"], _iso(result["signed_at"])))


# ---------------------------------------------------------------------------- pages


@get("/judge/sheets/{sheet_id:int}", opt=roles(Role.judge), include_in_schema=False)
async def sheet_page(request: Request, sheet_id: FromPath[int]) -> Template:
    sheet = await views.sheet_view(sheet_id, request.user.user_id)
    title = f"{sheet['trade']['name']} · {sheet['session']['code']}"
    return page("scoring/sheets/sheet.html", sheet=sheet, title=title)


@get("/judge/sw.js", opt=PUBLIC, include_in_schema=False)
async def service_worker() -> Response:
    # Served from /judge/ so that its scope covers the sheets; the file itself holds no data.
    return Response(
        Path(SERVICE_WORKER).read_bytes(),
        media_type="application/javascript",
        headers={"cache-control": "no-cache"},
    )


async def _verify_context(request: Request, sheet_id: int) -> dict[str, Any]:
    facts = await sheet_marks.sheet_facts(sheet_id)
    await signing.verifier_of(facts, request.user.actor)
    aspect_ids = await signing.verification_aspects(facts)
    aspects = await sheet_marks.scheme_aspects(facts.scheme_id)
    codes = await signing.slot_codes(sorted(facts.slots))
    return {
        "facts": facts,
        "aspects": [aspects[a] for a in aspect_ids],
        "contestants": sorted((codes.get(s, ""), s) for s in facts.slots),
    }


@get("/judge/sheets/{sheet_id:int}/verify", opt=roles(Role.judge), include_in_schema=False)
async def verify_form(request: Request, sheet_id: FromPath[int]) -> Template:
    context = await _verify_context(request, sheet_id)
    return page(
        "scoring/sheets/verify.html",
        **context,
        values={},
        error=None,
        mismatches=None,
        done=False,
    )


@post("/judge/sheets/{sheet_id:int}/verify", opt=roles(Role.judge), include_in_schema=False)
async def verify(request: Request, sheet_id: FromPath[int]) -> Template | Redirect:
    context = await _verify_context(request, sheet_id)
    data = await form_fields(request)
    readings = {}
    for _code, slot in context["contestants"]:
        for aspect in context["aspects"]:
            readings[(slot, aspect.id)] = data.get(f"v-{slot}-{aspect.id}", "")
    try:
        mismatches = await signing.verify_sheet(sheet_id, readings, actor=request.user.actor)
    except (ValidationFailed, PermissionDenied, NotFound) as exc:
        return page(
            "scoring/sheets/verify.html",
            status_code=exc.status_code,
            **context,
            values={f"v-{s}-{a}": v for (s, a), v in readings.items()},
            error=translate_error(exc),
            mismatches=None,
            done=False,
        )
    except DomainError as exc:
        return page(
            "scoring/sheets/verify.html",
            status_code=exc.status_code,
            **context,
            values={},
            error=translate_error(exc),
            mismatches=None,
            done=False,
        )
    return page(
        "scoring/sheets/verify.html",
        **context,
        values={},
        error=None,
        mismatches=[c.as_json() for c in mismatches],
        done=not mismatches,
    )


ROUTES = [JudgeSheetsApi, sheet_page, service_worker, verify_form, verify]
