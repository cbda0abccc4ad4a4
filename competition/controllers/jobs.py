"""Background jobs as their requester sees them: a page with a progress bar (kept fresh by
static/js/job.js from the JSON below, so the organizer may leave and come back), the files a
finished job made, and the competition's recent jobs.

Who may look: organizers — the one who asked for the job, and the organizers of its competition
(a job's files may hold full ID numbers).
"""

from __future__ import annotations

import datetime as dt
import time
import zipfile

import msgspec
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Stream, Template

from competition.accounts import Identity
from competition.clock import format_datetime
from competition.errors import NotFound, PermissionDenied
from competition.i18n import N_, render
from competition.jobs import service
from competition.tables import Competition, Role
from competition.web.access import require_competition, roles
from competition.web.downloads import content_disposition
from competition.web.menus import RESULTS, MenuItem, add_competition_menu_item
from competition.web.templating import page

add_competition_menu_item(MenuItem("jobs", "/jobs", N_("Background jobs")), RESULTS)

GUARD = roles(Role.organizer)
STATE_LABELS = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}
CHUNK_BYTES = 256 * 1024


def _may_see(identity: Identity, job: service.JobView) -> None:
    if job.requested_by == identity.user_id:
        return
    if job.competition_id is not None:
        require_competition(identity, job.competition_id, Role.organizer)
        return
    raise PermissionDenied("This job was asked for by someone else.", code="job_forbidden")


def job_url(job_id: int) -> str:
    return f"/jobs/{job_id}"


class JobFileOut(msgspec.Struct):
    id: int
    name: str
    size: int
    url: str


class JobOut(msgspec.Struct):
    id: int
    kind: str
    label: str
    state: str  # queued / running / done / failed
    done: int
    total: int
    percent: int
    step: str
    attempts: int
    stalled: bool  # running, but its worker stopped answering: the queue will run it again
    waiting_for_worker: bool  # queued for a while and no worker took it
    error_code: str
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    files: list[JobFileOut]


def _out(job: service.JobView) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        label=render(job.label),
        state=job.state.value,
        done=job.done,
        total=job.total,
        percent=job.percent,
        step=render(job.step) if job.step else "",
        attempts=job.attempts,
        stalled=job.stalled,
        waiting_for_worker=job.waiting_for_worker,
        error_code=job.error_code,
        error=render(job.error) if job.error else "",
        created_at=job.created_at,
        finished_at=job.finished_at,
        files=[
            JobFileOut(f.id, f.name, f.size, f"{job_url(job.id)}/files/{f.id}") for f in job.files
        ],
    )


@get("/api/jobs/{job_id:int}", opt=GUARD, tags=["jobs"])
async def job_status(request: Request, job_id: FromPath[int]) -> JobOut:
    """How a background job stands: state, progress, and its files once done."""
    job = await service.get(job_id)
    _may_see(request.user, job)
    return _out(job)


@get("/jobs/{job_id:int}", opt=GUARD, include_in_schema=False)
async def job_page(request: Request, job_id: FromPath[int]) -> Template:
    job = await service.get(job_id)
    _may_see(request.user, job)
    competition = None
    if job.competition_id is not None:
        competition = (
            await Competition.select(Competition.id, Competition.name)
            .where(Competition.id == job.competition_id)
            .first()
        )
    return page(
        "competition/jobs/job.html",
        job=job,
        out=_out(job),
        competition=competition,
        created=format_datetime(job.created_at),
        finished=format_datetime(job.finished_at),
        job_state_labels=STATE_LABELS,
    )


@get("/jobs/{job_id:int}/files/{file_id:int}", opt=GUARD, include_in_schema=False)
async def job_file(request: Request, job_id: FromPath[int], file_id: FromPath[int]) -> Stream:
    job = await service.get(job_id)
    _may_see(request.user, job)
    stored = await service.stored_file(job_id, file_id)
    content = stored.content

    def chunks():
        for start in range(0, len(content), CHUNK_BYTES):
            yield content[start : start + CHUNK_BYTES]

    return Stream(
        chunks(),
        media_type=stored.media_type,
        headers={
            "content-disposition": content_disposition(stored.name, stored.ascii_name),
            "content-length": str(len(content)),
            "cache-control": "no-store",
        },
    )


class _Sink:
    """What zipfile writes into, handed on a piece at a time (it has no `tell`: zipfile then
    writes each member's sizes after it, so nothing needs to be held whole)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


@get("/jobs/{job_id:int}/files.zip", opt=GUARD, include_in_schema=False)
async def job_files_zip(request: Request, job_id: FromPath[int]) -> Stream:
    """Every file of a job in one zip (e.g. a PDF of certificates a trade), streamed: one file
    is read from the database at a time."""
    job = await service.get(job_id)
    _may_see(request.user, job)
    if not job.files:
        raise NotFound("The job made no files.", code="job_has_no_files")

    async def pieces():
        sink = _Sink()
        archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)  # PDFs are
        # compressed already
        try:
            for made in job.files:
                stored = await service.stored_file(job_id, made.id)
                info = zipfile.ZipInfo(stored.name, date_time=time.localtime()[:6])
                with archive.open(info, "w") as member:
                    for start in range(0, len(stored.content), CHUNK_BYTES):
                        member.write(stored.content[start : start + CHUNK_BYTES])
                        yield sink.take()
        finally:
            archive.close()
        yield sink.take()

    return Stream(
        pieces(),
        media_type="application/zip",
        headers={
            "content-disposition": content_disposition(f"{render(job.label)}-{job.id}.zip",
                                                       f"job-{job.id}.zip"),
            "cache-control": "no-store",
        },
    )  # fmt: skip


@get("/org/competitions/{competition_id:int}/jobs", opt=GUARD, include_in_schema=False)
async def competition_jobs(request: Request, competition_id: FromPath[int]) -> Template:
    """The competition's recent background jobs, newest first."""
    require_competition(request.user, competition_id, Role.organizer)
    competition = (
        await Competition.select(Competition.id, Competition.name, Competition.phase)
        .where(Competition.id == competition_id)
        .first()
    )
    jobs = await service.recent(competition_id)
    return page(
        "competition/jobs/list.html",
        competition=competition,
        jobs=[(job, _out(job), format_datetime(job.created_at)) for job in jobs],
        job_state_labels=STATE_LABELS,
    )


ROUTES = [job_status, job_page, job_file, job_files_zip, competition_jobs]
