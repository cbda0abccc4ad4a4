"""Totals (成绩) at scale: every one of 200,000 contestants' totals recomputed from ~6 million
marks, next to a pandas groupby over the same marks.

    .venv/bin/python bench/totals.py [--scale 1.0] [--postgres URL] [--no-sqlite] [--keep]

For each database (a SQLite file under /tmp/i13/totals/; with --postgres a temporary database on
that server, dropped afterwards) a child process

1. builds the data (seed 13, the same every run; its time is not the measured figure): the demo
   structure (102 trades with their events and combination rules), then in bulk (COPY /
   executemany) 200,000 contestants with a draw slot each over sessions of 100 stations plus 1 %
   absent (no slot), a current marking scheme per trade of 12 aspects (9 Judgement, 3
   Measurement) and a superseded older one, 3 judges a trade (5 in every tenth), a signed
   sheet per judge and session, and the marks in the order tablets save them (session by
   session, judge by judge): 3 (or 5) levels per Judgement aspect, one agreed value per
   Measurement aspect, a few missing; penalties for 2 %, completion times, theory (and oral)
   scores;
2. times `scoring.totals.recompute_competition` — every trade's totals deleted and written
   again in one transaction — twice: into an empty `total` table, then replacing its rows;
   then `recompute_trade` of one trade and `recompute_entry` of one contestant (median of 20);
   with the phases of the second full run;
3. checks 200 of the totals against `recompute_entry` (which scores each slot's packed marks in
   Python, not through the table of scored packings): identical;
4. measures the ceiling in the same run: the marks read into pandas (the same columns the
   totals read: slot, aspect, judge, value) and grouped by slot (sum), each timed.

Target (issue 13, "Scale"): totals for all 200,000 entries recomputed in ≤ 5 s.
The result is printed and written as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import random
import sqlite3
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

WORK_DIR = Path(tempfile.gettempdir()) / "i13" / "totals"
RESULTS = REPO_ROOT / "bench" / "results"
GOAL = "totals for all 200,000 entries recomputed in ≤ 5 s"
SEED = 13
STATIONS = 100
CONTESTANTS = 200_000
ABSENT_PERCENT = 1
JUDGEMENT_ASPECTS = 9
MEASUREMENT_ASPECTS = 3
LEVEL_WEIGHTS = (5, 20, 45, 30)  # how often judges give 0, 1, 2, 3

PERSON_COLUMNS = ["id", "id_number", "name", "gender", "birth_date", "phone", "employer", "job",
                  "skill_level", "years_of_service", "created_at", "updated_at"]  # fmt: skip
ENTRY_COLUMNS = ["id", "competition", "trade", "person", "delegation", "group_name", "slot",
                 "status", "source", "review_note", "rejected_by", "ticket_number",
                 "ticket_version", "submitted_at", "reviewed_at", "created_at",
                 "updated_at"]  # fmt: skip
MARK_COLUMNS = ["slot", "aspect", "judge", "sheet", "value_hundredths", "client_id"]


def _log(text: str) -> None:
    print(f"  {text}", flush=True)


async def _next_id(table: str) -> int:
    from competition import db

    rows = await db.fetch_rows(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
    return rows[0][0] + 1


async def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    from competition import db

    async with db.transaction():
        if db.is_postgres():
            # A scratch database: the generator's rows reference rows it has just written, and
            # 6 million foreign-key checks would take minutes. Measured statements keep theirs.
            connection = db.engine().current_transaction.get().connection
            await connection.execute("SET LOCAL session_replication_role = replica")
        await db.copy_records(table, columns, rows)


async def _build(scale: float) -> dict:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from competition.demo.loader import load_demo
    from competition.tables import Delegation, Trade

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()
    started = time.perf_counter()
    rng = random.Random(SEED)
    demo = await load_demo()
    cid = demo.competition_id
    trades = await Trade.select(Trade.id, Trade.code, Trade.events).where(
        Trade.competition == cid
    ).order_by(Trade.id)  # fmt: skip
    delegations = [
        d["id"] for d in await Delegation.select(Delegation.id).where(Delegation.competition == cid)
    ]
    now = dt.datetime.now(dt.UTC)
    total = max(len(trades), round(CONTESTANTS * scale))
    shares = [total // len(trades) + (1 if n < total % len(trades) else 0)
              for n in range(len(trades))]  # fmt: skip

    ids = {t: await _next_id(t) for t in (
        "venue", "station", "competition_session", "person", "entry", "draw", "draw_slot",
        "app_user", "judge", "marking_scheme", "criterion", "aspect", "score_sheet",
    )}  # fmt: skip
    venue = ids["venue"]
    await _copy("venue", ["id", "competition", "code", "name", "address"],
                [(venue, cid, "BENCH-T", "Totals bench hall", "")])  # fmt: skip
    stations = list(range(ids["station"], ids["station"] + STATIONS))
    await _copy("station", ["id", "venue", "code", "label"],
                [(s, venue, f"S{n:03d}", "") for n, s in enumerate(stations)])  # fmt: skip

    sessions, people, entries, draws, slots = [], [], [], [], []
    users, judges, schemes, criteria, aspects, sheets = [], [], [], [], [], []
    penalties, completions, event_scores = [], [], []
    plan = []  # per trade: its sessions' slots, judges and sheets, aspects
    session_id, entry_id, slot_id = ids["competition_session"], ids["entry"], ids["draw_slot"]
    user_id, judge_id = ids["app_user"], ids["judge"]
    scheme_id, criterion_id, aspect_id = ids["marking_scheme"], ids["criterion"], ids["aspect"]
    sheet_id, draw_id = ids["score_sheet"], ids["draw"]
    for n, (trade, share) in enumerate(zip(trades, shares, strict=True)):
        tid = trade["id"]
        events = trade["events"]
        events = json.loads(events) if isinstance(events, str) else events
        has_oral = any(e["key"] == "oral" for e in events)
        panel = 5 if n % 10 == 0 else 3
        trade_judges = []
        for j in range(panel):
            users.append((user_id, f"bench-judge-{tid}-{j}", f"裁判{tid}-{j}", "!"))
            judges.append((judge_id, cid, user_id, f"裁判{tid}-{j}"))
            trade_judges.append(judge_id)
            user_id += 1
            judge_id += 1
        # A superseded first version (no marks count under it) and the current one.
        schemes.append((scheme_id, tid, 1, False, 10000, "form"))
        criteria.append((criterion_id, scheme_id, "A", "旧版", 0))
        aspects.append((aspect_id, scheme_id, criterion_id, "A1", "旧版评分项", "judgement",
                        10000, 3, False, "[]", "[]", 0))  # fmt: skip
        old_aspect = aspect_id
        scheme_id, criterion_id, aspect_id = scheme_id + 1, criterion_id + 1, aspect_id + 1
        current = scheme_id
        schemes.append((scheme_id, tid, 2, True, 10000, "form"))
        scheme_id += 1
        judgement, measurement = [], []
        for c in range(3):
            criteria.append((criterion_id, current, "ABC"[c], f"模块{c}", c))
            for a in range(4):
                kind = "measurement" if a == 3 else "judgement"
                maximum = rng.choice((500, 600, 800, 1000, 1200))
                aspects.append((aspect_id, current, criterion_id, f"{'ABC'[c]}{a + 1}",
                                f"评分项 {c}.{a}", kind, maximum, panel if kind == "judgement"
                                else 1, False, "[]", "[]", c * 4 + a))  # fmt: skip
                (judgement if kind == "judgement" else measurement).append((aspect_id, maximum))
                aspect_id += 1
            criterion_id += 1
        draws.append((draw_id, tid, f"{tid:032x}", "sha256-order-v1", False, "{}", "{}"))
        trade_sessions = []
        for s in range(-(-share // STATIONS)):
            starts = now + dt.timedelta(days=1 + s // 8, hours=s % 8)
            sessions.append((session_id, tid, venue, f"TB{s:03d}", f"Bench {s}", "practical",
                             starts, starts + dt.timedelta(hours=1)))  # fmt: skip
            trade_sessions.append((session_id, []))
            session_id += 1
        present = share
        absent = max(1, present * ABSENT_PERCENT // 100) if scale >= 0.01 else 0
        for e in range(present + absent):
            entry_id += 1
            people.append((entry_id, f"{entry_id:018d}", f"选手{entry_id:06d}", "male",
                           dt.date(1990, 1, 1), "", "", "", None, 0, now, now))  # fmt: skip
            entries.append((entry_id, cid, tid, entry_id, delegations[entry_id % len(delegations)],
                            "", 1, "approved", "import", "", "", f"TB-{entry_id:07d}", 1, now,
                            now, now, now))  # fmt: skip
            if rng.randrange(100) < 99 or not has_oral:
                event_scores.append((entry_id, tid, "theory", rng.randrange(4000, 10001)))
            if has_oral and rng.randrange(100) < 99:
                event_scores.append((entry_id, tid, "oral", rng.randrange(5000, 10001)))
            if e >= present:
                continue  # absent at the draw: no slot, no total
            session, members = trade_sessions[e // STATIONS]
            slots.append((slot_id, draw_id, tid, entry_id, session, stations[e % STATIONS],
                          f"{tid:03d}{e + 1:05d}", "", e + 1))  # fmt: skip
            members.append(slot_id)
            if rng.randrange(100) < 2:
                penalties.append((slot_id, tid, "safety", -rng.choice((100, 200, 500, 9000)),
                                  "bench"))  # fmt: skip
            if rng.randrange(100) < 95:
                completions.append((slot_id, tid, rng.randrange(3600, 14400)))
            slot_id += 1
        trade_sheets = []
        for session, members in trade_sessions:
            for judge in trade_judges:
                sheets.append((sheet_id, tid, session, judge, current, json.dumps(members),
                               "signed"))  # fmt: skip
                trade_sheets.append((sheet_id, session, judge, members))
                sheet_id += 1
        plan.append((trade_sheets, judgement, measurement, old_aspect))
        draw_id += 1

    await _copy("app_user", ["id", "username", "display_name", "password_hash"], users)
    await _copy("judge", ["id", "competition", "user", "name"], judges)
    await _copy("marking_scheme", ["id", "trade", "version", "is_current", "total_hundredths",
                                   "source"], schemes)  # fmt: skip
    await _copy("criterion", ["id", "scheme", "code", "name", "sort_order"], criteria)
    await _copy("aspect", ["id", "scheme", "criterion", "code", "description", "kind",
                           "max_hundredths", "judges_needed", "needs_verification",
                           "deductions", "descriptors", "sort_order"], aspects)  # fmt: skip
    await _copy("competition_session", ["id", "trade", "venue", "code", "name", "event",
                                        "starts_at", "ends_at"], sessions)  # fmt: skip
    await _copy("person", PERSON_COLUMNS, people)
    await _copy("entry", ENTRY_COLUMNS, entries)
    await _copy("draw", ["id", "trade", "seed", "algorithm", "second_layer", "inputs",
                         "summary"], draws)  # fmt: skip
    await _copy("draw_slot", ["id", "draw", "trade", "entry", "session", "station", "code",
                              "judge_code", "position"], slots)  # fmt: skip
    await _copy("score_sheet", ["id", "trade", "session", "judge", "scheme", "slots", "status"],
                sheets)  # fmt: skip
    await _copy("penalty", ["slot", "trade", "kind", "hundredths", "reason"], penalties)
    await _copy("completion_time", ["slot", "trade", "seconds"], completions)
    await _copy("event_score", ["entry", "trade", "event", "hundredths"], event_scores)
    _log(f"built {len(slots):,} contestants with a slot ({len(entries) - len(slots):,} absent) "
         f"in {len(trades)} trades, {len(sessions):,} sessions, {len(sheets):,} sheets "
         f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

    marks_started = time.perf_counter()
    levels = [0, 100, 200, 300]
    marks = 0
    client = 0
    for trade_sheets, judgement, measurement, old_aspect in plan:
        # A mark under the superseded scheme, which no total may count.
        sheet, _session, judge, members = trade_sheets[0]
        rows = [(members[0], old_aspect, judge, sheet, 300, f"old-{old_aspect}")]
        for sheet, _session, judge, members in trade_sheets:
            # The first judge of the session enters the panel's agreed Measurement values.
            first = sheet == min(s for s, ss, _j, _m in trade_sheets if ss == _session)
            for slot in members:
                draws_of = rng.choices(levels, LEVEL_WEIGHTS, k=len(judgement))
                skip = rng.randrange(1000) < 3  # a mark still missing here and there
                for (aspect, _maximum), value in zip(judgement, draws_of, strict=True):
                    if skip:
                        skip = False
                        continue
                    client += 1
                    rows.append((slot, aspect, judge, sheet, value, str(client)))
                if first:
                    for aspect, maximum in measurement:
                        if rng.randrange(1000) < 2:
                            continue
                        client += 1
                        rows.append((slot, aspect, None, sheet, rng.randrange(0, maximum + 1, 25),
                                     str(client)))  # fmt: skip
        await _copy("mark", MARK_COLUMNS, rows)
        marks += len(rows)
    if db.is_postgres():
        connection = await db.engine().get_new_connection()
        try:
            for table in ids:
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                    f'(SELECT max(id) FROM "{table}"))'
                )
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    else:
        await db.engine().run_ddl("ANALYZE")
    _log(f"built {marks:,} marks in {time.perf_counter() - marks_started:.1f} s")
    return {"cid": cid, "trades": [t["id"] for t in trades], "slots": len(slots), "marks": marks,
            "first_slot": ids["draw_slot"]}  # fmt: skip


MARKS_QUERY = "SELECT slot, aspect, judge, value_hundredths FROM mark"


async def _ceiling() -> dict[str, float]:
    """The marks read into pandas and grouped by slot: the bare cost of touching every mark."""
    import pandas as pd

    from competition import db

    started = time.perf_counter()
    if db.is_postgres():
        # COPY to CSV and pandas' C parser: the fastest way PostgreSQL rows reach a DataFrame
        # without another driver.
        buffer = io.BytesIO()
        connection = await db.engine().get_new_connection()
        try:
            await connection.copy_from_query(MARKS_QUERY, output=buffer, format="csv")
        finally:
            await connection.close()
        buffer.seek(0)
        frame = pd.read_csv(buffer, names=["slot", "aspect", "judge", "value_hundredths"],
                            dtype={"judge": "Int64"})  # fmt: skip
    else:
        connection = sqlite3.connect(db.engine().connection_kwargs["database"])
        try:
            frame = pd.read_sql_query(MARKS_QUERY, connection)
        finally:
            connection.close()
    read = time.perf_counter() - started
    started = time.perf_counter()
    by_slot = frame.groupby("slot")["value_hundredths"].sum()
    grouped = time.perf_counter() - started
    started = time.perf_counter()
    by_aspect = frame.groupby(["slot", "aspect"])["value_hundredths"].sum()
    grouped_aspect = time.perf_counter() - started
    assert len(frame) > 0 and len(by_slot) > 0 and len(by_aspect) >= len(by_slot)
    return {"read": read, "groupby_slot": grouped, "groupby_slot_aspect": grouped_aspect,
            "rows": len(frame)}  # fmt: skip


async def _check_sample(built: dict) -> int:
    """A sample of the totals written for the whole competition recomputed one by one (each
    slot's packed marks then scored in Python, not through the table of scored packings): the
    rows must not change."""
    from competition import db
    from scoring import totals

    columns = ", ".join(totals.TOTAL_COLUMNS[:-1])
    rng = random.Random(SEED)
    sample = rng.sample(range(built["first_slot"], built["first_slot"] + built["slots"]),
                        min(200, built["slots"]))  # fmt: skip
    for slot in sample:
        sql = f"SELECT {columns} FROM total WHERE slot = ?"  # noqa: S608
        before = await db.fetch_rows(sql, slot)
        assert await totals.recompute_entry(slot) == 1
        assert await db.fetch_rows(sql, slot) == before, slot
    return len(sample)


async def _measure() -> dict:
    from competition import db
    from scoring import totals
    from scoring.tables import Total

    await db.start_pool()
    try:
        built = await _build(ARGS.scale)
        cid = built["cid"]
        load_before = os.getloadavg()[0]
        runs = []
        for label in ("into an empty table", "replacing its rows"):
            phases: dict[str, float] = {}
            started = time.perf_counter()
            written = await totals.recompute_competition(cid, timings=phases)
            elapsed = time.perf_counter() - started
            assert written == built["slots"], (written, built["slots"])
            assert await Total.count() == built["slots"]
            runs.append({"label": label, "seconds": elapsed, "phases": phases})
            _log(f"recompute_competition {label}: {elapsed:.2f} s")
        trade = built["trades"][1]
        started = time.perf_counter()
        one_trade = await totals.recompute_trade(trade)
        trade_time = time.perf_counter() - started
        entry_times = []
        for n in range(20):
            started = time.perf_counter()
            await totals.recompute_entry(built["first_slot"] + n * 997 % built["slots"])
            entry_times.append(time.perf_counter() - started)
        checked = await _check_sample(built)
        ceiling = await _ceiling()
        load_after = os.getloadavg()[0]
        complete = await Total.count().where(Total.complete == True)  # noqa: E712
    finally:
        await db.close_pool()
    return {
        "database": "postgresql" if db.is_postgres() else "sqlite",
        "scale": ARGS.scale,
        "slots": built["slots"],
        "marks": built["marks"],
        "complete": complete,
        "runs": runs,
        "trade": {"totals": one_trade, "seconds": trade_time},
        "entry_ms_median": statistics.median(entry_times) * 1000,
        "ceiling": ceiling,
        "checked": checked,
        "load_average": [load_before, load_after],
    }


def _print(result: dict) -> None:
    ceiling = result["ceiling"]
    bare = ceiling["read"] + ceiling["groupby_slot"]
    print(f"  {result['slots']:,} totals from {result['marks']:,} marks "
          f"({result['complete']:,} complete); load average "
          f"{result['load_average'][0]:.1f} → {result['load_average'][1]:.1f}")  # fmt: skip
    print(f"  {'step':<44}{'seconds':>9}{'ceiling':>9}{'ratio':>8}")
    for run in result["runs"]:
        print(f"  {'recompute_competition, ' + run['label']:<44}{run['seconds']:>9.2f}"
              f"{bare:>9.2f}{run['seconds'] / bare:>7.1f}×")  # fmt: skip
    print(f"  {'  ceiling: pandas read of the marks':<44}{ceiling['read']:>9.2f}")
    print(f"  {'  ceiling: groupby slot → sum':<44}{ceiling['groupby_slot']:>9.2f}")
    print(f"  {'  (groupby slot, aspect → sum)':<44}{ceiling['groupby_slot_aspect']:>9.2f}")
    print(f"  {'  phases of the second run:':<44}")
    for name, seconds in result["runs"][-1]["phases"].items():
        print(f"  {'    ' + name:<44}{seconds:>9.2f}")
    trade = result["trade"]
    print(f"  {'recompute_trade (' + format(trade['totals'], ',') + ' totals)':<44}"
          f"{trade['seconds']:>9.2f}")  # fmt: skip
    print(f"  {'recompute_entry (one contestant, median)':<44}"
          f"{result['entry_ms_median'] / 1000:>9.3f}")  # fmt: skip
    print(f"  {result['checked']} totals recomputed one by one: identical")


def _child(url: str, out: Path) -> bool:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT),
           "JIANGXIN_SECRET": "bench-" + "x" * 48}  # fmt: skip
    command = [sys.executable, __file__, "--child", "--scale", str(ARGS.scale),
               "--out", str(out)]  # fmt: skip
    return subprocess.run(command, env=env, check=False).returncode == 0  # noqa: S603


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 200,000 contestants")
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.child:
        result = asyncio.run(_measure())
        Path(ARGS.out).write_text(json.dumps(result, indent=2))
        _print(result)
        return 0
    print(f"Totals bench, scale {ARGS.scale}, load average {os.getloadavg()[0]:.1f}. "
          f"Goal: {GOAL}", flush=True)  # fmt: skip
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results, ok = [], True
    if not ARGS.no_sqlite:
        print("\nSQLite", flush=True)
        path = WORK_DIR / f"bench-{os.getpid()}.sqlite3"
        out = WORK_DIR / f"bench-{os.getpid()}-sqlite.json"
        try:
            ok &= _child(f"sqlite:///{path}", out)
        finally:
            if not ARGS.keep:
                for leftover in WORK_DIR.glob(f"{path.name}*"):
                    leftover.unlink()
        if out.exists():
            results.append(json.loads(out.read_text()))
    if ARGS.postgres:
        name = f"jx_totals_bench_{os.getpid()}"
        parsed = urlparse(ARGS.postgres)
        print(f"\nPostgreSQL ({parsed.hostname}:{parsed.port or 5432})", flush=True)
        out = WORK_DIR / f"bench-{os.getpid()}-postgres.json"
        asyncio.run(admin(ARGS.postgres, f'CREATE DATABASE "{name}"'))
        try:
            ok &= _child(urlunparse(parsed._replace(path=f"/{name}")), out)
        finally:
            if ARGS.keep:
                print(f"  kept database {name}")
            else:
                asyncio.run(admin(ARGS.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
        if out.exists():
            results.append(json.loads(out.read_text()))
    if results:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        target = RESULTS / f"totals-{stamp}-scale{ARGS.scale:g}.json"
        target.write_text(json.dumps(results, indent=2))
        print(f"\nresult: {target.relative_to(REPO_ROOT)}")
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return 0 if ok else 1


ARGS: argparse.Namespace

if __name__ == "__main__":
    sys.exit(main())
