"""The queue the jobs wait in: SAQ (a well-kept asyncio job queue) over PostgreSQL or Redis.

Only the job's row id travels through it; what the job is, how far it got and what it made are
in the database (`competition.jobs.tables`). The queue gives what a thread inside one web worker
cannot: a job survives the web worker that submitted it, any `jiangxin worker` on any machine
takes it, and a job held by a worker that died (kill -9, a reboot) is swept after its heartbeat
stops and run again, up to `ATTEMPTS` times.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from saq import Job, Queue

from competition.config import get_settings

FUNCTION = "run_background_job"
ATTEMPTS = 3
# Longer than any job should take (60,000 certificates take about a minute): a job still running
# after this is stopped and counted as an attempt.
TIMEOUT_SECONDS = 2 * 60 * 60
# A running job touches the queue every TOUCH_EVERY_SECONDS (`service.JobRun.progress`); silent
# for this long, its worker is taken for dead and the job is swept and given again.
HEARTBEAT_SECONDS = int(os.environ.get("JIANGXIN_JOB_HEARTBEAT", "60"))  # shorter in fault tests
KEEP_SECONDS = 7 * 24 * 60 * 60  # how long the queue remembers a finished job (the row stays)

_queue: Queue | None = None


def queue_name() -> str:
    """One queue a database: two installations sharing a Redis never take each other's jobs."""
    target = get_settings().database
    # The resolved file or the DSN: the default URL `sqlite:///jiangxin.sqlite3` is relative, and
    # two installations in two folders must not share a queue.
    where = target.sqlite_path or target.postgres_dsn or ""
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return f"jiangxin-{digest}"


def queue() -> Queue:
    global _queue
    if _queue is None:
        url = get_settings().queue_url
        extra = {"min_size": 1, "max_size": 4} if url.startswith("postgres") else {}
        _queue = Queue.from_url(url, name=queue_name(), **extra)
    return _queue


async def connect() -> Queue:
    q = queue()
    await q.connect()
    return q


async def disconnect() -> None:
    global _queue
    if _queue is not None:
        q, _queue = _queue, None
        await q.disconnect()


def job_key(job_id: int) -> str:
    """Unique across databases reset or recreated under the same URL (row ids start again at
    1; the queue refuses a key it still remembers)."""
    return f"job-{job_id}-{secrets.token_hex(6)}"


async def enqueue(job_id: int, key: str) -> None:
    q = await connect()
    await q.enqueue(
        Job(
            FUNCTION,
            kwargs={"job_id": job_id},
            key=key,
            timeout=TIMEOUT_SECONDS,
            heartbeat=HEARTBEAT_SECONDS,
            retries=ATTEMPTS,
            ttl=KEEP_SECONDS,
        )
    )


def describe(url: str) -> str:
    """The queue's URL without a password, for a log line."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"
