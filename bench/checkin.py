"""Check-in (检录) at scale: how long one scan takes with 200,000 entries in the database.

    .venv/bin/python bench/checkin.py [--entries 200000] [--scans 2000] [--postgres URL]

Builds a temporary SQLite database (and, with --postgres, a temporary database on that server,
dropped afterwards), loads the demo structure, inserts the entries straight into the tables
with executemany (the review services would take minutes and are not what is measured here),
moves the competition to "draw" and sends scans through registration.checkin.redeem_ticket:

  first scans      every ticket once, a fresh nonce each: the write path (insert + audit)
  repeated scans   a quarter of them again: the "already checked in at 08:42" answer
  replays          the same nonce again: a retried request, answered from the first one
  10 scanners      the first-scan path from 10 concurrent desks (asyncio.gather)

and, in the same run, the ceiling under it: as many single-row SELECTs by primary key through
the same engine, tokens.verify alone, and as many one-row committed INSERTs (the durable write
every first scan needs). Target: median ≤ 20 ms a scan.

Each database runs in a child process of its own, because Piccolo binds its tables to the
engine named by DATABASE_URL when they are imported.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import io
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_MEDIAN_MS = 20.0
CONCURRENT_SCANNERS = 10


def _summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return (
        f"  {label:<34} n={len(ordered):>6}  median {statistics.median(ordered):7.2f} ms"
        f"  p95 {p95:7.2f} ms  max {ordered[-1]:7.2f} ms"
    )


# ---------------------------------------------------------------- the child: one database


async def _build(entries: int) -> dict:
    """The demo structure and `entries` approved entries with tickets and seats."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from PIL import Image

    from competition import db, services
    from competition.audit import SYSTEM
    from competition.demo.loader import load_demo
    from competition.tables import CompetitionSession, Delegation, EventKind, Trade
    from registration import idcard

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()

    started = time.perf_counter()
    demo = await load_demo()
    cid = demo.competition_id
    trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid)
    delegations = await Delegation.select(Delegation.id).where(Delegation.competition == cid)
    practical: dict[int, list[int]] = {t["id"]: [] for t in trades}
    for s in await CompetitionSession.select(CompetitionSession.id, CompetitionSession.trade).where(
        (CompetitionSession.trade.competition == cid)
        & (CompetitionSession.event == EventKind.practical)
    ):
        practical[s["trade"]].append(s["id"])
    print(f"  demo structure loaded in {time.perf_counter() - started:.1f} s", flush=True)

    buffer = io.BytesIO()
    Image.new("RGB", (60, 80), (120, 90, 60)).save(buffer, format="JPEG")
    photo = buffer.getvalue()
    photo_hash = hashlib.sha256(photo).hexdigest()

    now = dt.datetime.now(dt.UTC)
    first_birth = dt.date(1970, 1, 1)
    people, rows, photos, tickets = [], [], [], []
    counters: dict[int, int] = {}
    for i in range(entries):
        person_id = entry_id = i + 1
        birth = first_birth + dt.timedelta(days=i // 900)
        gender = "male" if i % 2 else "female"
        sequence = (i % 900) + 100
        # The 17th digit carries the gender: odd male, even female.
        sequence = sequence - sequence % 2 + (1 if gender == "male" else 0)
        id_number = idcard.compose("630102", birth, sequence)
        people.append(
            (
                person_id,
                id_number,
                f"选手{i:06d}",
                gender,
                birth,
                "13900000000",
                "青海某公司",
                "技术工人",
                4,
                5,
                None,
                now,
                now,
            )
        )
        trade = trades[i % len(trades)]
        counters[trade["id"]] = counters.get(trade["id"], 0) + 1
        number = f"BENCH-{trade['code']}-{counters[trade['id']]:06d}"
        seats = practical[trade["id"]]
        session = seats[counters[trade["id"]] % len(seats)] if seats else None
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
            tickets.append((entry_id, number, session))
        if i % 10 == 0:
            photos.append((person_id, photo, "image/jpeg", photo_hash, 60, 80, now))

    started = time.perf_counter()
    async with db.transaction():
        await db.execute_many(
            'INSERT INTO "person" (id, id_number, name, gender, birth_date, phone, employer, '
            'job, skill_level, years_of_service, "user", created_at, updated_at) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            people,
        )
        await db.execute_many(
            'INSERT INTO "entry" (id, competition, trade, person, delegation, group_name, slot, '
            "status, source, review_note, rejected_by, session, ticket_number, ticket_version, "
            "submitted_at, reviewed_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await db.execute_many(
            'INSERT INTO "photo" (person, content, mime, sha256, width, height, uploaded_at) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            photos,
        )
        if db.is_postgres():
            # Explicit ids leave the sequences behind; later inserts must not collide.
            for table in ("person", "entry"):
                await (
                    db.engine()
                    .current_transaction.get()
                    .connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )
    elapsed = time.perf_counter() - started
    print(
        f"  {entries:,} persons + entries ({len(photos):,} photos) inserted in {elapsed:.1f} s",
        flush=True,
    )
    if db.is_postgres():
        await db.engine()._run_in_new_connection("ANALYZE")
    else:
        await db.engine().run_ddl("ANALYZE")
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)
    return {"competition_id": cid, "tickets": tickets}


async def _measure(entries: int, scans: int, seed: int) -> None:
    from competition import db
    from competition.audit import Actor
    from registration import checkin, tokens
    from registration.tables import CheckIn, Entry

    await db.start_pool()
    try:
        built = await _build(entries)
        cid = built["competition_id"]
        rng = random.Random(seed)
        # Distinct tickets: `scans` for one desk, as many again for the concurrent desks.
        chosen = rng.sample(built["tickets"], min(len(built["tickets"]), 2 * scans))
        serial, parallel = chosen[:scans], chosen[scans:]
        actor = Actor(user_id=None, name="bench")

        def token(entry_id: int, number: str) -> str:
            return tokens.sign(tokens.TicketClaim(cid, entry_id, 1, number))

        signed = {entry_id: token(entry_id, number) for entry_id, number, _s in chosen}

        async def scan(entry_id: int, session: int, nonce: str, expect: str) -> float:
            started = time.perf_counter()
            result = await checkin.redeem_ticket(signed[entry_id], session, nonce, actor=actor)
            elapsed = (time.perf_counter() - started) * 1000
            assert result.outcome == expect, (result.outcome, str(result.message))
            return elapsed

        # A few scans first so connections, caches and the key are warm, as at a real desk.
        for entry_id, _number, session in serial[:20]:
            await scan(entry_id, session, uuid.uuid4().hex, "checked_in")
        measured = serial[20:]

        nonces = [uuid.uuid4().hex for _ in measured]
        first = [
            await scan(entry_id, session, nonce, "checked_in")
            for (entry_id, _n, session), nonce in zip(measured, nonces, strict=True)
        ]
        again = [
            await scan(entry_id, session, uuid.uuid4().hex, "already")
            for entry_id, _n, session in measured[: max(1, len(measured) // 4)]
        ]
        replays = [
            await scan(entry_id, session, nonce, "checked_in")
            for (entry_id, _n, session), nonce in list(zip(measured, nonces, strict=True))[
                : max(1, len(measured) // 4)
            ]
        ]

        # The ceiling: what one round trip and one signature check cost on their own.
        ids = [entry_id for entry_id, _n, _s in measured]
        lookups = []
        for entry_id in ids:
            started = time.perf_counter()
            row = await Entry.select(Entry.id, Entry.status).where(Entry.id == entry_id).first()
            lookups.append((time.perf_counter() - started) * 1000)
            assert row is not None
        verifies = []
        for entry_id in ids:
            started = time.perf_counter()
            tokens.verify(signed[entry_id])
            verifies.append((time.perf_counter() - started) * 1000)
        # A first scan must write durably; one committed row is the floor of that (on SQLite
        # mostly the fsync of the write-ahead log).
        await Entry.raw("CREATE TABLE bench_write (id integer PRIMARY KEY, note varchar(40))")
        writes = []
        for n, _entry_id in enumerate(ids, start=1):
            started = time.perf_counter()
            async with db.transaction():
                await Entry.raw("INSERT INTO bench_write (id, note) VALUES ({}, {})", n, "scan")
            writes.append((time.perf_counter() - started) * 1000)

        lanes = [parallel[i::CONCURRENT_SCANNERS] for i in range(CONCURRENT_SCANNERS)]

        async def desk(lane: list[tuple[int, str, int]]) -> list[float]:
            return [
                await scan(entry_id, session, uuid.uuid4().hex, "checked_in")
                for entry_id, _n, session in lane
            ]

        started = time.perf_counter()
        concurrent = [ms for lane in await asyncio.gather(*map(desk, lanes)) for ms in lane]
        wall = time.perf_counter() - started

        expected_rows = 20 + len(measured) + len(parallel)
        stored = await CheckIn.count()
        assert stored == expected_rows, (stored, expected_rows)

        print(_summary("first scan (checked in)", first))
        print(_summary("repeated scan (already)", again))
        print(_summary("replayed nonce (retry)", replays))
        print(_summary("ceiling: SELECT by primary key", lookups))
        print(_summary("ceiling: tokens.verify alone", verifies))
        print(_summary("ceiling: one committed INSERT", writes))
        if concurrent:
            print(_summary(f"{CONCURRENT_SCANNERS} concurrent scanners", concurrent))
            print(f"  {'':<34} {len(concurrent) / wall:,.0f} scans/s over {wall:.2f} s")
        median = statistics.median(first)
        verdict = "meets" if median <= TARGET_MEDIAN_MS else "MISSES"
        print(
            f"  first-scan median {median:.2f} ms {verdict} the {TARGET_MEDIAN_MS:.0f} ms target;"
            f" {stored:,} check-ins stored",
            flush=True,
        )
    finally:
        await db.close_pool()


def child(url: str, entries: int, scans: int, seed: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("JIANGXIN_SECRET", secrets.token_urlsafe(48))
    sys.path.insert(0, str(REPO_ROOT))
    os.chdir(REPO_ROOT)
    asyncio.run(_measure(entries, scans, seed))


# ---------------------------------------------------------------- the parent: each database


def _run_child(label: str, url: str, args: argparse.Namespace) -> int:
    print(f"\n{label}: {args.entries:,} entries, {args.scans:,} scans", flush=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        url,
        "--entries",
        str(args.entries),
        "--scans",
        str(args.scans),
        "--seed",
        str(args.seed),
    ]
    return subprocess.run(command, check=False).returncode  # noqa: S603 - this script itself


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _postgres(args: argparse.Namespace) -> int:
    """A database of its own on the given server, so nothing there is touched."""
    name = f"jx_checkin_bench_{os.getpid()}"
    parsed = urlparse(args.postgres)
    target = urlunparse(parsed._replace(path=f"/{name}"))
    asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
    try:
        return _run_child(f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432})", target, args)
    finally:
        asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--scans", type=int, default=2_000)
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scans < 40 or args.entries < args.scans * 2:
        parser.error("use at least 40 scans and at least twice as many entries as scans")
    if args.child:
        child(args.child, args.entries, args.scans, args.seed)
        return 0
    failures = 0
    with tempfile.TemporaryDirectory(prefix="jx-checkin-bench-") as tmp:
        failures += _run_child("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args) != 0
    if args.postgres:
        failures += _postgres(args) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
