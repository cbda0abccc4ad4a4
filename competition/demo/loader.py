"""Load the demo competition (青海省第十六届职工职业技能大赛) from the CSV files beside this module.

Idempotent: every record is matched on its code, so a second run changes nothing and writes no
audit record. Everything goes through the same services as the organizer's pages and imports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from competition import accounts, services, structure
from competition.audit import Actor
from competition.phases import Phase
from competition.schemas import (
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


def read(name: str) -> list[dict[str, str]]:
    frame = pd.read_csv(DEMO_DIR / name, dtype=str, keep_default_na=False, encoding="utf-8")
    return frame.to_dict("records")


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def parse_events(value: str) -> tuple[TradeEvent, ...]:
    events = []
    for part in value.split("|"):
        key, weight = part.split(":")
        events.append(TradeEvent(key=EventKind(key.strip()), weight=int(weight)))
    return tuple(events)


def parse_awards(value: str, min_score: str) -> AwardRules:
    mode, shares = value.split(":")
    first, second, third = (int(s) for s in shares.split("|"))
    return AwardRules(
        mode=mode,
        first=first,
        second=second,
        third=third,  # type: ignore[arg-type]
        min_score=int(min_score or 60),
        titles=DEMO_TITLES,
        promotions=DEMO_PROMOTIONS,
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
        awards=parse_awards(row["awards"], row["min_award_score"]),
        judge_rule=JudgeRule(rule=row["judge_rule"]),
        max_entries=_int(row["max_entries"]),
        sort_order=sort_order,
    )


async def _ensure_competition() -> tuple[int, int]:
    row = read("competition.csv")[0]
    data = services.CompetitionIn(
        code=row["code"],
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
        return await services.create_competition(data, DEMO_ACTOR), 1
    return existing["id"], 0


async def _import(kind: str, competition_id: int, items: list) -> int:
    applied = await structure.import_records(
        kind, competition_id, items, DEMO_ACTOR, reason="demo data"
    )
    return applied.created + applied.updated


async def load_demo() -> DemoSummary:
    competition_id, changes = await _ensure_competition()
    trades = read("trades.csv")
    delegations = read("delegations.csv")
    venues = read("venues.csv")

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
            for r in read("industries.csv")
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
            for r in read("sessions.csv")
        ],
    )

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
