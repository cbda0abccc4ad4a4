"""The health check, the OpenAPI document and the core JSON API."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar.routes import HTTPRoute

from competition.db import is_postgres
from competition.demo.loader import parse_events, read
from competition.errors import PhaseError
from competition.i18n import current_locale, translate_error
from competition.phases import check_transition
from competition.tables import AuditLog, Competition, CompetitionSession, Role, Trade
from tests.support import csrf_token, login, post_json
from tests.test_route_guards import DEMO_USERS, audience_of


async def test_health_reports_ok_and_the_database_engine(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "postgresql" if is_postgres() else "sqlite",
    }


# The health check answers 503 with its own body, not an error's: what a load balancer's probe
# reads (tests/test_health_database.py makes it happen against a real server).
HEALTH_DOWN = ("GET", "/health", 503)


def test_the_schema_documents_both_answers_of_the_health_check(app):
    schema = app.openapi_schema.to_schema()
    answers = schema["paths"]["/health"]["get"]["responses"]
    health = {"$ref": "#/components/schemas/HealthOut"}
    assert answers["200"]["content"]["application/json"]["schema"] == health
    assert answers["503"]["content"]["application/json"]["schema"] == health
    shape = schema["components"]["schemas"]["HealthOut"]
    assert shape["properties"]["status"]["enum"] == ["ok", "unavailable"]
    assert shape["properties"]["database"]["enum"] == ["sqlite", "postgresql"]


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


async def test_the_openapi_document_lists_the_api_and_no_html_page(app, client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    documented = set(response.json()["paths"])
    api_routes = {
        _openapi_path(route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/")
    }
    assert "/api/competitions/{competition_id}/trades" in api_routes
    assert api_routes <= documented, api_routes - documented
    # Nothing but the API and the health check: HTML pages are not part of the contract.
    assert documented - api_routes == {"/health"}


async def test_the_trades_api_returns_the_demo_trades_with_their_weights(demo, client):
    response = await client.get(f"/api/competitions/{demo.competition_id}/trades")
    assert response.status_code == 200
    trades = {t["code"]: t for t in response.json()}
    rows = read("trades.csv")
    assert set(trades) == {r["code"] for r in rows}
    for row in rows:
        expected = [{"key": e.key.value, "weight": e.weight} for e in parse_events(row["events"])]
        assert trades[row["code"]]["events"] == expected, row["code"]
        assert sum(e["weight"] for e in trades[row["code"]]["events"]) == 100
    welder = trades["T001"]
    assert welder["name"] == "焊工"
    assert welder["events"] == [
        {"key": "theory", "weight": 30},
        {"key": "practical", "weight": 70},
    ]
    assert welder["groups"] == ["职工组", "学生组"]
    assert welder["industry_name"] == "装备制造"


async def test_the_phase_api_is_the_organizers_alone(demo, client):
    await login(client, "supervisor")
    response = await post_json(
        client, f"/api/competitions/{demo.competition_id}/phase", {"target": "review"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    phase = await Competition.select(Competition.phase).where(Competition.id == demo.competition_id)
    assert phase == [{"phase": "registration"}]


def illegal_step_message(current: str, target: str) -> str:
    """The refusal as a Chinese user reads it; checked to differ from the English one."""
    with pytest.raises(PhaseError) as caught:
        check_transition(current, target)
    chinese = translate_error(caught.value)
    token = current_locale.set("en")
    try:
        english = translate_error(caught.value)
    finally:
        current_locale.reset(token)
    assert chinese != english, "the illegal-step message has no Chinese translation"
    return chinese


async def test_the_phase_api_moves_the_competition_and_refuses_an_illegal_step(
    demo_mutable, client
):
    competition_id = demo_mutable.competition_id
    url = f"/api/competitions/{competition_id}/phase"
    await login(client, "organizer")
    audit_before = await AuditLog.count().where(AuditLog.action == "competition.phase")

    moved = await post_json(client, url, {"target": "review", "reason": "报名截止"})
    assert moved.status_code == 200
    body = moved.json()
    assert body["phase"] == "review"
    assert body["next_phases"] == ["draw", "registration"]
    stored = await Competition.select(Competition.phase).where(Competition.id == competition_id)
    assert stored == [{"phase": "review"}]
    records = (
        await AuditLog.select(AuditLog.old, AuditLog.new, AuditLog.reason, AuditLog.actor_name)
        .where(AuditLog.action == "competition.phase")
        .order_by(AuditLog.id, ascending=False)
        .output(load_json=True)
    )
    assert len(records) == audit_before + 1
    assert records[0] == {
        "old": {"phase": "registration"},
        "new": {"phase": "review"},
        "reason": "报名截止",
        "actor_name": "organizer",
    }

    refused = await post_json(client, url, {"target": "final"})
    assert refused.status_code == 409
    error = refused.json()
    assert set(error) == {"code", "message"}
    assert error["code"] == "illegal_transition"
    assert error["message"] == illegal_step_message("review", "final")
    assert await Competition.select(Competition.phase).where(Competition.id == competition_id) == [
        {"phase": "review"}
    ]
    assert await AuditLog.count().where(AuditLog.action == "competition.phase") == (
        audit_before + 1
    )


# ---------------------------------------------------------------------------- the error contract

ERROR_KEYS = {"code", "message", "fields"}


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def check_error_body(schema: dict, response: httpx.Response) -> str | None:
    """What is wrong with an error answer measured against the schema's ErrorOut, or None."""
    error = schema["components"]["schemas"]["ErrorOut"]
    body = response.json()
    if not isinstance(body, dict):
        return f"not an object: {body!r}"
    if missing := set(error["required"]) - set(body):
        return f"missing {missing}: {body!r}"
    if extra := set(body) - set(error["properties"]):
        return f"undocumented keys {extra}: {body!r}"
    if not all(isinstance(body[k], str) and body[k] for k in ("code", "message")):
        return f"code and message must be text: {body!r}"
    fields = body.get("fields")
    if fields is not None and not (
        isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())
    ):
        return f"fields must map names to messages: {body!r}"
    return None


def test_every_error_answer_is_documented_with_the_shape_the_api_sends(app):
    schema = app.openapi_schema.to_schema()
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == ERROR_KEYS
    assert set(error["required"]) == {"code", "message"}
    for method, path, operation in operations(schema):
        errors = {int(s) for s in operation["responses"] if int(s) >= 400}
        assert 400 in errors, f"{method} {path}"
        for status in errors:
            if (method, path, status) == HEALTH_DOWN:
                continue
            content = operation["responses"][str(status)]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (
                f"{method} {path} {status}"
            )


async def _signed_in(app, who: str | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    await csrf_token(client)
    if who is not None:
        await login(client, who)
    return client


class Contract:
    """Requests against the schema's operations, and what was wrong with their answers."""

    def __init__(self, app, schema: dict):
        self.app = app
        self.schema = schema
        self.clients: dict[str | None, httpx.AsyncClient] = {}
        self.problems: list[str] = []
        self.answered: dict[tuple[str, str], set[int]] = {}

    async def call(self, who, method, path, *, values, body=None, csrf=True, query=""):
        if who not in self.clients:
            self.clients[who] = await _signed_in(self.app, who)
        client = self.clients[who]
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + query
        headers = {"x-csrftoken": client.cookies["csrftoken"]} if csrf else {}
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.request(method, url, json=body, headers=headers)
        self.answered.setdefault((method, path), set()).add(response.status_code)
        return response

    def expect(self, method, path, status: int, response: httpx.Response, what: str) -> None:
        if response.status_code != status:
            self.problems.append(
                f"{method} {path} {what}: {response.status_code}, not {status} {response.text[:80]}"
            )
        elif issue := check_error_body(self.schema, response):
            self.problems.append(f"{method} {path} {what}: {issue}")

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def _who(audience, *, allowed: bool) -> str | None:
    """A demo user the route admits (or one it refuses); None when there is none."""
    for role in (Role.organizer, Role.supervisor, Role.contestant, *Role):
        admitted = audience == "public" or role in audience
        if admitted == allowed:
            return DEMO_USERS[role]
    return None


async def test_every_status_the_api_answers_is_documented_and_each_documented_one_happens(
    demo_mutable, app
):
    """For each operation of the schema: a request that must give each documented error status
    does, with the documented body; and a battery of bad requests answers no status the
    schema does not list."""
    schema = app.openapi_schema.to_schema()
    trade = await Trade.select(Trade.id).where(Trade.code == "T001").first()
    # No sheet exists in this demo: a sheet's operations answer for an id that is not there.
    ids = {
        "competition_id": str(demo_mutable.competition_id),
        "trade_id": str(trade["id"]),
        "sheet_id": "1",
        "job_id": "1",  # none in this demo either
        "number": "QH16-0000-00000",  # no certificate either
    }
    unknown = dict.fromkeys(ids, "999999")
    session = await CompetitionSession.select(CompetitionSession.id).first()
    scan = {"session_id": session["id"], "token": "not-a-ticket", "nonce": "n-1"}
    bodies = {
        "/api/competitions/{competition_id}/phase": {"target": "review"},
        "/api/checkin": scan,
    }
    # Statuses no generic request produces: the body that does, per operation.
    specific = {
        ("POST", "/api/competitions/{competition_id}/phase", 409): {"target": "final"},
        ("POST", "/api/checkin", 404): {**scan, "session_id": 999_999},
        ("POST", "/api/checkin", 422): {**scan, "nonce": " "},
    }
    contract = Contract(app, schema)
    try:
        for method, path, operation in operations(schema):
            documented = {int(s) for s in operation["responses"]}
            audience = audience_of(method, path)
            allowed = _who(audience, allowed=True)
            refused = _who(audience, allowed=False)
            body = bodies.get(path, {})

            async def call(who, *, method=method, path=path, **kwargs):
                return await contract.call(who, method, path, **{"values": ids, **kwargs})

            for status in sorted(s for s in documented if s >= 400):
                if status == 400:
                    response = await call(allowed, body=body, query="?x=%00")
                    contract.expect(method, path, 400, response, "NUL in the query")
                    if method != "GET":
                        big = {**body, **{k: 2**63 for k, v in body.items() if isinstance(v, int)}}
                        response = await call(allowed, body=big if big != body else [1])
                        contract.expect(method, path, 400, response, "a bad body")
                elif status == 401:
                    contract.expect(method, path, 401, await call(None, body=body), "anonymous")
                elif status == 403 and refused:
                    response = await call(refused, body=body)
                    contract.expect(method, path, 403, response, f"as {refused}")
                elif status == 403:
                    response = await call(allowed, body=body, csrf=False)
                    contract.expect(method, path, 403, response, "without the CSRF header")
                elif status == 404 and "{" in path:
                    response = await call(allowed, values=unknown, body=body)
                    contract.expect(method, path, 404, response, "an unknown id")
                elif (method, path, status) == HEALTH_DOWN:
                    continue  # the database must be gone: tests/test_health_database.py
                elif (method, path, status) in specific:
                    response = await call(allowed, body=specific[(method, path, status)])
                    contract.expect(method, path, status, response, "its own case")
                else:
                    contract.problems.append(
                        f"{method} {path}: {status} is documented and no request here makes it"
                    )
            for (m, p, _), special in specific.items():
                if (m, p) == (method, path):
                    await call(allowed, body=special)
            if method != "GET":
                for bad in ({}, {"target": None}, {"session_id": "x"}, [1, 2]):
                    await call(allowed, body=bad)
                await call(allowed, body=body, csrf=False)
            await call(None, query="?page=-1")
            answered = contract.answered[(method, path)]
            if answered - documented:
                contract.problems.append(
                    f"{method} {path}: answered {sorted(answered - documented)}, "
                    f"documents {sorted(documented)}"
                )
    finally:
        await contract.close()
    assert not contract.problems, "\n".join(contract.problems)
