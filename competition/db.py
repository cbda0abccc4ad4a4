"""The database engine and the few helpers every package uses to talk to it.

Piccolo binds each table to the engine in `piccolo_conf.DB` when the table class is
created, so DATABASE_URL must be set before any `tables` module is imported.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import aiosqlite
import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from competition.config import Settings, get_settings

# SQLite's default limit is 32,766 variables a statement on modern builds but 999 on old
# ones; chunks stay under the old limit so the same code runs everywhere.
SQLITE_MAX_VARIABLES = 999


def postgres_config(settings: Settings) -> dict[str, Any]:
    """asyncpg's connection options. Behind PgBouncer in transaction pooling no statement stays
    prepared (config.py)."""
    extra = {"statement_cache_size": 0} if settings.pgbouncer else {}
    return {"dsn": settings.database.postgres_dsn, **extra}


def build_engine() -> Engine:
    settings = get_settings()
    target = settings.database
    if target.engine == "postgres":
        return PostgresEngine(config=postgres_config(settings))
    # A generous busy timeout: several uvicorn workers may write the same file.
    return SQLiteEngine(path=target.sqlite_path, timeout=settings.sqlite_busy_seconds)


_engine: Engine | None = None


def engine() -> Engine:
    """The engine the tables are bound to: `piccolo_conf.DB`, found the way Piccolo finds it
    (`engine_finder`, so this module does not import the conf file that imports it)."""
    global _engine
    if _engine is None:
        found = engine_finder()
        if found is None:
            raise RuntimeError("piccolo_conf.py defines no DB")
        _engine = found
    return _engine


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


@asynccontextmanager
async def transaction():
    """One write transaction. On SQLite it takes the write lock up front (IMMEDIATE), so two
    writers queue instead of one failing with 'database is locked' halfway through."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        async with db.transaction(transaction_type=TransactionType.immediate) as tx:
            yield tx
    else:
        async with db.transaction() as tx:
            yield tx


# The reads every request runs (the session lookup, a check-in scan) skip what Piccolo adds around
# a query (`fetch_rows`, `fetch_dicts`). On SQLite Piccolo opens a new connection (and a thread
# to run it) per query, about a millisecond: one long-lived read-only connection of this
# process serves them instead (autocommit, so each read sees the latest commit; WAL readers never
# wait for a writer). On PostgreSQL they run on Piccolo's own pool.
_sqlite_reader: aiosqlite.Connection | None = None
POOL_SIZE = (2, 20)


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset of a connection given back to the pool is a second round trip
    for every query (unlisten, close cursors, reset settings, unlock advisory locks); this code
    listens to nothing, keeps no cursors, sets nothing but `SET LOCAL` and takes only
    transaction-scoped advisory locks. An open transaction is still rolled back by the pool
    before this hook runs."""


async def start_pool() -> None:
    global _sqlite_reader
    db = engine()
    if isinstance(db, PostgresEngine):
        if db.pool is None:
            await db.start_connection_pool(
                min_size=POOL_SIZE[0], max_size=POOL_SIZE[1], reset=_nothing_to_reset
            )
    elif isinstance(db, SQLiteEngine) and _sqlite_reader is None:
        _sqlite_reader = await aiosqlite.connect(**db.connection_kwargs)
        _sqlite_reader.row_factory = sqlite3.Row
        await _sqlite_reader.execute_fetchall("PRAGMA query_only = 1", ())


async def close_pool() -> None:
    global _sqlite_reader
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        await db.close_connection_pool()
    if _sqlite_reader is not None:
        reader, _sqlite_reader = _sqlite_reader, None
        await reader.close()


def in_transaction() -> bool:
    return engine().current_transaction.get() is not None


async def _fetch(sql: str, args: tuple[Any, ...]) -> tuple[list[str], list[tuple]]:
    db = engine()
    tx = db.current_transaction.get()
    if isinstance(db, PostgresEngine):
        statement = _dollar_params_of(sql)
        if tx is not None:
            records = await tx.connection.fetch(statement, *args)
        elif db.pool is None:
            records = await db._run_in_new_connection(statement, args)
        else:
            async with db.pool.acquire() as connection:
                records = await connection.fetch(statement, *args)
        names = list(records[0].keys()) if records else []
        return names, [tuple(r) for r in records]
    # One call each (execute and fetch together in the connection's thread): a cursor left open
    # between awaits would keep a read transaction open on the shared reader connection, and
    # every later read would see that old snapshot.
    if tx is not None:
        # The transaction's own connection: it sees what the transaction wrote. Its rows as
        # plain tuples, in the connection's own thread, instead of the dicts of Piccolo's row
        # factory made and unmade again (a draw's presence reads of 200,000 rows: 1.8 → 1.5 s).
        # aiosqlite has no public call for a function in the connection's thread: `_execute`.
        connection = tx.connection
        return await connection._execute(_tuples_of, connection._conn, sql, args)
    elif _sqlite_reader is not None:
        # Tuples too: the ranking reads 200,000 totals and 200,000 entries this way.
        return await _sqlite_reader._execute(_tuples_of, _sqlite_reader._conn, sql, args)
    else:
        async with aiosqlite.connect(**db.connection_kwargs) as connection:
            connection.row_factory = sqlite3.Row
            rows = await connection.execute_fetchall(sql, args)
    if not rows:
        return [], []
    # Rows come as dicts (Piccolo's row factory on a transaction's connection) or sqlite3.Row.
    names = list(rows[0].keys())
    return names, [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


def _tuples_of(connection: sqlite3.Connection, sql: str, args: tuple) -> tuple[list[str], list]:
    cursor = connection.cursor()
    cursor.row_factory = None
    try:
        rows = cursor.execute(sql, args).fetchall()
        names = [d[0] for d in cursor.description] if rows else []
    finally:
        cursor.close()
    return names, rows


async def fetch_rows(sql: str, *args: Any) -> list[tuple]:
    """One parameterised statement's rows as tuples, for the few queries hot paths run (the
    session lookup, a check-in scan). `sql` uses `?` placeholders, rewritten to `$n` for
    PostgreSQL. Inside `transaction()` it runs on the transaction's connection (and may write);
    outside, it is a read (on SQLite the connection is read-only) or, on PostgreSQL, one
    autocommitted statement. Without a started pool (a one-off command) it opens a connection."""
    return (await _fetch(sql, args))[1]


async def fetch_dicts(sql: str, *args: Any) -> list[dict[str, Any]]:
    """`fetch_rows` with each row as a dict of its column names."""
    names, rows = await _fetch(sql, args)
    return [dict(zip(names, row, strict=True)) for row in rows]


async def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one parameterised statement for many rows on the current transaction's connection.

    Written by hand because Piccolo's `insert()` of 200k rows takes ~8 s while executemany on
    the transaction's own connection takes ~0.4 s on SQLite. `sql` uses `?` placeholders;
    they are rewritten to `$n` for PostgreSQL.
    """
    if not rows:
        return
    db = engine()
    tx = db.current_transaction.get()
    if tx is None:
        raise RuntimeError("execute_many must run inside db.transaction()")
    if isinstance(db, PostgresEngine):
        await tx.connection.executemany(_to_dollar_params(sql), rows)
    else:
        await tx.connection.executemany(sql, rows)


def json_value(value: Any, empty: Any = None) -> Any:
    """A JSON column as a raw statement reads it — text on SQLite, already decoded by asyncpg
    on PostgreSQL — decoded; `empty` for NULL or an empty text."""
    if isinstance(value, str):
        value = json.loads(value) if value else None
    return empty if value is None else value


def among_ids(column: str) -> str:
    """The condition "`column` is one of the ids given as ONE parameter" (`ids_param`), however
    many there are: `IN (SELECT value FROM json_each(?))` on SQLite, `= ANY(?::bigint[])` on
    PostgreSQL. One statement text per engine, unlike an IN list written out (and Piccolo's
    `is_in` of 100,000 ids took ~0.4 s to build)."""
    if is_postgres():
        return f"{column} = ANY(?::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(?))"  # noqa: S608 - a column from code


def ids_param(ids: Sequence[int]) -> Any:
    """The parameter `among_ids` matches: a JSON array on SQLite, a list on PostgreSQL."""
    values = [int(i) for i in ids]
    return values if is_postgres() else json.dumps(values)


def timestamp_param(value: dt.datetime) -> Any:
    """A timestamp as a bulk insert (`copy_records`, `execute_many`) passes it: a datetime to
    asyncpg, the UTC text Piccolo stores to SQLite."""
    return value if is_postgres() else str(value.astimezone(dt.UTC))


async def new_ids(table: str, n: int) -> list[int]:
    """Ids for n new rows of `table`, taken before a bulk insert writes them with their ids
    (inside `transaction()`: on SQLite it holds the write lock — BEGIN IMMEDIATE — so nobody
    else inserts until it ends; PostgreSQL hands out the sequence's next values)."""
    if n == 0:
        return []
    if is_postgres():
        rows = await fetch_rows(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608 - fixed names
            "FROM generate_series(1, ?)",
            n,
        )
        return [r[0] for r in rows]
    rows = await fetch_rows(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
    floor = rows[0][0]
    return list(range(floor + 1, floor + n + 1))


async def copy_records(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Insert many rows into `table` on the current transaction's connection: COPY on
    PostgreSQL (`copy_records_to_table`), chunked executemany on SQLite. Columns left out get
    their database defaults. Values must already have the column's Python type (dates as
    dates, JSON as text)."""
    if not rows:
        return
    db = engine()
    tx = db.current_transaction.get()
    if tx is None:
        raise RuntimeError("copy_records must run inside db.transaction()")
    if isinstance(db, PostgresEngine):
        await tx.connection.copy_records_to_table(table, columns=columns, records=rows)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    # Table and column names come from code, never from input.
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
    # Each row is its own statement (far under SQLite's variable limit); the chunks only
    # bound what one call holds.
    chunk = 20_000
    for start in range(0, len(rows), chunk):
        await tx.connection.executemany(sql, rows[start : start + chunk])


@lru_cache(maxsize=1024)
def _dollar_params_of(sql: str) -> str:
    """`_to_dollar_params` of a statement written in code, rewritten once (~0.1 ms each).
    Bounded: a statement with integer ids written into its text is a new string each time."""
    return _to_dollar_params(sql)


def _to_dollar_params(sql: str) -> str:
    out, n = [], 0
    for ch in sql:
        if ch == "?":
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)


async def prepare_database() -> None:
    """Settings that live in the database file itself. WAL lets readers (pages) go on while a
    writer (an import) holds the lock; it persists in the SQLite file once set."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db.run_ddl("PRAGMA journal_mode=WAL")


def is_integrity_error(exc: BaseException) -> bool:
    """A unique, foreign-key or check violation, from either driver."""
    import sqlite3

    import asyncpg

    return isinstance(exc, sqlite3.IntegrityError | asyncpg.IntegrityConstraintViolationError)
