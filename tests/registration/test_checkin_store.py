"""The check-in desk's database path (registration.checkin_store) on the real database: writes
arriving together commit together, one failing write is undone alone, reads see what was
committed."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid

import asyncpg

from competition.tables import AuditLog, CompetitionSession
from registration import checkin_store
from registration.tables import CheckIn

INSERT = (
    'INSERT INTO check_in (entry, "session", nonce, checked_in_at, checked_in_by) '
    "VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING RETURNING id"
)
AUDIT = (
    "INSERT INTO audit_log (at, actor_name, action, object_type, object_id, reason) "
    "VALUES (?, 'test', 'test.write', 'entry', ?, '')"
)


async def test_writes_sent_together_commit_together_and_a_failing_one_alone_is_undone(
    demo_full,
):
    entries = [
        row["entry"]
        for row in await checkin_store.read(
            "SELECT id AS entry FROM entry WHERE status = 'approved' ORDER BY id LIMIT 3"
        )
    ]
    assert len(entries) == 3
    session = (await CompetitionSession.select(CompetitionSession.id).first())["id"]
    now = dt.datetime.now(dt.UTC)

    def write(entry_id: int, nonce: str):
        return checkin_store.insert_then(
            (INSERT, (entry_id, session, nonce, now)), (AUDIT, (now, str(entry_id)))
        )

    nonce = uuid.uuid4().hex
    results = await asyncio.gather(
        write(entries[0], uuid.uuid4().hex),
        write(999_999_999, uuid.uuid4().hex),  # no such entry: the foreign key refuses it
        write(entries[1], nonce),
        write(entries[2], nonce),  # the same nonce again
        return_exceptions=True,
    )
    assert results[0] is True
    assert isinstance(results[1], sqlite3.IntegrityError | asyncpg.ForeignKeyViolationError)
    # The two with one nonce race (on PostgreSQL truly in parallel): exactly one stores.
    assert sorted([results[2], results[3]]) == [False, True]
    winner = entries[1] if results[2] else entries[2]
    stored = await CheckIn.select(CheckIn.entry).order_by(CheckIn.entry)
    assert [row["entry"] for row in stored] == sorted([entries[0], winner])
    audits = await AuditLog.select(AuditLog.object_id).where(AuditLog.action == "test.write")
    assert sorted(row["object_id"] for row in audits) == sorted([str(entries[0]), str(winner)])
    # The readers see the committed rows at once.
    read = await checkin_store.read("SELECT count(*) AS n FROM check_in WHERE nonce = ?", nonce)
    assert read == [{"n": 1}]


async def test_a_single_statement_write_returns_its_rows(demo_full):
    session = (await CompetitionSession.select(CompetitionSession.id).first())["id"]
    entry = (await checkin_store.read("SELECT min(id) AS id FROM entry"))[0]["id"]
    rows = await checkin_store.write_statement(
        INSERT, entry, session, uuid.uuid4().hex, dt.datetime.now(dt.UTC)
    )
    assert len(rows) == 1 and set(rows[0]) == {"id"}
    again = await checkin_store.write_statement(
        INSERT, entry, session, uuid.uuid4().hex, dt.datetime.now(dt.UTC)
    )
    assert again == []  # (entry, session) is taken: nothing stored, nothing returned
