"""Cell text: one cleaner for what is read, one escape for what is written.

Reading: `clean` (and `clean_column`, the same for a whole column at C speed) turns what a person
typed or pasted into what is compared — NFKC (full-width digits, letters and brackets to ASCII,
the ideographic space to a space), no zero-width characters (U+200B, U+FEFF …, which copying
from web pages and Word leaves behind), whitespace runs collapsed and trimmed. `clean_code` and
`clean_code_column` do the same for identifiers (ID numbers, phone numbers) and drop every space,
so "6301 0219 9005 1713 5X" and "630102​19900517135x" read alike.

The formula guard (`looks_like_formula`) is asked of cleaned text, so a TAB, a space or a
zero-width character in front of "=" does not hide it.

Writing: `escape` is the one function every writer of xlsx and CSV uses (exports, import
reports, templates): text that a spreadsheet would run (starting with = + - @, a TAB or a
carriage return) gets a leading apostrophe, so it shows as the text it is.
"""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_ZERO_WIDTH_TABLE = dict.fromkeys(map(ord, ZERO_WIDTH))
_ZERO_WIDTH_RUN = re.compile(f"[{ZERO_WIDTH}]+")
# What a spreadsheet runs as a formula when a cell starts with it (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@")
_ESCAPE_START = (*FORMULA_START, "\t", "\r")

_SPACE_RUN = re.compile(r"\s+")  # the same characters as str.split()
# Only what needs changing: whitespace other than a lone space, spaces at a cell's edge.
_SPACE_FIX = re.compile(r"[^\S ]\s*| \s+")
_EDGE_SPACE = re.compile(" \x00 ?|\x00 ")


def clean(value: str) -> str:
    """Cell text as compared: NFKC, no zero-width characters, whitespace collapsed and
    trimmed."""
    if value.isascii():
        return " ".join(value.split())
    return " ".join(unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH_TABLE).split())


def clean_code(value: str) -> str:
    """An identifier as compared: `clean`, then no spaces at all, upper case."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH_TABLE)
    return "".join(value.split()).upper()


def _join(values: list[str]) -> str | None:
    """A column as one string cut by NUL, which no cell holds, so that normalising runs once
    in C instead of 200,000 times in Python; None if a cell does hold a NUL."""
    joined = "\x00".join(values)
    return joined if joined.count("\x00") == len(values) - 1 else None


def _normalised(joined: str) -> str:
    if not joined.isascii():
        if not unicodedata.is_normalized("NFKC", joined):
            joined = unicodedata.normalize("NFKC", joined)
        if _ZERO_WIDTH_RUN.search(joined):
            joined = _ZERO_WIDTH_RUN.sub("", joined)
    return joined


def clean_column(values: list[str]) -> list[str]:
    """`clean` for a whole column. A column of few distinct values (levels, trades) is cleaned
    once per value and the results shared."""
    if not values:
        return []
    distinct = set(values)
    if len(distinct) * 8 < len(values):
        cleaned = {v: clean(v) for v in distinct}
        return [cleaned[v] for v in values]
    joined = _join(values)
    if joined is None:
        return [clean(v) for v in values]
    joined = _normalised(joined)
    joined = _EDGE_SPACE.sub("\x00", _SPACE_FIX.sub(" ", joined)).strip(" ")
    return joined.split("\x00")


def clean_code_column(values: list[str]) -> list[str]:
    """`clean_code` for a whole column."""
    joined = _join(values) if values else None
    if joined is None:
        return [clean_code(v) for v in values]
    return _SPACE_RUN.sub("", _normalised(joined)).upper().split("\x00")


def looks_like_formula(cleaned: str) -> bool:
    """Whether cleaned text would run as a formula in a spreadsheet."""
    return cleaned.startswith(FORMULA_START)


_FORMULA_AFTER_NUL = re.compile("\x00[=+\\-@]")


def formula_indices(cleaned: list[str]) -> list[int]:
    """The indices of the cleaned values that `looks_like_formula`, found in one pass over the
    joined column (a column of 200,000 values rarely holds any)."""
    joined = "\x00" + "\x00".join(cleaned)
    if joined.count("\x00") != len(cleaned):  # a value holds a NUL itself
        return [i for i, value in enumerate(cleaned) if looks_like_formula(value)]
    found = []
    # Value i follows the (i+1)-th NUL: count the NULs up to each match's own.
    index, position = -1, 0
    for match in _FORMULA_AFTER_NUL.finditer(joined):
        index += joined.count("\x00", position, match.start() + 1)
        position = match.start() + 1
        found.append(index)
    return found


def escape(text: str) -> str:
    """Text as a writer puts it into a cell: a leading apostrophe where a spreadsheet would
    otherwise run it."""
    return "'" + text if text.startswith(_ESCAPE_START) else text
