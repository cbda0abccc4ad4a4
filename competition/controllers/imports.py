"""The organizer's Excel import (导入) of industries, trades and quotas."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import importer, services, structure
from competition.accounts import Identity
from competition.errors import DomainError, NotFound, ValidationFailed
from competition.i18n import N_, gettext, translate_error
from competition.phases import STRUCTURE_EDITABLE, Phase
from competition.tables import Delegation, Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.templating import page

# Error reports are kept so the "download the report" link works after the page is shown,
# without keeping uploads for ever: each report is a temp file named by a random token (plus
# the competition and the user, who alone may fetch it), and any report older than an hour is
# deleted whenever a report is written or fetched. A lost report only means uploading again.
REPORT_DIR = Path(tempfile.gettempdir()) / "jiangxin-import-reports"
REPORT_MAX_AGE_SECONDS = 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
# The problems listed on the page itself; the downloadable report has all of them.
SHOWN_ISSUES = 200
SHEET_KINDS = tuple(spec.kind for spec in importer.SHEETS)
_RESULT = re.compile(r"(industry|trade|quota)-(\d{1,6})-(\d{1,6})-(\d{1,6})")


def _report_path(competition_id: int, user_id: int, token: str) -> Path:
    return REPORT_DIR / f"{competition_id}-{user_id}-{token}.xlsx"


def _purge_old_reports() -> None:
    cutoff = time.time() - REPORT_MAX_AGE_SECONDS
    for path in REPORT_DIR.glob("*.xlsx"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # another worker purged it first


def save_report(competition_id: int, user_id: int, content: bytes) -> str:
    REPORT_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    _purge_old_reports()
    token = secrets.token_urlsafe(24)
    fd = os.open(
        _report_path(competition_id, user_id, token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
    )
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return token


def load_report(competition_id: int, user_id: int, token: str) -> bytes | None:
    if not _TOKEN.fullmatch(token) or not REPORT_DIR.is_dir():
        return None
    _purge_old_reports()
    try:
        return _report_path(competition_id, user_id, token).read_bytes()
    except FileNotFoundError:
        return None


def _xlsx(content: bytes, filename: str, ascii_name: str) -> Response:
    return attachment(content, filename, ascii_name, importer.XLSX_MEDIA_TYPE)


def _result_param(results: list[importer.SheetResult]) -> str:
    return ",".join(f"{r.kind}-{r.created}-{r.updated}-{r.unchanged}" for r in results)


def _parse_result(value: str) -> list[dict[str, Any]]:
    """The counts shown after a redirect; display only, so a made-up link shows made-up
    numbers to whoever made it and nothing else."""
    titles = {spec.kind: spec for spec in importer.SHEETS}
    out = []
    for part in value.split(",")[: len(SHEET_KINDS)]:
        match = _RESULT.fullmatch(part)
        if match:
            kind, created, updated, unchanged = match.groups()
            out.append(
                {
                    "label": titles[kind].label,
                    "created": int(created),
                    "updated": int(updated),
                    "unchanged": int(unchanged),
                }
            )
    return out


async def _first_delegation(competition_id: int) -> tuple[str, str] | None:
    row = (
        await Delegation.select(Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
        .first()
    )
    return (row["code"], row["name"]) if row else None


class ImportController(Controller):
    path = "/org/competitions/{competition_id:int}/import"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        return await self._page(
            competition_id, result=_parse_result(request.query_params.get("result", ""))
        )

    @get("/template.xlsx")
    async def template(self, request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        content = importer.template_workbook(await _first_delegation(competition_id))
        return _xlsx(content, f"{competition['code']}-导入模板.xlsx", "import-template.xlsx")

    @post("/")
    async def upload(self, request: Request, competition_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        require_competition(identity, competition_id, Role.organizer)
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed(
                    N_("Choose an Excel file (.xlsx) to upload."),
                    code="no_file",
                    field_errors={"file": N_("Choose an Excel file (.xlsx) to upload.")},
                )
            # Said before the file is read: a closed import needs no fixing of the file.
            await structure.require_structure_editable(competition_id)
            # One byte over the limit is enough to know the file is too large.
            data = await upload.read(importer.LIMITS.max_bytes + 1)
            results = await importer.import_workbook(
                competition_id, data, identity.actor, filename=upload.filename
            )
        except importer.WorkbookRejected as exc:
            # Off the event loop: a report of 60,000 rows takes about a second to write.
            content = await anyio.to_thread.run_sync(importer.error_report, exc.book, exc.issues)
            token = save_report(competition_id, identity.user_id, content)
            return await self._page(
                competition_id,
                status_code=exc.status_code,
                error=translate_error(exc),
                issues=[
                    {
                        "sheet": issue.sheet,
                        "row": issue.row,
                        "column": issue.column,
                        "text": issue.text(),
                    }
                    for issue in exc.issues[:SHOWN_ISSUES]
                ],
                issue_total=len(exc.issues),
                report_url=f"/org/competitions/{competition_id}/import/report/{token}.xlsx",
            )
        except DomainError as exc:
            return await self._page(
                competition_id, status_code=exc.status_code, error=translate_error(exc)
            )
        return Redirect(
            f"/org/competitions/{competition_id}/import?done=imported"
            f"&result={_result_param(results)}",
            status_code=303,
        )

    @get("/report/{token:str}")
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
        return _xlsx(content, gettext("import-errors") + ".xlsx", "import-errors.xlsx")

    @staticmethod
    async def _page(
        competition_id: int,
        *,
        status_code: int = 200,
        error: str | None = None,
        issues: list[dict[str, Any]] | None = None,
        issue_total: int = 0,
        report_url: str | None = None,
        result: list[dict[str, Any]] | None = None,
    ) -> Template:
        competition = await services.get_competition(competition_id)
        phase = Phase(competition["phase"])
        return page(
            "competition/import.html",
            status_code=status_code,
            competition=competition,
            editable=phase in STRUCTURE_EDITABLE,
            specs=importer.SHEETS,
            notes=importer.GENERAL_NOTES,
            max_mb=importer.LIMITS.max_mb,
            max_rows=importer.LIMITS.max_rows,
            error=error,
            issues=issues or [],
            issue_total=issue_total,
            report_url=report_url,
            result=result or [],
        )


ROUTES = [ImportController]
