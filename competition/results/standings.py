"""A trade's standings (成绩排名): every present contestant ranked in their group, with award,
title, promotion and the WorldSkills view, worked out from the stored totals whenever asked.

Nothing here is stored: the totals are (`scoring/totals.py` writes them, `scoring.scores` reads
them), and the rules are the pure functions of `competition/results/rules/`. A trade's groups
are ranked apart (职工组 and 学生组 never share places); a trade without groups is one group "".
The absent (no draw slot, so no total) are listed after the ranked, unranked and uncounted.

Anonymity: until the trade is decrypted (`competition.stages.ENCRYPTED`), a row carries only the
contestant's draw code — no name, ticket or ID number is even read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from competition import db
from competition.errors import NotFound
from competition.results.rules import awards as award_rule
from competition.results.rules import ranking, titles, worldskills
from competition.schemas import (
    DEFAULT_TIE_BREAK,
    AwardRules,
    TradeEvent,
    events_from_json,
    settings_from_json,
)
from competition.stages import ENCRYPTED, Stage
from registration.tables import EntryStatus
from scoring import scores

# The stages whose standings are results: from the lock (封分) on. Before it a ranking would be
# a count still in progress, which no export or API shows as a result.
LOCKED_STAGES = frozenset({Stage.locked, Stage.decrypted, Stage.published, Stage.final})

AWARD_NAMES = {1: "一等奖", 2: "二等奖", 3: "三等奖"}
MEDAL_NAMES = {"gold": "金牌", "silver": "银牌", "bronze": "铜牌", "excellence": "优胜奖"}


@dataclass(slots=True)
class ResultRow:  # one contestant's line of the standings
    # Built positionally in `_rows` (200,000 of them for a province: keyword arguments cost a
    # third more), so the order of the first fields matters.
    entry_id: int
    group: str
    present: bool
    code: str = ""  # the draw code
    slot_id: int | None = None
    # Filled once the trade is decrypted (`TradeStandings.decrypted`), else empty.
    name: str = ""
    id_number: str = ""
    ticket_number: str = ""
    delegation_id: int | None = None
    delegation: str = ""
    total: int | None = None  # weighted, hundredths
    practical: int | None = None
    theory: int | None = None
    oral: int | None = None
    penalty: int = 0
    completion_seconds: int | None = None
    complete: bool = False
    place: int | None = None
    award: int | None = None  # 1, 2, 3
    title: str = ""
    promotion: int | None = None  # the skill level (SKILL_LEVELS) the place promotes to
    score700: int | None = None  # hundredths
    medal: str = ""  # gold / silver / bronze / excellence

    @property
    def key(self) -> int:
        """What the ranking rule knows a contestant by (`rules.ranking.Contender`)."""
        return self.entry_id

    @property
    def award_name(self) -> str:
        return AWARD_NAMES.get(self.award or 0, "")


@dataclass(slots=True)
class GroupStandings:
    name: str  # "" when the trade has no groups
    competed: int  # N: the present entries, over which award shares are taken
    targets: tuple[int, int, int]  # cumulative positions of the three award bands
    rows: list[ResultRow] = field(default_factory=list)  # ranked best first, then the absent

    def award_counts(self) -> tuple[int, int, int]:
        counts = [0, 0, 0]
        for row in self.rows:
            if row.award:
                counts[row.award - 1] += 1
        return counts[0], counts[1], counts[2]


@dataclass(slots=True)
class TradeStandings:
    trade_id: int
    competition_id: int
    code: str
    name: str
    industry_id: int
    industry: str
    stage: Stage
    rules: AwardRules
    chain: tuple[str, ...]
    events: tuple[TradeEvent, ...]
    groups: list[GroupStandings]

    @property
    def decrypted(self) -> bool:
        return self.stage not in ENCRYPTED

    @property
    def locked(self) -> bool:
        """The marks are locked (封分): the standings are results, not a count in progress."""
        return self.stage in LOCKED_STAGES

    @property
    def rows(self) -> list[ResultRow]:
        return [row for group in self.groups for row in group.rows]


# ---------------------------------------------------------------------------- the rules


def rank_group(
    group: str, rows: list[ResultRow], rules: AwardRules, chain: Sequence[str]
) -> GroupStandings:
    """Places, awards, titles and promotions of one group's present rows (reordered best
    first); the WorldSkills view is added over its own scope by `add_worldskills`."""
    # The rows are the contenders themselves (they have the attributes the rule reads): making
    # 200,000 `Contender`s cost 0.7 s of the 2 s the rules took for a province.
    ordered = ranking.ordered(rows, chain)
    places = [(row.entry_id, place, row.total or 0) for row, place in ordered]
    targets = award_rule.targets(
        len(rows), rules.mode, (rules.first, rules.second, rules.third), rules.rounding
    )
    bands = award_rule.award_bands(places, targets, rules.min_score * 100)
    title_of = titles.assign(places, group, _title_bands(rules))
    promotion_of = titles.assign(places, group, _promotion_bands(rules))
    ranked = []
    for row, place in ordered:
        key = row.entry_id
        row.place = place
        row.award = bands.get(key)
        row.title = title_of.get(key, "")
        level = promotion_of.get(key)
        row.promotion = int(level) if level else None
        ranked.append(row)
    return GroupStandings(group, len(rows), targets, ranked)


def _title_bands(rules: AwardRules) -> list[titles.PlaceBand]:
    return [
        titles.PlaceBand(
            label=t.title,
            from_place=t.from_place,
            to_place=t.top,
            min_total=(rules.min_score if t.min_score is None else t.min_score) * 100,
            groups=tuple(t.groups),
        )
        for t in rules.titles
    ]


def _promotion_bands(rules: AwardRules) -> list[titles.PlaceBand]:
    return [
        titles.PlaceBand(
            label=str(b.level),
            from_place=b.from_rank,
            to_place=b.to_rank,
            min_total=(rules.min_score if b.min_score is None else b.min_score) * 100,
            groups=tuple(b.groups),
        )
        for b in rules.promotions
    ]


def add_worldskills(groups: list[GroupStandings], rules: AwardRules) -> None:
    """The 700 scale and medals over the present entries of the whole trade, or of each group
    (the trade's setting)."""
    if not rules.worldskills_view:
        return
    if rules.worldskills_scope == "group":
        scopes = [g.rows for g in groups]
    else:
        scopes = [[row for g in groups for row in g.rows]]
    for scope in scopes:
        present = [row for row in scope if row.present]
        scaled = worldskills.score700([row.total or 0 for row in present], rules.worldskills_spread)
        for row, value in zip(present, scaled, strict=True):
            row.score700 = value
        medals = worldskills.medals([(i, v) for i, v in enumerate(scaled)])
        for index, row in enumerate(present):
            row.medal = medals.get(index, "")


def standings_of(
    trade: dict[str, Any], present: list[ResultRow], absent: list[ResultRow]
) -> TradeStandings:
    """The whole trade from its rows: pure, so the bench and the rehearsal time only this."""
    rules = settings_from_json(AwardRules, trade["awards"])
    chain = tuple(trade["tie_break"] or DEFAULT_TIE_BREAK)
    by_group: dict[str, list[ResultRow]] = defaultdict(list)
    for name in trade["groups"] or ():
        by_group[name] = []
    for row in present:
        by_group[row.group].append(row)
    groups = [rank_group(name, rows, rules, chain) for name, rows in by_group.items()]
    add_worldskills(groups, rules)
    for row in sorted(absent, key=lambda r: (r.code, r.entry_id)):
        target = next((g for g in groups if g.name == row.group), None)
        if target is None:
            target = GroupStandings(row.group, 0, (0, 0, 0))
            groups.append(target)
        target.rows.append(row)
    return TradeStandings(
        trade_id=trade["id"],
        competition_id=trade["competition"],
        code=trade["code"],
        name=trade["name"],
        industry_id=trade["industry"],
        industry=trade["industry_name"],
        stage=Stage(trade["stage"]),
        rules=rules,
        chain=chain,
        events=events_from_json(trade["events"]),
        groups=groups,
    )


# ---------------------------------------------------------------------------- reads


_TRADE_SQL = (
    "SELECT t.id, t.competition, t.code, t.name, t.industry, i.name AS industry_name, t.stage, "
    "t.groups, "
    "t.events, t.awards, t.tie_break FROM trade t JOIN industry i ON i.id = t.industry "
)
_TRADE_KEYS = [
    "id",
    "competition",
    "code",
    "name",
    "industry",
    "industry_name",
    "stage",
    "groups",
    "events",
    "awards",
    "tie_break",
]
# Who is in a trade: admitted entries. Those with a draw slot have a total; the rest were
# absent at the draw (or the trade has not drawn yet).
_ENTRY_SQL = (
    "SELECT e.id, e.trade, e.group_name, e.ticket_number, e.delegation, d.name AS delegation_name, "
    "p.name AS person_name, p.id_number FROM entry e JOIN delegation d ON d.id = e.delegation "
    "JOIN person p ON p.id = e.person WHERE e.status = ? "
)


def _trade_dict(row: tuple) -> dict[str, Any]:
    trade = dict(zip(_TRADE_KEYS, row, strict=True))
    for key in ("groups", "events", "awards", "tie_break"):
        trade[key] = db.json_value(trade[key])
    return trade


async def trade_standings(trade_id: int) -> TradeStandings:
    rows = await db.fetch_rows(_TRADE_SQL + "WHERE t.id = ?", trade_id)
    if not rows:
        raise NotFound("The trade was not found.", code="trade_not_found")
    trade = _trade_dict(rows[0])
    totals = await scores.totals_of_trade(trade_id)
    entries = await db.fetch_rows(
        _ENTRY_SQL + "AND e.trade = ?", EntryStatus.approved.value, trade_id
    )
    present, absent = _rows(trade, totals, entries)
    return standings_of(trade, present, absent)


async def competition_standings(
    competition_id: int, trade_ids: Iterable[int] | None = None
) -> list[TradeStandings]:
    """Every trade of the competition (or the given ones), in the trades' order: one read of
    the totals and one of the entries for all of them."""
    trades = [
        _trade_dict(row)
        for row in await db.fetch_rows(
            _TRADE_SQL + "WHERE t.competition = ? ORDER BY t.sort_order, t.code", competition_id
        )
    ]
    if trade_ids is not None:
        wanted = set(trade_ids)
        trades = [t for t in trades if t["id"] in wanted]
    totals_by_trade: dict[int, list[scores.TotalRow]] = defaultdict(list)
    for total in await scores.totals_of_competition(competition_id):
        totals_by_trade[total.trade].append(total)
    entries_by_trade: dict[int, list[tuple]] = defaultdict(list)
    for entry in await db.fetch_rows(
        _ENTRY_SQL + "AND e.competition = ?", EntryStatus.approved.value, competition_id
    ):
        entries_by_trade[entry[1]].append(entry)
    out = []
    for trade in trades:
        present, absent = _rows(trade, totals_by_trade[trade["id"]], entries_by_trade[trade["id"]])
        out.append(standings_of(trade, present, absent))
    return out


def _rows(
    trade: dict[str, Any], totals: list[scores.TotalRow], entries: list[tuple]
) -> tuple[list[ResultRow], list[ResultRow]]:
    named = Stage(trade["stage"]) not in ENCRYPTED
    drawn = Stage(trade["stage"]) != Stage.not_drawn
    people = {e[0]: e for e in entries}
    present = []
    append = present.append
    for t in totals:
        entry = people.pop(t.entry, None)
        group = entry[2] if entry else ""
        if named and entry:
            # entry: id, trade, group, ticket, delegation id, delegation, name, ID number
            append(ResultRow(t.entry, group, True, t.code, t.slot, entry[6], entry[7],
                             entry[3] or "", entry[4], entry[5], t.weighted, t.practical,
                             t.theory, t.oral, t.penalty, t.completion_seconds,
                             bool(t.complete)))  # fmt: skip
        else:
            append(ResultRow(t.entry, group, True, t.code, t.slot, "", "", "", None, "",
                             t.weighted, t.practical, t.theory, t.oral, t.penalty,
                             t.completion_seconds, bool(t.complete)))  # fmt: skip
    absent = []
    if drawn:
        for entry in people.values():
            row = ResultRow(entry_id=entry[0], group=entry[2] or "", present=False)
            if named:
                _name(row, entry)
            absent.append(row)
    return present, absent


def _name(row: ResultRow, entry: tuple) -> None:
    row.ticket_number = entry[3] or ""
    row.delegation_id = entry[4]
    row.delegation = entry[5]
    row.name = entry[6]
    row.id_number = entry[7]
