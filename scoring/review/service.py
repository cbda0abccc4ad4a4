"""Review sampling (复核) of a locked trade before publication: the sample, each re-check, the
error rule and what still holds publication back.

- `draw_sample` takes a random seed (recorded with the sample), reads the trade's totals and
  writes the sample the pure `sampling.choose` picks — one ReviewCheck a sampled entry — in one
  transaction with the audit record "review.sample". Only while the trade is locked or
  decrypted: before the lock the totals may still change, after publication it is too late.
- `record_check` records one re-check (ok, or an error with a note saying what was wrong); a
  recorded outcome stays as it is. When the last sampled entry has been re-checked and the
  errors found are over 5 % of the checks, the sample requires a full re-check: every other
  entry of the trade gets a check of its own ("review.full").
- `publication_refusal` says why the trade may not be published yet; it is registered as a
  check on every move into "published" (scoring/stages.py `register_entry_check`).

Entries are named by their draw codes only, whatever the stage: a re-check needs no name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from piccolo.query.functions.aggregate import Count

from competition import audit
from competition.audit import Actor
from competition.db import copy_records, is_integrity_error, is_postgres, transaction
from competition.errors import Conflict, NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.stages import Stage
from competition.tables import User
from scoring.review import sampling
from scoring.review.sampling import Reason
from scoring.rules.rounding import half_up
from scoring.stages import TradeState, register_entry_check, require_trade_stage
from scoring.tables import DrawSlot, ReviewCheck, ReviewSample, Total

# Before the lock totals may still change; once published the review is too late.
REVIEW_STAGES = frozenset({Stage.locked, Stage.decrypted})
OUTCOMES = ("ok", "error")
NOTE_MAX = 2000
CHECK_COLUMNS = ["sample", "slot", "reason", "outcome", "note"]


@dataclass(frozen=True)
class Progress:
    """How far the re-checks of one sample are: the sampled ones (top and random) decide the
    error rule; the full re-check, when required, adds the others."""

    sampled: int = 0
    sampled_done: int = 0
    sampled_errors: int = 0
    full: int = 0
    full_done: int = 0
    full_errors: int = 0
    full_required: bool = False

    @property
    def sampled_open(self) -> int:
        return self.sampled - self.sampled_done

    @property
    def full_open(self) -> int:
        return self.full - self.full_done

    @property
    def error_rate(self) -> Fraction | None:
        """Errors found / sampled checks done; None before the first check."""
        if not self.sampled_done:
            return None
        return Fraction(self.sampled_errors, self.sampled_done)

    @property
    def error_rate_hundredths(self) -> int | None:
        """The error rate in hundredths of a percent, rounded half up (1 of 19 → 526)."""
        rate = self.error_rate
        return None if rate is None else half_up(rate * 10000)

    @property
    def done(self) -> bool:
        return self.sampled_open == 0 and self.full_open == 0


@dataclass(frozen=True)
class SampleResult:
    sample_id: int
    seed: str
    algorithm: str
    entries: int
    top: int
    random: int


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    outcome: str
    full_required: bool  # this check made the full re-check required
    added: int  # checks added for the full re-check


@dataclass
class SampleView:
    """A trade's sample as the supervisor's page shows it."""

    id: int
    seed: str
    algorithm: str
    created_at: dt.datetime
    created_by: str
    progress: Progress
    checks: list[dict[str, Any]] = field(default_factory=list)


async def _trade_totals(trade_id: int) -> list[dict[str, Any]]:
    return await Total.select(Total.slot, Total.weighted_hundredths, Total.complete).where(
        (Total.trade == trade_id) & Total.slot.is_not_null()
    )


async def draw_sample(trade_id: int, *, actor: Actor, seed: str | None = None) -> SampleResult:
    """Draw the trade's review sample from its totals: all of the top 10, at least 15 % of the
    rest. Refused unless the trade is locked or decrypted, once a sample exists, and while a
    contestant's total is missing or not final."""
    seed = seed or sampling.new_seed()
    async with transaction():
        state = await require_trade_stage(trade_id, REVIEW_STAGES, N_("Draw the review sample"))
        if await ReviewSample.exists().where(ReviewSample.trade == trade_id):
            raise Conflict(
                "The review sample of this trade has been drawn already.", code="sample_exists"
            )
        totals = await _trade_totals(trade_id)
        slots = await DrawSlot.count().where(DrawSlot.trade == trade_id)
        if not totals:
            raise ValidationFailed(
                "The trade's totals have not been worked out yet: there is nothing to sample.",
                code="sample_no_totals",
            )
        missing = slots - len(totals) + sum(1 for t in totals if not t["complete"])
        if missing:
            raise ValidationFailed(
                "{n} contestants' totals are missing or not final (a mark or an event score "
                "is missing): the sample is drawn from final totals only.",
                code="sample_totals_incomplete",
                n=missing,
            )
        picks = sampling.choose(seed, [(t["slot"], t["weighted_hundredths"]) for t in totals])
        sample = ReviewSample(
            trade=trade_id, seed=seed, algorithm=sampling.ALGORITHM, created_by=actor.user_id
        )
        try:
            await sample.save()
        except Exception as exc:
            if is_integrity_error(exc):
                raise Conflict(
                    "The review sample of this trade has been drawn already.",
                    code="sample_exists",
                ) from exc
            raise
        await copy_records(
            "review_check",
            CHECK_COLUMNS,
            [(sample.id, p.slot_id, p.reason.value, "", "") for p in picks],
        )
        top = sum(1 for p in picks if p.reason == Reason.top)
        result = SampleResult(
            sample.id, seed, sampling.ALGORITHM, len(totals), top, len(picks) - top
        )
        await audit.record(
            "review.sample",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=state.competition_id,
            new={
                "seed": seed,
                "algorithm": sampling.ALGORITHM,
                "review_entries": result.entries,
                "review_top": result.top,
                "review_random": result.random,
            },
        )
    return result


PARTS = ("sampled", "sampled_done", "sampled_errors", "full", "full_done", "full_errors")


async def _tallies(sample_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """sample id → its checks counted by part (sampled or full), done and errors."""
    ids = sorted(set(sample_ids))
    tallies = {s: dict.fromkeys(PARTS, 0) for s in ids}
    if not ids:
        return tallies
    rows = (
        await ReviewCheck.select(
            ReviewCheck.sample,
            ReviewCheck.reason,
            ReviewCheck.outcome,
            Count(ReviewCheck.id, alias="n"),
        )
        .where(ReviewCheck.sample.is_in(ids))
        .group_by(ReviewCheck.sample, ReviewCheck.reason, ReviewCheck.outcome)
    )
    for row in rows:
        part = "full" if row["reason"] == Reason.full.value else "sampled"
        tally = tallies[row["sample"]]
        tally[part] += row["n"]
        if row["outcome"]:
            tally[f"{part}_done"] += row["n"]
        if row["outcome"] == "error":
            tally[f"{part}_errors"] += row["n"]
    return tallies


async def _progress(sample_id: int, full_required: bool) -> Progress:
    return Progress(**(await _tallies([sample_id]))[sample_id], full_required=full_required)


async def _sample_for_update(sample_id: int) -> dict[str, Any]:
    query = ReviewSample.select().where(ReviewSample.id == sample_id)
    if is_postgres():
        # Two supervisors recording the last two checks: one decides the error rule, after
        # the other's check is in.
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound("The review sample was not found.", code="sample_not_found")
    return row


async def record_check(
    sample_id: int, slot_id: int, outcome: str, note: str = "", *, actor: Actor
) -> CheckResult:
    """Record the re-check of one sampled entry: "ok", or "error" with a note saying what was
    wrong (the correction itself goes through the locked-mark change path)."""
    note = (note or "").strip()
    if outcome not in OUTCOMES:
        raise ValidationFailed(
            "Choose the outcome of the re-check: correct or an error found.",
            code="review_outcome",
        )
    if outcome == "error" and not note:
        raise ValidationFailed(
            "Say what the error was: the note is needed with an error.", code="review_note"
        )
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            "The note is too long: at most {max} characters.", code="review_note_long", max=NOTE_MAX
        )
    async with transaction():
        trade_row = (
            await ReviewSample.select(ReviewSample.trade)
            .where(ReviewSample.id == sample_id)
            .first()
        )
        if trade_row is None:
            raise NotFound("The review sample was not found.", code="sample_not_found")
        state = await require_trade_stage(
            trade_row["trade"], REVIEW_STAGES, N_("Record a re-check")
        )
        sample = await _sample_for_update(sample_id)
        check = (
            await ReviewCheck.select(
                ReviewCheck.id, ReviewCheck.reason, ReviewCheck.outcome, ReviewCheck.slot.code
            )
            .where((ReviewCheck.sample == sample_id) & (ReviewCheck.slot == slot_id))
            .first()
        )
        if check is None:
            raise NotFound("This entry is not in the review sample.", code="check_not_found")
        if check["outcome"]:
            raise Conflict(
                "The re-check of {entry} has been recorded already.",
                code="check_recorded",
                entry=check["slot.code"],
            )
        now = dt.datetime.now(dt.UTC)
        await ReviewCheck.update(
            {
                ReviewCheck.outcome: outcome,
                ReviewCheck.note: note,
                ReviewCheck.checked_by: actor.user_id,
                ReviewCheck.checked_at: now,
            }
        ).where(ReviewCheck.id == check["id"])
        await audit.record(
            "review.check",
            actor=actor,
            object_type="trade",
            object_id=state.trade_id,
            competition_id=state.competition_id,
            old={"review_outcome": ""},
            new={
                "code": check["slot.code"],
                "review_reason": check["reason"],
                "review_outcome": outcome,
                "review_note": note,
            },
        )
        added = 0
        became_full = False
        progress = await _progress(sample_id, sample["full_required"])
        if (
            not sample["full_required"]
            and progress.sampled_open == 0
            and sampling.full_check_required(progress.sampled_errors, progress.sampled_done)
        ):
            became_full = True
            added = await _require_full(state, sample_id, progress, actor=actor)
    return CheckResult(check["id"], outcome, became_full, added)


async def _require_full(
    state: TradeState, sample_id: int, progress: Progress, *, actor: Actor
) -> int:
    """Over 5 % errors: every entry of the trade not yet in the sample gets a check."""
    sampled = ReviewCheck.select(ReviewCheck.slot).where(ReviewCheck.sample == sample_id)
    rest = await DrawSlot.select(DrawSlot.id).where(
        (DrawSlot.trade == state.trade_id) & DrawSlot.id.not_in(sampled)
    )
    await ReviewSample.update({ReviewSample.full_required: True}).where(
        ReviewSample.id == sample_id
    )
    await copy_records(
        "review_check",
        CHECK_COLUMNS,
        [(sample_id, r["id"], Reason.full.value, "", "") for r in rest],
    )
    await audit.record(
        "review.full",
        actor=actor,
        object_type="trade",
        object_id=state.trade_id,
        competition_id=state.competition_id,
        old={"review_full": False},
        new={
            "review_full": True,
            "review_checks": progress.sampled_done,
            "review_errors": progress.sampled_errors,
            "review_added": len(rest),
        },
    )
    return len(rest)


# ---------------------------------------------------------------------------- reading


async def sample_of(trade_id: int) -> dict[str, Any] | None:
    return await ReviewSample.select().where(ReviewSample.trade == trade_id).first()


async def progress_of(trade_ids: Iterable[int]) -> dict[int, Progress]:
    """trade id → the progress of its sample, for the trades that have one."""
    ids = sorted(set(trade_ids))
    if not ids:
        return {}
    samples = await ReviewSample.select(
        ReviewSample.id, ReviewSample.trade, ReviewSample.full_required
    ).where(ReviewSample.trade.is_in(ids))
    tallies = await _tallies(s["id"] for s in samples)
    return {
        s["trade"]: Progress(**tallies[s["id"]], full_required=s["full_required"]) for s in samples
    }


async def _names(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({u for u in user_ids if u is not None})
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(ids))
    return {r["id"]: r["display_name"] for r in rows}


REASON_ORDER = {Reason.top.value: 0, Reason.random.value: 1, Reason.full.value: 2}


async def sample_view(trade_id: int) -> SampleView | None:
    """The trade's sample with every check: code (never a name), total, reason, outcome."""
    sample = await sample_of(trade_id)
    if sample is None:
        return None
    rows = await ReviewCheck.select(
        ReviewCheck.id,
        ReviewCheck.slot,
        ReviewCheck.reason,
        ReviewCheck.outcome,
        ReviewCheck.note,
        ReviewCheck.checked_by,
        ReviewCheck.checked_at,
        ReviewCheck.slot.code.as_alias("code"),
        ReviewCheck.slot.judge_code.as_alias("judge_code"),
    ).where(ReviewCheck.sample == sample["id"])
    totals = {
        t["slot"]: t["weighted_hundredths"]
        for t in await Total.select(Total.slot, Total.weighted_hundredths).where(
            Total.trade == trade_id
        )
    }
    names = await _names([sample["created_by"], *(r["checked_by"] for r in rows)])
    for row in rows:
        row["total"] = totals.get(row["slot"])
        row["checked_by_name"] = names.get(row["checked_by"], "")
    # Top entries by total, then the random ones, then the full re-check, each by total.
    rows.sort(key=lambda r: (REASON_ORDER.get(r["reason"], 3), -(r["total"] or 0), r["code"]))
    return SampleView(
        id=sample["id"],
        seed=sample["seed"],
        algorithm=sample["algorithm"],
        created_at=sample["created_at"],
        created_by=names.get(sample["created_by"], ""),
        progress=await _progress(sample["id"], sample["full_required"]),
        checks=rows,
    )


# ---------------------------------------------------------------------------- publication


def refusal_for(progress: Progress | None) -> Msg | None:
    """Why a trade with this review progress may not be published yet, or None."""
    if progress is None:
        return N_(
            "The review sample (复核) has not been drawn: the supervisors re-check a sample of "
            "the results before publication."
        )
    if progress.sampled_open:
        return N_("Re-checks of the review sample still open: {n}.", n=progress.sampled_open)
    if progress.full_required and progress.full_open:
        return N_(
            "The review found errors in over 5 % of its checks: every entry must be re-checked "
            "before publication. Re-checks still open: {n}.",
            n=progress.full_open,
        )
    return None


async def publication_refusal(trade_id: int) -> Msg | None:
    """Why the trade may not be published yet (the review is not finished), or None."""
    return refusal_for((await progress_of([trade_id])).get(trade_id))


async def _entry_check(state: TradeState) -> Msg | None:
    return await publication_refusal(state.trade_id)


register_entry_check(Stage.published, _entry_check)
