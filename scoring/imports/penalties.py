"""Penalties keyed in from paper (扣分), by the organizer for the chief judges.

Columns: 加密号 (the code on the score sheets), 分值 (signed, at most 2 decimals, not zero: −5 takes
5 marks off), 类型 (安全违规, 超时 or 其他), 原因 (required), and 工种 where a code could be of
several trades. Each row is read as the chief judge's own entry reads it
(`scoring/sheets/penalties.py`: the value, the kind, the reason, the trade from the start of
competing until the results are published). A penalty is an entry of its own, so a row the file
repeats, or one already recorded (the same contestant, kind, value and reason — the same file
imported twice), is refused rather than taking the marks off twice. One bad row stores nothing;
the import leaves one audit record ("penalties.import") listing every penalty it added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from competition import audit, clock, db
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.errors import DomainError, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.spreadsheets import NUMBER, TEXT, Column, RowsRejected
from scoring.imports import shared
from scoring.imports.shared import Contestants, Plan, RowCheck, TradeFacts
from scoring.rules.values import format_hundredths
from scoring.sheets.lock import CHANGE_AFTER_LOCK
from scoring.sheets.penalties import ENTRY_STAGES, REASON_MAX, parse_penalty
from scoring.stages import trade_for_action
from scoring.tables import PenaltyKind

KIND = "penalties"
LIMITS = kit.LIMITS["penalties"]
SHEET = "扣分"

KIND_WORDS = {
    "安全违规": PenaltyKind.safety, "安全": PenaltyKind.safety, "违规": PenaltyKind.safety,
    "safety": PenaltyKind.safety,
    "超时": PenaltyKind.overtime, "overtime": PenaltyKind.overtime,
    "其他": PenaltyKind.other, "其它": PenaltyKind.other, "other": PenaltyKind.other,
}  # fmt: skip
MSG_WRONG_STAGE = (
    "Penalties and completion times are entered from the start of competing until the results "
    "are published."
)

COLUMNS: tuple[Column, ...] = (
    shared.TRADE_COLUMN,
    shared.CODE_COLUMN,
    Column("value", "分值", ("扣分", "扣分值", "value"),
           N_("Signed, at most 2 decimals: -5 takes 5 marks off"), True, NUMBER),
    Column("kind", "类型", ("扣分类型", "kind"), N_("安全违规, 超时 or 其他"), True),
    Column("reason", "原因", ("扣分原因", "说明", "reason"), N_("Why, as the chief judge wrote it"),
           True, TEXT),
)  # fmt: skip


class PenaltiesRejected(RowsRejected):
    default_code = "penalties_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    trade_id: int
    slot_id: int
    code: str
    kind: str
    hundredths: int
    reason: str


@dataclass
class ImportResult:
    rows: int

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows}


def wrong_stage(check: RowCheck, trade: TradeFacts) -> bool:
    if trade.stage in ENTRY_STAGES:
        return False
    check.problem("", N_(MSG_WRONG_STAGE), "penalty_wrong_stage")
    return True


def read_reason(check: RowCheck, *, required: bool, code: str = "penalty_reason_required") -> str:
    reason = " ".join(check.cell("reason").split())
    if required and not reason:
        check.problem("reason", N_("Give a reason."), code)
    elif len(reason) > REASON_MAX:
        check.problem("reason", N_("The reason has at most {max} characters.", max=REASON_MAX),
                      "reason_long")  # fmt: skip
    return reason


async def _recorded(slot_ids: list[int]) -> set[tuple[int, str, int, str]]:
    return {
        (slot, kind, hundredths, reason)
        for slot, kind, hundredths, reason in await shared.chunked_rows(
            "SELECT slot, kind, hundredths, reason FROM penalty WHERE slot IN ({marks})",
            slot_ids,
        )
    }


async def plan_import(competition_id: int, table: kit.Table, *, trade_id: int | None = None):
    """Check every row against the file and the database; nothing is written."""
    grid = shared.grid_of(table, COLUMNS)
    plan = Plan(KIND, [kit.ReportSheet(SHEET, table.rows, grid.header_row)])
    contestants = await Contestants.load(competition_id, grid.column("code"))
    recorded = await _recorded(
        sorted({s.id for slots in contestants.by_code.values() for s in slots})
    )
    seen: dict[tuple[int, str, int, str], int] = {}
    for check in shared.rows_of(grid):
        slot = contestants.slot(check, contestants.trade(check, trade_id))
        hundredths = 0
        if not check.cell("value"):
            check.problem("value", N_("The penalty is missing."), "penalty_missing")
        else:
            try:
                hundredths = parse_penalty(check.cell("value"))
            except ValidationFailed as exc:
                check.refuse("value", exc)
        kind = KIND_WORDS.get(check.cell("kind").replace(" ", "").lower())
        if kind is None:
            check.problem("kind", N_("Write 安全违规, 超时 or 其他."), "penalty_kind")
        reason = read_reason(check, required=True)
        open_trade = slot is not None and not wrong_stage(check, contestants.trades[slot.trade_id])
        if open_trade and check.ok:
            key = (slot.id, kind.value, hundredths, reason)
            if key in seen:
                check.problem("", N_("This penalty is already on row {row} of the file.",
                                     row=seen[key]), "duplicate_in_file")  # fmt: skip
            elif key in recorded:
                check.problem("", N_("This penalty is already recorded (was the file imported "
                                     "before?)."), "penalty_recorded")  # fmt: skip
            else:
                seen[key] = check.number
        if check.ok:
            assert slot is not None and kind is not None
            plan.rows.append(Planned(check.number, slot.trade_id, slot.id, slot.shown,
                                     kind.value, hundredths, reason))  # fmt: skip
            plan.trade_ids.add(slot.trade_id)
        plan.problems.extend(check.found)
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
            {"trade": "T001", "code": "J0417", "value": -5, "kind": "安全违规",
             "reason": "未佩戴护目镜"},
            {"trade": "T001", "code": "J0522", "value": -2, "kind": "超时",
             "reason": "超时 4 分钟"},
        ],
        choices={"kind": ["安全违规", "超时", "其他"]},
        rows=LIMITS.max_rows,
    )  # fmt: skip
    return writer.close()


async def open_trades(trade_ids: set[int]) -> dict[int, bool]:
    """Each trade read again inside the transaction (FOR SHARE on PostgreSQL, so the lock and
    publication wait): trade → past the lock."""
    after_lock = {}
    for trade_id in sorted(trade_ids):
        state = await trade_for_action(trade_id)
        if state.stage not in ENTRY_STAGES:
            raise PhaseError(MSG_WRONG_STAGE, code="penalty_wrong_stage")
        after_lock[trade_id] = state.stage in CHANGE_AFTER_LOCK
    return after_lock


async def _store(competition_id: int, plan: Plan, *, actor: Actor, filename: str):
    async with db.transaction():
        after_lock = await open_trades(plan.trade_ids)
        if await _recorded(sorted({r.slot_id for r in plan.rows})) & {
            (r.slot_id, r.kind, r.hundredths, r.reason) for r in plan.rows
        }:
            raise ValidationFailed(
                "This penalty is already recorded (was the file imported before?).",
                code="penalty_recorded",
            )
        now = clock.now()
        added = []
        for row in plan.rows:
            ids = await db.fetch_rows(
                "INSERT INTO penalty (slot, trade, kind, hundredths, reason, entered_by, "
                "entered_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                row.slot_id, row.trade_id, row.kind, row.hundredths, row.reason,
                actor.user_id, now,
            )  # fmt: skip
            added.append({
                "penalty": ids[0][0], "code": row.code, "penalty_kind": row.kind,
                "marks": format_hundredths(row.hundredths), "reason": row.reason,
                "after_lock": after_lock[row.trade_id],
            })  # fmt: skip
        await audit.record(
            "penalties.import",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            new={
                "file": filename[:200],
                "rows": len(plan.rows),
                "trades": sorted(plan.trade_ids),
                "penalties": added,
            },
        )
    return ImportResult(len(plan.rows))


async def commit(
    competition_id: int, plan: Plan, *, actor: Actor, filename: str = "", recompute: bool = True
) -> ImportResult:
    """Store a plan without problems in one transaction (all or nothing), then recompute the
    totals of its trades (unless the caller recomputes them once after several imports)."""
    if plan.problems:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename, problems=plan.problems
        )
        raise PenaltiesRejected(plan.problems)
    try:
        result = await _store(competition_id, plan, actor=actor, filename=filename)
    except DomainError as exc:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename,
            problems=[shared.refusal_problem(exc)],
        )  # fmt: skip
        raise
    if recompute:
        await shared.recompute_totals(plan.trade_ids)
    return result
