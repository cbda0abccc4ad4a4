"""A slow background job for the fault tests: it counts to `steps`, a step every `pause`
seconds, reporting its progress; `jiangxin worker` loads it when JIANGXIN_JOB_MODULES names
this module."""

from __future__ import annotations

import asyncio

from competition.i18n import N_
from competition.jobs.kinds import JobOutput, OutputFile, register
from competition.jobs.service import JobRun

SLOW = "tests.slow"


@register(SLOW, N_("Every ranking of the competition"))
async def slow(run: JobRun) -> JobOutput:
    steps = int(run.params.get("steps", 20))
    pause = float(run.params.get("pause", 0.5))
    for n in range(steps):
        await run.progress(n, steps, force=True)
        await asyncio.sleep(pause)
    made = f"attempt {run.attempt}".encode()
    return JobOutput(files=[OutputFile("结果.txt", "result.txt", "text/plain", made)])
