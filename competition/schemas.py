"""Shapes of the competition core: the per-trade settings stored as JSON, and the validated
inputs that forms, the xlsx importer and the demo loader all hand to the setup services."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from competition.errors import ValidationFailed
from competition.i18n import N_, Msg
from competition.tables import DelegationKind, EventKind

# 职业技能等级: 5 is the entry level, 1 the highest.
SKILL_LEVELS: dict[int, Msg] = {
    5: N_("Level 5 · junior worker"),
    4: N_("Level 4 · intermediate worker"),
    3: N_("Level 3 · senior worker"),
    2: N_("Level 2 · technician"),
    1: N_("Level 1 · senior technician"),
}

# Vocabulary of the judge-combination rules; the implementations live in scoring/rules/.
JUDGE_RULES: dict[str, Msg] = {
    "mean": N_("Mean of all judges"),
    "trimmed_mean": N_("Trimmed mean (drop highest and lowest with 5 or more judges)"),
    "fig_tolerance": N_("FIG tolerance (drop high and low unless the middle scores disagree)"),
    "closest_two_of_three": N_("Closest two of three"),
}

TIE_BREAKERS: dict[str, Msg] = {
    "practical": N_("Higher practical score"),
    "theory": N_("Higher theory score"),
    "oral": N_("Higher oral defence score"),
    "completion_time": N_("Shorter completion time"),
    # Ends the chain: entries still tied share the place (they do so at the end of any chain).
    "shared": N_("Shared place"),
}

# 获奖名额取整: how a share of N contestants becomes a whole number of awards.
AWARD_ROUNDINGS: dict[str, Msg] = {
    "floor": N_("Round down"),
    "half_up": N_("Round half up"),
    "ceiling": N_("Round up"),
}
# WorldSkills view: the spread the 700 scale divides by.
WORLDSKILLS_SPREADS: dict[str, Msg] = {
    "sd": N_("Standard deviation"),
    "mad": N_("Median absolute deviation × 1.4826"),
}
WORLDSKILLS_SCOPES: dict[str, Msg] = {
    "trade": N_("The whole trade"),
    "group": N_("Each group"),
}

EVENT_NAMES: dict[EventKind, Msg] = {
    EventKind.theory: N_("Theory"),
    EventKind.practical: N_("Practical"),
    EventKind.oral: N_("Oral defence"),
}


class TradeEvent(msgspec.Struct, frozen=True):
    key: EventKind
    weight: int  # percent of the total


class Eligibility(msgspec.Struct, frozen=True):
    min_age: int | None = 16
    max_age: int | None = 60
    # None: the competition's cutoff date.
    age_cutoff: dt.date | None = None
    min_skill_level: int | None = None  # see SKILL_LEVELS; 5 is the lowest requirement
    min_years_service: int = 0
    bar_previous_first_prize: bool = True


class TitleRule(msgspec.Struct, frozen=True):  # 称号, e.g. 省技术能手 for places 1–3
    title: str
    top: int  # the last place that earns it
    from_place: int = 1
    # Whole marks; None: the trade's award minimum.
    min_score: int | None = None
    groups: list[str] = msgspec.field(default_factory=list)  # empty: every group


class PromotionBand(msgspec.Struct, frozen=True):  # 晋升, e.g. places 1–3 → level 1 (高级技师)
    level: int
    from_rank: int
    to_rank: int
    min_score: int | None = None
    groups: list[str] = msgspec.field(default_factory=list)


class AwardRules(msgspec.Struct, frozen=True):
    mode: Literal["ratio", "count"] = "ratio"
    # ratio: percent of contestants; count: number of contestants.
    first: int = 10
    second: int = 20
    third: int = 30
    min_score: int = 60
    rounding: Literal["floor", "half_up", "ceiling"] = "floor"
    titles: list[TitleRule] = msgspec.field(default_factory=list)
    promotions: list[PromotionBand] = msgspec.field(default_factory=list)
    worldskills_view: bool = False
    worldskills_scope: Literal["trade", "group"] = "trade"
    worldskills_spread: Literal["sd", "mad"] = "sd"


class JudgeRule(msgspec.Struct, frozen=True):
    rule: str = "trimmed_mean"
    version: int = 1
    # A judge is flagged when off the panel by more than this on the 0–3 judgement scale…
    judgement_tolerance: int = 1
    # …or by more than this percent of a measurement aspect's maximum mark.
    measurement_tolerance_percent: int = 10
    # Every score sheet of the trade is confirmed by a second judge (复核) before the lock; an
    # aspect may ask for it alone (scoring's Aspect.needs_verification).
    verify_sheets: bool = False


DEFAULT_EVENTS = (TradeEvent(EventKind.theory, 30), TradeEvent(EventKind.practical, 70))
DEFAULT_TIE_BREAK = ("practical", "theory", "completion_time")


class IndustryIn(msgspec.Struct, frozen=True):
    code: str
    name: str
    name_en: str = ""
    sort_order: int = 0


class TradeIn(msgspec.Struct, frozen=True):
    code: str
    name: str
    industry_code: str
    name_en: str = ""
    groups: tuple[str, ...] = ()
    events: tuple[TradeEvent, ...] = DEFAULT_EVENTS
    eligibility: Eligibility = Eligibility()
    awards: AwardRules = AwardRules()
    tie_break: tuple[str, ...] = DEFAULT_TIE_BREAK
    judge_rule: JudgeRule = JudgeRule()
    max_entries: int | None = None
    sort_order: int = 0


class DelegationIn(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: DelegationKind
    contact_name: str = ""
    contact_phone: str = ""
    sort_order: int = 0


class QuotaIn(msgspec.Struct, frozen=True):
    delegation_code: str
    trade_code: str
    max_entries: int | None  # None: unlimited (不限)


class VenueIn(msgspec.Struct, frozen=True):
    code: str
    name: str
    address: str = ""


class SessionIn(msgspec.Struct, frozen=True):
    trade_code: str
    venue_code: str
    code: str
    name: str
    event: EventKind
    starts_at: dt.datetime
    ends_at: dt.datetime


class StationIn(msgspec.Struct, frozen=True):
    venue_code: str
    code: str
    label: str = ""


# ---------------------------------------------------------------------------- validation


def _fail(field: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        message, code=f"invalid_{field}", field_errors={field: message}, **params
    )


def check_code(value: str, field: str = "code") -> str:
    value = value.strip()
    if not value or len(value) > 32 or not all(c.isalnum() or c in "-_." for c in value):
        raise _fail(field, "A code has 1 to 32 letters, digits or - _ .")
    return value


def check_name(value: str, field: str = "name", max_length: int = 100) -> str:
    value = " ".join(value.split())
    if not value:
        raise _fail(field, "This field is required.")
    if len(value) > max_length:
        raise _fail(field, "At most {n} characters.", n=max_length)
    return value


def check_events(events: tuple[TradeEvent, ...]) -> tuple[TradeEvent, ...]:
    keys = [e.key for e in events]
    if not events:
        raise _fail("events", "A trade needs at least one event.")
    if len(set(keys)) != len(keys):
        raise _fail("events", "Each event may appear only once.")
    if any(e.weight <= 0 or e.weight > 100 for e in events):
        raise _fail("events", "Each event weight is between 1 and 100 percent.")
    total = sum(e.weight for e in events)
    if total != 100:
        raise _fail(
            "events", "The event weights must add up to 100 percent (now {total}).", total=total
        )
    return events


def check_groups(groups: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(g.strip() for g in groups if g.strip())
    if len(set(cleaned)) != len(cleaned):
        raise _fail("groups", "Each group may appear only once.")
    if len(cleaned) > 5 or any(len(g) > 20 for g in cleaned):
        raise _fail("groups", "At most 5 groups of at most 20 characters each.")
    return cleaned


def check_eligibility(rules: Eligibility) -> Eligibility:
    if rules.min_age is not None and not 14 <= rules.min_age <= 70:
        raise _fail("min_age", "The minimum age is between 14 and 70.")
    if rules.max_age is not None and not 14 <= rules.max_age <= 75:
        raise _fail("max_age", "The maximum age is between 14 and 75.")
    if rules.min_age is not None and rules.max_age is not None and rules.min_age > rules.max_age:
        raise _fail("max_age", "The maximum age cannot be below the minimum age.")
    if rules.min_skill_level is not None and rules.min_skill_level not in SKILL_LEVELS:
        raise _fail("min_skill_level", "Unknown skill level.")
    if not 0 <= rules.min_years_service <= 50:
        raise _fail("min_years_service", "Years of service are between 0 and 50.")
    return rules


def check_awards(rules: AwardRules) -> AwardRules:
    shares = (rules.first, rules.second, rules.third)
    if any(s < 0 for s in shares):
        raise _fail("awards", "Award shares cannot be negative.")
    if rules.mode == "ratio" and sum(shares) > 100:
        raise _fail("awards", "Award percentages add up to more than 100.")
    if not 0 <= rules.min_score <= 100:
        raise _fail("min_award_score", "The minimum award score is between 0 and 100.")
    if rules.rounding not in AWARD_ROUNDINGS:
        raise _fail("award_rounding", "Unknown rounding.")
    for band in rules.promotions:
        if band.level not in SKILL_LEVELS or not 1 <= band.from_rank <= band.to_rank:
            raise _fail("awards", "A promotion band needs a skill level and ranks from ≤ to.")
    if any(t.top < t.from_place or t.from_place < 1 or not t.title.strip() for t in rules.titles):
        raise _fail("awards", "A title needs a name and a number of contestants.")
    for item in (*rules.titles, *rules.promotions):
        if item.min_score is not None and not 0 <= item.min_score <= 100:
            raise _fail("min_award_score", "The minimum award score is between 0 and 100.")
    return rules


def check_tie_break(chain: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(chain)) != len(chain) or any(c not in TIE_BREAKERS for c in chain):
        raise _fail("tie_break", "Each tie-breaker is one of the listed ones, used once.")
    if "shared" in chain[:-1]:
        raise _fail("tie_break", "“Shared place” ends the chain: nothing can come after it.")
    return chain


def check_judge_rule(rule: JudgeRule) -> JudgeRule:
    if rule.rule not in JUDGE_RULES:
        raise _fail("judge_rule", "Unknown judge-combination rule.")
    if not 0 <= rule.judgement_tolerance <= 3:
        raise _fail("judge_rule", "The judgement tolerance is between 0 and 3.")
    if not 0 <= rule.measurement_tolerance_percent <= 100:
        raise _fail("judge_rule", "The measurement tolerance is between 0 and 100 percent.")
    return rule


def check_trade(trade: TradeIn) -> TradeIn:
    if trade.max_entries is not None and trade.max_entries < 0:
        raise _fail("max_entries", "The cap cannot be negative.")
    groups = check_groups(trade.groups)
    for item in (*trade.awards.titles, *trade.awards.promotions):
        unknown = [g for g in item.groups if g not in groups]
        if unknown:
            raise _fail(
                "awards",
                "A title or promotion names a group the trade does not have: {groups}.",
                groups="、".join(unknown),
            )
    return msgspec.structs.replace(
        trade,
        code=check_code(trade.code),
        name=check_name(trade.name),
        industry_code=check_code(trade.industry_code, "industry_code"),
        groups=check_groups(trade.groups),
        events=check_events(trade.events),
        eligibility=check_eligibility(trade.eligibility),
        awards=check_awards(trade.awards),
        tie_break=check_tie_break(trade.tie_break),
        judge_rule=check_judge_rule(trade.judge_rule),
    )


def to_json(value: Any) -> Any:
    """A settings struct as the plain JSON stored in the table."""
    return msgspec.to_builtins(value)


def settings_from_json(kind: type, value: Any) -> Any:
    return msgspec.convert(value or {}, kind, strict=False)


def events_from_json(value: Any) -> tuple[TradeEvent, ...]:
    return tuple(msgspec.convert(value or [], list[TradeEvent], strict=False))
