"""Closest two of three (scoring/rules/closest_two_of_three.py)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import closest_two_of_three


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        pytest.param([2], F(2), id="one-judge"),
        pytest.param([1, 3], F(2), id="two-judges"),
        pytest.param([0, 1, 3], F(1, 2), id="lower-pair-closer"),
        pytest.param([0, 2, 3], F(5, 2), id="upper-pair-closer"),
        pytest.param([3, 0, 1], F(1, 2), id="unsorted"),
        pytest.param([0, 0, 3], F(0), id="equal-pair-low"),
        pytest.param([0, 3, 3], F(3), id="equal-pair-high"),
        # gaps 1 and 1: no closer pair; either pair would give 1/2 or 3/2
        pytest.param([0, 1, 2], F(1), id="equal-gaps-mean-of-all"),
        pytest.param([1, 2, 3], F(2), id="equal-gaps-1-2-3"),
        pytest.param([0, 3, 0], F(0), id="two-agree"),
        pytest.param([2, 2, 2], F(2), id="all-equal"),
        pytest.param([0, 1, 3, 3], F(7, 4), id="four-judges-mean"),
        pytest.param([0, 0, 1, 3, 3], F(7, 5), id="five-judges-mean"),
    ],
)
def test_closest_two_of_three(marks, expected):
    assert closest_two_of_three.combine(marks) == expected


def test_empty_is_refused():
    with pytest.raises(ValueError):
        closest_two_of_three.combine([])


def test_name_and_version():
    assert closest_two_of_three.NAME == "closest_two_of_three"
    assert closest_two_of_three.VERSION == 1
