"""Rounding (四舍五入) of exact values to whole hundredths of a mark.

Rule "rounding-v1": round to the nearest integer, a half away from zero (2.5 → 3, -2.5 → -3,
2.4999 → 2), the way the scoring rules (评分细则) and a hand calculation round — not Python's
`round`, which rounds a half to the even neighbour. Only integers and `Fraction` go in: a float
has already lost the exact value that is to be rounded.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

NAME = "rounding"
VERSION = 1


def exact(value: Fraction | int | Decimal) -> Fraction:
    """The value as a Fraction; a float (or anything inexact) is a bug, refused loudly."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal):
        raise TypeError(f"an exact number (int, Fraction, Decimal) is required, not {value!r}")
    return Fraction(value)


def half_up(value: Fraction | int) -> int:
    """The nearest integer, a half away from zero."""
    value = exact(value)
    magnitude = (2 * abs(value.numerator) + value.denominator) // (2 * value.denominator)
    return -magnitude if value < 0 else magnitude


def hundredths_half_up(value: Fraction) -> int:
    """A value already counted in hundredths of a mark, rounded to whole hundredths (0.01)."""
    return half_up(value)
