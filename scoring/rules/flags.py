"""Disagreement flags (评分偏差提示): a judge whose mark is far from the panel's.

Rule "disagreement-v1": a judge is flagged when their mark differs from the exact combined
value (before any rounding) by strictly more than the tolerance — by default 1 on the 0–3
scale, so with marks 0, 3, 3 (mean 2) the 0 is flagged and the 3s are not. Marks, combined
value and tolerance just have to be in the same unit (levels, or hundredths).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import TypeVar

from scoring.rules.rounding import exact

NAME = "disagreement"
VERSION = 1

K = TypeVar("K", bound=Hashable)


def flagged(marks: Mapping[K, int], combined: Fraction, tolerance: int | Fraction) -> set[K]:
    """The keys (judges) of the marks farther than `tolerance` from `combined`."""
    combined, tolerance = exact(combined), exact(tolerance)
    if tolerance < 0:
        raise ValueError(f"a tolerance is not negative: {tolerance}")
    return {judge for judge, mark in marks.items() if abs(exact(mark) - combined) > tolerance}
