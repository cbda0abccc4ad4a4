"""The organizer's structure forms (行业、工种、推荐单位、名额、赛场、场次、工位): reading a
submitted form into the msgspec inputs of `competition/schemas.py`, turning a stored row back
into form values, and the few reads the pages need beyond `competition/catalogue.py`.

Form values are always str → str, so a form re-rendered after an error shows exactly what was
typed. Parsing only checks what a form alone can know (a number is a number, a line has the
right shape); the rules themselves are checked once, by `structure.save_record`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from competition import structure
from competition.errors import NotFound
from competition.i18n import N_, gettext
from competition.schemas import (
    AWARD_ROUNDINGS,
    EVENT_NAMES,
    JUDGE_RULES,
    SKILL_LEVELS,
    TIE_BREAKERS,
    WORLDSKILLS_SCOPES,
    WORLDSKILLS_SPREADS,
    AwardRules,
    DelegationIn,
    Eligibility,
    IndustryIn,
    JudgeRule,
    PromotionBand,
    QuotaIn,
    SessionIn,
    StationIn,
    TitleRule,
    TradeEvent,
    TradeIn,
    VenueIn,
    events_from_json,
    settings_from_json,
)
from competition.tables import (
    CompetitionSession,
    Delegation,
    DelegationKind,
    EventKind,
    Industry,
    Quota,
    Station,
    Trade,
    Venue,
)
from competition.web.forms import FormReader
from competition.web.templating import delegation_kind_label

# 职工组,学生组 / 职工组、学生组 / 职工组；学生组: whatever separator the organizer types.
GROUP_SEPARATORS = re.compile(r"[,，、;；\n]+")
# A title or promotion line may end in its own minimum score ("≥70") and the groups it is
# limited to ("@职工组,学生组").
_PLACES = r"(?P<start>\d+)\s*(?:[-–—~～至]\s*(?P<end>\d+))?\s*名?"
_LIMITS = r"(?:\s*(?:≥|>=)\s*(?P<min>\d+))?(?:\s*[@＠]\s*(?P<groups>.+))?"
TITLE_LINE = re.compile(r"^(?P<title>.+?)\s*[:：]\s*(?:top|前)?\s*" + _PLACES + _LIMITS + "$", re.I)
BAND_LINE = re.compile(r"^(?P<level>\d)\s*[:：]\s*(?:前)?\s*" + _PLACES + _LIMITS + "$")
GROUP_SEPARATORS = re.compile(r"[,，、/;；\s]+")
TIE_BREAK_SLOTS = len(TIE_BREAKERS)
EVENT_ORDER = (EventKind.theory, EventKind.practical, EventKind.oral)
MAX_GENERATED_STATIONS = 500
AWARD_MODES = {
    "ratio": N_("By share of contestants (percent)"),
    "count": N_("By number of contestants"),
}


def _sort_order(form: FormReader) -> int:
    return form.integer("sort_order", minimum=-9999, maximum=9999) or 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------- reads


@dataclass
class Options:
    """The competition's records that a form offers in its selects, id and code both ways."""

    industries: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    delegations: list[dict[str, Any]] = field(default_factory=list)
    venues: list[dict[str, Any]] = field(default_factory=list)

    def code_of(self, kind: str, record_id: int | None) -> str:
        for row in getattr(self, kind):
            if row["id"] == record_id:
                return row["code"]
        return ""

    def by_id(self, kind: str, record_id: int | None) -> dict[str, Any] | None:
        return next((r for r in getattr(self, kind) if r["id"] == record_id), None)

    def choices(self, kind: str) -> list[tuple[str, str]]:
        """(code, "code name") pairs for a select."""
        return [(r["code"], f"{r['code']} {r['name']}") for r in getattr(self, kind)]


async def load_options(competition_id: int, *kinds: str) -> Options:
    """One light query per kind asked for (id, code, name only)."""
    options = Options()
    if "industries" in kinds:
        options.industries = (
            await Industry.select(Industry.id, Industry.code, Industry.name, Industry.name_en)
            .where(Industry.competition == competition_id)
            .order_by(Industry.sort_order)
            .order_by(Industry.code)
        )
    if "trades" in kinds:
        options.trades = (
            await Trade.select(
                Trade.id, Trade.code, Trade.name, Trade.name_en, Trade.industry, Trade.max_entries
            )
            .where(Trade.competition == competition_id)
            .order_by(Trade.industry.sort_order)
            .order_by(Trade.sort_order)
            .order_by(Trade.code)
        )
    if "delegations" in kinds:
        options.delegations = (
            await Delegation.select(Delegation.id, Delegation.code, Delegation.name)
            .where(Delegation.competition == competition_id)
            .order_by(Delegation.sort_order)
            .order_by(Delegation.code)
        )
    if "venues" in kinds:
        options.venues = (
            await Venue.select(Venue.id, Venue.code, Venue.name)
            .where(Venue.competition == competition_id)
            .order_by(Venue.code)
        )
    return options


async def load_row(kind_name: str, competition_id: int, record_id: int) -> dict[str, Any]:
    """One record of the competition, or NotFound (also for another competition's record)."""
    kind = structure.KINDS[kind_name]
    table = kind.table
    owner: Any = table
    for part in kind.competition_path.split("."):
        owner = getattr(owner, part)
    row = (
        await table.select()
        .where((table._meta.primary_key == record_id) & (owner == competition_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("The {what} was not found.", code="not_found", what=kind.label)
    return row


async def quota_rows(competition_id: int) -> list[dict[str, Any]]:
    """Every quota of the competition, without joins to fetch (thousands of rows)."""
    return await Quota.select(Quota.id, Quota.trade, Quota.delegation, Quota.max_entries).where(
        Quota.trade.competition == competition_id
    )


@dataclass
class QuotaSummary:
    """Quota rows of a trade (over its delegations) or of a delegation (over its trades). Rows
    and places are different things: `count` rows, `total` places over the limited ones, and
    `unlimited` rows without a number (不限)."""

    count: int = 0
    total: int = 0
    unlimited: int = 0
    low: int | None = None  # over the limited rows
    high: int | None = None

    def add(self, cap: int | None) -> None:
        self.count += 1
        if cap is None:
            self.unlimited += 1
            return
        self.total += cap
        self.low = cap if self.low is None else min(self.low, cap)
        self.high = cap if self.high is None else max(self.high, cap)


def summarise_quotas(rows: list[dict[str, Any]], by: str) -> dict[int, QuotaSummary]:
    """Quota rows grouped by "trade" or "delegation"."""
    summaries: dict[int, QuotaSummary] = {}
    for row in rows:
        summaries.setdefault(row[by], QuotaSummary()).add(row["max_entries"])
    return summaries


async def count_by(table: Any, column: str, owner_path: str, competition_id: int) -> dict[int, int]:
    """How many rows of `table` point at each parent, in one query."""
    parent = getattr(table, column)
    owner: Any = table
    for part in owner_path.split("."):
        owner = getattr(owner, part)
    counts: dict[int, int] = {}
    for row in await table.select(parent).where(owner == competition_id):
        counts[row[column]] = counts.get(row[column], 0) + 1
    return counts


async def trade_counts(competition_id: int) -> dict[int, int]:
    return await count_by(Trade, "industry", "competition", competition_id)


async def session_counts(competition_id: int) -> dict[int, int]:
    return await count_by(CompetitionSession, "venue", "venue.competition", competition_id)


async def station_codes(venue_id: int) -> set[str]:
    return {r["code"] for r in await Station.select(Station.code).where(Station.venue == venue_id)}


# ---------------------------------------------------------------------------- industry


def read_industry(data: dict[str, str]) -> IndustryIn:
    form = FormReader(data)
    values = {
        "code": form.text("code", required=True, max_length=32),
        "name": form.text("name", required=True, max_length=100),
        "name_en": form.text("name_en", max_length=200),
        "sort_order": _sort_order(form),
    }
    form.check()
    return IndustryIn(**values)


def industry_values(row: dict[str, Any]) -> dict[str, str]:
    return {k: _text(row.get(k)) for k in ("code", "name", "name_en", "sort_order")}


# ---------------------------------------------------------------------------- trade


def split_groups(text: str) -> tuple[str, ...]:
    return tuple(g.strip() for g in GROUP_SEPARATORS.split(text) if g.strip())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def _line_limits(match: re.Match) -> dict[str, Any]:
    groups = [g for g in GROUP_SEPARATORS.split(match["groups"] or "") if g]
    return {"min_score": int(match["min"]) if match["min"] else None, "groups": groups}


def parse_titles(text: str) -> list[TitleRule] | None:
    """ "省技术能手:3" a line for places 1–3 (also "：", "top 3", "前3名"), or "…:4-6" for places
    4–6, optionally "≥70" and "@职工组"; None when a line has another shape."""
    titles = []
    for line in _lines(text):
        match = TITLE_LINE.match(line)
        if match is None:
            return None
        start, end = int(match["start"]), match["end"]
        place_range = {"from_place": start, "top": int(end)} if end else {"top": start}
        titles.append(TitleRule(title=match["title"].strip(), **place_range, **_line_limits(match)))
    return titles


def parse_promotions(text: str) -> list[PromotionBand] | None:
    """ "1:1-3" a line: skill level, then places from–to (a single place is allowed),
    optionally "≥70" and "@职工组"."""
    bands = []
    for line in _lines(text):
        match = BAND_LINE.match(line)
        if match is None:
            return None
        start = int(match["start"])
        end = int(match["end"]) if match["end"] else start
        bands.append(
            PromotionBand(
                level=int(match["level"]), from_rank=start, to_rank=end, **_line_limits(match)
            )
        )
    return bands


def _limits_text(item: TitleRule | PromotionBand) -> str:
    text = f" ≥{item.min_score}" if item.min_score is not None else ""
    return text + (" @" + ",".join(item.groups) if item.groups else "")


def title_line(title: TitleRule) -> str:
    places = str(title.top) if title.from_place == 1 else f"{title.from_place}-{title.top}"
    return f"{title.title}:{places}{_limits_text(title)}"


def promotion_line(band: PromotionBand) -> str:
    return f"{band.level}:{band.from_rank}-{band.to_rank}{_limits_text(band)}"


def read_trade(data: dict[str, str]) -> TradeIn:
    form = FormReader(data)
    # Read in the order of the form, so the first error named at the top is the first one on
    # the page.
    basics = {
        "code": form.text("code", required=True, max_length=32),
        "industry_code": form.text("industry_code", required=True, max_length=32),
        "name": form.text("name", required=True, max_length=100),
        "name_en": form.text("name_en", max_length=200),
        "groups": split_groups(data.get("groups", "")),
        "sort_order": _sort_order(form),
        "max_entries": form.integer("max_entries"),
    }
    events = []
    for key in EVENT_ORDER:
        weight = form.integer(f"weight_{key.value}")
        if weight:  # blank or 0: the trade has no such event
            events.append(TradeEvent(key=key, weight=weight))
    level = form.choice("min_skill_level", SKILL_LEVELS, required=False)
    eligibility = Eligibility(
        min_age=form.integer("min_age"),
        max_age=form.integer("max_age"),
        age_cutoff=form.date("age_cutoff"),
        min_skill_level=int(level) if level else None,
        min_years_service=form.integer("min_years_service") or 0,
        bar_previous_first_prize=form.flag("bar_previous_first_prize"),
    )
    mode = form.choice("award_mode", AWARD_MODES) or "ratio"
    shares = [_required_int(form, f"award_{n}") for n in ("first", "second", "third")]
    min_score = _required_int(form, "min_award_score")
    titles = parse_titles(data.get("titles", ""))
    if titles is None:
        form.errors["titles"] = N_("Write one title a line as “title:N”, e.g. 省技术能手:3.")
    promotions = parse_promotions(data.get("promotions", ""))
    if promotions is None:
        form.errors["promotions"] = N_("Write one band a line as “level:from-to”, e.g. 1:1-3.")
    awards = AwardRules(
        mode=mode,  # type: ignore[arg-type]
        first=shares[0],
        second=shares[1],
        third=shares[2],
        min_score=min_score,
        rounding=form.choice("award_rounding", AWARD_ROUNDINGS, required=False) or "floor",  # type: ignore[arg-type]
        titles=titles or [],
        promotions=promotions or [],
        worldskills_view=form.flag("worldskills_view"),
        worldskills_scope=form.choice("worldskills_scope", WORLDSKILLS_SCOPES, required=False)
        or "trade",  # type: ignore[arg-type]
        worldskills_spread=form.choice("worldskills_spread", WORLDSKILLS_SPREADS, required=False)
        or "sd",  # type: ignore[arg-type]
    )
    tie_break = tuple(
        value
        for i in range(1, TIE_BREAK_SLOTS + 1)
        if (value := data.get(f"tie_break_{i}", "").strip())
    )
    judge_rule = JudgeRule(
        rule=data.get("judge_rule", "").strip(),
        version=form.integer("judge_rule_version", minimum=1, maximum=999) or 1,
        judgement_tolerance=_required_int(form, "judgement_tolerance"),
        measurement_tolerance_percent=_required_int(form, "measurement_tolerance_percent"),
        verify_sheets=form.flag("verify_sheets"),
    )
    form.check()
    return TradeIn(
        **basics,
        events=tuple(events),
        eligibility=eligibility,
        awards=awards,
        tie_break=tie_break,
        judge_rule=judge_rule,
    )


def _required_int(form: FormReader, name: str) -> int:
    value = form.integer(name, required=True)
    return 0 if value is None else value


def trade_from_row(row: dict[str, Any], industry_code: str) -> TradeIn:
    """A stored trade as the input that would write it again unchanged."""
    return TradeIn(
        code=row["code"],
        name=row["name"],
        name_en=row["name_en"],
        industry_code=industry_code,
        groups=tuple(row["groups"] or ()),
        events=events_from_json(row["events"]),
        eligibility=settings_from_json(Eligibility, row["eligibility"]),
        awards=settings_from_json(AwardRules, row["awards"]),
        tie_break=tuple(row["tie_break"] or ()),
        judge_rule=settings_from_json(JudgeRule, row["judge_rule"]),
        max_entries=row["max_entries"],
        sort_order=row["sort_order"],
    )


def trade_values(trade: TradeIn) -> dict[str, str]:
    """The form values of a trade input; `read_trade` of them gives the same input back."""
    weights = {e.key: e.weight for e in trade.events}
    rules, awards, judge = trade.eligibility, trade.awards, trade.judge_rule
    values = {
        "code": trade.code,
        "name": trade.name,
        "name_en": trade.name_en,
        "industry_code": trade.industry_code,
        "groups": "、".join(trade.groups),
        "max_entries": _text(trade.max_entries),
        "sort_order": _text(trade.sort_order),
        "min_age": _text(rules.min_age),
        "max_age": _text(rules.max_age),
        "age_cutoff": rules.age_cutoff.isoformat() if rules.age_cutoff else "",
        "min_skill_level": _text(rules.min_skill_level),
        "min_years_service": _text(rules.min_years_service),
        "bar_previous_first_prize": "1" if rules.bar_previous_first_prize else "",
        "award_mode": awards.mode,
        "award_first": _text(awards.first),
        "award_second": _text(awards.second),
        "award_third": _text(awards.third),
        "min_award_score": _text(awards.min_score),
        "award_rounding": awards.rounding,
        "titles": "\n".join(title_line(t) for t in awards.titles),
        "promotions": "\n".join(promotion_line(b) for b in awards.promotions),
        "worldskills_view": "1" if awards.worldskills_view else "",
        "worldskills_scope": awards.worldskills_scope,
        "worldskills_spread": awards.worldskills_spread,
        "judge_rule": judge.rule,
        "judge_rule_version": _text(judge.version),
        "judgement_tolerance": _text(judge.judgement_tolerance),
        "measurement_tolerance_percent": _text(judge.measurement_tolerance_percent),
        "verify_sheets": "1" if judge.verify_sheets else "",
    }
    for key in EVENT_ORDER:
        values[f"weight_{key.value}"] = _text(weights.get(key, ""))
    for i in range(1, TIE_BREAK_SLOTS + 1):
        values[f"tie_break_{i}"] = trade.tie_break[i - 1] if i <= len(trade.tie_break) else ""
    return values


def new_trade_values(industry_code: str = "") -> dict[str, str]:
    return trade_values(TradeIn(code="", name="", industry_code=industry_code))


# ---------------------------------------------------------------------------- delegation


def read_delegation(data: dict[str, str]) -> DelegationIn:
    form = FormReader(data)
    values = {
        "code": form.text("code", required=True, max_length=32),
        "name": form.text("name", required=True, max_length=100),
        "kind": form.choice("kind", [k.value for k in DelegationKind]),
        "contact_name": form.text("contact_name", max_length=50),
        "contact_phone": form.text("contact_phone", max_length=20),
        "sort_order": _sort_order(form),
    }
    form.check()
    return DelegationIn(**values | {"kind": DelegationKind(values["kind"])})


def delegation_values(row: dict[str, Any]) -> dict[str, str]:
    keys = ("code", "name", "kind", "contact_name", "contact_phone", "sort_order")
    return {k: _text(row.get(k)) for k in keys}


# ---------------------------------------------------------------------------- quota


def _cap(
    form: FormReader, data: dict[str, str], name: str, *, required: bool = False
) -> tuple[bool, int | None]:
    """(given, cap) of a quota's two inputs: its number, or None (unlimited) when its 不限 box
    is ticked; given is False when both are left empty. The range is checked by the service
    (competition/structure.py), whose message says what the range is."""
    if data.get(unlimited_field(name)) in ("1", "on"):
        return True, None
    value = form.integer(name, required=required)
    return value is not None, value


def unlimited_field(name: str) -> str:
    return f"{name}_unlimited"


def read_quota(data: dict[str, str]) -> QuotaIn:
    form = FormReader(data)
    values = {
        "delegation_code": form.text("delegation_code", required=True, max_length=32),
        "trade_code": form.text("trade_code", required=True, max_length=32),
        "max_entries": _cap(form, data, "max_entries", required=True)[1],
    }
    form.check()
    return QuotaIn(**values)


def quota_values(row: dict[str, Any], options: Options) -> dict[str, str]:
    return {
        "delegation_code": options.code_of("delegations", row["delegation"]),
        "trade_code": options.code_of("trades", row["trade"]),
        **cap_values("max_entries", row["max_entries"]),
    }


def cap_values(name: str, cap: int | None) -> dict[str, str]:
    """What a quota's two inputs show: the number, or the 不限 box ticked."""
    if cap is None:
        return {name: "", unlimited_field(name): "1"}
    return {name: str(cap)}


def cap_field(delegation_id: int) -> str:
    return f"cap_{delegation_id}"


def read_quota_grid(
    data: dict[str, str], trade_code: str, delegations: list[dict[str, Any]]
) -> tuple[list[QuotaIn], list[int]]:
    """One cap per delegation for one trade: a number, or 不限 ticked for an unlimited quota. A
    blank box without 不限 leaves that delegation as it is: an existing quota is kept, and none
    is created. Returns the inputs and, for each, the id of its delegation (to put an error back
    next to the right input)."""
    form = FormReader(data)
    items: list[QuotaIn] = []
    owners: list[int] = []
    for delegation in delegations:
        given, cap = _cap(form, data, cap_field(delegation["id"]))
        if not given:
            continue
        items.append(QuotaIn(delegation["code"], trade_code, cap))
        owners.append(delegation["id"])
    form.check()
    return items, owners


def read_quota_fill(
    data: dict[str, str], trade_code: str, delegations: list[dict[str, Any]]
) -> list[QuotaIn]:
    form = FormReader(data)
    _given, cap = _cap(form, data, "fill", required=True)
    form.check()
    return [QuotaIn(d["code"], trade_code, cap) for d in delegations]


# ---------------------------------------------------------------------------- venue


def read_venue(data: dict[str, str]) -> VenueIn:
    form = FormReader(data)
    values = {
        "code": form.text("code", required=True, max_length=32),
        "name": form.text("name", required=True, max_length=100),
        "address": form.text("address", max_length=200),
    }
    form.check()
    return VenueIn(**values)


def venue_values(row: dict[str, Any]) -> dict[str, str]:
    return {k: _text(row.get(k)) for k in ("code", "name", "address")}


# ---------------------------------------------------------------------------- session


DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def read_session(data: dict[str, str], tz: dt.tzinfo) -> SessionIn:
    """Times come from datetime-local inputs: wall-clock time in `tz`."""
    form = FormReader(data)
    values = {
        "trade_code": form.text("trade_code", required=True, max_length=32),
        "venue_code": form.text("venue_code", required=True, max_length=32),
        "code": form.text("code", required=True, max_length=32),
        "name": form.text("name", required=True, max_length=100),
        "event": form.choice("event", [e.value for e in EventKind]),
        "starts_at": form.datetime("starts_at", tz, required=True),
        "ends_at": form.datetime("ends_at", tz, required=True),
    }
    form.check()
    return SessionIn(**values | {"event": EventKind(values["event"])})


def session_values(row: dict[str, Any], options: Options, tz: dt.tzinfo) -> dict[str, str]:
    return {
        "trade_code": options.code_of("trades", row["trade"]),
        "venue_code": options.code_of("venues", row["venue"]),
        "code": row["code"],
        "name": row["name"],
        "event": row["event"],
        "starts_at": local_input(row["starts_at"], tz),
        "ends_at": local_input(row["ends_at"], tz),
    }


def local_input(value: dt.datetime | None, tz: dt.tzinfo) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(tz).strftime(DATETIME_LOCAL)


# ---------------------------------------------------------------------------- station


def read_station(data: dict[str, str]) -> StationIn:
    form = FormReader(data)
    values = {
        "venue_code": form.text("venue_code", required=True, max_length=32),
        "code": form.text("code", required=True, max_length=32),
        "label": form.text("label", max_length=100),
    }
    form.check()
    return StationIn(**values)


def station_values(row: dict[str, Any], options: Options) -> dict[str, str]:
    return {
        "venue_code": options.code_of("venues", row["venue"]),
        "code": row["code"],
        "label": row["label"],
    }


@dataclass(frozen=True)
class StationBatch:
    venue_code: str
    codes: list[str]


def read_station_batch(data: dict[str, str]) -> StationBatch:
    """Prefix + count (+ first number): "A", 40 → A01 … A40; numbers are zero-padded to at
    least two digits so the codes sort as they read."""
    form = FormReader(data)
    venue_code = form.text("venue_code", required=True, max_length=32)
    prefix = "".join(data.get("prefix", "").split())
    if len(prefix) > 20:
        form.errors["prefix"] = N_("Too long.")
    count = form.integer("count", required=True, minimum=1, maximum=MAX_GENERATED_STATIONS)
    first = form.integer("first", minimum=0, maximum=9999)
    form.check()
    start = 1 if first is None else first
    last = start + (count or 0) - 1
    width = max(2, len(str(last)))
    return StationBatch(venue_code, [f"{prefix}{n:0{width}d}" for n in range(start, last + 1)])


# ---------------------------------------------------------------------------- choices


# In the current language: call these while handling a request.


def skill_level_choices() -> list[tuple[int, str]]:
    return [(level, gettext(label)) for level, label in SKILL_LEVELS.items()]


def judge_rule_choices() -> list[tuple[str, str]]:
    return [(key, gettext(label)) for key, label in JUDGE_RULES.items()]


def tie_breaker_choices() -> list[tuple[str, str]]:
    return [(key, gettext(label)) for key, label in TIE_BREAKERS.items()]


def event_choices() -> list[tuple[str, str]]:
    return [(key.value, gettext(EVENT_NAMES[key])) for key in EVENT_ORDER]


def delegation_kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, delegation_kind_label(kind)) for kind in DelegationKind]


def award_mode_choices() -> list[tuple[str, str]]:
    return [(key, gettext(label)) for key, label in AWARD_MODES.items()]


def labelled_choices(labels: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, gettext(label)) for key, label in labels.items()]
