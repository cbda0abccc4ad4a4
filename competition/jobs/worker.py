"""`jiangxin worker`: the process that takes jobs from the queue and runs them.

Which kinds it can run is what was registered before it starts (`competition.cli` imports the
packages that register them). `burst=True` runs what is queued and returns: the tests use it, and
so can a cron-driven installation.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from saq import Worker

from competition import db
from competition.jobs import queue, service

# Jobs are CPU-bound (PDFs, workbooks): more at once than cores only slows each one.
DEFAULT_CONCURRENCY = 2


async def run_background_job(ctx: dict[str, Any], *, job_id: int) -> str:
    saq_job = ctx["job"]
    return await service.execute(job_id, saq_job.key, touch=saq_job.update)


async def _startup(ctx: dict[str, Any]) -> None:
    await db.start_pool()


async def _shutdown(ctx: dict[str, Any]) -> None:
    await db.close_pool()


def build(
    *, concurrency: int = DEFAULT_CONCURRENCY, burst: bool = False, own_pool: bool = True
) -> Worker:
    """`own_pool=False` when the process already holds the database pool (a test running the
    worker beside the app)."""
    return Worker(
        queue.queue(),
        functions=[(queue.FUNCTION, run_background_job)],
        concurrency=concurrency,
        startup=_startup if own_pool else None,
        shutdown=_shutdown if own_pool else None,
        burst=burst,
        # A stuck job (its worker died) is found soon after its heartbeat stops, rather than at
        # SAQ's default minute.
        timers={"sweep": max(1, min(30, queue.HEARTBEAT_SECONDS // 2))},
        dequeue_timeout=1.0,
    )


async def _stop_when_orphaned(worker: Worker, parent_pid: int) -> None:
    # `jiangxin serve` starts the worker beside itself; killed with -9 it cannot stop its worker,
    # which then belongs to init: it stops by itself.
    while os.getppid() == parent_pid:
        await asyncio.sleep(1)
    await worker.stop()


async def run(
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    burst: bool = False,
    own_pool: bool = True,
    parent_pid: int | None = None,
) -> None:
    while True:
        worker = build(concurrency=concurrency, burst=burst, own_pool=own_pool)
        await worker.queue.connect()
        watch = asyncio.create_task(_stop_when_orphaned(worker, parent_pid)) if parent_pid else None
        try:
            await worker.start()
        finally:
            if watch is not None:
                watch.cancel()
        # A burst can end with a job still queued: on PostgreSQL, SAQ's scheduler timer may run
        # its dequeue just before the first worker task counts itself as waiting; that task then
        # finds the dequeue busy, waits for an enqueue notice that was sent before it listened,
        # and its timeout is taken for an empty queue (seen once in CI: a job left queued).
        # A burst can also end with a job taken from the table but not run (seen once in CI):
        # SAQ's PostgreSQL dequeue puts what it takes into the queue object's memory for a task
        # that is waiting, and tells it by a notice; a task whose listen missed that notice ends
        # its wait empty-handed, and the job, now 'active', counts as queued no more. A next
        # worker on the same queue object takes it from that memory at once.
        # A worker stopped by a signal or by its parent's death stops for good.
        if not worker.burst_condition_met:
            return
        if await worker.queue.count("queued") == 0 and not _taken_not_run(worker.queue):
            return


def _taken_not_run(q: Any) -> bool:
    """Jobs SAQ's PostgreSQL queue holds in memory for a dequeue nobody waits for any more
    (`PostgresQueue._job_queue`; other queues have none)."""
    held = getattr(q, "_job_queue", None)
    return held is not None and not held.empty()
