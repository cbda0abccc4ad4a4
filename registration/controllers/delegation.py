"""A delegation's (推荐单位) pages: its entries, first review (初审) one by one or in bulk, the
quota strip, registering and correcting its people, and its list as xlsx.

A delegation admin reaches only the delegations of their grants (registration.access): an
entry of another delegation answers 403 whatever its id, and a bulk review naming one is
refused for that id without its name being shown. The person records they change are the ones
their delegation owns (registration/people.py): another delegation's person is refused, and a
person who keeps the record through their own account is shown read-only. After each first
review of one entry the next waiting one opens.

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
from competition.i18n import N_, Msg, gettext, render, translate_error, translate_field_errors
from competition.phases import Phase, require_phase
from competition.schemas import SKILL_LEVELS
from competition.tables import Delegation, Role
from competition.web.access import roles
from competition.web.forms import FormReader, form_fields
from competition.web.templating import localized, page, phase_label
from registration import claims, exports, kept_photos, people, queries, quotas, review
from registration.access import delegation_ids, require_entry_access
from registration.entries import (
    CORRECTION_PHASES,
    Outcome,
    editable,
    get_entry,
    register_entry,
    registration_refusal,
    replace_photo,
    update_entry,
    withdraw_entry,
    withdrawable,
)
from registration.photos import MAX_UPLOAD_BYTES, ProcessedPhoto, process_photo
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
# `?done=<key>` on an entry's page: what just happened to it (or, with `prev=<id>`, to the
# entry reviewed before this one). Texts come from here, never from the address.
DONE_NOTICES: dict[str, Msg] = {
    "created": N_("Registered: the entry waits for your first review."),
    "passed": N_("{name} · {trade}: passed first review."),
    "returned": N_("{name} · {trade}: returned with the reason “{reason}”."),
    Outcome.resubmitted.value: N_("Saved: the entry waits for first review again."),
    Outcome.back_to_review.value: N_(
        "Saved: the entry went back to review; an issued admission ticket stopped working."
    ),
    Outcome.reissued.value: N_(
        "Saved: the admission ticket was reissued; older printouts no longer pass check-in."
    ),
    Outcome.recorded.value: N_("Saved: the review and the admission ticket stand."),
    Outcome.unchanged.value: N_("Nothing was changed."),
    "photo": N_("The photo was replaced."),
}
PERSON_FORM_FIELDS = ("name", "phone", "employer", "job", "skill_level", "years_of_service")


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


async def read_photo(request: Request, *, required: bool, user_id: int | None = None) -> Any:
    """The processed photo of a form's `photo` field, else the one a failed submit kept for
    `user_id` (registration/kept_photos.py), else None when none was chosen."""
    form = await request.form()
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        if user_id is not None:
            kept = kept_photos.restore(
                str(form.get(kept_photos.FIELD, "")),
                str(form.get(kept_photos.PROOF_FIELD, "")),
                user_id,
            )
            if kept is not None:
                return kept
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
        industry["label"] = localized(industry["name"], industry.get("name_en"))
        for trade in industry["trades"]:
            trade["label"] = localized(trade["name"], trade["name_en"])
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
        Delegation.competition.registration_closes_on,
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


def acting_for(mine: dict[str, Any]) -> people.Acting:
    """The admin acting for `mine`, a delegation `my_delegation` returned (so theirs)."""
    return people.Acting(
        role=Role.delegation_admin, delegation_id=mine["id"], delegation_code=mine["code"]
    )


def _closed_reason(mine: dict[str, Any]) -> str | None:
    """Why this delegation may not enter new people now (phase or deadline), or None."""
    reason = registration_refusal(
        mine["competition.phase"],
        mine["competition.registration_closes_on"],
        Role.delegation_admin,
    )
    return render(reason) if reason is not None else None


def _kept(photo: ProcessedPhoto | None, identity: Identity) -> kept_photos.KeptPhoto | None:
    return kept_photos.keep(photo, identity.user_id) if photo is not None else None


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
        done: FromQuery[str] = "",
        prev: FromQuery[str] = "",
    ) -> Template:
        mine = await my_delegation(request.user, delegation)
        return await self._list(
            mine, trade, status, q, page_number,
            # Back from the last waiting entry's review: what happened to it.
            done_notice=await _done_notice(done, int_or_none(prev), mine)
            if done in ("passed", "returned") else None,
        )  # fmt: skip

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
        done_notice: str | None = None,
    ) -> Template:
        entry_filter, shown = _filters(mine, trade, status, q)
        result = await queries.list_entries(entry_filter, page_number(page_number_text))
        usage = (await queries.quota_overview(mine["competition"], delegation_id=mine["id"])).rows
        phase = Phase(mine["competition.phase"])
        closed_reason = _closed_reason(mine)
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
            can_register=closed_reason is None,
            can_review=phase in review.REVIEW_PHASES,
            closed_reason=closed_reason,
            waiting_claims=len(await claims.pending_claims(acting=acting_for(mine))),
            done_notice=done_notice,
        )

    # ------------------------------------------------------------------------ one person

    @get("/new")
    async def new_entry(self, request: Request, delegation: FromQuery[str] = "") -> Template:
        mine = await my_delegation(request.user, delegation)
        return await self._form(request.user, mine, None, {})

    @post("/new")
    async def create_entry(
        self, request: Request, delegation: FromQuery[str] = ""
    ) -> Template | Redirect:
        identity: Identity = request.user
        mine = await my_delegation(identity, delegation)
        data = await form_fields(request)
        photo = None
        try:
            photo = await read_photo(request, required=False, user_id=identity.user_id)
            entry_id = await register_entry(
                mine["competition"],
                read_entry_form(data, mine["id"], data.get("id_number", "")),
                actor=identity.actor,
                acting=acting_for(mine),
                photo=photo,
                source=EntrySource.delegation_import,
            )
        except DomainError as exc:
            return await self._form(identity, mine, None, data, exc, kept=_kept(photo, identity))
        return Redirect(f"{BASE}/{entry_id}?done=created", status_code=303)

    @get("/{entry_id:int}")
    async def entry(
        self, request: Request, entry_id: FromPath[int], done: FromQuery[str] = "",
        prev: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._detail(request.user, entry_id, done=done, prev=int_or_none(prev))

    @post("/{entry_id:int}/review")
    async def review_one(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        """First review of one entry, then on to the next one waiting (by id, from the start
        again at the end); back to the list when none waits."""
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
        done = "passed" if approve else "returned"
        following = await review.next_waiting(
            entry["competition"],
            status=EntryStatus.submitted.value,
            after_id=entry_id,
            delegation_id=entry["delegation"],
        )
        if following is None:
            return Redirect(
                f"{BASE}?delegation={entry['delegation']}&done={done}&prev={entry_id}",
                status_code=303,
            )
        return Redirect(f"{BASE}/{following}?done={done}&prev={entry_id}", status_code=303)

    @post("/{entry_id:int}/photo")
    async def photo(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        mine = await my_delegation(identity, str(entry["delegation"]))
        try:
            require_phase(entry["competition.phase"], CORRECTION_PHASES, N_("Replacing a photo"))
            if entry["status"] == EntryStatus.revoked:
                raise Conflict(
                    "This entry was revoked and cannot be changed.", code="entry_revoked"
                )
            photo = await read_photo(request, required=True)
            effects = await replace_photo(
                entry["person"], photo, actor=identity.actor, acting=acting_for(mine)
            )
        except DomainError as exc:
            return await self._detail(identity, entry_id, exc)
        done = Outcome.reissued.value if entry_id in effects.reissued else "photo"
        return Redirect(f"{BASE}/{entry_id}?done={done}", status_code=303)

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
        return await self._form(identity, mine, entry, entry_values(entry))

    @post("/{entry_id:int}/edit")
    async def update(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        entry = await _entry(identity, entry_id)
        mine = await my_delegation(identity, str(entry["delegation"]))
        data = await form_fields(request)
        acting = acting_for(mine)
        if not people.may_change(await people.owner_of(entry["person"]), acting):
            # The person keeps the record through their own account: the form shows the
            # particulars without inputs, and the stored ones go back unchanged.
            data.update({k: v for k, v in entry_values(entry).items() if k in PERSON_FORM_FIELDS})
        photo = None
        try:
            photo = await read_photo(request, required=False, user_id=identity.user_id)
            # The ID number is not on the form: the stored one goes back unchanged.
            stored = await get_entry(entry_id)
            correction = await update_entry(
                entry_id,
                read_entry_form(data, entry["delegation"], stored["person.id_number"]),
                actor=identity.actor,
                acting=acting,
                photo=photo,
            )
        except DomainError as exc:
            return await self._form(identity, mine, entry, data, exc, kept=_kept(photo, identity))
        return Redirect(f"{BASE}/{entry_id}?done={correction.outcome.value}", status_code=303)

    async def _form(
        self,
        identity: Identity,
        mine: dict[str, Any],
        entry: dict[str, Any] | None,
        values: dict[str, str],
        exc: DomainError | None = None,
        *,
        kept: kept_photos.KeptPhoto | None = None,
    ) -> Template:
        closed_reason = _closed_reason(mine)
        owns = entry is None or people.may_change(
            await people.owner_of(entry["person"]), acting_for(mine)
        )
        return page(
            "registration/delegation/entry_form.html",
            status_code=exc.status_code if exc else 200,
            delegation=mine,
            entry=entry,
            values=values,
            errors=translate_field_errors(exc) if exc else {},
            error=translate_error(exc) if exc else None,
            owns_person=owns,
            kept_photo=kept,
            can_register=closed_reason is None,
            closed_reason=closed_reason,
            **await form_choices(mine["competition"]),
        )

    async def _detail(
        self,
        identity: Identity,
        entry_id: int,
        exc: DomainError | None = None,
        *,
        reason: str = "",
        done: str = "",
        prev: int | None = None,
    ) -> Template:
        entry = await _entry(identity, entry_id)
        mine = await my_delegation(identity, str(entry["delegation"]))
        status, phase = entry["status"], entry["competition.phase"]
        owns = people.may_change(await people.owner_of(entry["person"]), acting_for(mine))
        in_review = Phase(phase) in review.REVIEW_PHASES
        places = (await quotas.places(trade_ids=[entry["trade"]])).get(
            (entry["delegation"], entry["trade"]), quotas.Places(cap=0, used=0)
        )
        actions = {
            "edit": editable(status, phase),
            "withdraw": withdrawable(status, phase),
            "review": in_review
            and status in (EntryStatus.submitted.value, EntryStatus.delegation_approved.value),
            "pass": in_review and status == EntryStatus.submitted and not places.full,
            "photo": owns and status != EntryStatus.revoked and Phase(phase) in CORRECTION_PHASES,
        }
        return page(
            "registration/delegation/entry.html",
            status_code=exc.status_code if exc else 200,
            entry=entry,
            trade_label=localized(entry["trade.name"], entry["trade.name_en"]),
            history=await queries.entry_history(entry_id),
            labels=LABELS,
            actions=actions,
            why_not=_why_not(entry, actions, owns, places),
            owns_person=owns,
            error=translate_error(exc) if exc else None,
            errors=translate_field_errors(exc) if exc else {},
            reason=reason,
            done_notice=await _done_notice(done, prev, mine),
        )


def _why_not(
    entry: dict[str, Any], actions: dict[str, bool], owns: bool, places: quotas.Places
) -> list[str]:
    """Why the page offers none of what the entry's state refuses."""
    status, phase = entry["status"], entry["competition.phase"]
    reasons = []
    if status == EntryStatus.revoked:
        return [gettext("The organizer revoked this entry; it cannot be changed.")]
    if not actions["edit"]:
        reasons.append(
            gettext(
                "Changes are closed while the competition is in the phase “{phase}”.",
                phase=phase_label(phase),
            )
        )
    if status == EntryStatus.submitted and not actions["review"]:
        reasons.append(
            gettext(
                "First review is closed while the competition is in the phase “{phase}”.",
                phase=phase_label(phase),
            )
        )
    elif status == EntryStatus.submitted and places.full:
        reasons.append(
            gettext(
                "The quota for “{trade}” is full ({cap} places): reject another entry or ask "
                "the organizer for more places before passing this one.",
                trade=localized(entry["trade.name"], entry["trade.name_en"]),
                cap=places.cap,
            )
        )
    if status == EntryStatus.approved:
        reasons.append(gettext("An admitted entry cannot be withdrawn."))
    if not owns:
        reasons.append(
            gettext(
                "The person keeps this record through their own account: their particulars "
                "and photo are changed by them (or the organizer), not here."
            )
        )
    return reasons


async def _done_notice(done: str, prev: int | None, mine: dict[str, Any]) -> str | None:
    message = DONE_NOTICES.get(done)
    if message is None:
        return None
    if done not in ("passed", "returned"):
        return gettext(message)
    if prev is None:
        return None
    # The entry reviewed before this one, if it is this delegation's.
    labels = await queries.entry_labels(mine["competition"], [prev], mine["id"])
    reviewed = await get_entry(prev) if prev in labels else None
    if reviewed is None:
        return None
    return gettext(
        message,
        name=reviewed["person.name"],
        trade=localized(reviewed["trade.name"], reviewed["trade.name_en"]),
        reason=reviewed["review_note"],
    )


ROUTES = [DelegationEntriesController]
