"""Benchmark: importing 200,000 registrations (validation included) from CSV and from xlsx.

    .venv/bin/python bench/import_registrations.py [--rows 200000] [--postgres URL]

Creates its own temporary SQLite database (and uses the PostgreSQL database at URL, whose
public schema it WIPES, when --postgres is given), loads the demo competition, raises its quotas
so that every generated row is valid, writes N rows as CSV and as xlsx, and imports each file
into a fresh copy of the registrations through `registration.bulk_import` — the service the
pages use. Printed per file: read, validation (dry-run checks against the database), write,
total and rows/s. Then the raw ceiling: plain executemany (COPY on PostgreSQL) of the same rows
into two bare tables with the person and entry columns, on the same kind of connection, in the
same run.

The issue's target: ≤ 10 s for 200,000 rows on SQLite on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "姓名",
    "身份证号",
    "手机号",
    "工作单位",
    "岗位",
    "职业技能等级",
    "工龄",
    "工种",
    "组别",
    "推荐单位",
]
REGIONS = ["630102", "630104", "630202", "632221", "632321", "632521", "632621", "632701", "632801"]
SURNAMES = "马韩李王张刘赵杨陈祁鲁才索扎仁冶"
GIVEN = [
    "建华",
    "永福",
    "海燕",
    "卓玛",
    "国庆",
    "秀兰",
    "德明",
    "文斌",
    "明远",
    "丽娟",
    "占元",
    "措",
]


def _prepare_environment(database_url: str) -> None:
    # Piccolo binds tables to the engine when they are imported: the URL comes first.
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("JIANGXIN_SECRET", "bench-secret-" + "x" * 40)
    sys.path.insert(0, str(ROOT))


def generate_rows(n: int, trades: list[dict], delegations: list[str]) -> list[list[str]]:
    """N valid rows: each person once, ages 22–34 on the cutoff and level 2, so that every
    demo trade's rules are met; trades and delegations in turn."""
    from registration.idcard import compose

    rng = random.Random(16)
    rows = []
    first_birth = dt.date(1993, 1, 1)
    for i in range(n):
        birth = first_birth + dt.timedelta(days=i // 900 % 4300)
        sequence = (i % 900) + 100
        region = REGIONS[i // (900 * 4300) % len(REGIONS)]
        trade = trades[i % len(trades)]
        delegation = delegations[(i // len(trades)) % len(delegations)]
        rows.append(
            [
                rng.choice(SURNAMES) + rng.choice(GIVEN),
                compose(region, birth, sequence),
                f"139{i % 100_000_000:08d}",
                f"青海第{i % 500 + 1}机械制造有限公司",
                "技术员",
                "二级/技师",
                str(4 + i % 4),
                trade["code"],
                trade["groups"][0] if trade["groups"] else "",
                delegation,
            ]
        )
    return rows


def write_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_xlsx(rows: list[list[str]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "constant_memory": True, "strings_to_numbers": False}
    )
    sheet = book.add_worksheet("报名")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


async def _reset_schema(postgres: bool) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db

    if postgres:
        engine = db.engine()
        await engine._run_in_new_connection("DROP SCHEMA public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()


async def _clear_registrations() -> None:
    from competition import db
    from competition.tables import AuditLog
    from registration.tables import Entry, ImportBatch, Person

    async with db.transaction():
        await Entry.delete(force=True)
        await Person.delete(force=True)
        await ImportBatch.delete(force=True)
        await AuditLog.delete().where(AuditLog.action.like("entry.%"))


async def import_once(competition_id: int, data: bytes) -> dict[str, float]:
    """The decision step's work, phase by phase: read, check, write in one transaction."""
    import anyio

    from competition import db
    from competition.audit import SYSTEM
    from registration import bulk_import
    from registration.bulk_read import read_upload

    started, cpu = time.perf_counter(), time.process_time()
    table = await anyio.to_thread.run_sync(read_upload, data)
    read_done = time.perf_counter()
    async with db.transaction():
        plan = await bulk_import.evaluate(competition_id, table)
        checked = time.perf_counter()
        counts = await bulk_import.write_plan(plan, SYSTEM)
    written = time.perf_counter()
    assert counts.errors == 0, [
        (e.row, e.column, str(e.message)) for errs in list(plan.errors.values())[:5] for e in errs
    ]
    return {
        "read": read_done - started,
        "validate": checked - read_done,
        "write": written - checked,
        "total": written - started,
        # All threads of the process: next to the wall-clock total it shows how much of it
        # went to other work on a busy machine.
        "cpu": time.process_time() - cpu,
        "new": counts.new,
    }


async def raw_ceiling(rows: list[list[str]]) -> tuple[float, float]:
    """Plain bulk inserts of the same rows into two bare tables with the same columns, on the
    transaction's connection: what no validation and no bookkeeping would cost."""
    from competition import db
    from competition.tables import AuditLog

    now = dt.datetime.now(dt.UTC)
    ddl = [
        "DROP TABLE IF EXISTS bench_person",
        "DROP TABLE IF EXISTS bench_entry",
        "CREATE TABLE bench_person (id_number VARCHAR(18), name VARCHAR(50), gender VARCHAR(6), "
        "birth_date DATE, phone VARCHAR(20), employer VARCHAR(100), job VARCHAR(50), "
        "skill_level SMALLINT, years_of_service SMALLINT, created_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ)",
        "CREATE TABLE bench_entry (competition INTEGER, trade INTEGER, person INTEGER, "
        "delegation INTEGER, group_name VARCHAR(20), slot SMALLINT, status VARCHAR(24), "
        "source VARCHAR(8), review_note TEXT, rejected_by VARCHAR(20), ticket_version SMALLINT, "
        "submitted_at TIMESTAMPTZ, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)",
    ]
    for statement in ddl:
        await AuditLog.raw(statement)
    # The values as the import hands them over (dates and times already text on SQLite).
    stamp = now if db.is_postgres() else str(now)
    born = dt.date(1990, 1, 1) if db.is_postgres() else "1990-01-01"
    people = [
        (r[1], r[0], "male", born, r[2], r[3], r[4], 2, int(r[6]), stamp, stamp) for r in rows
    ]
    entries = [
        (1, i % 100, i, i % 29, r[8], 1, "submitted", "import", "", "", 0, stamp, stamp, stamp)
        for i, r in enumerate(rows)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    async with db.transaction() as tx:
        if db.is_postgres():
            await tx.connection.copy_records_to_table("bench_person", columns=None, records=people)
            await tx.connection.copy_records_to_table("bench_entry", columns=None, records=entries)
        else:
            await tx.connection.executemany(
                "INSERT INTO bench_person VALUES (?,?,?,?,?,?,?,?,?,?,?)", people
            )
            await tx.connection.executemany(
                "INSERT INTO bench_entry VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", entries
            )
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    for statement in ddl[:2]:
        await AuditLog.raw(statement)
    return elapsed


async def run(rows_wanted: int, postgres: bool) -> None:
    from competition import db
    from competition.demo.loader import load_demo
    from competition.tables import Delegation, Quota, Trade

    await _reset_schema(postgres)
    await db.start_pool()
    try:
        summary = await load_demo()
        cid = summary.competition_id
        await Quota.update({Quota.max_entries: 1_000_000}, force=True)
        trades = (
            await Trade.select(Trade.code, Trade.groups)
            .where(Trade.competition == cid)
            .output(load_json=True)
        )
        delegations = [
            d["code"]
            for d in await Delegation.select(Delegation.code).where(Delegation.competition == cid)
        ]
        started = time.perf_counter()
        rows = generate_rows(rows_wanted, trades, delegations)
        csv_data = write_csv(rows)
        xlsx_data = write_xlsx(rows)
        print(
            f"generated {len(rows):,} rows in {time.perf_counter() - started:.1f} s: "
            f"CSV {len(csv_data) / 1e6:.1f} MB, xlsx {len(xlsx_data) / 1e6:.1f} MB"
        )
        print(f"database: {'PostgreSQL' if postgres else 'SQLite'}")
        print(
            f"{'file':<6}{'read':>8}{'validate':>10}{'write':>8}{'total':>8}{'rows/s':>10}"
            f"{'cpu':>8}"
        )
        for name, data in (("CSV", csv_data), ("xlsx", xlsx_data)):
            await _clear_registrations()
            t = await import_once(cid, data)
            assert t["new"] == len(rows), t
            print(
                f"{name:<6}{t['read']:>7.2f}s{t['validate']:>9.2f}s{t['write']:>7.2f}s"
                f"{t['total']:>7.2f}s{len(rows) / t['total']:>10,.0f}{t['cpu']:>7.2f}s"
            )
        again = await import_once(cid, xlsx_data)
        print(
            f"re-import of the same xlsx: {again['total']:.2f} s, {again['new']} new "
            "(every row unchanged)"
        )
        ceiling, ceiling_cpu = await raw_ceiling(rows)
        print(
            f"raw ceiling (bulk insert of the same {len(rows):,} rows into two bare tables, "
            f"no validation): {ceiling:.2f} s (cpu {ceiling_cpu:.2f} s)"
        )
        print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database")
    parser.add_argument("--database", help=argparse.SUPPRESS)  # one run in a child process
    args = parser.parse_args()
    if args.database:
        _prepare_environment(args.database)
        asyncio.run(run(args.rows, postgres=args.database.startswith("postgres")))
        return
    # Each database in a process of its own: Piccolo binds the tables to one engine.
    with tempfile.TemporaryDirectory(prefix="jiangxin-bench-") as tmp:
        targets = [f"sqlite:///{tmp}/bench.sqlite3"] + ([args.postgres] if args.postgres else [])
        for target in targets:
            subprocess.run(  # noqa: S603 - this very script, with our own arguments
                [sys.executable, __file__, "--rows", str(args.rows), "--database", target],
                check=True,
            )


if __name__ == "__main__":
    main()
