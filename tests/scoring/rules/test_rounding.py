"""Half-up rounding (scoring/rules/rounding.py): halves away from zero, exact values only."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest

from scoring.rules import rounding
from scoring.rules.rounding import half_up, hundredths_half_up


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0, 0, id="zero"),
        pytest.param(7, 7, id="int"),
        pytest.param(-7, -7, id="negative-int"),
        pytest.param(F(5, 2), 3, id="2.5-up"),  # round() would give 2
        pytest.param(F(-5, 2), -3, id="-2.5-away-from-zero"),
        pytest.param(F(7, 2), 4, id="3.5-up"),
        pytest.param(F(1, 2), 1, id="0.5-up"),
        pytest.param(F(-1, 2), -1, id="-0.5"),
        pytest.param(F(24999, 10000), 2, id="2.4999-down"),
        pytest.param(F(-24999, 10000), -2, id="-2.4999"),
        pytest.param(F(25001, 10000), 3, id="2.5001-up"),
        pytest.param(F(49, 100), 0, id="0.49-down"),
        pytest.param(F(8000, 9), 889, id="888.88...-up"),
        pytest.param(F(7000, 9), 778, id="777.77...-up"),
        pytest.param(F(2000, 6), 333, id="333.33...-down"),
        pytest.param(F(17975, 2), 8988, id="8987.5-up"),
        pytest.param(Decimal("2.5"), 3, id="decimal"),
    ],
)
def test_half_up(value, expected):
    assert half_up(value) == expected
    assert hundredths_half_up(value) == expected


@pytest.mark.parametrize("value", [2.5, True, "2.5", None], ids=["float", "bool", "str", "None"])
def test_inexact_or_non_numbers_are_refused(value):
    with pytest.raises(TypeError):
        half_up(value)


def test_name_and_version():
    assert (rounding.NAME, rounding.VERSION) == ("rounding", 1)
