"""The demo's check-in and draws (scoring/demo/draw.py)."""

from __future__ import annotations

from competition.phases import Phase
from competition.stages import Stage
from competition.tables import Competition, Trade
from scoring.demo.draw import DRAW_TRADES, SECOND_LAYER, load_demo_draws
from scoring.draw import service
from scoring.draw.attendance import ABSENT, presence
from scoring.tables import Draw, DrawSlot


async def test_demo_draws_several_trades_idempotently(demo_full):
    competition_id = demo_full.competition_id
    written = await load_demo_draws(competition_id)
    assert written > 0
    phase = await Competition.select(Competition.phase).where(Competition.id == competition_id)
    assert phase[0]["phase"] == Phase.draw
    trades = {
        t["code"]: t
        for t in await Trade.select(Trade.id, Trade.code, Trade.stage).where(
            Trade.code.is_in(list(DRAW_TRADES)) & (Trade.competition == competition_id)
        )
    }
    drawn = [c for c, t in trades.items() if t["stage"] == Stage.drawn]
    assert {"T001", "T002", "T087"} <= set(drawn)
    for code in drawn:
        trade_id = trades[code]["id"]
        draw = await service.draw_of(trade_id)
        assert draw is not None and draw["second_layer"] == (code == SECOND_LAYER)
        rows = await presence(trade_id, closed=True)
        absent = [r for r in rows if r.status == ABSENT]
        assert absent and all(r.reason for r in absent)
        assert draw["summary"]["absent"] == len(absent)
        assert await DrawSlot.count().where(DrawSlot.trade == trade_id) == len(rows) - len(absent)
    before = await Draw.count()
    assert await load_demo_draws(competition_id) == 0
    assert await Draw.count() == before
