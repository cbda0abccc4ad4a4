"""The marks' trail (scoring/sheets/trail.py, scoring/controllers/mark_trail.py): a change after
the lock — refused without a reason, saved with one — lands in the supervisor's trail with who,
when, from which device, old, new and why, on the page and in the exported workbook; the trail
pages newest first."""

from __future__ import annotations

import io
import re

import openpyxl

from competition.tables import AuditLog
from scoring.sheets import lock, trail
from scoring.sheets.signing import slot_codes
from scoring.tables import DrawSlot, Judge, Mark, MarkChange
from tests.scoring.sheets.builders import competing_trade, judge_id
from tests.support import login, post_form


async def test_a_locked_change_needs_a_reason_and_shows_in_the_trail_and_export(
    demo_scoring, client, other_client
):
    built = await competing_trade()
    await built.complete()
    await lock.lock_trade(built.trade_id, actor=await built.actor("chief"))
    slot, aspect = next((s, a) for s, a in await built.cells("judge") if a.is_judgement)
    judge = await judge_id("judge")
    code = (await slot_codes([slot]))[slot]  # as the chief judge sees it
    drawn = await DrawSlot.select(DrawSlot.code, DrawSlot.judge_code).where(DrawSlot.id == slot)
    judge_name = (await Judge.select(Judge.name).where(Judge.id == judge).first())["name"]
    changes_before = await MarkChange.count()

    await login(client, "chief")
    url = f"/chief/trades/{built.trade_id}"
    typed = {"code": code, "aspect": str(aspect.id), "judge": str(judge), "value": "3",
             "reason": "", "device": "chief-tablet-1"}  # fmt: skip
    refused = await post_form(client, f"{url}/marks", typed)
    assert refused.status_code == 422
    assert 'value="chief-tablet-1"' in refused.text  # the form comes back as typed
    assert await MarkChange.count() == changes_before
    mark = (
        await Mark.select()
        .where((Mark.slot == slot) & (Mark.aspect == aspect.id) & (Mark.judge == judge))
        .first()
    )
    assert (mark["value_hundredths"], mark["version"]) == (200, 1)

    saved = await post_form(client, f"{url}/marks", {**typed, "reason": "申诉复核：录入错误"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=changed#change")
    mark = await Mark.select().where(Mark.id == mark["id"]).first()
    assert (mark["value_hundredths"], mark["version"]) == (300, 2)
    assert await AuditLog.count().where(AuditLog.action == "mark.locked_change") == 1

    await login(other_client, "supervisor")
    base = f"/supervisor/competitions/{built.competition_id}/marks"
    stages_page = await other_client.get(
        f"/supervisor/competitions/{built.competition_id}/trade-stages"
    )
    assert f'href="{base}?trade={built.trade_id}"' in stages_page.text
    chooser = await other_client.get(base)
    assert chooser.status_code == 200 and f'value="{built.trade_id}"' in chooser.text
    shown = await other_client.get(f"{base}?trade={built.trade_id}")
    assert shown.status_code == 200
    first = re.search(r"<tr data-change=\"\d+\">(.*?)</tr>", shown.text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", first,
                                                                    re.S)]  # fmt: skip
    # Newest first: the change after the lock, by the chief, from the chief's tablet.
    assert "chief" in cells[1]
    assert cells[2] == "chief-tablet-1"
    assert cells[4].startswith(drawn[0]["code"])
    assert cells[5] == aspect.code
    assert re.sub(r"\s+", " ", cells[7]) == "2 → 3"
    assert cells[8] == "2"
    assert cells[9] == "申诉复核：录入错误"
    assert "<form" not in shown.text.split('id="marks-trail"')[1]  # read only

    exported = await other_client.get(f"{base}.xlsx?trade={built.trade_id}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + await MarkChange.count().where(MarkChange.trade == built.trade_id)
    newest = rows[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", newest[0])
    assert "chief" in newest[1]
    assert newest[2:] == (
        "chief-tablet-1", cells[3], drawn[0]["code"], drawn[0]["judge_code"] or None,
        aspect.code, judge_name, "2", "3", 2, "申诉复核：录入错误",
    )  # fmt: skip
    # The tablet marks before the lock are there too, with no old value.
    assert any(r[8] is None and r[9] == "2" for r in rows[2:])

    missing = await other_client.get(f"{base}.xlsx")
    assert missing.status_code == 422


async def test_the_trail_pages_newest_first_without_gaps(demo_scoring):
    built = await competing_trade()
    await built.fill("judge")
    everything = [r.id for batch in [b async for b in trail.trail_batches(built.trade_id, 7)]
                  for r in batch]  # fmt: skip
    assert everything == sorted(everything, reverse=True)
    assert len(everything) == await trail.change_count(built.trade_id) > 20
    seen, page = [], await trail.trail_page(built.trade_id, size=10)
    assert page.newer is None
    while True:
        seen += [r.id for r in page.rows]
        if page.older is None:
            break
        page = await trail.trail_page(built.trade_id, before=page.older, size=10)
    assert seen == everything
    back = await trail.trail_page(built.trade_id, after=page.rows[0].id, size=10)
    assert [r.id for r in back.rows] == everything[-10 - len(page.rows) : -len(page.rows)]
