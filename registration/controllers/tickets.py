"""Admission tickets (准考证) as PDF, contestants' photos, and the key that checks a ticket.

One ticket, three doors: the contestant who owns the entry, the delegation it belongs to and the
organizers of its competition each download it from their own part of the site, and each door
checks its own kind of access (registration.access). A ticket is personal data and changes when
the entry does, so it is never cached; a photo may be, briefly, by the browser that saw it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from anyio import to_thread
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from competition.errors import NotFound
from competition.tables import Role
from competition.web.access import PUBLIC, require_competition, roles
from competition.web.forms import parse_int
from competition.web.templating import page
from registration import tickets, tokens
from registration.access import require_entry_access
from registration.tables import Photo

PDF_MEDIA_TYPE = "application/pdf"
PEM_MEDIA_TYPE = "application/x-pem-file"
PHOTO_FILE = re.compile(r"(\d{1,12})\.jpg")


async def _ticket_pdf(entry_id: int) -> Response:
    ticket = await tickets.load_ticket(entry_id)
    # reportlab is pure Python: a few tens of milliseconds of CPU kept off the event loop.
    pdf = await to_thread.run_sync(tickets.render_ticket_pdf, ticket)
    filename = f"准考证-{ticket.ticket_number}.pdf"
    ascii_name = f"ticket-{ticket.ticket_number}.pdf"
    return Response(
        pdf,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "content-disposition": (
                f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            ),
            "cache-control": "private, no-store",
        },
    )


@get(
    "/me/entries/{entry_id:int}/ticket.pdf",
    opt=roles(Role.contestant),
    include_in_schema=False,
)
async def contestant_ticket(request: Request, entry_id: FromPath[int]) -> Response:
    await require_entry_access(request.user, entry_id, Role.contestant)
    return await _ticket_pdf(entry_id)


@get(
    "/delegation/entries/{entry_id:int}/ticket.pdf",
    opt=roles(Role.delegation_admin),
    include_in_schema=False,
)
async def delegation_ticket(request: Request, entry_id: FromPath[int]) -> Response:
    await require_entry_access(request.user, entry_id, Role.delegation_admin)
    return await _ticket_pdf(entry_id)


@get(
    "/org/competitions/{competition_id:int}/entries/{entry_id:int}/ticket.pdf",
    opt=roles(Role.organizer),
    include_in_schema=False,
)
async def organizer_ticket(
    request: Request, competition_id: FromPath[int], entry_id: FromPath[int]
) -> Response:
    require_competition(request.user, competition_id, Role.organizer)
    scope = await require_entry_access(request.user, entry_id, Role.organizer)
    if scope["competition"] != competition_id:
        # The entry exists, but not under this address: answer as for any other wrong link.
        raise NotFound("The entry was not found.", code="entry_not_found")
    return await _ticket_pdf(entry_id)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match holds `*` or a list of tags, possibly weak (W/"…")."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@get(
    "/photos/entries/{filename:str}",
    opt=roles(Role.contestant, Role.delegation_admin, Role.organizer),
    include_in_schema=False,
)
async def entry_photo(request: Request, filename: FromPath[str]) -> Response:
    match = PHOTO_FILE.fullmatch(filename)
    if match is None:
        raise NotFound("The photo was not found.", code="photo_not_found")
    entry_id = parse_int(match.group(1), minimum=1)
    if entry_id is None:
        raise NotFound("The photo was not found.", code="photo_not_found")
    scope = await require_entry_access(
        request.user, entry_id, Role.contestant, Role.delegation_admin, Role.organizer
    )
    return await photo_response(request, scope["person"])


async def photo_response(request: Request, person_id: int) -> Response:
    """A person's photo, cached briefly by the browser that may see it (also the check-in
    desk's thumbnails: registration.controllers.checkin)."""
    meta = await Photo.select(Photo.sha256, Photo.mime).where(Photo.person == person_id).first()
    if meta is None:
        raise NotFound("The photo was not found.", code="photo_not_found")
    etag = f'"{meta["sha256"]}"'
    headers = {
        "etag": etag,
        # A photo is personal data: a shared computer's browser must not keep it.
        "cache-control": "private, no-store",
        "x-content-type-options": "nosniff",
    }
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(b"", status_code=304, headers=headers)
    photo = await Photo.select(Photo.content).where(Photo.person == person_id).first()
    if photo is None:  # replaced or removed between the two reads
        raise NotFound("The photo was not found.", code="photo_not_found")
    return Response(photo["content"], media_type=meta["mime"] or "image/jpeg", headers=headers)


@get("/tickets/public-key", opt=PUBLIC, include_in_schema=False)
async def public_key_page() -> Template:
    return page(
        "registration/checkin/public_key.html",
        pem=tokens.public_key_pem(),
        prefix=tokens.PREFIX,
    )


@get("/tickets/public-key.pem", opt=PUBLIC, include_in_schema=False)
async def public_key_pem() -> Response:
    return Response(
        tokens.public_key_pem(),
        media_type=PEM_MEDIA_TYPE,
        headers={
            "content-disposition": 'attachment; filename="jiangxin-ticket-key.pem"',
            "cache-control": "public, max-age=3600",
        },
    )


ROUTES = [
    contestant_ticket,
    delegation_ticket,
    organizer_ticket,
    entry_photo,
    public_key_page,
    public_key_pem,
]
