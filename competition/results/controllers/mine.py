"""A contestant's own results and a delegation's people's (我的成绩), and the appeals (申诉)
they file from there while the trade's window is open. Before publication an entry says only
that its results are not published yet; never a judge's name."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition.accounts import Identity
from competition.errors import DomainError, NotFound, PermissionDenied
from competition.i18n import N_, translate_error
from competition.results import appeals, publication
from competition.results.certificates import service as certificates
from competition.results.controllers.certificates import certificate_pdf, public_base_url
from competition.results.controllers.organizer import AWARD_LABELS
from competition.schemas import SKILL_LEVELS
from competition.tables import Role
from competition.web.access import roles
from competition.web.forms import form_fields, parse_int
from competition.web.menus import MenuItem, add_home_link
from competition.web.templating import page
from registration.access import delegation_ids
from registration.tables import Entry, EntryStatus
from scoring.scores import score_detail
from scoring.tables import DrawSlot

add_home_link(Role.contestant, MenuItem("results", "/me/results", N_("My results and appeals")))
add_home_link(
    Role.delegation_admin,
    MenuItem("results", "/delegation/results", N_("Our contestants' results and appeals")),
)

_ENTRY_COLUMNS = (
    Entry.id,
    Entry.trade,
    Entry.trade.code,
    Entry.trade.name,
    Entry.trade.competition.name,
    Entry.group_name,
    Entry.person.name,
    Entry.delegation.name,
)


async def _entries(where: Any) -> list[dict[str, Any]]:
    return await (
        Entry.select(*_ENTRY_COLUMNS)
        .where(where & (Entry.status == EntryStatus.approved))
        .order_by(Entry.id)
    )


async def _results(entries: list[dict[str, Any]], *, detail: bool) -> list[dict[str, Any]]:
    """Each entry with the line of the version on its trade's board, if any."""
    boards: dict[int, publication.Version | None] = {}
    slots = {
        r["entry"]: r["id"]
        for r in await DrawSlot.select(DrawSlot.id, DrawSlot.entry).where(
            DrawSlot.entry.is_in([e["id"] for e in entries] or [0])
        )
    }
    held: dict[int, list[certificates.CertificateView]] = {}
    for certificate in await certificates.of_entries(e["id"] for e in entries):
        held.setdefault(certificate.entry_id, []).append(certificate)
    out = []
    for entry in entries:
        trade_id = entry["trade"]
        if trade_id not in boards:
            boards[trade_id] = await publication.board_version(trade_id)
        board = boards[trade_id]
        line = next((r for r in board.rows if r.entry_id == entry["id"]), None) if board else None
        item = {"entry": entry, "board": board, "line": line, "detail": None,
                "certificates": held.get(entry["id"], [])}  # fmt: skip
        if detail and line is not None and line.present and entry["id"] in slots:
            item["detail"] = await score_detail(trade_id, slots[entry["id"]])
        out.append(item)
    return out


def _labels() -> dict[str, Any]:
    return {
        "award_labels": AWARD_LABELS,
        "skill_levels": SKILL_LEVELS,
        "appeal_labels": appeals.STATUS_LABELS,
    }


# ---------------------------------------------------------------------------- contestant


async def _my_page(
    identity: Identity, *, status_code: int = 200, error: str | None = None,
    values: dict[str, str] | None = None, done: str = "",
) -> Template:  # fmt: skip
    entries = await _entries(Entry.person.user == identity.user_id)
    return page(
        "competition/results/mine.html",
        status_code=status_code,
        audience="contestant",
        items=await _results(entries, detail=True),
        appeals=await appeals.appeals_of_entries([e["id"] for e in entries]),
        error=error,
        values=values or {},
        done=done,
        action="/me/appeals",
        **_labels(),
    )


@get("/me/results", opt=roles(Role.contestant), include_in_schema=False)
async def my_results(request: Request) -> Template:
    return await _my_page(request.user, done=request.query_params.get("done", ""))


async def _file(request: Request, *, delegation: bool) -> Template | Redirect:
    identity: Identity = request.user
    data = await form_fields(request)
    entry_id = parse_int(data.get("entry_id"), minimum=1)
    render_page = _delegation_page if delegation else _my_page
    try:
        if entry_id is None:
            raise NotFound("The entry was not found.", code="entry_not_found")
        filed_as = await appeals.may_appeal_for(
            entry_id,
            user_id=identity.user_id,
            delegation_ids=set(delegation_ids(identity)) if delegation else set(),
        )
        await appeals.file_appeal(
            entry_id, data.get("text", ""), actor=identity.actor, filed_as=filed_as
        )
    except DomainError as exc:
        return await render_page(
            identity, status_code=exc.status_code, error=translate_error(exc), values=data
        )
    target = "/delegation/results" if delegation else "/me/results"
    return Redirect(f"{target}?done=appealed", status_code=303)


@post("/me/appeals", opt=roles(Role.contestant), include_in_schema=False, status_code=200)
async def my_appeal(request: Request) -> Template | Redirect:
    return await _file(request, delegation=False)


# ---------------------------------------------------------------------------- delegation


async def _delegation_page(
    identity: Identity, *, status_code: int = 200, error: str | None = None,
    values: dict[str, str] | None = None, done: str = "",
) -> Template:  # fmt: skip
    ids = sorted(delegation_ids(identity))
    entries = await _entries(Entry.delegation.is_in(ids or [0]))
    items = [i for i in await _results(entries, detail=False) if i["board"] is not None]
    return page(
        "competition/results/mine.html",
        status_code=status_code,
        audience="delegation",
        items=items,
        appeals=await appeals.appeals_of_entries([e["id"] for e in entries]),
        error=error,
        values=values or {},
        done=done,
        action="/delegation/appeals",
        **_labels(),
    )


@get("/delegation/results", opt=roles(Role.delegation_admin), include_in_schema=False)
async def delegation_results(request: Request) -> Template:
    return await _delegation_page(request.user, done=request.query_params.get("done", ""))


@post(
    "/delegation/appeals", opt=roles(Role.delegation_admin), include_in_schema=False,
    status_code=200,
)  # fmt: skip
async def delegation_appeal(request: Request) -> Template | Redirect:
    return await _file(request, delegation=True)


async def _held(number: str, may_hold) -> certificates.CertificateView:
    found = await certificates.find(number)
    if found is None:
        raise NotFound("There is no certificate with this number.", code="certificate_not_found")
    entry = await Entry.select(Entry.person.user, Entry.delegation).where(
        Entry.id == found.entry_id
    ).first()  # fmt: skip
    if entry is None or not may_hold(entry):
        raise PermissionDenied("This certificate is someone else's.", code="certificate_forbidden")
    return found


@get("/me/certificates/{number:str}", opt=roles(Role.contestant), include_in_schema=False)
async def my_certificate(request: Request, number: FromPath[str]) -> Response:
    """One's own certificate as a PDF (its current version)."""
    identity: Identity = request.user
    found = await _held(number, lambda e: e["person.user"] == identity.user_id)
    return await certificate_pdf(found, public_base_url(request))


@get("/delegation/certificates/{number:str}", opt=roles(Role.delegation_admin),
     include_in_schema=False)  # fmt: skip
async def delegation_certificate(request: Request, number: FromPath[str]) -> Response:
    """The certificate of one of the delegation's contestants."""
    mine = set(delegation_ids(request.user))
    found = await _held(number, lambda e: e["delegation"] in mine)
    return await certificate_pdf(found, public_base_url(request))


ROUTES = [my_results, my_appeal, delegation_results, delegation_appeal, my_certificate,
          delegation_certificate]  # fmt: skip
