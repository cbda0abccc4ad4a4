"""FIG tolerance (scoring/rules/fig_tolerance.py): high and low dropped unless the remaining
marks differ by strictly more than the tolerance."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import fig_tolerance


@pytest.mark.parametrize(
    ("marks", "tolerance", "expected"),
    [
        pytest.param([2], 1, F(2), id="one-judge"),
        pytest.param([1, 3], 1, F(2), id="two-judges-mean"),
        pytest.param([0, 2, 3], 1, F(2), id="three-keeps-the-middle"),
        pytest.param([0, 3, 3], 0, F(3), id="three-tolerance-0-one-left"),
        # remaining [1, 2]: spread 1, not more than 1 → their mean; all would be 5/4
        pytest.param([0, 1, 2, 2], 1, F(3, 2), id="spread-equals-tolerance"),
        # remaining [1, 3]: spread 2 > 1 → all; the remaining ones would give 2
        pytest.param([0, 1, 3, 3], 1, F(7, 4), id="spread-above-tolerance"),
        pytest.param([0, 1, 3, 3], 2, F(2), id="same-marks-wider-tolerance"),
        pytest.param([1, 2, 2, 3, 3], 0, F(11, 5), id="tolerance-0-any-spread"),
        pytest.param([1, 2, 2, 3, 3], 1, F(7, 3), id="five-trimmed"),
        # remaining [1, 3, 3]: spread 2
        pytest.param([3, 3, 3, 1, 1], 1, F(11, 5), id="ties-spread-above"),
        pytest.param([3, 3, 3, 1, 1], 2, F(7, 3), id="ties-spread-equal"),
        # remaining [2, 2]: their mean 2; all would be 3/2
        pytest.param([0, 2, 2, 2], F(1, 2), F(2), id="fraction-tolerance"),
        # remaining [1, 2]: spread 1 > 1/2 → all; the remaining ones would give 3/2
        pytest.param([0, 1, 2, 2], F(1, 2), F(5, 4), id="fraction-tolerance-exceeded"),
    ],
)
def test_fig_tolerance(marks, tolerance, expected):
    assert fig_tolerance.combine(marks, tolerance=tolerance) == expected


def test_default_tolerance_is_1():
    assert fig_tolerance.combine([0, 1, 2, 2]) == F(3, 2)
    assert fig_tolerance.combine([0, 1, 3, 3]) == F(7, 4)


@pytest.mark.parametrize(
    ("marks", "tolerance", "error"),
    [
        pytest.param([], 1, ValueError, id="empty"),
        pytest.param([1, 2, 3], -1, ValueError, id="negative-tolerance"),
        pytest.param([1, 2, 3], 1.0, TypeError, id="float-tolerance"),
    ],
)
def test_refused(marks, tolerance, error):
    with pytest.raises(error):
        fig_tolerance.combine(marks, tolerance=tolerance)


def test_name_and_version():
    assert (fig_tolerance.NAME, fig_tolerance.VERSION) == ("fig_tolerance", 1)
