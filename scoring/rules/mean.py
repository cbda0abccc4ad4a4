"""Combining judges: the mean of all judges (算术平均).

Rule "mean-v1": the exact mean of every judge's level (0–3). The other combination rules fall
back to it, so the checks every rule shares live here too: at least one mark, each a whole
level 0..3 (a mark in hundredths, 200 for level 2, is a bug and refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

NAME = "mean"
VERSION = 1
TOP = 3


def checked(marks: Sequence[int]) -> list[int]:
    """The marks as a list, refused if empty or not levels 0..3."""
    marks = list(marks)
    if not marks:
        raise ValueError("no marks to combine")
    for mark in marks:
        if isinstance(mark, bool) or not isinstance(mark, int):
            raise TypeError(f"a Judgement level is an int 0..3, not {mark!r}")
        if not 0 <= mark <= TOP:
            raise ValueError(f"a Judgement level is 0..3, not {mark} (hundredths passed?)")
    return marks


def mean_of(marks: Sequence[int]) -> Fraction:
    return Fraction(sum(marks), len(marks))


def combine(marks: Sequence[int], *, tolerance: int = 1) -> Fraction:
    """The mean of all marks; `tolerance` is not used by this rule."""
    return mean_of(checked(marks))
