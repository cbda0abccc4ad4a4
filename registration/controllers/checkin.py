"""The check-in desk (检录台): organizers and check-in clerks admit contestants at the door.

The desk page works with a USB scanner gun (it types the token and Enter into a focused input)
and with a phone or tablet camera (decoded in the browser); when a QR code will not scan, the
desk looks the contestant up (POSTed, so names and ID digits stay out of URLs and logs) and
checks them in with one tap. Every scan carries a nonce made in the browser, so a scan retried
after a network failure is answered from the first attempt instead of being counted twice
(registration.checkin).

Two doors to the same desk: an organizer's, inside the competition's menu, and a check-in
clerk's, under /desk, for the sessions of the clerk's venue or trade only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template

from competition import clock, services
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, gettext
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.templating import localized, page
from registration import checkin, checkin_lookup, desks
from registration.checkin import CHECK_IN_PHASES, CheckInResult
from registration.checkin_lookup import LookupHit
from registration.controllers.tickets import photo_response
from registration.tables import EntryStatus

RECENT_SCANS = 20
# Many trades start at the same hour: the chooser's shortcuts show the busiest sessions first.
CURRENT_CARDS = 12
CAMERA_DEBOUNCE_MS = 3000
DB_ID = msgspec.Meta(ge=1, le=2_147_483_647)  # an id the integer columns can hold

# Texts the desk script shows; translated on the server so the script carries no language.
DESK_TEXTS = {
    "checked_in": N_("Checked in"),
    "already": N_("Already checked in"),
    "refused": N_("Refused"),
    "error": N_("Not checked"),
    "sending": N_("Checking…"),
    "retrying": N_("Retrying… the scan is kept and sent again when the network is back."),
    "pending": N_("Waiting to be sent: {n}"),
    "no_photo": N_("No photo"),
    "camera_start": N_("Use camera"),
    "camera_stop": N_("Stop camera"),
    "camera_unavailable": N_(
        "This browser cannot use the camera here. Camera scanning needs HTTPS (or localhost); "
        "use the scanner gun or type the code."
    ),
    "camera_denied": N_("The camera could not be opened: {error}"),
    "camera_loading": N_("Starting the camera…"),
    "camera_hint": N_("Hold the QR code of the admission ticket in front of the camera."),
    "lookup_searching": N_("Searching…"),
    "lookup_none": N_("No contestant of this session matches."),
    "lookup_more": N_("More contestants match than are shown: type more of the name or number."),
    "lookup_check_in": N_("Check in"),
    "lookup_failed": N_("The search did not reach the server. Try again."),
    "lookup_ticket": N_("Ticket number"),
    "lookup_id": N_("ID number"),
    "lookup_done": N_("Checked in at {time}"),
    "by_lookup": N_("found by lookup"),
}
HIT_STATUS = {EntryStatus.revoked: N_("Revoked")}


class ScanIn(msgspec.Struct):
    """One scan at the desk: the text of the QR code and a nonce made by the scanning page."""

    session_id: Annotated[int, DB_ID]
    token: Annotated[str, msgspec.Meta(max_length=2000)]
    nonce: Annotated[str, msgspec.Meta(max_length=200)]


class LookupIn(msgspec.Struct):
    """A search at the desk: a ticket number, the last digits of the ID number, or a name."""

    session_id: Annotated[int, DB_ID]
    query: Annotated[str, msgspec.Meta(max_length=200)]


class LookupCheckIn(msgspec.Struct):
    """Check in a contestant found by lookup, with a nonce made by the page like a scan's."""

    session_id: Annotated[int, DB_ID]
    entry_id: Annotated[int, DB_ID]
    nonce: Annotated[str, msgspec.Meta(max_length=200)]


class ScanOut(msgspec.Struct):
    outcome: str  # "checked_in", "already" or "refused"
    message: str  # in the user's language
    checked_in_at: dt.datetime | None
    checked_in_time: str  # local HH:MM, "" when there is none
    entry_id: int | None
    name: str
    trade: str
    ticket_number: str
    delegation: str
    photo_url: str | None


class HitOut(msgspec.Struct):
    entry_id: int
    name: str
    ticket_number: str
    trade: str
    delegation: str
    id_number: str  # masked
    photo_url: str | None
    status: str  # "" when approved, else why the contestant may not sit, e.g. "Revoked"
    seat: str  # the practical session the contestant sits, "" if none
    checked_in_time: str  # local HH:MM at this session, "" if not yet


class LookupOut(msgspec.Struct):
    hits: list[HitOut]
    more: bool
    message: str  # "" when there are hits and no more


class DeskStatus(msgspec.Struct):
    session_id: int
    checked_in: int
    expected: int


def _photo_url(session_id: int, entry_id: int | None, has_photo: bool) -> str | None:
    if not has_photo or entry_id is None:
        return None
    return f"/desk/sessions/{session_id}/entries/{entry_id}/photo"


def _message(result: CheckInResult) -> str:
    params: dict[str, Any] = dict(getattr(result.message, "params", {}))
    if result.outcome == "already":
        params["time"] = clock.format_datetime(result.checked_in_at, "%H:%M")
    return gettext(result.message, **params)


def scan_out(result: CheckInResult, session_id: int) -> ScanOut:
    return ScanOut(
        outcome=result.outcome,
        message=_message(result),
        checked_in_at=result.checked_in_at,
        checked_in_time=clock.format_datetime(result.checked_in_at, "%H:%M"),
        entry_id=result.entry_id,
        name=result.name,
        trade=localized(result.trade, result.trade_en),
        ticket_number=result.ticket_number,
        delegation=result.delegation,
        photo_url=_photo_url(session_id, result.entry_id, result.has_photo),
    )


def _hit_out(hit: LookupHit, session_id: int) -> HitOut:
    status = HIT_STATUS.get(EntryStatus(hit.status))
    return HitOut(
        entry_id=hit.entry_id,
        name=hit.name,
        ticket_number=hit.ticket_number,
        trade=localized(hit.trade, hit.trade_en),
        delegation=hit.delegation,
        id_number=hit.id_number,
        photo_url=_photo_url(session_id, hit.entry_id, hit.has_photo),
        status=gettext(status) if status else "",
        seat=hit.seat,
        checked_in_time=clock.format_datetime(hit.checked_in_at, "%H:%M"),
    )


async def _desk_session(request: Request, session_id: int) -> dict[str, Any]:
    session = await checkin.session_info(session_id)
    desks.require_desk(request.user, session)
    return session


async def _desk_page(session: dict[str, Any], *, back: str, organizer_menu: bool) -> Template:
    competition = await services.get_competition(session["trade.competition"])
    base = f"/desk/sessions/{session['id']}"
    return page(
        "registration/checkin/desk.html",
        competition=competition,
        session=session,
        counts=await desks.desk_counts(session),
        open=competition["phase"] in CHECK_IN_PHASES,
        back=back,
        organizer_menu=organizer_menu,
        desk={
            "session_id": session["id"],
            "api": "/api/checkin",
            "lookup": "/api/checkin/lookup",
            "lookup_check_in": "/api/checkin/entry",
            "status": f"{base}/status.json",
            "recent": RECENT_SCANS,
            "debounce_ms": CAMERA_DEBOUNCE_MS,
            "jsqr": "/static/vendor/jsQR.js",
            "texts": {key: gettext(text) for key, text in DESK_TEXTS.items()},
        },
    )


class CheckInController(Controller):
    """The organizer's door: every session of the competition, inside its menu."""

    path = "/org/competitions/{competition_id:int}/checkin"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def choose_session(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        sessions = await desks.session_board(competition_id)
        current = desks.current(sessions, clock.now())
        days: dict[dt.date, list[dict[str, Any]]] = {}
        for s in sessions:
            days.setdefault(s["day"], []).append(s)
        cards = sorted(current, key=lambda s: -s["expected"])[:CURRENT_CARDS]
        return page(
            "registration/checkin/sessions.html",
            competition=competition,
            days=list(days.items()),
            current=cards,
            more=len(current) - len(cards),
            current_ids={s["id"] for s in current},
            running=bool(current) and current[0]["starts_at"] <= clock.now(),
            open=competition["phase"] in CHECK_IN_PHASES,
        )

    @get("/{session_id:int}")
    async def desk(
        self, request: Request, competition_id: FromPath[int], session_id: FromPath[int]
    ) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        session = await checkin.session_info(session_id)
        if session["trade.competition"] != competition_id:
            raise NotFound("The session was not found.", code="session_not_found")
        return await _desk_page(
            session, back=f"/org/competitions/{competition_id}/checkin", organizer_menu=True
        )


@get("/desk", opt=roles(Role.checkin_clerk), include_in_schema=False)
async def clerk_home(request: Request) -> Template:
    """The check-in clerk's home: the sessions of their venue or trade, today's first."""
    sessions = await desks.clerk_board(request.user)
    today = clock.local_time(clock.now()).date()
    todays, other_days = desks.today_first(sessions, today)
    return page(
        "registration/checkin/clerk_home.html",
        today=today,
        todays=todays,
        other_days=other_days,
        grants=request.user.grants_for(Role.checkin_clerk),
    )


class DeskController(Controller):
    """The clerk's door (organizers may use it too): one session's desk, its counts and the
    photos of its contestants."""

    path = "/desk/sessions/{session_id:int}"
    opt = roles(*desks.DESK_ROLES)
    include_in_schema = False

    @get("/")
    async def desk(self, request: Request, session_id: FromPath[int]) -> Template:
        session = await _desk_session(request, session_id)
        if desks.works_as_clerk(request.user, session):
            return await _desk_page(session, back="/desk", organizer_menu=False)
        back = f"/org/competitions/{session['trade.competition']}/checkin"
        return await _desk_page(session, back=back, organizer_menu=True)

    @get("/status.json")
    async def status(self, request: Request, session_id: FromPath[int]) -> DeskStatus:
        session = await _desk_session(request, session_id)
        return DeskStatus(**await desks.desk_counts(session))

    @get("/entries/{entry_id:int}/photo")
    async def photo(
        self, request: Request, session_id: FromPath[int], entry_id: FromPath[int]
    ) -> Response:
        session = await _desk_session(request, session_id)
        return await photo_response(request, await checkin_lookup.photo_owner(session, entry_id))


class CheckInApi(Controller):
    path = "/api/checkin"
    tags = ("check-in",)
    opt = roles(*desks.DESK_ROLES)

    @post(
        "/",
        status_code=200,
        raises=[NotFound, ValidationFailed],
        summary="Check in a scanned admission ticket",
        description=(
            "Redeems the token read from a ticket's QR code for one session. The answer is "
            "`checked_in`, `already` (with the time of the first check-in) or `refused` (with "
            "the reason). Send a fresh random `nonce` with every scan and the SAME nonce when "
            "retrying a request whose answer was lost: a retry is answered from the first "
            "attempt and changes nothing; a nonce sent again with another ticket or session is "
            "refused. Organizers of the competition and check-in clerks of the session's venue "
            "or trade may scan. Unsafe methods need the `x-csrftoken` header."
        ),
    )
    async def scan(self, request: Request, data: JSONBody[ScanIn]) -> ScanOut:
        await _desk_session(request, data.session_id)
        result = await checkin.redeem_ticket(
            data.token, data.session_id, data.nonce, actor=request.user.actor
        )
        return scan_out(result, data.session_id)

    @post(
        "/lookup",
        status_code=200,
        summary="Find a contestant of a session when the QR code will not scan",
        description=(
            "Searches the contestants of the session's trade by ticket number (or its end), "
            "the last digits of the resident ID (at least 4) or part of the name. The answer "
            "shows masked data only. The search is a POST so that it never appears in a URL."
        ),
    )
    async def lookup(self, request: Request, data: JSONBody[LookupIn]) -> LookupOut:
        session = await _desk_session(request, data.session_id)
        found = await checkin_lookup.find_contestants(session, data.query)
        message = ""
        if not found.hits:
            message = gettext(DESK_TEXTS["lookup_none"])
        elif found.more:
            message = gettext(DESK_TEXTS["lookup_more"])
        return LookupOut(
            hits=[_hit_out(hit, data.session_id) for hit in found.hits],
            more=found.more,
            message=message,
        )

    @post(
        "/entry",
        status_code=200,
        summary="Check in a contestant found by lookup",
        description=(
            "The same check-in as a scan, for an entry found with the lookup; the audit record "
            "says it was found by lookup. The nonce works as for a scan."
        ),
    )
    async def check_in_entry(self, request: Request, data: JSONBody[LookupCheckIn]) -> ScanOut:
        await _desk_session(request, data.session_id)
        result = await checkin.check_in_entry(
            data.entry_id, data.session_id, data.nonce, actor=request.user.actor
        )
        return scan_out(result, data.session_id)


ROUTES = [CheckInController, clerk_home, DeskController, CheckInApi]
