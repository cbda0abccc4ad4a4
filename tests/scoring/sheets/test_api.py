"""The judges' JSON API over real HTTP through the app (scoring/controllers/sheets.py): list my
sheets, read one, put a mark (idempotent on its client id, 409 with the current value on a
conflict, a clear refusal in the judge's language), sign; someone else's sheet is refused."""

from __future__ import annotations

import uuid

from scoring.tables import Mark
from tests.scoring.sheets.builders import competing_trade
from tests.support import login, post_json


async def test_a_judge_lists_reads_marks_and_signs_through_the_api(demo_scoring, client):
    built = await competing_trade()
    await login(client, "judge")
    listing = await client.get("/api/judge/sheets")
    assert listing.status_code == 200
    ids = [s["id"] for s in listing.json()["sheets"]]
    assert sorted(ids) == sorted(built.sheets["judge"])
    sheet_id = built.sheets["judge"][0]
    sheet = (await client.get(f"/api/judge/sheets/{sheet_id}")).json()
    assert sheet["status"] == "open" and not sheet["read_only"]
    assert sheet["cells_entered"] == 0
    assert sheet["cells_expected"] == len(sheet["contestants"]) * len(sheet["aspects"])
    judged = next(a for a in sheet["aspects"] if a["kind"] == "judgement")
    assert len(judged["descriptors"]) == 4
    slot = sheet["contestants"][0]["slot"]
    body = {
        "client_id": str(uuid.uuid4()),
        "sheet": sheet_id,
        "slot": slot,
        "aspect": judged["id"],
        "value": "2",
        "base_version": 0,
        "device": "tablet-A",
    }
    saved = await post_json(client, "/api/judge/marks", body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["result"] == "saved"
    assert saved.json()["mark"]["value_hundredths"] == 200
    assert saved.json()["sheet"]["cells_entered"] == 1
    repeat = await post_json(client, "/api/judge/marks", body)
    assert repeat.json()["result"] == "repeat"
    assert await Mark.count().where(Mark.aspect == judged["id"]) == 1

    # Another tablet changed it meanwhile: this one sent version 0 → 409 with the current one.
    stale = {**body, "client_id": str(uuid.uuid4()), "value": "3"}
    conflict = await post_json(client, "/api/judge/marks", stale)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "mark_conflict"
    assert conflict.json()["current"]["value_hundredths"] == 200
    assert conflict.json()["current"]["device"] == "tablet-A"

    bad = await post_json(
        client, "/api/judge/marks", {**body, "client_id": str(uuid.uuid4()), "value": "2.5"}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "judgement_not_whole"
    assert "评价分" in bad.json()["message"]

    unsigned = await post_json(client, f"/api/judge/sheets/{sheet_id}/sign", {})
    assert unsigned.status_code == 409
    assert unsigned.json()["code"] == "sheet_incomplete"
    assert len(unsigned.json()["missing"]) == sheet["cells_expected"] - 1

    await built.fill("judge")
    signed = await post_json(client, f"/api/judge/sheets/{sheet_id}/sign", {})
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    after = (await client.get(f"/api/judge/sheets/{sheet_id}")).json()
    assert after["read_only"] and all(m["locked"] for m in after["marks"])
    late = await post_json(
        client, "/api/judge/marks", {**body, "client_id": str(uuid.uuid4()), "value": "1",
                                     "base_version": 1}
    )  # fmt: skip
    assert late.status_code == 409 and late.json()["code"] == "sheet_signed"


async def test_another_judges_sheet_is_refused(demo_scoring, client):
    built = await competing_trade()
    await login(client, "judge2")
    sheet_id = built.sheets["judge"][0]
    assert (await client.get(f"/api/judge/sheets/{sheet_id}")).status_code == 403
    answer = await post_json(
        client,
        "/api/judge/marks",
        {"client_id": "x1", "sheet": sheet_id, "slot": 1, "aspect": 1, "value": "2"},
    )
    assert answer.status_code in (403, 422)


async def test_a_mark_without_the_csrf_header_is_refused(demo_scoring, client):
    built = await competing_trade()
    await login(client, "judge")
    answer = await client.post(
        "/api/judge/marks",
        json={"client_id": "x2", "sheet": built.sheets["judge"][0], "slot": 1, "aspect": 1,
              "value": "2"},
    )  # fmt: skip
    assert answer.status_code == 403


async def test_the_api_is_in_the_openapi_schema(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/judge/sheets", "/api/judge/marks", "/api/judge/sheets/{sheet_id}/sign"):
        assert path in paths, path
