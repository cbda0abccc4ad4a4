"""The results API over real HTTP: signed out it shows only the trades on the notice board,
with masked names and no ID or ticket number; an organizer of the competition sees a locked
trade's standings live, by draw code only until decryption."""

from __future__ import annotations

from competition.results import publication
from registration.tables import Entry, EntryStatus
from tests.competition.results.builders import locked_trade
from tests.support import login


async def test_signed_out_only_the_board(demo_results, client):
    trade = await locked_trade()
    cid = trade.competition_id
    listing = await client.get(f"/api/competitions/{cid}/results")
    assert listing.status_code == 200
    assert [(t["code"], t["source"], t["lines"]) for t in listing.json()] == [("T003", "board", [])]
    one = await client.get(f"/api/competitions/{cid}/results/{trade.trade_id}")
    assert one.status_code == 200
    body = one.json()
    version = await publication.board_version(trade.trade_id)
    assert body["version"] == version.version and body["status"] == "notice"
    assert [(li["code"], li["name"], li["total"]) for li in body["lines"]] == [
        (r.code, r.name, r.total) for r in version.rows
    ]
    people = await Entry.select(Entry.person.name, Entry.person.id_number).where(
        (Entry.trade == trade.trade_id) & (Entry.status == EntryStatus.approved)
    )
    assert not any(
        p["person.name"] in one.text or p["person.id_number"] in one.text for p in people
    )

    flagged = await locked_trade("T087")  # marks complete, not locked: nothing to show
    assert (
        await client.get(f"/api/competitions/{cid}/results/{flagged.trade_id}")
    ).status_code == 404
    assert (await client.get("/api/competitions/999999/results")).status_code == 404
    assert (
        await client.get(f"/api/competitions/{cid + 1}/results/{trade.trade_id}")
    ).status_code == 404


async def test_the_organizer_sees_a_locked_trade_by_code(demo_marks, client):
    trade = await locked_trade()
    cid = trade.competition_id
    assert (
        await client.get(f"/api/competitions/{cid}/results/{trade.trade_id}")
    ).status_code == 404
    await login(client, "organizer")
    listing = await client.get(f"/api/competitions/{cid}/results")
    assert [(t["code"], t["source"]) for t in listing.json()] == [("T003", "live")]
    live = (await client.get(f"/api/competitions/{cid}/results/{trade.trade_id}")).json()
    assert live["source"] == "live" and live["stage"] == "locked"
    present = [li for li in live["lines"] if li["present"]]
    assert present and all(li["code"] for li in present)
    assert all(li["name"] == "" and li["delegation"] == "" for li in live["lines"])
    assert sorted(li["place"] for li in present)[0] == 1
