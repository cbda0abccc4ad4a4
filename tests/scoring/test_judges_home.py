"""The judge's and the chief judge's home pages (/judge, /chief): their trade, its stage, their
sessions and panel role, counts of codes after the draw — and never a contestant's name, ticket
number or ID number, before or after the draw."""

from __future__ import annotations

import re

from competition.tables import CompetitionSession, Station
from registration.tables import Entry, EntryStatus
from scoring.demo.panels import load_demo_panels
from scoring.panels import assignment
from scoring.tables import Draw, DrawSlot, Judge, SessionJudge
from tests.scoring.test_judges_pages import main, text, trade_id
from tests.support import login


async def _draw(trade: int) -> list[dict]:
    """A finished draw written directly: every admitted entry gets a practical session, a
    station of its venue and a code."""
    entries = await Entry.select(
        Entry.id, Entry.ticket_number, Entry.person.name, Entry.person.id_number
    ).where((Entry.trade == trade) & (Entry.status == EntryStatus.approved.value))
    sessions = await CompetitionSession.select(
        CompetitionSession.id, CompetitionSession.venue
    ).where((CompetitionSession.trade == trade) & (CompetitionSession.event == "practical"))
    draw = Draw(trade=trade, seed="test", algorithm="test-v1")
    await draw.save()
    for n, entry in enumerate(entries):
        session = sessions[n % len(sessions)]
        station = Station(venue=session["venue"], code=f"TST-{trade}-{n}")
        await station.save()
        await DrawSlot.insert(
            DrawSlot(draw=draw.id, trade=trade, entry=entry["id"], session=session["id"],
                     station=station.id, code=f"H{n + 1:03d}", position=n)
        )  # fmt: skip
    return entries


def _leaks(page: str, entries: list[dict]) -> list[str]:
    found = []
    for entry in entries:
        for value in (entry["person.name"], entry["ticket_number"], entry["person.id_number"]):
            if value and value in page:
                found.append(value)
        number = entry["person.id_number"]
        if number and number[-6:] in page:
            found.append(number[-6:])
    return found


async def test_judge_pages_show_codes_counts_never_names_tickets_or_id_numbers(
    client, other_client, demo_full
):
    cid = demo_full.competition_id
    await load_demo_panels(cid)
    welder = await trade_id(cid, "T001")
    entries = await Entry.select(
        Entry.id, Entry.ticket_number, Entry.person.name, Entry.person.id_number
    ).where((Entry.trade == welder) & (Entry.status == EntryStatus.approved.value))

    await login(client, "judge")
    before = (await client.get("/judge")).text
    assert "焊工" in before and "未抽签" in before and "抽签后显示" in before
    assert "王志刚" in before  # the panel's chief judge, by name: judges are not anonymous
    assert _leaks(before, entries) == []

    drawn = await _draw(welder)
    assert drawn
    judge = await Judge.select(Judge.id).where(Judge.user.username == "judge").first()
    report = await assignment.recusal_report(welder)
    mine = sum(judge["id"] in allowed for allowed in report.allocation.allowed.values())
    # The load counts the draw's slots of the judge's sessions.
    sessions = await SessionJudge.select(SessionJudge.session).where(
        SessionJudge.judge == judge["id"]
    )
    slots = await DrawSlot.count().where(
        DrawSlot.session.is_in([s["session"] for s in sessions] or [0])
    )
    load = (await assignment.judge_loads([judge["id"]]))[judge["id"]]
    assert load == {"trades": 1, "sessions": len(sessions), "contestants": slots}
    assert slots == len(drawn)
    # The score sheets' service agrees with the report, session by session.
    for session_id in {s.session_id for s in report.contestants}:
        allowed = await assignment.judges_for_slots(session_id)
        assert allowed == {
            c.id: report.allocation.allowed[c.id]
            for c in report.contestants
            if c.session_id == session_id
        }
        for slot_id, judges in allowed.items():
            assert await assignment.may_score(judges[0], slot_id)
    page = main((await client.get("/judge")).text)
    counts = [int(n) for n in re.findall(r'class="num">(\d+)</td>', page)]
    assert sum(counts) == mine > 0
    assert _leaks(page, drawn) == []

    await login(other_client, "chief")
    chief = (await other_client.get("/chief")).text
    assert "裁判长" in chief and "回避" in chief
    # Recusal by code: the demo has a judge of a contestant's employer on this panel.
    codes = {s["code"] for s in await DrawSlot.select(DrawSlot.code)}
    assert any(f"{c}:" in text(main(chief)) for c in codes)
    assert _leaks(chief, drawn) == []

    # The organizer's assignment page shows codes after the draw, not names.
    await login(client, "organizer")
    organizer = main((await client.get(f"/org/competitions/{cid}/panels/{welder}")).text)
    assert "选手以编号显示" in organizer
    assert not [e for e in drawn if e["person.name"] in organizer]


async def test_a_judge_with_only_a_grant_still_sees_the_trade(client, demo):
    # The demo without panels: judges hold trade grants from users.csv, no register entry.
    await login(client, "judge")
    page = text(main((await client.get("/judge")).text))
    assert "焊工" in page and "王志刚" in page
    await login(client, "chief")
    assert "焊工" in text(main((await client.get("/chief")).text))
