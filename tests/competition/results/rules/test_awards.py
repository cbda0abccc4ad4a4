"""Award targets and bands, against hand-worked tables."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.results.rules.awards import award_bands, targets


@pytest.mark.parametrize(
    ("n", "mode", "shares", "rounding", "expected"),
    [
        (25, "ratio", (10, 20, 30), "floor", (2, 7, 15)),  # 2.5, 7.5, 15
        (25, "ratio", (10, 20, 30), "half_up", (3, 8, 15)),
        (25, "ratio", (10, 20, 30), "ceiling", (3, 8, 15)),
        (24, "ratio", (10, 20, 30), "half_up", (2, 7, 14)),  # 2.4, 7.2, 14.4
        (24, "ratio", (10, 20, 30), "ceiling", (3, 8, 15)),
        (9, "ratio", (10, 20, 30), "floor", (0, 2, 5)),  # 0.9: no first prize
        (20, "count", (1, 2, 5), "floor", (1, 3, 8)),
        (5, "count", (1, 2, 5), "floor", (1, 3, 5)),  # capped at N
        (0, "ratio", (10, 20, 30), "floor", (0, 0, 0)),
        (10, "ratio", (50, 50, 50), "floor", (5, 10, 10)),
    ],
)
def test_targets(n, mode, shares, rounding, expected):
    assert targets(n, mode, shares, rounding) == expected


def rows(*places_and_totals):
    return [(i, place, total) for i, (place, total) in enumerate(places_and_totals, start=1)]


@pytest.mark.parametrize(
    ("ordered", "targets_", "minimum", "expected"),
    [
        # Plain bands.
        (rows((1, 90), (2, 85), (3, 80), (4, 75), (5, 70)), (1, 3, 5), 60,
         {1: 1, 2: 2, 3: 2, 4: 3, 5: 3}),
        # A tie at the first band's last place lifts both up; the second band shrinks.
        (rows((1, 90), (2, 85), (2, 85), (4, 75), (5, 70)), (2, 3, 5), 60,
         {1: 1, 2: 1, 3: 1, 4: 3, 5: 3}),
        # A tie across the second boundary: all tied take second prize.
        (rows((1, 90), (2, 85), (3, 80), (3, 80), (3, 80), (6, 60)), (1, 3, 6), 0,
         {1: 1, 2: 2, 3: 2, 4: 2, 5: 2, 6: 3}),
        # A target of 0: empty band.
        (rows((1, 90), (2, 85), (3, 80)), (0, 1, 2), 60, {1: 2, 2: 3}),
        # The minimum applies after the bands and the slot is not passed down.
        (rows((1, 90), (2, 65), (3, 59.99), (4, 50)), (1, 2, 4), 60, {1: 1, 2: 2}),
        ([], (0, 0, 0), 60, {}),
    ],
)  # fmt: skip
def test_bands(ordered, targets_, minimum, expected):
    scaled = [(k, p, round(t * 100)) for k, p, t in ordered]
    assert award_bands(scaled, targets_, minimum * 100) == expected


@given(
    st.lists(st.integers(0, 10000), max_size=40), st.sampled_from(["floor", "half_up", "ceiling"])
)
def test_every_band_respects_its_cutoff(totals, rounding):
    """Tied entries always share a band, and a band never holds more than its cumulative
    target plus the entries tied at its boundary."""
    ordered_totals = sorted(totals, reverse=True)
    places, out = {}, []
    for position, total in enumerate(ordered_totals, start=1):
        place = places.setdefault(total, position)
        out.append((position, place, total))
    t = targets(len(out), "ratio", (10, 20, 30), rounding)
    bands = award_bands(out, t, 0)
    by_total = {}
    for key, _place, total in out:
        by_total.setdefault(total, set()).add(bands.get(key))
    assert all(len(v) == 1 for v in by_total.values())
    assert sum(1 for b in bands.values() if b == 1) >= t[0]
