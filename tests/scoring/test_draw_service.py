"""The draw through the organizer's pages and the services: refused before check-in closes and
when asked twice (the database as it was), reproduced from its seed by the supervisor and the
CLI, a tampered slot detected; codes only on the organizer's pages and exports; the mapping for
the encryption role and the supervisor through the one audited reveal; judges refused."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from competition.audit import Actor
from competition.config import REPO_ROOT
from competition.stages import Stage
from competition.tables import AuditLog, Trade
from registration.tables import CheckIn, Entry, EntryStatus
from scoring.demo.draw import _to_draw_phase
from scoring.draw import service
from scoring.tables import Draw, DrawSlot
from tests.support import login, post_form

ACTOR = Actor(user_id=None, name="test")


def draw_url(cid: int, trade_id: int, rest: str = "") -> str:
    return f"/org/competitions/{cid}/draw/{trade_id}{rest}"


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def trade_id(cid: int, code: str) -> int:
    row = await Trade.select(Trade.id).where((Trade.competition == cid) & (Trade.code == code))
    return row[0]["id"]


async def approved(trade: int) -> list[dict]:
    return (
        await Entry.select(
            Entry.id, Entry.session, Entry.ticket_number, Entry.person.name,
            Entry.person.id_number,
        )
        .where((Entry.trade == trade) & (Entry.status == EntryStatus.approved.value))
        .order_by(Entry.id)
    )  # fmt: skip


async def ready(cid: int, code: str, *, check_in: int | None = None) -> tuple[int, list[dict]]:
    """The competition in its check-in and draw phase and the trade's approved contestants
    checked in (the first `check_in` of them, or all)."""
    await _to_draw_phase(cid)
    trade = await trade_id(cid, code)
    entries = await approved(trade)
    for entry in entries[:check_in]:
        nonce = hashlib.sha256(f"test|{entry['id']}".encode()).hexdigest()
        await CheckIn.insert(CheckIn(entry=entry["id"], session=entry["session"], nonce=nonce))
    return trade, entries


async def state(trade: int) -> tuple:
    row = await Trade.select(Trade.stage, Trade.checkin_closed_at).where(Trade.id == trade)
    return (row[0]["stage"], await Draw.count(), await DrawSlot.count())


async def test_the_draw_is_refused_until_check_in_closes_and_runs_once(demo_full, client):
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T001", check_in=None)
    assert len(entries) >= 3
    await login(client, "organizer")
    before = await state(trade)
    refused = await post_form(client, draw_url(cid, trade, "/run"))
    assert refused.status_code == 409
    assert "请先结束检录再抽签" in main(refused.text)
    assert await state(trade) == before == (Stage.not_drawn, 0, 0)

    closed = await post_form(client, draw_url(cid, trade, "/checkin"), {"action": "close"})
    assert closed.status_code == 303
    done = await post_form(client, draw_url(cid, trade, "/run"), {"second_layer": "1"})
    assert done.status_code == 303, done.text
    draw = await service.draw_of(trade)
    assert draw is not None and draw["second_layer"] and draw["algorithm"] == "sha256-order-v1"
    assert re.fullmatch(r"[0-9a-f]{32}", draw["seed"])
    assert await DrawSlot.count().where(DrawSlot.trade == trade) == len(entries)
    assert draw["summary"]["present"] == len(entries) and draw["summary"]["absent"] == 0
    log = await AuditLog.select().where(AuditLog.action == "draw.run")
    assert len(log) == 1 and log[0]["object_id"] == str(trade)

    # Asked twice: 409, nothing changed.
    after = await state(trade)
    again = await post_form(client, draw_url(cid, trade, "/run"))
    assert again.status_code == 409 and "已抽签" in main(again.text)
    assert await state(trade) == after

    index = await client.get(f"/org/competitions/{cid}/draw")
    assert index.status_code == 200 and 'data-trade="T001"' in index.text

    # The organizer's page and export: algorithm and codes, never a person, never the seed.
    page = await client.get(draw_url(cid, trade))
    assert page.status_code == 200
    body = main(page.text)
    # The seed is the supervisor's: with it and the entries the codes could be worked out.
    assert draw["seed"] not in body and "sha256-order-v1" in body
    slots = await DrawSlot.select(DrawSlot.code, DrawSlot.judge_code).where(DrawSlot.trade == trade)
    assert all(s["code"] in body for s in slots)
    assert not any(s["judge_code"] in body for s in slots)
    export = await client.get(draw_url(cid, trade, "/codes.xlsx"))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    cells = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
    assert all(s["code"] in cells for s in slots)
    for entry in entries:
        for secret in (entry["person.name"], entry["ticket_number"], entry["person.id_number"],
                       entry["person.id_number"][-4:] + "<"):  # fmt: skip
            assert secret not in body and secret not in cells
    for s in slots:
        assert s["judge_code"] not in cells

    # A check-in scan is refused once the trade has drawn.
    from registration import checkin

    late = await checkin.check_in_entry(
        entries[0]["id"], entries[0]["session"], "late-scan-0001", actor=ACTOR
    )
    assert late.outcome == "refused"


async def test_zero_present_is_refused_and_leaves_the_trade_as_it_was(demo_full, client):
    cid = demo_full.competition_id
    trade, _entries = await ready(cid, "T002", check_in=0)
    await login(client, "organizer")
    await post_form(client, draw_url(cid, trade, "/checkin"), {"action": "close"})
    before = await state(trade)
    refused = await post_form(client, draw_url(cid, trade, "/run"))
    assert refused.status_code == 422
    assert "没有" in main(refused.text) or "无" in main(refused.text)
    assert await state(trade) == before and before[0] == Stage.not_drawn


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own command with our own arguments
        [sys.executable, "-m", "competition.cli", *args],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip


async def test_verify_reproduces_the_draw_and_detects_a_tampered_slot(demo_full, client):
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T087")
    ran = _cli("draw", "run", "--competition", "QH16", "--trade", "T087", "--lang", "en")
    assert ran.returncode == 1 and "Check-in of the trade is still open" in ran.stderr
    from scoring.stages import set_checkin_closed

    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    ran = _cli("draw", "run", "--competition", "QH16", "--trade", "T087")
    assert ran.returncode == 0, ran.stderr
    assert f"Drawn: {len(entries)} present, 0 absent" in ran.stdout
    report = await service.verify_draw(cid, trade, actor=ACTOR)
    assert report.reproduced and report.identical == report.slots == len(entries)
    ok = _cli("draw", "verify", "--competition", "QH16", "--trade", "T087")
    assert ok.returncode == 0 and f"{len(entries)} of {len(entries)} slots identical" in ok.stdout

    await login(client, "supervisor")
    listing = await client.get(f"/supervisor/competitions/{cid}/draws")
    assert listing.status_code == 200 and "T087" in main(listing.text)
    page = await client.get(f"/supervisor/competitions/{cid}/draws/{trade}/verify")
    assert page.status_code == 200
    n = len(entries)
    assert f"复现结果：{n} 条中 {n} 条完全一致" in main(page.text)

    # Two codes swapped behind the system's back: the re-run finds both slots.
    slots = await DrawSlot.select(DrawSlot.id, DrawSlot.code, DrawSlot.position).where(
        DrawSlot.trade == trade
    ).order_by(DrawSlot.position)  # fmt: skip
    a, b = slots[0], slots[1]
    await DrawSlot.update({DrawSlot.code: "X"}).where(DrawSlot.id == a["id"])
    await DrawSlot.update({DrawSlot.code: a["code"]}).where(DrawSlot.id == b["id"])
    await DrawSlot.update({DrawSlot.code: b["code"]}).where(DrawSlot.id == a["id"])
    report = await service.verify_draw(cid, trade, actor=ACTOR)
    assert not report.reproduced and [m["position"] for m in report.mismatches] == [1, 2]
    bad = _cli("draw", "verify", "--competition", "QH16", "--trade", "T087")
    assert bad.returncode == 1 and "position 1: different" in bad.stdout
    page = await client.get(f"/supervisor/competitions/{cid}/draws/{trade}/verify")
    assert page.status_code == 200 and 'id="mismatches"' in page.text
    verified = await AuditLog.count().where(AuditLog.action == "draw.verified")
    assert verified == 6  # two service calls, two commands and two pages


async def test_the_mapping_is_for_the_encryption_role_and_the_supervisor_only(
    demo_full, client, other_client
):
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T001")
    from scoring.stages import set_checkin_closed

    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    await service.run_draw(cid, trade, actor=ACTOR)
    base = f"/encryption/competitions/{cid}/trades/{trade}"
    await login(client, "encryption")
    home = await client.get("/encryption")
    assert home.status_code == 200 and base in home.text
    page = await client.get(base)
    assert page.status_code == 200
    body = main(page.text)
    slots = {r["entry"]: r["code"] for r in await DrawSlot.select(DrawSlot.entry, DrawSlot.code)}
    for entry in entries:
        assert entry["person.name"] in body and entry["ticket_number"] in body
    row = re.search(rf"<code>{slots[entries[0]['id']]}</code>.*?</tr>", body, re.S)
    assert row and entries[0]["person.name"] in row.group(0)
    export = await client.get(base + "/mapping.xlsx")
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == len(entries) + 1
    assert {r[0]: r[3] for r in rows[1:]}[slots[entries[0]["id"]]] == entries[0]["person.name"]
    slips = await client.get(base + "/slips")
    assert slips.status_code == 200 and entries[0]["person.name"] in slips.text
    revealed = await AuditLog.select(AuditLog.new, AuditLog.actor_name).where(
        AuditLog.action == "codes.revealed"
    )  # fmt: skip
    assert len(revealed) == 3 and all(r["actor_name"] == "encryption" for r in revealed)

    await login(other_client, "supervisor")
    seen = await other_client.get(f"/supervisor/competitions/{cid}/draws/{trade}/mapping")
    assert seen.status_code == 200 and entries[0]["person.name"] in seen.text
    assert await AuditLog.count().where(AuditLog.action == "codes.revealed") == 4

    # Judges and the organizer never reach the mapping; judges not the draw pages either.
    await login(other_client, "judge")
    for url in (base, base + "/mapping.xlsx", "/encryption", draw_url(cid, trade),
                f"/supervisor/competitions/{cid}/draws/{trade}/mapping"):  # fmt: skip
        assert (await other_client.get(url)).status_code == 403, url
    await login(other_client, "organizer")
    assert (await other_client.get(base)).status_code == 403
    assert await AuditLog.count().where(AuditLog.action == "codes.revealed") == 4


async def drawn(cid: int, code: str, *, check_in: int | None = None) -> tuple[int, list[dict]]:
    """The trade drawn through the service, every approved contestant (or the first
    `check_in`) present."""
    from scoring.stages import set_checkin_closed

    trade, entries = await ready(cid, code, check_in=check_in)
    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    await service.run_draw(cid, trade, actor=ACTOR)
    return trade, entries


async def test_what_a_slot_names_cannot_be_deleted_and_a_deleted_draw_takes_its_slots(demo_full):
    """SQLite by its foreign keys, PostgreSQL by the triggers that replace them (the draw checks
    the keys itself, in bulk): the same answers on both."""
    from competition import structure
    from competition.db import fetch_rows, transaction
    from competition.errors import Conflict
    from competition.tables import Station

    cid = demo_full.competition_id
    trade, entries = await drawn(cid, "T001", check_in=-1)  # the last one absent
    slot = await DrawSlot.select().where(DrawSlot.trade == trade).first()

    # A station a slot names is "in use"; one of the same venue that no slot names is not.
    venue = (await Station.select(Station.venue).where(Station.id == slot["station"]))[0]["venue"]
    used = {s["station"] for s in await DrawSlot.select(DrawSlot.station)}
    free = [
        s["id"]
        for s in await Station.select(Station.id).where(Station.venue == venue)
        if s["id"] not in used
    ]
    assert free, "the venue has a station no slot names"
    with pytest.raises(Conflict) as caught:
        await structure.delete_record("station", cid, slot["station"], ACTOR)
    assert caught.value.code == "in_use"
    assert await Station.exists().where(Station.id == slot["station"])
    await structure.delete_record("station", cid, free[0], ACTOR)
    assert not await Station.exists().where(Station.id == free[0])

    # An entry: the absent one (no slot) goes with its check-ins gone; a drawn one does not.
    absent, present = entries[-1]["id"], slot["entry"]
    for entry_id, refused in ((absent, False), (present, True)):
        try:
            async with transaction():
                await fetch_rows("DELETE FROM check_in WHERE entry = ?", entry_id)
                await fetch_rows("DELETE FROM entry WHERE id = ?", entry_id)
        except Exception as exc:
            from competition.db import is_integrity_error

            assert refused and is_integrity_error(exc), exc
        else:
            assert not refused
        assert await Entry.exists().where(Entry.id == entry_id) is refused

    # A draw deleted takes its slots (nothing was marked yet).
    slots = await DrawSlot.count().where(DrawSlot.trade == trade)
    assert slots == len(entries) - 1
    await Draw.delete().where(Draw.trade == trade)
    assert await DrawSlot.count().where(DrawSlot.trade == trade) == 0


async def test_a_delete_racing_the_draw_waits_for_it_and_is_refused(demo_full):
    """PostgreSQL: the draw holds what its slots name as a foreign key would, so a station deleted
    on another connection while the draw is not yet committed waits, then is refused; and a
    station deleted just before the draw locks it refuses the draw, which leaves nothing."""
    import asyncio

    import asyncpg

    from competition import db
    from competition.config import get_settings
    from competition.errors import Conflict

    if not db.is_postgres():
        pytest.skip("SQLite has one writer at a time and keeps its foreign keys")
    dsn = db.postgres_config(get_settings())["dsn"]
    cid = demo_full.competition_id
    from scoring.stages import set_checkin_closed

    trade, entries = await ready(cid, "T001")
    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    sessions = await service.practical_sessions(trade)
    station = sessions[0]["stations"][0]["id"]

    # Deleted first, on another connection, not yet committed: the draw waits, then is refused.
    other = await asyncpg.connect(dsn)
    try:
        deleting = other.transaction()
        await deleting.start()
        await other.execute("DELETE FROM station WHERE id = $1", station)
        draw = asyncio.create_task(service.run_draw(cid, trade, actor=ACTOR))
        await asyncio.sleep(0.5)
        assert not draw.done()
        await deleting.commit()
        with pytest.raises(Conflict) as caught:
            await draw
        assert caught.value.code == "draw_inputs_changed"
        assert await DrawSlot.count() == 0 and await Draw.count() == 0
    finally:
        await other.close()

    # The draw first, not yet committed: the other connections' deletes of a station and of a
    # drawn entry (its check-ins first) wait, then are refused.
    sessions = await service.practical_sessions(trade)
    station = sessions[0]["stations"][0]["id"]
    entry = entries[0]["id"]
    others = [await asyncpg.connect(dsn) for _ in range(2)]

    async def delete_entry(connection: asyncpg.Connection) -> None:
        async with connection.transaction():
            await connection.execute("DELETE FROM check_in WHERE entry = $1", entry)
            await connection.execute("DELETE FROM entry WHERE id = $1", entry)

    try:
        async with db.transaction():
            await service.run_draw(cid, trade, actor=ACTOR)
            deleting = [
                asyncio.create_task(
                    others[0].execute("DELETE FROM station WHERE id = $1", station)
                ),
                asyncio.create_task(delete_entry(others[1])),
            ]
            await asyncio.sleep(0.5)
            assert not any(task.done() for task in deleting)
        for task in deleting:
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await task
    finally:
        for connection in others:
            await connection.close()
    assert await DrawSlot.count().where(DrawSlot.station == station) > 0
    assert await DrawSlot.count().where(DrawSlot.entry == entry) == 1
    assert await CheckIn.exists().where(CheckIn.entry == entry)
