"""A delegation's (推荐单位) pages: its entries, first review (初审) one by one or in bulk, the
quota strip, registering and correcting its people, and its list as xlsx.

A delegation admin reaches only the delegations of their grants (registration.access): an
entry of another delegation answers 403 whatever its id, and a bulk review naming one is
refused for that id without its name being shown.

Some helpers here (reading a bulk selection, the outcome of a review, the entry form) serve
the organizer's pages too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import catalogue
from competition.accounts import Identity
from competition.errors import Conflict, DomainError, NotFound, PermissionDenied
from competition.i18n import N_, render, translate_error, translate_field_errors
from competition.phases import require_phase
from competition.schemas import SKILL_LEVELS
from competition.tables import Delegation, Role
from competition.web.access import roles
from competition.web.forms import FormReader, form_fields
from competition.web.templating import page
from registration import exports, queries, review
from registration.access import delegation_ids, require_entry_access
from registration.entries import (
    CORRECTION_PHASES,
    get_entry,
    register_entry,
    replace_photo,
    update_entry,
    withdraw_entry,
)
from registration.photos import MAX_UPLOAD_BYTES, process_photo
from registration.schemas import EntryIn, ReviewOutcome
from registration.tables import EntrySource, EntryStatus

BASE = "/delegation/entries"
ENTRY_FIELDS = (
    "name",
    "id_number",
    "phone",
    "employer",
    "job",
    "skill_level",
    "years_of_service",
    "trade_id",
    "group_name",
)
# What templates need to name statuses, genders and skill levels.
LABELS = {
    "status": queries.STATUS_LABELS,
    "badge": queries.STATUS_BADGES,
    "gender": queries.GENDER_LABELS,
    "skill": SKILL_LEVELS,
}
# A photo may be replaced directly only before the delegation has passed the entry; later
# the edit form carries it, which sends the entry back to review (the ticket shows the photo).
PHOTO_STATUSES = (EntryStatus.submitted.value, EntryStatus.rejected.value)


# ---------------------------------------------------------------------------- shared helpers


def int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def page_number(value: str) -> int:
    return int_or_none(value) or 1


def query_string(filters: Mapping[str, Any]) -> str:
    return urlencode({k: v for k, v in filters.items() if v not in ("", None)})


async def selected_ids(request: Request) -> list[int]:
    """The entries ticked in a bulk form (`entry` repeated); anything not a number is dropped."""
    form = await request.form()
    ids = {int_or_none(str(v)) for v in form.getall("entry", [])}
    return sorted(i for i in ids if i is not None)


async def outcome_view(
    outcome: ReviewOutcome, competition_id: int, delegation_id: int | None
) -> dict[str, Any]:
    """How many changed, and each refusal with its reason in the reader's language."""
    labels = await queries.entry_labels(
        competition_id, [i for i, _m in outcome.refused], delegation_id
    )
    return {
        "done": len(outcome.done),
        "refused": [
            {"id": entry_id, "label": labels.get(entry_id), "reason": render(message)}
            for entry_id, message in outcome.refused
        ],
    }


def read_entry_form(data: dict[str, str], delegation_id: int, id_number: str) -> EntryIn:
    form = FormReader(data)
    skill_level = form.integer("skill_level", minimum=1, maximum=5)
    years = form.integer("years_of_service", required=True, minimum=0, maximum=50)
    trade_id = form.integer("trade_id", required=True, minimum=1)
    form.check()
    return EntryIn(
        name=data.get("name", ""),
        id_number=id_number,
        phone=data.get("phone", ""),
        employer=data.get("employer", ""),
        job=data.get("job", ""),
        skill_level=skill_level,
        years_of_service=years or 0,
        delegation_id=delegation_id,
        trade_id=trade_id or 0,
        group_name=data.get("group_name", ""),
    )


async def read_photo(request: Request, *, required: bool) -> Any:
    """The processed photo of a form's `photo` field, or None when none was chosen."""
    form = await request.form()
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return process_photo(b"") if required else None
    # One byte over the limit is enough for process_photo to say it is too large.
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if not data and not required:
        return None
    return await anyio.to_thread.run_sync(process_photo, data)


async def form_choices(competition_id: int) -> dict[str, Any]:
    """Trades by industry, and every group any trade has, for the entry form."""
    industries = await catalogue.trades_by_industry(competition_id)
    groups: list[str] = []
    for industry in industries:
        for trade in industry["trades"]:
            groups.extend(g for g in trade["groups"] or () if g not in groups)
    return {"industries": industries, "groups": groups, "skill_levels": SKILL_LEVELS}


def entry_values(entry: dict[str, Any]) -> dict[str, str]:
    """An entry as the edit form shows it."""
    level = entry["person.skill_level"]
    return {
        "name": entry["person.name"],
        "phone": entry["person.phone"],
        "employer": entry["person.employer"],
        "job": entry["person.job"],
        "skill_level": "" if level is None else str(level),
        "years_of_service": str(entry["person.years_of_service"]),
        "trade_id": str(entry["trade"]),
        "group_name": entry["group_name"],
    }


# ---------------------------------------------------------------------------- this delegation


async def my_delegation(identity: Identity, requested: str = "") -> dict[str, Any]:
    """The delegation a page is about: the one asked for if the admin holds it, else their
    first. Its competition comes with it."""
    mine = delegation_ids(identity)
    if not mine:
        raise PermissionDenied(
            "Your account is not linked to a delegation yet. Ask the organizer.",
            code="no_delegation",
        )
    wanted = int_or_none(requested)
    chosen = wanted if wanted in mine else mine[0]
    rows = await Delegation.select(
        Delegation.id,
        Delegation.code,
        Delegation.name,
        Delegation.competition,
        Delegation.competition.name,
        Delegation.competition.phase,
    ).where(Delegation.id.is_in(mine))
    by_id = {r["id"]: r for r in rows}
    if chosen not in by_id:
        raise NotFound("The delegation was not found.", code="delegation_not_found")
    delegation = by_id[chosen]
    delegation["others"] = [r for r in rows if r["id"] != chosen]
    return delegation


def _filters(
    delegation: dict[str, Any], trade: str, status: str, q: str
) -> tuple[queries.EntryFilter, dict[str, str]]:
    shown = {
        "delegation": str(delegation["id"]) if delegation["others"] else "",
        "trade": trade if int_or_none(trade) is not None else "",
        "status": status if status in queries.STATUS_LABELS else "",
        "q": queries.clean_search(q),
    }
    entry_filter = queries.EntryFilter(
        competition_id=delegation["competition"],
        delegation_id=delegation["id"],
        trade_id=int_or_none(shown["trade"]),
        status=shown["status"] or None,
        search=shown["q"],
    )
    return entry_filter, shown


async def _entry(identity: Identity, entry_id: int) -> dict[str, Any]:
    """The entry with its ID number masked, if it belongs to one of the admin's delegations
    (403 otherwise, 404 when there is none)."""
    await require_entry_access(identity, entry_id, Role.delegation_admin)
    return await queries.entry_detail(await get_entry(entry_id), full_id=False)


class DelegationEntriesController(Controller):
    path = BASE
    opt = roles(Role.delegation_admin)
    include_in_schema = False

    # ------------------------------------------------------------------------ list and bulk

    @get("/")
    async def list_entries(
        self,
        request: Request,
        delegation: FromQuery[str] = "",
        trade: FromQuery[str] = "",
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        mine = await my_delegation(request.user, delegation)
        return await self._list(mine, trade, status, q, page_number)

    @post("/review")
    async def bulk_review(
        self,
        request: Request,
        delegation: FromQuery[str] = "",
        trade: FromQuery[str] = "",
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        identity: Identity = request.user
        mine = await my_delegation(identity, delegation)
        data = await form_fields(request)
        chosen = await selected_ids(request)
        approve = data.get("action") == "approve"
        try:
            outcome = await review.review_by_delegation(
                mine["competition"],
                mine["id"],
                chosen,
                approve,
                actor=identity.actor,
                reason=data.get("reason", ""),
            )
        except DomainError as exc:
            return await self._list(
                mine, trade, status, q, page_number,
                status_code=exc.status_code, error=translate_error(exc),
                errors=translate_field_errors(exc), reason=data.get("reason", ""),
                selected=chosen,
            )  # fmt: skip
        return await self._list(
            mine, trade, status, q, page_number,
            outcome=await outcome_view(outcome, mine["competition"], mine["id"]),
            approved=approve,
        )  # fmt: skip

    @get("/export.xlsx")
    async def export(
        self,
        request: Request,
        delegation: FromQuery[str] = "",
        trade: FromQuery[str] = "",
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
    ) -> Response:
        mine = await my_delegation(request.user, delegation)
        entry_filter, _shown = _filters(mine, trade, status, q)
        title = exports.safe_filename(mine["name"], "报名名单")
        content = await exports.export_entries(
            entry_filter, full_id=False, title=title.removesuffix(".xlsx")
        )
        return Response(
            content,
            media_type=exports.XLSX_MEDIA_TYPE,
            headers={
                "content-disposition": exports.content_disposition(title, "entries.xlsx"),
                "cache-control": "no-store",
            },
        )

    async def _list(
        self,
        mine: dict[str, Any],
        trade: str,
        status: str,
        q: str,
        page_number_text: str,
        *,
        status_code: int = 200,
        outcome: dict[str, Any] | None = None,
        approved: bool = False,
        error: str | None = None,
        errors: dict[str, str] | None = None,
        reason: str = "",
        selected: list[int] | None = None,
    ) -> Template:
        entry_filter, shown = _filters(mine, trade, status, q)
        result = await queries.list_entries(entry_filter, page_number(page_number_text))
        usage = (await queries.quota_overview(mine["competition"], delegation_id=mine["id"])).rows
        return page(
            "registration/delegation/entries.html",
            status_code=status_code,
            delegation=mine,
            result=result,
            filters=shown,
            query=query_string(shown),
            base_query=query_string({k: v for k, v in shown.items() if k != "status"}),
            trades=await catalogue.trades(mine["competition"]),
            quotas_used=[u for u in usage if u["held"] or u["submitted"]],
            quotas_unused=[u for u in usage if not (u["held"] or u["submitted"])],
            labels=LABELS,
            outcome=outcome,
            approved=approved,
            error=error,
            errors=errors or {},
            reason=reason,
            selected=selected or [],
        )

    # ------------------------------------------------------------------------ one person

    @get("/new")
    async def new_entry(self, request: Request, delegation: FromQuery[str] = "") -> Template:
        mine = await my_delegation(request.user, delegation)
        return await self._form(mine, None, {})

    @post("/new")
    async def create_entry(
        self, request: Request, delegation: FromQuery[str] = ""
    ) -> Template | Redirect:
        identity: Identity = request.user
        mine = await my_delegation(identity, delegation)
        data = await form_fields(request)
        try:
            photo = await read_photo(request, required=False)
            entry_id = await register_entry(
                mine["competition"],
                read_entry_form(data, mine["id"], data.get("id_number", "")),
                actor=identity.actor,
                photo=photo,
                source=EntrySource.delegation_import,
            )
        except DomainError as exc:
            return await self._form(mine, None, data, exc)
        return Redirect(f"{BASE}/{entry_id}?done=created", status_code=303)

    @get("/{entry_id:int}")
    async def entry(self, request: Request, entry_id: FromPath[int]) -> Template:
        return await self._detail(request.user, entry_id)

    @post("/{entry_id:int}/review")
    async def review_one(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        data = await form_fields(request)
        approve = data.get("action") == "approve"
        try:
            outcome = await review.review_by_delegation(
                entry["competition"],
                entry["delegation"],
                [entry_id],
                approve,
                actor=identity.actor,
                reason=data.get("reason", ""),
            )
            if outcome.refused:
                message = outcome.refused[0][1]
                raise Conflict(message, code="review_refused", **message.params)
        except DomainError as exc:
            return await self._detail(identity, entry_id, exc, reason=data.get("reason", ""))
        return Redirect(f"{BASE}/{entry_id}?done=saved", status_code=303)

    @post("/{entry_id:int}/photo")
    async def photo(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        try:
            require_phase(entry["competition.phase"], CORRECTION_PHASES, N_("Replacing a photo"))
            if entry["status"] not in PHOTO_STATUSES:
                raise Conflict(
                    "After first review the photo is changed with the edit form, which sends "
                    "the entry back to review.",
                    code="photo_after_review",
                )
            photo = await read_photo(request, required=True)
            await replace_photo(entry["person"], photo, identity.actor)
        except DomainError as exc:
            return await self._detail(identity, entry_id, exc)
        return Redirect(f"{BASE}/{entry_id}?done=saved", status_code=303)

    @post("/{entry_id:int}/withdraw")
    async def withdraw(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        await _entry(identity, entry_id)
        try:
            await withdraw_entry(entry_id, actor=identity.actor)
        except DomainError as exc:
            return await self._detail(identity, entry_id, exc)
        return Redirect(f"{BASE}?done=deleted", status_code=303)

    @get("/{entry_id:int}/edit")
    async def edit_entry(self, request: Request, entry_id: FromPath[int]) -> Template:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        mine = await my_delegation(identity, str(entry["delegation"]))
        return await self._form(mine, entry, entry_values(entry))

    @post("/{entry_id:int}/edit")
    async def update(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        mine = await my_delegation(identity, str(entry["delegation"]))
        data = await form_fields(request)
        try:
            photo = await read_photo(request, required=False)
            # The ID number is not on the form: the stored one goes back unchanged.
            stored = await get_entry(entry_id)
            await update_entry(
                entry_id,
                read_entry_form(data, entry["delegation"], stored["person.id_number"]),
                actor=identity.actor,
                photo=photo,
            )
        except DomainError as exc:
            return await self._form(mine, entry, data, exc)
        return Redirect(f"{BASE}/{entry_id}?done=saved", status_code=303)

    async def _form(
        self,
        mine: dict[str, Any],
        entry: dict[str, Any] | None,
        values: dict[str, str],
        exc: DomainError | None = None,
    ) -> Template:
        return page(
            "registration/delegation/entry_form.html",
            status_code=exc.status_code if exc else 200,
            delegation=mine,
            entry=entry,
            values=values,
            errors=translate_field_errors(exc) if exc else {},
            error=translate_error(exc) if exc else None,
            **await form_choices(mine["competition"]),
        )

    async def _detail(
        self,
        identity: Identity,
        entry_id: int,
        exc: DomainError | None = None,
        *,
        reason: str = "",
    ) -> Template:
        entry = await _entry(identity, entry_id)
        return page(
            "registration/delegation/entry.html",
            status_code=exc.status_code if exc else 200,
            entry=entry,
            history=await queries.entry_history(entry_id),
            labels=LABELS,
            can_photo=entry["status"] in PHOTO_STATUSES,
            error=translate_error(exc) if exc else None,
            errors=translate_field_errors(exc) if exc else {},
            reason=reason,
        )


ROUTES = [DelegationEntriesController]
