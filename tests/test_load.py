"""The mixed load at a small size: 300 judges marking, 50 desks scanning and 20 contestants
registering at the same moment against `jiangxin serve --workers 2` (bench/load.py), then the
database counted against what every client was answered.

The run is bench/load.py's, bounded (a few seconds of load, 2,000 tickets); its server uses a
database of its own (a SQLite file here, or `<suite database>_load` on the suite's PostgreSQL
server), never the suite's. The bench checks the database exactly itself; this test also
recounts the rows with plain SQL of its own, so a check that stopped looking would not pass.
Latency figures must exist; their values are the benchmark's business, not the suite's.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from bench.support import admin
from competition.config import REPO_ROOT, get_settings

RUN_TIMEOUT_S = 240
CONTESTANTS = 20  # one in ten taps twice, one in ten tries a second trade (bench/load.py)
SIZE = [
    "--workers", "2", "--seconds", "4", "--judges", "300", "--desks", "50",
    "--contestants", str(CONTESTANTS), "--entries", "2000", "--mark-rate", "40",
    "--scan-rate", "25",
]  # fmt: skip


@pytest.fixture
def load_database(tmp_path):
    """(DATABASE_URL, engine) of an empty database for the load run, on the suite's engine."""
    suite = get_settings().database
    if suite.engine == "postgres":
        admin_url = suite.postgres_dsn
        name = f"{suite.postgres_database}_load"
        asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(admin(admin_url, f'CREATE DATABASE "{name}"'))
        yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}")), "postgresql"
        asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield f"sqlite:///{tmp_path}/load.sqlite3", "sqlite"


COUNTS = {
    # The live sheets are the only open ones (the built sheets are signed).
    "live_marks": "SELECT count(*) FROM mark m JOIN score_sheet s ON s.id = m.sheet "
    "WHERE s.status = 'open'",
    "live_trail": "SELECT count(*) FROM mark_change c JOIN mark m ON m.id = c.mark "
    "JOIN score_sheet s ON s.id = m.sheet WHERE s.status = 'open'",
    "distinct_client_ids": "SELECT count(DISTINCT c.client_id) FROM mark_change c "
    "JOIN mark m ON m.id = c.mark JOIN score_sheet s ON s.id = m.sheet WHERE s.status = 'open'",
    "check_ins": "SELECT count(*) FROM check_in",
    "distinct_check_ins": "SELECT count(*) FROM (SELECT DISTINCT entry, session FROM check_in) x",
    "refused_marks": "SELECT count(*) FROM audit_log WHERE action = 'mark.refused'",
}
PER_PAIR = (
    "SELECT delegation, trade, count(*), "
    "sum(CASE WHEN status IN ('delegation_approved', 'approved') THEN 1 ELSE 0 END) "
    "FROM entry WHERE competition = {} GROUP BY delegation, trade"
)


def _recount(url: str, engine: str, competition: int) -> tuple[dict[str, int], list[tuple]]:
    """The rows, counted with this test's own SQL on the run's database."""
    queries = {**COUNTS, "pairs": PER_PAIR.format(int(competition))}
    if engine == "sqlite":
        with sqlite3.connect(urlparse(url).path) as connection:
            found = {k: connection.execute(q).fetchall() for k, q in queries.items()}
    else:

        async def read() -> dict[str, list]:
            connection = await asyncpg.connect(url)
            try:
                return {
                    k: [tuple(r) for r in await connection.fetch(q)] for k, q in queries.items()
                }
            finally:
                await connection.close()

        found = asyncio.run(read())
    pairs = found.pop("pairs")
    return {k: v[0][0] for k, v in found.items()}, pairs


def test_judges_desks_and_contestants_at_once_lose_nothing_double_nothing_exceed_no_quota(
    load_database, tmp_path
):
    url, engine = load_database
    out = tmp_path / "load.json"
    run = subprocess.run(  # noqa: S603 - the repository's own bench with fixed arguments
        [sys.executable, "bench/load.py", "--database", url, "--out", str(out), *SIZE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    print(run.stdout[-6000:])
    assert out.exists(), run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["engine"] == engine

    # No answer 5xx, nothing unexpected answered, and the bench's exact check found nothing.
    assert result["five_xx"] == {"judges": 0, "desks": 0, "contestants": 0}
    assert result["server_errors"] == []
    assert result["problems"] == [], result["problems"]
    assert run.returncode == 0, run.stderr[-4000:]
    populations = result["populations"]
    for name in ("judges", "desks", "contestants", "reviews"):
        figures = populations[name]
        assert figures["errors"] == 0, (name, figures["error_messages"])
        assert figures["n"] > 0, name
        # Latency was measured (its size is the benchmark's business).
        assert 0 < figures["median_ms"] <= figures["p99_ms"] <= figures["max_ms"], name
    assert set(populations["judges"]["statuses"]) == {"200"}
    assert set(populations["desks"]["statuses"]) == {"200"}
    assert set(populations["contestants"]["statuses"]) <= {"200", "303", "409"}

    answers = result["answers"]
    counts, pairs = _recount(url, engine, result["registration"]["competition"])
    # Marks: one row per cell answered saved, one trail row per client id applied, none twice.
    assert answers["cells_saved"] > 0
    assert counts["live_marks"] == answers["cells_saved"]
    assert counts["live_trail"] == counts["distinct_client_ids"] == answers["client_ids_applied"]
    assert answers["marks_repeat"] > 0  # the same client id again was answered "repeat"
    assert counts["refused_marks"] == 0
    # Check-ins: one row per scan answered checked in; repeats and wrong tickets wrote nothing.
    assert answers["checked_in"] > 0
    assert counts["check_ins"] == counts["distinct_check_ins"] == answers["checked_in"]
    desk_answers = answers["desks"]
    assert sum(n for k, n in desk_answers.items() if k.startswith("repeat")) > 0
    expected = {"first": "checked_in", "retry": "checked_in", "repeat": "already"}
    for key in desk_answers:
        kind, outcome = key.split(": ")
        assert outcome == expected.get(kind, "refused"), key
    assert desk_answers.get("forged: refused", 0) > 0
    assert desk_answers.get("other trade: refused", 0) > 0
    # Registrations: every contestant once, quotas held at first review.
    assert answers["signed_up"] == answers["registered"] == CONTESTANTS
    assert answers["refused"].get("double tap", 0) == CONTESTANTS // 10
    assert answers["refused"].get("second trade", 0) == CONTESTANTS // 10
    assert answers["refused"].get("quota", 0) > 0
    caps = result["registration"]["caps"]
    assert sum(n for _d, _t, n, _p in pairs) == CONTESTANTS
    exceeded = 0
    for delegation, trade, registered, passed in pairs:
        cap = caps[f"{delegation},{trade}"]
        assert passed == answers["passed"].get(f"{delegation},{trade}", 0)
        assert passed == (registered if cap is None else min(cap, registered))
        exceeded += cap is not None and registered > cap
    assert exceeded > 0  # some quotas were too small for everyone who registered
