"""Benchmark: the registration import as a person runs it — the dry run, then the commit — for
200,000 rows, from CSV and from xlsx, on SQLite and PostgreSQL, next to a raw ceiling measured
in the same run.

    .venv/bin/python bench/import_registrations.py [--rows 200000] [--postgres URL]

The rows are generated once (valid rows: ages, levels and years that meet every demo trade's
rules, trades and delegations in turn) and written as CSV and as xlsx. Each (database, file)
then runs in a process of its own, on a fresh database with the demo competition loaded (the
PostgreSQL database at URL has its public schema WIPED):

- **dry run**: `registration.imports.check_upload`, what the upload page calls — read, check
  every row, resolve against the database, keep the file and the plan in an ImportBatch;
- **commit**: `registration.imports.import_batch`, what "import the valid rows" calls;
- then the same file again (every row unchanged), dry run + commit;
- **peak RSS** of the process during the flow (VmHWM, counted afresh when it starts), and its
  RSS before (the app's modules and the demo loaded);
- the **raw ceiling**: a plain bulk insert (executemany on SQLite, COPY on PostgreSQL) of the
  same rows into two bare tables with the person and entry columns, in the same process;
- the **schema floor**: the same persons, entries and one audit record each, bulk-inserted by
  the same calls into the real tables (their indexes and foreign keys), without validation,
  lookups or bookkeeping, rolled back — what the schema alone costs.

Where the time goes is printed too: the stages of the two calls, timed by wrapping the
functions they call (the calls themselves are the pages'). The issue's goal: dry run + commit
within 4× the ceiling, peak memory ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import functools
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import peak_mb, reset_peak, rss_mb  # noqa: E402

HEADER = ["姓名", "身份证号", "手机号", "工作单位", "岗位", "职业技能等级", "工龄", "工种", "组别",
          "推荐单位"]  # fmt: skip
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
GOAL_RATIO = 4
GOAL_RSS_MB = 500


def _prepare_environment(database_url: str) -> None:
    # Piccolo binds tables to the engine when they are imported: the URL comes first.
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("JIANGXIN_SECRET", "bench-secret-" + "x" * 40)


def demo_catalogue() -> tuple[list[dict], list[str]]:
    """The demo competition's trades (code, groups) and delegation codes, from its CSV files."""
    demo = ROOT / "competition" / "demo"
    with (demo / "trades.csv").open(encoding="utf-8") as f:
        trades = [
            {"code": r["code"], "groups": [g for g in r["groups"].split("|") if g]}
            for r in csv.DictReader(f)
        ]
    with (demo / "delegations.csv").open(encoding="utf-8") as f:
        delegations = [r["code"] for r in csv.DictReader(f)]
    return trades, delegations


def generate_rows(n: int, trades: list[dict], delegations: list[str]) -> list[list[str]]:
    """N valid rows: each person once, ages 22–34 on the cutoff and level 2, so that every
    demo trade's rules are met; every trade and delegation alike, shuffled."""
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
    # In no particular order, as a list put together by hand is: ID numbers, trades and
    # delegations all mixed.
    rng.shuffle(rows)
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
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("报名")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------------- one process


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


class Stages:
    """Wall-clock time spent in the functions the two calls go through, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, module, name: str, label: str) -> None:
        original = getattr(module, name)
        stages = self

        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    stages.add(label, time.perf_counter() - started)
        else:

            @functools.wraps(original)
            def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    stages.add(label, time.perf_counter() - started)

        setattr(module, name, timed)

    def add(self, label: str, seconds: float) -> None:
        self.spent[label] = self.spent.get(label, 0.0) + seconds

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return spent


def _instrument() -> Stages:
    from registration.imports import batches, resolve

    stages = Stages()
    for name, label in (
        ("read_upload", "read"),
        ("check_rows", "check"),
        ("encode_plan", "keep plan"),
        ("decode_plan", "load plan"),
        ("write_plan", "write"),
    ):
        stages.wrap(batches, name, label)
    stages.wrap(resolve, "existing", "query people")
    stages.wrap(resolve, "_resolve", "resolve")
    stages.wrap(resolve, "quota_lines", "quota lines")
    return stages


async def _clear_registrations() -> None:
    from competition import db
    from competition.tables import AuditLog
    from registration.tables import Entry, ImportBatch, Person

    async with db.transaction():
        await Entry.delete(force=True)
        await Person.delete(force=True)
        await ImportBatch.delete(force=True)
        await AuditLog.delete().where(AuditLog.action.like("entry.%"))


async def raw_ceiling(rows: list[list[str]]) -> float:
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
    started = time.perf_counter()
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
    elapsed = time.perf_counter() - started
    for statement in ddl[:2]:
        await AuditLog.raw(statement)
    return elapsed


class _Rollback(Exception):
    """Leaves the schema floor's rows unwritten."""


async def schema_floor(rows: list[list[str]], competition_id: int) -> float:
    """The same rows as the import writes them — persons, entries, one audit record each —
    inserted by the same bulk calls into the real tables, with their indexes and foreign keys,
    with no validation, no lookups and no bookkeeping; rolled back. What the schema itself
    costs, for telling the import's own time from it."""
    from competition import db
    from competition.tables import Delegation, Trade
    from registration.imports import write

    trades = [
        r["id"] for r in await Trade.select(Trade.id).where(Trade.competition == competition_id)
    ]
    delegations = [
        r["id"]
        for r in await Delegation.select(Delegation.id).where(
            Delegation.competition == competition_id
        )
    ]
    now = dt.datetime.now(dt.UTC)
    stamp = now if db.is_postgres() else str(now)
    born = dt.date(1990, 1, 1) if db.is_postgres() else "1990-01-01"
    started = time.perf_counter()
    try:
        async with db.transaction():
            person_ids = await db.new_ids("person", len(rows))
            entry_ids = await db.new_ids("entry", len(rows))
            people = [
                (pid, r[1], r[0], "male", born, r[2], r[3], r[4], 2, int(r[6]),
                 delegations[i % len(delegations)], stamp, stamp)
                for i, (pid, r) in enumerate(zip(person_ids, rows, strict=True))
            ]  # fmt: skip
            await db.copy_records("person", write.PERSON_COLUMNS, people)
            del people
            entries = [
                (eid, competition_id, trades[i % len(trades)], pid,
                 delegations[i % len(delegations)], r[8], 1, "submitted", "import", "", "", 0,
                 stamp, stamp, stamp)
                for i, (eid, pid, r) in enumerate(zip(entry_ids, person_ids, rows, strict=True))
            ]  # fmt: skip
            await db.copy_records("entry", write.ENTRY_COLUMNS, entries)
            del entries
            audit = [
                (stamp, None, "bench", competition_id, "entry.create", "entry", str(eid), None,
                 '{"status": "submitted", "source": "import"}', "import")
                for eid in entry_ids
            ]  # fmt: skip
            await db.copy_records("audit_log", write.AUDIT_COLUMNS, audit)
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


async def run_flow(path: Path, postgres: bool) -> dict:
    """One file through the pages' two calls on a fresh database; then the ceiling."""
    import gc

    from competition import db
    from competition.audit import SYSTEM
    from competition.demo.loader import load_demo
    from registration import imports

    await _reset_schema(postgres)
    await db.start_pool()
    try:
        cid = (await load_demo()).competition_id
        stages = _instrument()
        data = path.read_bytes()
        gc.collect()
        before_rss = rss_mb()
        reset_peak()
        started = time.perf_counter()
        batch = await imports.check_upload(cid, data, actor=SYSTEM, filename=path.name)
        checked = time.perf_counter()
        dry_stages = stages.take()
        done = await imports.import_batch(batch.token, competition_id=cid, actor=SYSTEM)
        committed = time.perf_counter()
        commit_stages = stages.take()
        peak_rss = peak_mb()
        assert done.result is not None and done.result["errors"] == 0, done.errors[:5]
        # The re-import: every row unchanged, nothing written.
        again_started = time.perf_counter()
        again = await imports.check_upload(cid, data, actor=SYSTEM, filename=path.name)
        again_done = await imports.import_batch(again.token, competition_id=cid, actor=SYSTEM)
        again_total = time.perf_counter() - again_started
        assert (
            again_done.result is not None and again_done.result["unchanged"] == done.result["new"]
        )
        del data, batch, again
        await _clear_registrations()
        rows = list(csv.reader(io.StringIO(path.with_suffix(".csv").read_text("utf-8"))))[1:]
        ceiling = await raw_ceiling(rows)
        floor = await schema_floor(rows, cid)
        return {
            "dry": checked - started,
            "commit": committed - checked,
            "total": committed - started,
            "again": again_total,
            "new": done.result["new"],
            "ceiling": ceiling,
            "floor": floor,
            "rss_before": before_rss,
            "rss_peak": peak_rss,
            "stages": {"dry run": dry_stages, "commit": commit_stages},
        }
    finally:
        await db.close_pool()


# ---------------------------------------------------------------------------- the parent


def _child(path: Path, target: str) -> dict:
    done = subprocess.run(  # noqa: S603 - this very script, with our own arguments
        [sys.executable, __file__, "--file", str(path), "--database", target],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{path.name} on {target}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database")
    parser.add_argument("--file", help=argparse.SUPPRESS)  # one flow in a child process
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database:
        _prepare_environment(args.database)
        result = asyncio.run(run_flow(Path(args.file), args.database.startswith("postgres")))
        print(json.dumps(result))
        return
    _prepare_environment("sqlite:///:memory:")
    with tempfile.TemporaryDirectory(prefix="jiangxin-bench-") as tmp:
        started = time.perf_counter()
        rows = generate_rows(args.rows, *demo_catalogue())
        csv_path, xlsx_path = Path(tmp) / "rows.csv", Path(tmp) / "rows.xlsx"
        csv_path.write_bytes(write_csv(rows))
        xlsx_path.write_bytes(write_xlsx(rows))
        del rows
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s: "
            f"CSV {csv_path.stat().st_size / 1e6:.1f} MB, "
            f"xlsx {xlsx_path.stat().st_size / 1e6:.1f} MB"
        )
        targets = [("SQLite", f"sqlite:///{tmp}/bench.sqlite3")]
        if args.postgres:
            targets.append(("PostgreSQL", args.postgres))
        print(
            f"{'database':<11}{'file':<6}{'dry run':>9}{'commit':>9}{'total':>9}{'ceiling':>9}"
            f"{'ratio':>7}{'peak RSS':>10}{'re-import':>11}{'floor':>8}{'ratio':>7}"
        )
        details = []
        for label, target in targets:
            for name, path in (("CSV", csv_path), ("xlsx", xlsx_path)):
                if target.startswith("sqlite"):
                    Path(f"{tmp}/bench.sqlite3").unlink(missing_ok=True)
                r = _child(path, target)
                assert r["new"] == args.rows, r
                ratio = r["total"] / r["ceiling"]
                print(
                    f"{label:<11}{name:<6}{r['dry']:>8.2f}s{r['commit']:>8.2f}s{r['total']:>8.2f}s"
                    f"{r['ceiling']:>8.2f}s{ratio:>6.1f}×{r['rss_peak']:>7.0f} MB"
                    f"{r['again']:>10.2f}s{r['floor']:>7.2f}s{r['total'] / r['floor']:>6.1f}×",
                    flush=True,
                )
                details.append((label, name, r))
        print(
            f"goal: total ≤ {GOAL_RATIO}× the ceiling of the same run, peak RSS ≤ {GOAL_RSS_MB} MB"
        )
        print("where the time goes (s):")
        for label, name, r in details:
            for step, spent in r["stages"].items():
                parts = ", ".join(f"{k} {v:.2f}" for k, v in spent.items())
                print(f"  {label} {name} {step}: {parts}")
            print(f"  {label} {name}: RSS before the flow {r['rss_before']:.0f} MB")
        print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
