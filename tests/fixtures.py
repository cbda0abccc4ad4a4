"""Fixtures: a migrated database, an app in its lifespan, an HTTP client, the demo data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from piccolo.table import sort_table_classes

from competition import db
from competition.config import get_settings

# What the database holds between tests: "demo" (untouched demo data) or "dirty".
_state = {"db": "dirty", "demo": None}


def app_tables():
    from piccolo_app import APP_CONFIG

    return sort_table_classes(list(APP_CONFIG.table_classes))


async def _reset_schema() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    target = get_settings().database
    if target.engine == "postgres":
        engine = db.engine()
        await engine._run_in_new_connection("DROP SCHEMA public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    else:
        Path(target.sqlite_path).unlink(missing_ok=True)
    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()


def _forget_caches() -> None:
    """Per-process caches keyed by row ids: the ids start again once the tables are emptied or
    restored, so an earlier test's scheme must not answer for this test's (in the product ids
    are never reused)."""
    from scoring.sheets.marks import forget_cached_aspects

    forget_cached_aspects()


async def truncate_all() -> None:
    _forget_caches()
    tables = app_tables()
    engine = db.engine()
    if db.is_postgres():
        names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
        await engine._run_in_new_connection(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        async with db.transaction():
            for table in reversed(tables):
                await table.raw(f'DELETE FROM "{table._meta.tablename}"')
    _state["db"] = "dirty"
    _state["demo"] = None


@pytest.fixture(scope="session", autouse=True)
async def database():
    await _reset_schema()
    await db.start_pool()
    yield
    await db.close_pool()


@pytest.fixture
async def empty_db():
    """An empty, migrated database."""
    await truncate_all()
    yield


# Loading the demo costs seconds (argon2 hashes, thousands of quotas); restoring a copy of its
# tables kept in the same database costs tens of milliseconds. Each variant is loaded once per
# session, copied into `snap_<variant>_<table>`, and restored from there afterwards.
_snapshots: dict[str, object] = {}


async def _run(sql: str) -> None:
    from competition.tables import AuditLog

    await AuditLog.raw(sql)


async def _take_snapshot(variant: str) -> None:
    for table in app_tables():
        name = table._meta.tablename
        await _run(f'DROP TABLE IF EXISTS "snap_{variant}_{name}"')
        await _run(f'CREATE TABLE "snap_{variant}_{name}" AS SELECT * FROM "{name}"')


async def _restore_snapshot(variant: str) -> None:
    _forget_caches()
    tables = app_tables()
    if db.is_postgres():
        names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
        async with db.transaction():
            await _run(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            for table in tables:
                name = table._meta.tablename
                await _run(f'INSERT INTO "{name}" SELECT * FROM "snap_{variant}_{name}"')
                await _run(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f'COALESCE(MAX(id), 0) + 1, false) FROM "{name}"'
                )
    else:
        async with db.transaction():
            for table in reversed(tables):
                await _run(f'DELETE FROM "{table._meta.tablename}"')
            for table in tables:
                name = table._meta.tablename
                await _run(f'INSERT INTO "{name}" SELECT * FROM "snap_{variant}_{name}"')


async def _load(variant: str):
    """The demo competition ("demo": structure and accounts; "full": plus ~300 registered
    contestants across every status; "scoring": plus schemes, judges, panels and the draws of
    `jiangxin demo --until draw`; "marks": plus the marks; "results": plus the published trade
    of `make demo`), loaded or restored
    unless it is already there."""
    if _state["db"] == variant:
        return _state["demo"]
    if variant in _snapshots:
        await _restore_snapshot(variant)
    else:
        from competition.demo.loader import load_demo
        from registration.demo import load_demo_registrations

        await truncate_all()
        summary = await load_demo()
        if variant in ("full", "scoring", "marks", "results"):
            await load_demo_registrations(summary.competition_id)
        if variant in ("scoring", "marks", "results"):
            from scoring.demo import load_demo_scoring

            await load_demo_scoring(summary.competition_id, marks=variant != "scoring")
        if variant == "results":
            from competition.results.demo import load_demo_results

            await load_demo_results(summary.competition_id)
        await _take_snapshot(variant)
        _snapshots[variant] = summary
    _state["demo"] = _snapshots[variant]
    _state["db"] = variant
    return _state["demo"]


@pytest.fixture
async def demo():
    """The demo competition's structure and accounts; tests using it must not change it
    (see `demo_mutable`)."""
    return await _load("demo")


@pytest.fixture
async def demo_mutable():
    """The demo competition, for a test that changes it: restored for whoever comes next."""
    summary = await _load("demo")
    yield summary
    _state["db"] = "dirty"


@pytest.fixture
async def demo_full():
    """The demo with its registered contestants (every status), for a test that may change it."""
    summary = await _load("full")
    yield summary
    _state["db"] = "dirty"


@pytest.fixture
async def demo_scoring():
    """The demo as `jiangxin demo --until draw` leaves it: registrations, marking schemes, judges
    and panels, and several trades drawn (the competition in its check-in and draw phase); may be
    changed."""
    summary = await _load("scoring")
    yield summary
    _state["db"] = "dirty"


@pytest.fixture
async def demo_marks():
    """The demo as `make demo` leaves it: `demo_scoring`'s, then the competition competing and
    the drawn trades marked — 焊工 partly (a sheet returned), 拉面师 complete with flags, 装配钳工
    locked, 电工 not marked (scoring/demo/marks.py); may be changed."""
    summary = await _load("marks")
    yield summary
    _state["db"] = "dirty"


@pytest.fixture
async def demo_results():
    """The demo as `make demo` leaves it: `demo_marks`', then 装配钳工 decrypted, reviewed and
    published with one appeal waiting (competition/results/demo.py); may be changed."""
    summary = await _load("results")
    yield summary
    _state["db"] = "dirty"


async def load_variant(variant: str):
    """The demo data of a fixture by its variant name, for a test that needs a second state
    (e.g. the draws again, after the marks): the next test restores its own."""
    summary = await _load(variant)
    _state["db"] = "dirty"
    return summary


@pytest.fixture(scope="session")
async def app():
    """The app with its lifespan entered. The lifespan runs in a task of its own because
    pytest-asyncio finalizes fixtures in another task, and anyio's scopes must be left in the
    task that entered them."""
    from competition.app import create_app

    application = create_app()
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan():
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    await started.wait()
    yield application
    stop.set()
    await task


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def other_client(app):
    """A second browser, e.g. a second reviewer clicking at the same time."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
