"""The health check, the OpenAPI document and the core JSON API."""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute

from competition.db import is_postgres
from competition.demo.loader import parse_events, read
from competition.errors import PhaseError
from competition.i18n import current_locale, translate_error
from competition.phases import check_transition
from competition.tables import AuditLog, Competition
from tests.support import login, post_json


async def test_health_reports_ok_and_the_database_engine(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "postgresql" if is_postgres() else "sqlite",
    }


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
