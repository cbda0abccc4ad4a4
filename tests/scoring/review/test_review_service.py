"""The review sample (scoring/review/service.py) on a real database: drawn only from final
totals of a locked (or decrypted) trade, with its seed recorded; each re-check recorded once;
the error rule at its boundary (1 error in 20 sampled checks is 5 %: no full re-check; 1 in 19
is over: every other entry gets a check); and publication held back until the review is done."""

from __future__ import annotations

import asyncio
import math

import pytest

from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.i18n import render
from competition.stages import Mover, Stage
from competition.tables import AuditLog
from scoring import stages
from scoring.review import sampling, service
from scoring.review.sampling import Reason
from scoring.tables import ReviewCheck, ReviewSample, Total
from tests.scoring.review.builders import reviewed_trade


def descending(n: int) -> list[int]:
    """n distinct totals, highest first: 90.00, 89.50, …"""
    return [9000 - 50 * k for k in range(n)]


async def audits(action: str) -> list[dict]:
    return (
        await AuditLog.select()
        .where(AuditLog.action == action)
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def checks_of(sample_id: int) -> dict[int, dict]:
    rows = await ReviewCheck.select().where(ReviewCheck.sample == sample_id)
    return {r["slot"]: r for r in rows}


async def record_all(built, sample_id: int, *, errors: int = 0, reason: str | None = None):
    """Record every open check (of one reason, or all): the first `errors` of them errors."""
    actor = await built.actor()
    results = []
    open_checks = sorted(
        slot
        for slot, row in (await checks_of(sample_id)).items()
        if not row["outcome"] and (reason is None or row["reason"] == reason)
    )
    for i, slot in enumerate(open_checks):
        outcome = "error" if i < errors else "ok"
        results.append(
            await service.record_check(
                sample_id, slot, outcome, "总分计算错误" if outcome == "error" else "", actor=actor
            )
        )
    return results


@pytest.mark.parametrize(
    ("n", "top", "random_n"),
    [
        (8, 8, 0),  # ten or fewer: all of them
        (10, 10, 0),
        (80, 10, 11),  # ceil(0.15 × 70) = ceil(10.5) = 11
    ],
)
async def test_the_sample_is_the_top_10_and_15_percent_of_the_rest_with_its_seed(
    demo_mutable, n, top, random_n
):
    built = await reviewed_trade(descending(n))
    actor = await built.actor()
    result = await service.draw_sample(built.trade_id, actor=actor, seed="a-recorded-seed")
    assert (result.entries, result.top, result.random) == (n, top, random_n)

    sample = await ReviewSample.select().where(ReviewSample.trade == built.trade_id).first()
    assert (sample["seed"], sample["algorithm"]) == ("a-recorded-seed", sampling.ALGORITHM)
    assert sample["full_required"] is False and sample["created_by"] == actor.user_id
    checks = await checks_of(sample["id"])
    # The top 10 are the 10 highest totals (the builder's first slots).
    assert {s for s, r in checks.items() if r["reason"] == "top"} == set(built.slots[:top])
    # The stored sample is the one the seed gives, from the totals as stored.
    totals = await Total.select(Total.slot, Total.weighted_hundredths).where(
        Total.trade == built.trade_id
    )
    expected = sampling.choose(
        "a-recorded-seed", [(t["slot"], t["weighted_hundredths"]) for t in totals]
    )
    assert {s: r["reason"] for s, r in checks.items()} == {p.slot_id: p.reason for p in expected}
    assert all(r["outcome"] == "" and r["checked_by"] is None for r in checks.values())

    log = (await audits("review.sample"))[0]
    assert log["object_id"] == str(built.trade_id) and log["actor_id"] == actor.user_id
    assert log["new"]["seed"] == "a-recorded-seed"
    assert (log["new"]["review_top"], log["new"]["review_random"]) == (top, random_n)

    with pytest.raises(Conflict) as again:
        await service.draw_sample(built.trade_id, actor=actor)
    assert again.value.code == "sample_exists"
    assert await ReviewSample.count().where(ReviewSample.trade == built.trade_id) == 1


async def test_a_seed_is_drawn_at_random_and_recorded(demo_mutable):
    built = await reviewed_trade(descending(40))
    result = await service.draw_sample(built.trade_id, actor=await built.actor())
    assert len(result.seed) == 32 and int(result.seed, 16) >= 0
    assert (await service.sample_of(built.trade_id))["seed"] == result.seed
    assert result.random == math.ceil(0.15 * 30) == 5


@pytest.mark.parametrize(
    ("stage", "allowed"),
    [
        (Stage.drawn, False),
        (Stage.competing, False),
        (Stage.marks_complete, False),
        (Stage.locked, True),
        (Stage.decrypted, True),
        (Stage.published, False),
        (Stage.final, False),
    ],
)
async def test_the_sample_is_drawn_only_while_locked_or_decrypted(demo_mutable, stage, allowed):
    built = await reviewed_trade(descending(12), stage=stage)
    if allowed:
        await service.draw_sample(built.trade_id, actor=await built.actor())
    else:
        with pytest.raises(PhaseError) as refused:
            await service.draw_sample(built.trade_id, actor=await built.actor())
        assert refused.value.code == "wrong_stage"
    assert await ReviewSample.count() == (1 if allowed else 0)


@pytest.mark.parametrize(
    ("kwargs", "code", "n"),
    [
        ({"complete": False}, "sample_totals_incomplete", 12),
        ({"without_total": 2}, "sample_totals_incomplete", 2),
    ],
)
async def test_the_sample_waits_for_every_final_total(demo_mutable, kwargs, code, n):
    built = await reviewed_trade(descending(12), **kwargs)
    with pytest.raises(ValidationFailed) as refused:
        await service.draw_sample(built.trade_id, actor=await built.actor())
    assert (refused.value.code, refused.value.params["n"]) == (code, n)
    assert await ReviewSample.count() == 0 and await ReviewCheck.count() == 0
    assert await AuditLog.count().where(AuditLog.action == "review.sample") == 0


async def test_no_totals_no_sample(demo_mutable):
    built = await reviewed_trade([], without_total=3)
    with pytest.raises(ValidationFailed) as refused:
        await service.draw_sample(built.trade_id, actor=await built.actor())
    assert refused.value.code == "sample_no_totals"


# ---------------------------------------------------------------------------- the error rule


@pytest.mark.parametrize(
    ("n", "sampled", "errors", "full"),
    [
        # 71 entries: 10 top + ceil(0.15 × 61) = 10 → 20 sampled; 1 error is exactly 5 %.
        (71, 20, 1, False),
        # 64 entries: 10 top + ceil(0.15 × 54) = 9 → 19 sampled; 1 error is 5.26 %.
        (64, 19, 1, True),
        (71, 20, 0, False),
        (71, 20, 2, True),  # 10 %
    ],
)
async def test_over_5_percent_errors_requires_a_full_re_check(
    demo_mutable, n, sampled, errors, full
):
    built = await reviewed_trade(descending(n))
    drawn = await service.draw_sample(built.trade_id, actor=await built.actor(), seed="boundary")
    assert drawn.top + drawn.random == sampled
    # The errors come first: the rule waits for the last sampled check all the same.
    results = await record_all(built, drawn.sample_id, errors=errors)
    assert len(results) == sampled
    assert [r.full_required for r in results] == [False] * (sampled - 1) + [full]
    sample = await service.sample_of(built.trade_id)
    assert sample["full_required"] is full
    checks = await checks_of(drawn.sample_id)
    full_checks = [s for s, r in checks.items() if r["reason"] == Reason.full.value]
    progress = (await service.progress_of([built.trade_id]))[built.trade_id]
    assert (progress.sampled_done, progress.sampled_errors) == (sampled, errors)
    logs = await audits("review.full")
    if full:
        # Every other entry of the trade, once each.
        sampled_slots = {s for s, r in checks.items() if r["reason"] != Reason.full.value}
        assert set(full_checks) == set(built.slots) - sampled_slots
        assert len(checks) == n and len(full_checks) == n - sampled
        assert results[-1].added == n - sampled
        assert len(logs) == 1
        assert logs[0]["new"] == {"review_full": True, "review_checks": sampled,
                                  "review_errors": errors, "review_added": n - sampled}  # fmt: skip
        refusal = await service.publication_refusal(built.trade_id)
        assert refusal.params == {"n": n - sampled} and "5 %" in refusal
    else:
        assert full_checks == [] and logs == [] and len(checks) == sampled
        assert await service.publication_refusal(built.trade_id) is None


async def test_the_full_re_check_is_required_once_and_then_done(demo_mutable):
    built = await reviewed_trade(descending(64))
    drawn = await service.draw_sample(built.trade_id, actor=await built.actor(), seed="full")
    await record_all(built, drawn.sample_id, errors=3)
    # Errors in the full re-check are recorded (and corrected elsewhere); no second rule.
    results = await record_all(built, drawn.sample_id, errors=5, reason="full")
    assert len(results) == 45 and not any(r.full_required for r in results)
    assert await AuditLog.count().where(AuditLog.action == "review.full") == 1
    progress = (await service.progress_of([built.trade_id]))[built.trade_id]
    assert (progress.full, progress.full_done, progress.full_errors) == (45, 45, 5)
    assert progress.done and await service.publication_refusal(built.trade_id) is None


async def test_all_entries_sampled_and_over_5_percent_adds_nothing(demo_mutable):
    built = await reviewed_trade(descending(8))
    drawn = await service.draw_sample(built.trade_id, actor=await built.actor(), seed="small")
    results = await record_all(built, drawn.sample_id, errors=1)
    assert results[-1].full_required and results[-1].added == 0
    assert await ReviewCheck.count() == 8
    assert await service.publication_refusal(built.trade_id) is None


# ---------------------------------------------------------------------------- re-checks


async def test_a_re_check_is_recorded_once_with_who_when_and_a_note(demo_mutable):
    built = await reviewed_trade(descending(12))
    actor = await built.actor()
    drawn = await service.draw_sample(built.trade_id, actor=actor, seed="once")
    slot = built.slots[0]
    await service.record_check(drawn.sample_id, slot, "error", "  A2 漏记一处扣分  ", actor=actor)
    row = (await checks_of(drawn.sample_id))[slot]
    assert (row["outcome"], row["note"], row["checked_by"]) == ("error", "A2 漏记一处扣分",
                                                                actor.user_id)  # fmt: skip
    assert row["checked_at"] is not None
    log = (await audits("review.check"))[0]
    assert log["new"] == {"code": built.codes[slot], "review_reason": "top",
                          "review_outcome": "error", "review_note": "A2 漏记一处扣分"}  # fmt: skip

    with pytest.raises(Conflict) as again:
        await service.record_check(drawn.sample_id, slot, "ok", "", actor=actor)
    assert again.value.code == "check_recorded" and again.value.params["entry"] == "001"
    assert (await checks_of(drawn.sample_id))[slot]["outcome"] == "error"
    assert await AuditLog.count().where(AuditLog.action == "review.check") == 1


@pytest.mark.parametrize(
    ("outcome", "note", "error", "code"),
    [
        ("", "", ValidationFailed, "review_outcome"),
        ("maybe", "", ValidationFailed, "review_outcome"),
        ("error", "   ", ValidationFailed, "review_note"),
        ("ok", "x" * 2001, ValidationFailed, "review_note_long"),
    ],
)
async def test_a_bad_re_check_is_refused_and_nothing_stored(
    demo_mutable, outcome, note, error, code
):
    built = await reviewed_trade(descending(12))
    drawn = await service.draw_sample(built.trade_id, actor=await built.actor(), seed="bad")
    with pytest.raises(error) as refused:
        await service.record_check(
            drawn.sample_id, built.slots[0], outcome, note, actor=await built.actor()
        )
    assert refused.value.code == code
    assert all(not r["outcome"] for r in (await checks_of(drawn.sample_id)).values())
    assert await AuditLog.count().where(AuditLog.action == "review.check") == 0


async def test_an_entry_outside_the_sample_or_a_published_trade_is_refused(demo_mutable):
    built = await reviewed_trade(descending(40))
    actor = await built.actor()
    drawn = await service.draw_sample(built.trade_id, actor=actor, seed="outside")
    checks = await checks_of(drawn.sample_id)
    outside = next(s for s in built.slots if s not in checks)
    with pytest.raises(NotFound):
        await service.record_check(drawn.sample_id, outside, "ok", actor=actor)
    with pytest.raises(NotFound):
        await service.record_check(drawn.sample_id + 1000, built.slots[0], "ok", actor=actor)
    await stages.Trade.update({stages.Trade.stage: Stage.published.value}).where(
        stages.Trade.id == built.trade_id
    )
    with pytest.raises(PhaseError):
        await service.record_check(drawn.sample_id, built.slots[0], "ok", actor=actor)
    assert await AuditLog.count().where(AuditLog.action == "review.check") == 0


# ---------------------------------------------------------------------------- publication


async def test_publication_waits_for_the_review(demo_mutable):
    built = await reviewed_trade(descending(30), stage=Stage.decrypted)
    actor = await built.actor()

    async def publish():
        return await stages.move_trade(
            built.trade_id, Stage.published, actor=actor, mover=Mover.publication
        )

    reasons = []
    reasons.append(await service.publication_refusal(built.trade_id))
    with pytest.raises(PhaseError) as refused:
        await publish()
    assert refused.value.code == "stage_entry_refused"
    drawn = await service.draw_sample(built.trade_id, actor=actor, seed="publish")
    assert drawn.top + drawn.random == 13  # 10 + ceil(0.15 × 20) = 13
    reasons.append(await service.publication_refusal(built.trade_id))
    await record_all(built, drawn.sample_id, errors=1)  # 1 of 13: over 5 %
    reasons.append(await service.publication_refusal(built.trade_id))
    with pytest.raises(PhaseError):
        await publish()
    assert (await stages.trade_state(built.trade_id)).stage == Stage.decrypted
    await record_all(built, drawn.sample_id, reason="full")
    reasons.append(await service.publication_refusal(built.trade_id))
    assert [r.params if r is not None else None for r in reasons] == [
        {},
        {"n": 13},
        {"n": 17},
        None,
    ]
    assert "复核" in reasons[0]
    assert render(reasons[1]) and render(reasons[2])
    assert (await publish()).stage == Stage.published


# ---------------------------------------------------------------------------- at once


async def _outcome(coroutine):
    try:
        return await coroutine
    except Conflict as exc:
        return exc


async def test_two_supervisors_recording_the_last_two_checks_decide_the_rule_once(demo_mutable):
    built = await reviewed_trade(descending(64))
    actor = await built.actor()
    drawn = await service.draw_sample(built.trade_id, actor=actor, seed="at-once")
    open_checks = sorted(await checks_of(drawn.sample_id))
    for slot in open_checks[:-2]:
        await service.record_check(drawn.sample_id, slot, "ok", actor=actor)
    # The last two, one an error: 1 of 19 is over 5 %, whichever lands last decides it.
    results = await asyncio.gather(
        service.record_check(drawn.sample_id, open_checks[-2], "error", "漏记", actor=actor),
        service.record_check(drawn.sample_id, open_checks[-1], "ok", actor=actor),
    )
    assert sorted(r.full_required for r in results) == [False, True]
    assert sum(r.added for r in results) == 45
    assert await AuditLog.count().where(AuditLog.action == "review.full") == 1
    assert await ReviewCheck.count().where(ReviewCheck.reason == "full") == 45


async def test_two_draws_at_once_make_one_sample(demo_mutable):
    built = await reviewed_trade(descending(30))
    actor = await built.actor()
    results = await asyncio.gather(
        _outcome(service.draw_sample(built.trade_id, actor=actor)),
        _outcome(service.draw_sample(built.trade_id, actor=actor)),
    )
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and refused[0].code == "sample_exists"
    assert await ReviewSample.count() == 1 and await ReviewCheck.count() == 13
    assert await AuditLog.count().where(AuditLog.action == "review.sample") == 1
