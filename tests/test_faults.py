"""Fault tests (issue 16, point 5): the server or the job worker killed with SIGKILL in the middle
of work, then started again on the same database (the suite's: SQLite, or PostgreSQL with
DATABASE_URL), and what the database holds afterwards.

- A registration import killed while it writes its rows: the batch's entries are all there or
  none, its batch still says what happened, and the same batch is imported again to completion
  on the restarted server, once.
- The certificates job's worker killed while it prints (its numbering transaction kept whole,
  no file): the next worker runs the job again and ends it, every certificate exists once,
  under the number first given, and the PDF has one page each; a job the worker held on its
  last attempt is reported failed, with the reason.
- A judge's tablet (headless Chromium) whose marks are in flight when the server is killed: the
  page shows them waiting, keeps taking marks, and once the server is back its queue sends
  them again; every mark is stored once, with the last value given.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from collections import Counter

import asyncpg
import httpx
import pypdf
import pytest
from playwright.async_api import expect

from bench.import_registrations import demo_catalogue, generate_rows, write_csv
from competition import db
from competition.config import get_settings
from competition.demo.loader import DEMO_PASSWORD
from competition.jobs import queue, service
from competition.jobs.tables import BackgroundJob, JobFile
from competition.results.standings import trade_standings
from competition.results.tables import Certificate, CertificateRevision
from competition.tables import AuditLog
from registration.tables import Entry, ImportBatch, Person
from scoring.tables import Mark, MarkChange
from tests.browser_support import free_port
from tests.competition.jobs.slow_kind import SLOW
from tests.competition.results.builders import final_trade
from tests.fault_support import (
    HERE,
    PAUSES_VARIABLE,
    Relay,
    Server,
    end,
    long_write_open,
    no_write_open,
    postgres,
    start_worker,
    wait_until,
)
from tests.scoring.sheets.builders import competing_trade
from tests.support import csrf_token, login, post_form

IMPORT_ROWS = 20_000  # ~0.7 s of writing on SQLite, ~1.5 s on PostgreSQL, on this machine
# The queue takes a worker for dead after this many seconds without a heartbeat (60 in
# production); the certificates job's stretched step stays well inside it.
HEARTBEAT = 4
PAUSE = 1.0
TIMEOUT = 90  # any one wait; a loaded 2-core machine starts a process in several seconds
SLOW_KIND = "tests.competition.jobs.slow_kind"
LONG_SLOW = {"steps": 600, "pause": 0.1}  # a minute's counting, unless its worker dies


@pytest.fixture(scope="module")
async def server(tmp_path_factory):
    """One `jiangxin serve --no-job-worker` for the module, killed and restarted by the tests
    (on the same port: a tablet's queue sends to the address its page came from)."""
    served = Server(free_port(), tmp_path_factory.mktemp("faults") / "serve.log")
    await served.start()
    yield served
    served.stop()


@pytest.fixture
async def served(server):
    if not server.alive:
        await server.start()
    return server


# ---------------------------------------------------------------------------- the import


async def _entries(competition_id: int) -> int:
    return await Entry.count().where(Entry.competition == competition_id)


async def _batch(token: str) -> dict:
    row = await ImportBatch.select(
        ImportBatch.status, ImportBatch.summary, ImportBatch.content
    ).where(ImportBatch.token == token).first()  # fmt: skip
    summary = row["summary"]
    return {
        "status": row["status"],
        "summary": json.loads(summary) if isinstance(summary, str) else summary,
        "kept": len(bytes(row["content"] or b"")),
    }


async def test_a_server_killed_while_it_imports_registrations_keeps_all_or_none(
    demo_mutable, served
):
    cid = demo_mutable.competition_id
    trades, delegations = demo_catalogue()
    data = write_csv(generate_rows(IMPORT_ROWS, trades, delegations))
    before = (await _entries(cid), await Person.count(), await AuditLog.count())
    base = f"/org/competitions/{cid}/registrations/import"

    async with httpx.AsyncClient(base_url=served.base, timeout=TIMEOUT) as organizer:
        await login(organizer, "organizer")
        upload = await post_form(organizer, base, files={"file": ("名单.csv", data, "text/csv")})
        assert upload.status_code == 303, upload.text[-2000:]
        url = upload.headers["location"]
        token = url.rsplit("/", 1)[1]
        checked = await _batch(token)
        assert checked["status"] == "checked"
        assert checked["summary"]["counts"]["new"] == IMPORT_ROWS
        assert checked["summary"]["counts"]["errors"] == 0

        # "Import the valid rows"; the server is killed once its transaction has been writing
        # for a moment (SQLite's write lock held, or a PostgreSQL transaction with writes).
        # (A machine fast enough to commit before that is killed just after: all, then.)
        accept = asyncio.create_task(post_form(organizer, f"{url}/import"))
        writing = asyncio.create_task(long_write_open(0.2, timeout=TIMEOUT))
        first, _ = await asyncio.wait({accept, writing}, return_when=asyncio.FIRST_COMPLETED)
        writing.cancel()
        served.kill9()
        if writing in first and writing.exception() is not None:
            raise writing.exception()
        try:
            answer = await asyncio.wait_for(accept, TIMEOUT)
        except httpx.TransportError:
            pass  # no answer: killed while it worked
        else:
            assert answer.status_code == 303, answer.text[-2000:]
    await no_write_open(timeout=TIMEOUT)

    # All or none of the transaction: the batch's people, entries and audit records.
    after = (await _entries(cid), await Person.count(), await AuditLog.count())
    batch = await _batch(token)
    if after[0] == before[0]:
        assert after == before, (before, after)
        # The batch waits for the decision as before, its file still kept.
        assert batch["status"] == "checked" and batch["kept"] == len(data)
    else:  # the commit won the race with the kill
        assert after[:2] == (before[0] + IMPORT_ROWS, before[1] + IMPORT_ROWS), (before, after)
        assert batch["status"] == "imported" and batch["kept"] == 0
    killed_inside = batch["status"] == "checked"

    # The server started again on the same database: the organizer imports the same batch.
    await served.start()
    async with httpx.AsyncClient(base_url=served.base, timeout=TIMEOUT) as organizer:
        await login(organizer, "organizer")
        page = await organizer.get(url)
        assert page.status_code == 200
        if killed_inside:
            assert "导入有效行" in page.text and "全部不导入" in page.text
        done = await post_form(organizer, f"{url}/import")
        assert done.status_code == 303 and done.headers["location"].endswith("?done=imported")
        result = await organizer.get(done.headers["location"])
        assert result.status_code == 200 and "已导入" in result.text
        # Posted once more (a refreshed page): nothing twice.
        again = await post_form(organizer, f"{url}/import")
        assert again.status_code == 303

    assert await _entries(cid) == before[0] + IMPORT_ROWS
    assert await Person.count() == before[1] + IMPORT_ROWS
    batch = await _batch(token)
    assert batch["status"] == "imported" and batch["kept"] == 0
    if killed_inside:
        assert batch["summary"]["result"]["new"] == IMPORT_ROWS
    print(f"import killed inside its transaction: {killed_inside}")


# ---------------------------------------------------------------------------- certificates


async def _job(job_id: int) -> dict:
    return await BackgroundJob.select().where(BackgroundJob.id == job_id).first()


async def _certificates(trade_id: int) -> list[dict]:
    return await (
        Certificate.select(Certificate.id, Certificate.number, Certificate.entry, Certificate.kind)
        .where(Certificate.trade == trade_id)
        .order_by(Certificate.id)
    )


async def _issued_audit() -> int:
    return await AuditLog.count().where(AuditLog.action == "certificate.issue")


async def test_a_worker_killed_while_it_prints_certificates_leaves_each_once(
    demo_marks, client, monkeypatch
):
    """The worker runs two jobs when it is killed: the certificates, which the queue gives to
    the next worker, and a job on its last attempt, which it gives to nobody: that one is
    reported failed, with the reason."""
    # This process queues the jobs and reports them, as a web worker would with the same
    # JIANGXIN_JOB_HEARTBEAT as the job workers.
    monkeypatch.setattr(queue, "HEARTBEAT_SECONDS", HEARTBEAT)
    monkeypatch.setattr(service, "STALLED_AFTER_SECONDS", HEARTBEAT - 2 * HEARTBEAT / 6)
    env = {"JIANGXIN_JOB_HEARTBEAT": str(HEARTBEAT), "JIANGXIN_JOB_MODULES": f"{HERE},{SLOW_KIND}"}
    trade = await final_trade()
    standings = await trade_standings(trade.trade_id)
    due = sorted(
        (r.entry_id, kind)
        for r in standings.rows
        if r.present
        for kind, held in (("award", r.award), ("title", r.title), ("promotion", r.promotion))
        if held
    )
    assert due
    audit_before = await _issued_audit()
    await login(client, "organizer")
    token = await csrf_token(client)
    asked = await client.post(
        f"/org/competitions/{trade.competition_id}/certificates/issue",
        data={"_csrf_token": token, "trade_id": str(trade.trade_id)},
    )
    assert asked.status_code == 303, asked.text
    job_id = int(asked.headers["location"].rsplit("/", 1)[1])
    with monkeypatch.context() as last_attempt:
        last_attempt.setattr(queue, "ATTEMPTS", 1)
        lost_id = await service.submit(SLOW, competition_id=trade.competition_id,
                                       requested_by=None, params=LONG_SLOW)  # fmt: skip

    async def printing():
        row = await _job(job_id)
        return row if row["step"] == "Printing the certificates" else None

    async def counting():
        row = await _job(lost_id)
        return row if row["state"] == "running" and row["done"] >= 1 else None

    first = second = None
    try:
        # The first worker numbers the certificates (their own transaction) and is killed
        # while it prints them.
        first = start_worker(**env, **{PAUSES_VARIABLE: f"certificates.printing={PAUSE}"},
                             concurrency=2)  # fmt: skip
        await wait_until(counting, timeout=TIMEOUT, what="the first worker running the job")
        await wait_until(printing, timeout=TIMEOUT, what="the first worker printing")
        # The next worker waits beside it (started now: a process takes seconds to start).
        second = start_worker(**env)
        end(first, kill=True)
        row = await _job(job_id)
        assert row["state"] == "running" and row["attempts"] == 1
        assert await JobFile.count().where(JobFile.job == job_id) == 0
        # The numbering transaction, all of it: each certificate, its first version, its audit.
        numbered = await _certificates(trade.trade_id)
        assert sorted((c["entry"], c["kind"]) for c in numbered) == due
        assert await CertificateRevision.count() == len(numbered)
        assert await _issued_audit() == audit_before + len(numbered)

        # The queue's sweep gives the certificates to the second worker, which ends them; the
        # other job it gives up, and its page says so.
        row = await wait_until(lambda: _finished(job_id), timeout=TIMEOUT,
                               what="the second worker ending the job")  # fmt: skip
        lost = await wait_until(lambda: _reported_failed(client, lost_id), timeout=TIMEOUT,
                                what="the job on its last attempt reported failed")  # fmt: skip
    finally:
        end(first, kill=True)
        end(second)
    assert lost["attempts"] == 1 and lost["files"] == []
    assert "最后一次" in lost["error"], lost["error"]
    page = await client.get(f"/jobs/{lost_id}")
    assert "失败" in page.text and lost["error"] in page.text
    # Asked for again, it is a new job (the failed one no longer stands in its way).
    again = await service.submit(SLOW, competition_id=trade.competition_id, requested_by=None,
                                 params=LONG_SLOW)  # fmt: skip
    assert again != lost_id
    # Nobody runs it: a worker of a later test finds it ended.
    await BackgroundJob.update({BackgroundJob.state: "failed"}).where(BackgroundJob.id == again)

    assert row["state"] == "done", row
    assert row["attempts"] == 2

    made = await _certificates(trade.trade_id)
    assert sorted((c["entry"], c["kind"]) for c in made) == due  # one per entry and kind
    assert len({c["number"] for c in made}) == len(made)
    assert made == numbered  # kept from the first attempt, none made again
    revisions = await CertificateRevision.select(CertificateRevision.certificate)
    assert Counter(r["certificate"] for r in revisions) == Counter(c["id"] for c in made)
    assert await _issued_audit() == audit_before + len(made)

    status = (await client.get(f"/api/jobs/{job_id}")).json()
    assert status["state"] == "done" and status["attempts"] == 2
    [pdf_file] = status["files"]
    content = (await client.get(pdf_file["url"])).content
    assert len(content) == pdf_file["size"]
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == len(made)
    printed = {
        re.search(r"证书编号：(\S+)", page.extract_text().replace("\n", "")).group(1)
        for page in reader.pages
    }
    assert printed == {c["number"] for c in made}


async def _finished(job_id: int) -> dict | None:
    row = await _job(job_id)
    return row if row["state"] in ("done", "failed") else None


async def _reported_failed(client, job_id: int) -> dict | None:
    status = (await client.get(f"/api/jobs/{job_id}")).json()
    return status if status["state"] == "failed" else None


# ---------------------------------------------------------------------------- marking

TABLET = {"viewport": {"width": 800, "height": 1280}, "is_mobile": True, "has_touch": True}
ALL_SAVED = "所有评分已保存"
PAGE_TIMEOUT_MS = 15_000
# The queue tries again after 1, 2, 4, 8 s… (at most 15 s) while the server is away.
RESEND_TIMEOUT_MS = 45_000


class _Hold:
    """Mark writes held up in the database by a lock this test takes (SQLite: the write lock;
    PostgreSQL: the score sheet's row FOR UPDATE, which a mark reads FOR SHARE), so the
    tablet's requests are inside the server when it is killed."""

    def __init__(self, sheet_id: int) -> None:
        self.sheet_id = sheet_id
        self._connection = None

    async def __aenter__(self) -> _Hold:
        target = get_settings().database
        if postgres():
            self._connection = await asyncpg.connect(target.postgres_dsn)
            await self._connection.execute("BEGIN")
            await self._connection.execute(
                "SELECT id FROM score_sheet WHERE id = $1 FOR UPDATE", self.sheet_id
            )
        else:
            self._connection = sqlite3.connect(target.sqlite_path, isolation_level=None)
            self._connection.execute("BEGIN IMMEDIATE")
        return self

    async def __aexit__(self, *exc) -> None:
        if postgres():
            await self._connection.execute("ROLLBACK")
            await self._connection.close()
        else:
            self._connection.execute("ROLLBACK")
            self._connection.close()


@pytest.mark.browser
async def test_a_server_killed_while_a_tablet_saves_marks_loses_and_doubles_none(
    demo_scoring, served, browser
):
    """The tablet talks to the server through a relay (its address stays the same while the
    server behind it is killed and started again). Two marks reach the server and are stored,
    their answers lost on the way; three more wait inside the server on the database when it
    is killed; four are given while it is down. Once it is back every one of them is sent again
    (one of the first two under its first client id: answered as a repeat) and stored once."""
    built = await competing_trade()
    sheet_id = built.sheets["judge"][0]
    relay = Relay(served.port)
    await relay.start()
    context = await browser.new_context(**TABLET)
    page = await context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    sent: list[str] = []  # the client id of every mark request the page sent
    failed: list[str] = []  # and of those that got no answer
    for event, into in (("request", sent), ("requestfailed", failed)):
        page.on(event, lambda r, into=into: into.append(r.post_data_json["client_id"])
                if r.url.endswith("/api/judge/marks") else None)  # fmt: skip
    answers: list[tuple[str, int, str]] = []  # (client id, status, result) of each answer

    async def answered(response) -> None:
        if response.url.endswith("/api/judge/marks"):
            body = await response.json()
            answers.append((response.request.post_data_json["client_id"], response.status,
                            body.get("result") or body.get("code")))  # fmt: skip

    page.on("response", answered)
    try:
        await page.goto(f"{relay.base}/login")
        await page.fill("#username", "judge")
        await page.fill("#password", DEMO_PASSWORD)
        await page.click("form.stacked button[type=submit]")
        await expect(page).to_have_url(f"{relay.base}/judge")
        await page.goto(f"{relay.base}/judge/sheets/{sheet_id}")
        queue_note = page.locator("#sheet-queue")
        await expect(queue_note).to_have_text(ALL_SAVED)
        sheet = json.loads(await page.locator("#sheet-data").text_content())
        a = {x["code"]: x for x in sheet["aspects"]}
        first, second = (c["slot"] for c in sheet["contestants"][:2])

        def cell(slot: int, code: str):
            return page.locator(f'[data-cell="{slot}:{a[code]["id"]}"]')

        def key(slot: int, code: str) -> tuple[int, int]:
            return (slot, a[code]["id"])

        async def level(slot: int, code: str, value: int) -> None:
            await cell(slot, code).locator(f'.sheet-level[data-level="{value}"]').tap()

        async def typed(slot: int, code: str, text: str) -> None:
            box = cell(slot, code).locator("input.sheet-input")
            await box.tap()
            await box.fill(text)
            await box.press("Enter")

        async def show(slot: int) -> None:
            await page.locator(f'.sheet-chip[data-slot="{slot}"]').tap()
            await expect(page.locator("#sheet-card")).to_have_attribute("data-slot", str(slot))

        # Saved and acknowledged before anything goes wrong.
        await level(first, "B6", 2)
        await typed(first, "A1", "2.5")
        await expect(queue_note).to_have_text(ALL_SAVED)
        stored = {key(first, "B6"): 200, key(first, "A1"): 250}
        assert await _marks_of(sheet_id) == stored

        # Two marks stored by the server, their answers lost: the tablet still waits for them.
        relay.drop_answers = True
        await level(first, "B6", 3)  # a change of a saved mark
        await typed(first, "A3", "1.5")
        stored |= {key(first, "B6"): 300, key(first, "A3"): 150}
        await wait_until(lambda: _marks_are(sheet_id, stored), timeout=TIMEOUT,
                         what="the server storing two marks")  # fmt: skip
        unanswered = sent[-2:]
        await expect(queue_note).to_have_text("2 项评分等待上传")

        # Three more inside the server, waiting on the database, when it is killed.
        async with _Hold(sheet_id):
            await level(first, "C4", 1)
            await typed(first, "A2", "1.5")
            await show(second)
            await level(second, "D1", 3)
            await wait_until(_at_least(sent, 7), timeout=TIMEOUT,
                             what="the tablet sending three more marks")  # fmt: skip
            if postgres():
                await wait_until(_waiting_on_locks(3), timeout=TIMEOUT,
                                 what="three marks waiting inside their transactions")  # fmt: skip
            else:
                await asyncio.sleep(0.5)  # read by the server, waiting for SQLite's lock
            await expect(queue_note).to_have_text("5 项评分等待上传")
            served.kill9()
        relay.drop_answers = False
        await no_write_open(timeout=TIMEOUT)
        await wait_until(_at_least(failed, 5), timeout=TIMEOUT,
                         what="the five unanswered requests failing with the server")  # fmt: skip
        assert await _marks_of(sheet_id) == stored  # the three died with their transactions

        # The server is gone: the tablet says so and keeps taking marks.
        await expect(page.locator("#sheet-net")).to_be_visible()
        await level(second, "D1", 1)  # changed again before it was sent: only the last goes
        await typed(second, "B1", "7.5")
        await show(first)
        await level(first, "C4", 2)
        await level(first, "B6", 2)  # back to 2, while its change to 3 waits for an answer
        await expect(queue_note).to_have_text("6 项评分等待上传")

        # Back on the same database: the queue sends what had no answer, with the same ids.
        await served.start()
        await expect(queue_note).to_have_text(ALL_SAVED, timeout=RESEND_TIMEOUT_MS)
        await expect(page.locator("#sheet-net")).to_be_hidden()
    finally:
        await context.close()
        await relay.close()

    expected = {
        key(first, "B6"): 200,
        key(first, "A1"): 250,
        key(first, "A3"): 150,
        key(first, "C4"): 200,
        key(first, "A2"): 150,
        key(second, "D1"): 100,
        key(second, "B1"): 750,
    }
    rows = await Mark.select(Mark.slot, Mark.aspect).where(Mark.sheet == sheet_id)
    assert len(rows) == len(expected)  # one mark a cell
    assert await _marks_of(sheet_id) == expected
    # Every stored change is one the judge made, once, in the order given; a value replaced on
    # the tablet before it was sent, or lost with the server's transaction, is not among them.
    changes = await _changes_of(sheet_id)
    per_cell: dict[tuple[int, int], list[int]] = {}
    for slot, aspect, value, _client in changes:
        per_cell.setdefault((slot, aspect), []).append(value)
    assert per_cell == {
        key(first, "B6"): [200, 300, 200],
        key(first, "A1"): [250],
        key(first, "A3"): [150],
        key(first, "C4"): [200],  # its level 1 died with the server
        key(first, "A2"): [150],
        key(second, "D1"): [100],  # its level 3 too, and was then replaced on the tablet
        key(second, "B1"): [750],
    }
    client_ids = [c for *_rest, c in changes]
    assert len(set(client_ids)) == len(client_ids)
    assert set(client_ids) <= set(sent)
    # A3's answer was lost: sent again under its first id, answered as a repeat, stored once.
    # B6's change to 3, stored with its answer lost, was replaced on the tablet by 2, which
    # met the tablet's own change as a conflict and went again on top of it.
    b6_to_3, a3 = unanswered
    assert sent.count(a3) >= 2 and client_ids.count(a3) == 1
    assert [(status, result) for c, status, result in answers if c == a3] == [(200, "repeat")]
    assert client_ids.count(b6_to_3) == 1
    assert [result for c, _status, result in answers if c == b6_to_3] == []
    assert [result for _c, _status, result in answers].count("mark_conflict") == 1
    # Every other stored change was answered once, as saved; nothing was answered twice.
    assert len({c for c, _s, _r in answers}) == len(answers)
    saved = {c for c, status, result in answers if (status, result) == (200, "saved")}
    assert saved == set(client_ids) - {b6_to_3, a3}


async def _marks_are(sheet_id: int, wanted: dict) -> bool:
    return await _marks_of(sheet_id) == wanted


def _waiting_on_locks(n: int):
    async def probe() -> bool:
        rows = await db.fetch_rows(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return rows[0][0] >= n

    return probe


def _at_least(items: list, n: int):
    async def probe() -> bool:
        return len(items) >= n

    return probe


async def _marks_of(sheet_id: int) -> dict[tuple[int, int], int]:
    rows = await Mark.select(Mark.slot, Mark.aspect, Mark.value_hundredths).where(
        Mark.sheet == sheet_id
    )
    return {(r["slot"], r["aspect"]): r["value_hundredths"] for r in rows}


async def _changes_of(sheet_id: int) -> list[tuple[int, int, int, str]]:
    rows = (
        await MarkChange.select(MarkChange.mark.slot, MarkChange.mark.aspect,
                                MarkChange.new_hundredths, MarkChange.client_id)
        .where(MarkChange.mark.sheet == sheet_id)
        .order_by(MarkChange.id)
    )  # fmt: skip
    return [(r["mark.slot"], r["mark.aspect"], r["new_hundredths"], r["client_id"]) for r in rows]
