"""Measurement values (scoring/rules/measurement.py): exact hundredths within 0..max, never
rounded to fit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.rules import measurement
from scoring.rules.measurement import parse_value
from scoring.rules.values import MarkValueError

MAX = 1000  # 10.00 marks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("7", 700, id="whole"),
        pytest.param("7.5", 750, id="one-decimal"),
        pytest.param("7.25", 725, id="two-decimals"),
        pytest.param("  7.25 ", 725, id="spaces"),
        pytest.param("0", 0, id="zero"),
        pytest.param("-0", 0, id="minus-zero-is-zero"),
        pytest.param("10", 1000, id="exactly-the-maximum"),
        pytest.param("10.00", 1000, id="maximum-with-decimals"),
        pytest.param("7.250", 725, id="trailing-zero-beyond-two"),
        pytest.param(".5", 50, id="leading-point"),
        pytest.param("0.05", 5, id="one-hundredth-digit"),
        pytest.param("007", 700, id="leading-zeros"),
        pytest.param(7, 700, id="int-is-whole-marks"),
        pytest.param(0, 0, id="int-zero"),
        pytest.param(10, 1000, id="int-maximum"),
        pytest.param(Decimal("7.25"), 725, id="decimal"),
        pytest.param(Decimal("1E+1"), 1000, id="decimal-exponent"),
    ],
)
def test_accepted(text, expected):
    assert parse_value(text, MAX) == expected


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        pytest.param("", "mark_not_a_number", {}, id="empty"),
        pytest.param("   ", "mark_not_a_number", {}, id="blank"),
        pytest.param("abc", "mark_not_a_number", {"value": "abc"}, id="letters"),
        pytest.param("7,5", "mark_not_a_number", {"value": "7,5"}, id="comma"),
        pytest.param("+7", "mark_not_a_number", {"value": "+7"}, id="plus"),
        pytest.param("nan", "mark_not_a_number", {"value": "nan"}, id="nan"),
        pytest.param("NaN", "mark_not_a_number", {"value": "NaN"}, id="NaN"),
        pytest.param("inf", "mark_not_a_number", {"value": "inf"}, id="inf"),
        pytest.param("-inf", "mark_not_a_number", {"value": "-inf"}, id="minus-inf"),
        pytest.param("Infinity", "mark_not_a_number", {"value": "Infinity"}, id="Infinity"),
        pytest.param("1e1", "mark_not_a_number", {"value": "1e1"}, id="exponent"),
        pytest.param("7.", "mark_not_a_number", {"value": "7."}, id="trailing-point"),
        pytest.param("7.5.1", "mark_not_a_number", {"value": "7.5.1"}, id="two-points"),
        pytest.param("7 .5", "mark_not_a_number", {"value": "7 .5"}, id="inner-space"),
        pytest.param("０.５", "mark_not_a_number", {"value": "０.５"}, id="full-width"),
        pytest.param("٧", "mark_not_a_number", {"value": "٧"}, id="arabic-indic-digit"),
        pytest.param("1" * 30, "mark_not_a_number", {"value": "1" * 20 + "…"}, id="huge"),
        pytest.param(7.5, "mark_not_a_number", {"value": "7.5"}, id="float"),
        pytest.param(True, "mark_not_a_number", {"value": "True"}, id="bool"),
        pytest.param(None, "mark_not_a_number", {"value": "None"}, id="None"),
        pytest.param(Decimal("NaN"), "mark_not_a_number", {"value": "NaN"}, id="decimal-nan"),
        pytest.param(
            Decimal("Infinity"), "mark_not_a_number", {"value": "Infinity"}, id="decimal-inf"
        ),
        pytest.param("-1", "mark_negative", {"value": "-1"}, id="negative"),
        pytest.param("-0.5", "mark_negative", {"value": "-0.5"}, id="negative-fraction"),
        pytest.param("-7.255", "mark_negative", {"value": "-7.255"}, id="negative-first"),
        pytest.param(-1, "mark_negative", {"value": "-1"}, id="negative-int"),
        pytest.param("7.255", "mark_too_many_decimals", {"value": "7.255"}, id="three"),
        pytest.param("0.001", "mark_too_many_decimals", {"value": "0.001"}, id="thousandth"),
        pytest.param("7.2501", "mark_too_many_decimals", {"value": "7.2501"}, id="four"),
        pytest.param(
            Decimal("7.255"), "mark_too_many_decimals", {"value": "7.255"}, id="decimal-three"
        ),
        pytest.param(
            "10.01",
            "mark_above_maximum",
            {"value": "10.01", "maximum": "10.00"},
            id="one-hundredth-above",
        ),
        pytest.param("11", "mark_above_maximum", {"value": "11", "maximum": "10.00"}, id="above"),
        pytest.param(11, "mark_above_maximum", {"value": "11", "maximum": "10.00"}, id="int"),
        pytest.param(
            "99999999999",
            "mark_above_maximum",
            {"value": "99999999999", "maximum": "10.00"},
            id="many-digits",
        ),
    ],
)
def test_refused(text, code, params):
    with pytest.raises(MarkValueError) as caught:
        parse_value(text, MAX)
    assert caught.value.code == code
    assert caught.value.params == params


def test_the_maximum_is_shown_as_marks():
    with pytest.raises(MarkValueError) as caught:
        parse_value("13", 1250)
    assert str(caught.value) == "The mark 13 is above the aspect's maximum 12.50."
    assert parse_value("12.5", 1250) == 1250


def test_name_and_version():
    assert (measurement.NAME, measurement.VERSION) == ("measurement", 1)
