"""Load the demo competition (青海省第十六届职工职业技能大赛) from the CSV files beside this module.

Idempotent: every record is matched on its code, so a second run changes nothing and writes no
audit record. Everything goes through the same services as the organizer's pages and imports.

The same files in another directory set up any competition (`load_structure`): the rehearsal
(`jiangxin rehearse`, competition/results/rehearsal.py) reads its structure this way. Beside the
demo's columns, trades.csv may give a trade's result settings: `titles` and `promotions` in the
trade form's line syntax with lines separated by `;` (e.g. `省技术能手:3≥70`, `1:1-3;2:4-10`),
`tie_break` (e.g. `practical|theory|completion_time|shared`), `rounding` (floor, half_up,
ceiling) and `worldskills` (empty, `sd`, `mad`, or either with `@group`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from competition import accounts, services, structure
from competition.audit import Actor
from competition.errors import ValidationFailed
from competition.phases import Phase
from competition.schemas import (
    DEFAULT_TIE_BREAK,
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
)
from competition.tables import Competition, DelegationKind, EventKind, Role, User

DEMO_DIR = Path(__file__).resolve().parent
# Printed by `jiangxin demo`; only for the demo database on a local machine.
DEMO_PASSWORD = "jiangxin-demo"  # noqa: S105
DEMO_ACTOR = Actor(user_id=None, name="demo")
# Every demo trade names its top 3 province technical experts and promotes by rank.
DEMO_TITLES = [TitleRule(title="青海省技术能手", top=3)]
DEMO_PROMOTIONS = [
    PromotionBand(level=1, from_rank=1, to_rank=3),
    PromotionBand(level=2, from_rank=4, to_rank=10),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    scope: str


@dataclass(frozen=True)
class DemoSummary:
    competition_id: int
    changes: int
    logins: list[DemoLogin]


def read(name: str, directory: Path = DEMO_DIR) -> list[dict[str, str]]:
    frame = pd.read_csv(directory / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.to_dict("records")


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def parse_events(value: str) -> tuple[TradeEvent, ...]:
    events = []
    for part in value.split("|"):
        key, weight = part.split(":")
        events.append(TradeEvent(key=EventKind(key.strip()), weight=int(weight)))
    return tuple(events)


def _setting(row: dict[str, str], column: str, parse, default):
    """An optional result-setting column: the demo's default when the file has no such column,
    none when the cell is empty, else parsed (None from the parser: a line of another shape)."""
    if column not in row:
        return default
    text = row[column].strip()
    if not text:
        return []
    value = parse(text.replace(";", "\n"))
    if value is None:
        raise ValidationFailed(
            "Trade {trade}: the {column} column cannot be read: {value}",
            code="trade_setting_unreadable",
            trade=row.get("code", ""),
            column=column,
            value=text,
        )
    return value


def parse_awards(value: str, min_score: str, row: dict[str, str] | None = None) -> AwardRules:
    from competition.setup_forms import parse_promotions, parse_titles

    row = row or {}
    mode, shares = value.split(":")
    first, second, third = (int(s) for s in shares.split("|"))
    worldskills = (row.get("worldskills") or "").strip()
    spread, _, scope = worldskills.partition("@")
    rounding = (row.get("rounding") or "").strip() or "floor"
    if rounding not in ("floor", "half_up", "ceiling") or spread not in ("", "sd", "mad"):
        raise ValidationFailed(
            "Trade {trade}: the rounding or worldskills column cannot be read.",
            code="trade_setting_unreadable",
            trade=row.get("code", ""),
        )
    return AwardRules(
        mode=mode,
        first=first,
        second=second,
        third=third,  # type: ignore[arg-type]
        min_score=int(min_score or 60),
        rounding=rounding,  # type: ignore[arg-type]
        titles=_setting(row, "titles", parse_titles, DEMO_TITLES),
        promotions=_setting(row, "promotions", parse_promotions, DEMO_PROMOTIONS),
        worldskills_view=bool(spread),
        worldskills_scope="group" if scope == "group" else "trade",
        worldskills_spread=spread or "sd",  # type: ignore[arg-type]
    )


def trade_from_row(row: dict[str, str], sort_order: int) -> TradeIn:
    return TradeIn(
        code=row["code"],
        name=row["name"],
        name_en=row["name_en"],
        industry_code=row["industry_code"],
        groups=tuple(g for g in row["groups"].split("|") if g),
        events=parse_events(row["events"]),
        eligibility=Eligibility(
            min_age=_int(row["min_age"]),
            max_age=_int(row["max_age"]),
            min_skill_level=_int(row["min_skill_level"]),
            min_years_service=_int(row["min_years_service"]) or 0,
        ),
        awards=parse_awards(row["awards"], row["min_award_score"], row),
        tie_break=tuple(k for k in (row.get("tie_break") or "").split("|") if k.strip())
        or DEFAULT_TIE_BREAK,
        judge_rule=JudgeRule(rule=row["judge_rule"]),
        max_entries=_int(row["max_entries"]),
        sort_order=sort_order,
    )


async def _ensure_competition(directory: Path, code: str | None, actor: Actor) -> tuple[int, int]:
    row = read("competition.csv", directory)[0]
    data = services.CompetitionIn(
        code=code or row["code"],
        name=row["name"],
        name_en=row["name_en"],
        year=int(row["year"]),
        edition=_int(row["edition"]),
        organizer_name=row["organizer_name"],
        starts_on=dt.date.fromisoformat(row["starts_on"]),
        ends_on=dt.date.fromisoformat(row["ends_on"]),
        age_cutoff=dt.date.fromisoformat(row["age_cutoff"]),
        max_trades_per_person=int(row["max_trades_per_person"]),
        appeal_window_minutes=int(row["appeal_window_minutes"]),
    )
    existing = await Competition.select(Competition.id).where(Competition.code == data.code).first()
    if existing is None:
        return await services.create_competition(data, actor), 1
    return existing["id"], 0


async def load_structure(
    directory: Path = DEMO_DIR, *, code: str | None = None, actor: Actor = DEMO_ACTOR,
    reason: str = "demo data",
) -> tuple[int, int]:  # fmt: skip
    """The competition of `directory`'s competition.csv (under `code` if given) with its
    industries, trades, delegations and quotas, venues, stations and sessions; returns the
    competition's id and the records written."""
    competition_id, changes = await _ensure_competition(directory, code, actor)

    async def _import(kind: str, competition_id: int, items: list) -> int:
        applied = await structure.import_records(kind, competition_id, items, actor, reason=reason)
        return applied.created + applied.updated

    trades = read("trades.csv", directory)
    delegations = read("delegations.csv", directory)
    venues = read("venues.csv", directory)

    changes += await _import(
        "industry",
        competition_id,
        [
            IndustryIn(
                code=r["code"],
                name=r["name"],
                name_en=r["name_en"],
                sort_order=int(r["sort_order"]),
            )
            for r in read("industries.csv", directory)
        ],
    )
    changes += await _import(
        "trade", competition_id, [trade_from_row(r, i + 1) for i, r in enumerate(trades)]
    )
    changes += await _import(
        "delegation",
        competition_id,
        [
            DelegationIn(
                code=r["code"],
                name=r["name"],
                kind=DelegationKind(r["kind"]),
                contact_name=r["contact_name"],
                contact_phone=r["contact_phone"],
                sort_order=int(r["sort_order"]),
            )
            for r in delegations
        ],
    )
    changes += await _import(
        "quota",
        competition_id,
        [
            QuotaIn(
                delegation_code=d["code"],
                trade_code=t["code"],
                max_entries=int(t["quota_per_delegation"]),
            )
            for d in delegations
            for t in trades
        ],
    )
    changes += await _import(
        "venue",
        competition_id,
        [VenueIn(code=r["code"], name=r["name"], address=r["address"]) for r in venues],
    )
    changes += await _import(
        "station",
        competition_id,
        [
            StationIn(
                venue_code=v["code"],
                code=f"{v['station_prefix']}{n:02d}",
                label=f"{v['station_prefix']}{n:02d}",
            )
            for v in venues
            for n in range(1, int(v["station_count"]) + 1)
        ],
    )
    changes += await _import(
        "session",
        competition_id,
        [
            SessionIn(
                trade_code=r["trade_code"],
                venue_code=r["venue_code"],
                code=r["code"],
                name=r["name"],
                event=EventKind(r["event"]),
                starts_at=dt.datetime.fromisoformat(r["starts_at"]),
                ends_at=dt.datetime.fromisoformat(r["ends_at"]),
            )
            for r in read("sessions.csv", directory)
        ],
    )
    return competition_id, changes


async def load_demo() -> DemoSummary:
    competition_id, changes = await load_structure()
    logins = []
    for r in read("users.csv"):
        login = DemoLogin(
            username=r["username"],
            display_name=r["display_name"],
            role=Role(r["role"]),
            scope=r["scope"],
        )
        logins.append(login)
        if await User.exists().where(User.username == login.username):
            continue
        grant = await accounts.resolve_grant(
            login.role,
            competition_code=read("competition.csv")[0]["code"],
            delegation_code=login.scope if login.role == Role.delegation_admin else None,
            trade_code=login.scope if login.role in (Role.judge, Role.chief_judge) else None,
            venue_code=login.scope if login.role == Role.checkin_clerk else None,
        )
        if login.role in (Role.organizer, Role.supervisor, Role.contestant):
            # Unscoped: the demo organizer and supervisor see every competition here.
            grant = accounts.Grant(role=login.role)
        await accounts.create_user(
            login.username, login.display_name, DEMO_PASSWORD, actor=DEMO_ACTOR, grants=[grant]
        )
        changes += 1

    # The demo opens registration so that every role has something to look at.
    if await structure.competition_phase(competition_id) == Phase.setup:
        await services.advance_phase(
            competition_id, Phase.registration, DEMO_ACTOR, reason="demo data"
        )
        changes += 1
    return DemoSummary(competition_id=competition_id, changes=changes, logins=logins)
