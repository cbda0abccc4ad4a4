"""Recusal (回避), the pure rule: employer names compared normalised, delegation by id, and no judge
ever allocated a contestant they are recused from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.panels.recusal import (
    ContestantFacts,
    JudgeFacts,
    Reason,
    allocate,
    conflict,
    employer_key,
    shortfalls,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("青海盐湖工业股份有限公司", "青海盐湖工业有限公司"),
        ("青海盐湖工业股份有限公司", "青海盐湖工业集团股份有限公司"),
        ("西宁特殊钢有限责任公司", "西宁特殊钢 有限公司"),
        ("国网青海省电力公司", "国网青海省电力公司西宁供电公司"),
        ("中国石油青海油田分公司", "中国石油青海油田公司"),
        ("ＡＢＣ 机械（西宁）有限公司", "abc机械西宁有限公司"),
        ("青海大学", "青海 大学"),
    ],
)
def test_employer_variants_compare_equal(a, b):
    assert employer_key(a) == employer_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("青海大学", "青海民族大学"),
        ("西宁湟水机械制造有限公司", "海东湟水机械制造有限公司"),
        ("青海交通职业技术学院", "青海建筑职业技术学院"),
    ],
)
def test_different_employers_stay_apart(a, b):
    assert employer_key(a) != employer_key(b)


def test_a_name_of_only_a_legal_form_keeps_its_form_and_empty_never_conflicts():
    assert employer_key("有限公司") == "有限公司"
    assert employer_key("") == ""
    judge = JudgeFacts(1, None, "")
    assert conflict(judge, ContestantFacts(9, None, "")) is None


def test_conflict_reasons():
    judge = JudgeFacts(1, 5, employer_key("西部矿业股份有限公司"))
    assert conflict(judge, ContestantFacts(1, 5, "别的单位")) == Reason.delegation
    assert conflict(judge, ContestantFacts(2, 6, employer_key("西部矿业有限公司"))) == (
        Reason.employer
    )
    assert conflict(judge, ContestantFacts(3, 6, employer_key("青海银行"))) is None
    assert conflict(JudgeFacts(2, None, "x"), ContestantFacts(4, None, "y")) is None


def test_shortfalls_name_only_contestants_who_lost_judges():
    judges = [JudgeFacts(i, i, f"单位{i}") for i in range(1, 4)]
    people = [ContestantFacts(10, 1, "别处"), ContestantFacts(11, 9, "别处")]
    allocation = allocate(people, {10: judges, 11: judges})
    assert allocation.allowed == {10: [2, 3], 11: [1, 2, 3]}
    assert allocation.skipped == {10: [(1, Reason.delegation)], 11: []}
    found = shortfalls(allocation, [("A1", 3), ("A2", 2), ("B1", 3)])
    assert [(s.contestant_id, s.available, s.aspects) for s in found] == [
        (10, 2, (("A1", 3), ("B1", 3)))
    ]


EMPLOYERS = ["青海盐湖工业", "西部矿业", "西宁特殊钢", "青海大学", "国网青海省电力"]
SUFFIXES = ["", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "公司西宁分公司", " "]
employer_names = st.builds(
    lambda base, suffix, space: (" " if space else "") + base + suffix,
    st.sampled_from(EMPLOYERS),
    st.sampled_from(SUFFIXES),
    st.booleans(),
)
delegations = st.one_of(st.none(), st.integers(min_value=1, max_value=4))


@settings(max_examples=150, deadline=None)
@given(
    judges=st.lists(st.tuples(delegations, employer_names), min_size=1, max_size=8),
    people=st.lists(st.tuples(delegations, employer_names), min_size=1, max_size=12),
)
def test_no_judge_ever_gets_a_recused_contestant(judges, people):
    judge_facts = [JudgeFacts(i, d, employer_key(e)) for i, (d, e) in enumerate(judges)]
    contestants = [ContestantFacts(100 + i, d, employer_key(e)) for i, (d, e) in enumerate(people)]
    allocation = allocate(contestants, {c.id: judge_facts for c in contestants})
    raw = {**{j.id: judges[j.id] for j in judge_facts}}
    for i, contestant in enumerate(contestants):
        delegation, employer = people[i]
        allowed = allocation.allowed[contestant.id]
        skipped = dict(allocation.skipped[contestant.id])
        # Every judge is either allowed or skipped, never both, never lost.
        assert sorted([*allowed, *skipped]) == [j.id for j in judge_facts]
        for judge_id in allowed:
            j_delegation, j_employer = raw[judge_id]
            assert delegation is None or j_delegation != delegation
            # The same company written with another legal form or spacing is the same employer.
            assert (
                j_employer.strip()
                .split("有限")[0]
                .split("股份")[0]
                .split("集团")[0]
                .split("公司")[0]
                != employer.strip()
                .split("有限")[0]
                .split("股份")[0]
                .split("集团")[0]
                .split("公司")[0]
            )
        for judge_id, reason in skipped.items():
            assert conflict(judge_facts[judge_id], contestant) == reason
