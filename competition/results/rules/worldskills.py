"""The WorldSkills view: the 700 scale (700 分制) and medals.

score700 = 700 + (total − median) × 100 / spread, over the present contestants of the scope the
caller passes (the whole trade, or one group). The median of an even count is the mean of the
two middle totals. The spread is the population standard deviation ("sd") or the median
absolute deviation × 1.4826 ("mad"); a spread of 0 gives everyone 700.00. Rounded half up to
0.01, exactly (Decimal).

Medals go by competition place on the rounded score700 alone, no tie-break: place 1 gold,
2 silver, 3 bronze (1, 1, 3 gives gold, gold, bronze and no silver); every contestant without a
medal at 700.00 or more gets the Medallion for Excellence.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

NAME = "worldskills700"
VERSION = 1
MAD_FACTOR = Decimal("1.4826")
EXCELLENCE = 70000
MEDALS = {1: "gold", 2: "silver", 3: "bronze"}


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def score700(totals: Sequence[int], spread: str = "sd") -> list[int]:
    """The 700-scale score of each total (hundredths in, hundredths out), same order."""
    if not totals:
        return []
    with localcontext() as context:
        context.prec = 50
        values = [Decimal(t) / 100 for t in totals]
        median = _median(values)
        if spread == "sd":
            mean = sum(values) / len(values)
            deviation = (sum((v - mean) ** 2 for v in values) / len(values)).sqrt()
        elif spread == "mad":
            deviation = _median([abs(v - median) for v in values]) * MAD_FACTOR
        else:
            raise ValueError(f"unknown spread {spread!r}")
        if deviation == 0:
            return [70000] * len(totals)
        out = []
        for value in values:
            scaled = Decimal(700) + (value - median) * 100 / deviation
            out.append(int((scaled * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        return out


def medals(scores700: Sequence[tuple[int, int]]) -> dict[int, str]:
    """(key, score700) → key → gold / silver / bronze / excellence."""
    ordered = sorted(scores700, key=lambda item: -item[1])
    out = {}
    place, previous = 0, None
    for position, (key, score) in enumerate(ordered, start=1):
        if score != previous:
            place, previous = position, score
        if place in MEDALS:
            out[key] = MEDALS[place]
        elif score >= EXCELLENCE:
            out[key] = "excellence"
    return out
