"""The scoring rules (评分规则): pure functions, one small module per rule, each with a NAME and
a VERSION that are recorded with the totals they produced. No database, no files, no floats:
`Fraction` in, integer hundredths of a mark out.

The combination rules for Judgement aspects are chosen per trade by name; the names are the
keys of `competition.schemas.JUDGE_RULES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from types import ModuleType

from scoring.rules import closest_two_of_three, fig_tolerance, mean, trimmed_mean

COMBINATIONS: dict[str, ModuleType] = {
    module.NAME: module for module in (mean, trimmed_mean, fig_tolerance, closest_two_of_three)
}


def _rule(rule: str) -> ModuleType:
    try:
        return COMBINATIONS[rule]
    except KeyError:
        raise ValueError(f"unknown combination rule {rule!r}") from None


def combine(rule: str, marks: Sequence[int], *, tolerance: int | Fraction = 1) -> Fraction:
    """The judges' levels (0..3) combined by the named rule, exactly."""
    return _rule(rule).combine(marks, tolerance=tolerance)


def rule_version(rule: str) -> str:
    """ "trimmed_mean" → "trimmed_mean-v1": what a total records about how it was combined."""
    module = _rule(rule)
    return f"{module.NAME}-v{module.VERSION}"
