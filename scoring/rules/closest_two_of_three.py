"""Combining judges: the closest two of three (as IJRU rope skipping does).

Rule "closest_two_of_three-v1": with exactly 3 judges, the mean of the two marks closest to
each other; when both gaps are equal (1, 2, 3 — or 2, 2, 2) no pair is closer, and the mean of
all three is taken. With any other number of judges, the mean of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from scoring.rules.mean import checked, mean_of

NAME = "closest_two_of_three"
VERSION = 1
JUDGES = 3


def combine(marks: Sequence[int], *, tolerance: int = 1) -> Fraction:
    """`tolerance` is not used by this rule."""
    marks = checked(marks)
    if len(marks) != JUDGES:
        return mean_of(marks)
    low, middle, high = sorted(marks)
    lower_gap, upper_gap = middle - low, high - middle
    if lower_gap == upper_gap:
        return mean_of(marks)
    return mean_of([low, middle] if lower_gap < upper_gap else [middle, high])
