"""The results' background jobs: every ranking of the competition as one file. At 200,000
entries the workbook takes several seconds to rank and write (bench/results.py), too long for a
request to wait on and worth a progress bar; one trade's ranking stays a plain download."""

from __future__ import annotations

import anyio.from_thread
import anyio.to_thread

from competition.i18n import N_
from competition.jobs.kinds import JobOutput, OutputFile, register
from competition.jobs.service import JobRun
from competition.results import exports

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
