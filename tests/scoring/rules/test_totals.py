"""Totals (scoring/rules/totals.py): aspect, practical and weighted scores in hundredths,
rounded half-up, the weighted total only once."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import totals
from scoring.rules.totals import aspect_score, measurement_score, practical, weighted_total


@pytest.mark.parametrize(
    ("max_hundredths", "combined", "expected"),
    [
        pytest.param(1000, F(8, 3), 889, id="888.88-up"),
        pytest.param(1000, F(3), 1000, id="top-level"),
        pytest.param(1000, F(0), 0, id="level-0"),
        pytest.param(1000, F(2), 667, id="666.67"),
        pytest.param(1000, F(1), 333, id="333.33-down"),
        pytest.param(1000, F(7, 3), 778, id="trimmed-7/3"),
        pytest.param(1000, F(11, 5), 733, id="733.33-down"),
        pytest.param(300, F(5, 2), 250, id="exact"),
        # exactly a half hundredth: half-up, where round() would go to the even neighbour
        pytest.param(3, F(1, 2), 1, id="half-0.005-up"),
        pytest.param(15, F(1, 2), 3, id="half-2.5-up"),
        pytest.param(450, F(7, 4), 263, id="half-262.5-up"),
        pytest.param(0, F(2), 0, id="zero-maximum"),
        pytest.param(1000, 2, 667, id="int-combined"),
    ],
)
def test_aspect_score(max_hundredths, combined, expected):
    assert aspect_score(max_hundredths, combined) == expected


@pytest.mark.parametrize(
    ("max_hundredths", "combined", "error"),
    [
        pytest.param(1000, F(4), ValueError, id="level-above-3"),
        pytest.param(1000, F(-1, 3), ValueError, id="negative-level"),
        pytest.param(-100, F(1), ValueError, id="negative-maximum"),
        pytest.param(1000, 2.5, TypeError, id="float-combined"),
        pytest.param(10.0, F(1), TypeError, id="float-maximum"),
    ],
)
def test_aspect_score_refuses(max_hundredths, combined, error):
    with pytest.raises(error):
        aspect_score(max_hundredths, combined)


def test_measurement_score_is_the_value():
    assert measurement_score(725) == 725
    with pytest.raises(TypeError):
        measurement_score(7.25)


@pytest.mark.parametrize(
    ("aspects", "penalties", "expected"),
    [
        pytest.param([889, 725, 1000], [], 2614, id="no-penalty"),
        pytest.param([889, 725], [-100], 1514, id="penalty"),
        pytest.param([889, 725], [-100, -50], 1464, id="two-penalties"),
        pytest.param([500], [-300, -300], 0, id="never-below-0"),
        pytest.param([500], [-500], 0, id="exactly-0"),
        pytest.param([500], [-499], 1, id="just-above-0"),
        pytest.param([], [], 0, id="nothing"),
        pytest.param([10000], [200], 10200, id="no-cap-at-100"),
        pytest.param(iter([100, 200]), iter([-50]), 250, id="iterators"),
    ],
)
def test_practical(aspects, penalties, expected):
    assert practical(aspects, penalties) == expected


def test_practical_refuses_floats():
    with pytest.raises(TypeError):
        practical([100.0], [])
    with pytest.raises(TypeError):
        practical([100], [-0.5])


@pytest.mark.parametrize(
    ("scores", "weights", "expected"),
    [
        # 2565 + 6422.5 = 8987.5 → 8988
        pytest.param(
            {"theory": 8550, "practical": 9175},
            {"theory": 30, "practical": 70},
            8988,
            id="theory-and-practical",
        ),
        # 4275.5 + 4500.5 = 8776 exactly; rounding each share first would give 8777
        pytest.param(
            {"theory": 8551, "practical": 9001},
            {"theory": 50, "practical": 50},
            8776,
            id="once-not-per-part-halves",
        ),
        # 2565.3 + 6420.4 = 8985.7 → 8986; rounding each share first would give 8985
        pytest.param(
            {"theory": 8551, "practical": 9172},
            {"theory": 30, "practical": 70},
            8986,
            id="once-not-per-part-down",
        ),
        # 1800 + 4800 + 1400
        pytest.param(
            {"theory": 9000, "practical": 8000, "oral": 7000},
            {"theory": 20, "practical": 60, "oral": 20},
            8000,
            id="three-events",
        ),
        # theory missing counts 0: 6422.5 → 6423
        pytest.param(
            {"practical": 9175},
            {"theory": 30, "practical": 70},
            6423,
            id="missing-score-counts-0",
        ),
        pytest.param({"practical": 9175}, {"practical": 100}, 9175, id="practical-only"),
        pytest.param({}, {"practical": 100}, 0, id="no-scores"),
    ],
)
def test_weighted_total(scores, weights, expected):
    assert weighted_total(scores, weights) == expected


@pytest.mark.parametrize(
    ("scores", "weights", "error"),
    [
        pytest.param({"theory": 100}, {"theory": 30, "practical": 60}, ValueError, id="sum-90"),
        pytest.param({}, {"theory": 110, "practical": -10}, ValueError, id="negative-weight"),
        pytest.param({"oral": 100}, {"practical": 100}, ValueError, id="score-without-weight"),
        pytest.param({"practical": 91.75}, {"practical": 100}, TypeError, id="float-score"),
    ],
)
def test_weighted_total_refuses(scores, weights, error):
    with pytest.raises(error):
        weighted_total(scores, weights)


def test_name_and_version():
    assert (totals.NAME, totals.VERSION) == ("totals", 1)
