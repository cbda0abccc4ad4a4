"""Batch import of registrations from Excel or CSV (报名批量导入): delegations for their own
people at /delegation/import, organizers for any delegation inside a competition.

upload → dry run (every row checked, the file kept in an ImportBatch) → the report page →
"import the valid rows" or "import nothing" → the result page. Every POST answers with a 303
redirect, and a batch is imported at most once, so a refreshed page or a double click never
imports twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from competition.i18n import N_, render, translate_error
from competition.spreadsheets import XLSX_MEDIA_TYPE
from competition.tables import Delegation, Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import form_fields, parse_int
from competition.web.templating import page
from registration import imports
from registration.access import delegation_ids
from registration.entries import registration_refusal

# Delegation × trade lines of candidates and places on the dry-run page.
SHOWN_QUOTA_LINES = 200
ACCEPT = ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
STATUS_LABELS = {
    imports.BatchStatus.checked: N_("Checked, waiting for your decision"),
    imports.BatchStatus.imported: N_("Imported"),
    imports.BatchStatus.discarded: N_("Nothing imported"),
    imports.BatchStatus.expired: N_("Expired"),
}


@dataclass
class Scope:
    """Whose import a page is about."""

    competition: dict[str, Any]
    delegation: dict[str, Any] | None  # None: the organizer's import for every delegation
    base: str  # the URL of the import pages
    organizer: bool
    others: list[dict[str, Any]]  # a delegation admin's other delegations

    @property
    def competition_id(self) -> int:
        return self.competition["id"]

    @property
    def delegation_id(self) -> int | None:
        return self.delegation["id"] if self.delegation else None

    @property
    def closed_reason(self) -> str | None:
        """Why this importer may not enter new people now (phase or deadline), or None."""
        reason = registration_refusal(
            self.competition["phase"],
            self.competition["registration_closes_on"],
            Role.organizer if self.organizer else Role.delegation_admin,
        )
        return render(reason) if reason is not None else None

    @property
    def open(self) -> bool:
        return self.closed_reason is None


def _xlsx(content: bytes, filename: str, ascii_name: str) -> Response:
    return attachment(content, filename, ascii_name, XLSX_MEDIA_TYPE)


async def _delegation(delegation_id: int) -> dict[str, Any] | None:
    return (
        await Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.id == delegation_id)
        .first()
    )


async def delegation_scope(identity: Identity, requested: str = "") -> Scope:
    """A delegation admin's scope: the delegation asked for if they hold it, else their first."""
    mine = delegation_ids(identity)
    if not mine:
        raise PermissionDenied(
            "Your account is not linked to a delegation yet. Ask the organizer.",
            code="no_delegation",
        )
    rows = await (
        Delegation.select(Delegation.id, Delegation.code, Delegation.name, Delegation.competition)
        .where(Delegation.id.is_in(mine))
        .order_by(Delegation.id)
    )
    wanted = int(requested) if requested.isdigit() and len(requested) < 10 else None
    chosen = next((r for r in rows if r["id"] == wanted), rows[0] if rows else None)
    if chosen is None:
        raise NotFound("The delegation was not found.", code="delegation_not_found")
    competition = await services.get_competition(chosen["competition"])
    return Scope(
        competition=competition,
        delegation=chosen,
        base="/delegation/import",
        organizer=False,
        others=[r for r in rows if r["id"] != chosen["id"]],
    )


async def organizer_scope(identity: Identity, competition_id: int) -> Scope:
    require_competition(identity, competition_id, Role.organizer)
    return Scope(
        competition=await services.get_competition(competition_id),
        delegation=None,
        base=f"/org/competitions/{competition_id}/registrations/import",
        organizer=True,
        others=[],
    )


async def _batch_scope(identity: Identity, token: str) -> tuple[Scope, imports.BatchView]:
    """A delegation admin's batch: one of their delegations' (anything else is "not found")."""
    owner = await imports.batch_owner(token)
    if owner is None or owner[1] not in delegation_ids(identity):
        raise NotFound("The import was not found.", code="batch_not_found")
    scope = await delegation_scope(identity, str(owner[1]))
    batch = await imports.get_batch(
        token, competition_id=scope.competition_id, delegation_id=scope.delegation_id
    )
    return scope, batch


# ---------------------------------------------------------------------------- pages


async def _upload_page(
    scope: Scope,
    *,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    delegations = []
    if scope.organizer:
        delegations = await (
            Delegation.select(Delegation.id, Delegation.code, Delegation.name)
            .where(Delegation.competition == scope.competition_id)
            .order_by(Delegation.sort_order)
            .order_by(Delegation.code)
        )
    return page(
        "registration/import/upload.html",
        status_code=status_code,
        scope=scope,
        competition=scope.competition,
        columns=imports.COLUMNS,
        delegations=delegations,
        recent=await imports.recent_batches(scope.competition_id, scope.delegation_id),
        status_labels=STATUS_LABELS,
        max_mb=imports.LIMITS.max_mb,
        max_rows=imports.LIMITS.max_rows,
        accept=ACCEPT,
        error=error,
        values=values or {},
    )


def _batch_page(scope: Scope, batch: imports.BatchView) -> Template:
    errors = [
        {"row": e["row"], "column": e["column"], "text": render(e["message"])} for e in batch.errors
    ]
    template = (
        "registration/import/report.html"
        if batch.status == imports.BatchStatus.checked
        else "registration/import/result.html"
    )
    entries_url = (
        f"/org/competitions/{scope.competition_id}/entries"
        if scope.organizer
        else "/delegation/entries"
    )
    return page(
        template,
        scope=scope,
        competition=scope.competition,
        batch=batch,
        # Lines with more candidates than places first.
        quotas=sorted(batch.quotas, key=lambda q: not q["over"])[:SHOWN_QUOTA_LINES],
        quota_total=batch.quota_lines,
        errors=errors,
        error_rows_shown=batch.error_rows_shown,
        status_labels=STATUS_LABELS,
        url=f"{scope.base}/{batch.token}",
        entries_url=entries_url,
    )


async def _check(request: Request, scope: Scope) -> Template | Redirect:
    """The upload: a dry run, then the report page (303, so a refresh does not upload
    again)."""
    identity: Identity = request.user
    form = await request.form()
    fields = await form_fields(request)
    upload = form.get("file")
    delegation_id = scope.delegation_id
    try:
        if scope.organizer and fields.get("delegation"):
            chosen = fields["delegation"]
            delegation = await _delegation(number) if (number := parse_int(chosen)) else None
            if delegation is None or delegation["id"] not in {
                d["id"]
                for d in await Delegation.select(Delegation.id).where(
                    Delegation.competition == scope.competition_id
                )
            }:
                raise ValidationFailed("Choose a delegation.", code="unknown_delegation")
            delegation_id = delegation["id"]
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed(
                N_("Choose an Excel (.xlsx) or CSV file to upload."), code="no_file"
            )
        # One byte over the limit is enough to know the file is too large.
        data = await upload.read(imports.LIMITS.max_bytes + 1)
        batch = await imports.check_upload(
            scope.competition_id,
            data,
            actor=identity.actor,
            filename=upload.filename,
            delegation_id=delegation_id,
            organizer=scope.organizer,
        )
    except DomainError as exc:
        return await _upload_page(
            scope, status_code=exc.status_code, error=translate_error(exc), values=fields
        )
    return Redirect(f"{scope.base}/{batch.token}", status_code=303)


class DelegationImportController(Controller):
    path = "/delegation/import"
    opt = roles(Role.delegation_admin)
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, delegation: FromQuery[str] = "") -> Template:
        return await _upload_page(await delegation_scope(request.user, delegation))

    @get("/template.xlsx")
    async def template(self, request: Request, delegation: FromQuery[str] = "") -> Response:
        scope = await delegation_scope(request.user, delegation)
        content = await imports.template_workbook(scope.competition_id, scope.delegation_id)
        return _xlsx(
            content, f"{scope.competition['code']}-报名导入模板.xlsx", "registration-template.xlsx"
        )

    @post("/")
    async def upload(
        self, request: Request, delegation: FromQuery[str] = ""
    ) -> Template | Redirect:
        return await _check(request, await delegation_scope(request.user, delegation))

    @get("/{token:str}")
    async def batch(self, request: Request, token: FromPath[str]) -> Template:
        scope, batch = await _batch_scope(request.user, token)
        return _batch_page(scope, batch)

    @get("/{token:str}/report.xlsx")
    async def report(self, request: Request, token: FromPath[str]) -> Response:
        scope, batch = await _batch_scope(request.user, token)
        filename, content = await imports.batch_report(
            batch.token, competition_id=scope.competition_id, delegation_id=scope.delegation_id
        )
        return _xlsx(content, filename, "import-report.xlsx")

    @post("/{token:str}/import")
    async def accept(self, request: Request, token: FromPath[str]) -> Redirect:
        identity: Identity = request.user
        scope, batch = await _batch_scope(identity, token)
        await imports.import_batch(
            batch.token,
            competition_id=scope.competition_id,
            actor=identity.actor,
            delegation_id=scope.delegation_id,
        )
        return Redirect(f"{scope.base}/{batch.token}?done=imported", status_code=303)

    @post("/{token:str}/discard")
    async def discard(self, request: Request, token: FromPath[str]) -> Redirect:
        scope, batch = await _batch_scope(request.user, token)
        await imports.discard_batch(
            batch.token, competition_id=scope.competition_id, delegation_id=scope.delegation_id
        )
        return Redirect(f"{scope.base}/{batch.token}", status_code=303)


class OrganizerImportController(Controller):
    path = "/org/competitions/{competition_id:int}/registrations/import"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, competition_id: FromPath[int]) -> Template:
        return await _upload_page(await organizer_scope(request.user, competition_id))

    @get("/template.xlsx")
    async def template(self, request: Request, competition_id: FromPath[int]) -> Response:
        scope = await organizer_scope(request.user, competition_id)
        content = await imports.template_workbook(scope.competition_id)
        return _xlsx(
            content, f"{scope.competition['code']}-报名导入模板.xlsx", "registration-template.xlsx"
        )

    @post("/")
    async def upload(self, request: Request, competition_id: FromPath[int]) -> Template | Redirect:
        return await _check(request, await organizer_scope(request.user, competition_id))

    @get("/{token:str}")
    async def batch(
        self, request: Request, competition_id: FromPath[int], token: FromPath[str]
    ) -> Template:
        scope = await organizer_scope(request.user, competition_id)
        batch = await imports.get_batch(token, competition_id=competition_id)
        if batch.delegation_id is not None:
            scope.delegation = await _delegation(batch.delegation_id)
        return _batch_page(scope, batch)

    @get("/{token:str}/report.xlsx")
    async def report(
        self, request: Request, competition_id: FromPath[int], token: FromPath[str]
    ) -> Response:
        await organizer_scope(request.user, competition_id)
        filename, content = await imports.batch_report(token, competition_id=competition_id)
        return _xlsx(content, filename, "import-report.xlsx")

    @post("/{token:str}/import")
    async def accept(
        self, request: Request, competition_id: FromPath[int], token: FromPath[str]
    ) -> Redirect:
        identity: Identity = request.user
        scope = await organizer_scope(identity, competition_id)
        await imports.import_batch(token, competition_id=competition_id, actor=identity.actor)
        return Redirect(f"{scope.base}/{quote(token)}?done=imported", status_code=303)

    @post("/{token:str}/discard")
    async def discard(
        self, request: Request, competition_id: FromPath[int], token: FromPath[str]
    ) -> Redirect:
        scope = await organizer_scope(request.user, competition_id)
        await imports.discard_batch(token, competition_id=competition_id)
        return Redirect(f"{scope.base}/{quote(token)}", status_code=303)


ROUTES = [DelegationImportController, OrganizerImportController]
