"""The demo's schemes: every trade gets one of exactly 100.00 marks that passes the checks, the
hand-written ones hold their own aspects, and a second run writes nothing."""

from __future__ import annotations

from competition.tables import Trade
from scoring.demo.schemes import load_demo_schemes
from scoring.schemes import rules, service
from scoring.tables import Aspect, Criterion, MarkingScheme


async def test_every_trade_gets_a_valid_scheme_once(demo_mutable):
    cid = demo_mutable.competition_id
    trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid)
    written = await load_demo_schemes(cid)
    assert written > len(trades) * 5
    assert await MarkingScheme.count().where(MarkingScheme.trade.competition == cid) == len(trades)
    for trade in trades:
        view = await service.current_scheme(trade["id"])
        assert view is not None and view.version == 1 and view.total == rules.TOTAL
        assert rules.check_scheme(view.draft()) == []
    # Idempotent: nothing more the second time.
    before = await Aspect.count()
    assert await load_demo_schemes(cid) == 0
    assert await Aspect.count() == before


async def test_the_hand_written_schemes(demo_mutable):
    cid = demo_mutable.competition_id
    await load_demo_schemes(cid)
    codes = {"T001": "焊", "T002": "电", "T087": "拉面"}
    for code in codes:
        trade = (
            await Trade.select(Trade.id)
            .where((Trade.competition == cid) & (Trade.code == code))
            .first()
        )
        view = await service.current_scheme(trade["id"])
        assert view.total == 10000
    noodles = (
        await Trade.select(Trade.id)
        .where((Trade.competition == cid) & (Trade.code == "T087"))
        .first()
    )
    names = {
        r["name"]
        for r in await Criterion.select(Criterion.name).where(
            Criterion.scheme.trade == noodles["id"]
        )
    }
    assert names == {"和面", "拉面", "形态", "口味", "卫生", "用时"}
    view = await service.current_scheme(noodles["id"])
    judgement = [a for a in view.aspects if a["kind"] == "judgement"]
    assert judgement and all(len(a["descriptors"]) == 4 for a in judgement)
    assert any(a["deductions"] for a in view.aspects if a["kind"] == "measurement")
