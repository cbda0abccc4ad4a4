"""Hostile input at every route of the app: never a server error, always the right refusal.

The sweep enumerates the app's routes (as tests/test_route_guards.py does), signs in as a demo
user each route admits (anonymous for public routes), and sends:

- in every path parameter: numbers no id column holds (2**31, 2**63, 99999999999999999999),
  -1, 0, "1e309" and a NUL in an id → 404 (there is no such record); in a text parameter a NUL
  → 400, an over-long text → below 500, and where the real value has digits (a photo's
  `123.jpg`) the digits replaced by numbers no id holds → 404;
- in the query: a NUL in any parameter → 400 (once per route); in every parameter the handler
  declares or reads by hand (`request.query_params.get("…")` in its source), the numbers and
  an over-long text → a declared number out of range 400, anything else below 500;
- in every field of every form the pages show (found by reading the forms on every page, the
  page's own values making up the rest of the submission): a NUL in every field → 400, as
  urlencoded and as multipart; numbers out of range or not whole in a numeric field → 422 (the
  form's own refusal, next to the field); a huge number or an over-long text in a text field →
  below 500;
- in every field of every JSON body an API route declares: numbers out of range → 400, a NUL
  → 400, a lone surrogate → 400.

Refusals made by the edge (400) answer in the error shape (`{code, message, fields?}` for
JSON). The sweep runs on the session's database (SQLite, or PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import inspect
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec
import msgspec.inspect as mi
from litestar import Litestar, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.routes import HTTPRoute

from competition.tables import Role
from competition.web.params import plan_for
from competition.web.templating import build_template_config
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
NOT_WHOLE = ["1e309"]
NUMBERS = OUT_OF_RANGE + SMALL + NOT_WHOLE
NUL = "\x00"
LONG = "长" * 1000 + "x" * 4000  # far past any column, and still a URL httpx sends
# Text a handler may still turn into a number by hand: past an INTEGER (PostgreSQL), past 64
# bits (SQLite too), negative (an OFFSET).
NUMBER_LIKE = [str(2**31), str(2**63), "-1"]

PATH_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
QUERY_READ = re.compile(r"""query_params\.get\(\s*["'](\w+)["']""")
# What removes or ends something goes last: an accepted value there must not take away the
# records and the session the other requests use.
DESTRUCTIVE = re.compile(r"/(delete|deactivate|withdraw|revoke|discard|logout)$")
# A file (an export) takes the filters of its page, swept one parameter at a time; the file
# gets each value in every filter at once.
FILE_ROUTE = re.compile(r"\.(xlsx|pdf|csv)$")


def role_for(audience) -> str:
    """Anonymous for a public route, else the first of these roles the route admits."""
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

    @property
    def params(self) -> list[re.Match]:
        return [m for s in self.path.split("/") if (m := PATH_PARAM.fullmatch(s))]


def routes_of(app) -> list[Route]:
    handlers = {
        (method, route.path): handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }
    return [
        Route(method, path, role_for(audience_of(method, path)), handlers[(method, path)])
        for method, path in app_routes(app)
        if method != "HEAD"
    ]


@dataclass
class Form:
    action: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)
    numeric: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The POST forms of a page: their action, their fields with the values the page put in
    them (the selected option, the checked boxes), and which fields hold whole numbers (a
    number input, or a choice whose values are all whole numbers)."""

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
                action = a.get("action") or self.page_url
                self.form = Form(action, "multipart" in a.get("enctype", ""))
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
            self.form.fields.append((name, a.get("value", "")))
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
        match = PATH_PARAM.fullmatch(part)
        if match:
            regex += r"-?\d+" if match.group(2) == "int" else r"[^/]+"
        else:
            regex += re.escape(part)
    return re.compile(regex.rstrip("/") + "/?")


class Sweep:
    """The clients, every request made, and every answer that was wrong."""

    def __init__(self, app, values: dict[str, str]):
        self.app = app
        self.values = values
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.count: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.covered: set[tuple[str, str]] = set()
        self.problems: list[str] = []
        self.forms_found = (0, 0)  # form routes whose form a page shows, of all form routes

    async def client(self, who: str) -> httpx.AsyncClient:
        if who not in self.clients:
            transport = httpx.ASGITransport(app=self.app)
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            if who == ANONYMOUS:
                await csrf_token(client)
            else:
                await login(client, DEMO_USERS[Role(who)])
            self.clients[who] = client
        return self.clients[who]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def send(self, route: Route, url: str, *, form=None, body=None, raw=None):
        """GET the URL, or send it a form (pairs; multipart when `form` is a Form that says
        so) or a JSON body, with the client's CSRF token."""
        client = await self.client(route.who)
        if route.method == "GET":
            return await client.get(url)
        token = await csrf_token(client)
        if route.is_api or body is not None or raw is not None:
            headers = {"x-csrftoken": token, "content-type": "application/json"}
            content = raw if raw is not None else None
            json = None if raw is not None else (body if body is not None else {})
            return await client.request(
                route.method, url, json=json, content=content, headers=headers
            )
        pairs, multipart = form or ([], False)
        pairs = [*pairs, ("_csrf_token", token)]
        if multipart:
            files = [(k, (None, v.encode("utf-8", "surrogatepass"))) for k, v in pairs]
            return await client.request(route.method, url, files=files)
        data: dict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            data[name].append(value)
        return await client.request(route.method, url, data=dict(data))

    def check(self, part: str, route: Route, what: str, response, expected: int | None) -> None:
        self.count[part] += 1
        self.covered.add((route.method, route.path))
        status = response.status_code
        where = f"{route.method} {route.path} {what}"
        if status >= 500:
            self.problems.append(f"{where}: server error {status}")
        elif expected is not None and status != expected:
            self.problems.append(f"{where}: {status}, not {expected}: {response.text[:160]!r}")
        elif status == 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if set(body) - {"code", "message", "fields"} or not body.get("message"):
                self.problems.append(f"{where}: error body {body!r}")


def _short(value: str) -> str:
    return repr(value if len(value) < 16 else value[:12] + "…")


def with_path_value(route: Route, values: dict, position: int, raw: str) -> str:
    """The route's URL with real ids, but `raw` in its position-th path parameter."""
    segments = route.path.split("/")
    params = [i for i, s in enumerate(segments) if PATH_PARAM.fullmatch(s)]
    segments[params[position]] = quote(raw, safe="")
    return fill("/".join(segments), values)


async def sweep_paths(sweep: Sweep, routes: list[Route]) -> None:
    for route in routes:
        real = fill(route.path, sweep.values).split("/")
        positions = [i for i, s in enumerate(route.path.split("/")) if PATH_PARAM.fullmatch(s)]
        for position, match in enumerate(route.params):
            if match.group(2) == "int":
                cases = [(v, 404) for v in [*NUMBERS, NUL]]
            else:
                cases = [(NUL, 400), (LONG, None)]
                digits = real[positions[position]]
                if re.search(r"\d", digits):
                    cases += [(re.sub(r"\d+", n, digits, count=1), 404) for n in NUMBER_LIKE]
            for value, expected in cases:
                url = with_path_value(route, sweep.values, position, value)
                what = f"{match.group(1)}={_short(value)}"
                sweep.check("path", route, what, await sweep.send(route, url), expected)


def query_names(route: Route) -> dict[str, bool]:
    """The query parameters a handler declares (name → is a number) or reads by hand."""
    handler = route.handler
    path_names = frozenset(m.group(1) for m in route.params)
    names = {
        n.name: True for n in plan_for(handler, path_names).numbers if n.source.value == "query"
    }
    for name, parameter in handler.parsed_fn_signature.parameters.items():
        if name not in path_names and parameter.annotation in (str, str | None):
            names.setdefault(name, False)
    try:
        source = inspect.getsource(handler.fn)
    except (OSError, TypeError):
        source = ""
    for name in QUERY_READ.findall(source):
        names.setdefault(name, False)
    return names


async def sweep_queries(sweep: Sweep, routes: list[Route]) -> None:
    for route in routes:
        if route.method != "GET":
            continue
        base = fill(route.path, sweep.values)
        names = query_names(route)
        # A NUL in any query value is refused at the edge, whatever its name: once a route,
        # also in a parameter the route does not read.
        nul = urlencode({**dict.fromkeys(names, NUL), "unread": NUL})
        sweep.check(
            "query", route, "NUL in the query", await sweep.send(route, f"{base}?{nul}"), 400
        )
        numbers = [n for n, is_number in names.items() if is_number]
        texts = [n for n, is_number in names.items() if not is_number]
        groups = [[n] for n in numbers] + (
            [texts] if FILE_ROUTE.search(route.path) and texts else [[n] for n in texts]
        )
        for group in groups:
            is_number = group[0] in numbers
            for value in [*NUMBERS, LONG] if is_number else [*NUMBER_LIKE, LONG]:
                url = f"{base}?{urlencode(dict.fromkeys(group, value))}"
                expected = 400 if is_number and value not in SMALL else None
                what = f"?{','.join(group)}={_short(value)}"
                sweep.check("query", route, what, await sweep.send(route, url), expected)


async def discover_forms(sweep: Sweep, routes: list[Route]) -> dict[str, Form]:
    """POST route path → the first form a page shows for it, with the page's values."""
    patterns = [(route_pattern(r.path), r.path) for r in routes if r.method == "POST"]
    found: dict[str, Form] = {}
    for route in routes:
        if route.method != "GET" or route.path.startswith(("/static", "/schema", "/api")):
            continue
        url = fill(route.path, sweep.values)
        response = await (await sweep.client(route.who)).get(url)
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        parser = FormParser(url)
        parser.feed(response.text)
        for form in parser.forms:
            action = urlsplit(form.action).path
            for pattern, path in patterns:
                if pattern.fullmatch(action):
                    found.setdefault(path, form)
                    break
    return found


async def sweep_forms(sweep: Sweep, routes: list[Route]) -> None:
    forms = await discover_forms(sweep, routes)
    posts = [r for r in routes if r.method == "POST" and not r.is_api]
    sweep.forms_found = (len(forms), len(posts))
    posts.sort(key=lambda r: (r.path == "/logout", DESTRUCTIVE.search(r.path) is not None))
    for route in posts:
        form = forms.get(route.path)
        url = form.action if form else fill(route.path, sweep.values)
        fields = [(k, v) for k, v in (form.fields if form else []) if k != "_csrf_token"]
        poisoned = [(k, v + NUL) for k, v in fields or [("name", "x")]]
        for multipart in (False, True):
            kind = "multipart" if multipart else "urlencoded"
            response = await sweep.send(route, url, form=(poisoned, multipart))
            sweep.check("form", route, f"NUL in every field ({kind})", response, 400)
        for i, (name, _) in enumerate(fields):
            numeric = name in form.numeric
            for value in [str(2**31), str(2**63), *NOT_WHOLE] if numeric else [str(2**63), LONG]:
                changed = [*fields[:i], (name, value), *fields[i + 1 :]]
                response = await sweep.send(route, url, form=(changed, form.multipart))
                expected = 422 if numeric else None
                sweep.check("form", route, f"{name}={_short(value)}", response, expected)


def body_fields(route: Route) -> list[tuple[str, object]]:
    """(name, msgspec type info) of each field of the JSON struct a route reads."""
    parameter = route.handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return []
    info = mi.type_info(parameter.annotation)
    return [(f.encode_name, f.type) for f in info.fields] if isinstance(info, mi.StructType) else []


def sample(info) -> object:
    while isinstance(info, mi.Metadata):
        info = info.type
    return {mi.IntType: 1, mi.StrType: "x"}.get(type(info))


async def sweep_json(sweep: Sweep, routes: list[Route]) -> None:
    for route in routes:
        if not route.is_api or route.method == "GET":
            continue
        url = fill(route.path, sweep.values)
        fields = body_fields(route)
        base = {name: sample(info) for name, info in fields}
        for name, info in fields or [("unread", None)]:
            kind = sample(info) if info is not None else "x"
            values = [int(v) for v in OUT_OF_RANGE] if kind == 1 else [NUL]
            for value in values:
                response = await sweep.send(route, url, body={**base, name: value})
                sweep.check("json", route, f"{name}={value!r:.14}", response, 400)
            if kind == "x":
                raw = ('{"' + name + '": "\\ud800"}').encode()
                response = await sweep.send(route, url, raw=raw)
                sweep.check("json", route, f"{name}=lone surrogate", response, 400)


async def test_every_route_refuses_hostile_values_without_a_server_error(demo_full, app):
    # A user of its own for the routes at {user_id}: changing it touches no one the sweep needs.
    spare = await make_user(
        "bad-input-spare", Role.contestant, competition_id=demo_full.competition_id
    )
    routes = routes_of(app)
    sweep = Sweep(app, await path_values(demo_full.competition_id, user_id=spare))
    cpu = time.process_time()
    try:
        for part in (sweep_paths, sweep_queries, sweep_json, sweep_forms):
            started = time.perf_counter()
            await part(sweep, routes)
            sweep.seconds[part.__name__] = round(time.perf_counter() - started, 1)
    finally:
        await sweep.close()
    print(
        f"\nhostile-input sweep: {len(routes)} routes, {sum(sweep.count.values())} requests "
        f"{dict(sweep.count)}, forms found on the pages for {sweep.forms_found[0]} of "
        f"{sweep.forms_found[1]} form routes, seconds {dict(sweep.seconds)}, "
        f"CPU {time.process_time() - cpu:.1f} s"
    )
    assert not sweep.problems, f"{len(sweep.problems)} wrong answers:\n" + "\n".join(sweep.problems)
    missed = {(r.method, r.path) for r in routes} - sweep.covered
    assert not missed, f"routes the sweep sent nothing hostile: {sorted(missed)}"


# ---------------------------------------------------------------------------- a route added later


class Line(msgspec.Struct):
    quantity: int


class Order(msgspec.Struct):
    lines: list[Line]
    # A number that really is bigger than an INTEGER says so.
    reference: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0


@get("/shop/{item_id:int}", opt={"public": True}, sync_to_thread=False)
def item(
    item_id: FromPath[int],
    page: FromQuery[int] = 1,
    size: Annotated[int, QueryParameter(le=100)] = 10,
    tags: FromQuery[list[int] | None] = None,
    count: Annotated[int | None, HeaderParameter(name="x-count")] = None,
) -> dict:
    return {"item": item_id, "page": page, "size": size}


@post("/shop/orders", opt={"public": True}, sync_to_thread=False)
def order(data: JSONBody[Order]) -> dict:
    return {"lines": len(data.lines), "reference": data.reference}


async def test_a_route_added_later_is_checked_by_its_signature_alone():
    """Nothing but the app's guard and request class: the route declares types, no checks."""
    from competition.web.errors import EXCEPTION_HANDLERS
    from competition.web.params import CheckedRequest, input_guard

    shop = Litestar(
        route_handlers=[item, order],
        guards=[input_guard],
        request_class=CheckedRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=build_template_config(),
    )
    transport = httpx.ASGITransport(app=shop)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def fields(response: httpx.Response, status: int = 400) -> dict:
            assert response.status_code == status, response.text
            return response.json().get("fields", {})

        assert (await client.get("/shop/7?page=2&size=100&tags=1")).json()["size"] == 100
        for item_id in (2**31, 2**63, 0, -1):
            assert (await client.get(f"/shop/{item_id}")).status_code == 404
        assert set(await fields(await client.get(f"/shop/7?page={2**31}"))) == {"page"}
        assert set(await fields(await client.get("/shop/7?size=101"))) == {"size"}
        assert set(await fields(await client.get(f"/shop/7?tags=1&tags={2**63}"))) == {"tags"}
        too_many = await client.get("/shop/7", headers={"x-count": str(2**40)})
        assert set(await fields(too_many)) == {"x-count"}
        assert set(await fields(await client.get("/shop/7?q=%00"))) == {"q"}

        ok = await client.post(
            "/shop/orders", json={"lines": [{"quantity": 2}], "reference": 10**11}
        )
        assert ok.status_code == 201 and ok.json() == {"lines": 1, "reference": 10**11}
        nested = await client.post(
            "/shop/orders", json={"lines": [{"quantity": 1}, {"quantity": 2**31}]}
        )
        assert set(await fields(nested)) == {"lines[1].quantity"}
        text = await client.post("/shop/orders", json={"lines": [], "note": "a\x00b"})
        assert set(await fields(text)) == {"note"}
        surrogate = await client.post(
            "/shop/orders",
            content=b'{"lines": [], "note": "\\ud800"}',
            headers={"content-type": "application/json"},
        )
        assert surrogate.status_code == 400


async def test_each_route_plans_its_checks_once_not_per_request(monkeypatch):
    """Litestar gives every guard a fresh copy of the handler; the plan is still made once."""
    from competition.web import params

    built = []
    original = params.build_plan
    monkeypatch.setattr(params, "_plans", {})  # other tests' apps planned these routes already
    monkeypatch.setattr(
        params, "build_plan", lambda *a: built.append(a[0]) or original(*a), raising=True
    )
    shop = Litestar(route_handlers=[item], guards=[params.input_guard])
    transport = httpx.ASGITransport(app=shop)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(5):
            assert (await client.get("/shop/7?page=2")).status_code == 200
    assert len(built) == 1
    planned = len(params._plans)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/shop/8")).status_code == 200
    assert len(params._plans) == planned


async def test_an_edge_refusal_speaks_the_users_language(demo, client):
    chinese = await client.get(f"/api/competitions/{demo.competition_id}?q=%00")
    assert chinese.status_code == 400
    assert chinese.json() == {
        "code": "bad_request",
        "message": "请求中含有无法保存的字符（例如 NUL 空字符），请删除后重试。",
        "fields": {"q": "文本中含有无法保存的字符（例如 NUL 空字符）。"},
    }
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    page = await client.get("/?q=%00")
    assert page.status_code == 400
    assert '<html lang="en">' in page.text
    assert "The request contains characters that cannot be stored" in page.text
    number = await client.get(
        f"/org/competitions/{demo.competition_id}/users?page_number={2**63}",
        headers={"accept": "application/json"},
    )
    assert number.status_code == 400
    assert number.json() == {
        "code": "bad_request",
        "message": "A number in the request is out of range.",
        "fields": {"page_number": "The number is out of range."},
    }
