"""Judgement levels (scoring/rules/judgement.py): a whole level 0..3, stored in hundredths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.rules import judgement
from scoring.rules.judgement import level_of, parse_level
from scoring.rules.values import MarkValueError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0", 0, id="0"),
        pytest.param("1", 100, id="1"),
        pytest.param("2", 200, id="2"),
        pytest.param("3", 300, id="3"),
        pytest.param(" 2 ", 200, id="spaces"),
        pytest.param("2.0", 200, id="trailing-zero"),
        pytest.param("2.00", 200, id="trailing-zeros"),
        pytest.param("-0", 0, id="minus-zero"),
        pytest.param(2, 200, id="int"),
        pytest.param(0, 0, id="int-zero"),
        pytest.param(Decimal("3.0"), 300, id="decimal"),
    ],
)
def test_accepted(text, expected):
    assert parse_level(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("2.5", "judgement_not_whole", id="half"),
        pytest.param("2.50", "judgement_not_whole", id="half-two-decimals"),
        pytest.param("0.01", "judgement_not_whole", id="hundredth"),
        pytest.param("3.5", "judgement_not_whole", id="above-and-not-whole"),
        pytest.param(Decimal("1.5"), "judgement_not_whole", id="decimal-half"),
        pytest.param("4", "judgement_out_of_range", id="above-3"),
        pytest.param("-1", "judgement_out_of_range", id="negative"),
        pytest.param(4, "judgement_out_of_range", id="int-above"),
        pytest.param(-1, "judgement_out_of_range", id="int-negative"),
        pytest.param("300", "judgement_out_of_range", id="hundredths-typed"),
        pytest.param("", "mark_not_a_number", id="empty"),
        pytest.param("two", "mark_not_a_number", id="word"),
        pytest.param("2,0", "mark_not_a_number", id="comma"),
        pytest.param("+2", "mark_not_a_number", id="plus"),
        pytest.param("nan", "mark_not_a_number", id="nan"),
        pytest.param("inf", "mark_not_a_number", id="inf"),
        pytest.param("２", "mark_not_a_number", id="full-width"),
        pytest.param(2.0, "mark_not_a_number", id="float"),
        pytest.param(True, "mark_not_a_number", id="bool"),
    ],
)
def test_refused(text, code):
    with pytest.raises(MarkValueError) as caught:
        parse_level(text)
    assert caught.value.code == code


def test_refusal_messages():
    with pytest.raises(MarkValueError) as caught:
        parse_level("2.5")
    assert str(caught.value) == "A Judgement mark is a whole level (0, 1, 2 or 3): 2.5."
    assert caught.value.params == {"value": "2.5"}
    with pytest.raises(MarkValueError) as caught:
        parse_level("4")
    assert str(caught.value) == "A Judgement mark is between 0 and 3: 4."


@pytest.mark.parametrize(
    ("hundredths", "level"),
    [pytest.param(h, lv, id=str(h)) for h, lv in [(0, 0), (100, 1), (200, 2), (300, 3)]],
)
def test_level_of(hundredths, level):
    assert level_of(hundredths) == level
    assert parse_level(str(level)) == hundredths


@pytest.mark.parametrize("hundredths", [150, 2, 400, -100], ids=["150", "2", "400", "-100"])
def test_level_of_refuses_what_is_no_level(hundredths):
    with pytest.raises(ValueError):
        level_of(hundredths)


@pytest.mark.parametrize("hundredths", [200.0, True], ids=["float", "bool"])
def test_level_of_refuses_non_integers(hundredths):
    with pytest.raises(TypeError):
        level_of(hundredths)


def test_name_and_version():
    assert (judgement.NAME, judgement.VERSION) == ("judgement", 1)
