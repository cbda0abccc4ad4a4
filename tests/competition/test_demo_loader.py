"""The demo competition: what it holds, that loading it twice changes nothing, and that every
demo user lands on a home page of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from competition.demo.loader import DEMO_PASSWORD, load_demo, read
from competition.tables import (
    AuditLog,
    CompetitionSession,
    Delegation,
    Industry,
    Quota,
    Role,
    RoleGrant,
    Station,
    Trade,
    User,
)
from tests.fixtures import app_tables
from tests.support import login

DEMO_NAME = "青海省第十六届职工职业技能大赛"
CITY_DELEGATIONS = {
    "西宁市总工会",
    "海东市总工会",
    "海北州总工会",
    "黄南州总工会",
    "海南州总工会",
    "果洛州总工会",
    "玉树州总工会",
    "海西州总工会",
}


async def row_counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in app_tables()}


async def test_the_demo_has_the_industries_trades_and_delegations_of_a_province(demo):
    competition_id = demo.competition_id
    industries = {
        r["name"]
        for r in await Industry.select(Industry.name).where(Industry.competition == competition_id)
    }
    assert len(industries) >= 20
    assert {"能源化工", "教科文卫", "电力建设", "金融通信", "拉面经济"} <= industries

    trades = {
        r["name"] for r in await Trade.select(Trade.name).where(Trade.competition == competition_id)
    }
    assert 90 <= len(trades) <= 110
    assert {"焊工", "拉面师"} <= trades
    noodle = (
        await Trade.select(Trade.industry.name).where(
            (Trade.competition == competition_id) & (Trade.name == "拉面师")
        )
    )[0]
    assert noodle["industry.name"] == "拉面经济"

    cities = await Delegation.select(Delegation.name).where(
        (Delegation.competition == competition_id) & (Delegation.kind == "city")
    )
    assert {r["name"] for r in cities} == CITY_DELEGATIONS


async def test_the_demo_has_quotas_for_every_delegation_and_trade_sessions_and_stations(demo):
    competition_id = demo.competition_id
    delegations = await Delegation.count().where(Delegation.competition == competition_id)
    trades = await Trade.count().where(Trade.competition == competition_id)
    pairs = {
        (r["delegation"], r["trade"])
        for r in await Quota.select(Quota.delegation, Quota.trade).where(
            Quota.trade.competition == competition_id
        )
    }
    assert len(pairs) == delegations * trades
    expected = {t["code"]: int(t["quota_per_delegation"]) for t in read("trades.csv")}
    welder = await Quota.select(Quota.max_entries).where(
        (Quota.trade.code == "T001") & (Quota.delegation.code == "XN")
    )
    assert welder == [{"max_entries": expected["T001"]}]

    sessions = await CompetitionSession.count().where(
        CompetitionSession.trade.competition == competition_id
    )
    assert sessions == len(read("sessions.csv"))
    stations = await Station.count().where(Station.venue.competition == competition_id)
    assert stations == sum(int(v["station_count"]) for v in read("venues.csv"))


async def test_the_demo_has_a_user_for_every_role(demo):
    roles = {r["role"] for r in await RoleGrant.select(RoleGrant.role)}
    assert roles == {role.value for role in Role}
    usernames = {r["username"] for r in await User.select(User.username)}
    assert {entry.username for entry in demo.logins} <= usernames


# (username, home page, something only this user's home shows)
HOMES = [
    ("organizer", "/org", DEMO_NAME),
    ("xining", "/delegation", "西宁市总工会"),
    ("haixi", "/delegation", "海西州总工会"),
    ("judge", "/judge", "焊工"),
    ("judge2", "/judge", "焊工"),
    ("judge3", "/judge", "焊工"),
    ("chief", "/chief", "焊工"),
    ("supervisor", "/supervisor", DEMO_NAME),
    ("encryption", "/encryption", "加密员"),
    ("clerk", "/desk", "青海高等职业技术学院"),
    ("contestant", "/me", "韩永福"),
]


def main_content(html: str) -> str:
    """The page body without the header (which shows the user's name on every page)."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_homes_cover_every_demo_login():
    assert {username for username, _, _ in HOMES} == {r["username"] for r in read("users.csv")}


@pytest.mark.parametrize(("username", "home", "marker"), HOMES)
async def test_every_demo_user_signs_in_and_lands_on_a_home_of_their_own(
    demo, client, username, home, marker
):
    response = await login(client, username, DEMO_PASSWORD)
    assert response.headers["location"] == home
    front = await client.get("/")
    assert front.status_code == 303
    assert front.headers["location"] == home
    page = await client.get(home)
    assert page.status_code == 200
    assert marker in main_content(page.text)


async def test_a_delegation_admin_sees_only_their_own_delegation(demo, client):
    await login(client, "xining", DEMO_PASSWORD)
    content = main_content((await client.get("/delegation")).text)
    assert "西宁市总工会" in content
    assert "海西州总工会" not in content


def test_the_demo_command_loads_a_fresh_database_and_prints_the_logins(tmp_path: Path):
    script = Path(sys.executable).with_name("jiangxin")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "competition.cli"]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "JIANGXIN_SECRET": "demo-command-test-" + "y" * 32,
    }
    result = subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [*command, "demo", "--no-serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo.sqlite3").exists()
    assert DEMO_PASSWORD in result.stdout
    for row in read("users.csv"):
        assert row["username"] in result.stdout


async def test_loading_the_demo_twice_changes_nothing_the_second_time(demo_mutable):
    before = await row_counts()
    audit_before = await AuditLog.count()
    assert audit_before > 0
    summary = await load_demo()
    assert summary.changes == 0
    assert summary.competition_id == demo_mutable.competition_id
    assert await row_counts() == before
    assert await AuditLog.count() == audit_before
