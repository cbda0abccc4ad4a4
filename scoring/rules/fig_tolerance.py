"""Combining judges: FIG tolerance (as the gymnastics federation FIG does).

Rule "fig_tolerance-v1": with 3 or more judges drop one highest and one lowest mark; if the
remaining marks differ (highest − lowest of them) by strictly more than the tolerance, the
panel disagrees and the mean of ALL marks is taken, otherwise the mean of the remaining ones.
With fewer than 3 judges, the mean of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from scoring.rules.mean import checked, mean_of
from scoring.rules.rounding import exact

NAME = "fig_tolerance"
VERSION = 1
MIN_JUDGES = 3


def combine(marks: Sequence[int], *, tolerance: int | Fraction = 1) -> Fraction:
    """`tolerance` is on the 0–3 scale, like the marks."""
    marks = checked(marks)
    tolerance = exact(tolerance)
    if tolerance < 0:
        raise ValueError(f"a tolerance is not negative: {tolerance}")
    if len(marks) < MIN_JUDGES:
        return mean_of(marks)
    middle = sorted(marks)[1:-1]
    if middle[-1] - middle[0] > tolerance:
        return mean_of(marks)
    return mean_of(middle)
