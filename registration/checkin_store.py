"""The check-in desk's way to the database: reads that never wait for the write lock, and one
short write transaction for a real check-in.

A scan at a busy door must answer in milliseconds. On PostgreSQL that is Piccolo's own pool,
used with raw SQL (building a join select costs Piccolo 1–2 ms of CPU). On SQLite Piccolo opens
a new connection, and a thread, for every statement outside a transaction and for every
transaction, and the last connection to close checkpoints the write-ahead log: 2 ms a read and
8–10 ms a committed write, most of it not SQLite's. So on SQLite each process keeps two
connections of its own open: a reader (WAL readers never wait for the writer) and a writer,
whose transactions one asyncio lock queues inside the process so that desks wait in line
instead of in SQLite's busy handler (which sleeps in steps of up to 100 ms).

Statements use Piccolo's `{}` placeholders on both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from competition import db
from competition.tables import AuditLog


class _Kept:
    """The two connections and the write lock of one event loop (one per process when
    served; tests run one loop for the whole session)."""

    def __init__(self) -> None:
        self.reader: aiosqlite.Connection | None = None
        self.writer: aiosqlite.Connection | None = None
        self.lock = asyncio.Lock()


_kept: dict[asyncio.AbstractEventLoop, _Kept] = {}


def _kept_for_loop() -> _Kept:
    loop = asyncio.get_running_loop()
    kept = _kept.get(loop)
    if kept is None:
        for old in [other for other in _kept if other.is_closed()]:
            del _kept[old]
        kept = _kept[loop] = _Kept()
    return kept


async def _open(engine: SQLiteEngine) -> aiosqlite.Connection:
    connection = aiosqlite.connect(**engine.connection_kwargs)
    # aiosqlite's worker thread is not a daemon: a connection kept for the life of the process
    # would hold the interpreter open at exit. SQLite needs no goodbye (an interrupted write
    # is rolled back from the journal by the next opener).
    connection._thread.daemon = True
    await connection
    connection.row_factory = dict_factory
    await connection.execute("PRAGMA foreign_keys = 1")
    return connection


class _KeptTransaction(SQLiteTransaction):
    """Piccolo's transaction on the writer this process keeps open, so that services called
    inside it (audit.record) write through the same transaction; it is not closed after."""

    def __init__(self, engine: SQLiteEngine, connection: aiosqlite.Connection) -> None:
        super().__init__(engine, transaction_type=TransactionType.immediate, allow_nested=False)
        self.connection = connection

    async def __aenter__(self) -> _KeptTransaction:
        await self.begin()
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        try:
            if exception is None:
                try:
                    await self.commit()
                    return False
                except BaseException:
                    await asyncio.shield(self.rollback())
                    raise
            # Shielded: a cancelled request must not leave the kept writer mid-transaction.
            await asyncio.shield(self.rollback())
            return False
        finally:
            self.engine.current_transaction.reset(self.context)


def _sqlite_sql(sql: str) -> str:
    return sql.replace("{}", "?")


async def read(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one read-only statement, outside any write transaction."""
    engine = db.engine()
    if not isinstance(engine, SQLiteEngine):
        return await AuditLog.raw(sql, *args)
    if engine.current_transaction.get() is not None:
        # Inside a write transaction already: read what it sees.
        return await AuditLog.raw(sql, *args)
    kept = _kept_for_loop()
    if kept.reader is None:
        kept.reader = await _open(engine)
    async with kept.reader.execute(_sqlite_sql(sql), args) as cursor:
        return list(await cursor.fetchall())


async def execute(sql: str, *args: Any) -> list[dict[str, Any]]:
    """One statement inside `write()`; returns the rows of a RETURNING clause."""
    return await AuditLog.raw(sql, *args)


@asynccontextmanager
async def write() -> AsyncIterator[None]:
    """One short write transaction: statements through `execute`, and any Piccolo query or
    service (audit.record) awaited inside it, commit together or not at all."""
    engine = db.engine()
    if not isinstance(engine, SQLiteEngine):
        async with db.transaction():
            yield
        return
    if engine.current_transaction.get() is not None:
        # Called inside a transaction already open (a service composing this one): join it.
        yield
        return
    kept = _kept_for_loop()
    async with kept.lock:
        if kept.writer is None:
            kept.writer = await _open(engine)
        async with _KeptTransaction(engine, kept.writer):
            yield


async def close() -> None:
    """Close this loop's kept connections (tests that replace the database file)."""
    kept = _kept.pop(asyncio.get_running_loop(), None)
    if kept is None:
        return
    for connection in (kept.reader, kept.writer):
        if connection is not None:
            await connection.close()
