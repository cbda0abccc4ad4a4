"""The health check against a real `jiangxin serve` whose database fails it, and how serve starts.

- serve refuses, at once and with one clear line, a database it cannot reach (a PostgreSQL port
  where nothing listens, an SQLite path that is a directory) or one that is not migrated: the
  migrations are a deploy step of their own, so servers on several machines never race to run them;
- a running server answers /health 503 `{"status": "unavailable", …}` within a few seconds when
  its database holds every reader back (a lock) or goes away (PostgreSQL: the database dropped
  WITH (FORCE); SQLite: the file moved away), with no trace, connection string or password in
  the answer, and 200 again once the database is back, without a restart.

Two `jiangxin migrate` at once on PostgreSQL both end well: one waits for the other's lock.

Each test's server has a database of its own (a new PostgreSQL database next to the suite's, or
a new SQLite file), on the engine the suite runs on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from click.testing import CliRunner

from competition import cli
from competition.config import REPO_ROOT, Settings, get_settings
from competition.controllers.public import HEALTH_TIMEOUT_S
from tests.browser_support import free_port
from tests.test_serving import _start, _stop

PASSWORD_IN_URL = "n0t-the-real-pw"
# The answer may take the check's timeout, and a busy machine a little more; never the 30 s a
# blocked SQLite reader would wait, nor asyncpg's 60 s connect timeout.
ANSWER_WITHIN_S = HEALTH_TIMEOUT_S + 2.5


def _jiangxin(*args: str, database_url: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "competition.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "JIANGXIN_COOKIE_SECURE": "0"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def _timed_health(base: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{base}/health", timeout=30)
    return response, time.monotonic() - started


def _assert_unavailable(base: str, engine: str) -> None:
    response, took = _timed_health(base)
    assert response.status_code == 503, response.text
    assert took < ANSWER_WITHIN_S, f"/health took {took:.1f} s"
    # Only what a probe needs: no trace, no driver message, no connection string.
    assert response.json() == {"status": "unavailable", "database": engine}
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"


def _assert_ok(base: str, engine: str, within: float = 20) -> None:
    """/health answers 200 again: the server found its database back by itself."""
    deadline = time.monotonic() + within
    while True:
        response, _ = _timed_health(base)
        if response.status_code == 200:
            assert response.json() == {"status": "ok", "database": engine}
            return
        assert time.monotonic() < deadline, f"/health still {response.status_code}"
        time.sleep(0.3)


def test_serve_refuses_a_database_it_cannot_reach_or_one_not_migrated(tmp_path):
    if get_settings().database.engine == "postgres":
        # Nothing listens on a port just found free: the connection is refused.
        port = free_port()
        url = f"postgresql://jx:{PASSWORD_IN_URL}@127.0.0.1:{port}/jiangxin"
        where = f"postgres database 127.0.0.1:{port}/jiangxin"
    else:
        (tmp_path / "a-folder.sqlite3").mkdir()
        url = f"sqlite:///{tmp_path}/a-folder.sqlite3"
        where = f"sqlite database {tmp_path}/a-folder.sqlite3"
    started = time.monotonic()
    done = _jiangxin("serve", "--no-job-worker", "--port", str(free_port()), database_url=url)
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert f"Cannot reach the {where}: " in done.stderr, done.stderr
    assert PASSWORD_IN_URL not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "Uvicorn running" not in done.stdout + done.stderr

    # A database not migrated (here, not even created): serve says what to run, and does not
    # migrate it.
    fresh = tmp_path / "fresh.sqlite3"
    done = _jiangxin("serve", "--port", str(free_port()), database_url=f"sqlite:///{fresh}")
    assert done.returncode == 1
    migrations = len(list((REPO_ROOT / "migrations").glob("jiangxin_*.py")))
    assert f"The database is not migrated: {migrations} migration(s)" in done.stderr, done.stderr
    assert "Run `jiangxin migrate` once" in done.stderr
    assert not fresh.exists()  # nothing written, not even an empty file
    fresh_settings = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{fresh}", "JIANGXIN_SECRET": "s" * 40}, workdir=tmp_path
    )
    assert len(cli._pending_migrations(fresh_settings)) == migrations


def test_migrate_check_says_whether_migrations_are_pending():
    # The suite's database is migrated (a fresh one is refused above).
    assert cli._pending_migrations(get_settings()) == []
    result = CliRunner().invoke(cli.main, ["migrate", "--check"])
    assert result.exit_code == 0, result.output
    assert "No migrations pending" in result.output


@pytest.fixture
def own_database(tmp_path):
    """A new, empty database on the suite's engine: (DATABASE_URL, engine name, and on
    PostgreSQL a function running SQL as the suite's user)."""
    suite = get_settings().database
    if suite.engine == "postgres":
        name = f"{suite.postgres_database}_health"
        admin = suite.postgres_dsn

        async def run(sql: str) -> None:
            connection = await asyncpg.connect(admin)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
        url = _with_database(admin, name)
        yield url, "postgresql", lambda sql: asyncio.run(run(sql))
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        url = f"sqlite:///{tmp_path}/own.sqlite3"
        yield url, "sqlite", None


def test_the_health_check_answers_503_in_seconds_while_the_database_fails_and_200_after(
    own_database, tmp_path
):
    url, engine, admin = own_database
    if engine == "postgresql":
        # Two deploy scripts migrating at once: the second waits for the first, then finds
        # nothing to do (without the lock one of them fails on a table the other made).
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(lambda _: _jiangxin("migrate", database_url=url, timeout=120), [1, 2])
            )
    else:
        runs = [_jiangxin("migrate", database_url=url, timeout=120)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "Database is up to date." in run.stdout
    server = _start(tmp_path / "serve.log", 1, "--no-job-worker", DATABASE_URL=url)
    try:
        _assert_ok(server.base, engine)

        # 1. The database is there but does not answer: every reader waits on a lock.
        if engine == "postgresql":

            async def locked() -> None:
                holder = await asyncpg.connect(url)
                try:
                    async with holder.transaction():
                        await holder.execute('LOCK TABLE "competition" IN ACCESS EXCLUSIVE MODE')
                        await asyncio.to_thread(_assert_unavailable, server.base, engine)
                finally:
                    await holder.close()

            asyncio.run(locked())
        else:
            path = Path(urlsplit(url).path[1:])
            holder = sqlite3.connect(path, isolation_level=None)
            try:
                # Exclusive locking: no other connection may even read, even in WAL mode.
                holder.execute("PRAGMA locking_mode=EXCLUSIVE")
                holder.execute("BEGIN EXCLUSIVE")
                holder.execute("UPDATE competition SET name = name")
                _assert_unavailable(server.base, engine)
            finally:
                holder.close()
        _assert_ok(server.base, engine)

        # 2. The database goes away under the running server.
        if engine == "postgresql":
            name = urlsplit(url).path[1:]
            admin(f'DROP DATABASE "{name}" WITH (FORCE)')
            _assert_unavailable(server.base, engine)
            _assert_unavailable(server.base, engine)
        else:
            path = Path(urlsplit(url).path[1:])
            away = tmp_path / "away"
            away.mkdir()
            moved = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
            for file in moved:
                shutil.move(file, away / file.name)
            path.mkdir()  # what stands at the path cannot be opened as a database
            _assert_unavailable(server.base, engine)
            path.rmdir()
            for file in moved:
                shutil.move(away / file.name, file)
            _assert_ok(server.base, engine)
        assert server.process.poll() is None  # the server itself stayed up
    finally:
        _stop(server)
    log = server.log_text()
    said = [line for line in log.splitlines() if "health: the database" in line]
    # Why, one line each time: it did not answer in time, or the driver's one-line reason.
    assert any(f"did not answer within {HEALTH_TIMEOUT_S:.0f} s" in line for line in said), log
    assert any("check failed: " in line for line in said), log
    assert url not in log  # nor any connection string
