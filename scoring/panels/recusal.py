"""Recusal (回避): a judge never scores a contestant of the same delegation or the same employer.

Pure: plain values in, plain values out; the services in `assignment.py` read the facts.

The employer rule (`employer_key`), chosen so that a real conflict is never missed — a
needless recusal costs one judge on one contestant, a missed one costs the result's fairness:

1. NFKC (full-width letters, digits and brackets become plain ones), lower case.
2. Every space, punctuation mark and symbol is dropped: “青海 盐湖（集团）” reads as
   “青海盐湖集团”.
3. The name is cut at its first legal-form word — 股份有限公司, 有限责任公司, 有限公司,
   股份公司, 总公司, 分公司, 公司 — with a 集团 just before it, and a 集团 at the very end
   goes too. So 有限公司 / 有限责任公司 / 股份有限公司 of one name compare equal, and a
   branch (“国网青海省电力公司西宁供电公司”, “…公司海东分公司”) counts as its parent.
4. A name left empty (nothing but a legal-form word) keeps its step-2 form; an empty
   employer is unknown and never conflicts.

The delegation rule is plain: the same delegation (推荐单位) id.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_LEGAL_FORM = re.compile(r"(集团)?(股份有限公司|有限责任公司|有限公司|股份公司|总公司|分公司|公司)")
_TRAILING_GROUP = re.compile(r"集团$")


def _squeeze(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").lower()
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PSZC")


def employer_key(name: str) -> str:
    """The employer as recusal compares it (see the module's rule)."""
    squeezed = _squeeze(name)
    match = _LEGAL_FORM.search(squeezed)
    key = squeezed[: match.start()] if match else squeezed
    key = _TRAILING_GROUP.sub("", key)
    return key or squeezed


class Reason(enum.StrEnum):
    delegation = "delegation"  # 同一推荐单位
    employer = "employer"  # 同一工作单位


@dataclass(frozen=True)
class JudgeFacts:
    id: int
    delegation_id: int | None
    employer_key: str


@dataclass(frozen=True)
class ContestantFacts:
    id: int  # a draw slot's id after the draw, an entry's before
    delegation_id: int | None
    employer_key: str


def conflict(judge: JudgeFacts, contestant: ContestantFacts) -> Reason | None:
    """Why `judge` may not score `contestant`, or None."""
    if judge.delegation_id is not None and judge.delegation_id == contestant.delegation_id:
        return Reason.delegation
    if judge.employer_key and judge.employer_key == contestant.employer_key:
        return Reason.employer
    return None


@dataclass
class Allocation:
    """For every contestant, the judges who may score them and those skipped, with why."""

    allowed: dict[int, list[int]] = field(default_factory=dict)
    skipped: dict[int, list[tuple[int, Reason]]] = field(default_factory=dict)


def allocate(
    contestants: Iterable[ContestantFacts],
    judges_of: Mapping[int, Sequence[JudgeFacts]],
) -> Allocation:
    """`judges_of[contestant.id]`: the judges who would score the contestant without recusal
    (those of the contestant's session). A contestant missing from it has none."""
    result = Allocation()
    for contestant in contestants:
        allowed: list[int] = []
        skipped: list[tuple[int, Reason]] = []
        for judge in judges_of.get(contestant.id, ()):
            reason = conflict(judge, contestant)
            if reason is None:
                allowed.append(judge.id)
            else:
                skipped.append((judge.id, reason))
        result.allowed[contestant.id] = allowed
        result.skipped[contestant.id] = skipped
    return result


@dataclass(frozen=True)
class Shortfall:
    contestant_id: int
    available: int  # judges who may score the contestant
    aspects: tuple[tuple[str, int], ...]  # (aspect code, judges it needs) left short


def shortfalls(allocation: Allocation, needs: Sequence[tuple[str, int]]) -> list[Shortfall]:
    """Contestants whom recusal leaves with fewer judges than an aspect needs. `needs`: the
    current scheme's (aspect code, judges_needed). Only contestants who lost a judge to recusal
    are named: a panel that is simply too small is a different warning."""
    found = []
    for contestant_id, allowed in allocation.allowed.items():
        if not allocation.skipped.get(contestant_id):
            continue
        short = tuple((code, n) for code, n in needs if len(allowed) < n)
        if short:
            found.append(Shortfall(contestant_id, len(allowed), short))
    return found
