"""Results at scale: 200,000 contestants ranked, awarded and titled, and every ranking written
as one xlsx, each next to its ceiling measured in the same run.

    .venv/bin/python bench/results.py [--scale 1.0] [--postgres URL] [--no-sqlite]

For each database a child process

1. builds the data of bench/totals.py (seed 13: 102 trades, 200,000 contestants, ~6 million
   marks) and recomputes the totals (not measured), then marks every trade decrypted, gives
   every third trade two groups (职工组/学生组, the contestants split by id) and every fifth the
   WorldSkills view, so every rule runs;
2. times `competition_standings` (read the totals and the entries, rank, award bands, titles,
   promotions, the 700 scale) for the whole competition, with the read and the rules apart;
   ceiling: the same totals read into pandas and `groupby([trade, group]).rank(method="min")`;
3. times `rankings_xlsx` of all of it (a summary sheet and 102 trade sheets, 19 columns) and
   `rankings_csv`; ceiling: the bare rustpy-xlsxwriter call on the same cells, already built;
4. reports peak memory (max RSS of the child).

Targets (issue 14, "Scale"): rank + awards + titles ≤ 5 s; the xlsx of all rankings ≤ 20 s.
Printed and written as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

WORK_DIR = Path(tempfile.gettempdir()) / "i14" / "results"
RESULTS = REPO_ROOT / "bench" / "results"
GOALS = "rank+awards+titles ≤ 5 s; xlsx of all rankings ≤ 20 s"
ARGS: argparse.Namespace


def _log(text: str) -> None:
    print(f"  … {text}", flush=True)


async def _prepare(scale: float) -> dict:
    sys.path.insert(0, str(BENCH_DIR))
    import totals as totals_bench  # bench/totals.py: the same synthetic province

    from competition import db
    from scoring import totals

    totals_bench.ARGS = argparse.Namespace(scale=scale)
    started = time.perf_counter()
    built = await totals_bench._build(scale)
    await totals.recompute_competition(built["cid"])
    cid = built["cid"]
    async with db.transaction():
        await db.fetch_rows("UPDATE trade SET stage = 'decrypted' WHERE competition = ?", cid)
        await db.fetch_rows(
            "UPDATE trade SET groups = ? WHERE competition = ? AND id % 3 = 0",
            '["职工组", "学生组"]',
            cid,
        )
        await db.fetch_rows(
            "UPDATE entry SET group_name = CASE WHEN id % 2 = 0 THEN '职工组' ELSE '学生组' END "
            "WHERE trade IN (SELECT id FROM trade WHERE competition = ? AND id % 3 = 0)",
            cid,
        )
        rows = await db.fetch_rows("SELECT id, awards FROM trade WHERE competition = ?", cid)
        for trade_id, awards in rows:
            if trade_id % 5 == 0:
                value = json.loads(awards) if isinstance(awards, str) else dict(awards)
                value["worldskills_view"] = True
                await db.fetch_rows(
                    "UPDATE trade SET awards = ? WHERE id = ?", json.dumps(value), trade_id
                )
    _log(f"built and totalled in {time.perf_counter() - started:.0f} s")
    return built


async def _ceiling_rank(cid: int) -> dict[str, float]:
    import pandas as pd

    from competition import db

    sql = (
        "SELECT t.entry, t.trade, e.group_name, t.weighted_hundredths, t.practical_hundredths, "
        "t.theory_hundredths, t.completion_seconds FROM total t JOIN entry e ON e.id = t.entry "
        "WHERE e.competition = ?"
    )
    started = time.perf_counter()
    rows = await db.fetch_rows(sql, cid)
    frame = pd.DataFrame(
        rows, columns=["entry", "trade", "group", "total", "practical", "theory", "seconds"]
    )
    read = time.perf_counter() - started
    started = time.perf_counter()
    frame["place"] = frame.groupby(["trade", "group"])["total"].rank(method="min", ascending=False)
    return {"read": read, "rank": time.perf_counter() - started, "rows": len(frame)}


async def _measure() -> dict:
    from competition import db
    from competition.results import exports, standings
    from scoring import scores

    await db.start_pool()
    try:
        built = await _prepare(ARGS.scale)
        cid = built["cid"]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        trades = await standings.competition_standings(cid)
        whole = time.perf_counter() - started
        ranked = sum(1 for t in trades for r in t.rows if r.place)
        # The same again, the reads and the rules apart.
        started = time.perf_counter()
        trade_rows = [
            standings._trade_dict(row)
            for row in await db.fetch_rows(
                standings._TRADE_SQL + "WHERE t.competition = ? ORDER BY t.sort_order, t.code",
                cid,
            )
        ]
        all_totals = await scores.totals_of_competition(cid)
        entries = await db.fetch_rows(
            standings._ENTRY_SQL + "AND e.competition = ?", "approved", cid
        )
        read = time.perf_counter() - started
        started = time.perf_counter()
        by_trade_totals: dict[int, list] = {}
        for total in all_totals:
            by_trade_totals.setdefault(total.trade, []).append(total)
        by_trade_entries: dict[int, list] = {}
        for entry in entries:
            by_trade_entries.setdefault(entry[1], []).append(entry)
        again = []
        for trade in trade_rows:
            present, absent = standings._rows(
                trade, by_trade_totals.get(trade["id"], []), by_trade_entries.get(trade["id"], [])
            )
            again.append(standings.standings_of(trade, present, absent))
        rules = time.perf_counter() - started
        assert [r.place for t in again for r in t.rows] == [r.place for t in trades for r in t.rows]
        ceiling = await _ceiling_rank(cid)

        started = time.perf_counter()
        xlsx = exports.rankings_xlsx(trades, full_id=True)
        xlsx_seconds = time.perf_counter() - started
        started = time.perf_counter()
        exports.rankings_csv(trades, full_id=True)
        csv_seconds = time.perf_counter() - started
        bare = _bare_writer(trades)
        load_after = os.getloadavg()[0]
    finally:
        await db.close_pool()
    return {
        "database": "postgresql" if db.is_postgres() else "sqlite",
        "scale": ARGS.scale,
        "entries": built["slots"],
        "marks": built["marks"],
        "ranked": ranked,
        "standings_seconds": whole,
        "read_seconds": read,
        "rules_seconds": rules,
        "ceiling": ceiling,
        "xlsx_seconds": xlsx_seconds,
        "xlsx_bytes": len(xlsx),
        "csv_seconds": csv_seconds,
        "xlsx_ceiling_seconds": bare,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": [load_before, load_after],
    }


def _bare_writer(trades) -> float:
    """The ceiling of the workbook: rustpy-xlsxwriter writing the same cells, built before the
    clock starts (no escaping, no formats, no column widths)."""
    import rustpy_xlsxwriter

    from competition.results import exports

    names = exports.headers()
    kinds = [c.kind for c in exports.COLUMNS]
    sheets = []
    for index, trade in enumerate(trades):
        records = [
            dict(zip(names, (exports._cell(k, v) for k, v in zip(kinds, values, strict=True)),
                     strict=True))
            for _t, values in exports.result_rows([trade], full_id=True)
        ]  # fmt: skip
        sheets.append((f"S{index}", records or [dict.fromkeys(names)]))
    started = time.perf_counter()
    rustpy_xlsxwriter.write_worksheets(sheets, io.BytesIO())
    return time.perf_counter() - started


def _print(result: dict) -> None:
    ceiling = result["ceiling"]
    rank_ceiling = ceiling["read"] + ceiling["rank"]
    print(f"  {result['entries']:,} entries from {result['marks']:,} marks, {result['ranked']:,} "
          f"ranked; peak memory {result['peak_memory_mb']:.0f} MB; load average "
          f"{result['load_average'][0]:.1f} → {result['load_average'][1]:.1f}")  # fmt: skip
    print(f"  {'step':<48}{'seconds':>9}{'ceiling':>9}{'ratio':>8}")
    rows = [
        ("rank + awards + titles + 700 (whole competition)", result["standings_seconds"],
         rank_ceiling),
        ("  of which: read totals and entries", result["read_seconds"], ceiling["read"]),
        ("  of which: the rules (pure Python)", result["rules_seconds"], ceiling["rank"]),
        ("xlsx of all rankings", result["xlsx_seconds"], result["xlsx_ceiling_seconds"]),
        ("csv of all rankings", result["csv_seconds"], None),
    ]  # fmt: skip
    for label, seconds, bound in rows:
        tail = f"{bound:>9.2f}{seconds / bound:>7.1f}×" if bound else ""
        print(f"  {label:<48}{seconds:>9.2f}{tail}")
    print(f"  ceilings: pandas read {ceiling['read']:.2f} s + groupby/rank {ceiling['rank']:.2f} s;"
          f" bare rustpy-xlsxwriter on the same cells")  # fmt: skip


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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.child:
        result = asyncio.run(_measure())
        Path(ARGS.out).write_text(json.dumps(result, indent=2))
        _print(result)
        return 0
    print(f"Results bench, scale {ARGS.scale}, load average {os.getloadavg()[0]:.1f}. "
          f"Goals: {GOALS}", flush=True)  # fmt: skip
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results, ok = [], True
    if not ARGS.no_sqlite:
        print("\nSQLite", flush=True)
        path = WORK_DIR / f"bench-{os.getpid()}.sqlite3"
        out = WORK_DIR / f"bench-{os.getpid()}-sqlite.json"
        try:
            ok &= _child(f"sqlite:///{path}", out)
        finally:
            for leftover in WORK_DIR.glob(f"{path.name}*"):
                leftover.unlink()
        if out.exists():
            results.append(json.loads(out.read_text()))
    if ARGS.postgres:
        name = f"jx_results_bench_{os.getpid()}"
        parsed = urlparse(ARGS.postgres)
        print(f"\nPostgreSQL ({parsed.hostname}:{parsed.port or 5432})", flush=True)
        out = WORK_DIR / f"bench-{os.getpid()}-postgres.json"
        asyncio.run(admin(ARGS.postgres, f'CREATE DATABASE "{name}"'))
        try:
            ok &= _child(urlunparse(parsed._replace(path=f"/{name}")), out)
        finally:
            asyncio.run(admin(ARGS.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if out.exists():
            results.append(json.loads(out.read_text()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"results-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
