"""Who may enter a trade (参赛资格). Pure: the caller supplies the facts and the trade's rules.

Skill levels (职业技能等级) count down: 5 is the entry level (初级工), 1 the highest (高级技师),
so "at least level 4" means a level number of 4 or less.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from competition.i18n import N_, Msg
from competition.schemas import SKILL_LEVELS, Eligibility
from registration.idcard import age_on


@dataclass(frozen=True)
class Applicant:
    birth_date: dt.date
    skill_level: int | None  # None: no certified level
    years_of_service: int
    won_first_prize_before: bool = False


@dataclass(frozen=True)
class Refusal:
    code: str
    message: Msg  # carries its own parameters


def refusals(rules: Eligibility, cutoff: dt.date, applicant: Applicant) -> list[Refusal]:
    """Every reason the applicant may not enter, in the order a person would read them."""
    found: list[Refusal] = []
    age = age_on(applicant.birth_date, cutoff)
    day = cutoff.isoformat()
    if rules.min_age is not None and age < rules.min_age:
        found.append(
            Refusal(
                "too_young",
                N_(
                    "Must be at least {min} years old on {cutoff} (is {age}).",
                    min=rules.min_age,
                    cutoff=day,
                    age=age,
                ),
            )
        )
    if rules.max_age is not None and age > rules.max_age:
        found.append(
            Refusal(
                "too_old",
                N_(
                    "Must be at most {max} years old on {cutoff} (is {age}).",
                    max=rules.max_age,
                    cutoff=day,
                    age=age,
                ),
            )
        )
    level = rules.min_skill_level
    if level is not None and (applicant.skill_level is None or applicant.skill_level > level):
        found.append(
            Refusal(
                "skill_level",
                N_("Needs at least the skill level “{required}”.", required=SKILL_LEVELS[level]),
            )
        )
    if applicant.years_of_service < rules.min_years_service:
        found.append(
            Refusal(
                "years_of_service",
                N_(
                    "Needs at least {min} years of service (has {years}).",
                    min=rules.min_years_service,
                    years=applicant.years_of_service,
                ),
            )
        )
    if rules.bar_previous_first_prize and applicant.won_first_prize_before:
        found.append(
            Refusal(
                "previous_first_prize",
                N_("Won a first prize in this trade before and may not enter it again."),
            )
        )
    return found
