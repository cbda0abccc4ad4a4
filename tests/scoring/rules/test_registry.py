"""The registry of combination rules (scoring/rules/__init__.py), and properties every rule
has: the result lies between the lowest and highest mark and ignores the judges' order."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.schemas import JUDGE_RULES
from scoring import rules
from scoring.rules import (
    closest_two_of_three,
    fig_tolerance,
    flags,
    judgement,
    mean,
    measurement,
    rounding,
    totals,
    trimmed_mean,
    values,
)


def test_the_registry_holds_exactly_the_rules_a_trade_can_choose():
    assert set(rules.COMBINATIONS) == set(JUDGE_RULES)
    assert {
        "mean": mean,
        "trimmed_mean": trimmed_mean,
        "fig_tolerance": fig_tolerance,
        "closest_two_of_three": closest_two_of_three,
    } == rules.COMBINATIONS


@pytest.mark.parametrize(
    ("rule", "version"),
    [
        pytest.param("mean", "mean-v1", id="mean"),
        pytest.param("trimmed_mean", "trimmed_mean-v1", id="trimmed_mean"),
        pytest.param("fig_tolerance", "fig_tolerance-v1", id="fig_tolerance"),
        pytest.param("closest_two_of_three", "closest_two_of_three-v1", id="closest"),
    ],
)
def test_rule_version(rule, version):
    assert rules.rule_version(rule) == version


# One set of marks that every rule combines differently.
@pytest.mark.parametrize(
    ("rule", "marks", "tolerance", "expected"),
    [
        pytest.param("mean", [0, 1, 3, 3, 3], 1, F(2), id="mean"),
        pytest.param("trimmed_mean", [0, 1, 3, 3, 3], 1, F(7, 3), id="trimmed_mean"),
        pytest.param("fig_tolerance", [0, 1, 3, 3, 3], 1, F(2), id="fig-spread-above"),
        pytest.param("fig_tolerance", [0, 1, 3, 3, 3], 2, F(7, 3), id="fig-tolerance-passed"),
        pytest.param("closest_two_of_three", [0, 1, 3], 1, F(1, 2), id="closest"),
    ],
)
def test_combine_dispatches_by_name(rule, marks, tolerance, expected):
    assert rules.combine(rule, marks, tolerance=tolerance) == expected


@pytest.mark.parametrize("rule", ["median", "", "Mean"], ids=["median", "empty", "case"])
def test_unknown_rules_are_a_value_error(rule):
    with pytest.raises(ValueError, match="unknown combination rule"):
        rules.combine(rule, [1, 2])
    with pytest.raises(ValueError, match="unknown combination rule"):
        rules.rule_version(rule)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param(m, n, id=n)
        for m, n in [
            (mean, "mean"),
            (trimmed_mean, "trimmed_mean"),
            (fig_tolerance, "fig_tolerance"),
            (closest_two_of_three, "closest_two_of_three"),
            (measurement, "measurement"),
            (judgement, "judgement"),
            (totals, "totals"),
            (flags, "disagreement"),
            (rounding, "rounding"),
            (values, "values"),
        ]
    ],
)
def test_every_rule_module_names_and_versions_itself(module, name):
    assert name == module.NAME
    assert type(module.VERSION) is int and module.VERSION >= 1
    assert module.__doc__ and module.__doc__.strip()


marks_lists = st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=9)
tolerances = st.integers(min_value=0, max_value=3)


@pytest.mark.parametrize("rule", sorted(JUDGE_RULES))
@given(marks=marks_lists, tolerance=tolerances, data=st.data())
def test_a_combination_is_within_the_marks_and_ignores_their_order(rule, marks, tolerance, data):
    result = rules.combine(rule, marks, tolerance=tolerance)
    assert isinstance(result, F)
    assert min(marks) <= result <= max(marks)
    shuffled = data.draw(st.permutations(marks))
    assert rules.combine(rule, shuffled, tolerance=tolerance) == result


@pytest.mark.parametrize("rule", sorted(JUDGE_RULES))
@given(level=st.integers(min_value=0, max_value=3), judges=st.integers(1, 9))
def test_a_unanimous_panel_gets_its_mark(rule, level, judges):
    assert rules.combine(rule, [level] * judges) == level
