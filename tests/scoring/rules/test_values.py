"""Refusal reasons and showing marks (scoring/rules/values.py)."""

from __future__ import annotations

import pytest

from competition.i18n import Msg
from scoring.rules import values
from scoring.rules.values import MarkValueError, format_hundredths


@pytest.mark.parametrize(
    ("hundredths", "text"),
    [
        pytest.param(1000, "10.00", id="whole"),
        pytest.param(-250, "-2.50", id="negative"),
        pytest.param(0, "0.00", id="zero"),
        pytest.param(5, "0.05", id="one-digit-hundredths"),
        pytest.param(-5, "-0.05", id="negative-below-one"),
        pytest.param(123456, "1234.56", id="large"),
        pytest.param(1250, "12.50", id="half"),
    ],
)
def test_format_hundredths(hundredths, text):
    assert format_hundredths(hundredths) == text


def test_an_error_carries_code_msgid_params_and_a_translatable_msg():
    error = MarkValueError(
        values.ABOVE_MAXIMUM, values.MSG_ABOVE_MAXIMUM, value="12", maximum="10.00"
    )
    assert isinstance(error, ValueError)
    assert error.code == "mark_above_maximum"
    assert error.message == "The mark {value} is above the aspect's maximum {maximum}."
    assert error.params == {"value": "12", "maximum": "10.00"}
    assert isinstance(error.msg, Msg)
    assert str(error.msg) == error.message
    assert error.msg.params == error.params
    assert str(error) == "The mark 12 is above the aspect's maximum 10.00."


def test_the_codes_are_the_agreed_ones():
    assert set(values.CODES) == {
        "mark_not_a_number",
        "mark_negative",
        "mark_too_many_decimals",
        "mark_above_maximum",
        "judgement_not_whole",
        "judgement_out_of_range",
    }


def test_messages_are_msgids_marked_for_translation():
    messages = [v for k, v in vars(values).items() if k.startswith("MSG_")]
    assert len(messages) == 7
    assert all(isinstance(m, Msg) for m in messages)
    assert values.MSG_TOO_MANY_DECIMALS == "A mark has at most 2 decimals: {value}."


def test_a_long_value_is_shortened_in_the_message():
    assert values.shown("1" * 30) == "1" * 20 + "…"
    assert values.shown("  7.5 ") == "7.5"
