"""The ceiling under bench/marks.py: a bare Litestar endpoint doing one committed INSERT.

    python -m bench.marks_ceiling HOST PORT WORKERS

POST /insert takes the body a tablet sends to `POST /api/judge/marks` (the same msgspec shape,
so the ceiling decodes as many bytes) and writes one row into `bench_mark_ceiling` (created by
the bench before the server starts: the mark's cell, its value and its client id, unique) and
answers an answer of the same shape as the real one. No sign-in, no CSRF, no session lookup, no
checks, no trail: the least a durable answer over HTTP can cost with this stack on this machine.
It talks to the database the cheapest plain way: an asyncpg pool on PostgreSQL (autocommit, the
app's pool size, no reset round trip); on SQLite one connection per worker kept open in a thread
of its own, each request one call there (BEGIN IMMEDIATE, INSERT, COMMIT). One request, one
commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import msgspec
from litestar import Litestar, post

from competition.config import parse_database_url

INSERT = (
    "INSERT INTO bench_mark_ceiling (client_id, sheet, slot, aspect, value, at) "
    "VALUES ({}, {}, {}, {}, {}, {}) RETURNING id"
)
POOL_SIZE = (2, 20)  # competition.db.POOL_SIZE


class MarkIn(msgspec.Struct):
    client_id: str
    sheet: int
    slot: int
    aspect: int
    value: str | int
    base_version: int = 0
    device: str = ""


class MarkOut(msgspec.Struct):
    slot: int
    aspect: int
    value_hundredths: int
    version: int
    entered_at: str | None
    locked: bool


class Progress(msgspec.Struct):
    cells_entered: int
    cells_expected: int


class Saved(msgspec.Struct):
    result: str
    mark: MarkOut
    sheet: Progress


class _Database:
    def __init__(self, url: str) -> None:
        self.target = parse_database_url(url)
        self.pool: asyncpg.Pool | None = None
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="ceiling-sqlite")
        self.sqlite: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self.target.engine == "postgres":
            self.pool = await asyncpg.create_pool(
                self.target.postgres_dsn,
                min_size=POOL_SIZE[0],
                max_size=POOL_SIZE[1],
                reset=_nothing_to_reset,
            )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    def _sqlite_insert(self, args: tuple) -> int:
        if self.sqlite is None:  # opened in the thread that uses it
            self.sqlite = sqlite3.connect(self.target.sqlite_path, isolation_level=None, timeout=30)
        self.sqlite.execute("BEGIN IMMEDIATE")
        try:
            row = self.sqlite.execute(INSERT.format(*"??????"), args).fetchone()
            self.sqlite.execute("COMMIT")
        except BaseException:
            self.sqlite.execute("ROLLBACK")
            raise
        return row[0]

    async def insert(self, mark: MarkIn, value: int, at: dt.datetime) -> int:
        args = (mark.client_id, mark.sheet, mark.slot, mark.aspect, value)
        if self.pool is not None:
            async with self.pool.acquire() as connection:
                return await connection.fetchval(
                    INSERT.format("$1", "$2", "$3", "$4", "$5", "$6"), *args, at
                )
        return await asyncio.get_running_loop().run_in_executor(
            self.thread, self._sqlite_insert, (*args, at.isoformat())
        )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """Nothing to undo: one autocommitted INSERT leaves no session state."""


def create_app() -> Litestar:
    database = _Database(os.environ["DATABASE_URL"])

    @post("/insert", status_code=200)
    async def insert(data: MarkIn) -> Saved:
        # Not the real rule: a whole number of marks, in hundredths, for the answer's shape.
        value = int(decimal.Decimal(str(data.value)) * 100)
        at = dt.datetime.now(dt.UTC)
        await database.insert(data, value, at)
        return Saved(
            result="saved",
            mark=MarkOut(data.slot, data.aspect, value, 1, at.isoformat(), False),
            sheet=Progress(0, 0),
        )

    return Litestar(
        route_handlers=[insert],
        on_startup=[database.start],
        on_shutdown=[database.stop],
        openapi_config=None,
    )


def serve_like_jiangxin(host: str, port: int, workers: int) -> None:
    """Serve this app exactly as `jiangxin serve` serves the real one (competition.cli._serve:
    its server, worker processes, TCP_NODELAY protocol and logging options), only the app
    swapped, so the ceiling pays what the real server pays for serving and nothing else."""
    import uvicorn

    from competition import cli

    serve = uvicorn.run

    def serve_ceiling(_app: str, **options) -> None:
        serve("bench.marks_ceiling:create_app", **options)

    uvicorn.run = serve_ceiling
    cli._serve(host, port, workers)


if __name__ == "__main__":
    import sys

    serve_like_jiangxin(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
