"""The organizer's (组委会) registration pages in one competition: final review (终审) single and
in bulk, revocation, the quota matrix and the registration dashboard (built with the supervisor's
in registration/controllers/statistics.py), the registration list as xlsx, and earlier prizes
(往届获奖记录) for the "no second first prize" rule.

The organizer's entry page and export carry the full ID number (identity checks at the venue
need it); every list masks it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import catalogue, services
from competition.accounts import Identity
from competition.errors import Conflict, DomainError, NotFound, ValidationFailed
from competition.i18n import N_, Msg, gettext, translate_error, translate_field_errors
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields
from competition.web.menus import REGISTRATION, MenuItem, add_competition_menu_item
from competition.web.templating import localized, page
from registration import award_history, exports, queries, quota_usage, review
from registration.controllers import statistics
from registration.controllers.delegation import (
    LABELS,
    int_or_none,
    outcome_view,
    page_number,
    query_string,
    selected_ids,
)
from registration.entries import get_entry
from registration.tables import EntryStatus

add_competition_menu_item(
    MenuItem("award-history", "/award-history", N_("Earlier prizes")), REGISTRATION
)

# The final review list opens on what waits for the organizer.
DEFAULT_STATUS = EntryStatus.delegation_approved.value
ALL = "all"
SHOWN_PROBLEMS = 200
MAX_UNKNOWN_SHOWN = 20


def entry_filters(
    competition_id: int, trade: str, delegation: str, status: str, q: str
) -> tuple[queries.EntryFilter, dict[str, str]]:
    if status != ALL and status not in queries.STATUS_LABELS:
        status = DEFAULT_STATUS
    shown = {
        "trade": trade if int_or_none(trade) is not None else "",
        "delegation": delegation if int_or_none(delegation) is not None else "",
        "status": status,
        "q": queries.clean_search(q),
    }
    entry_filter = queries.EntryFilter(
        competition_id=competition_id,
        delegation_id=int_or_none(shown["delegation"]),
        trade_id=int_or_none(shown["trade"]),
        status=None if status == ALL else status,
        search=shown["q"],
    )
    return entry_filter, shown


# `?done=<key>&prev=<id>` after a final review: what happened to the entry reviewed before the
# one shown. Texts come from here and the entry's own record, never from the address.
REVIEW_NOTICES: dict[str, Msg] = {
    "approved": N_("{name} · {trade}: approved in final review, admission ticket {ticket}."),
    "rejected": N_("{name} · {trade}: rejected with the reason “{reason}”."),
}


async def _review_notice(competition_id: int, done: str, prev: int | None) -> str | None:
    message = REVIEW_NOTICES.get(done)
    if message is None or prev is None:
        return None
    try:
        reviewed = await get_entry(prev)
    except NotFound:
        return None
    if reviewed["competition"] != competition_id:
        return None
    return gettext(
        message,
        name=reviewed["person.name"],
        trade=localized(reviewed["trade.name"], reviewed["trade.name_en"]),
        ticket=reviewed["ticket_number"] or "",
        reason=reviewed["review_note"],
    )


async def _entry(competition_id: int, entry_id: int) -> dict[str, Any]:
    entry = await get_entry(entry_id)
    if entry["competition"] != competition_id:
        raise NotFound("The entry was not found.", code="entry_not_found")
    return await queries.entry_detail(entry, full_id=True)


class OrganizerEntriesController(Controller):
    path = "/org/competitions/{competition_id:int}"
    opt = roles(Role.organizer)
    include_in_schema = False

    # ------------------------------------------------------------------------ final review

    @get("/entries")
    async def list_entries(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        status: FromQuery[str] = DEFAULT_STATUS,
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
        done: FromQuery[str] = "",
        prev: FromQuery[str] = "",
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._list(
            competition_id,
            trade,
            delegation,
            status,
            q,
            page_number,
            done_notice=await _review_notice(competition_id, done, int_or_none(prev)),
        )

    @post("/entries/review")
    async def bulk_review(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        status: FromQuery[str] = DEFAULT_STATUS,
        q: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        data = await form_fields(request)
        chosen = await selected_ids(request)
        approve = data.get("action") == "approve"
        args = (competition_id, trade, delegation, status, q, page_number)
        try:
            outcome = await review.review_by_organizer(
                competition_id, chosen, approve, actor=identity.actor,
                reason=data.get("reason", ""),
            )  # fmt: skip
        except DomainError as exc:
            return await self._list(
                *args, status_code=exc.status_code, error=translate_error(exc),
                errors=translate_field_errors(exc), reason=data.get("reason", ""),
                selected=chosen,
            )  # fmt: skip
        return await self._list(
            *args, outcome=await outcome_view(outcome, competition_id, None), approved=approve
        )

    @get("/entries/export.xlsx")
    async def export(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        status: FromQuery[str] = ALL,
        q: FromQuery[str] = "",
    ) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        entry_filter, _shown = entry_filters(competition_id, trade, delegation, status, q)
        parts = [competition["code"], "报名名单"]
        parts += await self._names(competition_id, entry_filter)
        filename = exports.safe_filename(*parts)
        content = await exports.export_entries(
            entry_filter, full_id=True, title=filename.removesuffix(".xlsx")
        )
        return Response(
            content,
            media_type=exports.XLSX_MEDIA_TYPE,
            headers={
                "content-disposition": exports.content_disposition(filename, "entries.xlsx"),
                "cache-control": "no-store",
            },
        )

    @staticmethod
    async def _names(competition_id: int, entry_filter: queries.EntryFilter) -> list[str]:
        """The trade and delegation a filtered list is about, for its file name."""
        names = []
        if entry_filter.trade_id is not None:
            trades = {t["id"]: t["name"] for t in await catalogue.trades(competition_id)}
            names.append(trades.get(entry_filter.trade_id, ""))
        if entry_filter.delegation_id is not None:
            delegations = {d["id"]: d["name"] for d in await catalogue.delegations(competition_id)}
            names.append(delegations.get(entry_filter.delegation_id, ""))
        return names

    async def _list(
        self,
        competition_id: int,
        trade: str,
        delegation: str,
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
        entry_filter, shown = entry_filters(competition_id, trade, delegation, status, q)
        result = await queries.list_entries(entry_filter, page_number(page_number_text))
        return page(
            "registration/organizer/entries.html",
            status_code=status_code,
            competition=await services.get_competition(competition_id),
            result=result,
            filters=shown,
            query=query_string(shown),
            base_query=query_string({k: v for k, v in shown.items() if k != "status"}),
            export_query=query_string(
                {**shown, "status": shown["status"] if shown["status"] != ALL else ""}
            ),
            trades=await catalogue.trades(competition_id),
            delegations=await catalogue.delegations(competition_id),
            labels=LABELS,
            outcome=outcome,
            approved=approved,
            error=error,
            errors=errors or {},
            reason=reason,
            selected=selected or [],
            done_notice=done_notice,
        )

    # ------------------------------------------------------------------------ one entry

    @get("/entries/{entry_id:int}")
    async def entry(
        self,
        request: Request,
        competition_id: FromPath[int],
        entry_id: FromPath[int],
        done: FromQuery[str] = "",
        prev: FromQuery[str] = "",
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._detail(
            competition_id,
            entry_id,
            done_notice=await _review_notice(competition_id, done, int_or_none(prev)),
        )

    @post("/entries/{entry_id:int}/review")
    async def review_one(
        self, request: Request, competition_id: FromPath[int], entry_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        await _entry(competition_id, entry_id)
        data = await form_fields(request)
        try:
            outcome = await review.review_by_organizer(
                competition_id,
                [entry_id],
                data.get("action") == "approve",
                actor=identity.actor,
                reason=data.get("reason", ""),
            )
            if outcome.refused:
                message = outcome.refused[0][1]
                raise Conflict(message, code="review_refused", **message.params)
        except DomainError as exc:
            return await self._detail(
                competition_id, entry_id, exc, reason=data.get("reason", ""), form="review"
            )
        # The review flows on: the next entry waiting for final review opens with a line
        # saying what happened to this one; when none is left, the list says so.
        done = "approved" if data.get("action") == "approve" else "rejected"
        following = await review.next_waiting(
            competition_id, status=EntryStatus.delegation_approved.value, after_id=entry_id
        )
        base = f"/org/competitions/{competition_id}/entries"
        if following is None:
            return Redirect(f"{base}?done={done}&prev={entry_id}", status_code=303)
        return Redirect(f"{base}/{following}?done={done}&prev={entry_id}", status_code=303)

    @post("/entries/{entry_id:int}/revoke")
    async def revoke(
        self, request: Request, competition_id: FromPath[int], entry_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        await _entry(competition_id, entry_id)
        data = await form_fields(request)
        try:
            await review.revoke_entry(
                competition_id, entry_id, data.get("reason", ""), actor=identity.actor
            )
        except DomainError as exc:
            return await self._detail(
                competition_id, entry_id, exc, reason=data.get("reason", ""), form="revoke"
            )
        return Redirect(self._entry_url(competition_id, entry_id, "saved"), status_code=303)

    @staticmethod
    def _entry_url(competition_id: int, entry_id: int, done: str) -> str:
        return f"/org/competitions/{competition_id}/entries/{entry_id}?done={done}"

    async def _detail(
        self,
        competition_id: int,
        entry_id: int,
        exc: DomainError | None = None,
        *,
        reason: str = "",
        form: str = "",
        done_notice: str | None = None,
    ) -> Template:
        entry = await _entry(competition_id, entry_id)
        return page(
            "registration/organizer/entry.html",
            status_code=exc.status_code if exc else 200,
            competition=await services.get_competition(competition_id),
            entry=entry,
            history=await queries.entry_history(entry_id),
            labels=LABELS,
            error=translate_error(exc) if exc else None,
            errors=translate_field_errors(exc) if exc else {},
            reason=reason,
            failed_form=form,
            done_notice=done_notice,
        )

    # ------------------------------------------------------------------------ statistics

    @get("/quota-usage")
    async def quota_usage(
        self,
        request: Request,
        competition_id: FromPath[int],
        industry: FromQuery[str] = "",
        delegation: FromQuery[str] = "",
        only: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        base = f"/org/competitions/{competition_id}"
        return page(
            "registration/organizer/quota_usage.html",
            competition=await services.get_competition(competition_id),
            viewer="organizer",
            page_url=f"{base}/quota-usage",
            entries_url=f"{base}/entries",
            per_page=quota_usage.MATRIX_TRADES_PER_PAGE,
            **await statistics.quota_context(
                competition_id, industry, delegation, only, page_number
            ),
        )

    @get("/dashboard")
    async def dashboard(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return page(
            "registration/organizer/dashboard.html",
            competition=await services.get_competition(competition_id),
            viewer="organizer",
            entries_url=f"/org/competitions/{competition_id}/entries",
            **await statistics.dashboard_context(competition_id),
        )

    # ------------------------------------------------------------------------ earlier prizes

    @get("/award-history")
    async def award_history_page(
        self,
        request: Request,
        competition_id: FromPath[int],
        q: FromQuery[str] = "",
        award: FromQuery[str] = "",
        page_number: FromQuery[str] = "1",
        added: FromQuery[str] = "",
        already: FromQuery[str] = "",
        unknown: FromQuery[str] = "",
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        # Counts after a redirect; display only, so a made-up link shows made-up numbers to
        # whoever made it and nothing else.
        result = None
        if int_or_none(added) is not None and int_or_none(already) is not None:
            result = {
                "added": int_or_none(added),
                "already": int_or_none(already),
                "unknown": [u for u in unknown.split("|") if u][:MAX_UNKNOWN_SHOWN],
            }
        return await self._history(competition_id, q, award, page_number, result=result)

    @post("/award-history")
    async def upload_award_history(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed(
                    "Choose an Excel (.xlsx) or CSV file to upload.",
                    code="no_file",
                    field_errors={"file": "Choose an Excel (.xlsx) or CSV file to upload."},
                )
            data = await upload.read(award_history.MAX_FILE_BYTES + 1)
            imported = await award_history.import_award_history(
                competition_id, data, actor=identity.actor, filename=upload.filename
            )
        except award_history.HistoryRejected as exc:
            return await self._history(
                competition_id, "", "", "1",
                status_code=exc.status_code, error=translate_error(exc),
                problems=[
                    {"row": p.row, "column": p.column, "text": gettext(p.message,
                                                                      **p.message.params)}
                    for p in exc.problems[:SHOWN_PROBLEMS]
                ],
                problem_total=len(exc.problems),
            )  # fmt: skip
        except DomainError as exc:
            return await self._history(
                competition_id, "", "", "1", status_code=exc.status_code,
                error=translate_error(exc),
            )  # fmt: skip
        unknown = "|".join(imported.unknown_trades[:MAX_UNKNOWN_SHOWN])
        return Redirect(
            f"/org/competitions/{competition_id}/award-history?done=imported"
            f"&{query_string({'added': imported.added, 'already': imported.already})}"
            f"{'&' + query_string({'unknown': unknown}) if unknown else ''}",
            status_code=303,
        )

    async def _history(
        self,
        competition_id: int,
        q: str,
        award: str,
        page_number_text: str,
        *,
        status_code: int = 200,
        error: str | None = None,
        problems: list[dict[str, Any]] | None = None,
        problem_total: int = 0,
        result: dict[str, Any] | None = None,
    ) -> Template:
        shown = {
            "q": queries.clean_search(q),
            "award": award if award in award_history.AWARD_LABELS else "",
        }
        history = await award_history.list_award_history(
            search=shown["q"], award=shown["award"] or None, page=page_number(page_number_text)
        )
        return page(
            "registration/organizer/award_history.html",
            status_code=status_code,
            competition=await services.get_competition(competition_id),
            history=history,
            filters=shown,
            query=query_string(shown),
            award_labels=award_history.AWARD_LABELS,
            columns=award_history.COLUMNS,
            max_mb=award_history.MAX_FILE_BYTES // (1024 * 1024),
            max_rows=award_history.MAX_ROWS,
            error=error,
            problems=problems or [],
            problem_total=problem_total,
            result=result,
        )


ROUTES = [OrganizerEntriesController]
