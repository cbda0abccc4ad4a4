"""The paper sign-in sheet (签到表) keyed in as an xlsx or CSV file, through the spreadsheet kit.

Columns: 准考证号 (the ticket number), 到场 (到场/缺考, also 是/否, √/×, 1/0, present/absent),
原因 (optional). A desk that worked on paper keys in who signed; each row becomes the entry's
attendance record, which overrides the desk's check-in. Every row is checked first (unknown
ticket, another trade's ticket, a trade already drawn, a value that is neither present nor
absent, a formula); one bad row stores nothing, and the report workbook repeats the rows with an
错误 column.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import anyio

from competition import audit
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.db import execute_many, fetch_rows, is_postgres, transaction
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, Column, RowProblem, RowsRejected
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Trade
from registration.tables import Entry, EntryStatus
from scoring.draw.attendance import MAX_REASON, require_not_drawn
from scoring.stages import trade_for_action
from scoring.tables import Attendance

LIMITS = kit.LIMITS["signin"]
SHEET = "签到表"
LOOKUP_CHUNK = 500
WHOLE_COMPETITION = 5_000  # more tickets than this in a sheet: every ticket is read at once
# 6 values a row: 150 rows keep a statement under SQLite's 999 variables.
WRITE_CHUNK = 150

PRESENT_WORDS = {"到场", "到", "已到", "出席", "签到", "已签到", "是", "√", "✓", "✔", "y", "yes",
                 "1", "present", "true", "p"}  # fmt: skip
ABSENT_WORDS = {"缺考", "缺席", "未到", "未到场", "缺", "否", "×", "✗", "✘", "x", "n", "no", "0",
                "absent", "false", "a"}  # fmt: skip

COLUMNS: tuple[Column, ...] = (
    Column("ticket", "准考证号", ("准考证", "准考证编号", "ticket", "ticketnumber"),
           N_("The ticket number, as printed on the admission ticket"), True, CODE,
           spaceless=True),
    Column("present", "到场", ("是否到场", "到场情况", "签到", "出缺席", "present"),
           N_("到场 or 缺考"), True),
    Column("reason", "原因", ("缺考原因", "备注", "说明", "reason"),
           N_("Optional: why the contestant is absent (or late)")),
)  # fmt: skip


class SheetRejected(RowsRejected):
    default_code = "signin_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    entry_id: int
    trade_id: int
    present: bool
    reason: str


@dataclass
class Plan:
    table: kit.Table
    header_row: int
    rows: list[Planned] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def present(self) -> int:
        return sum(r.present for r in self.rows)

    @property
    def absent(self) -> int:
        return sum(not r.present for r in self.rows)


@dataclass
class ImportResult:
    rows: int
    present: int
    absent: int
    trades: int


def parse_present(text: str) -> bool | None:
    value = text.replace(" ", "").lower()
    if value in PRESENT_WORDS:
        return True
    if value in ABSENT_WORDS:
        return False
    return None


async def _entries(competition_id: int, tickets: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    if len(tickets) > WHOLE_COMPETITION:
        # One read of every ticket of the competition: ~0.5 s for 200,000, where 100 lookups
        # of 500 tickets each took ~8 s for a 50,000-row sheet.
        wanted = set(tickets)
        for entry_id, number, trade, status, code in await fetch_rows(
            "SELECT e.id, e.ticket_number, e.trade, e.status, t.code FROM entry e "
            "JOIN trade t ON t.id = e.trade WHERE e.competition = ? "
            "AND e.ticket_number IS NOT NULL",
            competition_id,
        ):
            key = number.upper()
            if key in wanted:
                found[key] = {"id": entry_id, "ticket_number": number, "trade": trade,
                              "status": status, "trade.code": code}  # fmt: skip
        return found
    for start in range(0, len(tickets), LOOKUP_CHUNK):
        chunk = tickets[start : start + LOOKUP_CHUNK]
        for row in await Entry.select(
            Entry.id, Entry.ticket_number, Entry.trade, Entry.status, Entry.trade.code
        ).where((Entry.competition == competition_id) & Entry.ticket_number.is_in(chunk)):
            found[row["ticket_number"].upper()] = row
    return found


async def plan_import(
    competition_id: int, table: kit.Table, *, trade_id: int | None = None
) -> Plan:
    """Check every row against the file and the database; nothing is written. With `trade_id`
    (the trade's page) every ticket must be of that trade."""
    grid = kit.Grid(table, COLUMNS, min_columns=2)
    if grid.empty or not grid.indices:
        raise kit.no_rows()
    missing = grid.missing()
    if missing:
        raise kit.missing_columns(missing)
    plan = Plan(table, grid.header_row)
    refused = grid.problems()
    tickets = grid.column("ticket")
    entries = await _entries(competition_id, sorted({t.upper() for t in tickets if t}))
    trades = {
        r["id"]: r
        for r in await Trade.select(Trade.id, Trade.code, Trade.stage).where(
            Trade.competition == competition_id
        )
    }
    seen: Counter[str] = Counter()
    for index, number in enumerate(grid.numbers):
        found = list(refused.get(index, ()))
        taken = {p.column for p in found}

        def problem(
            key: str, message: Msg, code: str, found=found, taken=taken, number=number
        ) -> None:
            if grid.header(key) not in taken:
                found.append(RowProblem(number, grid.header(key), message, code))

        def cell(key: str, index: int = index) -> str:
            return grid.cell(index, key) if grid.has(key) else ""

        ticket = cell("ticket").upper()
        entry = entries.get(ticket)
        if ticket:
            seen[ticket] += 1
        if not ticket:
            problem("ticket", N_("The ticket number is missing."), "ticket_missing")
        elif seen[ticket] > 1:
            problem("ticket", N_("This ticket number is on an earlier row of the file."),
                    "duplicate_in_file")  # fmt: skip
        elif entry is None:
            problem("ticket", N_("No contestant of this competition has the ticket number "
                                 "{value}.", value=ticket), "ticket_not_found")  # fmt: skip
        elif entry["status"] != EntryStatus.approved.value:
            problem("ticket", N_("The entry with this ticket is not approved."),
                    "entry_not_approved")  # fmt: skip
        elif trade_id is not None and entry["trade"] != trade_id:
            problem("ticket", N_("This ticket is for another trade ({trade}).",
                                 trade=entry["trade.code"]), "other_trade")  # fmt: skip
        elif Stage(trades[entry["trade"]]["stage"]) != Stage.not_drawn:
            stage = Stage(trades[entry["trade"]]["stage"])
            problem("ticket", N_("The trade {code} is in the stage “{stage}”: its attendance "
                                 "can no longer change.", code=entry["trade.code"],
                                 stage=STAGE_LABELS[stage]), "wrong_stage")  # fmt: skip
        present = parse_present(cell("present"))
        if present is None:
            problem("present", N_("Write 到场 or 缺考."), "invalid_present")
        reason = " ".join(cell("reason").split())
        if len(reason) > MAX_REASON:
            problem("reason", N_("At most {n} characters.", n=MAX_REASON), "too_long")
        if found:
            plan.problems.extend(found)
            continue
        assert entry is not None and present is not None
        plan.rows.append(Planned(number, entry["id"], entry["trade"], present, reason))
    return plan


async def read_plan(competition_id: int, data: bytes, *, trade_id: int | None = None) -> Plan:
    table = await anyio.to_thread.run_sync(kit.read_table, data, LIMITS)
    return await plan_import(competition_id, table, trade_id=trade_id)


def report(plan: Plan) -> bytes:
    return kit.report_workbook(
        [kit.ReportSheet(SHEET, plan.table.rows, plan.header_row)], plan.problems, listing=True
    )


def template() -> bytes:
    writer = kit.TemplateWriter()
    writer.data_sheet(
        SHEET,
        COLUMNS,
        examples=[
            {"ticket": "QH16-T001-0001", "present": "到场"},
            {"ticket": "QH16-T001-0002", "present": "缺考", "reason": "病假"},
        ],
        choices={"present": ["到场", "缺考"]},
        rows=10_000,
    )
    return writer.close()


async def commit(
    competition_id: int, plan: Plan, *, actor: Actor, filename: str = ""
) -> ImportResult:
    """Store a plan without problems in one transaction (all or nothing)."""
    if plan.problems:
        raise SheetRejected(plan.problems)
    trade_ids = sorted({r.trade_id for r in plan.rows})
    async with transaction():
        for trade_id in trade_ids:
            # Read (and on PostgreSQL hold) each trade: a draw started meanwhile wins or waits.
            require_not_drawn(await trade_for_action(trade_id))
        ids = [r.entry_id for r in plan.rows]
        for start in range(0, len(ids), LOOKUP_CHUNK):
            await Attendance.delete().where(
                Attendance.entry.is_in(ids[start : start + LOOKUP_CHUNK])
            )
        now = dt.datetime.now(dt.UTC)
        stamp = now if is_postgres() else str(now)
        values = [
            (r.entry_id, r.present, "sheet", r.reason, actor.user_id, stamp) for r in plan.rows
        ]
        for start in range(0, len(values), WRITE_CHUNK):
            await execute_many(
                'INSERT INTO "attendance" (entry, present, source, reason, recorded_by, '
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                values[start : start + WRITE_CHUNK],
            )
        await audit.record(
            "attendance.sheet",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            new={
                "file": filename[:200],
                "rows": len(plan.rows),
                "present": plan.present,
                "absent": plan.absent,
                "trades": trade_ids,
            },
        )
    return ImportResult(len(plan.rows), plan.present, plan.absent, len(trade_ids))
