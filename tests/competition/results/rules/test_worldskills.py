"""The 700 scale with both spreads, and its medals."""

import pytest

from competition.results.rules.worldskills import medals, score700


def test_sd_scale():
    # totals 80, 70, 60: median 70, population SD = sqrt(200/3) = 8.16496…
    # 80 → 700 + 10 × 100 / 8.16496 = 822.4745 → 822.47
    assert score700([8000, 7000, 6000], "sd") == [82247, 70000, 57753]


def test_mad_scale():
    # totals 80, 72, 70, 60: median 71, |dev| = 9, 1, 1, 11 → MAD 5 × 1.4826 = 7.413
    # 80 → 700 + 9 × 100 / 7.413 = 821.408… → 821.41
    scaled = score700([8000, 7200, 7000, 6000], "mad")
    assert scaled[0] == 82141
    assert scaled[1] == 71349  # 700 + 100/7.413 = 713.4898… → 713.49
    assert scaled[2] == 68651  # 700 − 100/7.413 = 686.5102… → 686.51
    assert scaled[3] == 55161  # 700 − 1100/7.413 = 551.6120… → 551.61


def test_zero_spread_gives_700():
    assert score700([7000, 7000], "sd") == [70000, 70000]
    assert score700([7000, 7000, 9000], "mad") == [70000, 70000, 70000]


def test_empty():
    assert score700([], "sd") == []


def test_unknown_spread():
    with pytest.raises(ValueError):
        score700([1], "iqr")


def test_medals_without_tie_break():
    got = medals([(1, 80000), (2, 80000), (3, 75000), (4, 72000), (5, 70000), (6, 69999)])
    assert got == {1: "gold", 2: "gold", 3: "bronze", 4: "excellence", 5: "excellence"}
