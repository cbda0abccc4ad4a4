"""The mean of all judges (scoring/rules/mean.py) and the checks every combination shares."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import mean


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        pytest.param([2], F(2), id="one-judge"),
        pytest.param([0, 3], F(3, 2), id="two-judges"),
        pytest.param([1, 2, 2], F(5, 3), id="three"),
        pytest.param([0, 0, 0], F(0), id="all-zero"),
        pytest.param([3, 3, 3, 3, 3], F(3), id="all-top"),
        pytest.param([0, 1, 2, 3, 3], F(9, 5), id="five-not-trimmed"),
        pytest.param((1, 2), F(3, 2), id="tuple"),
    ],
)
def test_mean(marks, expected):
    result = mean.combine(marks)
    assert result == expected
    assert isinstance(result, F)


@pytest.mark.parametrize(
    ("marks", "error"),
    [
        pytest.param([], ValueError, id="empty"),
        pytest.param([200, 300], ValueError, id="hundredths-not-levels"),
        pytest.param([-1, 2], ValueError, id="negative"),
        pytest.param([4], ValueError, id="above-3"),
        pytest.param([2.0, 3], TypeError, id="float"),
        pytest.param([True, 2], TypeError, id="bool"),
    ],
)
def test_refused(marks, error):
    with pytest.raises(error):
        mean.combine(marks)


def test_tolerance_changes_nothing():
    assert mean.combine([0, 3, 3], tolerance=0) == mean.combine([0, 3, 3], tolerance=3) == 2


def test_name_and_version():
    assert (mean.NAME, mean.VERSION) == ("mean", 1)
