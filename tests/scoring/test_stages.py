"""Each trade's stage through the services and the organizer's page: several trades at once,
each refusal with its reason, an audit record for every move, the database as it was on a
refusal."""

from __future__ import annotations

import json

import pytest

from competition.audit import SYSTEM
from competition.db import transaction
from competition.errors import PhaseError
from competition.stages import Mover, Stage
from competition.tables import AuditLog, Competition, Trade
from scoring import stages
from tests.support import login, post_form


async def _trade_ids(competition_id: int, *codes: str) -> list[int]:
    rows = await Trade.select(Trade.id, Trade.code).where(
        (Trade.competition == competition_id) & Trade.code.is_in(list(codes))
    )
    by_code = {r["code"]: r["id"] for r in rows}
    return [by_code[c] for c in codes]


async def _set_phase(competition_id: int, phase: str) -> None:
    await Competition.update({Competition.phase: phase}).where(Competition.id == competition_id)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def _stage(trade_id: int) -> str:
    return (await stages.trade_state(trade_id)).stage


async def test_the_page_shows_every_trade_with_its_stage_and_next_step(demo, client):
    await login(client, "organizer")
    cid = demo.competition_id
    response = await client.get(f"/org/competitions/{cid}/trade-stages")
    assert response.status_code == 200
    total = await Trade.count().where(Trade.competition == cid)
    assert response.text.count('<tr data-trade="') == total
    assert "未抽签" in response.text and "抽签" in response.text
    # The scoring group of the competition menu opens here.
    assert f'href="/org/competitions/{cid}/trade-stages"' in response.text


async def test_check_in_closes_and_reopens_for_several_trades_with_audit(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    welding, electric = await _trade_ids(cid, "T001", "T002")
    url = f"/org/competitions/{cid}/trade-stages"
    before = await AuditLog.count().where(AuditLog.action == "trade.checkin_closed")
    response = await post_form(
        client, url, {"action": "close_checkin", "trade": [str(welding), str(electric)]}
    )
    assert response.status_code == 200
    assert "结束检录：2 个工种" in response.text
    for trade_id in (welding, electric):
        stored = (await Trade.select(Trade.checkin_closed_at).where(Trade.id == trade_id))[0]
        assert stored["checkin_closed_at"] is not None
        # As a moment, read outside a transaction and inside one with its lock.
        assert (await stages.trade_state(trade_id)).checkin_closed_at == stored["checkin_closed_at"]
        async with transaction():
            state = await stages.trade_for_action(trade_id, lock="UPDATE")
        assert state.checkin_closed_at == stored["checkin_closed_at"]
        assert state.checkin_closed_at.tzinfo is not None and state.code in ("T001", "T002")
    assert await AuditLog.count().where(AuditLog.action == "trade.checkin_closed") == before + 2
    # Closing again changes nothing and says why, per trade.
    again = await post_form(client, url, {"action": "close_checkin", "trade": str(welding)})
    assert "该工种的检录已经结束" in again.text
    reopened = await post_form(client, url, {"action": "reopen_checkin", "trade": str(welding)})
    assert "重新开放检录：1 个工种" in reopened.text
    assert (await stages.trade_state(welding)).checkin_closed_at is None


async def test_start_moves_the_drawn_trades_and_names_why_the_others_did_not(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    welding, electric = await _trade_ids(cid, "T001", "T002")
    url = f"/org/competitions/{cid}/trade-stages"
    await Trade.update({Trade.stage: Stage.drawn.value}).where(Trade.id == welding)
    # The competition is still in registration: no trade may compete yet.
    early = await post_form(client, url, {"action": "start", "trade": str(welding)})
    assert "只有在大赛处于" in early.text and "比赛中" in early.text
    assert await _stage(welding) == Stage.drawn
    await _set_phase(cid, "competing")
    response = await post_form(
        client, url, {"action": "start", "trade": [str(welding), str(electric)]}
    )
    assert "开始比赛：1 个工种" in response.text
    # The trade that has not drawn is named with its reason.
    assert "T002" in response.text and "下一步只能是" in response.text
    assert await _stage(welding) == Stage.competing
    assert await _stage(electric) == Stage.not_drawn
    record = (
        await AuditLog.select()
        .where(AuditLog.action == "trade.stage")
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    assert _json(record["old"]) == {"stage": "drawn"}
    assert _json(record["new"]) == {"stage": "competing"}
    # Taken back before any mark.
    back = await post_form(client, url, {"action": "unstart", "trade": str(welding)})
    assert back.status_code == 200 and await _stage(welding) == Stage.drawn


async def test_moves_taken_elsewhere_are_refused_on_the_page_and_in_the_service(demo_mutable):
    cid = demo_mutable.competition_id
    (welding,) = await _trade_ids(cid, "T001")
    await _set_phase(cid, "draw")
    await stages.set_checkin_closed(cid, [welding], True, actor=SYSTEM)
    # The page's organizer cannot draw: the draw does, with its seed.
    outcome = await stages.move_trades(cid, [welding], Stage.drawn, actor=SYSTEM)
    assert not outcome[0].moved and "抽签" not in str(outcome[0].reason)
    assert "taken by" in str(outcome[0].reason)
    with pytest.raises(PhaseError) as caught:
        await stages.move_trade(welding, Stage.drawn, actor=SYSTEM, mover=Mover.organizer)
    assert caught.value.code == "stage_move_elsewhere"
    assert await _stage(welding) == Stage.not_drawn
    moved = await stages.move_trade(welding, Stage.drawn, actor=SYSTEM, mover=Mover.draw)
    assert moved.stage == Stage.drawn and await _stage(welding) == Stage.drawn


async def test_a_trade_of_another_competition_is_skipped(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    (welding,) = await _trade_ids(cid, "T001")
    outcome = await stages.move_trades(cid + 1000, [welding], Stage.competing, actor=SYSTEM)
    assert outcome == []
    response = await post_form(
        client, f"/org/competitions/{cid}/trade-stages", {"action": "start", "trade": "99999"}
    )
    assert response.status_code == 200 and "开始比赛：0 个工种" in response.text


async def test_nothing_ticked_or_no_action_is_a_clear_422(demo, client):
    await login(client, "organizer")
    url = f"/org/competitions/{demo.competition_id}/trade-stages"
    nothing = await post_form(client, url, {"action": "start"})
    assert nothing.status_code == 422 and "请至少勾选一个工种" in nothing.text
    (welding,) = await _trade_ids(demo.competition_id, "T001")
    no_action = await post_form(client, url, {"action": "bogus", "trade": str(welding)})
    assert no_action.status_code == 422 and "请选择对所勾选工种的操作" in no_action.text


async def test_the_competition_locks_only_when_every_trade_is_locked(demo_mutable):
    from competition import services

    cid = demo_mutable.competition_id
    await _set_phase(cid, "competing")
    total = await Trade.count().where(Trade.competition == cid)
    with pytest.raises(PhaseError) as caught:
        await services.advance_phase(cid, "locked", SYSTEM)
    assert caught.value.code == "trades_behind"
    assert caught.value.params["reasons"][0].params["n"] == total
    assert (await services.get_competition(cid))["phase"] == "competing"
    await Trade.update({Trade.stage: Stage.locked.value}).where(Trade.competition == cid)
    assert await services.advance_phase(cid, "locked", SYSTEM) == "locked"
    # Publication of the competition waits for every trade's.
    with pytest.raises(PhaseError):
        await services.advance_phase(cid, "published", SYSTEM)


async def test_a_drawn_trades_sessions_keep_their_venue_but_may_move_in_time(demo_mutable):
    import datetime as dt

    from competition import structure
    from competition.errors import ValidationFailed
    from competition.schemas import SessionIn
    from competition.tables import CompetitionSession, EventKind, Venue

    cid = demo_mutable.competition_id
    (welding,) = await _trade_ids(cid, "T001")
    session = (
        await CompetitionSession.select(
            CompetitionSession.all_columns(), CompetitionSession.venue.code
        )
        .where(CompetitionSession.trade == welding)
        .first()
    )
    other_venue = (
        await Venue.select(Venue.code)
        .where((Venue.competition == cid) & (Venue.id != session["venue"]))
        .first()
    )

    def item(venue_code: str, hours: int = 0) -> SessionIn:
        shift = dt.timedelta(hours=hours)
        return SessionIn(
            trade_code="T001", venue_code=venue_code, code=session["code"], name=session["name"],
            event=EventKind(session["event"]), starts_at=session["starts_at"] + shift,
            ends_at=session["ends_at"] + shift,
        )  # fmt: skip

    await Trade.update({Trade.stage: Stage.drawn.value}).where(Trade.id == welding)
    with pytest.raises(ValidationFailed) as caught:
        await structure.save_record(
            "session", cid, item(other_venue["code"]), SYSTEM, record_id=session["id"]
        )
    assert "has drawn" in caught.value.message
    unchanged = await CompetitionSession.select(CompetitionSession.venue).where(
        CompetitionSession.id == session["id"]
    )
    assert unchanged[0]["venue"] == session["venue"]
    # A schedule that slips by an hour is still fine.
    await structure.save_record(
        "session", cid, item(session["venue.code"], hours=1), SYSTEM, record_id=session["id"]
    )


async def test_the_supervisor_sees_the_stages_read_only(demo, client):
    await login(client, "supervisor")
    cid = demo.competition_id
    response = await client.get(f"/supervisor/competitions/{cid}/trade-stages")
    assert response.status_code == 200
    assert "工种进度" in response.text
    assert response.text.count("<form") == 1  # signing out, nothing else
    total = await Trade.count().where(Trade.competition == cid)
    assert response.text.count('<tr data-trade="') == total
    assert f'href="/supervisor/competitions/{cid}/trade-stages"' in response.text


async def test_the_supervisor_reads_a_trades_scheme_and_its_pdf_but_cannot_edit(
    demo_scoring, client
):
    from pypdf import PdfReader

    await login(client, "supervisor")
    cid = demo_scoring.competition_id
    (welding,) = await _trade_ids(cid, "T001")
    stages_page = await client.get(f"/supervisor/competitions/{cid}/trade-stages")
    url = f"/supervisor/competitions/{cid}/trades/{welding}/scheme"
    assert f'href="{url}"' in stages_page.text
    page = await client.get(url)
    assert page.status_code == 200
    assert "评分细则" in page.text and "/edit" not in page.text
    assert "score-sheet.pdf" not in page.text and f"{url}.pdf" in page.text
    pdf = await client.get(f"{url}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf")
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "焊工" in text
    # The organizer's edit form stays the organizer's.
    assert (
        await client.get(f"/org/competitions/{cid}/trades/{welding}/scheme/edit")
    ).status_code == 403


async def test_a_competing_trade_with_marks_cannot_go_back_to_drawn(demo_marks):
    """The service reads whether marks exist only for this one move; it must still read it."""
    from scoring.tables import Mark

    cid = demo_marks.competition_id
    row = await Mark.select(Mark.slot.trade.as_alias("trade")).first()
    trade_id = row["trade"]
    stage_before = await _stage(trade_id)
    await Trade.update({Trade.stage: Stage.competing.value}).where(Trade.id == trade_id)
    try:
        with pytest.raises(PhaseError) as caught:
            await stages.move_trade(trade_id, Stage.drawn, actor=SYSTEM, mover=Mover.organizer)
        assert caught.value.code == "illegal_stage_move"
        (outcome,) = await stages.move_trades(cid, [trade_id], Stage.drawn, actor=SYSTEM)
        assert not outcome.moved and "Marks have been given" in str(outcome.reason)
        assert await _stage(trade_id) == Stage.competing
    finally:
        await Trade.update({Trade.stage: stage_before.value}).where(Trade.id == trade_id)
