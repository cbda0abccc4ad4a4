"""What the fault tests (tests/test_faults.py) need around the product's own processes:

- `Server`: a real `jiangxin serve --no-job-worker` on the test database, killed with SIGKILL
  and started again on the same port (a tablet's queue sends to the address it was loaded from);
- `Relay`: a TCP relay in front of that server, the address a browser talks to; it can throw
  away what the server answers (the request reached the server, its answer never reaches the
  tablet);
- `start_worker`: a `jiangxin worker` process;
- `wait_until`: every wait bounded in time;
- `long_write_open`: seen from outside the process holding it, a write transaction that has
  stayed open for a while (SQLite: the write lock is taken; PostgreSQL: a backend of this
  database with a transaction id, open for that long), so a process is killed *inside* it;
- a fault pause: `jiangxin worker` imports this module when JIANGXIN_JOB_MODULES names it, and
  JIANGXIN_FAULT_PAUSES="certificates.printing=1.0" stretches the real certificates job's
  printing by that many seconds (before each trade's PDF is rendered), so that a kill lands
  in it. Nothing is patched without the variable: the test process imports this module too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from competition.config import REPO_ROOT, get_settings

START_TIMEOUT_S = 90  # a loaded 2-core machine takes several seconds to import the app
PAUSES_VARIABLE = "JIANGXIN_FAULT_PAUSES"
HERE = "tests.fault_support"


async def wait_until(
    probe: Callable[[], Awaitable[Any]], *, timeout: float, what: str, every: float = 0.05
) -> Any:
    """`probe()`'s first truthy answer, polled every `every` seconds for at most `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what} (last answer {found!r})")
        await asyncio.sleep(every)


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "JIANGXIN_COOKIE_SECURE": "0", **extra}


class Server:
    """`jiangxin serve --no-job-worker` (one process: killing it kills the whole server)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self) -> None:
        assert not self.alive
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
                [sys.executable, "-m", "competition.cli", "serve", "--no-job-worker",
                 "--port", str(self.port)],
                cwd=REPO_ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2) as probe:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"serve exited with {self.process.returncode}:\n{self.log_text()[-3000:]}"
                    )
                try:
                    if (await probe.get(f"{self.base}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet: ask again until the deadline
                assert time.monotonic() < deadline, f"serve did not answer:\n{self.log_text()}"
                await asyncio.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no rollback by the process itself, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class Relay:
    """127.0.0.1:<port> relayed to the server's port, byte for byte. While `drop_answers` is
    set, the server's bytes are thrown away: a request is answered, and its answer lost on the
    way. A server that is down or killed closes the relayed connections, as it would the
    browser's own."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_answers = False
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:  # the server is down
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, answers: bool):
            try:
                while data := await src.read(65536):
                    if answers and self.drop_answers:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass  # the server was killed or the tablet went away: this direction ends
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))


def start_worker(*, concurrency: int = 1, **env: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "competition.cli", "worker", "--concurrency", str(concurrency)],
        cwd=REPO_ROOT, env=_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def end(process: subprocess.Popen | None, *, kill: bool = False) -> None:
    """Stop a process this test started (SIGKILL when `kill`), and reap it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# ---------------------------------------------------------------------------- the database


def postgres() -> bool:
    return get_settings().database.engine == "postgres"


def _sqlite_write_locked() -> bool:
    """Another connection holds SQLite's write lock (a write transaction is open): taking it
    without waiting fails. Taken, it is given back at once."""
    path = get_settings().database.sqlite_path
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    else:
        connection.execute("ROLLBACK")
        return False
    finally:
        connection.close()


async def _postgres_writers(open_for: float) -> int:
    from competition import db

    rows = await db.fetch_rows(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL "
        "AND clock_timestamp() - xact_start > make_interval(secs => ?)",
        open_for,
    )
    return rows[0][0]


async def long_write_open(open_for: float = 0.2, *, timeout: float) -> None:
    """Wait until another process's write transaction has been open for `open_for` seconds."""
    if postgres():
        await wait_until(lambda: _postgres_writers(open_for), timeout=timeout,
                         what="a write transaction open in the database")  # fmt: skip
        return
    since: list[float] = []

    async def held() -> bool:
        if not _sqlite_write_locked():
            since.clear()
            return False
        if not since:
            since.append(time.monotonic())
        return time.monotonic() - since[0] >= open_for

    await wait_until(held, timeout=timeout, what="SQLite's write lock held", every=0.02)


async def no_write_open(*, timeout: float) -> None:
    """Wait until no write transaction is open any more: a PostgreSQL backend whose client was
    killed ends (and rolls back) once it notices; SQLite's lock went with the process."""
    if postgres():
        await wait_until(lambda: _zero(_postgres_writers(0)), timeout=timeout,
                         what="the killed process's transactions rolled back")  # fmt: skip
    else:
        await wait_until(lambda: _not(_sqlite_write_locked()), timeout=timeout,
                         what="SQLite's write lock released")  # fmt: skip


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def _not(value: bool) -> bool:
    return not value


# ---------------------------------------------------------------------------- fault pauses


def _pauses() -> dict[str, float]:
    out = {}
    for part in filter(None, os.environ.get(PAUSES_VARIABLE, "").split(",")):
        name, _, seconds = part.partition("=")
        out[name.strip()] = float(seconds)
    return out


def _install_pauses() -> None:
    pauses = _pauses()
    if not pauses:
        return
    from competition.results.certificates import pdf

    printing = pauses.get("certificates.printing")
    if printing:
        render = pdf.render

        def slow_render(*args: Any, **kwargs: Any) -> bytes:
            time.sleep(printing)
            return render(*args, **kwargs)

        pdf.render = slow_render


_install_pauses()
