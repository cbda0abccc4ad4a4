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


def _sort_key(chain: list[str]):
    def key(c: Contender) -> tuple[int, ...]:
        parts = [-(c.total or 0)]
        for item in chain:
            if item == "completion_time":
                value = c.completion_seconds
                parts.append(_UNKNOWN if value is None else value)
            else:
                value = getattr(c, item)
                parts.append(_UNKNOWN if value is None else -value)
        return tuple(parts)

    return key


def ordered(contenders: Sequence[Any], chain: Sequence[str]) -> list[tuple[Any, int]]:
    """Best first, each with its place."""
    key = _sort_key(_chain(chain))
    keyed = sorted(((key(c), c.key, c) for c in contenders), key=lambda t: (t[0], t[1]))
    out: list[tuple[Contender, int]] = []
    previous = None
    place = 0
    for position, (sort_key, _, contender) in enumerate(keyed, start=1):
        if sort_key != previous:
            place, previous = position, sort_key
        out.append((contender, place))
    return out


def rank(contenders: Sequence[Contender], chain: Sequence[str]) -> dict[int, int]:
    """key → place."""
    return {c.key: place for c, place in ordered(contenders, chain)}
