"""Results test data from the demo (`demo_marks`): 装配钳工 (T003) is locked there, with its
totals, penalties and completion times. These move it on — decrypted by the demo's encryption
account, published by its organizer."""

from __future__ import annotations

from dataclasses import dataclass

from competition.audit import Actor
from competition.results import publication
from competition.tables import Competition, Trade, User
from scoring.review import service as review_service

TRADE = "T003"


async def actor(username: str) -> Actor:
    user = await User.select(User.id).where(User.username == username).first()
    return Actor(user_id=user["id"], name=username)


@dataclass
class ResultsTrade:
    competition_id: int
    trade_id: int
    code: str


async def locked_trade(code: str = TRADE) -> ResultsTrade:
    row = await Trade.select(Trade.id, Trade.competition).where(Trade.code == code).first()
    return ResultsTrade(row["competition"], row["id"], code)


async def decrypted_trade(code: str = TRADE) -> ResultsTrade:
    trade = await locked_trade(code)
    await publication.decrypt_trade(trade.trade_id, actor=await actor("encryption"))
    return trade


async def reviewed(trade: ResultsTrade) -> None:
    """The supervisors' review sample (复核) drawn and every sampled entry re-checked as
    correct: publication waits for it (scoring/review/)."""
    supervisor = await actor("supervisor")
    await review_service.draw_sample(trade.trade_id, actor=supervisor, seed="results-tests")
    view = await review_service.sample_view(trade.trade_id)
    for check in view.checks:
        await review_service.record_check(view.id, check["slot"], "ok", actor=supervisor)


async def published_trade(code: str = TRADE, *, notice_hours: int = 72) -> ResultsTrade:
    trade = await decrypted_trade(code)
    await reviewed(trade)
    await publication.publish(
        trade.trade_id, actor=await actor("organizer"), notice_hours=notice_hours
    )
    return trade


async def competition_phase(competition_id: int, phase: str) -> None:
    """The competition's phase set directly (a test of a later step, not of the phase page)."""
    await Competition.update({Competition.phase: phase}).where(Competition.id == competition_id)


async def final_trade(code: str = TRADE) -> ResultsTrade:
    """Published, its notice period over, the competition's results published: made final
    (最终结果) by the organizer."""
    import datetime as dt

    from competition.results.tables import Publication

    trade = await published_trade(code)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await Publication.update({Publication.notice_ends_at: past}).where(
        Publication.trade == trade.trade_id
    )
    await competition_phase(trade.competition_id, "published")
    await publication.make_final(trade.trade_id, actor=await actor("organizer"))
    return trade
