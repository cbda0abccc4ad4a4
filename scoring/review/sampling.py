"""Which entries of a trade the supervisors re-check before publication (复核抽样), and when a
re-check must cover every entry. Pure: no database here.

Algorithm "sha256-review-v1", over (draw slot id, weighted total in hundredths) pairs:

1. Top: the entries ranked by weighted total, highest first. Every entry whose total is at least
   the 10th highest is taken, so a tie at the 10th place takes everyone tied with it (a trade of
   10 entries or fewer is re-checked whole).
2. Random: of the n others, ceil(15 × n / 100) — at least 15 % — computed in integers. The
   others are ordered by sha256("{seed}|review|{slot id}") (the digest's bytes, ties — which
   never happen — by the slot id) and the first ones taken: nothing but the seed and the slot
   id enters the hash, so neither a total nor a person decides who is drawn, and the same seed
   and slots give the same sample on any machine.

The error rule: once every sampled entry has been re-checked, errors found / checks done over
5 % — strictly more, compared in integers — requires a re-check of every entry.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Sequence
from typing import NamedTuple

ALGORITHM = "sha256-review-v1"
ALGORITHMS = (ALGORITHM,)
TOP_COUNT = 10
RANDOM_PERCENT = 15
ERROR_PERCENT = 5


class Reason(enum.StrEnum):
    top = "top"  # one of the top 10 (ties included)
    random = "random"  # drawn at random from the rest
    full = "full"  # added when the error rate requires a re-check of every entry


class Pick(NamedTuple):
    slot_id: int
    reason: Reason


def new_seed() -> str:
    return secrets.token_hex(16)


def random_count(rest: int) -> int:
    """ceil(15 % × rest) without a float: 90 others → 14 (13.5 rounded up)."""
    return -(-rest * RANDOM_PERCENT // 100)


def _key(seed: str, slot_id: int) -> tuple[bytes, int]:
    return hashlib.sha256(f"{seed}|review|{slot_id}".encode()).digest(), slot_id


def choose(
    seed: str, totals: Sequence[tuple[int, int]], *, algorithm: str = ALGORITHM
) -> list[Pick]:
    """The sample of a trade from its (slot id, weighted hundredths) pairs: the top entries
    first, highest total first (ties by slot id), then the random ones in drawn order."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown review sampling algorithm: {algorithm}")
    if not seed:
        raise ValueError("the review sample needs a seed")
    if len({slot for slot, _ in totals}) != len(totals):
        raise ValueError("a slot is listed twice")
    ranked = sorted(totals, key=lambda t: (-t[1], t[0]))
    if len(ranked) <= TOP_COUNT:
        return [Pick(slot, Reason.top) for slot, _ in ranked]
    tenth = ranked[TOP_COUNT - 1][1]
    top = [slot for slot, total in ranked if total >= tenth]
    chosen = set(top)
    rest = [slot for slot, _ in ranked if slot not in chosen]
    drawn = sorted(rest, key=lambda slot: _key(seed, slot))[: random_count(len(rest))]
    return [Pick(slot, Reason.top) for slot in top] + [Pick(slot, Reason.random) for slot in drawn]


def full_check_required(errors: int, checks: int) -> bool:
    """errors / checks over 5 % (strictly): 1 of 20 is not, 1 of 19 is."""
    return checks > 0 and errors * 100 > ERROR_PERCENT * checks
