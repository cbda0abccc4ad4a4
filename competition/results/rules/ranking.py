"""Ranking (排名) of one group of present contestants.

Sorted by the stored, rounded weighted total (higher first), then by each tie-breaker of the
trade's chain in order: "practical", "theory", "oral" — the higher score first, an unknown
score after every known one; "completion_time" — the shorter time first, an unknown time after
every known one; "shared" ends the chain (what follows it is ignored). Places are competition
ranking (1, 2, 2, 4): contestants equal on the total and on every tie-breaker of the chain share
the place, whether or not the chain ends in "shared". Shared places list by key, so an export
is the same every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NAME = "ranking"
VERSION = 1
TIE_BREAKERS = ("practical", "theory", "oral", "completion_time", "shared")
# Sorts after any known value: scores are at most 100.00 × a few events, times a few days.
_UNKNOWN = 1 << 62


@dataclass(frozen=True, slots=True)
class Contender:
    """What ranking reads of a contestant; any object with these attributes will do (the
    standings pass their rows themselves)."""

    key: int  # the entry
    total: int  # weighted total, hundredths
    practical: int | None = None
    theory: int | None = None
    oral: int | None = None
    completion_seconds: int | None = None


def _chain(chain: Sequence[str]) -> list[str]:
    used = []
    for item in chain:
        if item not in TIE_BREAKERS:
            raise ValueError(f"unknown tie-breaker {item!r}")
        if item == "shared":
            break
        used.append(item)
    return used


# The sort key packed into one integer: -total, then each tie-breaker (the better value lower,
# an unknown one `_UNKNOWN`), each part in a 64-bit field (a part lies in ±2**62, so part +
# 2**62 fits), then the contender's key, then its position. Comparing tuples of tuples made the
# sort of a 200,000-strong group 1.5 s; plain integers compare in C (0.7 s).
_FIELD = 64
_OFFSET = 1 << 62
_POSITION_BITS = 32
_KEY_LIMIT = 1 << _FIELD


def ordered(contenders: Sequence[Any], chain: Sequence[str]) -> list[tuple[Any, int]]:
    """Best first, each with its place."""
    used = _chain(chain)
    names = ["completion_seconds" if item == "completion_time" else item for item in used]
    signs = [1 if item == "completion_time" else -1 for item in used]
    tail = _FIELD + _POSITION_BITS  # the contender's key and its position
    packed = []
    for n, c in enumerate(contenders):
        value = -(c.total or 0) + _OFFSET
        for name, sign in zip(names, signs, strict=True):
            part = getattr(c, name)
            value = (value << _FIELD) | ((_UNKNOWN if part is None else sign * part) + _OFFSET)
        if not 0 <= c.key < _KEY_LIMIT:
            raise ValueError(f"a contender's key must be an id of 0 … 2**64 - 1, not {c.key!r}")
        packed.append((((value << _FIELD) | c.key) << _POSITION_BITS) | n)
    packed.sort()
    out: list[tuple[Contender, int]] = []
    previous = None
    place = 0
    mask = (1 << _POSITION_BITS) - 1
    for position, value in enumerate(packed, start=1):
        sort_key = value >> tail
        if sort_key != previous:
            place, previous = position, sort_key
        out.append((contenders[value & mask], place))
    return out


def rank(contenders: Sequence[Contender], chain: Sequence[str]) -> dict[int, int]:
    """key → place."""
    return {c.key: place for c, place in ordered(contenders, chain)}
