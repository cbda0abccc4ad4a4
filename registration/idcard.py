"""Resident identity numbers (居民身份证号码, GB 11643-1999). Pure functions.

18 characters: a 6-digit address code, the birth date YYYYMMDD (characters 7–14), a 3-digit
sequence whose last digit is odd for men and even for women (character 17), and a check
character: the weighted sum of the first 17 digits mod 11 maps to `1 0 X 9 8 7 6 5 4 3 2`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from competition.errors import ValidationFailed

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    gender: str  # "male" / "female"


def normalise(raw: str) -> str:
    """Full-width digits and letters to ASCII, spaces removed, lowercase x to X."""
    text = unicodedata.normalize("NFKC", str(raw))
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _invalid(message: str, code: str, **params) -> ValidationFailed:
    return ValidationFailed(message, code=code, field_errors={"id_number": message}, **params)


def parse(raw: str, *, today: dt.date | None = None) -> ResidentId:
    """Validate a resident ID and return its parts, or raise with the part that is wrong."""
    number = normalise(raw)
    today = today or dt.date.today()
    if not number:
        raise _invalid("The ID number is required.", "id_missing")
    if _SCIENTIFIC.match(number):
        raise _invalid(
            "The ID number was turned into a number in scientific notation (e.g. by Excel); "
            "format the column as text and enter it again.",
            "id_scientific",
        )
    if len(number) == 15 and number.isdigit():
        raise _invalid(
            "Old 15-digit ID numbers are no longer accepted; enter the 18-character number "
            "of the second-generation ID card.",
            "id_old_15",
        )
    if len(number) == 17 and number.isdigit() and check_character(number) == "X":
        raise _invalid(
            "The ID number has 17 digits: its final X seems to have been lost (Excel drops "
            "it when the column is a number); enter it as text with the X.",
            "id_lost_x",
        )
    if len(number) != 18:
        raise _invalid(
            "An ID number has 18 characters; this one has {n}.", "id_length", n=len(number)
        )
    if not number[:17].isdigit():
        raise _invalid("The first 17 characters of an ID number are digits.", "id_digits")
    if number[17] not in "0123456789X":
        raise _invalid("The last character of an ID number is a digit or X.", "id_last_char")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _invalid(
            "Characters 7–14 of the ID number ({value}) are not a real date.",
            "id_birth_date",
            value=number[6:14],
        ) from None
    if birth > today or birth.year < 1900:
        raise _invalid(
            "The birth date in the ID number ({value}) is not possible.",
            "id_birth_future",
            value=birth.isoformat(),
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise _invalid(
            "The check character of the ID number is wrong (the last character should be "
            "{expected}): a digit was probably mistyped.",
            "id_checksum",
            expected=expected,
        )
    gender = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, birth_date=birth, gender=gender)


def mask(number: str) -> str:
    """`630102199001011234` → `6301**********1234`: enough to tell two people apart on a list."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def compose(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number (demo data, tests): 6-digit region, birth date, 3-digit sequence
    whose last digit is odd for a man and even for a woman."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


_WEIGHT_VECTOR = np.array(WEIGHTS, dtype=np.int64)
_CHECK_CODES = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PLACEHOLDER_ID = "0" * 18


def screen_many(numbers: list[str], today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """`parse` for a whole column at once, for batch imports: which normalised numbers are
    certainly valid (18 characters, 17 digits, a real birth date from 1900 to today, the check
    character) and their birth dates as YYYYMMDD integers. Rows it doubts go through `parse`
    for the message. Vectorised because `parse` costs ~5 µs a number, ~1 s for 200,000."""
    n = len(numbers)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    shaped = np.fromiter((len(x) == 18 and x.isascii() for x in numbers), dtype=bool, count=n)
    text = "".join(x if ok else _PLACEHOLDER_ID for x, ok in zip(numbers, shaped, strict=True))
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(n, 18)
    digits = chars[:, :17].astype(np.int64) - 48
    ok = shaped & ((digits >= 0) & (digits <= 9)).all(axis=1)
    ok &= chars[:, 17] == _CHECK_CODES[(digits @ _WEIGHT_VECTOR) % 11]
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    birth = year * 10000 + month * 100 + day
    ok &= (year >= 1900) & (birth <= today.year * 10000 + today.month * 100 + today.day)
    return ok, birth
