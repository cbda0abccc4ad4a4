"""The draw (抽签) at scale: one trade of 5,000 present contestants over 50 sessions, then the whole
competition, 200,000 contestants over every trade, each drawn by the real service.

    .venv/bin/python bench/draw.py [--postgres URL] [--no-sqlite] [--big 5000] [--total 200000]

For each database (a temporary SQLite file; with --postgres a temporary database on that
server, dropped afterwards) a child process

1. builds the data: migrations, the demo structure, a bench venue of 100 stations, practical
   sessions at it for every trade (50 for the big trade, enough for the others), persons,
   approved entries and a check-in row each written in bulk (COPY / executemany), every
   trade's check-in closed and the competition in its check-in and draw phase;
2. times `scoring.draw.service.run_draw` — what the organizer's button and `jiangxin draw run`
   call: the trade locked, its stage moved, presence read, the pure algorithm, the Draw with its
   inputs and every DrawSlot written, the audit record, one transaction — for the big trade,
   then for every other trade in turn (the whole competition: the sum);
3. measures the raw ceiling of the same work in the same run: the bare hashing of the
   algorithm (two sha256 a contestant, three with a second layer) plus a bare bulk insert of
   the same number of slot rows into a bare table without indexes (executemany on SQLite,
   COPY on PostgreSQL); and the floor: every drawn slot bulk-inserted again into the real
   draw_slot table (its unique indexes and five foreign keys), rolled back;
4. runs `verify_draw` on the big trade (it must reproduce every slot).

Targets (issue 12, "Scale"): one trade of 5,000 over 50 sessions ≤ 1 s; the whole competition
(200,000) ≤ 5 s, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

STATIONS = 100  # at the bench venue
BIG_SESSIONS = 50
GOAL = "one trade of 5,000 over 50 sessions ≤ 1 s; the whole competition (200,000) ≤ 5 s"

PERSON_COLUMNS = ["id", "id_number", "name", "gender", "birth_date", "phone", "employer", "job",
                  "skill_level", "years_of_service", "created_at", "updated_at"]  # fmt: skip
ENTRY_COLUMNS = ["id", "competition", "trade", "person", "delegation", "group_name", "slot",
                 "status", "source", "review_note", "rejected_by", "ticket_number",
                 "ticket_version", "submitted_at", "reviewed_at", "created_at",
                 "updated_at"]  # fmt: skip


async def _build(big: int, total: int) -> dict:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from competition.demo.loader import load_demo
    from competition.tables import (
        Competition,
        CompetitionSession,
        Delegation,
        Station,
        Trade,
        Venue,
    )

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()
    started = time.perf_counter()
    demo = await load_demo()
    cid = demo.competition_id
    trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid).order_by(
        Trade.id
    )  # fmt: skip
    delegations = [
        d["id"] for d in await Delegation.select(Delegation.id).where(Delegation.competition == cid)
    ]
    now = dt.datetime.now(dt.UTC)
    # How many contestants each trade gets: the big one `big`, the rest share what is left.
    rest = total - big
    shares = {trades[0]["id"]: big}
    others = trades[1:]
    for n, t in enumerate(others):
        shares[t["id"]] = rest // len(others) + (1 if n < rest % len(others) else 0)
    venue = Venue(competition=cid, code="BENCH", name="Bench hall")
    await venue.save()
    await Station.insert(
        *[Station(venue=venue.id, code=f"S{n:03d}", label=f"S{n:03d}") for n in range(STATIONS)]
    )
    sessions = []
    for t in trades:
        count = BIG_SESSIONS if t["id"] == trades[0]["id"] else -(-shares[t["id"]] // STATIONS)
        for n in range(count):
            starts = now + dt.timedelta(days=1, hours=n)
            sessions.append(CompetitionSession(
                trade=t["id"], venue=venue.id, code=f"B{n:03d}", name=f"Bench {n}",
                event="practical", starts_at=starts, ends_at=starts + dt.timedelta(hours=1),
            ))  # fmt: skip
    await CompetitionSession.insert(*sessions)
    people, entries, checkins = [], [], []
    entry_id = 0
    for t in trades:
        for _ in range(shares[t["id"]]):
            entry_id += 1
            number = f"{entry_id:018d}"
            people.append((entry_id, number, f"选手{entry_id:06d}", "male", dt.date(1990, 1, 1),
                           "", "", "", None, 0, now, now))  # fmt: skip
            entries.append((entry_id, cid, t["id"], entry_id,
                            delegations[entry_id % len(delegations)], "", 1, "approved",
                            "import", "", "", f"BENCH-{t['code']}-{entry_id:06d}", 1, now, now,
                            now, now))  # fmt: skip
            checkins.append((entry_id, None, hashlib.sha256(str(entry_id).encode()).hexdigest(),
                             now))  # fmt: skip
    first_session = {}
    for s in await CompetitionSession.select(CompetitionSession.id, CompetitionSession.trade).where(
        CompetitionSession.venue == venue.id
    ):
        first_session.setdefault(s["trade"], s["id"])
    trade_of = {e[0]: e[2] for e in entries}
    checkins = [(e, first_session[trade_of[e]], nonce, at) for e, _, nonce, at in checkins]
    async with db.transaction():
        await db.copy_records("person", PERSON_COLUMNS, people)
        await db.copy_records("entry", ENTRY_COLUMNS, entries)
        await db.copy_records("check_in", ["entry", "session", "nonce", "checked_in_at"],
                              checkins)  # fmt: skip
        if db.is_postgres():
            connection = db.engine().current_transaction.get().connection
            for table in ("person", "entry", "check_in"):
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                    f'(SELECT max(id) FROM "{table}"))'
                )
    await Competition.update({Competition.phase: "draw"}).where(Competition.id == cid)
    await Trade.update({Trade.checkin_closed_at: now}).where(Trade.competition == cid)
    if db.is_postgres():
        await db.engine()._run_in_new_connection("ANALYZE")
    else:
        await db.engine().run_ddl("ANALYZE")
    print(f"  built {total:,} checked-in contestants in {len(trades)} trades, "
          f"{len(sessions)} sessions, in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    return {"cid": cid, "trades": [t["id"] for t in trades], "shares": shares}


async def _ceiling(n: int, seed: str) -> float:
    """Bare hashing of the algorithm and a bare bulk insert of n slot rows."""
    from competition import db

    started = time.perf_counter()
    digests = []
    for e in range(n):
        for layer in ("order", "code"):
            digests.append(hashlib.sha256(f"{seed}|{layer}|{e}".encode()).digest())
    rows = [(1, 1, e, 1, e, str(e), "", e) for e in range(n)]
    async with db.transaction():
        await db.copy_records("bench_slot", ["draw", "trade", "entry", "session", "station",
                                             "code", "judge_code", "position"], rows)  # fmt: skip
        await db.engine().current_transaction.get().connection.execute("DELETE FROM bench_slot")
    return time.perf_counter() - started


class _Rollback(Exception):
    """Raised to leave the floor's transaction without keeping its rows."""


async def _floor() -> float:
    """The drawn slots deleted and bulk-inserted again into draw_slot, rolled back: what the
    table's indexes and foreign keys cost without any of the draw's work."""
    from competition import db
    from scoring.draw.service import SLOT_COLUMNS

    names = ", ".join(f'"{c}"' for c in SLOT_COLUMNS)
    rows = await db.fetch_rows(f"SELECT {names} FROM draw_slot")  # noqa: S608
    elapsed = 0.0
    try:
        async with db.transaction():
            await db.engine().current_transaction.get().connection.execute("DELETE FROM draw_slot")
            started = time.perf_counter()
            await db.copy_records("draw_slot", SLOT_COLUMNS, [tuple(r) for r in rows])
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass  # the rows are gone with the transaction; only the time was wanted
    return elapsed


async def _measure() -> None:
    from competition import db
    from competition.audit import Actor
    from scoring.draw import service

    await db.start_pool()
    try:
        built = await _build(ARGS.big, ARGS.total)
        ddl = ("CREATE TABLE bench_slot (draw integer, trade integer, entry integer, "
               '"session" integer, station integer, code varchar(16), judge_code varchar(16), '
               "position integer)")  # fmt: skip
        if db.is_postgres():
            await db.engine()._run_in_new_connection(ddl)
        else:
            await db.engine().run_ddl(ddl)
        actor = Actor(user_id=None, name="bench")
        cid, trades, shares = built["cid"], built["trades"], built["shares"]
        seed = "0" * 32

        big_ceiling = await _ceiling(shares[trades[0]], seed)
        started = time.perf_counter()
        result = await service.run_draw(cid, trades[0], actor=actor)
        big_time = time.perf_counter() - started
        assert result.present == shares[trades[0]]
        started = time.perf_counter()
        report = await service.verify_draw(cid, trades[0], actor=actor)
        verify_time = time.perf_counter() - started
        assert report.reproduced, report.mismatches[:5]

        profiler = None
        if ARGS.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        started = time.perf_counter()
        slowest = 0.0
        for trade in trades[1:]:
            one = time.perf_counter()
            await service.run_draw(cid, trade, actor=actor)
            slowest = max(slowest, time.perf_counter() - one)
        whole_time = big_time + time.perf_counter() - started
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, show_all=False), flush=True)
        whole_ceiling = await _ceiling(ARGS.total, seed)
        floor = await _floor()
        big = shares[trades[0]]
        print(f"  {'one trade':<22}{big:>9,} over {BIG_SESSIONS} sessions  {big_time:6.2f} s   "
              f"ceiling {big_ceiling:5.2f} s   ratio {big_time / big_ceiling:5.1f}×   "
              f"(target ≤ 1 s)", flush=True)  # fmt: skip
        print(f"  {'whole competition':<22}{ARGS.total:>9,} in {len(trades)} trades    "
              f"{whole_time:6.2f} s   ceiling {whole_ceiling:5.2f} s   "
              f"ratio {whole_time / whole_ceiling:5.1f}×   (target ≤ 5 s; slowest trade "
              f"{slowest:.2f} s)", flush=True)  # fmt: skip
        print(f"  {'floor':<22}{ARGS.total:>9,} slots into draw_slot   {floor:6.2f} s   "
              "(the same rows bulk-inserted into the real table: its indexes and foreign "
              "keys)", flush=True)  # fmt: skip
        print(f"  {'verify (one trade)':<22}{big:>9,} slots reproduced       {verify_time:6.2f} s",
              flush=True)  # fmt: skip
    finally:
        await db.close_pool()


def _child(url: str) -> bool:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT),
           "JIANGXIN_SECRET": "bench-" + "x" * 48}  # fmt: skip
    command = [sys.executable, __file__, "--child", "--big", str(ARGS.big),
               "--total", str(ARGS.total), *(["--profile"] if ARGS.profile else [])]  # fmt: skip
    return subprocess.run(command, env=env, check=False).returncode == 0  # noqa: S603


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=int, default=5_000, help="contestants of the big trade")
    parser.add_argument("--total", type=int, default=200_000, help="contestants in all")
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a pyinstrument profile of the whole competition's draws",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.child:
        asyncio.run(_measure())
        return 0
    print(f"Draw bench, load average {os.getloadavg()[0]:.1f}. Goal: {GOAL}", flush=True)
    ok = True
    if not ARGS.no_sqlite:
        print("\nSQLite", flush=True)
        with tempfile.TemporaryDirectory(prefix="jx-draw-bench-") as tmp:
            ok &= _child(f"sqlite:///{tmp}/bench.sqlite3")
    if ARGS.postgres:
        name = f"jx_draw_bench_{os.getpid()}"
        parsed = urlparse(ARGS.postgres)
        print(f"\nPostgreSQL ({parsed.hostname}:{parsed.port or 5432})", flush=True)
        asyncio.run(admin(ARGS.postgres, f'CREATE DATABASE "{name}"'))
        try:
            ok &= _child(urlunparse(parsed._replace(path=f"/{name}")))
        finally:
            asyncio.run(admin(ARGS.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
    print(f"\nload average {os.getloadavg()[0]:.1f}", flush=True)
    return 0 if ok else 1


ARGS: argparse.Namespace

if __name__ == "__main__":
    sys.exit(main())
