"""Marks keyed in from paper score sheets (纸质评分表录入), when the tablets cannot be used.

Columns: 加密号 (the code on the sheet), 评分项 (the aspect's code in the trade's marking scheme),
裁判 (the judge's username or name in the register; empty for a Measurement value, which is the
panel's), 分数 (the value as written), and 工种 where a code could be of several trades.

Every row goes through the checks of a tablet mark (`scoring/sheets/marks.py`): the value by
the aspect's rule, the cell on that judge's sheet (recusal included), the sheet not signed, a
Measurement value not fixed by a signed sheet, the trade competing; a cell twice in the file is
refused too. One bad row stores nothing. Keyed twice by two people (double entry), the two files
are compared cell by cell: any difference, or a cell in one file only, stores nothing and lists
each difference.

The commit writes what `set_mark_in_transaction` writes for each mark (kind "paper", client id
"paper-<batch>-<row>", the organizer as actor), so the marks' trail holds every paper value like
a tablet's: the marks of empty cells in bulk, a value replacing another one at a time. With
`sign` (the paper sheets were signed), each sheet of a judge the file names
that is complete after the import is then signed, audited as "sheet.signed" with the reason
"paper" — never the sheet of a judge who is not in the file, whose Measurement values the import
may have completed — and a trade whose sheets are all done moves on to "marks complete" as after
a tablet signature. A Measurement value given without a judge goes on the sheet of a judge the
file names for that session, else on the session's first open sheet holding the contestant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from competition import audit, clock, db
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.errors import DomainError, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.spreadsheets import CODE, Column, RowProblem, RowsRejected
from scoring.imports import shared
from scoring.imports.shared import Contestants, Plan, RowCheck, SlotFacts, TradeFacts
from scoring.rules.values import MarkValueError, format_hundredths, read_number
from scoring.sheets.marks import (
    READ_ONLY,
    AspectFacts,
    SheetFacts,
    check_cell,
    check_sheet_open,
    fixes_measurement,
    json_list,
    parse_value,
    remarked_cells,
    scheme_aspects,
    set_mark_in_transaction,
    sheet_facts,
)
from scoring.sheets.roster import current_scheme_id, ensure_sheets
from scoring.sheets.signing import complete_if_done, missing_cells
from scoring.tables import MarkChangeKind, ScoreSheet, SheetStatus

KIND = "marks"
SIGNED = frozenset((SheetStatus.signed.value, SheetStatus.verified.value))
LIMITS = kit.LIMITS["marks"]
SHEET = "纸质评分"
FIRST, SECOND = "1", "2"  # the `RowProblem.sheet` of each file of a double entry
SHEET_TITLES = {FIRST: "第一次录入", SECOND: "第二次录入"}
DEVICE = "paper"
SIGN_REASON = "paper"

COLUMNS: tuple[Column, ...] = (
    shared.TRADE_COLUMN,
    shared.CODE_COLUMN,
    Column("aspect", "评分项", ("评分项代码", "评分项编号", "aspect"),
           N_("The aspect's code in the marking scheme (A1, B2 …)"), True, CODE, spaceless=True),
    Column("judge", "裁判", ("裁判员", "裁判用户名", "裁判姓名", "judge"),
           N_("The judge's username or name; empty for a Measurement value (the panel's)"),
           kind=CODE),
    Column("value", "分数", ("评分", "分值", "value", "mark"),
           N_("As written: 0–3 for a Judgement aspect, the marks for a Measurement aspect"),
           True, CODE),
)  # fmt: skip

MSG_MEASUREMENT_SIGNED = (
    "Another judge of the panel has signed a sheet with this value: ask the chief judge to "
    "return it before it changes."
)
# The tablet's refusals speak to the judge ("your sheet"); here they name the judge.
CELL_MESSAGES = {
    "contestant_recused": N_(
        "The judge {judge} does not score this contestant (recusal: same delegation or employer)."
    ),
    "contestant_not_on_sheet": N_("The contestant is not on the score sheet of {judge}."),
    "aspect_not_on_sheet": N_("The aspect is not on the score sheet of {judge}."),
}
CELL_COLUMNS = {"aspect_not_on_sheet": "aspect"}

Key = tuple[int, int, int | None]  # (slot, aspect, judge) — judge None: a Measurement value


class MarksRejected(RowsRejected):
    default_code = "paper_marks_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    trade_id: int
    slot_id: int
    aspect_id: int
    judge_id: int | None  # the mark's judge: None for a Measurement value
    sheet_id: int
    value: int  # hundredths
    measurement: bool


@dataclass(frozen=True)
class Keyed:
    """A row whose cell could be named, for comparing two entries."""

    row: int
    text: str  # the value as written
    value: int | None  # in hundredths, when it could be read


@dataclass
class MarksPlan(Plan):
    keyed: dict[Key, Keyed] = field(default_factory=dict)
    sheet_ids: set[int] = field(default_factory=set)  # every sheet a mark goes on
    named: set[int] = field(default_factory=set)  # sheets of the judges the rows name
    double: bool = False
    sheet_facts: dict[int, SheetFacts] = field(default_factory=dict)  # read by the commit

    def summary(self) -> dict[str, int]:
        return {
            "rows": len(self.rows),
            "sheets": len(self.sheet_ids),
            "trades": len(self.trade_ids),
        }


@dataclass
class ImportResult:
    rows: int
    saved: int
    unchanged: int
    sheets: int
    signed: int = 0
    unsigned: int = 0  # sheets the rows name still missing marks (with `sign`)
    completed_trades: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "saved": self.saved,
            "unchanged": self.unchanged,
            "sheets": self.sheets,
            "signed": self.signed,
            "unsigned": self.unsigned,
            "completed": "、".join(self.completed_trades),
        }


@dataclass
class _Panel:
    """The trade's judges by username and by name, and its sheets by session."""

    by_username: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    sheets: dict[tuple[int, int], int] = field(default_factory=dict)  # (session, judge) → sheet
    session_sheets: dict[int, list[int]] = field(default_factory=dict)


class _Facts:
    """What the rows are checked against, read once for the file."""

    def __init__(self, contestants: Contestants) -> None:
        self.contestants = contestants
        self.panels: dict[int, _Panel] = {}
        self.aspects: dict[int, dict[str, AspectFacts]] = {}  # trade → code → aspect
        self.sheets: dict[int, SheetFacts] = {}
        # Marks already on the file's contestants: key → (value, kind of its last change).
        self.marks: dict[Key, tuple[int, str]] = {}
        self.remarked: dict[int, set[tuple[int, int]]] = {}  # sheet → cells to mark again
        self.refusals: dict[int, PhaseError | None] = {}  # trade → `stage_refusal`

    async def load_marks(self) -> None:
        slot_ids = sorted({s.id for slots in self.contestants.by_code.values() for s in slots})
        for slot, aspect, judge, value, kind in await shared.chunked_rows(
            "SELECT m.slot, m.aspect, m.judge, m.value_hundredths, c.kind FROM mark m "
            "JOIN mark_change c ON c.client_id = m.client_id WHERE m.slot IN ({marks})",
            slot_ids,
        ):
            self.marks[(slot, aspect, judge)] = (value, kind)

    async def panel(self, trade: TradeFacts) -> _Panel:
        found = self.panels.get(trade.id)
        if found is not None:
            return found
        found = self.panels[trade.id] = _Panel()
        await ensure_sheets(trade.id, trade.stage)
        for judge_id, name, username in await db.fetch_rows(
            "SELECT j.id, j.name, u.username FROM panel_member p JOIN judge j ON j.id = p.judge "
            "JOIN app_user u ON u.id = j.user WHERE p.trade = ? ORDER BY j.id",
            trade.id,
        ):
            found.by_username[username.lower()] = judge_id
            found.by_name.setdefault(name, []).append(judge_id)
            found.names[judge_id] = name
        for sheet_id, session_id, judge_id in await db.fetch_rows(
            "SELECT id, session, judge FROM score_sheet WHERE trade = ? ORDER BY id", trade.id
        ):
            found.sheets[(session_id, judge_id)] = sheet_id
            found.session_sheets.setdefault(session_id, []).append(sheet_id)
        scheme_id = await current_scheme_id(trade.id)
        aspects = await scheme_aspects(scheme_id) if scheme_id is not None else {}
        self.aspects[trade.id] = {a.code.upper(): a for a in aspects.values()}
        return found

    async def sheet(self, sheet_id: int) -> SheetFacts:
        found = self.sheets.get(sheet_id)
        if found is None:
            found = self.sheets[sheet_id] = await sheet_facts(sheet_id)
        return found

    async def measurement_fixed(
        self, sheet: SheetFacts, slot_id: int, aspect_id: int, value: int
    ) -> bool:
        """`measurement_fixed` from what the file's check has read (a query a row was ~40 %
        of a 50,000-row check)."""
        current = self.marks.get((slot_id, aspect_id, None))
        remarked = self.remarked.get(sheet.id)
        if remarked is None:
            rows = await db.fetch_rows("SELECT remarks FROM score_sheet WHERE id = ?", sheet.id)
            remarked = self.remarked[sheet.id] = remarked_cells(rows[0][0] if rows else None)
        signed = False
        for other_id in self.panels[sheet.trade_id].session_sheets.get(sheet.session_id, []):
            other = await self.sheet(other_id)
            if other_id != sheet.id and other.status in SIGNED and slot_id in other.slots:
                signed = True
                break
        return fixes_measurement(
            current[0] if current is not None else None, value,
            remarked=(slot_id, aspect_id) in remarked, signed=signed,
        )  # fmt: skip


def stage_refusal(trade: TradeFacts) -> PhaseError | None:
    """What a tablet is told in the trade's stage (the checks of an open sheet)."""
    try:
        check_sheet_open(
            SheetFacts(0, 0, 0, 0, trade.id, 0, frozenset(), SheetStatus.open.value,
                       trade.stage.value, 0)
        )  # fmt: skip
    except PhaseError as exc:
        return exc
    return None


def _judge(check: RowCheck, panel: _Panel, trade: TradeFacts, text: str) -> int | None:
    judge_id = panel.by_username.get(text.lower())
    if judge_id is not None:
        return judge_id
    named = panel.by_name.get(text, [])
    if len(named) == 1:
        return named[0]
    if named:
        check.problem(
            "judge",
            N_("Several judges of the panel of {trade} are called {value}: write the "
               "username.", trade=trade.code, value=text),
            "judge_ambiguous",
        )  # fmt: skip
    else:
        check.problem(
            "judge",
            N_("No judge of the panel of {trade} has the username or name {value}.",
               trade=trade.code, value=text),
            "judge_not_found",
        )  # fmt: skip
    return None


async def _measurement_sheet(facts: _Facts, panel: _Panel, slot: SlotFacts) -> int | None:
    """The sheet a Measurement value without a judge goes on: the first sheet of the session
    that holds the contestant and is still open, else the first that holds it (so that the
    refusal says it is signed)."""
    holding = []
    for sheet_id in panel.session_sheets.get(slot.session_id, []):
        sheet = await facts.sheet(sheet_id)
        if slot.id in sheet.slots:
            holding.append(sheet)
    open_sheets = [s for s in holding if s.status not in READ_ONLY]
    chosen = (open_sheets or holding or [None])[0]
    return chosen.id if chosen is not None else None


async def _check_row(
    check: RowCheck, facts: _Facts, plan: MarksPlan, seen: dict[Key, int], default: int | None
) -> None:
    contestants = facts.contestants
    trade = contestants.trade(check, default)
    slot = contestants.slot(check, trade)
    if slot is None:
        return
    trade = contestants.trades[slot.trade_id]
    if trade.id not in facts.refusals:
        facts.refusals[trade.id] = stage_refusal(trade)
    refusal = facts.refusals[trade.id]
    if refusal is not None:
        check.refuse("", refusal)
        return
    panel = await facts.panel(trade)
    aspect_code = check.cell("aspect").upper()
    aspect = facts.aspects[trade.id].get(aspect_code)
    if not aspect_code:
        check.problem("aspect", N_("The aspect code is missing."), "aspect_missing")
        return
    if aspect is None:
        check.problem(
            "aspect",
            N_("The marking scheme of {trade} has no aspect {value}.",
               trade=trade.code, value=aspect_code),
            "aspect_not_on_sheet",
        )  # fmt: skip
        return
    judge_text = check.cell("judge")
    judge_id = None
    if judge_text:
        judge_id = _judge(check, panel, trade, judge_text)
        if judge_id is None:
            return
    elif aspect.is_judgement:
        check.problem("judge", N_("A Judgement mark needs the judge who gave it."),
                      "judge_missing")  # fmt: skip
        return
    if judge_id is not None:
        sheet_id = panel.sheets.get((slot.session_id, judge_id))
        if sheet_id is None:
            check.problem(
                "judge",
                N_("The judge {judge} has no score sheet for this contestant's session.",
                   judge=panel.names[judge_id]),
                "contestant_not_on_sheet",
            )  # fmt: skip
            return
    else:
        sheet_id = await _measurement_sheet(facts, panel, slot)
        if sheet_id is None:
            check.problem("code", N_("No score sheet of the session holds this contestant."),
                          "contestant_not_on_sheet")  # fmt: skip
            return
    sheet = await facts.sheet(sheet_id)
    try:
        await check_cell(sheet, slot.id, aspect.id)
    except DomainError as exc:
        message = CELL_MESSAGES.get(exc.code)
        key = CELL_COLUMNS.get(exc.code, "code")
        if message is None:
            check.refuse(key, exc)
        else:
            judge_name = panel.names.get(sheet.judge_id, "")
            check.problem(key, N_(message, judge=judge_name), exc.code)
        return
    key: Key = (slot.id, aspect.id, judge_id if aspect.is_judgement else None)
    text = check.cell("value")
    value = None
    try:
        value = parse_value(aspect, text)
    except ValidationFailed as exc:
        check.refuse("value", exc)
    if key in seen:
        check.problem(
            "", N_("This mark is already on row {row} of the file.", row=seen[key]),
            "duplicate_in_file",
        )  # fmt: skip
        return
    seen[key] = check.number
    plan.keyed[key] = Keyed(check.number, text, value)
    if value is None:
        return
    try:
        check_sheet_open(sheet)
    except PhaseError as exc:
        check.refuse("", exc)
        return
    if not aspect.is_judgement and await facts.measurement_fixed(sheet, slot.id, aspect.id, value):
        check.problem("value", N_(MSG_MEASUREMENT_SIGNED), "measurement_signed")
        return
    existing = facts.marks.get(key)
    if (
        existing is not None
        and existing[0] != value
        and existing[1] != MarkChangeKind.paper
        and sheet.status != SheetStatus.returned.value
    ):
        # A judge's own value from a tablet is never overwritten from paper without a word,
        # unless the chief judge returned the sheet for a re-mark.
        check.problem(
            "value",
            N_("The cell already holds {value}, entered on a tablet: a paper value does not "
               "replace it.", value=format_hundredths(existing[0])),
            "mark_from_tablet",
        )  # fmt: skip
        return
    if check.ok:
        plan.rows.append(
            Planned(check.number, trade.id, slot.id, aspect.id, key[2], sheet.id, value,
                    not aspect.is_judgement)
        )  # fmt: skip
        plan.trade_ids.add(trade.id)
        if judge_id is not None:
            plan.named.add(sheet.id)


async def plan_import(
    competition_id: int, table: kit.Table, *, trade_id: int | None = None, source: str = ""
) -> MarksPlan:
    """Check every row against the file and the database; nothing is written."""
    grid = shared.grid_of(table, COLUMNS, source=source)
    title = SHEET_TITLES.get(source, SHEET)
    plan = MarksPlan(KIND, [kit.ReportSheet(title, table.rows, grid.header_row, source)])
    facts = _Facts(await Contestants.load(competition_id, grid.column("code")))
    await facts.load_marks()
    seen: dict[Key, int] = {}
    for check in shared.rows_of(grid, source):
        await _check_row(check, facts, plan, seen, trade_id)
        plan.problems.extend(check.found)
    if plan.problems:
        plan.rows.clear()
        plan.trade_ids.clear()
        plan.named.clear()
    plan.rows = [_on_named_sheet(row, plan.named, facts) for row in plan.rows]
    plan.sheet_ids = {row.sheet_id for row in plan.rows}
    return plan


def _on_named_sheet(row: Planned, named: set[int], facts: _Facts) -> Planned:
    """A Measurement value given without a judge goes on the sheet of a judge the file names
    for the same contestant's session, where there is one: that paper sheet is where it was
    written, and the sheet the import may sign."""
    if row.judge_id is not None or row.sheet_id in named:
        return row
    chosen = facts.sheets[row.sheet_id]
    for sheet_id in sorted(named):
        sheet = facts.sheets[sheet_id]
        if (
            sheet.session_id == chosen.session_id
            and row.slot_id in sheet.slots
            and sheet.status not in READ_ONLY
        ):
            return replace(row, sheet_id=sheet_id)
    return row


def _same(a: Keyed, b: Keyed) -> bool:
    if a.value is not None and b.value is not None:
        return a.value == b.value
    try:
        return read_number(a.text) == read_number(b.text)
    except MarkValueError:
        return a.text == b.text


def _written(keyed: Keyed) -> str:
    if keyed.value is not None:
        return format_hundredths(keyed.value)
    return keyed.text or "—"


def compare(first: MarksPlan, second: MarksPlan) -> list[RowProblem]:
    """Every difference between two entries of the same paper sheets, on the rows of both."""
    problems: list[RowProblem] = []
    for key, a in first.keyed.items():
        b = second.keyed.get(key)
        if b is None:
            problems.append(RowProblem(
                a.row, "", N_("This mark is not in the second entry."), "double_entry_missing",
                FIRST,
            ))  # fmt: skip
        elif not _same(a, b):
            problems.append(RowProblem(
                a.row, "", N_("The second entry has {other} (its row {row}) where this one has "
                              "{value}.", other=_written(b), row=b.row, value=_written(a)),
                "double_entry_differs", FIRST,
            ))  # fmt: skip
            problems.append(RowProblem(
                b.row, "", N_("The first entry has {other} (its row {row}) where this one has "
                              "{value}.", other=_written(a), row=a.row, value=_written(b)),
                "double_entry_differs", SECOND,
            ))  # fmt: skip
    for key, b in second.keyed.items():
        if key not in first.keyed:
            problems.append(RowProblem(
                b.row, "", N_("This mark is not in the first entry."), "double_entry_missing",
                SECOND,
            ))  # fmt: skip
    return problems


async def read_plan(
    competition_id: int,
    data: bytes,
    *,
    second: bytes | None = None,
    trade_id: int | None = None,
) -> MarksPlan:
    """The plan of one file — or of two entries of the same sheets, compared: their rows
    stored once, only when both have no problem and agree on every cell."""
    table = await anyio.to_thread.run_sync(kit.read_table, data, LIMITS)
    if second is None:
        return await plan_import(competition_id, table, trade_id=trade_id)
    other = await anyio.to_thread.run_sync(kit.read_table, second, LIMITS)
    first = await plan_import(competition_id, table, trade_id=trade_id, source=FIRST)
    again = await plan_import(competition_id, other, trade_id=trade_id, source=SECOND)
    plan = MarksPlan(KIND, first.sheets + again.sheets, double=True)
    plan.problems = first.problems + again.problems + compare(first, again)
    plan.problems.sort(key=lambda p: (p.sheet, p.row or 0))
    if not plan.problems:
        plan.rows = first.rows
        plan.trade_ids = first.trade_ids
        plan.sheet_ids = first.sheet_ids
        plan.named = first.named
    plan.keyed = first.keyed
    return plan


def report(plan: MarksPlan) -> bytes:
    return shared.report(plan)


def template() -> bytes:
    writer = kit.TemplateWriter()
    writer.data_sheet(
        SHEET,
        COLUMNS,
        examples=[
            {"trade": "T001", "code": "J0417", "aspect": "A1", "judge": "judge", "value": "2"},
            {"trade": "T001", "code": "J0417", "aspect": "A2", "judge": "李卫东", "value": "3"},
            {"trade": "T001", "code": "J0417", "aspect": "B1", "judge": "", "value": "4.5"},
        ],
        rows=LIMITS.max_rows,
    )
    return writer.close()


# ---------------------------------------------------------------------------- commit


async def _sign(sheet_id: int, *, actor: Actor) -> bool:
    """Sign a sheet the import completed, as its judge signs it on the tablet (the paper
    sheet carries the signature). False when a mark is still missing."""
    if db.is_postgres():
        await db.fetch_rows("SELECT id FROM score_sheet WHERE id = ? FOR UPDATE", sheet_id)
    sheet = await sheet_facts(sheet_id)
    if sheet.status in READ_ONLY or await missing_cells(sheet):
        return False
    await ScoreSheet.update(
        {
            ScoreSheet.status: SheetStatus.signed.value,
            ScoreSheet.signed_at: clock.now(),
            ScoreSheet.note: "",
            ScoreSheet.remarks: [],
        }
    ).where(ScoreSheet.id == sheet_id)
    await audit.record(
        "sheet.signed",
        actor=actor,
        object_type="score_sheet",
        object_id=sheet_id,
        competition_id=sheet.competition_id,
        old={"status": sheet.status},
        new={
            "status": SheetStatus.signed.value,
            "cells": len(sheet.slots) * len(await scheme_aspects(sheet.scheme_id)),
            "source": "paper",
        },
        reason=SIGN_REASON,
    )
    return True


async def _in_transaction_facts(
    plan: MarksPlan,
) -> tuple[dict[Key, tuple[int, int, int]], dict[int, list[frozenset[int]]], dict[int, set]]:
    """Read again inside the commit's transaction: the marks already in the plan's cells
    (key → id, value, version), the contestants of each session's signed sheets (session →
    [(sheet, slots)]) and the cells each sheet of the plan was asked to mark again."""
    slot_ids = sorted({row.slot_id for row in plan.rows})
    existing: dict[Key, tuple[int, int, int]] = {}
    for slot, aspect, judge, mark_id, value, version in await shared.chunked_rows(
        "SELECT slot, aspect, judge, id, value_hundredths, version FROM mark "
        "WHERE slot IN ({marks})",
        slot_ids,
    ):
        existing[(slot, aspect, judge)] = (mark_id, value, version)
    signed: dict[int, list] = {}
    remarked: dict[int, set] = {}
    if any(row.measurement for row in plan.rows):
        sessions = sorted({s.session_id for s in plan.sheet_facts.values()})
        for session, sheet_id, slots in await shared.chunked_rows(
            "SELECT session, id, slots FROM score_sheet WHERE status IN (?, ?) "
            "AND session IN ({marks})",
            sessions, *sorted(SIGNED),
        ):  # fmt: skip
            signed.setdefault(session, []).append((sheet_id, {int(x) for x in json_list(slots)}))
        for sheet_id, remarks in await shared.chunked_rows(
            "SELECT id, remarks FROM score_sheet WHERE id IN ({marks})", sorted(plan.sheet_ids)
        ):
            remarked[sheet_id] = remarked_cells(remarks)
    return existing, signed, remarked


async def _insert_new(
    rows: list[Planned], *, batch: str, actor: Actor
) -> None:  # fmt: skip
    """The marks of empty cells and their trail rows, written in bulk: what
    `set_mark_in_transaction` writes for a new mark (version 1, no old value), two bulk
    inserts instead of two statements a mark (0.7 ms a mark; 6 million paper marks of a
    province took over an hour that way)."""
    if not rows:
        return
    now = clock.now()
    stamp = db.timestamp_param(now)
    mark_ids = await db.new_ids("mark", len(rows))
    await db.copy_records(
        "mark",
        ["id", "slot", "aspect", "judge", "sheet", "value_hundredths", "client_id", "version",
         "device", "entered_at", "entered_by"],
        [(mark_id, r.slot_id, r.aspect_id, r.judge_id, r.sheet_id, r.value,
          f"paper-{batch}-{r.row}", 1, DEVICE, stamp, actor.user_id)
         for mark_id, r in zip(mark_ids, rows, strict=True)],
    )  # fmt: skip
    await db.copy_records(
        "mark_change",
        ["mark", "trade", "client_id", "kind", "old_hundredths", "new_hundredths", "version",
         "reason", "device", "actor_id", "actor_name", "at"],
        [(mark_id, r.trade_id, f"paper-{batch}-{r.row}", MarkChangeKind.paper.value, None,
          r.value, 1, "", DEVICE, actor.user_id, actor.name[:100], stamp)
         for mark_id, r in zip(mark_ids, rows, strict=True)],
    )  # fmt: skip


async def _store(
    competition_id: int, plan: MarksPlan, *, actor: Actor, sign: bool, filename: str
) -> ImportResult:
    batch = uuid.uuid4().hex
    saved = unchanged = signed = unsigned = 0
    async with db.transaction():
        # Every sheet read again, held (FOR SHARE) until the end: a signature or the lock
        # landing meanwhile either waits or is seen here.
        sheets = {}
        for sheet_id in sorted(plan.sheet_ids):
            sheets[sheet_id] = await sheet_facts(sheet_id, lock=True)
            check_sheet_open(sheets[sheet_id])
        plan.sheet_facts = sheets
        existing, signed_sheets, remarked = await _in_transaction_facts(plan)
        new_rows, changed_rows = [], []
        for row in plan.rows:
            current = existing.get((row.slot_id, row.aspect_id, row.judge_id))
            if row.measurement:
                sheet = sheets[row.sheet_id]
                on_signed = any(
                    sheet_id != sheet.id and row.slot_id in slots
                    for sheet_id, slots in signed_sheets.get(sheet.session_id, [])
                )
                if fixes_measurement(
                    current[1] if current is not None else None, row.value,
                    remarked=(row.slot_id, row.aspect_id) in remarked.get(sheet.id, set()),
                    signed=on_signed,
                ):  # fmt: skip
                    raise PhaseError(MSG_MEASUREMENT_SIGNED, code="measurement_signed")
            if current is None:
                new_rows.append(row)
            elif current[1] == row.value:
                unchanged += 1
            else:
                changed_rows.append(row)
        await _insert_new(new_rows, batch=batch, actor=actor)
        saved += len(new_rows)
        for row in changed_rows:  # a paper value replacing another: one at a time, as a tablet
            result, _state = await set_mark_in_transaction(
                trade_id=row.trade_id,
                slot_id=row.slot_id,
                aspect_id=row.aspect_id,
                judge_id=row.judge_id,
                value_hundredths=row.value,
                client_id=f"paper-{batch}-{row.row}",
                actor=actor,
                kind=MarkChangeKind.paper,
                sheet_id=row.sheet_id,
                base_version=None,
                device=DEVICE,
            )
            if result == "saved":
                saved += 1
            else:
                unchanged += 1
        if sign:
            for sheet_id in sorted(plan.named):
                if await _sign(sheet_id, actor=actor):
                    signed += 1
                else:
                    unsigned += 1
        await audit.record(
            "marks.import",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            new={
                "file": filename[:200],
                "batch": batch,
                "rows": len(plan.rows),
                "saved": saved,
                "unchanged": unchanged,
                "sheets": len(plan.sheet_ids),
                "signed": signed,
                "double_entry": plan.double,
                "trades": sorted(plan.trade_ids),
            },
        )
    return ImportResult(len(plan.rows), saved, unchanged, len(plan.sheet_ids), signed, unsigned)


async def commit(
    competition_id: int,
    plan: MarksPlan,
    *,
    actor: Actor,
    sign: bool = False,
    filename: str = "",
    recompute: bool = True,
) -> ImportResult:
    """Store a plan without problems in one transaction (all or nothing), then recompute the
    totals of its trades (unless the caller recomputes them once after several imports: the
    rehearsal); a refused attempt leaves an audit record ("score_import.refused") and nothing
    else."""
    if plan.problems:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename, problems=plan.problems
        )
        raise MarksRejected(plan.problems)
    try:
        result = await _store(competition_id, plan, actor=actor, sign=sign, filename=filename)
    except DomainError as exc:
        await shared.audit_refused(
            competition_id, KIND, actor=actor, filename=filename,
            problems=[shared.refusal_problem(exc)],
        )  # fmt: skip
        raise
    if result.signed:
        trades = await shared.trades_of(competition_id)
        for trade_id in sorted(plan.trade_ids):
            if await complete_if_done(trade_id, actor=actor):
                result.completed_trades.append(trades[trade_id].code)
    if recompute:
        await shared.recompute_totals(plan.trade_ids)
    return result
