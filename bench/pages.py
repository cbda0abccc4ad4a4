"""The organizer's statistics pages at scale: HTML size and server time of the quota matrix, the
registration dashboard and the audit trail with 200,000 entries.

    .venv/bin/python bench/pages.py [--entries 200000] [--repeat 5] [--postgres URL]
    .venv/bin/python bench/pages.py --demo [--postgres URL]     # the demo's 312 contestants

Builds a temporary SQLite database (and, with --postgres, a temporary database on that server,
dropped afterwards), loads the demo structure (102 trades, 29 delegations, 2,958 quota rows),
inserts the entries straight into the tables with executemany — statuses mixed as in a real
registration (20 % waiting for first review, 25 % for final review, 45 % approved, 7 % rejected,
3 % revoked), registered over 45 days — and one audit record per entry, then requests each page
through the app in-process (httpx over ASGI, signed in as the demo organizer): the median of
`--repeat` requests after one warm-up, and the size of the HTML.

The ceiling, measured in the same run through the same engine: the statements the page cannot
do without — the GROUP BYs of the counts it shows (quota matrix and dashboard) or the one page of
50 records by id (audit trail) — without building or rendering anything.

With --demo the entries are the demo's own (registration/demo.py: 312 contestants in every
status, registered through the import and the review services) and the demo's quotas.

Each database runs in a child process of its own, because Piccolo binds its tables to the engine
named by DATABASE_URL when they are imported.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

# (status, share of the entries)
MIX = (
    ("submitted", 20),
    ("delegation_approved", 25),
    ("approved", 45),
    ("rejected", 7),
    ("revoked", 3),
)
DAYS = 45
DEMO = 0  # --demo: the demo's own contestants instead of generated entries


async def _build(entries: int) -> int:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from competition.demo.loader import load_demo
    from competition.tables import Delegation, Quota, Trade
    from registration import idcard

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()
    started = time.perf_counter()
    cid = (await load_demo()).competition_id
    if entries == DEMO:
        from registration.demo import load_demo_registrations

        await load_demo_registrations(cid)
        print(f"  the demo loaded in {time.perf_counter() - started:.1f} s", flush=True)
        return cid
    trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid)
    delegations = await Delegation.select(Delegation.id).where(Delegation.competition == cid)
    # Quotas a real competition of this size would have: each pair holds about its share.
    await Quota.update({Quota.max_entries: 60}, force=True)
    print(f"  demo structure loaded in {time.perf_counter() - started:.1f} s", flush=True)

    statuses = [s for s, share in MIX for _ in range(share)]
    start = dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)
    people, rows, records = [], [], []
    first_birth = dt.date(1970, 1, 1)
    for i in range(entries):
        entry_id = person_id = i + 1
        birth = first_birth + dt.timedelta(days=i // 900)
        male = i % 2 == 1
        sequence = (i % 900) + 100
        sequence = sequence - sequence % 2 + (1 if male else 0)
        stamp = start + dt.timedelta(seconds=(i * DAYS * 86_400) // entries)
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
                stamp,
                stamp,
            )
        )
        status = statuses[i % len(statuses)]
        rows.append(
            (
                entry_id,
                cid,
                trades[(i // len(delegations)) % len(trades)]["id"],
                person_id,
                delegations[i % len(delegations)]["id"],
                "",
                1,
                status,
                "import",
                stamp,
                stamp,
                stamp,
            )
        )
        records.append(
            (stamp, None, "bench", cid, "entry.create", "entry", str(entry_id), "{}", "")
        )
    started = time.perf_counter()
    async with db.transaction():
        await db.execute_many(
            'INSERT INTO "person" (id, id_number, name, gender, birth_date, phone, employer, '
            "job, skill_level, years_of_service, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            people,
        )
        await db.execute_many(
            'INSERT INTO "entry" (id, competition, trade, person, delegation, group_name, slot, '
            "status, source, submitted_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await db.execute_many(
            'INSERT INTO "audit_log" (at, actor_id, actor_name, competition_id, action, '
            "object_type, object_id, new, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
    if db.is_postgres():
        for table in ("person", "entry"):
            await db.engine()._run_in_new_connection(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                f'(SELECT max(id) FROM "{table}"))'
            )
        await db.engine()._run_in_new_connection("ANALYZE")
    else:
        await db.engine().run_ddl("ANALYZE")
    print(
        f"  {entries:,} persons + entries + audit records inserted in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return cid


async def _median_ms(repeat: int, call) -> tuple[float, object]:
    result = await call()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


async def _measure(entries: int, repeat: int) -> None:
    import httpx

    from competition import db
    from competition.app import create_app
    from competition.tables import AuditLog
    from registration.tables import Entry
    from tests.support import login

    await db.start_pool()
    try:
        cid = await _build(entries)
        app = create_app()
        hour = (
            "date_trunc('hour', created_at AT TIME ZONE 'UTC')"
            if db.is_postgres()
            else "strftime('%Y-%m-%d %H', created_at)"
        )

        async def matrix_sql():
            await Entry.raw(
                "SELECT delegation, trade, status, COUNT(*) FROM entry WHERE competition = {} "
                "GROUP BY delegation, trade, status",
                cid,
            )

        async def dashboard_sql():
            await matrix_sql()
            await Entry.raw(
                f"SELECT {hour}, COUNT(*) FROM entry WHERE competition = {{}} GROUP BY 1",  # noqa: S608
                cid,
            )

        records = await AuditLog.count()
        middle = (
            await AuditLog.select(AuditLog.id).order_by(AuditLog.id).offset(records // 2).first()
        )["id"]

        async def audit_sql():
            await (
                AuditLog.select()
                .where((AuditLog.competition_id == cid) & (AuditLog.id < middle))
                .order_by(AuditLog.id, ascending=False)
                .limit(51)
            )

        base = f"/org/competitions/{cid}"
        pages = [
            ("quota matrix, page 1", f"{base}/quota-usage", matrix_sql),
            ("quota matrix, only over", f"{base}/quota-usage?only=over", matrix_sql),
            ("registration dashboard", f"{base}/dashboard", dashboard_sql),
            (
                "audit trail, middle page",
                f"/supervisor/audit?competition={cid}&before={middle}",
                audit_sql,
            ),
        ]
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await login(client, "organizer")
                print(
                    f"  {'page':<26} {'HTML':>9} {'server':>9} {'ceiling':>9} {'ratio':>6}",
                    flush=True,
                )
                for label, url, ceiling in pages:

                    async def get(url=url):
                        response = await client.get(url)
                        assert response.status_code == 200, (url, response.status_code)
                        return response

                    page_ms, response = await _median_ms(repeat, get)
                    ceiling_ms, _ = await _median_ms(repeat, ceiling)
                    print(
                        f"  {label:<26} {len(response.content) / 1024:7.1f}KB {page_ms:7.1f}ms "
                        f"{ceiling_ms:7.1f}ms {page_ms / ceiling_ms:5.1f}×",
                        flush=True,
                    )
        print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        await db.close_pool()


def child(url: str, entries: int, repeat: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("JIANGXIN_SECRET", secrets.token_urlsafe(48))
    os.environ["JIANGXIN_COOKIE_SECURE"] = "0"
    os.chdir(REPO_ROOT)
    asyncio.run(_measure(entries, repeat))


def _run_child(label: str, url: str, args: argparse.Namespace) -> int:
    what = "the demo's contestants" if args.entries == DEMO else f"{args.entries:,} entries"
    print(f"\n{label}: {what}", flush=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        url,
        "--entries",
        str(args.entries),
        "--repeat",
        str(args.repeat),
    ]
    return subprocess.run(command, check=False).returncode  # noqa: S603 - this script itself


def _postgres(args: argparse.Namespace) -> int:
    """A database of its own on the given server, so nothing there is touched."""
    name = f"jx_pages_bench_{os.getpid()}"
    parsed = urlparse(args.postgres)
    target = urlunparse(parsed._replace(path=f"/{name}"))
    asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
    try:
        return _run_child(f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432})", target, args)
    finally:
        asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--demo", action="store_true", help="the demo's contestants")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.demo:
        args.entries = DEMO
    if args.child:
        child(args.child, args.entries, args.repeat)
        return 0
    failures = 0
    with tempfile.TemporaryDirectory(prefix="jx-pages-bench-") as tmp:
        failures += _run_child("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args) != 0
    if args.postgres:
        failures += _postgres(args) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
