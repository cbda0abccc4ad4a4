"""Certificates at scale: 60,000 awardees numbered and printed (one PDF a trade) by the
product's own background job, next to a bare loop writing the same pages in the same run.

    .venv/bin/python bench/certificates.py [--scale 0.5] [--postgres URL] [--no-sqlite]

For each database a child process

1. builds the province of bench/results.py (at 0.5: 100,000 contestants in 102 trades, with
   their totals; not measured), makes every trade's results final with awards of 10/20/30 %
   and no titles or promotions: ~60,000 award certificates;
2. times the certificates job (`competition.results.jobs.certificates_job`, run as a worker runs
   it through `competition.jobs.service.execute`): numbering and storing every certificate with
   its first version and audit record, reading them back, printing a PDF a trade on every core,
   storing the files;
3. ceiling: a bare reportlab loop writing the same pages (the same texts, the same QR codes
   with a fixed mask) in this one process, no database;
4. reports peak memory (the child and, separately, its rendering processes).

Target (issue 15, "Scale"): 60,000 certificates ≤ 60 s on this 2-core machine.
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
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results"
GOALS = "60,000 certificates ≤ 60 s"
BASE_URL = "https://jiangxin.example.org"
ARGS: argparse.Namespace


def _log(text: str) -> None:
    print(f"  … {text}", flush=True)


async def _prepare(scale: float) -> dict:
    sys.path.insert(0, str(BENCH_DIR))
    import results as results_bench  # the same province, its totals recomputed

    from competition import db

    built = await results_bench._prepare(scale)
    awards = json.dumps({"mode": "ratio", "first": 10, "second": 20, "third": 30, "min_score": 0})
    async with db.transaction():
        await db.fetch_rows(
            "UPDATE trade SET stage = 'final', awards = ? WHERE competition = ?",
            awards,
            built["cid"],
        )
    return built


def _bare_loop(pages) -> float:
    """The ceiling: the same pages, drawn by plain reportlab calls in one process."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from competition import pdfs

    font = pdfs.font()
    started = time.perf_counter()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(297 * mm, 210 * mm))
    for page in pages:
        c.setFont(font, 44)
        c.drawString(100 * mm, 150 * mm, "荣誉证书")
        c.setFont(font, 20)
        c.drawString(48 * mm, 122 * mm, page.holder)
        c.drawString(58 * mm, 106 * mm, page.body[:30])
        c.drawString(48 * mm, 94 * mm, page.body[30:])
        c.setFont(font, 10)
        c.drawString(30 * mm, 24 * mm, page.number)
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=2)
        code.add_data(page.url)
        code.make(fit=True)
        n = len(code.modules)
        hexed = "".join(
            (int("".join("1" if d else "0" for d in row), 2) << ((-n) % 8))
            .to_bytes((n + (-n) % 8) // 8, "big").hex()
            for row in code.modules
        )  # fmt: skip
        c.addLiteral(f"q 80 0 0 80 85 90 cm BI /W {n} /H {n} /IM true /BPC 1 /D [1 0] "
                     f"/F /AHx ID {hexed}> EI Q")  # fmt: skip
        c.showPage()
    c.save()
    return time.perf_counter() - started


async def _measure() -> dict:
    from competition import db
    from competition.jobs import service
    from competition.jobs.tables import BackgroundJob, JobFile
    from competition.results import jobs
    from competition.results.certificates import service as certificates
    from competition.results.tables import Certificate

    await db.start_pool()
    try:
        built = await _prepare(ARGS.scale)
        cid = built["cid"]
        load_before = os.getloadavg()[0]
        rows = await BackgroundJob.insert(
            BackgroundJob(
                kind=jobs.CERTIFICATES,
                competition=cid,
                queue_key="bench",
                params={"base_url": BASE_URL},
            )
        ).returning(BackgroundJob.id)
        job_id = rows[0]["id"]
        _log("running the certificates job")
        started = time.perf_counter()
        state = await service.execute(job_id, "bench")
        job_seconds = time.perf_counter() - started
        view = await service.get(job_id)
        assert state == "done", view.error
        count = await Certificate.count().where(Certificate.competition == cid)
        stored = sum(f.size for f in view.files)
        pages = []
        for trade_id in await certificates.issuable_trades(cid):
            pages += certificates.pages_of(await certificates.of_trade(trade_id), BASE_URL)
        _log(f"{count:,} certificates in {len(view.files)} files; the bare loop now")
        bare = _bare_loop(pages)
        load_after = os.getloadavg()[0]
        files = await JobFile.count().where(JobFile.job == job_id)
    finally:
        await db.close_pool()
    return {
        "database": "postgresql" if db.is_postgres() else "sqlite",
        "scale": ARGS.scale,
        "entries": built["slots"],
        "certificates": count,
        "files": files,
        "stored_mb": stored / 1024 / 1024,
        "job_seconds": job_seconds,
        "job_steps": view.summary.get("seconds", {}),
        "bare_loop_seconds": bare,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_memory_renderers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cores": os.cpu_count(),
        "load_average": [load_before, load_after],
    }


def _print(result: dict) -> None:
    print(f"  {result['certificates']:,} certificates for {result['entries']:,} entries in "
          f"{result['files']} PDFs ({result['stored_mb']:.0f} MB); peak memory "
          f"{result['peak_memory_mb']:.0f} MB (renderers {result['peak_memory_renderers_mb']:.0f}"
          f" MB each at most); load average {result['load_average'][0]:.1f} → "
          f"{result['load_average'][1]:.1f}")  # fmt: skip
    print(f"  {'step':<52}{'seconds':>9}{'ceiling':>9}{'ratio':>8}")
    job, bare = result["job_seconds"], result["bare_loop_seconds"]
    print(f"  {'certificates job (number, store, print, save)':<52}{job:>9.2f}{bare:>9.2f}"
          f"{job / bare:>7.2f}×")  # fmt: skip
    steps = result.get("job_steps") or {}
    if steps:
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        print(f"    of which: {parts} (the rest: storing the files)")
    print(f"  ceiling: a bare reportlab loop over the same pages in one process "
          f"({bare / result['certificates'] * 1000:.2f} ms a page); the job prints on "
          f"{result['cores']} cores")  # fmt: skip


def _child(url: str, out: Path) -> bool:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT),
           "JIANGXIN_SECRET": "bench-" + "x" * 48}  # fmt: skip
    command = [sys.executable, __file__, "--child", "--scale", str(ARGS.scale),
               "--out", str(out)]  # fmt: skip
    return subprocess.run(command, env=env, check=False).returncode == 0  # noqa: S603


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.5, help="0.5: 100,000 contestants")
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    sys.path.insert(0, str(BENCH_DIR))
    import results as results_bench

    if ARGS.child:
        result = asyncio.run(_measure())
        Path(ARGS.out).write_text(json.dumps(result, indent=2))
        _print(result)
        return 0
    print(f"Certificates bench, scale {ARGS.scale}, load average {os.getloadavg()[0]:.1f}. "
          f"Goals: {GOALS}", flush=True)  # fmt: skip
    work = results_bench.WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    results, ok = [], True
    if not ARGS.no_sqlite:
        print("\nSQLite", flush=True)
        path = work / f"certificates-{os.getpid()}.sqlite3"
        out = work / f"certificates-{os.getpid()}-sqlite.json"
        try:
            ok &= _child(f"sqlite:///{path}", out)
        finally:
            for leftover in work.glob(f"{path.name}*"):
                leftover.unlink()
        if out.exists():
            results.append(json.loads(out.read_text()))
    if ARGS.postgres:
        name = f"jx_certificates_bench_{os.getpid()}"
        parsed = urlparse(ARGS.postgres)
        print(f"\nPostgreSQL ({parsed.hostname}:{parsed.port or 5432})", flush=True)
        out = work / f"certificates-{os.getpid()}-postgres.json"
        asyncio.run(admin(ARGS.postgres, f'CREATE DATABASE "{name}"'))
        try:
            ok &= _child(urlunparse(parsed._replace(path=f"/{name}")), out)
        finally:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            asyncio.run(admin(ARGS.postgres, drop))
        if out.exists():
            results.append(json.loads(out.read_text()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"certificates-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
