"""`jiangxin backup` and `jiangxin restore` on the database the suite runs on (SQLite's online
backup API, or pg_dump/pg_restore): the demo with its registered contestants is backed up while a
server runs on it and answers requests, the data is then destroyed, the backup restored into a
new database, and every row of every table is back as it was; a server on the restored database
is healthy and lets the organizer sign in. A restore never goes into a database that holds tables,
nor a backup of one engine into the other.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from competition import backup
from competition.config import get_settings, parse_database_url
from competition.demo.loader import DEMO_PASSWORD
from tests.fixtures import app_tables, truncate_all
from tests.test_health_database import _jiangxin
from tests.test_serving import _sign_in, _start, _stop


def _every_row(url: str) -> dict[str, list[tuple]]:
    """Every app table's rows in id order, read with the driver itself (not the app's engine,
    which is bound to the suite's database)."""
    target = parse_database_url(url)
    names = [t._meta.tablename for t in app_tables()]
    if target.engine == "sqlite":
        connection = sqlite3.connect(f"{Path(target.sqlite_path).as_uri()}?mode=ro", uri=True)
        try:
            return {
                name: connection.execute(f'SELECT * FROM "{name}" ORDER BY id').fetchall()
                for name in names
            }
        finally:
            connection.close()

    async def read() -> dict[str, list[tuple]]:
        connection = await asyncpg.connect(target.postgres_dsn)
        try:
            return {
                name: [
                    tuple(r) for r in await connection.fetch(f'SELECT * FROM "{name}" ORDER BY id')
                ]
                for name in names
            }
        finally:
            await connection.close()

    return asyncio.run(read())


@pytest.fixture
def new_database(tmp_path):
    """A DATABASE_URL naming a new, empty database on the suite's engine."""
    suite = get_settings().database
    if suite.engine == "sqlite":
        yield f"sqlite:///{tmp_path}/restored.sqlite3"
        return
    name = f"{suite.postgres_database}_restored"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(suite.postgres_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(urlsplit(suite.postgres_dsn)._replace(path=f"/{name}"))
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_a_backup_taken_while_the_server_runs_restores_every_row(
    demo_full, new_database, tmp_path
):
    suite_url = get_settings().database_url
    before = await asyncio.to_thread(_every_row, suite_url)
    assert (
        len(before["entry"]) > 100 and len(before["person"]) > 100 and len(before["app_user"]) >= 8
    )

    server = _start(tmp_path / "serve.log", 1, "--no-job-worker")
    answers: list[int] = []
    stop = threading.Event()

    def browse() -> None:  # requests all through the backup
        with httpx.Client(base_url=server.base, timeout=10) as browser:
            while not stop.is_set():
                answers.append(browser.get("/health").status_code)
                answers.append(browser.get(f"/competitions/{demo_full.competition_id}").status_code)

    browsing = threading.Thread(target=browse)
    browsing.start()
    try:
        file = tmp_path / "jiangxin.backup"
        made = await asyncio.to_thread(_jiangxin, "backup", str(file), database_url=suite_url)
        assert made.returncode == 0, made.stderr
        assert f"into {file}" in made.stdout
    finally:
        stop.set()
        browsing.join()
        _stop(server)
    assert answers and set(answers) == {200}
    magic = backup.SQLITE_MAGIC if suite_url.startswith("sqlite") else backup.PGDUMP_MAGIC
    assert file.read_bytes().startswith(magic)

    # The competition is lost (every row of every table of the app).
    await truncate_all()
    assert not any((await asyncio.to_thread(_every_row, suite_url)).values())

    restored = await asyncio.to_thread(_jiangxin, "restore", str(file), database_url=new_database)
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stdout and "migration(s) to apply" not in restored.stdout
    after = await asyncio.to_thread(_every_row, new_database)
    assert {name: len(rows) for name, rows in after.items()} == {
        name: len(rows) for name, rows in before.items()
    }
    assert after == before  # every value of every row

    # The app works on the restored database: healthy, and the organizer signs in.
    server = _start(tmp_path / "restored.log", 1, "--no-job-worker", DATABASE_URL=new_database)
    try:
        health = httpx.get(f"{server.base}/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        with httpx.Client(base_url=server.base) as browser:
            signed_in = _sign_in(browser, "organizer", DEMO_PASSWORD, "10.0.0.1")
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/org"
            assert browser.get("/org").status_code == 200
    finally:
        _stop(server)

    # A restore never replaces what a database holds, nor crosses engines.
    target = parse_database_url(new_database)
    with pytest.raises(backup.BackupError, match="already holds tables"):
        await asyncio.to_thread(backup.restore, file, target)
    other = parse_database_url(
        "postgresql://postgres@127.0.0.1:1/x"
        if target.engine == "sqlite"
        else f"sqlite:///{tmp_path}/other.sqlite3"
    )
    with pytest.raises(backup.BackupError, match="is a backup of a"):
        await asyncio.to_thread(backup.restore, file, other)
    if target.engine == "sqlite":
        # The log of the database that stood at a path would be replayed into the restored one.
        (tmp_path / "again.sqlite3-wal").write_bytes(b"")
        again = parse_database_url(f"sqlite:///{tmp_path}/again.sqlite3")
        with pytest.raises(backup.BackupError, match="move them away with it first"):
            await asyncio.to_thread(backup.restore, file, again)
    (tmp_path / "not-a-backup").write_bytes(b"PK\x03\x04 a spreadsheet")
    with pytest.raises(backup.BackupError, match="not a backup made by `jiangxin backup`"):
        await asyncio.to_thread(backup.restore, tmp_path / "not-a-backup", target)
