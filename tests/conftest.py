"""Test set-up shared by every package's tests.

DATABASE_URL is fixed here before anything imports a `tables` module (Piccolo binds tables to
the engine at import). Without DATABASE_URL the suite runs on a fresh SQLite file; with a
`postgresql://…` URL it runs on that database, whose public schema it wipes first.

`make test` runs the suite in two processes (pytest-xdist, `-n 2`): each has a database of its
own beside the one given — `<file>_<worker>.sqlite3`, or `<database>_<worker>` on the same
PostgreSQL server, made when missing. The checks of the whole run (no
untranslated message, no personal data in a log) gather what every process saw.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_TMP = Path(tempfile.mkdtemp(prefix="jiangxin-tests-"))
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1" … under pytest-xdist


async def _create_database(server_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server_url)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _worker_database(url: str) -> str:
    """The worker's own database beside the one the run was given (the workers inherit the
    controlling process's DATABASE_URL): `<name>_<worker>` on the same PostgreSQL server, made
    when missing, or the SQLite file `<stem>_<worker>.sqlite3` in the same folder."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(f'{path.stem}_{_WORKER}{path.suffix}')}"
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{_WORKER}"
    asyncio.run(_create_database(url, name))
    return urlunsplit(parts._replace(path=f"/{name}"))


os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/test.sqlite3")
if _WORKER:
    os.environ["DATABASE_URL"] = _worker_database(os.environ["DATABASE_URL"])
os.environ["JIANGXIN_SECRET"] = "test-secret-" + "x" * 40
os.environ["JIANGXIN_COOKIE_SECURE"] = "0"

import pytest  # noqa: E402

from competition import i18n  # noqa: E402
from tests import log_scan  # noqa: E402

pytest_plugins = ["tests.fixtures", "tests.browser_support"]

# What the worker processes found, gathered by the controlling process as each one ends.
_from_workers: dict[str, list[str]] = {"untranslated": [], "log_leaks": []}


def pytest_sessionstart(session: pytest.Session) -> None:
    i18n.start_recording_missing()
    log_scan.start()


def pytest_runtest_setup(item: pytest.Item) -> None:
    log_scan.start()


def pytest_collection_modifyitems(session: pytest.Session, config, items: list) -> None:
    """The whole-system suites in tests/ itself (every route swept, the browser end to end,
    kill -9, load, backup) first: they are the longest files, and started last they would leave
    one process running alone at the end."""
    here = Path(__file__).parent
    items.sort(key=lambda item: item.path.parent != here)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # pytest-xdist: a worker process has ended
    found = getattr(node, "workeroutput", {})
    for key, values in _from_workers.items():
        values.extend(found.get(key, []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every message the suite showed in Chinese must have a translation: an English sentence
    leaking into the zh-CN interface fails the run."""
    missing = sorted(i18n.recorded_missing())
    leaks = log_scan.findings()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker process: the controlling process reports
        workeroutput["untranslated"] = missing
        workeroutput["log_leaks"] = leaks
        return
    missing = sorted({*missing, *_from_workers["untranslated"]})
    leaks = [*leaks, *_from_workers["log_leaks"]]
    if missing:
        lines = "\n".join(f"  msgid {m!r}" for m in missing)
        print(f"\n{len(missing)} messages were shown untranslated in zh_CN:\n{lines}")
        session.exitstatus = 1
    # No ID or phone number in any log record the app wrote during the run.
    if leaks:
        lines = "\n".join(f"  {leak}" for leak in leaks[:20])
        print(f"\n{len(leaks)} log records hold personal data:\n{lines}")
        session.exitstatus = 1
