"""Disagreement flags (scoring/rules/flags.py): strictly more than the tolerance away from the
exact combined value."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import flags
from scoring.rules.flags import flagged


@pytest.mark.parametrize(
    ("marks", "combined", "tolerance", "expected"),
    [
        pytest.param({"a": 0, "b": 3, "c": 3}, F(2), 1, {"a"}, id="the-brief-example"),
        pytest.param({"a": 0, "b": 3, "c": 3}, F(2), 2, set(), id="exactly-the-tolerance"),
        pytest.param({"a": 0, "b": 3, "c": 3}, F(2), 0, {"a", "b", "c"}, id="tolerance-0"),
        pytest.param({"a": 1, "b": 2, "c": 3}, F(2), 1, set(), id="all-within"),
        # 7/4 exactly: the 3s are 5/4 away; against a rounded 2 they would be only 1 away
        pytest.param(
            {"a": 0, "b": 1, "c": 3, "d": 3}, F(7, 4), 1, {"a", "c", "d"}, id="exact-value"
        ),
        # trimmed mean of [3, 3, 3, 1, 1] is 7/3: the 1s are 4/3 away
        pytest.param(
            {"a": 3, "b": 3, "c": 3, "d": 1, "e": 1}, F(7, 3), 1, {"d", "e"}, id="trimmed"
        ),
        pytest.param({"a": 2, "b": 3}, F(5, 2), F(1, 2), set(), id="fraction-tolerance"),
        pytest.param({"a": 700, "b": 800}, F(750), 40, {"a", "b"}, id="hundredths"),
        pytest.param({1: 0, 2: 2, 3: 2}, F(4, 3), 1, {1}, id="int-keys"),
        pytest.param({}, F(2), 1, set(), id="no-marks"),
    ],
)
def test_flagged(marks, combined, tolerance, expected):
    assert flagged(marks, combined, tolerance) == expected


@pytest.mark.parametrize(
    ("combined", "tolerance", "error"),
    [
        pytest.param(F(2), -1, ValueError, id="negative-tolerance"),
        pytest.param(2.0, 1, TypeError, id="float-combined"),
        pytest.param(F(2), 0.5, TypeError, id="float-tolerance"),
    ],
)
def test_refused(combined, tolerance, error):
    with pytest.raises(error):
        flagged({"a": 1}, combined, tolerance)


def test_name_and_version():
    assert (flags.NAME, flags.VERSION) == ("disagreement", 1)
