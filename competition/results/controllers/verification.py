"""The public verification of a certificate (证书查验): the page its QR code opens, a form for a
typed number, and the same as JSON. Anyone may look, signed in or not; the holder's name is
partly masked and a revoked certificate says so, with the date (never the reason)."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from competition.clock import format_date, local_time
from competition.errors import NotFound
from competition.i18n import N_
from competition.results.certificates import numbers
from competition.results.certificates import service as certificates
from competition.web.access import PUBLIC
from competition.web.templating import page

KIND_LABELS = {
    "award": N_("Award"),
    "title": N_("Title"),
    "promotion": N_("Promotion"),
}


def _day(value: dt.datetime | None) -> str:
    local = local_time(value)
    return format_date(local.date()) if local else ""


def _context(found: certificates.CertificateView | None, typed: str) -> dict:
    return {
        "certificate": found,
        "typed": typed,
        "kind_labels": KIND_LABELS,
        "issued_on": _day(found.issued_at) if found else "",
        "revoked_on": _day(found.revoked_at) if found else "",
        # A typo is told apart from an unknown number: the check character is wrong.
        "mistyped": bool(typed) and not numbers.well_formed(numbers.normalise(typed)),
    }


@get("/certificates", opt=PUBLIC, include_in_schema=False)
async def verify_form(request: Request) -> Template | Redirect:
    typed = (request.query_params.get("number") or "").strip()[:64]
    if typed:
        found = await certificates.find(typed)
        if found is not None:
            return Redirect(f"/certificates/{found.number}", status_code=303)
        return page("competition/results/verify.html", status_code=404, **_context(None, typed))
    return page("competition/results/verify.html", **_context(None, ""))


@get("/certificates/{number:str}", opt=PUBLIC, include_in_schema=False)
async def verify_page(number: FromPath[str]) -> Template:
    found = await certificates.find(number[:64])
    if found is None:
        return page("competition/results/verify.html", status_code=404, **_context(None, number))
    return page("competition/results/verify.html", **_context(found, number))


class CertificateOut(msgspec.Struct):
    number: str
    status: str  # valid / revoked
    holder: str  # partly masked
    competition: str
    trade: str
    group: str
    kind: str  # award / title / promotion
    honour: str
    version: int
    issued_on: str
    revoked_on: str | None


@get("/api/certificates/{number:str}", opt=PUBLIC, tags=["certificates"])
async def certificate_api(number: FromPath[str]) -> CertificateOut:
    """A certificate as its verification page shows it (the holder's name partly masked)."""
    found = await certificates.find(number[:64])
    if found is None:
        raise NotFound("There is no certificate with this number.", code="certificate_not_found")
    return CertificateOut(
        number=found.number,
        status=found.status,
        holder=found.masked_name,
        competition=found.competition_name,
        trade=found.trade_name,
        group=found.group_name,
        kind=found.kind,
        honour=found.honour,
        version=found.version,
        issued_on=_day(found.issued_at),
        revoked_on=_day(found.revoked_at) if found.revoked_at else None,
    )


ROUTES = [verify_form, verify_page, certificate_api]
