"""Totals (总分): from the combined marks to the aspect, practical and weighted scores.

Rule "totals-v1", all in integer hundredths of a mark:
- a Judgement aspect scores max × combined / 3, rounded half-up to 0.01 (one rounding per
  aspect, from the exact combined level);
- a Measurement aspect scores its agreed value;
- the practical score is the sum of the aspect scores plus the signed penalties (扣分 are
  negative entries), never below 0 and not capped at 100;
- the weighted total is Σ weight % × event score, rounded half-up to 0.01 ONCE, at the end —
  rounding each event's share first could move the total by a hundredth per event.
Theory and oral scores come from the exam system as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from scoring.rules.rounding import exact, half_up

NAME = "totals"
VERSION = 1
TOP_LEVEL = 3
ALL_PERCENT = 100


def _ints(values: Iterable[int], what: str) -> list[int]:
    values = list(values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} are integer hundredths, not {value!r}")
    return values


def aspect_score(max_hundredths: int, combined: Fraction) -> int:
    """A Judgement aspect's score: max 1000 (10 marks) at combined 8/3 → 888.88… → 889."""
    (max_hundredths,) = _ints([max_hundredths], "maximum marks")
    combined = exact(combined)
    if max_hundredths < 0 or not 0 <= combined <= TOP_LEVEL:
        raise ValueError(f"no aspect score for maximum {max_hundredths} at level {combined}")
    return half_up(max_hundredths * combined / TOP_LEVEL)


def measurement_score(value_hundredths: int) -> int:
    """A Measurement aspect's score is its agreed value."""
    (value_hundredths,) = _ints([value_hundredths], "measurement values")
    return value_hundredths


def practical(aspect_scores: Iterable[int], penalties: Iterable[int]) -> int:
    """Σ aspect scores + Σ penalties (signed), at least 0."""
    total = sum(_ints(aspect_scores, "aspect scores")) + sum(_ints(penalties, "penalties"))
    return max(0, total)


def weighted_total(event_scores: Mapping[str, int], weights: Mapping[str, int]) -> int:
    """Σ weight / 100 × event score over the weighted events (a missing score counts 0),
    rounded once: theory 8550 × 30 % + practical 9175 × 70 % = 8987.5 → 8988."""
    weight_list = _ints(weights.values(), "weights")
    if any(w < 0 for w in weight_list) or sum(weight_list) != ALL_PERCENT:
        raise ValueError(f"event weights are percents adding up to 100, not {dict(weights)}")
    unweighted = set(event_scores) - set(weights)
    if unweighted:
        raise ValueError(f"scores for events without a weight: {sorted(unweighted)}")
    scores = {event: _ints([event_scores.get(event, 0)], "event scores")[0] for event in weights}
    return half_up(Fraction(sum(weights[e] * scores[e] for e in weights), ALL_PERCENT))
