"""The demo's results: 装配钳工 (T003), locked by the marks demo, decrypted by the encryption
officer, its review sample re-checked by the supervisor and its results published for the
notice period by the organizer; the 西宁 delegation has appealed one contestant's score, and the
appeal waits for the supervisor's ruling. 拉面师 (T087) stays "marks complete", so the lock →
decryption → review → publication can be walked through in the pages.

Each step is the product's own verb, acting as the demo account of its role (the audit trail
says who did what). Idempotent: a trade already past a step is left as it is.
"""

from __future__ import annotations

from competition.audit import Actor
from competition.results import appeals, publication
from competition.stages import Stage
from competition.tables import Delegation, Role, Trade, User
from registration.tables import Entry
from scoring.review import service as review

PUBLISHED = "T003"
REVIEW_SEED = "jiangxin-demo-review"
NOTICE_HOURS = 72
APPEAL_TEXT = "选手对实操成绩中一项测量值的记录有异议，请求复核。"


async def _actor(username: str) -> Actor:
    row = await User.select(User.id).where(User.username == username).first()
    assert row is not None, f"the demo account {username} is missing"
    return Actor(user_id=row["id"], name=username)


async def load_demo_results(competition_id: int) -> int:
    """Returns the records written."""
    trade = (
        await Trade.select(Trade.id, Trade.stage)
        .where((Trade.competition == competition_id) & (Trade.code == PUBLISHED))
        .first()
    )
    if trade is None:
        return 0
    written = 0
    if trade["stage"] == Stage.locked:
        await publication.decrypt_trade(trade["id"], actor=await _actor("encryption"))
        written += 1
    if await review.sample_of(trade["id"]) is None:
        supervisor = await _actor("supervisor")
        await review.draw_sample(trade["id"], actor=supervisor, seed=REVIEW_SEED)
        sample = await review.sample_view(trade["id"])
        for check in sample.checks:
            await review.record_check(sample.id, check["slot"], "ok", actor=supervisor)
        written += 1 + len(sample.checks)
    if await publication.board_version(trade["id"]) is None:
        await publication.publish(
            trade["id"], actor=await _actor("organizer"), notice_hours=NOTICE_HOURS
        )
        written += 1
    written += await _appeal(competition_id, trade["id"])
    return written


async def _appeal(competition_id: int, trade_id: int) -> int:
    if await appeals.appeals_of_trade(trade_id):
        return 0
    version = await publication.board_version(trade_id)
    xining = (
        await Delegation.select(Delegation.id)
        .where((Delegation.competition == competition_id) & (Delegation.code == "XN"))
        .first()
    )
    if version is None or xining is None:
        return 0
    ours = {
        row["id"]
        for row in await Entry.select(Entry.id).where(
            (Entry.trade == trade_id) & (Entry.delegation == xining["id"])
        )
    }
    # The delegation's best placed contestant outside the first prize.
    candidates = [r for r in version.rows if r.entry_id in ours and r.present and r.award != 1]
    if not candidates:
        return 0
    await appeals.file_appeal(
        candidates[0].entry_id, APPEAL_TEXT, actor=await _actor("xining"),
        filed_as=Role.delegation_admin,
    )  # fmt: skip
    return 1
