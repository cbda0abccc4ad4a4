"""The check-in desk (检录台): organizers scan admission tickets at the venue door.

The desk page works with a USB scanner gun (it types the token and Enter into a focused input)
and with a phone or tablet camera (decoded in the browser). Every scan carries a nonce made in
the browser, so a scan retried after a network failure is answered from the first attempt
instead of being counted twice (registration.checkin.redeem_ticket).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from piccolo.query.functions.aggregate import Count

from competition import catalogue, clock, services
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, gettext
from competition.tables import EventKind, Role
from competition.web.access import require_competition, roles
from competition.web.templating import page
from registration import checkin
from registration.checkin import CHECK_IN_PHASES, CheckInResult
from registration.tables import CheckIn, Entry, EntryStatus

RECENT_SCANS = 20
# Many trades start at the same hour: the chooser's shortcuts show the busiest sessions first.
CURRENT_CARDS = 12
CAMERA_DEBOUNCE_MS = 3000

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
}


class ScanIn(msgspec.Struct):
    """One scan at the desk: the text of the QR code and a nonce made by the scanning page."""

    session_id: int
    token: Annotated[str, msgspec.Meta(max_length=2000)]
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


class DeskStatus(msgspec.Struct):
    session_id: int
    checked_in: int
    expected: int


def _message(result: CheckInResult) -> str:
    params: dict[str, Any] = dict(getattr(result.message, "params", {}))
    if result.outcome == "already":
        params["time"] = clock.format_datetime(result.checked_in_at, "%H:%M")
    return gettext(result.message, **params)


def scan_out(result: CheckInResult) -> ScanOut:
    return ScanOut(
        outcome=result.outcome,
        message=_message(result),
        checked_in_at=result.checked_in_at,
        checked_in_time=clock.format_datetime(result.checked_in_at, "%H:%M"),
        entry_id=result.entry_id,
        name=result.name,
        trade=result.trade,
        ticket_number=result.ticket_number,
        delegation=result.delegation,
        photo_url=f"/photos/entries/{result.entry_id}.jpg"
        if result.has_photo and result.entry_id
        else None,
    )


async def _session_of(competition_id: int, session_id: int) -> dict[str, Any]:
    session = await checkin.session_info(session_id)
    if session["trade.competition"] != competition_id:
        raise NotFound("The session was not found.", code="session_not_found")
    return session


async def _desk_counts(session: dict[str, Any]) -> DeskStatus:
    """Checked in at this session / approved entries expected there: everyone of the trade
    sits its theory and oral sessions, and each their own practical one."""
    expected = Entry.count().where(
        (Entry.trade == session["trade"]) & (Entry.status == EntryStatus.approved)
    )
    if session["event"] == EventKind.practical:
        expected = expected.where(Entry.session == session["id"])
    return DeskStatus(
        session_id=session["id"],
        checked_in=await CheckIn.count().where(CheckIn.session == session["id"]),
        expected=await expected,
    )


async def _session_board(competition_id: int) -> list[dict[str, Any]]:
    """Every session of the competition with its counts, in time order."""
    sessions = await catalogue.sessions(competition_id)
    by_trade: dict[int, int] = {}
    by_session: dict[int, int] = {}
    for row in (
        await Entry.select(Entry.trade, Entry.session, Count(alias="n"))
        .where((Entry.competition == competition_id) & (Entry.status == EntryStatus.approved))
        .group_by(Entry.trade, Entry.session)
    ):
        by_trade[row["trade"]] = by_trade.get(row["trade"], 0) + row["n"]
        if row["session"] is not None:
            by_session[row["session"]] = row["n"]
    checked = {
        row["session"]: row["n"]
        for row in await CheckIn.select(CheckIn.session, Count(alias="n"))
        .where(CheckIn.session.trade.competition == competition_id)
        .group_by(CheckIn.session)
    }
    for s in sessions:
        s["expected"] = (
            by_session.get(s["id"], 0)
            if s["event"] == EventKind.practical
            else by_trade.get(s["trade"], 0)
        )
        s["checked_in"] = checked.get(s["id"], 0)
        s["day"] = clock.local_time(s["starts_at"]).date()
    return sessions


def _current(sessions: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """The sessions running now; if none, those starting next."""
    running = [s for s in sessions if s["starts_at"] <= now < s["ends_at"]]
    if running:
        return running
    upcoming = [s for s in sessions if s["starts_at"] > now]
    if not upcoming:
        return []
    first = min(s["starts_at"] for s in upcoming)
    return [s for s in upcoming if s["starts_at"] == first]


class CheckInController(Controller):
    path = "/org/competitions/{competition_id:int}/checkin"
    opt = roles(Role.organizer)
    include_in_schema = False

    @get("/")
    async def choose_session(self, request: Request, competition_id: FromPath[int]) -> Template:
        require_competition(request.user, competition_id, Role.organizer)
        competition = await services.get_competition(competition_id)
        sessions = await _session_board(competition_id)
        current = _current(sessions, clock.now())
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
        competition = await services.get_competition(competition_id)
        session = await _session_of(competition_id, session_id)
        base = f"/org/competitions/{competition_id}/checkin"
        return page(
            "registration/checkin/desk.html",
            competition=competition,
            session=session,
            counts=await _desk_counts(session),
            open=competition["phase"] in CHECK_IN_PHASES,
            desk={
                "session_id": session_id,
                "api": "/api/checkin",
                "status": f"{base}/{session_id}/status.json",
                "recent": RECENT_SCANS,
                "debounce_ms": CAMERA_DEBOUNCE_MS,
                "jsqr": "/static/vendor/jsQR.js",
                "texts": {key: gettext(text) for key, text in DESK_TEXTS.items()},
            },
        )

    @get("/{session_id:int}/status.json")
    async def status(
        self, request: Request, competition_id: FromPath[int], session_id: FromPath[int]
    ) -> DeskStatus:
        require_competition(request.user, competition_id, Role.organizer)
        return await _desk_counts(await _session_of(competition_id, session_id))


class CheckInApi(Controller):
    path = "/api/checkin"
    tags = ("check-in",)
    opt = roles(Role.organizer)

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
            "attempt and changes nothing. Unsafe methods need the `x-csrftoken` header."
        ),
    )
    async def scan(self, request: Request, data: JSONBody[ScanIn]) -> ScanOut:
        session = await checkin.session_info(data.session_id)
        require_competition(request.user, session["trade.competition"], Role.organizer)
        result = await checkin.redeem_ticket(
            data.token, data.session_id, data.nonce, actor=request.user.actor
        )
        return scan_out(result)


ROUTES = [CheckInController, CheckInApi]
