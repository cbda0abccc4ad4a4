"""The trimmed mean (scoring/rules/trimmed_mean.py): one highest and one lowest dropped with 5
or more judges."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from scoring.rules import trimmed_mean


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        pytest.param([2], F(2), id="one-judge"),
        pytest.param([1, 3], F(2), id="two-judges"),
        pytest.param([0, 2, 3], F(5, 3), id="three-mean"),
        pytest.param([0, 3, 3, 3], F(9, 4), id="four-mean-not-trimmed"),
        pytest.param([0, 1, 2, 3, 3], F(2), id="five-trimmed"),
        pytest.param([3, 3, 3, 1, 1], F(7, 3), id="ties-drop-one-of-each"),
        pytest.param([1, 1, 1, 1, 3], F(1), id="one-outlier"),
        pytest.param([0, 0, 0, 0, 3], F(0), id="tied-lowest"),
        pytest.param([2, 2, 2, 2, 2], F(2), id="all-equal"),
        pytest.param([3, 0, 1, 2, 3, 0, 2], F(8, 5), id="seven-unsorted"),
        pytest.param([0, 3, 0, 3, 1, 3], F(7, 4), id="six-ties"),  # mean would be 5/3
    ],
)
def test_trimmed_mean(marks, expected):
    assert trimmed_mean.combine(marks) == expected


def test_empty_is_refused():
    with pytest.raises(ValueError):
        trimmed_mean.combine([])


def test_name_and_version():
    assert (trimmed_mean.NAME, trimmed_mean.VERSION) == ("trimmed_mean", 1)
