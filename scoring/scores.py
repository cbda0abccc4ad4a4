"""What the results (competition/results/) read from scoring: every contestant's stored total,
and a contestant's practical score by criterion and aspect (评分明细).

Reads only: the totals are written by `scoring/totals.py` alone, and an aspect's score here is
worked out by the same memoised function that made the total (`totals.aspect_score`), so the
detail always adds up to the practical score the ranking used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from competition import db
from competition.schemas import JudgeRule, settings_from_json
from scoring import totals
from scoring.rules import rule_version
from scoring.rules import totals as totals_rule
from scoring.tables import AspectKind


class TotalRow(NamedTuple):  # 成绩: one present contestant's stored total
    # A named tuple: 200,000 of them are made from the rows as they come (a slotted dataclass
    # costs twice as much to build).
    entry: int
    trade: int
    slot: int | None
    code: str  # the draw code (一次加密号)
    practical: int | None
    theory: int | None
    oral: int | None
    penalty: int
    weighted: int
    completion_seconds: int | None
    complete: bool  # 0/1 on SQLite


_TOTALS_SQL = (
    "SELECT t.entry, t.trade, t.slot, COALESCE(s.code, '') AS code, t.practical_hundredths, "
    "t.theory_hundredths, t.oral_hundredths, t.penalty_hundredths, t.weighted_hundredths, "
    "t.completion_seconds, t.complete FROM total t LEFT JOIN draw_slot s ON s.id = t.slot "
)


async def totals_of_competition(competition_id: int) -> list[TotalRow]:
    rows = await db.fetch_rows(
        _TOTALS_SQL + "WHERE t.trade IN (SELECT id FROM trade WHERE competition = ?)",  # noqa: S608
        competition_id,
    )
    return list(map(TotalRow._make, rows))


async def totals_of_trade(trade_id: int) -> list[TotalRow]:
    rows = await db.fetch_rows(_TOTALS_SQL + "WHERE t.trade = ?", trade_id)
    return list(map(TotalRow._make, rows))


@dataclass(frozen=True, slots=True)
class AspectScore:
    code: str
    description: str
    kind: str  # measurement / judgement
    max_hundredths: int
    score: int | None  # None: not marked
    levels: tuple[int, ...] = ()  # Judgement: each judge's level, ascending (anonymous)


@dataclass(slots=True)
class CriterionScore:
    code: str
    name: str
    max_hundredths: int = 0
    score: int = 0
    aspects: list[AspectScore] = field(default_factory=list)


@dataclass(slots=True)
class ScoreDetail:  # 评分明细 of one contestant
    slot: int
    criteria: list[CriterionScore]
    penalties: list[tuple[int, str]]  # (signed hundredths, reason)
    rule: str

    @property
    def penalty(self) -> int:
        return sum(p for p, _ in self.penalties)


def _id_list(values: Iterable[int]) -> str:
    """Integer ids read from the database, written into the statement's IN list."""
    return ", ".join(str(int(v)) for v in values) or "NULL"


async def score_details(
    trade_id: int, slot_ids: Iterable[int] | None = None
) -> dict[int, ScoreDetail]:
    """The practical score of the trade's contestants (or of the given slots) by criterion and
    aspect, under the trade's current scheme: four queries whatever the number of slots."""
    trade = await db.fetch_rows("SELECT judge_rule FROM trade WHERE id = ?", trade_id)
    if not trade:
        return {}
    rule = settings_from_json(JudgeRule, db.json_value(trade[0][0]))
    aspects = await db.fetch_rows(
        "SELECT a.id, a.code, a.description, a.kind, a.max_hundredths, c.code AS criterion_code, "
        "c.name AS criterion_name "
        "FROM aspect a JOIN criterion c ON c.id = a.criterion "
        "JOIN marking_scheme m ON m.id = a.scheme "
        "WHERE m.trade = ? AND m.is_current = ? "
        "ORDER BY c.sort_order, c.code, a.sort_order, a.id",
        trade_id,
        True,
    )
    in_slots = "" if slot_ids is None else f" AND id IN ({_id_list(set(slot_ids))})"
    slots = [
        row[0]
        for row in await db.fetch_rows(
            f"SELECT id FROM draw_slot WHERE trade = ?{in_slots} ORDER BY id",  # noqa: S608
            trade_id,
        )
    ]
    marks: dict[tuple[int, int], list[int]] = defaultdict(list)
    penalties: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if slots and aspects:
        for slot, aspect, value in await db.fetch_rows(
            f"SELECT slot, aspect, value_hundredths FROM mark WHERE slot IN "  # noqa: S608
            f"(SELECT id FROM draw_slot WHERE trade = ?{in_slots}) "
            f"AND aspect IN ({_id_list(a[0] for a in aspects)})",
            trade_id,
        ):
            marks[(slot, aspect)].append(value)
        for slot, hundredths, reason in await db.fetch_rows(
            f"SELECT slot, hundredths, reason FROM penalty WHERE trade = ?"  # noqa: S608
            f"{in_slots.replace(' id ', ' slot ')} ORDER BY id",
            trade_id,
        ):
            penalties[slot].append((hundredths, reason))
    return {slot: _detail(slot, aspects, marks, penalties.get(slot, []), rule) for slot in slots}


def _detail(
    slot: int,
    aspects: list[tuple],
    marks: dict[tuple[int, int], list[int]],
    penalties: list[tuple[int, str]],
    rule: JudgeRule,
) -> ScoreDetail:
    criteria: dict[str, CriterionScore] = {}
    for aspect_id, code, description, kind, max_h, c_code, c_name in aspects:
        criterion = criteria.setdefault(c_code, CriterionScore(c_code, c_name))
        values = marks.get((slot, aspect_id), [])
        levels: tuple[int, ...] = ()
        score: int | None = None
        if kind == AspectKind.judgement.value:
            levels = tuple(sorted(v // 100 for v in values))
            if levels:
                packed = totals.pack(levels)
                score = totals.aspect_score(rule.rule, rule.judgement_tolerance, max_h, packed)
        elif values:
            score = totals_rule.measurement_score(values[0])
        criterion.aspects.append(AspectScore(code, description, kind, max_h, score, levels))
        criterion.max_hundredths += max_h
        criterion.score += score or 0
    return ScoreDetail(slot, list(criteria.values()), penalties, rule_version(rule.rule))


async def score_detail(trade_id: int, slot_id: int) -> ScoreDetail | None:
    return (await score_details(trade_id, [slot_id])).get(slot_id)
