"""Check-in (检录) at speed: 16 desks scanning at once against the real server, 200,000 entries.

    .venv/bin/python bench/checkin.py [--postgres URL] [--workers 2] [--desks 16]
                                      [--seconds 8] [--rounds 2] [--entries 200000]

For each database (a temporary SQLite file; with --postgres a temporary database on that
server, dropped afterwards) the script

1. builds the data in a child process: migrations, the demo structure, 200,000 approved
   entries (persons, entries, a photo for one in ten) inserted in bulk (COPY / executemany),
   the competition moved to "draw", and the tickets of the first scans signed in advance;
2. measures the scan service in-process (registration.checkin.redeem_ticket, no HTTP) from
   16 concurrent lanes, next to one committed INSERT through the same write path;
3. starts the real server, `jiangxin serve --workers N` on 127.0.0.1, and the ceiling, a bare
   Litestar endpoint doing one committed INSERT (bench/checkin_ceiling.py) served by the same
   serving code with the same number of workers;
4. drives both from this process with the same client: 16 desks, each an httpx.AsyncClient
   with one kept-alive connection, signed in as the organizer (its own session cookie and
   CSRF token), scanning back to back with a door's mix: 70 % first scans (fresh ticket,
   fresh nonce), 20 % repeats (a ticket already checked in, fresh nonce: "already"), 10 %
   retries (the desk's last request again, same nonce: the first answer). Every answer is
   checked. Rounds alternate ceiling and check-in so that load from elsewhere hits both;
5. measures the request floor too: GET /api/me signed in, the cost every request of the app
   pays before its handler runs (the session lookup), with the same client.

Printed: scans/s, median, p99 and max, next to the ceiling and the ratio. Everything listens on
loopback only and every phase is bounded in time. Goal (issue 11, point 13): on PostgreSQL
with 2 workers a median ≤ 20 ms, a p99 ≤ 50 ms and at least a third of the ceiling's
throughput; on SQLite no scan waiting more than 200 ms.

Each database is built and measured in child processes because Piccolo binds its tables to
the engine named by DATABASE_URL when they are imported; this parent only drives HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

DESK_USER = "organizer"  # the demo organizer (competition/demo/users.csv)
RETRY_SHARE, REPEAT_SHARE = 0.10, 0.20  # the rest are first scans
HTTP_TOKENS = 60_000  # signed in advance for the HTTP rounds; a round stops when they run out
SERVICE_TOKENS = 8_000
START_TIMEOUT_S = 60
# `jiangxin serve`, and the ceiling served by the same code (bench/checkin_ceiling.py).
SERVE = [sys.executable, "-m", "competition.cli", "serve"]
CEILING = [sys.executable, "-m", "bench.checkin_ceiling"]
GOAL = "PostgreSQL, 2 workers: median ≤ 20 ms, p99 ≤ 50 ms, ≥ 1/3 of the ceiling's scans/s"


# ---------------------------------------------------------------- figures


@dataclass
class Samples:
    label: str
    ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds the driving client spent (HTTP rounds)
    errors: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, ms: float) -> None:
        self.ms.append(ms)
        self.by_kind.setdefault(kind, []).append(ms)

    def merge(self, other: Samples) -> None:
        self.ms += other.ms
        self.seconds += other.seconds
        self.client_cpu += other.client_cpu
        self.errors += other.errors
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, []).extend(values)

    @property
    def rate(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def _line(label: str, values: list[float], rate: float | None = None) -> str:
    if not values:
        return f"  {label:<40} (no samples)"
    ordered = sorted(values)
    per_second = f"{rate:9,.0f}/s" if rate is not None else " " * 11
    return (
        f"  {label:<40}{per_second}  median {statistics.median(ordered):7.2f} ms"
        f"  p99 {_percentile(ordered, 0.99):7.2f} ms  max {ordered[-1]:8.2f} ms"
        f"  n={len(ordered):,}"
    )


def _print(samples: Samples, *, kinds: bool = False) -> None:
    print(_line(samples.label, samples.ms, samples.rate), flush=True)
    if samples.client_cpu and samples.ms:
        share = samples.client_cpu / samples.seconds
        print(
            f"  {'':<40}client: {samples.client_cpu / len(samples.ms) * 1000:.2f} ms CPU a "
            f"request, {share:.0%} of a core",
            flush=True,
        )
    if kinds:
        for kind in ("first", "repeat", "retry"):
            print(_line(f"  {kind}", samples.by_kind.get(kind, [])), flush=True)
    if samples.errors:
        print(f"  {'':<40}!! {samples.errors} answers were not the expected ones", flush=True)


# ---------------------------------------------------------------- child: build the data


def _entry_rows(entries: int, cid: int, trades, delegations, practical, now):
    from PIL import Image

    from registration import idcard

    buffer = io.BytesIO()
    Image.new("RGB", (60, 80), (120, 90, 60)).save(buffer, format="JPEG")
    photo = buffer.getvalue()
    photo_hash = hashlib.sha256(photo).hexdigest()
    first_birth = dt.date(1970, 1, 1)
    people, rows, photos, seats = [], [], [], []
    counters: dict[int, int] = {}
    for i in range(entries):
        person_id = entry_id = i + 1
        birth = first_birth + dt.timedelta(days=i // 900)
        male = bool(i % 2)
        sequence = (i % 900) + 100
        # The 17th digit carries the gender: odd male, even female.
        sequence = sequence - sequence % 2 + (1 if male else 0)
        people.append(
            (
                person_id,
                idcard.compose("630102", birth, sequence),
                f"选手{i:06d}",
                "male" if male else "female",
                birth,
                "13900000000",
                "青海某公司",
                "技术工人",
                4,
                5,
                now,
                now,
            )
        )
        trade = trades[i % len(trades)]
        counters[trade["id"]] = counters.get(trade["id"], 0) + 1
        number = f"BENCH-{trade['code']}-{counters[trade['id']]:06d}"
        own = practical[trade["id"]]
        session = own[counters[trade["id"]] % len(own)] if own else None
        rows.append(
            (
                entry_id,
                cid,
                trade["id"],
                person_id,
                delegations[i % len(delegations)]["id"],
                "",
                1,
                "approved",
                "import",
                "",
                "",
                session,
                number,
                1,
                now,
                now,
                now,
                now,
            )
        )
        if session is not None:
            seats.append((entry_id, number, session))
        if i % 10 == 0:
            photos.append((person_id, photo, "image/jpeg", photo_hash, 60, 80, now))
    return people, rows, photos, seats


PERSON_COLUMNS = [
    "id",
    "id_number",
    "name",
    "gender",
    "birth_date",
    "phone",
    "employer",
    "job",
    "skill_level",
    "years_of_service",
    "created_at",
    "updated_at",
]
ENTRY_COLUMNS = [
    "id",
    "competition",
    "trade",
    "person",
    "delegation",
    "group_name",
    "slot",
    "status",
    "source",
    "review_note",
    "rejected_by",
    "session",
    "ticket_number",
    "ticket_version",
    "submitted_at",
    "reviewed_at",
    "created_at",
    "updated_at",
]
PHOTO_COLUMNS = ["person", "content", "mime", "sha256", "width", "height", "uploaded_at"]


async def _build(entries: int, out: Path, seed: int) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db, services
    from competition.audit import SYSTEM
    from competition.demo.loader import DEMO_PASSWORD, load_demo
    from competition.tables import CompetitionSession, Delegation, EventKind, Trade
    from registration import tokens

    await db.start_pool()
    try:
        result = await run_forwards("jiangxin")
        assert result.success, result.message
        await db.prepare_database()
        started = time.perf_counter()
        demo = await load_demo()
        cid = demo.competition_id
        trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid)
        delegations = await Delegation.select(Delegation.id).where(Delegation.competition == cid)
        practical: dict[int, list[int]] = {t["id"]: [] for t in trades}
        for s in await CompetitionSession.select(
            CompetitionSession.id, CompetitionSession.trade
        ).where(
            (CompetitionSession.trade.competition == cid)
            & (CompetitionSession.event == EventKind.practical)
        ):
            practical[s["trade"]].append(s["id"])
        print(f"  demo structure loaded in {time.perf_counter() - started:.1f} s", flush=True)

        now = dt.datetime.now(dt.UTC)
        people, rows, photos, seats = _entry_rows(entries, cid, trades, delegations, practical, now)
        started = time.perf_counter()
        async with db.transaction():
            await db.copy_records("person", PERSON_COLUMNS, people)
            await db.copy_records("entry", ENTRY_COLUMNS, rows)
            await db.copy_records("photo", PHOTO_COLUMNS, photos)
            if db.is_postgres():
                # Explicit ids leave the sequences behind; later inserts must not collide.
                connection = db.engine().current_transaction.get().connection
                for table in ("person", "entry"):
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                        f'(SELECT max(id) FROM "{table}"))'
                    )
        elapsed = time.perf_counter() - started
        print(
            f"  {entries:,} persons + approved entries ({len(photos):,} photos) inserted in "
            f"{elapsed:.1f} s",
            flush=True,
        )
        if db.is_postgres():
            await db.engine()._run_in_new_connection("ANALYZE")
            await db.engine()._run_in_new_connection(
                "CREATE TABLE bench_ceiling (id serial PRIMARY KEY, nonce varchar(64) UNIQUE, "
                "at timestamptz)"
            )
        else:
            await db.engine().run_ddl("ANALYZE")
            await db.engine().run_ddl(
                "CREATE TABLE bench_ceiling (id integer PRIMARY KEY, nonce varchar(64) UNIQUE, "
                "at timestamptz)"
            )
        await services.advance_phase(cid, "review", SYSTEM)
        await services.advance_phase(cid, "draw", SYSTEM)

        rng = random.Random(seed)
        chosen = rng.sample(seats, min(len(seats), HTTP_TOKENS + SERVICE_TOKENS))
        started = time.perf_counter()
        tickets = [
            (entry_id, session, tokens.sign(tokens.TicketClaim(cid, entry_id, 1, number)))
            for entry_id, number, session in chosen
        ]
        print(
            f"  {len(tickets):,} tickets signed in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        out.write_text(
            json.dumps({"competition_id": cid, "password": DEMO_PASSWORD, "tickets": tickets})
        )
    finally:
        await db.close_pool()


# ---------------------------------------------------------------- the scan mix


class Tickets:
    """Tickets not yet scanned, and those checked in (for repeats), shared by the desks."""

    def __init__(self, tickets: list[list]) -> None:
        self.fresh = [tuple(t) for t in reversed(tickets)]
        self.done: list[tuple] = []

    def next(self) -> tuple | None:
        return self.fresh.pop() if self.fresh else None


def _choose(rng: random.Random, tickets: Tickets, last: dict | None):
    """(kind, request body, expected outcome) of a desk's next scan, or None: no tickets."""
    draw = rng.random()
    if last is not None and draw < RETRY_SHARE:
        return "retry", last, "checked_in"
    if tickets.done and draw < RETRY_SHARE + REPEAT_SHARE:
        _entry, session, token = rng.choice(tickets.done)
        return (
            "repeat",
            {"session_id": session, "token": token, "nonce": uuid.uuid4().hex},
            ("already"),
        )
    ticket = tickets.next()
    if ticket is None:
        return None
    _entry, session, token = ticket
    return (
        "first",
        {"session_id": session, "token": token, "nonce": uuid.uuid4().hex},
        ("checked_in"),
    )


# ---------------------------------------------------------------- child: the service alone


async def _service(data: Path, desks: int, seconds: float, seed: int) -> None:
    from competition import db
    from competition.audit import Actor
    from registration import checkin, checkin_store

    await db.start_pool()
    try:
        built = json.loads(data.read_text())
        tickets = Tickets(built["tickets"][HTTP_TOKENS:])
        actor = Actor(user_id=None, name="bench")
        rng = random.Random(seed)

        async def scanner(samples: Samples, stop_at: float) -> None:
            last = None
            while time.perf_counter() < stop_at:
                choice = _choose(rng, tickets, last)
                if choice is None:
                    return
                kind, body, expected = choice
                started = time.perf_counter()
                result = await checkin.redeem_ticket(
                    body["token"], body["session_id"], body["nonce"], actor=actor
                )
                samples.add(kind, (time.perf_counter() - started) * 1000)
                if result.outcome != expected:
                    samples.errors += 1
                elif kind == "first":
                    tickets.done.append((None, body["session_id"], body["token"]))
                    last = body

        async def inserter(samples: Samples, stop_at: float) -> None:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await checkin_store.write_statement(
                    "INSERT INTO bench_ceiling (nonce, at) VALUES (?, ?) RETURNING id",
                    uuid.uuid4().hex,
                    dt.datetime.now(dt.UTC),
                )
                samples.add("insert", (time.perf_counter() - started) * 1000)

        async def run(worker, label: str, length: float) -> Samples:
            samples = Samples(label)
            started = time.perf_counter()
            stop_at = started + length
            await asyncio.gather(*(worker(samples, stop_at) for _ in range(desks)))
            samples.seconds = time.perf_counter() - started
            return samples

        await run(scanner, "warm-up", 1.0)
        await run(inserter, "warm-up", 0.5)
        service = await run(scanner, f"scan service, {desks} concurrent", seconds)
        ceiling = await run(inserter, f"ceiling: committed INSERT, {desks} conc.", seconds / 2)
        _print(service, kinds=True)
        _print(ceiling)
        print(f"  {'ratio (scans/s ÷ inserts/s)':<40}{service.rate / ceiling.rate:9.2f}")
    finally:
        await db.close_pool()


# ---------------------------------------------------------------- parent: servers and HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """A server in a process group of its own; its access log (stdout) is dropped, its other
    messages go to `log`."""
    with log.open("wb") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own server with fixed arguments
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited:\n{log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    _stop(process)
    raise RuntimeError(f"{command[:4]} did not listen on {port} in {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen) -> None:
    """Stop a server we started (its own process group: uvicorn's workers with it)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class _Answer:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeptAliveClient:
    """The least an HTTP/1.1 client with one kept-alive connection can do: each request one
    write, each answer read by its Content-Length. httpx spends ~1.3 ms of CPU a request, which
    on two shared cores would measure the client; `--client httpx` drives with it instead."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        parsed = urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _send(self, method: str, path: str, body: bytes = b"") -> _Answer:
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{self.headers}"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        for _attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(head.encode("latin-1") + body)
            status_line = await self.reader.readline()
            if status_line:
                break
            # The server closed a connection that sat idle past its keep-alive timeout before
            # reading this request: open another and send it again.
            self.writer.close()
            self.writer = None
        length = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"{method} {path}: an answer without Content-Length")
        return _Answer(int(status_line.split()[1]), await self.reader.readexactly(length))

    async def post(self, path: str, json: Any) -> _Answer:
        return await self._send("POST", path, _dumps(json))

    async def get(self, path: str) -> _Answer:
        return await self._send("GET", path)

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _client(base: str, kind: str, headers: dict[str, str] | None = None):
    if kind == "lean":
        return KeptAliveClient(base, headers)
    import httpx

    return httpx.AsyncClient(
        base_url=base,
        headers=headers,
        timeout=30,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


async def _desk_clients(base: str, desks: int, password: str, kind: str) -> list:
    """One signed-in client a desk: its own session cookie and CSRF token."""
    import httpx

    clients = []
    for _ in range(desks):
        # The app refuses a state-changing request that does not come from its own origin.
        origin = {"origin": base.rstrip("/")}
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=origin) as browser:
            await browser.get("/login")
            signed = await browser.post(
                "/login",
                data={
                    "username": DESK_USER,
                    "password": password,
                    "_csrf_token": browser.cookies["csrftoken"],
                },
            )
            assert signed.status_code == 303, signed.text[:300]
            cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
            headers = {
                "cookie": cookies,
                "x-csrftoken": browser.cookies["csrftoken"],
                **origin,
            }
        clients.append(_client(base, kind, headers))
    return clients


async def _drive(
    base: str, ceiling: str, tickets: Tickets, password: str, args: argparse.Namespace
) -> tuple[Samples, Samples, Samples]:
    desks = await _desk_clients(base, args.desks, password, args.client)
    plain = [_client(ceiling, args.client) for _ in range(args.desks)]
    rng = random.Random(args.seed)

    async def scan_desk(client, samples: Samples, stop_at: float) -> None:
        last = None
        while time.perf_counter() < stop_at:
            choice = _choose(rng, tickets, last)
            if choice is None:
                return
            kind, body, expected = choice
            started = time.perf_counter()
            response = await client.post("/api/checkin", json=body)
            samples.add(kind, (time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json()["outcome"] != expected:
                samples.errors += 1
            elif kind == "first":
                tickets.done.append((None, body["session_id"], body["token"]))
                last = body

    async def insert_desk(client, samples: Samples, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.post("/insert", json={"nonce": uuid.uuid4().hex})
            samples.add("insert", (time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                samples.errors += 1

    async def me_desk(client, samples: Samples, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.get("/api/me")
            samples.add("me", (time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                samples.errors += 1

    async def run(worker, clients, label: str, length: float) -> Samples:
        samples = Samples(label)
        started, cpu = time.perf_counter(), time.process_time()
        stop_at = started + length
        await asyncio.gather(*(worker(c, samples, stop_at) for c in clients))
        samples.seconds = time.perf_counter() - started
        samples.client_cpu = time.process_time() - cpu
        return samples

    try:
        probe = await plain[0].post("/insert", json={"nonce": uuid.uuid4().hex})
        if probe.status_code != 200:
            raise RuntimeError(
                "The ceiling server does not answer POST /insert: `jiangxin serve` no longer "
                "serves through uvicorn.run; update bench/checkin_ceiling.py to match."
            )
        await run(insert_desk, plain, "warm-up", 1.0)
        await run(scan_desk, desks, "warm-up", 1.0)
        scans = Samples(f"check-in over HTTP, {args.desks} desks")
        inserts = Samples(f"ceiling: bare Litestar INSERT, {args.desks}")
        for _ in range(args.rounds):
            inserts.merge(await run(insert_desk, plain, "", args.seconds))
            scans.merge(await run(scan_desk, desks, "", args.seconds))
        floor = await run(me_desk, desks, "request floor: GET /api/me signed in", args.seconds)
        return scans, inserts, floor
    finally:
        for client in desks + plain:
            await client.aclose()


def _measure_database(label: str, url: str, args: argparse.Namespace) -> bool:
    print(f"\n{label}: {args.entries:,} entries, {args.workers} workers, {args.desks} desks")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JIANGXIN_SECRET": args.secret,
        "JIANGXIN_COOKIE_SECURE": "0",
        "PYTHONPATH": str(REPO_ROOT),
    }
    with tempfile.TemporaryDirectory(prefix="jx-checkin-data-") as tmp:
        return _measure_in(Path(tmp), env, args)


def _measure_in(tmp: Path, env: dict[str, str], args: argparse.Namespace) -> bool:
    data = tmp / "tickets.json"
    child = [sys.executable, __file__, "--seed", str(args.seed)]
    build = [*child, "--build", str(data), "--entries", str(args.entries)]
    if subprocess.run(build, env=env, check=False).returncode:  # noqa: S603 - this script
        return False
    service = [*child, "--service", str(data), "--desks", str(args.desks)]
    service += ["--seconds", str(args.seconds)]
    if subprocess.run(service, env=env, check=False).returncode:  # noqa: S603 - this script
        return False
    built = json.loads(data.read_text())
    tickets = Tickets(built["tickets"][:HTTP_TOKENS])

    app_port, ceiling_port = _free_port(), _free_port()
    workers = str(args.workers)
    app = _start(
        [*SERVE, "--host", "127.0.0.1", "--port", str(app_port), "--workers", workers],
        env,
        app_port,
        tmp / "app.log",
    )
    try:
        ceiling = _start(
            [*CEILING, "127.0.0.1", str(ceiling_port), workers],
            env,
            ceiling_port,
            tmp / "ceiling.log",
        )
        try:
            scans, inserts, floor = asyncio.run(
                _drive(
                    f"http://127.0.0.1:{app_port}",
                    f"http://127.0.0.1:{ceiling_port}",
                    tickets,
                    built["password"],
                    args,
                )
            )
        finally:
            _stop(ceiling)
    finally:
        _stop(app)
    _print(scans, kinds=True)
    _print(inserts)
    print(f"  {'ratio (scans/s ÷ ceiling)':<40}{scans.rate / inserts.rate:9.2f}")
    _print(floor)
    return scans.errors == 0 and inserts.errors == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--desks", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="the HTTP client of the desks (default: a minimal kept-alive HTTP/1.1 client)",
    )
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--service", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        asyncio.run(_build(args.entries, Path(args.build), args.seed))
        return 0
    if args.service:
        asyncio.run(_service(Path(args.service), args.desks, args.seconds, args.seed))
        return 0
    if args.entries < HTTP_TOKENS + SERVICE_TOKENS:
        parser.error(f"use at least {HTTP_TOKENS + SERVICE_TOKENS:,} entries")
    args.secret = secrets.token_urlsafe(48)
    started = time.perf_counter()
    print(f"Check-in bench, load average {os.getloadavg()[0]:.1f}. Goal: {GOAL}", flush=True)
    ok = True
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="jx-checkin-bench-") as tmp:
            ok &= _measure_database("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args)
    if args.postgres:
        name = f"jx_checkin_bench_{os.getpid()}"
        parsed = urlparse(args.postgres)
        target = urlunparse(parsed._replace(path=f"/{name}"))
        asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
        try:
            ok &= _measure_database(
                f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432})", target, args
            )
        finally:
            asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
    print(
        f"\ndone in {time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
