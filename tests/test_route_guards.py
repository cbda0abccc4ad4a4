"""Every route × every role: who may open what.

ROUTE_TABLE below states, for each route of the app, who may use it. The first test fails when
the app has a route the table does not cover (a new route forces a decision about its
audience); the others make a real request for every route as every demo user and as an
anonymous visitor and check the answer against the table:

- allowed: neither 401 nor 403, no redirect to /login?next=…, no server error (a 400, 404, 409
  or 422 for an empty form is fine: the request got past the guard);
- signed in but not allowed: 403;
- anonymous on a protected route: a page redirects (303) to /login?next=<the page>, an /api/…
  route answers 401 with a JSON error.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from competition.results.tables import Appeal
from competition.tables import (
    CompetitionSession,
    Delegation,
    Industry,
    Quota,
    Role,
    RoleGrant,
    Station,
    Trade,
    User,
    Venue,
)
from registration.tables import Entry, PersonClaim
from scoring.tables import Judge, ScoreSheet
from tests.support import csrf_token, login, make_user

ANONYMOUS = "anonymous"
WHO = [ANONYMOUS, *(role.value for role in Role)]
# The demo user who holds each role.
DEMO_USERS = {
    Role.organizer: "organizer",
    Role.delegation_admin: "xining",
    Role.judge: "judge",
    Role.chief_judge: "chief",
    Role.supervisor: "supervisor",
    Role.contestant: "contestant",
    Role.checkin_clerk: "clerk",  # the desks of venue QHGZ, where the demo's first session is
    Role.encryption: "encryption",
}

PUBLIC = "public"
SIGNED_IN = frozenset(Role)
ORGANIZER = frozenset({Role.organizer})
OVERSIGHT = frozenset({Role.organizer, Role.supervisor})
DELEGATION = frozenset({Role.delegation_admin})
CONTESTANT = frozenset({Role.contestant})
ENTRY_VIEWERS = frozenset({Role.contestant, Role.delegation_admin, Role.organizer})
DESK = frozenset({Role.organizer, Role.checkin_clerk})
JUDGES = frozenset({Role.judge, Role.chief_judge})

# (method or "*", path, audience). Path parameters are written {name}; their names and types
# do not matter for matching. A path ending in "*" covers every path that starts with it.
ROUTE_TABLE: list[tuple[str, str, str | frozenset[Role]]] = [
    # The front door, signing in and out, language, health, the public catalogue.
    ("GET", "/", PUBLIC),
    ("*", "/login", PUBLIC),
    ("POST", "/logout", SIGNED_IN),
    ("GET", "/lang/{code}", PUBLIC),
    ("GET", "/health", PUBLIC),
    ("GET", "/competitions/{competition_id}", PUBLIC),
    # The results notice board (公示): published results, names masked.
    ("GET", "/competitions/{competition_id}/results*", PUBLIC),
    # The hall board (场馆大屏): a screen in the hall, no names.
    ("GET", "/competitions/{competition_id}/board", PUBLIC),
    # Certificate verification (证书查验): anyone holding the paper.
    ("GET", "/certificates", PUBLIC),
    ("GET", "/certificates/{number}", PUBLIC),
    ("GET", "/api/certificates/{number}", PUBLIC),
    ("*", "/static/*", PUBLIC),
    ("GET", "/schema*", PUBLIC),
    # The organizer's pages. Everything inside one competition (edit, phase, the setup pages of
    # industries/trades/delegations/quotas/venues/sessions/stations, imports, users …) is the
    # organizer's alone.
    ("GET", "/org", ORGANIZER),
    ("*", "/org/competitions/new", ORGANIZER),
    ("GET", "/org/competitions/{competition_id}", ORGANIZER),
    ("*", "/org/competitions/{competition_id}/*", ORGANIZER),
    # The home page and workspace of each other role: a delegation's entries, first review and
    # imports live under /delegation/, a contestant's registrations under /me/.
    ("GET", "/delegation", DELEGATION),
    ("*", "/delegation/*", DELEGATION),
    ("GET", "/judge", frozenset({Role.judge})),
    ("*", "/judge/*", JUDGES),
    # A score sheet is one judge's (a chief judge who also judges holds the judge role too).
    ("*", "/judge/sheets/*", frozenset({Role.judge})),
    # The score sheets' service worker holds no data; a tablet fetches it before signing in.
    ("GET", "/judge/sw.js", PUBLIC),
    ("*", "/api/judge/*", frozenset({Role.judge})),
    ("GET", "/chief", frozenset({Role.chief_judge})),
    ("*", "/chief/*", frozenset({Role.chief_judge})),
    # The chief judge's page refreshes its flags from here (scoped to the trade by the grant).
    ("GET", "/api/chief/*", frozenset({Role.chief_judge})),
    # The encryption role (加密组) reads which code is whom, through one audited function.
    ("GET", "/encryption", frozenset({Role.encryption})),
    ("*", "/encryption/*", frozenset({Role.encryption})),
    # A judge's QR badge signs its holder in with one tap: the badge is the credential.
    ("*", "/badge/*", PUBLIC),
    ("GET", "/supervisor", frozenset({Role.supervisor})),
    ("GET", "/supervisor/audit", OVERSIGHT),
    # The supervisor's read-only views of one competition: pages only, never a form.
    ("GET", "/supervisor/competitions/{competition_id}", frozenset({Role.supervisor})),
    ("GET", "/supervisor/competitions/{competition_id}/*", frozenset({Role.supervisor})),
    # Their one form: review sampling (复核), where the supervisors record their re-checks.
    ("POST", "/supervisor/competitions/{competition_id}/review/*", frozenset({Role.supervisor})),
    # …and the ruling on an appeal (申诉), with its reason.
    ("POST", "/supervisor/competitions/{competition_id}/appeals/*", frozenset({Role.supervisor})),
    ("GET", "/me", CONTESTANT),
    ("*", "/me/*", CONTESTANT),
    # Check-in: a clerk's home lists their sessions; a session's desk (counts, photos of its
    # contestants) is worked by organizers and the clerks of its venue or trade.
    ("GET", "/desk", frozenset({Role.checkin_clerk})),
    ("GET", "/desk/sessions/*", DESK),
    # Registration: anyone may sign up; a photo is seen by its contestant, their delegation
    # and the organizer, never by judges (they score anonymous codes); the ticket-signing
    # public key is public so anyone can verify a ticket.
    ("*", "/signup", PUBLIC),
    ("GET", "/photos/entries/{filename}", ENTRY_VIEWERS),
    ("GET", "/tickets/public-key", PUBLIC),
    ("GET", "/tickets/public-key.pem", PUBLIC),
    # The JSON API.
    ("GET", "/api/me", SIGNED_IN),
    # Background jobs (whole-competition exports, certificates): the organizers'.
    ("GET", "/api/jobs/{job_id}", ORGANIZER),
    ("GET", "/jobs/{job_id}", ORGANIZER),
    ("GET", "/jobs/{job_id}/files/{file_id}", ORGANIZER),
    ("GET", "/jobs/{job_id}/files.zip", ORGANIZER),
    ("GET", "/api/competitions", OVERSIGHT),
    ("GET", "/api/competitions/{competition_id}", PUBLIC),
    ("GET", "/api/competitions/{competition_id}/industries", PUBLIC),
    ("GET", "/api/competitions/{competition_id}/trades", PUBLIC),
    # Published results for anyone; the live standings for the competition's oversight.
    ("GET", "/api/competitions/{competition_id}/results*", PUBLIC),
    ("GET", "/api/competitions/{competition_id}/delegations", OVERSIGHT),
    ("POST", "/api/competitions/{competition_id}/phase", ORGANIZER),
    ("POST", "/api/checkin", DESK),
    ("POST", "/api/checkin/lookup", DESK),
    ("POST", "/api/checkin/entry", DESK),
]

SAFE_METHODS = {"GET", "HEAD"}
# Litestar answers OPTIONS itself on every path; it carries no data and is not a page.
IGNORED_METHODS = {"OPTIONS"}


def shape(path: str) -> str:
    """A path with its parameters blanked: `/a/{id:int}/b` and `/a/{x}/b` are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def audience_of(method: str, path: str) -> str | frozenset[Role] | None:
    """The table's answer for one route: an exact row (own method before "*") wins over a
    prefix row, and a longer prefix over a shorter one."""
    route = shape(path)
    exact = [
        (m, audience)
        for m, pattern, audience in ROUTE_TABLE
        if not pattern.endswith("*") and shape(pattern) == route and m in (method, "*")
    ]
    if exact:
        return min(exact, key=lambda row: row[0] == "*")[1]
    prefixes = [
        (len(pattern), audience)
        for m, pattern, audience in ROUTE_TABLE
        if pattern.endswith("*") and route.startswith(shape(pattern[:-1])) and m in (method, "*")
    ]
    return max(prefixes, key=lambda row: row[0])[1] if prefixes else None


def app_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every handler the app serves."""
    routes = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in IGNORED_METHODS:
                    routes.add((method, route.path))
    return sorted(routes)


def test_every_route_of_the_app_is_in_the_table(app):
    routes = app_routes(app)
    missing = [f"{m} {p}" for m, p in routes if audience_of(m, p) is None]
    assert not missing, (
        "These routes have no row in ROUTE_TABLE (tests/test_route_guards.py); add one that "
        "says who may use each:\n  " + "\n  ".join(missing)
    )


def test_the_table_answers_for_routes_still_being_written():
    """Setup pages, imports and user management inside a competition land while this table
    exists; the prefix row makes them organizer-only without a new row each."""
    for path in (
        "/org/competitions/{competition_id:int}/trades",
        "/org/competitions/{competition_id:int}/trades/{trade_id:int}/edit",
        "/org/competitions/{competition_id:int}/import",
        "/org/competitions/{competition_id:int}/import/{kind:str}",
        "/org/competitions/{competition_id:int}/users",
    ):
        assert audience_of("GET", path) == ORGANIZER
        assert audience_of("POST", path) == ORGANIZER
    assert audience_of("DELETE", "/logout") is None
    assert audience_of("GET", "/org/elsewhere") is None


# ---------------------------------------------------------------------------- requests


@dataclass
class Row:
    who: str
    method: str
    path: str
    url: str
    audience: str | frozenset[Role]

    @property
    def allowed(self) -> bool:
        return self.audience == PUBLIC or (
            self.who != ANONYMOUS and Role(self.who) in self.audience
        )

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


# `/…/trades/{record_id}/edit`: a generic record id names the record kind in the segment before.
RECORD_KINDS = {
    "industries": "industry_id",
    "trades": "trade_id",
    "delegations": "delegation_id",
    "quotas": "quota_id",
    "venues": "venue_id",
    "sessions": "session_id",
    "stations": "station_id",
    "users": "user_id",
    "grants": "grant_id",
}


async def path_values(competition_id: int, *, user_id: int) -> dict[str, str]:
    """Real ids from the demo for every path parameter a route may name."""

    async def first_id(table, *where) -> str:
        query = table.select(table.id).order_by(table.id)
        for condition in where:
            query = query.where(condition)
        row = await query.first()
        assert row is not None, f"the demo has no {table._meta.tablename}"
        return str(row["id"])

    async def optional_id(table, *where) -> int:
        query = table.select(table.id).order_by(table.id)
        for condition in where:
            query = query.where(condition)
        row = await query.first()
        return row["id"] if row else 999_999_999

    values = {
        "sheet_id": str(await optional_id(ScoreSheet)),
        # The demo publishes nothing by default here: an unknown version or appeal answers 404
        # past the guard, which is what this test looks at.
        "version": "1",
        "appeal_id": str(await optional_id(Appeal)),
        # No job exists in the demo: an unknown one answers 404 past the guard.
        "job_id": "999999999",
        "number": "QH16-0000-00000",
        "file_id": "999999999",
        "competition_id": str(competition_id),
        "trade_id": await first_id(
            Trade, Trade.competition == competition_id, Trade.code == "T001"
        ),
        "industry_id": await first_id(Industry, Industry.competition == competition_id),
        "delegation_id": await first_id(
            Delegation, Delegation.competition == competition_id, Delegation.code == "XN"
        ),
        "quota_id": await first_id(Quota, Quota.delegation.competition == competition_id),
        "venue_id": await first_id(Venue, Venue.competition == competition_id),
        "station_id": await first_id(Station, Station.venue.competition == competition_id),
        "session_id": await first_id(
            CompetitionSession, CompetitionSession.trade.competition == competition_id
        ),
        "user_id": str(user_id),
        # The demo has no entries yet: an id that does not exist still meets the guard first.
        "entry_id": str(await optional_id(Entry, Entry.competition == competition_id)),
        "claim_id": str(await optional_id(PersonClaim)),
        # The demo has no judge register yet (scoring's demo adds it): the guard decides first.
        "judge_id": str(await optional_id(Judge, Judge.competition == competition_id)),
        "grant_id": await first_id(RoleGrant, RoleGrant.user == user_id),
        # /lang/{code}: the default language, so the rows after it still speak Chinese.
        "code": "zh_CN",
        "file_path": "css/app.css",
        "path": "openapi.yaml",
        # An import report that does not exist: the guard still decides before the 404.
        "token": "no-such-report",
    }
    values["competition_session_id"] = values["session_id"]
    values["filename"] = f"{values['entry_id']}.jpg"
    return values


def fill(path: str, values: dict[str, str]) -> str:
    segments = path.split("/")
    for i, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)(?::[^}]*)?\}", segment)
        if not match:
            continue
        name = match.group(1)
        if name == "record_id" and i > 0:
            name = RECORD_KINDS.get(segments[i - 1], name)
        assert name in values, (
            f"route {path}: no demo value for the path parameter {name!r}; add one to "
            "path_values() (or RECORD_KINDS) in tests/test_route_guards.py"
        )
        segments[i] = values[name]
    return "/".join(segments)


def build_rows(app: Litestar, who: str, values: dict[str, str], *, safe: bool) -> list[Row]:
    rows = []
    for method, path in app_routes(app):
        if (method in SAFE_METHODS) != safe:
            continue
        audience = audience_of(method, path)
        assert audience is not None, f"{method} {path} is not in ROUTE_TABLE"
        rows.append(Row(who, method, path, fill(path, values), audience))
    # Signing out ends the session the rows after it would need.
    return sorted(rows, key=lambda r: (r.path == "/logout", r.path, r.method))


async def request(client: httpx.AsyncClient, row: Row) -> httpx.Response:
    if row.method in SAFE_METHODS:
        return await client.request(row.method, row.url)
    token = await csrf_token(client)
    if row.is_api:
        return await client.request(row.method, row.url, json={}, headers={"x-csrftoken": token})
    return await client.request(row.method, row.url, data={"_csrf_token": token})


def problem(row: Row, response: httpx.Response) -> str | None:
    """What is wrong with the answer to one row, or None."""
    status = response.status_code
    location = response.headers.get("location", "")
    if row.allowed:
        # Signing out itself ends on the bare /login; a refusal sends there with ?next=.
        if status in (401, 403) or (300 <= status < 400 and location.startswith("/login?")):
            return f"allowed but refused: {status} {location}"
        if status >= 500:
            return f"allowed but the server failed: {status}"
        return None
    if row.who != ANONYMOUS:
        return None if status == 403 else f"should be refused with 403, got {status} {location}"
    if row.is_api:
        if status != 401:
            return f"anonymous API call should get 401, got {status}"
        if response.json().get("code") != "sign_in_required":
            return f"401 without the sign-in error: {response.text[:120]}"
        return None
    expected = "/login?next=" + quote(row.url, safe="")
    if status != 303 or location != expected:
        return f"anonymous should be sent to {expected}, got {status} {location}"
    return None


async def check_rows(client: httpx.AsyncClient, rows: list[Row]) -> list[str]:
    problems = []
    for row in rows:
        response = await request(client, row)
        issue = problem(row, response)
        if issue:
            problems.append(f"{row.who:<16} {row.method:<5} {row.url}: {issue}")
    return problems


@asynccontextmanager
async def client_for(app: Litestar, who: str):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if who != ANONYMOUS:
            await login(client, DEMO_USERS[Role(who)])
        yield client


@pytest.mark.parametrize("who", WHO)
async def test_every_page_and_read_route_answers_each_role_as_the_table_says(demo, app, who):
    contestant = await User.select(User.id).where(User.username == "contestant").first()
    values = await path_values(demo.competition_id, user_id=contestant["id"])
    rows = build_rows(app, who, values, safe=True)
    assert rows
    async with client_for(app, who) as client:
        problems = await check_rows(client, rows)
    assert not problems, "\n".join(problems)


async def test_every_form_and_write_route_answers_each_role_as_the_table_says(demo_mutable, app):
    """POSTs carry a valid CSRF token and an empty body: refused ones must not get past the
    guard, allowed ones may fail validation. The demo is reloaded for the tests after this."""
    # A user of its own, so a route that changes or removes the user at {user_id} touches no
    # one whose session the rows need.
    # Its role is scoped to the demo, which the organizer's user pages may change.
    spare = await make_user(
        "route-guard-spare", Role.contestant, competition_id=demo_mutable.competition_id
    )
    values = await path_values(demo_mutable.competition_id, user_id=spare)
    problems = []
    count = 0
    # The organizer goes last: an empty form may still delete the record at {record_id}, and
    # deleting delegation XN would take the delegation admin's grant with it.
    for who in sorted(WHO, key=lambda w: w == Role.organizer.value):
        rows = build_rows(app, who, values, safe=False)
        count += len(rows)
        async with client_for(app, who) as client:
            problems += await check_rows(client, rows)
    assert count >= len(WHO) * 5
    assert not problems, "\n".join(problems)
