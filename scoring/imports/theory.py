"""Theory and oral defence scores from the exam system (理论/答辩成绩).

Columns: 准考证号 or 加密号 (either names the contestant: the admission ticket, or a code of the
draw — either layer), 成绩 (0–100, at most 2 decimals), 项目 (理论 or 答辩; empty: 理论), and 工种
where a code could be of several trades. The event must be one the trade weighs
(`Trade.events`). A score is stored as the contestant's `EventScore`, replacing an earlier one;
an entry's event twice in the file is refused, and one bad row stores nothing.

Sized for 200,000 rows: the lookups go a chunk of 500 values at a time, the scores are written
in bulk (COPY on PostgreSQL), and the import leaves one audit record ("theory.import") with its
counts and every score it replaced, old → new — a record a row would cost a minute and a half
on SQLite for 200,000 rows (`competition.audit.record_many`, measured). A score is accepted
until the trade's results are published; one replaced after the lock is counted apart in that
record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anyio

from competition import clock, db
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.errors import Conflict, DomainError, PhaseError
from competition.i18n import N_
from competition.schemas import EVENT_NAMES
from competition.spreadsheets import CODE, NUMBER, Column, RowsRejected
from competition.stages import Stage
from competition.tables import EventKind
from registration.tables import EntryStatus
from scoring.imports import shared
from scoring.imports.shared import Contestants, Plan, RowCheck
from scoring.rules.values import MarkValueError, read_number
from scoring.sheets.lock import CHANGE_AFTER_LOCK
from scoring.stages import trade_for_action

KIND = "theory"
LIMITS = kit.LIMITS["theory"]
SHEET = "理论成绩"
MAX_HUNDREDTHS = 100_00
CLOSED = frozenset({Stage.published, Stage.final})

# Plain strings, not the enum: looked up 200,000 times.
THEORY, ORAL = EventKind.theory.value, EventKind.oral.value
APPROVED = EntryStatus.approved.value
EVENT_WORDS = {
    "理论": THEORY, "理论知识": THEORY, "理论考试": THEORY, "theory": THEORY,
    "答辩": ORAL, "口试": ORAL, "oral": ORAL,
}  # fmt: skip

COLUMNS: tuple[Column, ...] = (
    shared.TRADE_COLUMN,
    Column("ticket", "准考证号", ("准考证", "准考证编号", "ticket", "ticketnumber"),
           N_("The ticket number; or give the code instead"), kind=CODE, spaceless=True),
    Column("code", "加密号", ("选手加密号", "code"),
           N_("The contestant's code; or give the ticket number instead"), kind=CODE,
           spaceless=True),
    Column("score", "成绩", ("分数", "理论成绩", "答辩成绩", "score"),
           N_("Out of 100, at most 2 decimals"), True, NUMBER),
    Column("event", "项目", ("考试项目", "event"), N_("理论 or 答辩; empty: 理论")),
)  # fmt: skip


class TheoryRejected(RowsRejected):
    default_code = "theory_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    entry_id: int
    trade_id: int
    event: str
    hundredths: int


def parse_score(text: str) -> int:
    """A score out of 100 as written, in hundredths; ValueError with the msgid to show."""
    if not text:
        raise _ScoreError(N_("The score is missing."), "score_missing")
    try:
        number = read_number(text)
    except MarkValueError:
        raise _ScoreError(N_("The score {value} is not a number.", value=text[:20]),
                          "score_not_a_number") from None  # fmt: skip
    hundredths = number * 100
    if hundredths.denominator != 1:
        raise _ScoreError(N_("A score has at most 2 decimals: {value}.", value=text[:20]),
                          "score_too_many_decimals")  # fmt: skip
    if not 0 <= hundredths <= MAX_HUNDREDTHS:
        raise _ScoreError(N_("A score is between 0 and 100: {value}.", value=text[:20]),
                          "score_out_of_range")  # fmt: skip
    return int(hundredths)


# An exam system gives at most 10,001 different scores: each text is read once.
_score = lru_cache(maxsize=20_000)(parse_score)


class _ScoreError(ValueError):
    def __init__(self, message: Any, code: str) -> None:
        super().__init__(str(message))
        self.msg = message
        self.code = code


async def _entries(competition_id: int, tickets: list[str]) -> dict[str, tuple[int, int, str]]:
    """Ticket → (entry, trade, status)."""
    found = {}
    if len(tickets) > shared.WHOLE_DRAW:
        # Every ticket of the competition in one read: lookups of 150 tickets at a time took
        # ~35 µs a ticket, 8 s of a province's 200,000 theory scores.
        wanted = set(tickets)
        for entry_id, ticket, trade_id, status in await db.fetch_rows(
            "SELECT id, ticket_number, trade, status FROM entry WHERE competition = ? AND "
            "ticket_number IS NOT NULL",
            competition_id,
        ):
            if ticket.upper() in wanted:
                found[ticket.upper()] = (entry_id, trade_id, status)
        return found
    for entry_id, ticket, trade_id, status in await shared.chunked_rows(
        "SELECT id, ticket_number, trade, status FROM entry WHERE competition = ? AND "
        "ticket_number IN ({marks})",
        tickets,
        competition_id,
    ):
        found[ticket.upper()] = (entry_id, trade_id, status)
    return found


def _closed(check: RowCheck, trade: shared.TradeFacts) -> bool:
    if trade.stage in CLOSED:
        check.problem(
            "",
            N_("The results of the trade {trade} are published: its scores no longer change "
               "by import.", trade=trade.code),
            "trade_published",
        )  # fmt: skip
        return True
    return False


async def plan_import(competition_id: int, table: kit.Table, *, trade_id: int | None = None):
    """Check every row against the file and the database; nothing is written."""
    grid = shared.grid_of(table, COLUMNS)
    if not grid.has("ticket") and not grid.has("code"):
        raise kit.FileRefused(
            N_("The file needs a 准考证号 or a 加密号 column to name each contestant."),
            code="missing_columns",
        )
    plan = Plan(KIND, [kit.ReportSheet(SHEET, table.rows, grid.header_row)])
    codes = grid.column("code") if grid.has("code") else []
    contestants = await Contestants.load(competition_id, codes)
    tickets = grid.column("ticket") if grid.has("ticket") else []
    entries = await _entries(competition_id, sorted({t.upper() for t in tickets if t}))
    seen: dict[tuple[int, str], int] = {}
    for check in shared.rows_of(grid):
        trade = contestants.trade(check, trade_id)
        ticket = check.cell("ticket").upper()
        code = check.cell("code")
        entry = None
        if ticket:
            entry = entries.get(ticket)
            if entry is None:
                check.problem("ticket", N_("No contestant of this competition has the ticket "
                                           "number {value}.", value=ticket),
                              "ticket_not_found")  # fmt: skip
            elif entry[2] != APPROVED:
                check.problem("ticket", N_("The entry with this ticket is not approved."),
                              "entry_not_approved")  # fmt: skip
                entry = None
        if code:
            # The ticket's trade tells which trade's code it is, where codes repeat.
            known = trade or (contestants.trades[entry[1]] if entry is not None else None)
            slot = contestants.slot(check, known, sheet_code=False)
            if slot is not None:
                if entry is not None and entry[0] != slot.entry_id:
                    check.problem("code", N_("The ticket number and the code are of different "
                                             "contestants."), "ticket_code_differ")  # fmt: skip
                    entry = None
                elif not ticket:
                    entry = (slot.entry_id, slot.trade_id, APPROVED)
        elif not ticket:
            key = "ticket" if grid.has("ticket") else "code"
            check.problem(key, N_("Give the ticket number or the code."), "contestant_missing")
        event = EVENT_WORDS.get(check.cell("event").replace(" ", "").lower() or "理论")
        if event is None:
            check.problem("event", N_("Write 理论 or 答辩."), "invalid_event")
        hundredths = 0
        try:
            hundredths = _score(check.cell("score"))
        except _ScoreError as exc:
            check.problem("score", exc.msg, exc.code)
        if entry is not None and not check.failed("trade"):
            entry_trade = contestants.trades[entry[1]]
            if trade is not None and entry_trade.id != trade.id:
                check.problem("ticket" if ticket else "code",
                              N_("This contestant is of another trade ({trade}).",
                                 trade=entry_trade.code), "other_trade")  # fmt: skip
            elif not _closed(check, entry_trade) and event is not None:
                if entry_trade.events.get(event, 0) <= 0:
                    name = EVENT_NAMES[EventKind(event)]
                    check.problem("event", N_("The trade {trade} has no weighted {event} event.",
                                              trade=entry_trade.code, event=name),
                                  "event_not_weighted")  # fmt: skip
                elif (entry[0], event) in seen:
                    check.problem("", N_("This contestant's score for this event is already on "
                                         "row {row} of the file.",
                                         row=seen[(entry[0], event)]),
                                  "duplicate_in_file")  # fmt: skip
                else:
                    seen[(entry[0], event)] = check.number
        if check.ok:
            assert entry is not None and event is not None
            plan.rows.append(Planned(check.number, entry[0], entry[1], event, hundredths))
            plan.trade_ids.add(entry[1])
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
            {"ticket": "QH16-T001-0001", "score": 85.5, "event": "理论"},
            {"ticket": "QH16-T001-0002", "score": 72, "event": "理论"},
        ],
        choices={"event": ["理论", "答辩"]},
        rows=LIMITS.max_rows,
    )
    return writer.close()


async def _store(competition_id: int, plan: Plan, *, actor: Actor, filename: str):
    async with db.transaction():
        stages = {}
        for trade_id in sorted(plan.trade_ids):
            state = await trade_for_action(trade_id)
            if state.stage in CLOSED:
                raise PhaseError(
                    "The results of the trade {trade} are published: its scores no longer "
                    "change by import.",
                    code="trade_published",
                    trade=state.code,
                )
            stages[trade_id] = state.stage
        existing: dict[tuple[int, str], tuple[int, int]] = {}
        for score_id, entry_id, event, hundredths in await shared.chunked_rows(
            "SELECT id, entry, event, hundredths FROM event_score WHERE entry IN ({marks})",
            sorted({r.entry_id for r in plan.rows}),
        ):
            existing[(entry_id, event)] = (score_id, hundredths)
        stamp = shared.stamp(clock.now())
        created, changed, changes = [], [], []
        after_lock = 0
        for row in plan.rows:
            old = existing.get((row.entry_id, row.event))
            if old is None:
                created.append((row.entry_id, row.trade_id, row.event, row.hundredths, "import",
                                actor.user_id, stamp))  # fmt: skip
            elif old[1] != row.hundredths:
                changed.append((old[0], row.hundredths))
                changes.append([row.entry_id, row.event, old[1], row.hundredths])
                after_lock += stages[row.trade_id] in CHANGE_AFTER_LOCK
        writes = shared.Writes(
            "event_score",
            ["entry", "trade", "event", "hundredths", "source", "entered_by", "entered_at"],
            created,
            "hundredths",
            changed,
            {"source": "import", "entered_by": actor.user_id, "entered_at": stamp},
        )
        # changes: [entry, event, old hundredths, new hundredths] of every score replaced.
        return await shared.write_counted(
            competition_id, plan, writes, action="theory.import", actor=actor,
            filename=filename, changes=changes, counts={"after_lock": after_lock},
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
        raise TheoryRejected(plan.problems)
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
