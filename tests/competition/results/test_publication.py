"""Decryption, publication, an appeal that changes a place, and the final result — through the
services, on the demo's locked 装配钳工 (T003)."""

from __future__ import annotations

import datetime as dt

import pytest

from competition.errors import Conflict, PhaseError
from competition.results import appeals, publication
from competition.results.standings import trade_standings
from competition.results.tables import Publication
from competition.stages import Stage
from competition.tables import AuditLog, Role, Trade
from scoring.sheets import lock
from scoring.sheets.marks import scheme_aspects
from scoring.sheets.roster import current_scheme_id
from scoring.tables import Mark, PanelMember
from tests.competition.results.builders import (
    actor,
    competition_phase,
    decrypted_trade,
    locked_trade,
    published_trade,
    reviewed,
)


async def _audit(action: str) -> list[dict]:
    query = AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id)
    return await query.output(load_json=True)


async def test_decryption_is_refused_before_the_lock(demo_marks):
    flagged = await Trade.select(Trade.id).where(Trade.code == "T087").first()
    with pytest.raises(PhaseError) as refused:
        await publication.decrypt_trade(flagged["id"], actor=await actor("encryption"))
    assert refused.value.code == "decrypt_before_lock"
    assert (await Trade.select(Trade.stage).where(Trade.id == flagged["id"]).first())[
        "stage"
    ] == Stage.marks_complete


async def test_locked_results_name_no_one_until_decrypted(demo_marks):
    trade = await locked_trade()
    before = await trade_standings(trade.trade_id)
    assert not before.decrypted
    present = [r for r in before.rows if r.present]
    assert present and all(r.code for r in present)
    assert all(not (r.name or r.ticket_number or r.id_number) for r in before.rows)
    # Everyone has a complete total (theory imported before the lock), places start at 1.
    assert all(r.complete for r in present)
    assert present[0].place == 1

    await publication.decrypt_trade(trade.trade_id, actor=await actor("encryption"))
    after = await trade_standings(trade.trade_id)
    assert after.decrypted and all(r.name and r.ticket_number for r in after.rows)
    moves = await _audit("trade.stage")
    assert moves[-1]["new"] == {"stage": "decrypted"}
    with pytest.raises(Conflict):
        await publication.decrypt_trade(trade.trade_id, actor=await actor("encryption"))


async def test_publication_waits_for_the_review_sample(demo_marks):
    trade = await decrypted_trade()
    with pytest.raises(PhaseError) as refused:
        await publication.publish(trade.trade_id, actor=await actor("organizer"))
    assert refused.value.code == "stage_entry_refused"
    await reviewed(trade)
    version = await publication.publish(trade.trade_id, actor=await actor("organizer"))
    assert version.version == 1 and version.status == publication.PublicationStatus.notice
    standings = await trade_standings(trade.trade_id)
    assert standings.stage == Stage.published
    names = {r.entry_id: r.name for r in standings.rows}
    for row in version.rows:
        assert row.name == publication.mask_name(names[row.entry_id]) and "*" in row.name
    # Publishing again without a change is refused: the board keeps version 1.
    with pytest.raises(Conflict):
        await publication.publish(trade.trade_id, actor=await actor("organizer"))
    assert (await _audit("results.published"))[-1]["new"]["version"] == 1


async def _chief(trade_id: int):
    row = (
        await PanelMember.select(PanelMember.judge.user.username)
        .where((PanelMember.trade == trade_id) & (PanelMember.is_chief == True))  # noqa: E712
        .first()
    )
    return await actor(row["judge.user.username"])


async def test_an_upheld_appeal_changes_a_place_in_a_new_version(demo_marks):
    trade = await published_trade()
    first = await publication.board_version(trade.trade_id)
    ranked = [r for r in first.rows if r.present]
    second = next(r for r in ranked if r.place == 2)
    leader = next(r for r in ranked if r.place == 1)

    # The second's delegation appeals; the supervisor upholds it.
    appeal_id = await appeals.file_appeal(
        second.entry_id, "第3项测量值记录有误", actor=await actor("xining"),
        filed_as=Role.delegation_admin,
    )  # fmt: skip
    with pytest.raises(Conflict):  # one waiting appeal per entry
        await appeals.file_appeal(
            second.entry_id, "again", actor=await actor("xining"), filed_as=Role.delegation_admin
        )
    await appeals.rule_appeal(
        appeal_id, upheld=True, ruling="复核属实", actor=await actor("supervisor")
    )
    assert [a.status for a in await appeals.appeals_of_trade(trade.trade_id)] == ["upheld"]

    # The chief judge corrects the second's marks after the lock until they lead.
    chief = await _chief(trade.trade_id)
    aspects = await scheme_aspects(await current_scheme_id(trade.trade_id))
    slot = next(r.slot_id for r in (await trade_standings(trade.trade_id)).rows
                if r.entry_id == second.entry_id)  # fmt: skip
    judges = [j["id"] for j in await lock.judges_of_slot(trade.trade_id, slot)]
    changes = [
        (aspect, judge)
        for aspect in aspects.values()
        for judge in (judges if aspect.is_judgement else [None])
    ]
    for aspect, judge in changes:
        value = "3" if aspect.is_judgement else str(aspect.max_hundredths // 100)
        await lock.change_locked_mark(
            trade.trade_id, slot_id=slot, aspect_id=aspect.id, judge_id=judge, value=value,
            reason=f"申诉 #{appeal_id} 成立", actor=chief,
        )  # fmt: skip
        now = {r.entry_id: r for r in (await trade_standings(trade.trade_id)).rows}
        if now[second.entry_id].place == 1:
            break
    assert now[second.entry_id].place == 1 and now[leader.entry_id].place == 2
    assert await Mark.count().where(Mark.slot == slot) > 0

    # Not final while the board shows the old version.
    check = await publication.final_check(trade.trade_id)
    assert not check.ready and any("publish them again" in r for r in check.reasons)

    v2 = await publication.publish(
        trade.trade_id, actor=await actor("organizer"), note=f"申诉 #{appeal_id}"
    )
    assert v2.version == 2
    old = await publication.version_of(trade.trade_id, 1)
    assert old.status == publication.PublicationStatus.superseded
    changes = {c.entry_id: dict((f, (a, b)) for f, a, b in c.changes)
               for c in publication.compare(old.rows, v2.rows)}  # fmt: skip
    assert changes[second.entry_id]["place"] == (2, 1)
    assert changes[leader.entry_id]["place"] == (1, 2)

    # Final only after the notice period, and once the competition's results are published.
    with pytest.raises(PhaseError):
        await publication.make_final(trade.trade_id, actor=await actor("organizer"))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await Publication.update({Publication.notice_ends_at: past}).where(Publication.id == v2.id)
    await competition_phase(trade.competition_id, "published")
    await publication.make_final(trade.trade_id, actor=await actor("organizer"))
    assert (await trade_standings(trade.trade_id)).stage == Stage.final
    assert (await publication.board_version(trade.trade_id)).status == "final"
    with pytest.raises(PhaseError):
        await appeals.file_appeal(
            leader.entry_id, "late", actor=await actor("xining"), filed_as=Role.delegation_admin
        )


async def test_withdrawal_needs_a_reason_and_takes_the_board_down(demo_marks):
    trade = await published_trade()
    with pytest.raises(Exception) as refused:
        await publication.withdraw(trade.trade_id, actor=await actor("organizer"), reason=" ")
    assert refused.value.code == "withdraw_reason_required"
    await publication.withdraw(trade.trade_id, actor=await actor("organizer"), reason="名单有误")
    assert await publication.board_version(trade.trade_id) is None
    assert (await trade_standings(trade.trade_id)).stage == Stage.decrypted
