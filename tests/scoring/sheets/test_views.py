"""What a judge reads (scoring/sheets/views.py): the progress of every sheet in "my sheets",
counted for all of a judge's sheets at once, the same as each sheet's own count
(`marks.cells_entered`) — the judge's own Judgement marks and the panel's Measurement values,
on the sheet's slots only (a recused contestant's panel value is not on that judge's sheet)."""

from __future__ import annotations

import uuid

from competition.tables import User
from scoring.sheets import marks
from scoring.sheets.marks import MarkIn, scheme_aspects, sheet_facts
from scoring.sheets.views import my_sheets
from scoring.tables import DrawSlot, Judge, ScoreSheet
from tests.scoring.sheets.builders import competing_trade


async def _user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def _progress(username: str) -> dict[int, tuple[int, int]]:
    """Sheet → (cells entered, cells expected), as "my sheets" shows them."""
    return {
        s["id"]: (s["cells_entered"], s["cells_expected"])
        for s in await my_sheets(await _user_id(username))
    }


async def test_my_sheets_counts_own_marks_and_the_panels_values_on_the_sheet(demo_scoring):
    # judge3 made a member of a drawn contestant's delegation before the trade starts: that
    # contestant is not on judge3's sheet.
    recused = (
        await DrawSlot.select(DrawSlot.id, DrawSlot.entry.delegation, DrawSlot.session)
        .where(DrawSlot.trade.code == "T001")
        .order_by(DrawSlot.id)
        .first()
    )
    await Judge.update({Judge.delegation: recused["entry.delegation"]}).where(
        Judge.user.is_in(User.select(User.id).where(User.username == "judge3"))
    )
    built = await competing_trade()
    session = recused["session"]
    sheets = {}
    for username in ("judge", "judge2", "judge3"):
        sheet_id = (
            await ScoreSheet.select(ScoreSheet.id)
            .where((ScoreSheet.session == session) & ScoreSheet.judge.user.is_in(
                User.select(User.id).where(User.username == username)))
            .first()
        )["id"]  # fmt: skip
        sheets[username] = await sheet_facts(sheet_id)
    x = recused["id"]
    assert x in sheets["judge"].slots and x in sheets["judge2"].slots
    assert x not in sheets["judge3"].slots, "the demo should have recused judge3"
    other = min(sheets["judge"].slots & sheets["judge3"].slots)
    aspects = {a.code: a for a in (await scheme_aspects(sheets["judge"].scheme_id)).values()}
    judged, measured = aspects["B6"], aspects["A1"]
    assert judged.is_judgement and not measured.is_judgement

    async def put(username: str, slot: int, aspect, value: str) -> None:
        outcome = await marks.put_mark(
            MarkIn(str(uuid.uuid4()), sheets[username].id, slot, aspect.id, value),
            actor=await built.actor(username),
        )
        assert outcome.result == "saved"

    await put("judge", x, judged, "2")
    await put("judge", other, judged, "1")
    await put("judge", x, measured, "2.5")  # the panel's, on judge and judge2's sheets
    await put("judge2", x, judged, "3")
    await put("judge3", other, measured, "1")  # the panel's, on all three sheets

    cells = len(aspects)
    expected = {
        "judge": 4,  # B6 of x and of other, A1 of x and of other
        "judge2": 3,  # its own B6 of x, A1 of x and of other
        "judge3": 1,  # A1 of other only: x is not on its sheet
    }
    for username, count in expected.items():
        sheet = sheets[username]
        shown = (await _progress(username))[sheet.id]
        assert shown == (count, len(sheet.slots) * cells), username
        assert count == await marks.cells_entered(sheet), username


async def test_my_sheets_agrees_with_each_sheets_own_count(demo_marks):
    # The demo's marks: trades partly marked, complete, locked; sheets signed and returned.
    judges = await Judge.select(Judge.user).where(Judge.user.is_not_null())
    compared = partial = 0
    for user_id in sorted({j["user"] for j in judges}):
        for shown in await my_sheets(user_id):
            facts = await sheet_facts(shown["id"])
            assert facts.judge_user == user_id
            own = (await marks.cells_entered(facts), await marks.cells_expected(facts))
            assert (shown["cells_entered"], shown["cells_expected"]) == own, shown["id"]
            compared += 1
            partial += 0 < own[0] < own[1]
    assert compared > 10 and partial > 0, (compared, partial)
