"""Hostile input at every route of the app: never a server error, always the right refusal.

The sweep enumerates the app's routes (as tests/test_route_guards.py does), signs in as a role
each route admits, and sends:

- in every path parameter: numbers no id column holds (2**31, 2**63, 99999999999999999999),
  -1, 0, "1e309", a NUL, an over-long string → an id is 404 (no such record), a NUL in text 400;
- in every query parameter the handler declares or reads (`request.query_params.get("…")` in
  its source): the same values → a declared number out of range 400, a NUL anywhere 400,
  anything else an answer below 500;
- in every field of every form the pages show (found by reading the forms of every page, with
  the page's own values as the rest of the submission): a NUL → 400, as urlencoded and as
  multipart; numbers out of range in a numeric field → 422, the form's own refusal; an
  over-long text or a number in a text field → below 500;
- in every field of every JSON body an API route declares: numbers out of range → 400, a NUL
  → 400, a lone surrogate → 400.

It runs on the database of the session (SQLite or PostgreSQL, see tests/conftest.py).
"""

from __future__ import annotations

import inspect
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec.inspect as mi
import pytest
from litestar.routes import HTTPRoute

from competition.tables import Role, User
from competition.web.params import plan_for
from tests.support import csrf_token, login, make_user
from tests.test_route_guards import (
    ANONYMOUS,
    DEMO_USERS,
    PUBLIC,
    app_routes,
    audience_of,
    fill,
    path_values,
)

OUT_OF_RANGE = [str(2**31), str(2**63), "99999999999999999999"]
SMALL = ["-1", "0"]
NOT_A_NUMBER = ["1e309"]
NUMBERS = OUT_OF_RANGE + SMALL + NOT_A_NUMBER
NUL = "\x00"
LONG = "长" * 1000 + "x" * 4000  # far past any column, and still a URL httpx sends
# Text a handler may still turn into a number by hand: past an INTEGER (PostgreSQL), past 64
# bits (SQLite too), negative (an OFFSET).
NUMBER_LIKE = [str(2**31), str(2**63), "-1"]
PATH_INT = re.compile(r"\{(\w+):int\}")
PATH_ANY = re.compile(r"\{(\w+)(?::(\w+))?\}")
DESTRUCTIVE = re.compile(r"/(delete|deactivate|withdraw|revoke|discard|logout)$")
FILE_ROUTE = re.compile(r"\.(xlsx|pdf|csv)$")
QUERY_READ = re.compile(r"""query_params\.get\(\s*["'](\w+)["']""")


def role_for(audience) -> str:
    """Who makes the requests of a route: anonymous for public routes, else a demo user whose
    role the route admits (the organizer where it may)."""
    if audience == PUBLIC:
        return ANONYMOUS
    for role in (Role.organizer, Role.delegation_admin, Role.contestant, Role.supervisor):
        if role in audience:
            return role.value
    return next(iter(audience)).value


@dataclass
class Route:
    method: str
    path: str
    who: str
    handler: object

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


def routes_of(app) -> list[Route]:
    handlers = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    handlers[(method, route.path)] = handler
    found = []
    for method, path in app_routes(app):
        if method == "HEAD":
            continue
        found.append(
            Route(method, path, role_for(audience_of(method, path)), handlers[(method, path)])
        )
    return found


class Clients:
    """One signed-in client per demo user, made when first needed."""

    def __init__(self, app):
        self.app = app
        self.open: dict[str, httpx.AsyncClient] = {}

    async def get(self, who: str) -> httpx.AsyncClient:
        if who not in self.open:
            transport = httpx.ASGITransport(app=self.app)
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            if who == ANONYMOUS:
                await csrf_token(client)
            else:
                await login(client, DEMO_USERS[Role(who)])
            self.open[who] = client
        return self.open[who]

    async def close(self) -> None:
        for client in self.open.values():
            await client.aclose()


@dataclass
class Form:
    action: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)
    numeric: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The POST forms of a page: their action, their fields with the values the page put in
    them (the selected option, the checked boxes), and which fields hold whole numbers."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: str | None = None
        self.options: list[str] = []
        self.selected: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.form = Form(
                    a.get("action") or self.page_url, "multipart" in a.get("enctype", "")
                )
            return
        if self.form is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                if kind == "radio" and re.fullmatch(r"-?\d+", a.get("value", "")):
                    self.form.numeric.add(name)
                return
            value = a.get("value", "")
            self.form.fields.append((name, value))
            if kind == "number" or a.get("inputmode") == "numeric":
                self.form.numeric.add(name)
        elif tag == "select":
            self.select, self.options, self.selected = name, [], None
        elif tag == "option" and self.select:
            self.options.append(a.get("value", ""))
            if "selected" in a:
                self.selected = a.get("value", "")
        elif tag == "textarea":
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.forms.append(self.form)
            self.form = None
        elif tag == "select" and self.select and self.form is not None:
            values = [v for v in self.options if v]
            chosen = self.selected if self.selected is not None else (self.options or [""])[0]
            self.form.fields.append((self.select, chosen))
            if values and all(re.fullmatch(r"-?\d+", v) for v in values):
                self.form.numeric.add(self.select)
            self.select = None
        elif tag == "textarea" and self.textarea and self.form is not None:
            self.form.fields.append((self.textarea, self.text))
            self.textarea = None


def route_pattern(path: str) -> re.Pattern:
    regex = ""
    for part in re.split(r"(\{[^}]*\})", path):
        match = PATH_ANY.fullmatch(part)
        if match:
            regex += r"-?\d+" if match.group(2) == "int" else r"[^/]+"
        else:
            regex += re.escape(part)
    return re.compile(regex.rstrip("/") + "/?")


@dataclass
class Sweep:
    """Every request made, and every answer that was wrong."""

    count: int = 0
    problems: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def check(self, kind: str, what: str, response: httpx.Response, expected: int | None) -> None:
        self.count += 1
        self.by_kind[kind] += 1
        status = response.status_code
        if status >= 500:
            self.problems.append(f"{what}: server error {status}")
        elif expected is not None and status != expected:
            self.problems.append(
                f"{what}: expected {expected}, got {status} {response.text[:160]!r}"
            )
        elif expected in (400, 422) and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if set(body) - {"code", "message", "fields"} or not body.get("message"):
                self.problems.append(f"{what}: error body {body!r}")


async def send(client: httpx.AsyncClient, route: Route, url: str, **kwargs) -> httpx.Response:
    if route.method in ("GET", "HEAD"):
        return await client.request(route.method, url, **kwargs)
    token = await csrf_token(client)
    if route.is_api or "json" in kwargs or "content" in kwargs:
        headers = {"x-csrftoken": token, **kwargs.pop("headers", {})}
        if "json" not in kwargs and "content" not in kwargs:
            kwargs["json"] = {}
        return await client.request(route.method, url, headers=headers, **kwargs)
    data = {**kwargs.pop("data", {}), "_csrf_token": token}
    return await client.request(route.method, url, data=data, **kwargs)


def hostile_url(path: str, values: dict, position: int, raw: str) -> str:
    """The route's URL with real ids, but `raw` in its position-th path parameter."""
    segments = path.split("/")
    params = [i for i, s in enumerate(segments) if PATH_ANY.fullmatch(s)]
    segments[params[position]] = quote(raw, safe="")
    return fill("/".join(segments), values)


async def sweep_paths(sweep: Sweep, clients: Clients, routes: list[Route], values: dict) -> None:
    for route in routes:
        names = [m for s in route.path.split("/") if (m := PATH_ANY.fullmatch(s))]
        client = await clients.get(route.who)
        for position, match in enumerate(names):
            is_int = match.group(2) == "int"
            for value in [*NUMBERS, NUL] if is_int else [NUL, LONG]:
                url = hostile_url(route.path, values, position, value)
                response = await send(client, route, url)
                # An id that cannot exist is a record that does not: 404. Text that cannot be
                # stored is a bad request: 400. A long token or file name: below 500.
                expected = 404 if is_int else (400 if value == NUL else None)
                what = f"{route.method} {route.path} {match.group(1)}={value[:12]!r}"
                sweep.check("path", what, response, expected)


def query_names(route: Route) -> dict[str, bool]:
    """The query parameters a handler declares (name → is a number) or reads by hand."""
    names: dict[str, bool] = {}
    handler = route.handler
    path_names = frozenset(n for n, _ in PATH_ANY.findall(route.path))
    plan = plan_for(handler, path_names)
    for number in plan.numbers:
        if number.source.value == "query":
            names[number.name] = True
    for name, parameter in handler.parsed_fn_signature.parameters.items():
        if (
            name not in path_names
            and name not in names
            and parameter.annotation in (str, str | None)
        ):
            names[name] = False
    try:
        source = inspect.getsource(handler.fn)
    except (OSError, TypeError):
        source = ""
    for name in QUERY_READ.findall(source):
        names.setdefault(name, False)
    return names


async def sweep_queries(sweep: Sweep, clients: Clients, routes: list[Route], values: dict) -> None:
    for route in routes:
        if route.method != "GET" or route.path.startswith(("/static", "/schema")):
            continue
        names = query_names(route)
        client = await clients.get(route.who)
        base = fill(route.path, values)
        # A NUL in any query value is refused at the edge, whatever its name: once per route,
        # in a parameter the route does not even read.
        nul = {**dict.fromkeys(names, NUL), "hostile": NUL}
        response = await send(client, route, f"{base}?{urlencode(nul)}")
        sweep.check("query", f"GET {base}?…=NUL", response, 400)
        numbers = [n for n, is_number in names.items() if is_number]
        texts = [n for n, is_number in names.items() if not is_number]
        # A file (an export) takes the filters of its page, which is swept one parameter at a
        # time; the file gets each value in every filter at once.
        groups = [[n] for n in numbers] + (
            [texts] if FILE_ROUTE.search(route.path) and texts else [[n] for n in texts]
        )
        for group in groups:
            is_number = group[0] in numbers
            for value in [*NUMBERS, LONG] if is_number else [*NUMBER_LIKE, LONG]:
                url = f"{base}?{urlencode(dict.fromkeys(group, value))}"
                response = await send(client, route, url)
                expected = 400 if is_number and value not in SMALL else None
                sweep.check(
                    "query", f"GET {base}?{','.join(group)}={value[:12]!r}", response, expected
                )


async def discover_forms(
    clients: Clients, routes: list[Route], values: dict
) -> dict[str, list[Form]]:
    """POST route path → the forms the pages show for it (with the page's values)."""
    patterns = [(route_pattern(r.path), r.path) for r in routes if r.method == "POST"]
    found: dict[str, list[Form]] = defaultdict(list)
    for route in routes:
        if route.method != "GET" or route.path.startswith(("/static", "/schema", "/api")):
            continue
        client = await clients.get(route.who)
        url = fill(route.path, values)
        response = await client.get(url)
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        parser = FormParser(url)
        parser.feed(response.text)
        for form in parser.forms:
            action_path = urlsplit(form.action).path
            for pattern, path in patterns:
                if pattern.fullmatch(action_path):
                    found[path].append(form)
                    break
    return found


def without_csrf(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in fields if k != "_csrf_token"]


async def post_form(client, route: Route, form: Form, fields: list[tuple[str, str]]):
    token = await csrf_token(client)
    pairs = [*fields, ("_csrf_token", token)]
    if form.multipart:
        files = [(name, (None, value.encode("utf-8", "surrogatepass"))) for name, value in pairs]
        return await client.post(form.action, files=files)
    data: dict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        data[name].append(value)
    return await client.post(form.action, data=dict(data))


async def sweep_forms(sweep: Sweep, clients: Clients, routes: list[Route], values: dict) -> None:
    forms = await discover_forms(clients, routes, values)
    posts = [r for r in routes if r.method == "POST" and not r.is_api]
    # What removes or ends something goes last, signing out at the very end: an accepted
    # value there must not take away the records and the session the other rows use.
    posts.sort(key=lambda r: (r.path == "/logout", DESTRUCTIVE.search(r.path) is not None))
    for route in posts:
        client = await clients.get(route.who)
        url = fill(route.path, values)
        # A NUL in every field the route's forms have (or in a field of any name).
        discovered = forms.get(route.path, [])
        route_forms = discovered or [Form(url, False, [("name", "x")])]
        for form in route_forms[:1]:
            fields = without_csrf(form.fields) or [("name", "x")]
            poisoned = [(k, v + NUL) for k, v in fields]
            for multipart in (False, True):
                sent = Form(form.action, multipart)
                response = await post_form(client, route, sent, poisoned)
                sweep.check(
                    "form",
                    f"POST {form.action} NUL in every field ({'multipart' if multipart else 'urlencoded'})",
                    response,
                    400,
                )
        for form in discovered[:1]:
            fields = without_csrf(form.fields)
            for i, (name, _) in enumerate(fields):
                numeric = name in form.numeric
                hostile = [str(2**31), str(2**63), *NOT_A_NUMBER] if numeric else [str(2**63), LONG]
                for value in hostile:
                    changed = [*fields[:i], (name, value), *fields[i + 1 :]]
                    response = await post_form(client, route, form, changed)
                    expected = 422 if numeric else None
                    sweep.check(
                        "form", f"POST {form.action} {name}={value[:12]!r}", response, expected
                    )


def body_fields(route: Route) -> list[tuple[str, object]]:
    """(field name, msgspec type info) of the `data` struct of a JSON route."""
    parameter = route.handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return []
    info = mi.type_info(parameter.annotation)
    if not isinstance(info, mi.StructType):
        return []
    return [(f.encode_name, f.type) for f in info.fields]


def sample(info) -> object:
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.IntType):
        return 1
    if isinstance(info, mi.StrType):
        return "x"
    if isinstance(info, mi.ListType):
        return []
    return None


async def sweep_json(sweep: Sweep, clients: Clients, routes: list[Route], values: dict) -> None:
    for route in routes:
        if not route.is_api or route.method == "GET":
            continue
        fields = body_fields(route)
        client = await clients.get(route.who)
        url = fill(route.path, values)
        base = {name: sample(info) for name, info in fields}
        for name, info in fields:
            kind = sample(info)
            hostile: list = [int(v) for v in OUT_OF_RANGE] if kind == 1 else [NUL]
            for value in hostile:
                response = await send(client, route, url, json={**base, name: value})
                sweep.check("json", f"POST {url} {name}={value!r:.14}", response, 400)
            if kind == "x":
                raw = ('{"%s": "\\ud800"}' % name).encode()
                response = await send(
                    client, route, url, content=raw, headers={"content-type": "application/json"}
                )
                sweep.check("json", f"POST {url} {name}=lone surrogate", response, 400)


async def test_every_route_refuses_hostile_values_without_a_server_error(demo_full, app):
    spare = await make_user(
        "bad-input-spare", Role.contestant, competition_id=demo_full.competition_id
    )
    values = await path_values(demo_full.competition_id, user_id=spare)
    routes = routes_of(app)
    clients = Clients(app)
    sweep = Sweep()
    started = time.perf_counter()
    try:
        for part in (sweep_paths, sweep_queries, sweep_json, sweep_forms):
            t0 = time.perf_counter()
            await part(sweep, clients, routes, values)
            sweep.seconds[part.__name__] = time.perf_counter() - t0
    finally:
        await clients.close()
    print(
        f"\nsweep: {len(routes)} routes, {sweep.count} requests {dict(sweep.by_kind)} { ({k: round(v, 1) for k, v in sweep.seconds.items()}) } in {time.perf_counter() - started:.1f} s"
    )
    assert not sweep.problems, f"{len(sweep.problems)} wrong answers:\n" + "\n".join(sweep.problems)
