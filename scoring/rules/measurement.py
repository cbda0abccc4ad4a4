"""Measurement aspects (测量分): the judges agree on one value, which is the aspect's score.

Rule "measurement-v1": a mark is a number of marks with at most 2 decimals (trailing zeros
beyond them change nothing: "7.250" is 7.25), between 0 and the aspect's maximum. A value is
never rounded to fit: 7.255 is refused, not stored as 7.26.
"""

from __future__ import annotations

import re
from decimal import Decimal

from scoring.rules.values import (
    ABOVE_MAXIMUM,
    MSG_ABOVE_MAXIMUM,
    MSG_NEGATIVE,
    MSG_TOO_MANY_DECIMALS,
    NEGATIVE,
    TOO_MANY_DECIMALS,
    MarkValueError,
    format_hundredths,
    read_number,
    shown,
)

NAME = "measurement"
VERSION = 1


# A value as it is almost always written ("7", "7.5", "7.25"), read without the general
# number reader (a Fraction a value: a fifth of checking a paper Measurement mark).
_PLAIN = re.compile(r"([0-9]{1,6})(?:\.([0-9]{1,2}))?")


def parse_value(text: str | int | Decimal, max_hundredths: int) -> int:
    """ "7" → 700, "7.5" → 750, " 7.25 " → 725, 7 (whole marks) → 700; refused with a
    `MarkValueError` when it is not a number, negative, has more than 2 decimals, or is above
    `max_hundredths`."""
    plain = _PLAIN.fullmatch(text.strip()) if isinstance(text, str) else None
    if plain is not None:
        whole, part = plain.groups()
        hundredths = int(whole) * 100 + int((part or "").ljust(2, "0"))
        if hundredths <= max_hundredths:
            return hundredths
    value = read_number(text)
    if value < 0:
        raise MarkValueError(NEGATIVE, MSG_NEGATIVE, value=shown(text))
    hundredths = value * 100
    if hundredths.denominator != 1:
        raise MarkValueError(TOO_MANY_DECIMALS, MSG_TOO_MANY_DECIMALS, value=shown(text))
    if hundredths > max_hundredths:
        raise MarkValueError(
            ABOVE_MAXIMUM,
            MSG_ABOVE_MAXIMUM,
            value=shown(text),
            maximum=format_hundredths(max_hundredths),
        )
    return int(hundredths)
