"""Why a typed mark is refused, and how marks are shown.

Every refusal is a `MarkValueError` with a stable `code` (for the API and the audit trail) and
an English msgid with its parameters, translated where it is shown. Marks are integers in
hundredths everywhere; `format_hundredths` writes them as marks with two decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from competition.i18n import N_, Msg

NAME = "values"
VERSION = 1

NOT_A_NUMBER = "mark_not_a_number"
NEGATIVE = "mark_negative"
TOO_MANY_DECIMALS = "mark_too_many_decimals"
ABOVE_MAXIMUM = "mark_above_maximum"
JUDGEMENT_NOT_WHOLE = "judgement_not_whole"
JUDGEMENT_OUT_OF_RANGE = "judgement_out_of_range"
CODES = (
    NOT_A_NUMBER,
    NEGATIVE,
    TOO_MANY_DECIMALS,
    ABOVE_MAXIMUM,
    JUDGEMENT_NOT_WHOLE,
    JUDGEMENT_OUT_OF_RANGE,
)

MSG_EMPTY = N_("No mark was given.")
MSG_NOT_A_NUMBER = N_("The mark {value} is not a number.")
MSG_NEGATIVE = N_("A mark cannot be negative: {value}.")
MSG_TOO_MANY_DECIMALS = N_("A mark has at most 2 decimals: {value}.")
MSG_ABOVE_MAXIMUM = N_("The mark {value} is above the aspect's maximum {maximum}.")
MSG_JUDGEMENT_NOT_WHOLE = N_("A Judgement mark is a whole level (0, 1, 2 or 3): {value}.")
MSG_JUDGEMENT_OUT_OF_RANGE = N_("A Judgement mark is between 0 and 3: {value}.")

# Longer text is no mark anyone typed; refusing it early keeps huge numbers out of int().
MAX_TEXT = 20
# ASCII digits only (a full-width ５ is not accepted here), an optional minus so that a negative
# mark gets its own clear reason, no exponent, no "+", no thousands separator.
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)", re.ASCII)


class MarkValueError(ValueError):
    """A mark refused: `code` says why, `message` is the msgid, `params` its placeholders, and
    `msg` the same as one translatable Msg."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(str(message).format(**params))
        self.code = code
        self.message = str(message)
        self.params = params
        self.msg: Msg = N_(self.message, **params)

    def __repr__(self) -> str:
        return f"MarkValueError(code={self.code!r}, params={self.params!r})"


def format_hundredths(hundredths: int) -> str:
    """1000 → "10.00", -250 → "-2.50"."""
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


def shown(value: object) -> str:
    """A typed value as it goes into a message: as typed, but never a page of digits."""
    text = str(value).strip()
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def read_number(value: str | int | Decimal) -> Fraction:
    """The exact number a judge typed (text, an int or a Decimal, e.g. from a JSON decoder with
    `float_hook=Decimal`); anything else — empty, letters, NaN, infinity, an exponent, a float
    — is `mark_not_a_number`."""
    if isinstance(value, bool):
        raise MarkValueError(NOT_A_NUMBER, MSG_NOT_A_NUMBER, value=shown(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        # A huge exponent would make Fraction build a huge integer; no mark is that large.
        if not value.is_finite() or value.adjusted() > MAX_TEXT:
            raise MarkValueError(NOT_A_NUMBER, MSG_NOT_A_NUMBER, value=shown(value))
        return Fraction(value)
    if not isinstance(value, str):
        raise MarkValueError(NOT_A_NUMBER, MSG_NOT_A_NUMBER, value=shown(value))
    text = value.strip()
    if not text:
        raise MarkValueError(NOT_A_NUMBER, MSG_EMPTY)
    if len(text) > MAX_TEXT or not _NUMBER.fullmatch(text):
        raise MarkValueError(NOT_A_NUMBER, MSG_NOT_A_NUMBER, value=shown(text))
    return Fraction(text)
