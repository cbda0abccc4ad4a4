"""Competitions (届): create, edit, and move through the lifecycle."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from competition import audit
from competition.audit import Actor
from competition.db import in_transaction, is_postgres, transaction
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import PHASE_LABELS, Phase, check_transition
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
    registration_closes_on: dt.date | None = None
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
    if (
        data.registration_closes_on
        and data.starts_on
        and data.registration_closes_on >= data.starts_on
    ):
        raise ValidationFailed(
            "Registration must close before the first day of the competition.",
            code="invalid_registration_deadline",
            field_errors={
                "registration_closes_on": "Registration must close before the first day of "
                "the competition."
            },
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
        "registration_closes_on": data.registration_closes_on,
        "max_trades_per_person": data.max_trades_per_person,
        "appeal_window_minutes": data.appeal_window_minutes,
    }


async def get_competition(competition_id: int) -> dict[str, Any]:
    row = await Competition.select().where(Competition.id == competition_id).first()
    if row is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    return row


async def competition_for_action(competition_id: int, *columns: Any) -> dict[str, Any]:
    """The competition's `columns` (its phase, say) for an action that depends on them, read
    inside the action's transaction. On PostgreSQL the row is read FOR SHARE: a phase change
    (which locks it FOR UPDATE) then waits until the action has committed, and an action waits
    for a change in progress and reads the new phase, so no review or registration is ever
    made under a phase that has just ended. Actions share the lock among themselves. SQLite's
    write transaction serialises them already."""
    query = Competition.select(*columns).where(Competition.id == competition_id)
    if is_postgres() and in_transaction():
        query = query.lock_rows("SHARE")
    row = await query.first()
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


# ---------------------------------------------------------------------------- phase changes
#
# What a move leaves behind (e.g. "50 entries still wait for first review") is found by
# "leaving checks": packages above the core register theirs when they are imported (the core
# never imports them), each returning findings for one move. A blocking finding refuses the move
# (no entry may still wait for review when the draw starts); a warning lets it happen only with
# a reason, which the audit record keeps with the counts; a note is shown and nothing more.


class Severity(enum.StrEnum):
    blocking = "blocking"
    warning = "warning"
    note = "note"


@dataclass(frozen=True)
class Finding:
    code: str  # stable, e.g. "waiting_first_review"
    severity: Severity
    count: int
    message: Msg  # a sentence with its parameters, e.g. N_("{n} entries …", n=50)


LeavingCheck = Callable[[int, Phase, Phase], Awaitable[list[Finding]]]
_leaving_checks: list[LeavingCheck] = []
MAX_REASON = 500


def register_leaving_check(check: LeavingCheck) -> None:
    """Add a check run before every phase change: check(competition_id, current, target)."""
    if check not in _leaving_checks:
        _leaving_checks.append(check)


async def _needs_trades(competition_id: int, current: Phase, target: Phase) -> list[Finding]:
    if target != Phase.registration or current != Phase.setup:
        return []
    if await Trade.exists().where(Trade.competition == competition_id):
        return []
    return [
        Finding(
            "no_trades",
            Severity.blocking,
            0,
            N_("Registration cannot open before at least one trade is set up."),
        )
    ]


register_leaving_check(_needs_trades)


@dataclass(frozen=True)
class PhasePreview:
    """What moving to `target` would leave behind, for the page that asks for the reason."""

    current: Phase
    target: Phase
    findings: list[Finding]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.warning]

    @property
    def needs_reason(self) -> bool:
        return bool(self.warnings)


async def _findings(competition_id: int, current: Phase, target: Phase) -> list[Finding]:
    findings: list[Finding] = []
    for check in _leaving_checks:
        findings += await check(competition_id, current, target)
    order = list(Severity)
    return sorted(findings, key=lambda f: order.index(f.severity))


async def preview_phase(competition_id: int, target: Phase | str) -> PhasePreview:
    """The findings of a move, without making it (raises PhaseError for an illegal move)."""
    current = Phase((await get_competition(competition_id))["phase"])
    new_phase = check_transition(current, target)
    return PhasePreview(current, new_phase, await _findings(competition_id, current, new_phase))


def _clean_reason(reason: str, preview: PhasePreview) -> str:
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            "At most {n} characters.",
            code="reason_too_long",
            field_errors={"reason": "At most {n} characters."},
            n=MAX_REASON,
        )
    if preview.needs_reason and not reason:
        raise ValidationFailed(
            "Give a reason for moving on: {left}",
            code="phase_reason_required",
            field_errors={"reason": "Give a reason for moving on: {left}"},
            left=[f.message for f in preview.warnings],
        )
    return reason


async def advance_phase(
    competition_id: int, target: Phase | str, actor: Actor, reason: str = ""
) -> Phase:
    """Move the competition to `target` if the lifecycle and every leaving check allow it;
    always audited, with what the move left behind and why."""
    async with transaction():
        # The competition's row is locked first, so two moves at once happen one after the
        # other (SQLite's write transaction already serialises them).
        query = Competition.select(Competition.phase).where(Competition.id == competition_id)
        current = await (query.lock_rows() if is_postgres() else query).first()
        if current is None:
            raise NotFound("The competition was not found.", code="competition_not_found")
        old_phase = Phase(current["phase"])
        new_phase = check_transition(old_phase, target)
        preview = PhasePreview(
            old_phase, new_phase, await _findings(competition_id, old_phase, new_phase)
        )
        if preview.blocking:
            raise PhaseError(
                "The competition cannot move to “{target}”: {reasons}",
                code=preview.blocking[0].code,
                target=PHASE_LABELS[new_phase],
                reasons=[f.message for f in preview.blocking],
            )
        reason = _clean_reason(reason, preview)
        await Competition.update(
            {Competition.phase: new_phase.value, Competition.updated_at: dt.datetime.now(dt.UTC)}
        ).where(Competition.id == competition_id)
        new: dict[str, Any] = {"phase": new_phase.value}
        if preview.findings:
            new["left_behind"] = {f.code: f.count for f in preview.findings}
        await audit.record(
            "competition.phase",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            old={"phase": old_phase.value},
            new=new,
            reason=reason,
        )
    return new_phase
