"""The results' background jobs: every ranking of the competition as one file (at 200,000
entries the workbook takes several seconds to rank and write, bench/results.py: too long for a
request to wait on and worth a progress bar; one trade's ranking stays a plain download), and
the certificates of a trade or of the whole competition (numbered, then printed a PDF a trade,
on every core for a big batch)."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Hashable
from concurrent.futures import ProcessPoolExecutor, as_completed

import anyio.from_thread
import anyio.to_thread

from competition.audit import Actor
from competition.errors import PhaseError
from competition.i18n import N_
from competition.jobs.kinds import JobOutput, OutputFile, register
from competition.jobs.service import JobRun
from competition.results import exports
from competition.results.certificates import pdf
from competition.results.certificates import service as certificates
from competition.results.certificates.layout import Design

RANKINGS = "results.rankings"


@register(RANKINGS, N_("Every ranking of the competition"))
async def rankings(run: JobRun) -> JobOutput:
    """params: format (xlsx / csv), encoding (utf-8 / gb18030, CSV only), full_id (the
    organizer's file; a supervisor's has the ID numbers masked)."""
    fmt = "csv" if run.params.get("format") == "csv" else "xlsx"
    encoding = "gb18030" if run.params.get("encoding") == "gb18030" else "utf-8"
    full_id = bool(run.params.get("full_id"))
    assert run.competition_id is not None
    await run.progress(0, step=N_("Ranking every locked trade"), force=True)
    trades = await exports.locked_standings(run.competition_id)
    count = len(trades)
    await run.progress(0, count, N_("Writing the rankings, a trade at a time"), force=True)

    def written(n: int) -> None:
        anyio.from_thread.run(run.progress, n, count)

    def build() -> bytes:
        if fmt == "csv":
            return b"".join(
                exports.rankings_csv_chunks(
                    trades, full_id=full_id, encoding=encoding, on_trade=written
                )
            )
        return exports.rankings_xlsx(trades, full_id=full_id, on_trade=written)

    content = await anyio.to_thread.run_sync(build)
    await run.progress(count, count, N_("Saving the file"), force=True)
    name, ascii_name = await exports.file_names(run.competition_id)
    return JobOutput(
        files=[
            OutputFile(
                f"{name}-成绩排名.{fmt}",
                f"{ascii_name}-results.{fmt}",
                exports.media_type(fmt, encoding),
                content,
            )
        ],
        summary={"trades": count, "entries": sum(len(t.rows) for t in trades)},
    )


CERTIFICATES = "results.certificates"
# Below this many pages a batch renders in the worker's own thread; above it, in one process a
# core (a spawned process costs ~0.5 s to start, a page ~0.9 ms).
PROCESS_THRESHOLD = 2_000
# A file holds at most this many certificates: a renderer keeps its whole file in memory until it
# is written (reportlab's canvas; measured, a spawned renderer of one 18,000-page file peaked at
# 269 MB, of 2,000-page files at 164 MB, most of it its imports), and a print shop takes files of
# a few thousand pages.
PART_PAGES = 2_000


def parts_of(trade_id: int, pages: list[pdf.Page]) -> list[tuple[tuple[int, int, int], list]]:
    """A trade's pages cut, in order, into files of at most PART_PAGES: ((trade, part, parts),
    pages), parts numbered from 1."""
    count = -(-len(pages) // PART_PAGES)
    return [
        ((trade_id, k + 1, count), pages[k * PART_PAGES : (k + 1) * PART_PAGES])
        for k in range(count)
    ]


def _render_batches(
    batches: list[tuple[Hashable, list[pdf.Page]]], design: Design, on_done
) -> dict[Hashable, bytes]:
    """Each batch's pages as one PDF, by the batch's key; `on_done(pages)` after each."""
    out: dict[Hashable, bytes] = {}
    total = sum(len(pages) for _t, pages in batches)
    if total < PROCESS_THRESHOLD or (os.cpu_count() or 1) < 2:
        for key, pages in batches:
            out[key] = pdf.render(pages, design)
            on_done(len(pages))
        return out
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        futures = {pool.submit(pdf.render, pages, design): (key, len(pages))
                   for key, pages in batches}  # fmt: skip
        for future in as_completed(futures):
            key, count = futures[future]
            out[key] = future.result()
            on_done(count)
    return out


@register(CERTIFICATES, N_("Certificates"))
async def certificates_job(run: JobRun) -> JobOutput:
    """params: trade_id (one trade; absent: every trade whose results are final), base_url
    (where the QR codes point: the site's public address)."""
    competition_id = run.competition_id
    assert competition_id is not None
    actor = Actor(user_id=run.requested_by, name="certificates")
    trade_id = run.params.get("trade_id")
    trade_ids = [int(trade_id)] if trade_id else await certificates.issuable_trades(competition_id)
    if not trade_ids:
        raise PhaseError(
            "No trade of this competition has final results yet: certificates follow the final "
            "results.",
            code="no_final_trades",
        )
    await run.progress(0, len(trade_ids), N_("Numbering the certificates"), force=True)
    started = time.perf_counter()
    made = 0
    code = await exports.file_names(competition_id)
    taken = await certificates.taken_numbers(code[1])
    for n, one in enumerate(trade_ids, start=1):
        made += (await certificates.issue_trade(one, actor=actor, taken=taken)).made
        await run.progress(n, len(trade_ids))
    numbered = time.perf_counter()
    design = await certificates.design_of(competition_id)
    base_url = str(run.params.get("base_url") or "")
    batches = []
    for one in trade_ids:
        pages = certificates.pages_of(await certificates.of_trade(one, only_valid=True), base_url)
        batches += parts_of(one, pages)
    total = sum(len(pages) for _t, pages in batches)
    await run.progress(0, total, N_("Printing the certificates"), force=True)
    printed = 0

    def done(count: int) -> None:
        nonlocal printed
        printed += count
        anyio.from_thread.run(run.progress, printed, total)

    read = time.perf_counter()
    rendered = await anyio.to_thread.run_sync(lambda: _render_batches(batches, design, done))
    printed_at = time.perf_counter()
    await run.progress(total, total, N_("Saving the files"), force=True)
    files = []
    for key, _pages in batches:
        one, part, parts = key
        name, ascii_name = await exports.file_names(competition_id, one)
        # One file: the trade's name alone; several: numbered so that they sort in order.
        tail = f"-{part:0{len(str(parts))}d}" if parts > 1 else ""
        files.append(OutputFile(f"{name}-证书{tail}.pdf", f"{ascii_name}-certificates{tail}.pdf",
                                "application/pdf", rendered[key]))  # fmt: skip
    return JobOutput(
        files=files,
        summary={
            "trades": len({key[0] for key, _pages in batches}),
            "files": len(batches),
            "certificates": total,
            "new": made,
            # Where the time went (bench/certificates.py reports it).
            "seconds": {
                "numbering": round(numbered - started, 2),
                "reading": round(read - numbered, 2),
                "printing": round(printed_at - read, 2),
            },
        },
    )
