"""The pure checks of a marking scheme, on hand-made schemes."""

from __future__ import annotations

import pytest

from competition.i18n import render
from scoring.schemes import rules
from scoring.schemes.rules import AspectDraft, CriterionDraft, Deduction, SchemeDraft

LEVELS = ["不合格", "合格", "良好", "优秀"]


def _scheme(*aspects: AspectDraft) -> SchemeDraft:
    codes = dict.fromkeys(a.criterion for a in aspects)
    return SchemeDraft([CriterionDraft(c, f"模块{c}") for c in codes], list(aspects))


def _m(code: str, marks: int, criterion: str = "A", **kw) -> AspectDraft:
    return AspectDraft(criterion, code, "尺寸", "measurement", marks, **kw)


def _j(code: str, marks: int, criterion: str = "B", **kw) -> AspectDraft:
    kw.setdefault("descriptors", list(LEVELS))
    return AspectDraft(criterion, code, "外观", "judgement", marks, **kw)


def _codes(draft: SchemeDraft) -> list[str]:
    return [p.code for p in rules.check_scheme(draft)]


def test_a_scheme_of_exactly_100_passes():
    draft = _scheme(_m("A1", 6000, deductions=[Deduction("每处超差", 500)]), _j("B1", 4000))
    assert rules.check_scheme(draft) == []


def test_a_scheme_of_99_50_is_refused_with_its_total():
    (problem,) = rules.check_scheme(_scheme(_m("A1", 5950), _j("B1", 4000)))
    assert problem.code == "total_not_100" and problem.row is None
    assert "99.50" in render(problem.message)


def test_duplicate_aspect_and_criterion_codes():
    draft = _scheme(_m("A1", 5000, row=2), _m("a1", 5000, row=3))
    problems = rules.check_scheme(draft)
    assert [p.code for p in problems] == ["duplicate_aspect"]
    assert problems[0].row == 3
    draft = _scheme(_m("A1", 5000), _m("A2", 5000))
    draft.criteria.append(CriterionDraft("A", "again"))
    assert "duplicate_criterion" in _codes(draft)


def test_a_judgement_aspect_needs_all_four_descriptors():
    problems = rules.check_scheme(
        _scheme(_m("A1", 6000), _j("B1", 4000, descriptors=["差", "", "好"]))
    )
    assert [p.code for p in problems] == ["descriptor_missing"]
    assert "1、3" in render(problems[0].message)


def test_a_deduction_step_above_the_maximum():
    draft = _scheme(_m("A1", 500, deductions=[Deduction("大缺陷", 600)]), _m("A2", 9500))
    problems = rules.check_scheme(draft)
    assert [p.code for p in problems] == ["deduction_over_max"]
    assert "6.00" in render(problems[0].message) and "5.00" in render(problems[0].message)


@pytest.mark.parametrize(
    ("aspect", "code"),
    [
        (_m("A1", 0), "max_not_positive"),
        (_m("A1", 10000, judges_needed=0), "judges_needed"),
        (_m("A1", 10000, judges_needed=10), "judges_needed"),
        (_m("", 10000), "code_missing"),
        (_m("A 1", 10000), "invalid_code"),
        (_m("A1", 10000, descriptors=LEVELS), "measurement_descriptors"),
        (_j("A1", 10000, criterion="A", deductions=[Deduction("x", 1)]), "judgement_deductions"),
        (AspectDraft("A", "A1", "", "measurement", 10000), "description_missing"),
        (AspectDraft("A", "A1", "x", "other", 10000), "unknown_kind"),
    ],
)
def test_each_aspect_problem(aspect, code):
    assert code in _codes(_scheme(aspect))


def test_an_aspect_of_a_criterion_not_in_the_scheme_and_an_empty_criterion():
    draft = SchemeDraft(
        [CriterionDraft("A", "甲"), CriterionDraft("B", "乙")], [_m("C1", 10000, criterion="C")]
    )
    assert set(_codes(draft)) == {"unknown_criterion", "empty_criterion"}
    assert _codes(SchemeDraft()) == ["no_aspects"]


def test_marks_are_read_as_exact_hundredths():
    assert rules.parse_hundredths("12.5") == 1250
    assert rules.parse_hundredths("１２.５０") == 1250
    assert rules.parse_hundredths("7") == 700
    assert rules.parse_hundredths("0.05") == 5
    for bad in ("12.505", "-1", "abc", "", "1e3"):
        with pytest.raises(ValueError):
            rules.parse_hundredths(bad)
    assert rules.marks_text(9950) == "99.50"
    assert rules.marks_short(1250) == "12.5"


def test_deduction_steps_are_read():
    steps = rules.parse_deductions("每处咬边：0.5；焊缝超高:1\n气孔 2")
    assert [(s.label, s.hundredths) for s in steps] == [
        ("每处咬边", 50),
        ("焊缝超高", 100),
        ("气孔", 200),
    ]
    with pytest.raises(ValueError):
        rules.parse_deductions("没有分值")
    assert rules.parse_kind("测量") == "measurement" and rules.parse_kind("评价") == "judgement"
    assert rules.parse_kind("其他") is None
