"""Background jobs through the real queue (SAQ over Redis with SQLite, over the database itself
with PostgreSQL) and a real worker: the organizer asks for every ranking of the competition, the
page says queued, a worker runs it, the page shows its progress and its file, the file read back
equals the standings; who may see a job; the same job not queued twice; a failure shown in the
user's language; a worker that died halfway; a queue that cannot be reached; `jiangxin worker`
as a separate process."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import subprocess
import sys

import pandas as pd
import pytest
from saq import Queue

from competition.config import get_settings
from competition.errors import ValidationFailed
from competition.i18n import N_
from competition.jobs import kinds, queue, service
from competition.jobs import worker as jobs_worker
from competition.jobs.kinds import JobOutput, OutputFile
from competition.jobs.tables import BackgroundJob, JobFile
from competition.results.jobs import RANKINGS
from competition.results.standings import trade_standings
from competition.tables import Competition, Role
from tests.competition.results.builders import decrypted_trade
from tests.support import PASSWORD, csrf_token, login, make_user


async def run_queued_jobs() -> None:
    """A worker in this process takes what is queued, runs it, and stops (burst mode). Its
    connection to the queue is closed after: on PostgreSQL a worker holds the queue's sweep lock
    for as long as it is connected, and a later worker process must be able to sweep."""
    try:
        await jobs_worker.run(burst=True, own_pool=False, concurrency=1)
    finally:
        await queue.disconnect()


async def _ask_for_rankings(client, competition_id: int, fmt: str = "xlsx") -> int:
    token = await csrf_token(client)
    response = await client.post(
        f"/org/competitions/{competition_id}/results/export-job",
        data={"format": fmt, "_csrf_token": token},
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/jobs/")
    return int(location.rsplit("/", 1)[1])


async def test_every_ranking_is_made_in_the_background_with_its_progress(demo_marks, client):
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id)

    page = await client.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and "排队中" in page.text and "/static/js/job.js" in page.text
    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "queued" and status["files"] == []
    # Asked again while it waits: the same job, not a second one.
    assert await _ask_for_rankings(client, trade.competition_id) == job_id

    await run_queued_jobs()

    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "done" and status["percent"] == 100 and status["attempts"] == 1
    assert status["done"] == status["total"] >= 1  # a trade at a time
    [made] = status["files"]
    assert made["name"].endswith("-成绩排名.xlsx")
    download = await client.get(made["url"])
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    assert int(download.headers["content-length"]) == made["size"] == len(download.content)

    standings = await trade_standings(trade.trade_id)
    sheet = next(
        name for name in pd.ExcelFile(io.BytesIO(download.content), engine="openpyxl").sheet_names
        if name.startswith(trade.code)
    )  # fmt: skip
    frame = pd.read_excel(
        io.BytesIO(download.content), sheet_name=sheet, dtype={"准考证号": str}, engine="openpyxl"
    )
    ranked = frame[frame["名次"].notna()]
    assert {(str(r["准考证号"]), int(r["名次"])) for _, r in ranked.iterrows()} == {
        (r.ticket_number, r.place) for r in standings.rows if r.present
    }
    # The organizer's file carries the full ID numbers.
    assert all("*" not in v for v in frame["身份证号"].dropna())

    listing = await client.get(f"/org/competitions/{trade.competition_id}/jobs")
    assert listing.status_code == 200 and f"/jobs/{job_id}" in listing.text
    assert "已完成" in listing.text


async def test_the_csv_job_and_the_streamed_csv_download(demo_marks, client):
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id, "csv")
    await run_queued_jobs()
    [made] = (await client.get(f"/api/jobs/{job_id}")).json()["files"]
    from_job = (await client.get(made["url"])).content
    streamed = await client.get(f"/org/competitions/{trade.competition_id}/results/export.csv")
    assert streamed.status_code == 200 and "text/csv" in streamed.headers["content-type"]
    assert streamed.content == from_job and from_job.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(from_job), encoding="utf-8-sig", dtype=str)
    assert set(frame["工种代码"]) == {trade.code}


@pytest.mark.skipif(
    not get_settings().queue_url.startswith("postgres"),
    reason="the race is in SAQ's PostgreSQL queue",
)
async def test_a_burst_whose_first_look_missed_the_queued_job_looks_again(demo_marks, client):
    """SAQ's scheduler timer can hold the dequeue when the first worker task comes to wait: that
    task waits for an enqueue notice already sent and takes its timeout for an empty queue. Here
    the dequeue is held for longer than the burst's timeout: the burst must look again."""
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id, "csv")
    held = queue.queue()._dequeue_lock
    await held.acquire()
    asyncio.get_running_loop().call_later(1.5, held.release)
    await run_queued_jobs()
    assert (await client.get(f"/api/jobs/{job_id}")).json()["state"] == "done"


async def test_a_burst_runs_a_job_taken_for_a_look_that_had_stopped_waiting(demo_marks, client):
    """SAQ's PostgreSQL dequeue takes a job into the queue object's memory for a waiting task
    and tells it by a notice; if the task's listen misses the notice, its wait ends empty and
    the job, 'active' now, is no longer counted as queued. The burst must still run it."""
    if not get_settings().queue_url.startswith("postgres"):
        pytest.skip("the queue over PostgreSQL takes jobs into memory; Redis's does not")
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id, "csv")
    q = await queue.connect()
    held = q._dequeue_lock
    await held.acquire()  # the worker's first look finds the dequeue busy and listens

    async def silent(*_args, **_kwargs) -> None:
        return None

    async def take_without_notice() -> None:
        await asyncio.sleep(0.3)
        held.release()
        q._notify = silent  # the notice the listening task misses
        try:
            await q._dequeue()
        finally:
            del q._notify

    taking = asyncio.create_task(take_without_notice())
    await run_queued_jobs()
    await taking
    assert (await client.get(f"/api/jobs/{job_id}")).json()["state"] == "done"


async def test_who_may_see_a_job(demo_marks, client, other_client):
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id)
    await run_queued_jobs()
    file_url = (await client.get(f"/api/jobs/{job_id}")).json()["files"][0]["url"]

    # Jobs are the organizer's: the supervisor downloads the masked rankings directly.
    await login(other_client, "supervisor")
    for url in (f"/jobs/{job_id}", f"/api/jobs/{job_id}", file_url):
        assert (await other_client.get(url)).status_code == 403, url
    masked = await other_client.get(
        f"/supervisor/competitions/{trade.competition_id}/results/export.csv"
    )
    frame = pd.read_csv(io.BytesIO(masked.content), encoding="utf-8-sig", dtype=str)
    assert all("*" in v for v in frame["身份证号"].dropna())

    # An organizer of another competition only.
    other = await Competition.insert(Competition(code="OTHER", name="另一届", year=2027)).returning(
        Competition.id
    )
    await make_user("org-elsewhere", Role.organizer, competition_id=other[0]["id"])
    await login(other_client, "org-elsewhere", PASSWORD)
    assert (await other_client.get(f"/api/jobs/{job_id}")).status_code == 403
    await login(other_client, "judge")
    assert (await other_client.get(f"/jobs/{job_id}")).status_code == 403
    assert (await other_client.get(f"/api/jobs/{job_id + 1000}")).status_code == 403
    await login(client, "organizer")
    assert (await client.get(f"/api/jobs/{job_id + 1000}")).status_code == 404


@kinds.register("tests.refuses", N_("Every ranking of the competition"))
async def _refuses(run: service.JobRun):
    await run.progress(1, 4, force=True)
    raise ValidationFailed("The ranking is available once the trade's marks are locked.")


async def test_a_failed_job_says_why_in_the_readers_language(demo_marks, client):
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await service.submit("tests.refuses", competition_id=trade.competition_id,
                                  requested_by=None)  # fmt: skip
    await run_queued_jobs()
    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "failed" and status["files"] == []
    assert "封分" in status["error"]
    page = await client.get(f"/jobs/{job_id}")
    assert "失败" in page.text and "封分" in page.text


async def test_a_job_its_dead_worker_left_running_runs_again(demo_marks):
    trade = await decrypted_trade()
    job_id = await service.submit(
        RANKINGS, competition_id=trade.competition_id, requested_by=None, params={"format": "csv"}
    )
    # As a worker killed halfway leaves it: running, attempt 1, silent for minutes, no file.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    await BackgroundJob.update(
        {BackgroundJob.state: "running", BackgroundJob.attempts: 1, BackgroundJob.done: 1,
         BackgroundJob.heartbeat_at: long_ago, BackgroundJob.started_at: long_ago}
    ).where(BackgroundJob.id == job_id)  # fmt: skip
    assert (await service.get(job_id)).stalled
    key = (await BackgroundJob.select(BackgroundJob.queue_key).where(
        BackgroundJob.id == job_id).first())["queue_key"]  # fmt: skip
    # A queue entry from before the database was reset (same row id, another key): nothing runs.
    assert await service.execute(job_id, "job-1-stale") == "missing"
    # The queue's sweep hands it to a worker again, which runs it from the start.
    assert await service.execute(job_id, key) == "done"
    view = await service.get(job_id)
    assert view.attempts == 2 and not view.stalled and len(view.files) == 1
    assert await JobFile.count().where(JobFile.job == job_id) == 1
    # While a worker is at it (its heartbeat fresh), a second delivery does not run it twice.
    await BackgroundJob.update({BackgroundJob.state: "running"}).where(BackgroundJob.id == job_id)
    assert await service.execute(job_id, key) == "busy"
    await BackgroundJob.update({BackgroundJob.state: "done"}).where(BackgroundJob.id == job_id)
    # Delivered once more (the queue may): a finished job is not run again.
    assert await service.execute(job_id, key) == "done"
    assert await JobFile.count().where(JobFile.job == job_id) == 1


async def test_a_queue_that_cannot_be_reached(demo_marks, client, monkeypatch):
    trade = await decrypted_trade()
    await login(client, "organizer")
    monkeypatch.setattr(queue, "_queue", Queue.from_url("redis://127.0.0.1:9/0", name="nowhere"))
    token = await csrf_token(client)
    response = await client.post(
        f"/org/competitions/{trade.competition_id}/results/export-job",
        data={"format": "xlsx", "_csrf_token": token},
    )
    assert response.status_code == 503 and "后台任务队列" in response.text
    last = await BackgroundJob.select().order_by(BackgroundJob.id, ascending=False).first()
    assert last["state"] == "failed" and last["error_code"] == "queue_unreachable"


async def test_jiangxin_worker_runs_a_job_in_its_own_process(demo_marks, client):
    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await _ask_for_rankings(client, trade.competition_id, "csv")
    done = subprocess.run(
        [sys.executable, "-m", "competition.cli", "worker", "--burst"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "done" and len(status["files"]) == 1


@kinds.register("tests.two_files", N_("Every ranking of the competition"))
async def _two_files(run: service.JobRun):
    return kinds.JobOutput(
        files=[
            kinds.OutputFile("甲-证书.pdf", "a.pdf", "application/pdf", b"%PDF-1 a" * 100_000),
            kinds.OutputFile("乙-证书.pdf", "b.pdf", "application/pdf", b"%PDF-1 b"),
        ],
        summary={"files": 2},
    )


async def test_every_file_of_a_job_in_one_streamed_zip(demo_marks, client):
    import zipfile

    trade = await decrypted_trade()
    await login(client, "organizer")
    job_id = await service.submit("tests.two_files", competition_id=trade.competition_id,
                                  requested_by=None)  # fmt: skip
    await run_queued_jobs()
    page = await client.get(f"/jobs/{job_id}")
    assert f"/jobs/{job_id}/files.zip" in page.text
    response = await client.get(f"/jobs/{job_id}/files.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["甲-证书.pdf", "乙-证书.pdf"]
    assert archive.read("甲-证书.pdf") == b"%PDF-1 a" * 100_000
    assert archive.read("乙-证书.pdf") == b"%PDF-1 b"


async def test_a_job_the_queue_gives_again_is_never_taken_for_busy(demo_marks):
    # The sweep gives a job again once the queue heard nothing for HEARTBEAT_SECONDS since the
    # last touch; the row's heartbeat may be a touch interval younger than that touch. Such a
    # row must be claimable, else the second delivery would be dropped as "busy".
    assert service.STALLED_AFTER_SECONDS + service.TOUCH_EVERY_SECONDS < queue.HEARTBEAT_SECONDS
    trade = await decrypted_trade()
    job_id = await service.submit(RANKINGS, competition_id=trade.competition_id,
                                  requested_by=None, params={"format": "csv"})  # fmt: skip
    silent = queue.HEARTBEAT_SECONDS - service.TOUCH_EVERY_SECONDS
    last = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=silent)
    await BackgroundJob.update(
        {BackgroundJob.state: "running", BackgroundJob.attempts: 1,
         BackgroundJob.heartbeat_at: last, BackgroundJob.started_at: last}
    ).where(BackgroundJob.id == job_id)  # fmt: skip
    key = (await BackgroundJob.select(BackgroundJob.queue_key).where(
        BackgroundJob.id == job_id).first())["queue_key"]  # fmt: skip
    assert await service.execute(job_id, key) == "done"


_HELD: dict[str, asyncio.Event] = {}


@kinds.register("tests.held", N_("Every ranking of the competition"))
async def _held(run: service.JobRun):
    """Its first attempt waits until the test lets it go, then reports progress (or, with
    `quiet`, ends at once); every attempt leaves a file naming itself."""
    if run.attempt == 1:
        await run.progress(1, 2, force=True)
        await _HELD["go"].wait()
        if not run.params.get("quiet"):
            await run.progress(2, 2, force=True)
    made = f"attempt {run.attempt}".encode()
    return JobOutput(files=[OutputFile("结果.txt", "result.txt", "text/plain", made)])


@pytest.mark.parametrize("quiet", [False, True], ids=["reports-progress", "ends-quietly"])
async def test_a_run_taken_for_stalled_while_alive_never_ends_the_job_a_second_time(
    demo_marks, quiet
):
    """A worker alive but silent past the heartbeat (a long step without progress): the sweep
    gives its job to another worker, which runs it to the end. When the first run wakes up it
    stops at its next progress, or finds at its end that the job is no longer its own: one
    file, the second run's; the job done once, attempt 2."""
    trade = await decrypted_trade()
    _HELD["go"] = asyncio.Event()
    job_id = await service.submit("tests.held", competition_id=trade.competition_id,
                                  requested_by=None, params={"quiet": quiet})  # fmt: skip
    key = (await _row(job_id))["queue_key"]
    first = asyncio.create_task(service.execute(job_id, key))
    while (await _row(job_id))["done"] < 1:
        await asyncio.sleep(0.05)
    silent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=queue.HEARTBEAT_SECONDS)
    await BackgroundJob.update({BackgroundJob.heartbeat_at: silent}).where(
        BackgroundJob.id == job_id
    )
    assert await service.execute(job_id, key) == "done"
    _HELD["go"].set()
    assert await first == service.SUPERSEDED
    row = await _row(job_id)
    assert row["state"] == "done" and row["attempts"] == 2 and row["done"] == 0
    files = await JobFile.select(JobFile.content).where(JobFile.job == job_id)
    assert [bytes(f["content"]) for f in files] == [b"attempt 2"]


@kinds.register("tests.quiet", N_("Every ranking of the competition"))
async def _quiet(run: service.JobRun):
    """Reports no progress at all until the test lets it go (a long step in one piece)."""
    await _HELD["go"].wait()
    return JobOutput(files=[OutputFile("结果.txt", "result.txt", "text/plain", b"quiet")])


async def test_a_long_step_without_progress_keeps_its_job_alive(demo_marks, monkeypatch):
    """The run beats while its handler works, progress or not: silent far past the stall time,
    the job is not shown as stalled and a second delivery leaves it to the first run, which
    ends it once (attempt 1)."""
    monkeypatch.setattr(service, "TOUCH_EVERY_SECONDS", 0.1)
    monkeypatch.setattr(service, "STALLED_AFTER_SECONDS", 0.6)
    trade = await decrypted_trade()
    _HELD["go"] = asyncio.Event()
    job_id = await service.submit("tests.quiet", competition_id=trade.competition_id,
                                  requested_by=None)  # fmt: skip
    key = (await _row(job_id))["queue_key"]
    first = asyncio.create_task(service.execute(job_id, key))
    await asyncio.sleep(2.0)  # over three times the stall time, not one progress report
    assert not (await service.get(job_id)).stalled
    assert await service.execute(job_id, key) == "busy"
    _HELD["go"].set()
    assert await first == "done"
    row = await _row(job_id)
    assert row["state"] == "done" and row["attempts"] == 1
    files = await JobFile.select(JobFile.content).where(JobFile.job == job_id)
    assert [bytes(f["content"]) for f in files] == [b"quiet"]


async def _row(job_id: int) -> dict:
    return await BackgroundJob.select().where(BackgroundJob.id == job_id).first()


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "competition.cli", "worker", "--concurrency", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_a_worker_killed_halfway_leaves_its_job_to_the_next_one(demo_marks, monkeypatch):
    """kill -9 of `jiangxin worker` in the middle of a job: no file, the row stalls, and the
    next worker's sweep gives it again; it runs from the start and ends once, attempt 2."""
    import signal

    from tests.competition.jobs.slow_kind import SLOW

    heartbeat = 6  # seconds, instead of a minute: the sweep finds the dead worker's job soon
    monkeypatch.setattr(queue, "HEARTBEAT_SECONDS", heartbeat)
    env = {**os.environ, "JIANGXIN_JOB_HEARTBEAT": str(heartbeat),
           "JIANGXIN_JOB_MODULES": "tests.competition.jobs.slow_kind"}  # fmt: skip
    trade = await decrypted_trade()
    job_id = await service.submit(SLOW, competition_id=trade.competition_id, requested_by=None,
                                  params={"steps": 16, "pause": 0.5})  # fmt: skip
    first = _worker(env)
    try:
        for _ in range(200):
            row = await _row(job_id)
            if row["state"] == "running" and row["done"] >= 3:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the first worker did not get going: {row}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    halfway = await _row(job_id)
    assert halfway["state"] == "running" and halfway["attempts"] == 1
    assert await JobFile.count().where(JobFile.job == job_id) == 0

    second = _worker(env)
    try:
        for _ in range(600):
            row = await _row(job_id)
            if row["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
    finally:
        second.terminate()
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
    assert row["state"] == "done", row
    assert row["attempts"] == 2
    files = await JobFile.select(JobFile.content).where(JobFile.job == job_id)
    assert [bytes(f["content"]) for f in files] == [b"attempt 2"]
