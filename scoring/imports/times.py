"""Completion times keyed in (完成用时), for the tie-break.

Columns: 加密号 (the code on the score sheets), 用时 ("mm:ss", "h:mm:ss" or whole seconds), 原因
(needed once the trade is locked, as for the chief judge's own change), and 工种 where a code
could be of several trades. Each value is read as the chief judge's entry reads it
(`scoring/sheets/penalties.py`: `parse_duration`, the trade from the start of competing until
the results are published). A contestant twice in the file is refused; one bad row stores
nothing. A time replaces the contestant's earlier one. Sized like the theory import (one row
per contestant, 200,000 of them): chunked lookups, bulk writes, and one audit record
("times.import") with the counts and every time it replaced, old → new.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from competition import clock, db
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.errors import Conflict, DomainError, ValidationFailed
from competition.i18n import N_
from competition.spreadsheets import CODE, TEXT, Column, RowsRejected
from scoring.imports import shared
from scoring.imports.penalties import open_trades, read_reason, wrong_stage
from scoring.imports.shared import Contestants, Plan
from scoring.sheets.lock import CHANGE_AFTER_LOCK
from scoring.sheets.penalties import format_duration, parse_duration

KIND = "times"
LIMITS = kit.LIMITS["times"]
SHEET = "完成用时"

COLUMNS: tuple[Column, ...] = (
    shared.TRADE_COLUMN,
    shared.CODE_COLUMN,
    Column("time", "用时", ("完成用时", "时间", "time"),
           N_("mm:ss, h:mm:ss or seconds; keep the column as text, or Excel reads 12:34 as "
              "12 hours 34 minutes"), True, CODE),
    Column("reason", "原因", ("说明", "reason"), N_("Needed once the trade is locked"), kind=TEXT),
)  # fmt: skip


class TimesRejected(RowsRejected):
    default_code = "times_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    trade_id: int
    slot_id: int
    code: str
    seconds: int
    reason: str


async def plan_import(competition_id: int, table: kit.Table, *, trade_id: int | None = None):
    """Check every row against the file and the database; nothing is written."""
    grid = shared.grid_of(table, COLUMNS)
    plan = Plan(KIND, [kit.ReportSheet(SHEET, table.rows, grid.header_row)])
    contestants = await Contestants.load(competition_id, grid.column("code"))
    seen: dict[int, int] = {}
    for check in shared.rows_of(grid):
        slot = contestants.slot(check, contestants.trade(check, trade_id))
        seconds = 0
        text = check.cell("time")
        if not text:
            check.problem("time", N_("The completion time is missing."), "time_missing")
        else:
            try:
                seconds = parse_duration(text)
            except ValidationFailed as exc:
                check.refuse("time", exc)
        reason = ""
        if slot is not None:
            trade = contestants.trades[slot.trade_id]
            reason = read_reason(
                check,
                required=trade.stage in CHANGE_AFTER_LOCK,
                code="locked_change_reason_required",
            )
            if not wrong_stage(check, trade):
                if slot.id in seen:
                    check.problem("code", N_("This contestant is already on row {row} of the "
                                             "file.", row=seen[slot.id]),
                                  "duplicate_in_file")  # fmt: skip
                else:
                    seen[slot.id] = check.number
        if check.ok:
            assert slot is not None
            plan.rows.append(
                Planned(check.number, slot.trade_id, slot.id, slot.shown, seconds, reason)
            )
            plan.trade_ids.add(slot.trade_id)
        plan.problems.extend(check.found)
    grid.release()
    if plan.problems:
        plan.rows.clear()
        plan.trade_ids.clear()
    return plan


async def read_plan(competition_id: int, data: bytes, *, trade_id: int | None = None) -> Plan:
    table = await anyio.to_thread.run_sync(kit.read_table, data, LIMITS)
    return await plan_import(competition_id, table, trade_id=trade_id)


def report(plan: Plan) -> bytes:
    return shared.report(plan)


def template() -> bytes:
    writer = kit.TemplateWriter()
    writer.data_sheet(
        SHEET,
        COLUMNS,
        examples=[
            {"trade": "T001", "code": "J0417", "time": "95:30"},
            {"trade": "T001", "code": "J0522", "time": "1:38:05"},
        ],
        rows=LIMITS.max_rows,
    )
    return writer.close()


async def _store(competition_id: int, plan: Plan, *, actor: Actor, filename: str):
    async with db.transaction():
        after_lock = await open_trades(plan.trade_ids)
        if after_lock and any(after_lock.values()):
            missing = [r for r in plan.rows if after_lock[r.trade_id] and not r.reason]
            if missing:
                raise ValidationFailed("Give a reason.", code="locked_change_reason_required")
        existing: dict[int, tuple[int, int]] = {}
        for time_id, slot_id, seconds in await shared.chunked_rows(
            "SELECT id, slot, seconds FROM completion_time WHERE slot IN ({marks})",
            sorted({r.slot_id for r in plan.rows}),
        ):
            existing[slot_id] = (time_id, seconds)
        stamp = shared.stamp(clock.now())
        created, changed, changes = [], [], []
        for row in plan.rows:
            old = existing.get(row.slot_id)
            if old is None:
                created.append((row.slot_id, row.trade_id, row.seconds, actor.user_id, stamp))
            elif old[1] != row.seconds:
                changed.append((old[0], row.seconds))
                changes.append({
                    "code": row.code, "old": format_duration(old[1]),
                    "new": format_duration(row.seconds), "reason": row.reason,
                    "after_lock": after_lock[row.trade_id],
                })  # fmt: skip
        writes = shared.Writes(
            "completion_time",
            ["slot", "trade", "seconds", "entered_by", "entered_at"],
            created,
            "seconds",
            changed,
            {"entered_by": actor.user_id, "entered_at": stamp},
        )
        return await shared.write_counted(
            competition_id, plan, writes, action="times.import", actor=actor,
            filename=filename, changes=changes,
        )  # fmt: skip


async def commit(
    competition_id: int, plan: Plan, *, actor: Actor, filename: str = "", recompute: bool = True
) -> shared.CountedResult:
    """Store a plan without problems in one transaction (all or nothing), then recompute the
    totals of its trades (unless the caller recomputes them once after several imports)."""
    if plan.problems:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename, problems=plan.problems
        )
        raise TimesRejected(plan.problems)
    try:
        try:
            result = await _store(competition_id, plan, actor=actor, filename=filename)
        except Exception as exc:
            if not db.is_integrity_error(exc):
                raise
            # Another import of the same contestants landed between the read and the write.
            raise Conflict(
                "Another import changed these contestants at the same moment; check the file "
                "again.",
                code="import_conflict",
            ) from exc
    except DomainError as exc:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename,
            problems=[shared.refusal_problem(exc)],
        )  # fmt: skip
        raise
    if recompute:
        await shared.recompute_totals(plan.trade_ids)
    return result
