"""Shapes of registration's inputs and outputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import msgspec

from competition.i18n import Msg
from competition.schemas import Eligibility


class EntryIn(msgspec.Struct, frozen=True):
    """What a contestant (or a delegation, for one of its people) fills in."""

    name: str
    id_number: str
    phone: str
    employer: str
    job: str
    skill_level: int | None
    years_of_service: int
    delegation_id: int
    trade_id: int
    group_name: str = ""


@dataclass(frozen=True)
class TradeRules:
    """What registration needs to know about a trade."""

    id: int
    competition_id: int
    code: str
    name: str
    groups: tuple[str, ...]
    eligibility: Eligibility
    cutoff: dt.date
    max_entries: int | None


@dataclass
class ReviewOutcome:
    """The result of a (bulk) review: what changed, and why the rest did not."""

    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, Msg]] = field(default_factory=list)  # entry id, why not
    # Final approval: entry id → the admission ticket number it was given (准考证号).
    tickets: dict[int, str] = field(default_factory=dict)
