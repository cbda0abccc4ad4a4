"""The check-in desk's way to the database: reads that never wait for the write lock, and one
short write for a real check-in.

A scan at a busy door must answer in milliseconds (bench/checkin.py). Reads are
`competition.db.fetch_dicts` (the hot-path read every request's session lookup uses too).

On PostgreSQL a check-in is one statement (a data-modifying WITH), so one round trip on the
pool, autocommitted.

On SQLite Piccolo opens a new connection, with a thread of its own, for every transaction, and
the last connection to close checkpoints the write-ahead log: 8–10 ms a committed write, most
of it not SQLite's. So each process keeps one writer connection living in one thread, and
writes are group-committed: the check-ins that arrive while the
writer is busy go into its next transaction together, each in a savepoint of its own, so
sixteen desks cost one fsync and one hand-over to the thread instead of sixteen of each, and
desks wait in this queue rather than in SQLite's busy handler. Between worker processes the
writers also take a blocking file lock first: SQLite's busy handler polls in sleeps of up to
100 ms, so a process waiting there keeps missing the moment another, busy one lets go, while a
blocked flock() is woken when it does.

Statements use `?` placeholders on both databases (`db.fetch_dicts` rewrites them for
PostgreSQL); values are always parameters.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from competition import db

Statement = tuple[str, tuple[Any, ...]]


# ---------------------------------------------------------------------------- SQLite


class _Connections:
    """Connections of this process to one SQLite file, each opened in and used by one thread."""

    def __init__(self, connection_kwargs: dict[str, Any]) -> None:
        self.kwargs = connection_kwargs
        self.local = threading.local()
        # The thread ends by itself when the interpreter exits.
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="jx-checkin-write")
        self.pending: list[tuple[Statement, Statement | None, asyncio.Future]] = []
        self.draining = False
        self.drainer: asyncio.Task | None = None
        self.lock_path = f"{connection_kwargs['database']}-checkin.lock"
        self.lock_fd: int | None = None

    def connection(self) -> sqlite3.Connection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            # Piccolo's own settings: autocommit, its type converters, its busy timeout.
            connection = sqlite3.connect(**self.kwargs)
            connection.execute("PRAGMA foreign_keys = 1")
            self.local.connection = connection
        return connection

    def commit_batch(
        self, batch: list[tuple[Statement, Statement | None]]
    ) -> list[tuple[bool, Any]]:
        """One transaction for many writes, each in a savepoint: a write that fails is undone
        alone and its error goes back to its own caller. Each write is (first, then): `then`
        runs only if `first` returned rows; the outcome is (True, rows of first)."""
        connection = self.connection()
        if self.lock_fd is None:
            self.lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            return self._commit_batch(connection, batch)
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def _commit_batch(
        self, connection: sqlite3.Connection, batch: list[tuple[Statement, Statement | None]]
    ) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        connection.execute("BEGIN IMMEDIATE")
        try:
            for first, then in batch:
                connection.execute("SAVEPOINT jx_write")
                try:
                    rows = self._run(connection, first)
                    if rows and then is not None:
                        self._run(connection, then)
                    connection.execute("RELEASE jx_write")
                    outcomes.append((True, rows))
                except sqlite3.Error as exc:
                    connection.execute("ROLLBACK TO jx_write")
                    connection.execute("RELEASE jx_write")
                    outcomes.append((False, exc))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _run(connection: sqlite3.Connection, statement: Statement) -> list[dict[str, Any]]:
        cursor = connection.execute(statement[0], statement[1])
        try:
            names = [column[0] for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    async def write(self, first: Statement, then: Statement | None) -> list[dict[str, Any]]:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((first, then, future))
        if not self.draining:
            self.draining = True
            # Kept, so the loop's weak reference is not the task's only one.
            self.drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    outcomes = await loop.run_in_executor(
                        self.writer, self.commit_batch, [(f, t) for f, t, _ in batch]
                    )
                except BaseException as exc:  # the transaction itself failed: all of it
                    outcomes = [(False, exc)] * len(batch)
                for (_first, _then, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller gave up waiting
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.draining = False


_sqlite: dict[str, _Connections] = {}


def _connections() -> _Connections:
    engine = db.engine()
    path = engine.path
    connections = _sqlite.get(path)
    if connections is None:
        connections = _sqlite[path] = _Connections(engine.connection_kwargs)
    return connections


# ---------------------------------------------------------------------------- both databases


def _direct() -> bool:
    """Through `db.fetch_dicts`: on PostgreSQL (one autocommitted statement, or the caller's
    transaction), and on SQLite inside a caller's transaction (whose connection holds what it
    wrote and the write lock)."""
    return db.is_postgres() or db.in_transaction()


async def read(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one read-only statement; on SQLite it never waits for the write lock."""
    return await db.fetch_dicts(sql, *args)


async def write_statement(sql: str, *args: Any) -> list[dict[str, Any]]:
    """One statement that is a write transaction of its own; the rows of its RETURNING clause.
    On PostgreSQL a data-modifying WITH changes two tables in one such statement."""
    if _direct():
        return await db.fetch_dicts(sql, *args)
    return await _connections().write((sql, args), None)


async def insert_then(first: Statement, then: Statement) -> bool:
    """Run `first`, an INSERT … ON CONFLICT DO NOTHING RETURNING; if it stored its row, run
    `then` in the same transaction. True if the row was stored."""
    if _direct():
        async with db.transaction():
            stored = await db.fetch_dicts(first[0], *first[1])
            if stored:
                await db.fetch_dicts(then[0], *then[1])
        return bool(stored)
    return bool(await _connections().write(first, then))
