"""The hot-path reads (`competition.db.fetch_rows` / `fetch_dicts`) on the real database."""

from __future__ import annotations

import asyncio

from competition import db
from competition.audit import SYSTEM, record
from competition.tables import AuditLog


async def test_a_read_after_a_commit_sees_it_while_other_reads_are_in_flight(empty_db):
    # On SQLite every read shares one connection: a statement left open between two awaits of
    # one read kept a read transaction open for all of them, and later reads saw old rows.
    stop = asyncio.Event()

    async def keep_reading() -> None:
        while not stop.is_set():
            await db.fetch_dicts("SELECT count(*) AS n FROM audit_log")

    readers = [asyncio.create_task(keep_reading()) for _ in range(8)]
    await asyncio.sleep(0.05)
    try:
        for written in range(1, 21):
            async with db.transaction():
                await record("test.snapshot", actor=SYSTEM, object_type="test")
            rows = await db.fetch_rows(
                "SELECT count(*) FROM audit_log WHERE action = ?", "test.snapshot"
            )
            assert rows == [(written,)]
    finally:
        stop.set()
        await asyncio.gather(*readers)


async def test_inside_a_transaction_reads_see_its_own_writes_and_rows_carry_their_names(
    empty_db,
):
    async with db.transaction():
        await record("test.own", actor=SYSTEM, object_type="test", object_id=7)
        mine = await db.fetch_dicts(
            "SELECT action, object_id FROM audit_log WHERE action = ?", "test.own"
        )
        assert mine == [{"action": "test.own", "object_id": "7"}]
    assert await AuditLog.count().where(AuditLog.action == "test.own") == 1
    assert await db.fetch_dicts("SELECT id FROM audit_log WHERE action = ?", "none") == []
