"""The ceiling under bench/checkin.py: a bare Litestar endpoint doing one committed INSERT.

    uvicorn bench.checkin_ceiling:create_app --factory --workers N

POST /insert {"nonce": "..."} writes one row into `bench_ceiling` (created by the bench before
the server starts) and answers its id: no sign-in, no CSRF, no session lookup, no templates —
the least a durable answer over HTTP can cost with this stack on this machine. It talks to the
database the cheapest plain way: an asyncpg pool on PostgreSQL (autocommit); on SQLite one
connection per worker kept open in a thread of its own, each request one call there (BEGIN
IMMEDIATE, INSERT, COMMIT). No batching: one request, one commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import msgspec
from litestar import Litestar, post

from competition.config import parse_database_url

INSERT = "INSERT INTO bench_ceiling (nonce, at) VALUES ({}, {}) RETURNING id"


class InsertIn(msgspec.Struct):
    nonce: str


class InsertOut(msgspec.Struct):
    id: int


class _Database:
    def __init__(self, url: str) -> None:
        self.target = parse_database_url(url)
        self.pool: asyncpg.Pool | None = None
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="ceiling-sqlite")
        self.sqlite: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self.target.engine == "postgres":
            # The pool of the app's own engine (competition/db.py): its size, and no reset
            # round trip when a connection is given back.
            self.pool = await asyncpg.create_pool(
                self.target.postgres_dsn, min_size=2, max_size=20, reset=_nothing_to_reset
            )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    def _sqlite_insert(self, nonce: str, at: str) -> int:
        if self.sqlite is None:  # opened in the thread that uses it
            self.sqlite = sqlite3.connect(self.target.sqlite_path, isolation_level=None, timeout=30)
        self.sqlite.execute("BEGIN IMMEDIATE")
        try:
            row = self.sqlite.execute(INSERT.format("?", "?"), (nonce, at)).fetchone()
            self.sqlite.execute("COMMIT")
        except BaseException:
            self.sqlite.execute("ROLLBACK")
            raise
        return row[0]

    async def insert(self, nonce: str) -> int:
        now = dt.datetime.now(dt.UTC)
        if self.pool is not None:
            async with self.pool.acquire() as connection:
                return await connection.fetchval(INSERT.format("$1", "$2"), nonce, now)
        return await asyncio.get_running_loop().run_in_executor(
            self.thread, self._sqlite_insert, nonce, now.isoformat()
        )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """Nothing to undo: one autocommitted INSERT leaves no session state."""


def create_app() -> Litestar:
    database = _Database(os.environ["DATABASE_URL"])

    @post("/insert", status_code=200)
    async def insert(data: InsertIn) -> InsertOut:
        return InsertOut(id=await database.insert(data.nonce))

    return Litestar(
        route_handlers=[insert], on_startup=[database.start], on_shutdown=[database.stop]
    )


def serve_like_jiangxin(host: str, port: int, workers: int) -> None:
    """Serve this app exactly as `jiangxin serve` serves the real one (competition.cli._serve:
    its server, worker processes, socket and logging options), only the app swapped, so the
    ceiling pays what the real server pays for serving and nothing else."""
    import uvicorn

    from competition import cli

    serve = uvicorn.run

    def serve_ceiling(_app: str, **options) -> None:
        serve("bench.checkin_ceiling:create_app", **options)

    uvicorn.run = serve_ceiling
    cli._serve(host, port, workers)


if __name__ == "__main__":
    import sys

    serve_like_jiangxin(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
