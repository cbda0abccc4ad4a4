"""The organizer's certificates (证书): each trade's certificates and the batch that issues and
prints them (a background job: one PDF a trade), one certificate with its versions, revocation
and reissue, and the competition's certificate design with a preview."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition import services
from competition.accounts import Identity
from competition.clock import format_datetime
from competition.config import get_settings
from competition.controllers.jobs import STATE_LABELS
from competition.errors import DomainError, NotFound
from competition.i18n import N_, render, translate_error, translate_field_errors
from competition.jobs import service as jobs
from competition.results.certificates import designs, pdf
from competition.results.certificates import service as certificates
from competition.results.certificates.layout import FIELDS
from competition.results.controllers.verification import KIND_LABELS
from competition.results.jobs import CERTIFICATES
from competition.results.tables import Certificate, CertificateStatus
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Role, Trade
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import FormReader, parse_int
from competition.web.menus import RESULTS, MenuItem, add_competition_menu_item
from competition.web.templating import page

add_competition_menu_item(MenuItem("certificates", "/certificates", N_("Certificates")), RESULTS)

BASE = "/org/competitions/{competition_id:int}/certificates"
GUARD = {"opt": roles(Role.organizer), "include_in_schema": False}
PDF = "application/pdf"


def public_base_url(request: Request) -> str:
    """Where the QR codes point: the site's public address when one is configured (a proxy in
    front may rewrite the Host header), else the address this request came to."""
    origins = get_settings().public_origins
    return origins[0] if origins else str(request.base_url).rstrip("/")


async def _overview(competition_id: int) -> dict[str, Any]:
    trades = await (
        Trade.select(Trade.id, Trade.code, Trade.name, Trade.stage)
        .where(Trade.competition == competition_id)
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )
    counts: dict[tuple[int, str], int] = {}
    for row in await Certificate.raw(
        "SELECT trade, status, COUNT(*) AS n FROM certificate WHERE competition = {} "
        "GROUP BY trade, status",
        competition_id,
    ):
        counts[(row["trade"], row["status"])] = row["n"]
    rows = []
    for t in trades:
        stage = Stage(t["stage"])
        rows.append({
            **t,
            "stage_label": STAGE_LABELS[stage],
            "final": stage in certificates.ISSUED_STAGES,
            "valid": counts.get((t["id"], CertificateStatus.valid.value), 0),
            "revoked": counts.get((t["id"], CertificateStatus.revoked.value), 0),
        })  # fmt: skip
    return {
        "competition": await services.get_competition(competition_id),
        "trades": rows,
        "any_final": any(r["final"] for r in rows),
        "recent_jobs": [
            j for j in await jobs.recent(competition_id, limit=10) if j.kind == CERTIFICATES
        ][:5],
    }


@get(BASE, **GUARD)
async def certificates_overview(
    request: Request, competition_id: FromPath[int]
) -> Template | Redirect:
    require_competition(request.user, competition_id, Role.organizer)
    typed = (request.query_params.get("number") or "").strip()
    error = None
    if typed:
        found = await certificates.find(typed)
        if found is not None and found.competition_id == competition_id:
            return Redirect(f"/org/competitions/{competition_id}/certificates/{found.number}",
                            status_code=303)  # fmt: skip
        error = render(N_("No certificate of this competition has the number “{number}”.",
                          number=typed))  # fmt: skip
    return page(
        "competition/results/certificates.html",
        status_code=404 if error else 200,
        error=error,
        typed=typed,
        job_labels=STATE_LABELS,
        **await _overview(competition_id),
    )


@post(BASE + "/issue", **GUARD)
async def certificates_issue(request: Request, competition_id: FromPath[int]) -> Redirect:
    """Issue and print the certificates of one trade (trade_id) or of every final trade."""
    require_competition(request.user, competition_id, Role.organizer)
    form = await request.form()
    trade_id = parse_int(form.get("trade_id") if isinstance(form.get("trade_id"), str) else None,
                         minimum=1)  # fmt: skip
    if trade_id is not None:
        trade = await Trade.select(Trade.competition).where(Trade.id == trade_id).first()
        if trade is None or trade["competition"] != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
    params: dict[str, Any] = {"base_url": public_base_url(request)}
    if trade_id is not None:
        params["trade_id"] = trade_id
    job_id = await jobs.submit(CERTIFICATES, competition_id=competition_id,
                               requested_by=request.user.user_id, params=params)  # fmt: skip
    return Redirect(f"/jobs/{job_id}", status_code=303)


# ---------------------------------------------------------------------------- one certificate


async def _certificate(competition_id: int, number: str) -> certificates.CertificateView:
    found = await certificates.find(number)
    if found is None or found.competition_id != competition_id:
        raise NotFound("There is no certificate with this number.", code="certificate_not_found")
    return found


async def _detail_page(
    competition_id: int, number: str, *, status_code: int = 200, error: str | None = None,
    done: str = "",
) -> Template:  # fmt: skip
    found = await _certificate(competition_id, number)
    history = await certificates.revisions(found.id)
    for revision in history:
        revision["when"] = format_datetime(revision["issued_at"])
    return page(
        "competition/results/certificate.html",
        status_code=status_code,
        error=error,
        done=done,
        competition=await services.get_competition(competition_id),
        certificate=found,
        issued=format_datetime(found.issued_at),
        revoked=format_datetime(found.revoked_at),
        history=history,
        kind_labels=KIND_LABELS,
    )


@get(BASE + "/{number:str}", **GUARD)
async def certificate_detail(
    request: Request, competition_id: FromPath[int], number: FromPath[str]
) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    shown = {"revoked": N_("Revoked."), "reissued": N_("Reissued.")}.get(
        request.query_params.get("done", "")
    )
    return await _detail_page(competition_id, number, done=render(shown) if shown else "")


async def _change(
    request: Request, competition_id: int, number: str, action: str
) -> Template | Redirect:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.organizer)
    found = await _certificate(competition_id, number)
    form = FormReader({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    reason = form.text("reason", max_length=certificates.REASON_MAX)
    try:
        if action == "revoke":
            await certificates.revoke(found.number, reason=reason, actor=identity.actor)
        else:
            await certificates.reissue(found.number, reason=reason, actor=identity.actor)
    except DomainError as exc:
        return await _detail_page(competition_id, found.number, status_code=exc.status_code,
                                  error=translate_error(exc))  # fmt: skip
    done = "revoked" if action == "revoke" else "reissued"
    return Redirect(
        f"/org/competitions/{competition_id}/certificates/{found.number}?done={done}",
        status_code=303,
    )


@post(BASE + "/{number:str}/revoke", **GUARD, status_code=200)
async def certificate_revoke(
    request: Request, competition_id: FromPath[int], number: FromPath[str]
) -> Template | Redirect:
    return await _change(request, competition_id, number, "revoke")


@post(BASE + "/{number:str}/reissue", **GUARD, status_code=200)
async def certificate_reissue(
    request: Request, competition_id: FromPath[int], number: FromPath[str]
) -> Template | Redirect:
    return await _change(request, competition_id, number, "reissue")


async def certificate_pdf(found: certificates.CertificateView, base_url: str) -> Response:
    """One certificate as its own PDF (its current version), for whoever may see it."""
    if not found.valid:
        raise NotFound("This certificate was revoked: there is nothing to print.",
                       code="certificate_revoked")  # fmt: skip
    design = await certificates.design_of(found.competition_id)
    content = pdf.render(certificates.pages_of([found], base_url), design)
    return attachment(content, f"{found.number}-证书.pdf", f"{found.number}.pdf", PDF)


@get(BASE + "/{number:str}/pdf", **GUARD)
async def certificate_download(
    request: Request, competition_id: FromPath[int], number: FromPath[str]
) -> Response:
    require_competition(request.user, competition_id, Role.organizer)
    return await certificate_pdf(
        await _certificate(competition_id, number), public_base_url(request)
    )


# ---------------------------------------------------------------------------- the design


async def _layout_page(
    competition_id: int, *, status_code: int = 200, error: str | None = None,
    field_errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    done: str = "",
) -> Template:  # fmt: skip
    design = await certificates.design_of(competition_id, with_background=False)
    stored = await designs.stored_layout(competition_id)
    return page(
        "competition/results/certificate_layout.html",
        status_code=status_code,
        error=error,
        field_errors=field_errors or {},
        values=values or {},
        done=done,
        competition=await services.get_competition(competition_id),
        design=design,
        stored=stored,
        fields=FIELDS,
        has_background=bool(stored.get("background_type")),
    )


@get(BASE + "/layout", **GUARD)
async def layout_form(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    saved = request.query_params.get("done") == "saved"
    return await _layout_page(competition_id, done=render(N_("Saved.")) if saved else "")


@post(BASE + "/layout", **GUARD, status_code=200)
async def layout_save(request: Request, competition_id: FromPath[int]) -> Template | Redirect:
    identity: Identity = request.user
    require_competition(identity, competition_id, Role.organizer)
    form = await request.form()
    data = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
    upload = form.get("background")
    background = None
    if isinstance(upload, UploadFile) and upload.filename:
        background = await upload.read(designs.MAX_BACKGROUND_BYTES + 1)
    reader = FormReader(data)
    try:
        issued_on = reader.date("issued_on")
        reader.check()
        await designs.save_design(
            competition_id,
            heading=data.get("heading", ""),
            issuer=data.get("issuer", ""),
            issued_on=issued_on,
            places=designs.parse_places(data),
            background=background,
            remove_background=reader.flag("remove_background"),
            actor=identity.actor,
        )
    except DomainError as exc:
        return await _layout_page(
            competition_id, status_code=exc.status_code, error=translate_error(exc),
            field_errors=translate_field_errors(exc), values=data,
        )  # fmt: skip
    return Redirect(f"/org/competitions/{competition_id}/certificates/layout?done=saved",
                    status_code=303)  # fmt: skip


@get(BASE + "/layout/preview.pdf", **GUARD)
async def layout_preview(request: Request, competition_id: FromPath[int]) -> Response:
    """The design with a sample certificate, before any is issued."""
    require_competition(request.user, competition_id, Role.organizer)
    competition = await services.get_competition(competition_id)
    design = await certificates.design_of(competition_id)
    sample = pdf.Page(
        number=f"{competition['code']}-SAMP-LE000",
        holder="王小明",
        body=certificates.body_text("award", competition["name"], "焊工", "职工组", "一等奖"),
        url=f"{public_base_url(request)}/certificates",
    )
    return attachment(pdf.render([sample], design), "证书样张.pdf", "certificate-preview.pdf", PDF)


ROUTES = [
    certificates_overview,
    certificates_issue,
    layout_form,
    layout_save,
    layout_preview,
    certificate_detail,
    certificate_revoke,
    certificate_reissue,
    certificate_download,
]
