"""Judgement aspects (评价分): each judge chooses one level of the descriptors, 0, 1, 2 or 3.

Rule "judgement-v1": a level is a whole number from 0 to 3; "2.0" and "2.00" are level 2, but
2.5 is refused (`judgement_not_whole`) — a judge picks a descriptor, never a point between
two. Levels are stored like every other mark, in hundredths: level 2 is 200.
"""

from __future__ import annotations

from decimal import Decimal

from scoring.rules.values import (
    JUDGEMENT_NOT_WHOLE,
    JUDGEMENT_OUT_OF_RANGE,
    MSG_JUDGEMENT_NOT_WHOLE,
    MSG_JUDGEMENT_OUT_OF_RANGE,
    MarkValueError,
    read_number,
    shown,
)

NAME = "judgement"
VERSION = 1
LEVELS = (0, 1, 2, 3)
TOP = 3


# The levels as they are almost always written, read without the general number reader (a
# Fraction a value: ~10 µs, a seventh of checking a paper mark).
_PLAIN = {str(level): level * 100 for level in LEVELS}


def parse_level(text: str | int | Decimal) -> int:
    """ "2" → 200, "2.00" → 200, 3 → 300; "2.5", "-1", "4", "x" are refused with a
    `MarkValueError`."""
    plain = _PLAIN.get(text) if isinstance(text, str) else None
    if plain is not None:
        return plain
    value = read_number(text)
    if value.denominator != 1:
        raise MarkValueError(JUDGEMENT_NOT_WHOLE, MSG_JUDGEMENT_NOT_WHOLE, value=shown(text))
    if not 0 <= value <= TOP:
        raise MarkValueError(JUDGEMENT_OUT_OF_RANGE, MSG_JUDGEMENT_OUT_OF_RANGE, value=shown(text))
    return int(value) * 100


def level_of(hundredths: int) -> int:
    """A stored Judgement mark back to its level: 200 → 2. Anything else stored is a bug."""
    if isinstance(hundredths, bool) or not isinstance(hundredths, int):
        raise TypeError(f"a Judgement mark in hundredths is an int, not {hundredths!r}")
    level, rest = divmod(hundredths, 100)
    if rest or level not in LEVELS:
        raise ValueError(f"{hundredths} hundredths is not a Judgement level")
    return level
