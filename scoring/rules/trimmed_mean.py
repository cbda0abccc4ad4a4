"""Combining judges: the trimmed mean (去掉一个最高分和一个最低分, as in Chinese practice and
the ISU).

Rule "trimmed_mean-v1": with 5 or more judges drop exactly one highest and one lowest mark —
one of each even when several judges gave it — and take the mean of the rest; with fewer
judges, the mean of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from scoring.rules.mean import checked, mean_of

NAME = "trimmed_mean"
VERSION = 1
MIN_JUDGES = 5


def combine(marks: Sequence[int], *, tolerance: int = 1) -> Fraction:
    """`tolerance` is not used by this rule."""
    marks = checked(marks)
    if len(marks) < MIN_JUDGES:
        return mean_of(marks)
    return mean_of(sorted(marks)[1:-1])
