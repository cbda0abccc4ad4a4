"""Competitions (届): create, edit, and move through the lifecycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from competition import audit
from competition.audit import Actor
from competition.db import transaction
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.phases import Phase, check_transition
from competition.schemas import check_code, check_name
from competition.tables import Competition, Trade


class CompetitionIn(msgspec.Struct, frozen=True):
    code: str
    name: str
    year: int
    name_en: str = ""
    edition: int | None = None
    organizer_name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    age_cutoff: dt.date | None = None
    max_trades_per_person: int = 1
    appeal_window_minutes: int = 120


def _row(data: CompetitionIn) -> dict[str, Any]:
    if not 2000 <= data.year <= 2100:
        raise ValidationFailed(
            "The year is between 2000 and 2100.",
            code="invalid_year",
            field_errors={"year": "The year is between 2000 and 2100."},
        )
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise ValidationFailed(
            "The end date cannot be before the start date.",
            code="invalid_dates",
            field_errors={"ends_on": "The end date cannot be before the start date."},
        )
    if not 1 <= data.max_trades_per_person <= 10:
        raise ValidationFailed(
            "A person may enter between 1 and 10 trades.",
            code="invalid_max_trades",
            field_errors={"max_trades_per_person": "A person may enter between 1 and 10 trades."},
        )
    if not 0 <= data.appeal_window_minutes <= 7 * 24 * 60:
        raise ValidationFailed(
            "The appeal window is between 0 minutes and 7 days.",
            code="invalid_appeal_window",
            field_errors={
                "appeal_window_minutes": "The appeal window is between 0 minutes and 7 days."
            },
        )
    return {
        "code": check_code(data.code),
        "name": check_name(data.name, max_length=200),
        "name_en": data.name_en.strip(),
        "year": data.year,
        "edition": data.edition,
        "organizer_name": data.organizer_name.strip(),
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "age_cutoff": data.age_cutoff,
        "max_trades_per_person": data.max_trades_per_person,
        "appeal_window_minutes": data.appeal_window_minutes,
    }


async def get_competition(competition_id: int) -> dict[str, Any]:
    row = await Competition.select().where(Competition.id == competition_id).first()
    if row is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    return row


async def list_competitions() -> list[dict[str, Any]]:
    return (
        await Competition.select()
        .order_by(Competition.year, ascending=False)
        .order_by(Competition.id, ascending=False)
    )


async def create_competition(data: CompetitionIn, actor: Actor) -> int:
    row = _row(data)
    async with transaction():
        if await Competition.exists().where(Competition.code == row["code"]):
            raise Conflict(
                "The code “{value}” is already used.",
                code="duplicate_code",
                field_errors={"code": "The code “{value}” is already used."},
                value=row["code"],
            )
        competition = Competition(**row, phase=Phase.setup.value)
        await competition.save()
        await audit.record(
            "competition.create",
            actor=actor,
            object_type="competition",
            object_id=competition.id,
            competition_id=competition.id,
            new=row,
        )
    return competition.id


async def update_competition(competition_id: int, data: CompetitionIn, actor: Actor) -> None:
    row = _row(data)
    async with transaction():
        current = await get_competition(competition_id)
        if row["code"] != current["code"] and await Competition.exists().where(
            Competition.code == row["code"]
        ):
            raise Conflict(
                "The code “{value}” is already used.",
                code="duplicate_code",
                field_errors={"code": "The code “{value}” is already used."},
                value=row["code"],
            )
        old, new = audit.changed_fields(current, row)
        if not new:
            return
        await Competition.update(
            {
                **{getattr(Competition, k): row[k] for k in new},
                Competition.updated_at: dt.datetime.now(dt.UTC),
            }
        ).where(Competition.id == competition_id)
        await audit.record(
            "competition.update",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            old=old,
            new=new,
        )


# A precondition for entering a phase: returns None when satisfied, else raises PhaseError.
PhaseGuard = Callable[[int], Awaitable[None]]
_phase_guards: dict[Phase, list[PhaseGuard]] = {}


def register_phase_guard(target: Phase, guard: PhaseGuard) -> None:
    """Packages above the core add their own preconditions (e.g. registration: no entry left
    waiting for review before the draw) without the core importing them."""
    _phase_guards.setdefault(target, []).append(guard)


async def _needs_trades(competition_id: int) -> None:
    if not await Trade.exists().where(Trade.competition == competition_id):
        raise PhaseError(
            "Registration cannot open before at least one trade is set up.", code="no_trades"
        )


register_phase_guard(Phase.registration, _needs_trades)


async def advance_phase(
    competition_id: int, target: Phase | str, actor: Actor, reason: str = ""
) -> Phase:
    """Move the competition to `target` if the lifecycle allows it; always audited."""
    async with transaction():
        current = await get_competition(competition_id)
        new_phase = check_transition(current["phase"], target)
        for guard in _phase_guards.get(new_phase, []):
            await guard(competition_id)
        await Competition.update(
            {Competition.phase: new_phase.value, Competition.updated_at: dt.datetime.now(dt.UTC)}
        ).where(Competition.id == competition_id)
        await audit.record(
            "competition.phase",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            old={"phase": current["phase"]},
            new={"phase": new_phase.value},
            reason=reason.strip(),
        )
    return new_phase
