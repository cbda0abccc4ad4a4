"""The chief judge's page over real HTTP (scoring/controllers/chief.py): flags, re-marks, the lock
refused with the list of what is missing and then done, and who may open it."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

from competition.stages import Stage
from competition.tables import AuditLog, Role, Trade
from scoring.rules.values import format_hundredths
from scoring.sheets import marks, signing
from scoring.sheets.marks import MarkIn
from scoring.tables import Penalty, ScoreSheet, SheetStatus
from tests.scoring.sheets.builders import competing_trade
from tests.support import PASSWORD, login, make_user, post_form


async def _stage(trade_id: int) -> str:
    return (await Trade.select(Trade.stage).where(Trade.id == trade_id).first())["stage"]


async def _put(built, username: str, slot: int, aspect, value: str, index: int = 0) -> None:
    facts = await built.sheet(username, index)
    current = await marks.current_mark(
        slot, aspect.id, facts.judge_id if aspect.is_judgement else None
    )
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), facts.id, slot, aspect.id, value,
               current["version"] if current else 0),
        actor=await built.actor(username),
    )  # fmt: skip


def _full(aspect) -> str:
    """What `Competing.fill` enters: level 2, or a Measurement's full marks."""
    return "2" if aspect.is_judgement else str(aspect.max_hundredths // 100)


async def _sign_and_verify(built, username: str, index: int) -> None:
    """Sign a filled sheet, and have another judge verify it where the trade asks for it."""
    sheet_id = built.sheets[username][index]
    await signing.sign_sheet(sheet_id, actor=await built.actor(username))
    row = await ScoreSheet.select(ScoreSheet.needs_verification).where(ScoreSheet.id == sheet_id)
    if row[0]["needs_verification"]:
        facts = await marks.sheet_facts(sheet_id)
        readings = {
            cell: format_hundredths(r["value_hundredths"])
            for cell, r in (await signing.entered_cells(facts)).items()
        }
        other = next(u for u in sorted(built.sheets) if u != username)
        assert not await signing.verify_sheet(sheet_id, readings, actor=await built.actor(other))


async def test_the_chief_sees_flags_and_returns_a_flagged_cell_for_a_re_mark(demo_scoring, client):
    built = await competing_trade()
    await Trade.update(
        {Trade.judge_rule: {"rule": "mean", "judgement_tolerance": 1}}
    ).where(Trade.id == built.trade_id)  # fmt: skip
    cells = await built.cells("judge")
    slot = cells[0][0]
    judged = next(a for s, a in cells if s == slot and a.is_judgement)
    for username, value in (("judge", "0"), ("judge2", "3"), ("judge3", "3")):
        await _put(built, username, slot, judged, value)
    code = (await signing.slot_codes([slot]))[slot]

    await login(client, "chief")
    home = await client.get("/chief")
    assert f'href="/chief/trades/{built.trade_id}"' in home.text
    url = f"/chief/trades/{built.trade_id}"
    shown = await client.get(url)
    assert shown.status_code == 200, shown.text
    flags = re.findall(r'<tr data-flag="[^"]+">(.*?)</tr>', shown.text, re.S)
    # Only judge's 0 is more than 1 from the mean 2; the 3s are exactly 1 away.
    assert len(flags) == 1
    assert code in flags[0] and judged.code in flags[0] and "2.00" in flags[0]
    assert "/static/js/chief.js" in shown.text and "<script>" not in shown.text

    api = await client.get(f"/api/chief/trades/{built.trade_id}/progress")
    assert api.status_code == 200
    body = api.json()
    assert [(f["code"], f["aspect_code"], f["level"], f["combined"]) for f in body["flags"]] == [
        (code, judged.code, 0, "2.00")
    ]
    assert body["unsigned_sheets"] == sum(len(ids) for ids in built.sheets.values())
    assert body["cells_entered"] == 3
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/chief/trades/{trade_id}/progress" in schema["paths"]

    sheet_id = built.sheets["judge"][0]
    typed = {"sheet": str(sheet_id), "cells": "ZZ9 B6", "note": "请复核"}
    bad = await post_form(client, f"{url}/remark", typed)
    assert bad.status_code == 422
    assert "请复核" in bad.text  # what was typed comes back
    assert (await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.id == sheet_id))[0][
        "status"
    ] == SheetStatus.open.value
    sent = await post_form(client, f"{url}/remark",
                           {"sheet": str(sheet_id), "cells": f"{code} {judged.code}",
                            "note": "与组内差距大，请复核"})  # fmt: skip
    assert sent.status_code == 303
    row = await ScoreSheet.select(ScoreSheet.status, ScoreSheet.remarks).where(
        ScoreSheet.id == sheet_id
    )
    assert row[0]["status"] == SheetStatus.returned.value
    remarks = row[0]["remarks"]
    remarks = json.loads(remarks) if isinstance(remarks, str) else remarks
    assert [(r["slot"], r["aspect"]) for r in remarks] == [(slot, judged.id)]


async def test_the_lock_is_refused_with_what_is_missing_then_done(demo_scoring, client):
    built = await competing_trade()
    # The panel's Measurement values come with the other sheets: leave out one of judge's own
    # Judgement marks.
    cells = await built.cells("judge")
    first_cell = next(c for c in cells if c[1].is_judgement)
    for username, ids in built.sheets.items():
        for index in range(len(ids)):
            if (username, index) == ("judge", 0):
                for slot, aspect in cells:
                    if (slot, aspect) != first_cell:
                        await _put(built, "judge", slot, aspect, _full(aspect))
                continue
            await built.fill(username, index)
            await _sign_and_verify(built, username, index)
    await login(client, "chief")
    url = f"/chief/trades/{built.trade_id}"
    slot, aspect = first_cell
    code = (await signing.slot_codes([slot]))[slot]

    unticked = await post_form(client, f"{url}/lock", {})
    assert unticked.status_code == 422
    refused = await post_form(client, f"{url}/lock", {"confirm": "1"})
    assert refused.status_code == 409
    listed = re.search(r'id="lock-refused">(.*?)</div>', refused.text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", listed, re.S)
    judge_name = (
        await ScoreSheet.select(ScoreSheet.judge.name)
        .where(ScoreSheet.id == built.sheets["judge"][0])
        .first()
    )["judge.name"]
    # One sheet not done, with its one missing cell and nothing else.
    assert len(items) == 1
    assert judge_name in items[0]
    assert items[0].rstrip().endswith(f"{code} {aspect.code}") and "、" not in items[0]
    assert await _stage(built.trade_id) == Stage.competing

    # The mark is there now, but the sheet is not signed: still refused, that sheet listed.
    await _put(built, "judge", slot, aspect, _full(aspect))
    refused = await post_form(client, f"{url}/lock", {"confirm": "1"})
    assert refused.status_code == 409
    listed = re.search(r'id="lock-refused">(.*?)</div>', refused.text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", listed, re.S)
    assert len(items) == 1 and judge_name in items[0]
    assert f"{code} {aspect.code}" not in items[0]

    await _sign_and_verify(built, "judge", 0)
    assert await _stage(built.trade_id) == Stage.marks_complete
    locked = await post_form(client, f"{url}/lock", {"confirm": "1"})
    assert locked.status_code == 303
    assert await _stage(built.trade_id) == Stage.locked
    page = await client.get(locked.headers["location"])
    assert 'id="change"' in page.text and 'action="' + url + '/lock"' not in page.text


async def test_only_this_trades_chief_judge_may_open_the_page(demo_scoring, app, client):
    built = await competing_trade()
    other = await Trade.select(Trade.id).where(Trade.code == "T002").first()
    await make_user("chief-of-t002", Role.chief_judge, competition_id=built.competition_id,
                    trade_id=other["id"])  # fmt: skip
    url = f"/chief/trades/{built.trade_id}"
    api = f"/api/chief/trades/{built.trade_id}/progress"

    anonymous = await client.get(url)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=" + quote(url, safe="")
    assert (await client.get(api)).status_code == 401

    await login(client, "judge")
    assert (await client.get(url)).status_code == 403
    assert (await client.get(api)).status_code == 403
    assert (await post_form(client, f"{url}/lock", {"confirm": "1"})).status_code == 403

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]})
    client.cookies.clear()
    await login(client, "chief-of-t002", PASSWORD)
    assert (await client.get(url)).status_code == 403
    assert (await client.get(api)).status_code == 403
    penalty = {"code": "X", "kind": "safety", "value": "-1", "reason": "x"}
    denied = await post_form(client, f"{url}/penalties", penalty)
    assert denied.status_code == 403
    assert (await client.get(f"/chief/trades/{other['id']}")).status_code == 200


async def test_penalties_and_times_from_the_page_keep_what_was_typed_when_refused(
    demo_scoring, client
):
    built = await competing_trade()
    slot = sorted((await built.sheet("judge")).slots)[0]
    code = (await signing.slot_codes([slot]))[slot]
    await login(client, "chief")
    url = f"/chief/trades/{built.trade_id}"

    typed = {"code": code, "kind": "safety", "value": "-1.234", "reason": "未戴护目镜"}
    refused = await post_form(client, f"{url}/penalties", typed)
    assert refused.status_code == 422
    assert 'value="-1.234"' in refused.text and "未戴护目镜</textarea>" in refused.text
    assert await Penalty.count() == 0
    saved = await post_form(client, f"{url}/penalties", {**typed, "value": "-1.5"})
    assert saved.status_code == 303
    page = await client.get(f"{url}")
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page.text, re.S).group(1)
    assert "<strong>-1.50</strong>" in row and "未戴护目镜" in row
    penalty_id = (await Penalty.select(Penalty.id).first())["id"]

    timed = await post_form(client, f"{url}/completion-times", {"code": code, "time": "1:45:30"})
    assert timed.status_code == 303
    bad_time = await post_form(client, f"{url}/completion-times", {"code": code, "time": "1:75"})
    assert bad_time.status_code == 422 and 'value="1:75"' in bad_time.text
    unknown = await post_form(client, f"{url}/completion-times", {"code": "NOPE", "time": "60"})
    assert unknown.status_code == 422
    page = await client.get(f"{url}")
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page.text, re.S).group(1)
    assert "1:45:30" in row

    removed = await post_form(client, f"{url}/penalties/remove", {"penalty": str(penalty_id)})
    assert removed.status_code == 303
    assert await Penalty.count() == 0
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert [a for a in actions if a.startswith(("penalty.", "completion_time."))] == [
        "penalty.add",
        "completion_time.set",
        "penalty.remove",
    ]
