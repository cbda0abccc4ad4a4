"""The review sample (scoring/review/sampling.py): all of the top 10 — everyone tied with the
10th too — and ceil(15 % × the rest) drawn by the documented SHA-256 order of the seed and the
slot id; and the error rule, over 5 % strictly."""

from __future__ import annotations

import hashlib
import random

import pytest

from scoring.review.sampling import Pick, Reason, choose, full_check_required, random_count

SEED = "0123456789abcdef0123456789abcdef"


def distinct(n: int) -> list[tuple[int, int]]:
    """Slots 1..n; slot k's total is 100.00 − k × 0.50, so slot 1 is first and no two tie."""
    return [(k, 10000 - 50 * k) for k in range(1, n + 1)]


def by_reason(picks: list[Pick]) -> dict[Reason, list[int]]:
    found: dict[Reason, list[int]] = {reason: [] for reason in Reason}
    for pick in picks:
        found[pick.reason].append(pick.slot_id)
    return found


def documented_order(seed: str, slots: list[int]) -> list[int]:
    """The module's docstring, re-implemented: rank by the SHA-256 hex digest of
    "{seed}|review|{slot}" (hex sorts as the digest's bytes do)."""
    return sorted(slots, key=lambda s: hashlib.sha256(f"{seed}|review|{s}".encode()).hexdigest())


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        (0, 0),
        (1, 1),  # 0.15 → 1
        (6, 1),  # 0.9 → 1
        (7, 2),  # 1.05 → 2
        (20, 3),  # exactly 3
        (21, 4),  # 3.15 → 4
        (90, 14),  # 13.5 → 14
        (100, 15),
        (1000, 150),
        (1001, 151),  # 150.15 → 151
    ],
)
def test_at_least_15_percent_of_the_rest_rounded_up(rest, expected):
    assert random_count(rest) == expected


@pytest.mark.parametrize(
    ("totals", "top", "random_n"),
    [
        ([], [], 0),
        ([(7, 5000)], [7], 0),
        # Ten or fewer: every entry is a top entry, highest total first, ties by slot.
        (distinct(10), list(range(1, 11)), 0),
        ([(3, 8000), (1, 9000), (2, 8000)], [1, 2, 3], 0),
        # Eleven: the top 10 and ceil(0.15 × 1) = 1 of the one left.
        (distinct(11), list(range(1, 11)), 1),
        # A hundred: the top 10 and ceil(0.15 × 90) = ceil(13.5) = 14 of the rest.
        (distinct(100), list(range(1, 11)), 14),
        # Ties at the 10th place: slots 10, 11 and 12 share 95.00; all three are top, and the
        # 88 others give ceil(13.2) = 14.
        (
            [
                *distinct(9),
                *((k, 9500) for k in (10, 11, 12)),
                *((k, 5000 - k) for k in range(13, 101)),
            ],
            list(range(1, 13)),
            14,
        ),
        # A tie above the 10th place changes nothing: slots 9 and 10 share 9th and 10th.
        (
            [*distinct(8), (9, 9000), (10, 9000), *((k, 5000 - k) for k in range(11, 31))],
            list(range(1, 11)),
            3,  # ceil(0.15 × 20)
        ),
        # Everyone tied: all 25 are top, none is left to draw from.
        ([(k, 7000) for k in range(1, 26)], list(range(1, 26)), 0),
        # Zero totals tie like any other: slots 10..15 all at 0.00 with the 10th.
        (
            [*distinct(9), *((k, 0) for k in range(10, 16))],
            list(range(1, 16)),
            0,
        ),
    ],
)
def test_top_10_with_ties_and_random_share_of_the_rest(totals, top, random_n):
    picks = choose(SEED, totals)
    found = by_reason(picks)
    assert found[Reason.top] == top
    assert len(found[Reason.random]) == random_n
    assert found[Reason.full] == []
    rest = [slot for slot, _ in totals if slot not in set(top)]
    # The random ones are the first of the rest in the documented order, in that order.
    assert found[Reason.random] == documented_order(SEED, rest)[:random_n]
    assert len({p.slot_id for p in picks}) == len(picks)


def test_the_same_seed_gives_the_same_sample_whatever_the_input_order():
    totals = distinct(100)
    shuffled = totals[:]
    random.Random(4).shuffle(shuffled)
    assert choose(SEED, totals) == choose(SEED, shuffled) == choose(SEED, list(reversed(totals)))


def test_a_different_seed_gives_a_different_random_share():
    totals = distinct(100)
    first = by_reason(choose("seed-one", totals))
    second = by_reason(choose("seed-two", totals))
    assert first[Reason.top] == second[Reason.top] == list(range(1, 11))
    assert set(first[Reason.random]) != set(second[Reason.random])
    assert len(first[Reason.random]) == len(second[Reason.random]) == 14


def test_a_recorded_seed_gives_the_recorded_sample():
    """Pinned: a change to the algorithm (the hash text, the order) would draw other entries
    from samples already recorded under "sha256-review-v1"."""
    found = by_reason(choose("review-demo", distinct(30)))
    assert found[Reason.random] == documented_order("review-demo", list(range(11, 31)))[:3]
    assert found[Reason.random] == [16, 21, 26]


@pytest.mark.parametrize(
    ("totals", "seed", "algorithm"),
    [
        ([(1, 100), (1, 200)], SEED, "sha256-review-v1"),  # a slot twice
        ([(1, 100)], "", "sha256-review-v1"),  # no seed
        ([(1, 100)], SEED, "sha256-review-v0"),  # unknown algorithm
    ],
)
def test_bad_input_is_refused(totals, seed, algorithm):
    with pytest.raises(ValueError):
        choose(seed, totals, algorithm=algorithm)


@pytest.mark.parametrize(
    ("errors", "checks", "full"),
    [
        (0, 0, False),  # nothing checked yet
        (0, 24, False),
        (1, 20, False),  # exactly 5 %
        (1, 19, True),  # 5.26 %
        (50, 1000, False),  # 5.0 %
        (51, 1000, True),  # 5.1 %
        (2, 40, False),  # 5 %
        (3, 40, True),  # 7.5 %
        (1, 1, True),
    ],
)
def test_a_full_re_check_only_over_5_percent(errors, checks, full):
    assert full_check_required(errors, checks) is full
