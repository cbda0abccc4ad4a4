"""`make bench`: a synthetic province (bench/province.py) carried through the whole pipeline by
the product's own services and import paths, each step timed next to its raw ceiling measured
in the same run.

    .venv/bin/python bench/pipeline.py [--scale 1.0] [--seed 16] [--postgres URL] [--no-sqlite]

The steps are `jiangxin rehearse`'s (competition/results/rehearsal.py, `RehearsalRun`), run one
by one in a process per database (a fresh SQLite file; with --postgres, or DATABASE_URL set to a
postgresql:// URL, a scratch database on that server, dropped afterwards): the structure, the
registration import (dry run, then commit — as an organizer's upload of the whole province),
both review levels, schemes, judges, the sign-in (check-in) sheet, the draw of every trade, the
paper marks (files of 50,000 rows, sheets signed), theory scores, penalties, completion times,
the totals, each chief judge's lock, decryption, the ranking with awards and titles, the
results workbook (xlsx); then publication and "final" for every trade and the certificates
batch job (one PDF a trade).

Each step's ceiling is the bare work of the same size in the same process: a bulk write of the
same number of rows and columns into a bare table (executemany on SQLite, COPY on PostgreSQL),
the draw's hashing, pandas reading and grouping the same marks, pandas ranking the same totals,
rustpy-xlsxwriter writing the same cells, plain reportlab drawing the same pages. Peak memory is
the process's VmHWM, counted afresh for each step (the certificate renderers' own peak apart).

Written: a table to the terminal and JSON under bench/results/pipeline-<engine>-scale<s>.json.

To work on one step without the hour before it (SQLite only): `--keep DIR --snapshot-before
draw` keeps the province and, just before the draw, a copy of the database and of the run's
state in DIR; `--resume DIR --from draw [--stop-after draw] [--profile draw]` then starts from
a fresh copy of that snapshot, as often as wanted.
Targets (issue 16, at scale 1, SQLite): import ≤ 10 s, draw ≤ 5 s, totals ≤ 5 s, rank+awards ≤ 5 s,
xlsx ≤ 20 s, 60k certificates ≤ 60 s, peak memory ≤ 1 GB, every step within 3× its ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(BENCH_DIR))

from bench.support import admin, peak_mb, reset_peak  # noqa: E402

BASE_URL = "https://jiangxin.example.org"
# Targets at scale 1 (seconds), by the table's step name; "import" is the check and the commit.
TARGETS = {"import": 10.0, "draw": 5.0, "totals": 5.0, "ranking": 5.0, "results.xlsx": 20.0,
           "certificates": 60.0}  # fmt: skip
PEAK_TARGET_MB = 1024
RATIO_TARGET = 3.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Bar:
    """One step's progress on the terminal (stderr), redrawn in place."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.shown = ""

    def __call__(self, step: str, share: float) -> None:
        if not sys.stderr.isatty():  # a log: a line at each quarter
            quarter = int(4 * min(1.0, share))
            line = f"  {step:<22} {quarter * 25:3d} % {time.perf_counter() - self.started:6.1f} s\n"
            if quarter and line.split("%")[0] != self.shown.split("%")[0]:
                sys.stderr.write(line)
                self.shown = line
            return
        filled = int(30 * min(1.0, share))
        line = (f"\r  {step:<22} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
                f"{time.perf_counter() - self.started:6.1f} s")  # fmt: skip
        if line != self.shown:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.shown = line

    def done(self) -> None:
        if self.shown and sys.stderr.isatty():
            sys.stderr.write("\n")
        self.shown = ""
        self.started = time.perf_counter()


# ---------------------------------------------------------------------------- ceilings


async def bare_insert(rows: int, columns: int) -> float:
    """A bulk write of `rows` rows of `columns` integer and text columns into a bare table
    without indexes, in one transaction: the raw write ceiling of a step that stores as much."""
    from competition import db

    if rows == 0:
        return 0.0
    names = [f"c{i}" for i in range(columns)]
    kinds = ", ".join(f"{n} {'INTEGER' if i % 2 == 0 else 'TEXT'}" for i, n in enumerate(names))
    async with db.transaction():
        await db.fetch_rows("DROP TABLE IF EXISTS bench_bare")
        await db.fetch_rows(f"CREATE TABLE bench_bare ({kinds})")
    values = [tuple(n if i % 2 == 0 else f"v{n}" for i in range(columns)) for n in range(rows)]
    started = time.perf_counter()
    async with db.transaction():
        await db.copy_records("bench_bare", names, values)
    elapsed = time.perf_counter() - started
    async with db.transaction():
        await db.fetch_rows("DROP TABLE bench_bare")
    return elapsed


def read_csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1


async def ceilings(run, directory: Path, trades: list) -> dict[str, float]:
    """Each step's bare counterpart, measured after the pipeline in the same process."""
    import certificates as certificates_bench
    import pandas as pd
    import results as results_bench
    import totals as totals_bench

    from competition import db
    from competition.results.certificates import service as certificates

    counts = {name: read_csv_rows(directory / f"{name}.csv")
              for name in ("registrations", "signin", "marks", "theory", "penalties", "times",
                           "schemes", "judges")}  # fmt: skip
    entries = counts["registrations"]
    out: dict[str, float] = {}
    # Registration: pandas reading the file (the check's floor: every cell read), then the
    # person and the entry rows (11 and 14 columns, as the import writes them).
    started = time.perf_counter()
    pd.read_csv(directory / "registrations.csv", dtype=str, keep_default_na=False)
    out["registrations: check"] = time.perf_counter() - started
    out["registrations: import"] = await bare_insert(entries, 11) + await bare_insert(entries, 14)
    # Two review levels: each entry's status written and an audit row each, twice.
    out["review"] = 2 * await bare_insert(entries, 8)
    out["schemes"] = await bare_insert(counts["schemes"], 10)
    out["judges"] = 2 * await bare_insert(counts["judges"], 8)
    out["sign-in"] = await bare_insert(counts["signin"], 6)
    started = time.perf_counter()
    for e in range(counts["signin"]):
        for layer in ("order", "code"):
            hashlib.sha256(f"seed|{layer}|{e}".encode()).digest()
    out["draw"] = time.perf_counter() - started + await bare_insert(counts["signin"], 8)
    # A mark and its trail row (11 and 12 columns).
    out["marks"] = await bare_insert(counts["marks"], 11) + await bare_insert(counts["marks"], 12)
    for name in ("theory", "penalties", "times"):
        out[name] = await bare_insert(counts[name], 8)
    figures = await totals_bench._ceiling()
    out["totals"] = figures["read"] + figures["groupby_slot_aspect"]
    started = time.perf_counter()
    rows = await db.fetch_rows("SELECT sheet, COUNT(*) FROM mark GROUP BY sheet")
    out["lock"] = time.perf_counter() - started
    assert rows
    out["decryption"] = await bare_insert(counts["signin"], 4)
    rank = await results_bench._ceiling_rank(run.competition_id)
    out["ranking"] = rank["read"] + rank["rank"]
    out["results.xlsx"] = results_bench._bare_writer(trades)
    pages = []
    for trade_id in await certificates.issuable_trades(run.competition_id):
        pages += certificates.pages_of(await certificates.of_trade(trade_id), BASE_URL)
    out["certificates"] = certificates_bench._bare_loop(pages)
    out["publication"] = await bare_insert(entries, 12)
    out["review sample"] = await bare_insert(max(1, entries // 5), 8)
    return out


# ---------------------------------------------------------------------------- the pipeline


async def _review_sample(run) -> int:
    """Each trade's review sample (复核) drawn and every sampled entry re-checked "correct" by a
    supervisor, as the supervisors' page records it."""
    from competition.audit import Actor
    from scoring.review import service as review

    supervisor = Actor(user_id=None, name="bench supervisor")
    checked = 0
    for n, trade_id in enumerate(run.with_entries, start=1):
        await review.draw_sample(trade_id, actor=supervisor, seed=f"bench-{trade_id}")
        sample = await review.sample_view(trade_id)
        for check in sample.checks:
            await review.record_check(sample.id, check["slot"], "ok", actor=supervisor)
        checked += len(sample.checks)
        run.detail("review sample", n / len(run.with_entries))
    return checked


async def _publish_and_finalise(run) -> int:
    """Every trade published with an hour's notice (公示), then — the clock moved past the
    notice, no appeal filed — made final."""
    import datetime as dt

    from competition import clock
    from competition.phases import Phase
    from competition.results import publication
    from competition.results.rehearsal import ACTOR, _advance

    await _advance(run.competition_id, Phase.locked)
    for trade_id in run.with_entries:
        await publication.publish(trade_id, actor=ACTOR, notice_hours=1)
    await _advance(run.competition_id, Phase.published)
    real_now = clock.now
    clock.now = lambda: real_now() + dt.timedelta(hours=2)
    try:
        for trade_id in run.with_entries:
            await publication.make_final(trade_id, actor=ACTOR)
    finally:
        clock.now = real_now
    return len(run.with_entries)


async def _certificates(run) -> tuple[int, dict]:
    from competition.jobs import service
    from competition.jobs.tables import BackgroundJob
    from competition.results import jobs
    from competition.results.tables import Certificate

    rows = await BackgroundJob.insert(
        BackgroundJob(
            kind=jobs.CERTIFICATES,
            competition=run.competition_id,
            queue_key="bench",
            params={"base_url": BASE_URL},
        )
    ).returning(BackgroundJob.id)
    state = await service.execute(rows[0]["id"], "bench")
    view = await service.get(rows[0]["id"])
    assert state == "done", view.error
    count = await Certificate.count().where(Certificate.competition == run.competition_id)
    return count, {"files": len(view.files), "mb": sum(f.size for f in view.files) / 1e6}


STOP_AFTER = [""]  # --stop-after: the step to end the run with (for profiling one step)
PROFILE: set[str] = set()  # steps to profile (--profile), each written as text next to the JSON


async def _profiled(name: str, step, out: Path) -> int:
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="enabled")
    with profiler:
        records = await step()
    target = out.with_name(f"{out.stem}-{name.replace(' ', '').replace(':', '-')}.profile.txt")
    target.write_text(profiler.output_text(unicode=True, show_all=False))
    _log(f"  profile of {name}: {target}")
    return records


SNAPSHOT_BEFORE: set[str] = set()  # --snapshot-before: steps to keep the database before
RESUME_FROM = [""]  # --from: the step a resumed run starts at


def _snapshot_paths(keep: Path, step: str) -> tuple[Path, Path]:
    name = step.replace(" ", "").replace(":", "-")
    return keep / f"before-{name}.sqlite3", keep / f"before-{name}.state"


def _snapshot(run, step: str, keep: Path) -> None:
    import sqlite3

    from competition.config import get_settings

    database, state = _snapshot_paths(keep, step)
    source = sqlite3.connect(get_settings().database.sqlite_path)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    state.write_bytes(pickle.dumps((run.done, run.people, run.with_entries)))
    _log(f"  snapshot before {step}: {database}")


async def measure(directory: Path, out: Path, keep: Path | None = None) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from competition.results.rehearsal import RehearsalRun
    from competition.results.standings import competition_standings

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()
    await db.start_pool()
    bar = Bar()
    steps: list[dict] = []
    try:
        run = RehearsalRun(directory, "PROV", fmt="xlsx", output=out.with_suffix(".xlsx"),
                           detail=bar)  # fmt: skip
        plan = run.steps()
        plan += [("review sample", lambda: _review_sample(run)),
                 ("publication", lambda: _publish_and_finalise(run))]  # fmt: skip
        if RESUME_FROM[0]:
            names = [name for name, _step in plan]
            plan = plan[names.index(RESUME_FROM[0]) :]
            _database, state = _snapshot_paths(keep, RESUME_FROM[0])
            kept = pickle.loads(state.read_bytes())  # noqa: S301 - written by _snapshot
            run.done, run.people, run.with_entries = kept
        else:
            await run.check()
        load_before = os.getloadavg()[0]
        extra: dict = {}
        for name, step in plan:
            if name in SNAPSHOT_BEFORE and keep is not None:
                _snapshot(run, name, keep)
            reset_peak()
            bar.started = time.perf_counter()
            started = time.perf_counter()
            if name in PROFILE:
                records = await _profiled(name, step, out)
            else:
                records = await step()
            seconds = time.perf_counter() - started
            bar.done()
            steps.append({"step": name, "records": records, "seconds": seconds,
                          "peak_mb": peak_mb()})  # fmt: skip
            _log(f"  {name:<22} {records:>12,} {seconds:9.2f} s  peak {peak_mb():6.0f} MB")
            if name == STOP_AFTER[0]:
                _log(f"  stopped after {name} (--stop-after)")
                return
        reset_peak()
        started = time.perf_counter()
        count, extra["certificates"] = await _certificates(run)
        seconds = time.perf_counter() - started
        steps.append({"step": "certificates", "records": count, "seconds": seconds,
                      "peak_mb": peak_mb(),
                      "renderers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                      / 1024})  # fmt: skip
        _log(f"  {'certificates':<22} {count:>12,} {seconds:9.2f} s  peak {peak_mb():6.0f} MB")
        _log("  … the ceilings")
        trades = await competition_standings(run.competition_id, run.with_entries)
        bare = await ceilings(run, directory, trades)
        load_after = os.getloadavg()[0]
    finally:
        await db.close_pool()
    for step in steps:
        step["ceiling"] = bare.get(step["step"])
    out.write_text(json.dumps({
        "database": "postgresql" if db.is_postgres() else "sqlite",
        "steps": steps, "extra": extra, "load_average": [load_before, load_after],
        "cores": os.cpu_count(),
    }, ensure_ascii=False, indent=1))  # fmt: skip


# ---------------------------------------------------------------------------- the parent


def _row(name: str, records: int, seconds: float, ceiling: float | None, peak: float,
         target: float | None) -> str:  # fmt: skip
    ratio = f"{seconds / ceiling:7.1f}×" if ceiling else "       —"
    shown_ceiling = f"{ceiling:9.2f}" if ceiling is not None else "        —"
    mark = ""
    if target is not None:
        mark = f"  target ≤ {target:g} s {'met' if seconds <= target else 'MISSED'}"
    return (f"  {name:<22} {records:>12,} {seconds:9.2f} {shown_ceiling} {ratio} "
            f"{peak:8.0f}{mark}")  # fmt: skip


def report(result: dict, scale: float) -> list[str]:
    steps = result["steps"]
    lines = [f"{result['database']} (scale {scale:g}, load average "
             f"{result['load_average'][0]:.1f} → {result['load_average'][1]:.1f}, "
             f"{result['cores']} cores)",
             f"  {'step':<22} {'records':>12} {'seconds':>9} {'ceiling':>9} {'ratio':>8} "
             f"{'peak MB':>8}"]  # fmt: skip
    by_name = {s["step"]: s for s in steps}
    for step in steps:
        target = TARGETS.get(step["step"]) if scale == 1 else None
        if target is not None and step["step"] == "certificates":
            target *= step["records"] / 60_000  # the target is 60 s for 60,000
        lines.append(_row(step["step"], step["records"], step["seconds"], step["ceiling"],
                          step["peak_mb"], target))  # fmt: skip
    check, commit = by_name["registrations: check"], by_name["registrations: import"]
    total = sum(s["seconds"] for s in steps)
    lines.append(_row("import (check+commit)", commit["records"],
                      check["seconds"] + commit["seconds"],
                      (check["ceiling"] or 0) + (commit["ceiling"] or 0),
                      max(check["peak_mb"], commit["peak_mb"]),
                      TARGETS["import"] if scale == 1 else None))  # fmt: skip
    peak = max(s["peak_mb"] for s in steps)
    renderers = by_name["certificates"].get("renderers_peak_mb", 0)
    lines.append(
        f"  {'whole pipeline':<22} {'':>12} {total:9.2f}   peak {peak:.0f} MB "
        f"(certificate renderers {renderers:.0f} MB each at most; target ≤ "
        f"{PEAK_TARGET_MB} MB {'met' if peak <= PEAK_TARGET_MB else 'MISSED'})"
    )
    over = [s["step"] for s in steps if s["ceiling"] and s["seconds"] > RATIO_TARGET * s["ceiling"]]
    lines.append(f"  steps over {RATIO_TARGET:g}× their ceiling: {', '.join(over) or 'none'}")
    return lines


def _child(directory: Path, url: str, out: Path, profile: list[str],
           keep: Path | None = None) -> bool:  # fmt: skip
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT),
           "JIANGXIN_SECRET": "bench-pipeline-" + "x" * 40}  # fmt: skip
    code = subprocess.call(  # noqa: S603 - this script
        [
            sys.executable,
            __file__,
            "--child",
            str(directory),
            "--out",
            str(out),
            *(f"--profile={p}" for p in profile),
            *([f"--stop-after={STOP_AFTER[0]}"] if STOP_AFTER[0] else []),
            *(f"--snapshot-before={step}" for step in sorted(SNAPSHOT_BEFORE)),
            *([f"--from={RESUME_FROM[0]}"] if RESUME_FROM[0] else []),
            *([f"--keep={keep}"] if keep else []),
        ],
        env=env,
    )
    return code == 0


def _resume(args) -> int:
    """A run from a snapshot kept by --keep/--snapshot-before, on a fresh copy of it (SQLite)."""
    import shutil

    work = args.resume.resolve()
    snapshot, state = _snapshot_paths(work, args.start_at or "")
    if not args.start_at or not snapshot.is_file() or not state.is_file():
        kept = sorted(p.stem.removeprefix("before-") for p in work.glob("before-*.sqlite3"))
        _log(f"--resume needs --from with a kept step; {work} holds: {', '.join(kept) or 'none'}")
        return 2
    database = work / "resumed.sqlite3"
    for stale in (database, database.with_name(database.name + "-wal"),
                  database.with_name(database.name + "-shm")):  # fmt: skip
        stale.unlink(missing_ok=True)
    shutil.copyfile(snapshot, database)
    RESUME_FROM[0] = args.start_at
    out = work / "pipeline-resumed.json"
    return 0 if _child(work / "province", f"sqlite:///{database}", out, args.profile, work) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--postgres", help="postgresql://… of a server to make a database on")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--profile", action="append", default=[],
                        help="profile this step with pyinstrument (repeatable)")  # fmt: skip
    parser.add_argument("--stop-after", help="end the run after this step (with --profile)")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (the province, the snapshots)"
    )
    parser.add_argument(
        "--snapshot-before",
        action="append",
        default=[],
        help="with --keep, SQLite: keep the database before this step",
    )
    parser.add_argument("--resume", type=Path, help="a --keep folder to start again from")
    parser.add_argument("--from", dest="start_at", help="with --resume: the snapshot's step")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from competition.errors import DomainError
        from competition.i18n import current_locale, translate_error

        current_locale.set("en")
        PROFILE.update(args.profile)
        STOP_AFTER[0] = args.stop_after or ""
        SNAPSHOT_BEFORE.update(args.snapshot_before)
        RESUME_FROM[0] = args.start_at or ""
        try:
            asyncio.run(measure(args.child, args.out, args.keep))
        except DomainError as exc:
            _log(f"stopped: {translate_error(exc)}")
            return 1
        return 0
    STOP_AFTER[0] = args.stop_after or ""
    SNAPSHOT_BEFORE.update(args.snapshot_before)
    if args.resume:
        return _resume(args)
    postgres = args.postgres
    if postgres is None and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        postgres = os.environ["DATABASE_URL"]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="jiangxin-pipeline-"))
    directory = work / "province"
    started = time.perf_counter()
    from province import write_province

    counts = write_province(directory, args.scale, args.seed)
    _log(f"province (seed {args.seed}, scale {args.scale:g}) written in "
         f"{time.perf_counter() - started:.1f} s: {counts['registrations']:,} registrations, "
         f"{counts['trades']} trades, {counts['delegations']} delegations, "
         f"{counts['marks']:,} marks")  # fmt: skip
    (work / "bench.sqlite3").unlink(missing_ok=True)
    engines = [] if args.no_sqlite else [("sqlite", f"sqlite:///{work}/bench.sqlite3")]
    scratch = None
    if postgres:
        scratch = f"jiangxin_bench_pipeline_{os.getpid()}"
        asyncio.run(admin(postgres, f'CREATE DATABASE "{scratch}"'))
        engines.append(("postgresql", urlunparse(urlparse(postgres)._replace(path=f"/{scratch}"))))
    RESULTS.mkdir(exist_ok=True)
    failed = False
    lines: list[str] = []
    try:
        for engine, url in engines:
            _log(f"{engine}:")
            out = work / f"pipeline-{engine}.json"
            keep = work if args.keep and engine == "sqlite" else None
            if not _child(directory, url, out, args.profile, keep):
                _log(f"{engine}: the pipeline failed")
                failed = True
                continue
            if STOP_AFTER[0]:
                continue
            result = json.loads(out.read_text())
            result.update(scale=args.scale, seed=args.seed, province=counts)
            (RESULTS / f"pipeline-{engine}-scale{args.scale:g}.json").write_text(
                json.dumps(result, ensure_ascii=False, indent=1)
            )
            lines += report(result, args.scale)
    finally:
        if scratch:
            asyncio.run(admin(postgres, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
