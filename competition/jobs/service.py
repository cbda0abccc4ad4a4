"""Submit a background job, run it inside a worker, and read how it stands.

A job's row is the truth the pages read; the queue (`competition.jobs.queue`) only carries its
id to a worker. The handler reports progress through `JobRun.progress`, which writes the row at
most twice a second; beside the handler, `_beat` writes the row's heartbeat and touches the
queue every few seconds, progress or not. What a job
makes is written in one transaction with its "done": a worker killed halfway leaves no file and
no half result, and the queue's sweep runs the job again from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from saq.job import Status

from competition import db
from competition.clock import now
from competition.errors import DomainError, NotFound
from competition.i18n import N_, Msg
from competition.jobs import kinds, queue
from competition.jobs.tables import BackgroundJob, JobFile, JobState

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.5
TOUCH_EVERY_SECONDS = min(10.0, queue.HEARTBEAT_SECONDS / 6)
# A running job whose row has not moved for this long is taken for stalled: its worker is gone.
# It must be shorter than the queue's heartbeat less a touch interval or two: when the queue's
# sweep gives the job to another worker (its heartbeat silent for HEARTBEAT_SECONDS, counted
# from the last touch, which may be TOUCH_EVERY_SECONDS older than the row's heartbeat), that
# worker must find the row stalled, or it would take the job for busy and drop it.
STALLED_AFTER_SECONDS = queue.HEARTBEAT_SECONDS - 2 * TOUCH_EVERY_SECONDS
# What `execute` answers for a run whose job another worker took over meanwhile.
SUPERSEDED = "superseded"
# A queued job nobody has taken for this long: the page says to start `jiangxin worker`.
NO_WORKER_AFTER_SECONDS = 30


class Superseded(Exception):
    """This run's job was given to another worker (it was taken for stalled while it ran, its
    row silent past `STALLED_AFTER_SECONDS`): the run stops and writes nothing more, so a job
    never ends twice nor reports the progress of two runs."""


class QueueUnavailable(DomainError):
    status_code = 503
    default_code = "queue_unreachable"


class UnknownJobKind(DomainError):
    default_code = "unknown_job_kind"


@dataclass
class JobRun:
    """What a handler gets: the job's parameters and a way to say how far it is."""

    id: int
    kind: str
    competition_id: int | None
    requested_by: int | None
    params: dict[str, Any]
    attempt: int
    touch: Callable[[], Awaitable[Any]] | None = None  # the queue's heartbeat (`_beat` calls it)
    _written_at: float = 0.0

    async def progress(
        self, done: int, total: int | None = None, step: str | None = None, *, force: bool = False
    ) -> None:
        moment = time.monotonic()
        if not force and moment - self._written_at < PROGRESS_EVERY_SECONDS:
            return
        self._written_at = moment
        values: dict[Any, Any] = {BackgroundJob.done: done, BackgroundJob.heartbeat_at: now()}
        if total is not None:
            values[BackgroundJob.total] = total
        if step is not None:
            values[BackgroundJob.step] = step
        mine = await (
            BackgroundJob.update(values)
            .where((BackgroundJob.id == self.id) & (BackgroundJob.attempts == self.attempt))
            .returning(BackgroundJob.id)
        )
        if not mine:
            raise Superseded


@dataclass(frozen=True)
class FileView:
    id: int
    name: str
    size: int


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    label: Msg | str
    competition_id: int | None
    requested_by: int | None
    params: dict[str, Any]
    state: JobState
    done: int
    total: int
    step: str
    attempts: int
    error_code: str
    error: Msg | None
    summary: dict[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    files: tuple[FileView, ...] = ()

    @property
    def percent(self) -> int:
        if self.state == JobState.done:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state in (JobState.done, JobState.failed)

    @property
    def stalled(self) -> bool:
        return self.state == JobState.running and _silent(
            self.heartbeat_at or self.started_at or self.created_at
        )

    @property
    def waiting_for_worker(self) -> bool:
        return (
            self.state == JobState.queued
            and (now() - self.created_at).total_seconds() > NO_WORKER_AFTER_SECONDS
        )


def _silent(last: dt.datetime) -> bool:
    return (now() - last).total_seconds() > STALLED_AFTER_SECONDS


# How the queue leaves a job it will not run again: after its last attempt was swept (its worker
# died), it is aborted there; a delivery answered "busy" ends it as complete.
_GIVEN_UP = frozenset({Status.COMPLETE, Status.FAILED, Status.ABORTED})


async def _given_up(row: dict[str, Any]) -> bool:
    """A running job whose worker stopped answering and which the queue will not give to another
    worker (its last attempt, or the queue no longer knows it) is marked failed: else its page
    would say "running" for ever and the same job could not be asked for again."""
    if row["state"] != JobState.running.value:
        return False
    if not _silent(row["heartbeat_at"] or row["started_at"] or row["created_at"]):
        return False
    try:
        held = await (await queue.connect()).job(row["queue_key"])
    except Exception as exc:  # the queue unreachable: nothing is known for sure
        logger.warning("background job %s: queue not reachable: %s", row["id"],
                       type(exc).__name__)  # fmt: skip
        return False
    if held is not None and held.status not in _GIVEN_UP:
        return False
    await _record_failure(
        row["id"],
        "worker_lost",
        N_("The worker running this job stopped on its last attempt, and nothing of it was "
           "kept. Start the job again."),
    )  # fmt: skip
    return True


def _msg(stored: Any) -> Msg | None:
    stored = db.json_value(stored)
    if not stored:
        return None
    return N_(stored.get("message", ""), **stored.get("params", {}))


async def submit(
    kind_name: str,
    *,
    competition_id: int | None,
    requested_by: int | None,
    params: dict[str, Any] | None = None,
) -> int:
    """Queue a job; the same job already waiting or running is not queued twice (a second click
    opens the first one's page)."""
    if kinds.kind(kind_name) is None:
        raise UnknownJobKind("There is no background job of this kind.", kind=kind_name)
    params = params or {}
    async with db.transaction():
        pending = await BackgroundJob.select().where(
            (BackgroundJob.kind == kind_name)
            & (BackgroundJob.competition == competition_id)
            & BackgroundJob.state.is_in([JobState.queued.value, JobState.running.value])
        )
        for row in pending:
            if db.json_value(row["params"]) == params and not await _given_up(row):
                return row["id"]
        rows = await BackgroundJob.insert(
            BackgroundJob(
                kind=kind_name,
                competition=competition_id,
                requested_by=requested_by,
                params=params,
            )
        ).returning(BackgroundJob.id)
        job_id = rows[0]["id"]
        key = queue.job_key(job_id)
        await BackgroundJob.update({BackgroundJob.queue_key: key}).where(BackgroundJob.id == job_id)
    try:
        await queue.enqueue(job_id, key)
    except Exception as exc:
        logger.warning("background job %s could not be queued: %s", job_id, type(exc).__name__)
        await _record_failure(
            job_id,
            "queue_unreachable",
            N_("The job could not be queued: the background queue is not reachable."),
        )
        raise QueueUnavailable(
            "The background queue is not reachable; ask the administrator to check it "
            "(JIANGXIN_QUEUE_URL) and try again."
        ) from exc
    return job_id


async def _record_failure(
    job_id: int, code: str, message: Msg, *, attempt: int | None = None
) -> None:
    """The job failed — unless `attempt` is given and is no longer the job's (a later run of
    it owns the row)."""
    params = {k: str(v) for k, v in getattr(message, "params", {}).items()}
    where = BackgroundJob.id == job_id
    if attempt is not None:
        where &= BackgroundJob.attempts == attempt
    await BackgroundJob.update(
        {
            BackgroundJob.state: JobState.failed.value,
            BackgroundJob.error_code: code,
            BackgroundJob.error: {"message": str(message), "params": params},
            BackgroundJob.finished_at: now(),
        }
    ).where(where)


async def _still_mine(job_id: int, attempt: int) -> bool:
    """Inside the transaction that ends the run: the row, locked, is still this attempt's."""
    query = BackgroundJob.select(BackgroundJob.attempts, BackgroundJob.state).where(
        BackgroundJob.id == job_id
    )
    row = await (query.lock_rows() if db.is_postgres() else query).first()
    return row is not None and row["attempts"] == attempt and row["state"] == JobState.running.value


async def _claim(job_id: int, key: str) -> tuple[dict[str, Any] | None, str]:
    """The row, taken for this run, or None and why not. A job is taken when it waits, or when
    it runs but its worker has been silent past `STALLED_AFTER_SECONDS` (the queue's sweep gave
    it again); never while another worker is at it, never once it ended."""
    async with db.transaction():  # SQLite: IMMEDIATE, one claimer at a time
        query = BackgroundJob.select().where(BackgroundJob.id == job_id)
        row = await (query.lock_rows() if db.is_postgres() else query).first()
        if row is None or row["queue_key"] != key:
            return None, "missing"
        if row["state"] in (JobState.done.value, JobState.failed.value):
            return None, row["state"]
        if row["state"] == JobState.running.value:
            last = row["heartbeat_at"] or row["started_at"]
            if last is not None and (now() - last).total_seconds() <= STALLED_AFTER_SECONDS:
                return None, "busy"
        row["attempts"] += 1
        await BackgroundJob.update(
            {
                BackgroundJob.state: JobState.running.value,
                BackgroundJob.attempts: row["attempts"],
                BackgroundJob.started_at: now(),
                BackgroundJob.heartbeat_at: now(),
                BackgroundJob.done: 0,
                BackgroundJob.step: "",
            }
        ).where(BackgroundJob.id == job_id)
        return row, JobState.running.value


async def _beat(run: JobRun) -> None:
    """While the handler runs, the row's heartbeat and the queue's touch every
    TOUCH_EVERY_SECONDS, whatever the handler does: a step that reports no progress for
    minutes (a long file written in a thread, one big transaction) is alive as long as this
    worker's event loop is, and is never taken for stalled and run a second time. A worker that
    dies takes its beat with it. Stops when the row is no longer this attempt's."""
    while True:
        await asyncio.sleep(TOUCH_EVERY_SECONDS)
        try:
            mine = await (
                BackgroundJob.update({BackgroundJob.heartbeat_at: now()})
                .where((BackgroundJob.id == run.id) & (BackgroundJob.attempts == run.attempt))
                .returning(BackgroundJob.id)
            )
            if not mine:
                return
            if run.touch is not None:
                await run.touch()
        except Exception as exc:  # a busy database or queue: the next beat tries again
            logger.warning("background job %s: heartbeat not written (%s)", run.id,
                           type(exc).__name__)  # fmt: skip


async def _handled(handler: Callable[[JobRun], Awaitable[Any]], run: JobRun) -> Any:
    beat = asyncio.create_task(_beat(run))
    try:
        return await handler(run)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def execute(job_id: int, key: str, touch: Callable[[], Awaitable[Any]] | None = None) -> str:
    """Run one job (inside `jiangxin worker`); returns the state it ended in, or why it was not
    run ("missing", "busy", or the state it had already ended in: the queue may deliver twice),
    or `SUPERSEDED` when another worker took the job over while this run was at it."""
    row, why = await _claim(job_id, key)
    if row is None:
        return why
    attempt = row["attempts"]
    found = kinds.kind(row["kind"])
    if found is None:
        await _record_failure(
            job_id, "unknown_job_kind", N_("This worker does not know this kind of job.")
        )
        return JobState.failed.value
    run = JobRun(
        id=job_id,
        kind=row["kind"],
        competition_id=row["competition"],
        requested_by=row["requested_by"],
        params=db.json_value(row["params"]) or {},
        attempt=attempt,
        touch=touch,
    )
    try:
        output = await _handled(found.handler, run)
    except Superseded:
        logger.warning("background job %s: attempt %s was superseded by a later one", job_id,
                       attempt)  # fmt: skip
        return SUPERSEDED
    except DomainError as exc:
        await _record_failure(job_id, exc.code, N_(exc.message, **exc.params), attempt=attempt)
        return JobState.failed.value
    except Exception as exc:
        # The type only: an exception's text may quote personal data.
        logger.exception("background job %s (%s) crashed: %s", job_id, row["kind"],
                         type(exc).__name__)  # fmt: skip
        await _record_failure(
            job_id,
            "job_crashed",
            N_("The job stopped on an unexpected error. Try again; if it happens again, tell "
               "the administrator."),
            attempt=attempt,
        )  # fmt: skip
        return JobState.failed.value
    async with db.transaction():
        if not await _still_mine(job_id, attempt):
            logger.warning("background job %s: attempt %s ended after a later one took it",
                           job_id, attempt)  # fmt: skip
            return SUPERSEDED
        for made in output.files:
            await JobFile.insert(
                JobFile(
                    job=job_id,
                    name=made.name,
                    ascii_name=made.ascii_name,
                    media_type=made.media_type,
                    size=len(made.content),
                    content=made.content,
                )
            )
        await BackgroundJob.update(
            {
                BackgroundJob.state: JobState.done.value,
                BackgroundJob.step: "",
                BackgroundJob.summary: output.summary,
                BackgroundJob.finished_at: now(),
                BackgroundJob.heartbeat_at: now(),
            }
        ).where(BackgroundJob.id == job_id)
    return JobState.done.value


def _view(row: dict[str, Any], files: tuple[FileView, ...]) -> JobView:
    found = kinds.kind(row["kind"])
    return JobView(
        id=row["id"],
        kind=row["kind"],
        label=found.label if found else row["kind"],
        competition_id=row["competition"],
        requested_by=row["requested_by"],
        params=db.json_value(row["params"]) or {},
        state=JobState(row["state"]),
        done=row["done"],
        total=row["total"],
        step=row["step"],
        attempts=row["attempts"],
        error_code=row["error_code"],
        error=_msg(row["error"]),
        summary=db.json_value(row["summary"]) or {},
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        heartbeat_at=row["heartbeat_at"],
        files=files,
    )


async def get(job_id: int) -> JobView:
    row = await BackgroundJob.select().where(BackgroundJob.id == job_id).first()
    if row is None:
        raise NotFound("The job was not found.", code="job_not_found")
    if await _given_up(row):
        row = await BackgroundJob.select().where(BackgroundJob.id == job_id).first()
    files = (
        await JobFile.select(JobFile.id, JobFile.name, JobFile.size)
        .where(JobFile.job == job_id)
        .order_by(JobFile.id)
    )
    return _view(row, tuple(FileView(f["id"], f["name"], f["size"]) for f in files))


async def recent(competition_id: int, limit: int = 20) -> list[JobView]:
    rows = await (
        BackgroundJob.select()
        .where(BackgroundJob.competition == competition_id)
        .order_by(BackgroundJob.id, ascending=False)
        .limit(limit)
    )
    ids = [r["id"] for r in rows]
    files: dict[int, list[FileView]] = {}
    if ids:
        for f in (
            await JobFile.select(JobFile.id, JobFile.job, JobFile.name, JobFile.size)
            .where(JobFile.job.is_in(ids))
            .order_by(JobFile.id)
        ):
            files.setdefault(f["job"], []).append(FileView(f["id"], f["name"], f["size"]))
    return [_view(r, tuple(files.get(r["id"], ()))) for r in rows]


@dataclass(frozen=True)
class StoredFile:
    name: str
    ascii_name: str
    media_type: str
    content: bytes


async def stored_file(job_id: int, file_id: int) -> StoredFile:
    row = (
        await JobFile.select(JobFile.name, JobFile.ascii_name, JobFile.media_type, JobFile.content)
        .where((JobFile.id == file_id) & (JobFile.job == job_id))
        .first()
    )
    if row is None:
        raise NotFound("The file was not found.", code="job_file_not_found")
    return StoredFile(row["name"], row["ascii_name"], row["media_type"], bytes(row["content"]))
