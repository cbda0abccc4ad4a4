"""`jiangxin backup FILE` and `jiangxin restore FILE`: a copy of the whole database, taken while
the app runs, and put back into a new, empty database.

- SQLite: sqlite3's online backup API (`Connection.backup`), in one step: it reads every page
  inside one read transaction, so the copy is the database as of one moment, whatever the
  servers write meanwhile (WAL readers do not wait for writers, nor writers for them). The copy
  is a plain SQLite file (rollback journal, no -wal beside it); restoring copies it back with
  the same API and switches the database to WAL again.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, also while the servers run)
  and `pg_restore --single-transaction --exit-on-error --no-owner --no-privileges`: all of the
  backup or nothing, owned by whoever DATABASE_URL connects as.

A restore only goes into an empty database (a new SQLite path, or a database made with
`createdb`): it never overwrites what is there, so a mistyped DATABASE_URL cannot replace a live
competition with yesterday's copy. The password of DATABASE_URL reaches pg_dump and pg_restore
through their environment (PGPASSWORD), never their command line, which other users may read.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from competition.config import DatabaseTarget

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# pg_dump of a competition takes seconds to minutes; hours mean something is wrong.
PG_TIMEOUT_S = 6 * 3600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, without a password."""


@dataclass(frozen=True)
class Done:
    path: Path
    size: int
    tables: int


def describe(target: DatabaseTarget) -> str:
    """The database as people name it, without its password: a file path or host:port/name."""
    if target.engine == "sqlite":
        return str(target.sqlite_path)
    parts = urlsplit(target.postgres_dsn or "")
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}/{target.postgres_database}"


def _kind(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgres"
    raise BackupError(f"{path} is not a backup made by `jiangxin backup`.")


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _sqlite_tables(connection: sqlite3.Connection) -> int:
    rows = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()
    return int(rows[0])


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"There is no SQLite database at {path}.")
    # Read-only, and never created: a wrong path is an error, not a new empty database.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


# ---------------------------------------------------------------------------------- SQLite


def _sqlite_backup(source: Path, dest: Path) -> int:
    partial = _partial(dest)
    partial.unlink(missing_ok=True)
    src = _open_read_only(source)
    try:
        out = sqlite3.connect(partial)
        try:
            src.backup(out)  # all pages in one step: one consistent snapshot
            tables = _sqlite_tables(out)
            # One self-contained file: no -wal beside it to forget when the copy is moved.
            out.execute("PRAGMA journal_mode=DELETE")
            if out.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("The copy of the database failed its integrity check.")
        finally:
            out.close()
    finally:
        src.close()
    os.replace(partial, dest)
    return tables


def _sqlite_restore(backup: Path, target: Path) -> int:
    src = _open_read_only(backup)
    try:
        if src.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{backup} is damaged (its integrity check failed).")
        if target.exists() and target.stat().st_size > 0:
            with sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True) as existing:
                if _sqlite_tables(existing):
                    raise BackupError(
                        f"The database {target} already holds tables: restore into a new path "
                        "(DATABASE_URL), or move that file away first."
                    )
        leftovers = [p for p in (Path(f"{target}-wal"), Path(f"{target}-shm")) if p.exists()]
        if leftovers:
            # Another database's write-ahead log would be replayed into the restored one.
            raise BackupError(
                f"{', '.join(map(str, leftovers))} belong to the database that was at {target}: "
                "move them away with it first."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        out = sqlite3.connect(target)
        try:
            src.backup(out)
            out.execute("PRAGMA journal_mode=WAL")  # as `jiangxin migrate` leaves a database
            return _sqlite_tables(out)
        finally:
            out.close()
    finally:
        src.close()


# ---------------------------------------------------------------------------------- PostgreSQL


def _libpq(dsn: str) -> tuple[str, dict[str, str]]:
    """The connection URL without its password, and the environment that gives it to libpq."""
    parts = urlsplit(dsn)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}@{netloc}")
    return urlunsplit(parts), env


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found: install PostgreSQL's client programs (the package "
            "postgresql-client), of the server's major version or newer."
        )
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, arguments from code
        command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        # pg_dump's and pg_restore's messages name the database, never the password.
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: " + " / ".join(message[-5:]))


async def _pg_tables(dsn: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=15)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        )
    finally:
        await connection.close()


def _pg_backup(dsn: str, dest: Path) -> int:
    url, env = _libpq(dsn)
    partial = _partial(dest)
    partial.unlink(missing_ok=True)
    command = [_program("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={url}"]
    _run(command, env, "pg_dump")
    os.replace(partial, dest)
    return asyncio.run(_pg_tables(dsn))


def _pg_restore(backup: Path, dsn: str, database: str) -> int:
    url, env = _libpq(dsn)
    program = _program("pg_restore")
    _run([program, "--list", str(backup)], env, f"Reading {backup}")
    if asyncio.run(_pg_tables(dsn)):
        raise BackupError(
            f"The database {database} already holds tables: restore into a new database "
            f"(createdb, then DATABASE_URL naming it), or drop and create {database} first."
        )
    command = [
        program,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={url}",
        str(backup),
    ]
    _run(command, env, "pg_restore")
    return asyncio.run(_pg_tables(dsn))


# ---------------------------------------------------------------------------------- the commands


def backup(target: DatabaseTarget, dest: Path) -> Done:
    """Copy the database `target` into the file `dest` (replaced if it exists, only once the
    copy is complete)."""
    dest = dest.resolve()
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory; name the backup file.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if target.engine == "sqlite":
            tables = _sqlite_backup(Path(target.sqlite_path or ""), dest)
        else:
            tables = _pg_backup(target.postgres_dsn or "", dest)
    finally:
        _partial(dest).unlink(missing_ok=True)
    return Done(path=dest, size=dest.stat().st_size, tables=tables)


def restore(source: Path, target: DatabaseTarget) -> Done:
    """Put the backup `source` into the empty database `target`."""
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    kind = _kind(source)
    if kind != target.engine:
        made, into = ("SQLite", "PostgreSQL") if kind == "sqlite" else ("PostgreSQL", "SQLite")
        raise BackupError(f"{source} is a backup of a {made} database; DATABASE_URL is {into}.")
    if target.engine == "sqlite":
        tables = _sqlite_restore(source, Path(target.sqlite_path or ""))
    else:
        tables = _pg_restore(source, target.postgres_dsn or "", target.postgres_database or "")
    return Done(path=source, size=source.stat().st_size, tables=tables)
