"""What the four score imports share: the trade column, finding a drawn contestant by code, one
row's checks, the plan, the report workbook, the end of a commit of one value a contestant (the
bulk writes and their counted audit record), the totals recomputed after a commit, and the audit
record of a refused attempt.

A code (加密号) is unique only inside its trade, so a file names the trade where its codes could
be of several: an optional 工种 column (code or name), else the trade chosen on the page or with
`--trade`, else the one trade that has the code. The code a row gives for marks, penalties and
completion times is the one on the score sheets — the second-layer code where the draw added
one (`DrawSlot.judge_code`), else the contestant's code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from competition import audit, db
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.errors import DomainError
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, Column, RowProblem
from competition.stages import Stage
from scoring import totals

LOOKUP_CHUNK = 500  # values of one IN (…), under SQLite's old limit of 999 variables

TRADE_COLUMN = Column(
    "trade", "工种", ("工种代码", "工种名称", "trade", "tradecode"),
    N_("Optional: the trade's code or name, needed where a code is used in several trades"),
    kind=CODE,
)  # fmt: skip
CODE_COLUMN = Column(
    "code", "加密号", ("选手加密号", "参赛编号", "code"),
    N_("The contestant's code as written on the score sheet"), True, CODE, spaceless=True,
)  # fmt: skip


@dataclass(frozen=True)
class TradeFacts:
    id: int
    code: str
    name: str
    stage: Stage
    events: dict[str, int]  # event key → weight (percent)


@dataclass(frozen=True)
class SlotFacts:
    id: int
    trade_id: int
    entry_id: int
    session_id: int
    code: str  # 一次加密号
    judge_code: str  # 二次加密号, "" without a second layer

    @property
    def shown(self) -> str:
        """The code the score sheets show."""
        return self.judge_code or self.code


async def trades_of(competition_id: int) -> dict[int, TradeFacts]:
    rows = await db.fetch_rows(
        "SELECT id, code, name, stage, events FROM trade WHERE competition = ? ORDER BY id",
        competition_id,
    )
    trades = {}
    for trade_id, code, name, stage, events in rows:
        weights = {str(e["key"]): int(e.get("weight") or 0) for e in db.json_value(events, [])}
        trades[trade_id] = TradeFacts(trade_id, code, name, Stage(stage), weights)
    return trades


async def chunked_rows(sql: str, values: list, *args: Any) -> list[tuple]:
    """`sql` with one `{marks}` for an IN list, run over `values` in chunks (`args` first)."""
    rows: list[tuple] = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        statement = sql.format(marks=", ".join("?" for _ in chunk))
        rows.extend(await db.fetch_rows(statement, *args, *chunk))
    return rows


_ALL_SLOTS = (
    "SELECT d.id, d.trade, d.entry, d.session, d.code, d.judge_code FROM draw_slot d "
    "JOIN trade t ON t.id = d.trade WHERE t.competition = ?"
)
# The judge_code condition lets SQLite use the partial unique index (trade, judge_code).
_SLOTS = _ALL_SLOTS + " {also}AND d.{column} IN ({{marks}})"
# More codes than this in a file: the whole draw is read at once.
WHOLE_DRAW = 5_000


# A statement's values: 150 rows of at most 6 stay under SQLite's 999 variables.
WRITE_CHUNK = 150


async def update_values(
    table: str, column: str, changes: list[tuple[int, int]], also: dict[str, Any]
) -> None:
    """Set `column` of each (id, value) in `changes`, and the `also` columns to the same value
    on every one of those rows, inside the caller's transaction. On PostgreSQL the changes are
    copied into a temporary table and applied by one UPDATE (a statement a row takes 20 s for
    200,000); on SQLite a statement a row is quick. Names come from code, never from input."""
    if not changes:
        return
    extra = "".join(f", {name} = ?" for name in also)
    if db.is_postgres():
        await db.fetch_rows(
            "CREATE TEMP TABLE import_changes (id integer PRIMARY KEY, value integer) "
            "ON COMMIT DROP"
        )
        await db.copy_records("import_changes", ["id", "value"], changes)
        await db.fetch_rows(
            f"UPDATE {table} t SET {column} = c.value{extra} FROM import_changes c "  # noqa: S608
            "WHERE t.id = c.id",
            *also.values(),
        )
        await db.fetch_rows("DROP TABLE import_changes")
        return
    rows = [(value, *also.values(), row_id) for row_id, value in changes]
    sql = f"UPDATE {table} SET {column} = ?{extra} WHERE id = ?"  # noqa: S608
    for start in range(0, len(rows), WRITE_CHUNK):
        await db.execute_many(sql, rows[start : start + WRITE_CHUNK])


def stamp(value: dt.datetime) -> Any:
    """A time as the bulk writes take it: SQLite's stand-in for COPY stores what it is given."""
    return value if db.is_postgres() else str(value.astimezone(dt.UTC))


@dataclass
class CountedResult:
    """What a commit of one value a contestant (a theory score, a completion time) did."""

    rows: int
    created: int
    replaced: int
    unchanged: int

    def summary(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Writes:
    """The rows a commit writes to `table`: `created` (values of `columns`) inserted, and
    `column` of each (id, value) in `changed` set, with the `also` columns."""

    table: str
    columns: list[str]
    created: list[tuple]
    column: str
    changed: list[tuple[int, int]]
    also: dict[str, Any]


async def write_counted(
    competition_id: int,
    plan: Plan,
    writes: Writes,
    *,
    action: str,
    actor: Actor,
    filename: str,
    changes: list,
    counts: dict[str, int] | None = None,
) -> CountedResult:
    """The end of such a commit, inside the caller's transaction: the writes in bulk, then one
    audit record `action` with the counts (`counts` added to them) and `changes`, every value
    replaced, old → new — a record a row would cost minutes for 200,000 rows."""
    await db.copy_records(writes.table, writes.columns, writes.created)
    await update_values(writes.table, writes.column, writes.changed, writes.also)
    created, replaced = len(writes.created), len(writes.changed)
    unchanged = len(plan.rows) - created - replaced
    await audit.record(
        action,
        actor=actor,
        object_type="competition",
        object_id=competition_id,
        competition_id=competition_id,
        new={
            "file": filename[:200],
            "rows": len(plan.rows),
            "created": created,
            "replaced": replaced,
            "unchanged": unchanged,
            **(counts or {}),
            "trades": sorted(plan.trade_ids),
            "changes": changes,
        },
    )
    return CountedResult(len(plan.rows), created, replaced, unchanged)


async def recompute_totals(trade_ids: Iterable[int]) -> None:
    """The totals of every trade a committed import touched, which the lock, the review sample
    and the results read. Each trade in a transaction of its own, so it runs after the
    import's has committed (inside it, a recompute would read from the import's connection
    and hold the import's locks for its whole length)."""
    for trade_id in sorted(set(trade_ids)):
        await totals.recompute_trade(trade_id)


class Contestants:
    """The competition's trades, and the drawn contestants whose codes a file gives."""

    def __init__(self, trades: dict[int, TradeFacts]) -> None:
        self.trades = trades
        self.trade_names: dict[str, int] = {}
        for trade in trades.values():
            self.trade_names.setdefault(trade.name, trade.id)
            self.trade_names[trade.code.upper()] = trade.id
        self.by_code: dict[str, list[SlotFacts]] = {}

    @classmethod
    async def load(cls, competition_id: int, codes: Iterable[str]) -> Contestants:
        found = cls(await trades_of(competition_id))
        wanted = sorted({c.upper() for c in codes if c})
        if len(wanted) > WHOLE_DRAW:
            # A file naming most contestants: one read of the whole draw beats hundreds of
            # chunks (each probes every trade's index), 0.5 s against a minute for 200,000.
            rows = await db.fetch_rows(_ALL_SLOTS, competition_id)
            keep = set(wanted)
        else:
            rows = await chunked_rows(_SLOTS.format(column="code", also=""), wanted,
                                      competition_id)  # fmt: skip
            rows += await chunked_rows(
                _SLOTS.format(column="judge_code", also="AND d.judge_code <> '' "),
                wanted,
                competition_id,
            )
            keep = None
        seen: set[int] = set()
        for row in rows:
            if row[0] in seen:
                continue
            seen.add(row[0])
            slot = SlotFacts(*row)
            for key in {slot.code.upper(), slot.judge_code.upper()} - {""}:
                if keep is None or key in keep:
                    found.by_code.setdefault(key, []).append(slot)
        return found

    def trade(self, check: RowCheck, default: int | None) -> TradeFacts | None:
        """The row's trade: its 工种 cell, else `default`; None when neither names one (a
        problem is noted where the cell names no trade of this competition or another trade
        than the one chosen)."""
        text = check.cell("trade")
        if not text:
            return self.trades.get(default) if default is not None else None
        trade_id = self.trade_names.get(text.upper(), self.trade_names.get(text))
        if trade_id is None:
            check.problem(
                "trade",
                N_("No trade of this competition has the code or name {value}.", value=text),
                "trade_not_found",
            )
            return None
        if default is not None and trade_id != default:
            check.problem(
                "trade",
                N_("The file is imported for the trade {trade}; this row names {value}.",
                   trade=self.trades[default].code, value=text),
                "other_trade",
            )  # fmt: skip
            return None
        return self.trades[trade_id]

    def slot(
        self, check: RowCheck, trade: TradeFacts | None, *, sheet_code: bool = True
    ) -> SlotFacts | None:
        """The contestant of the row's code (in its trade, when one is known). With
        `sheet_code`, the code must be the one on the score sheets."""
        if check.failed("trade"):
            return None
        code = check.cell("code").upper()
        if not code:
            check.problem("code", N_("The code is missing."), "code_missing")
            return None
        candidates = self.by_code.get(code, [])
        if trade is not None:
            candidates = [s for s in candidates if s.trade_id == trade.id]
        if not candidates:
            if trade is not None:
                message = N_("No drawn contestant of the trade {trade} has the code {value}.",
                             trade=trade.code, value=code)  # fmt: skip
            else:
                message = N_("No drawn contestant of this competition has the code {value}.",
                             value=code)  # fmt: skip
            if code.isdigit():
                message = N_("{problem} (A code keeps its leading zeros: format the column as "
                             "text.)", problem=message)  # fmt: skip
            check.problem("code", message, "code_not_found")
            return None
        if len(candidates) > 1:
            trades = "、".join(sorted(self.trades[s.trade_id].code for s in candidates))
            check.problem(
                "code",
                N_("The code {value} is used in several trades ({trades}): add the 工种 column "
                   "or choose the trade.", value=code, trades=trades),
                "code_ambiguous",
            )  # fmt: skip
            return None
        slot = candidates[0]
        if sheet_code and slot.judge_code and code != slot.judge_code.upper():
            # Never name the second-layer code here: which code is whom stays with 加密组.
            check.problem(
                "code",
                N_("The trade {trade} has second-layer codes: write the code on the score "
                   "sheet, not the contestant's code.", trade=self.trades[slot.trade_id].code),
                "first_layer_code",
            )  # fmt: skip
            return None
        return slot


class RowCheck:
    """One data row's cells and problems: at most one problem a column, the first found."""

    __slots__ = ("_columns", "_headers", "found", "index", "number", "source", "taken")

    def __init__(
        self,
        index: int,
        number: int,
        found: list[RowProblem],
        columns: dict[str, list[str]],
        headers: dict[str, str],
        source: str,
    ) -> None:
        self.index = index
        self.number = number
        self.source = source
        self._columns = columns
        self._headers = headers
        self.found = found
        self.taken = {p.column for p in found}

    def cell(self, key: str) -> str:
        column = self._columns.get(key)
        return column[self.index] if column is not None else ""

    def header(self, key: str) -> str:
        return self._headers.get(key, "") if key else ""

    def failed(self, key: str) -> bool:
        return self.header(key) in self.taken

    def problem(self, key: str, message: Msg, code: str) -> None:
        """A problem of column `key` ("" for the whole row)."""
        column = self.header(key)
        if column and column in self.taken:
            return
        self.taken.add(column)
        self.found.append(RowProblem(self.number, column, message, code, self.source))

    def refuse(self, key: str, exc: DomainError) -> None:
        self.problem(key, N_(exc.message, **exc.params), exc.code)

    @property
    def ok(self) -> bool:
        return not self.found


def rows_of(grid: kit.Grid, source: str = "") -> Iterator[RowCheck]:
    """Every data row of the grid, with the problems every import refuses alike already noted
    (formula cells, text a spreadsheet would run). The cleaned columns are read once: a cell
    is then a list index, for 200,000 rows."""
    refused = grid.problems()
    columns = {c.key: grid.column(c.key) for c in grid.columns if grid.has(c.key)}
    headers = {c.key: grid.header(c.key) for c in grid.columns}
    for index, number in enumerate(grid.numbers):
        yield RowCheck(index, number, list(refused.get(index, ())), columns, headers, source)


def grid_of(table: kit.Table, columns: tuple[Column, ...], *, source: str = "") -> kit.Grid:
    """The data rows under the header; the file refused without rows or required columns."""
    grid = kit.Grid(table, columns, min_columns=2, sheet=source)
    if grid.empty or not grid.indices:
        raise kit.no_rows()
    missing = grid.missing()
    if missing:
        raise kit.missing_columns(missing)
    return grid


@dataclass
class Plan:
    """What an import would store, and every problem found; nothing is written making it."""

    kind: str
    sheets: list[kit.ReportSheet]
    rows: list[Any] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    trade_ids: set[int] = field(default_factory=set)

    @property
    def row_count(self) -> int:
        return len(self.rows) + len({(p.sheet, p.row) for p in self.problems})

    def summary(self) -> dict[str, int]:
        return {"rows": len(self.rows), "trades": len(self.trade_ids)}


def report(plan: Plan) -> bytes:
    """The uploaded rows again with an 错误 column, after a sheet listing every problem."""
    return kit.report_workbook(plan.sheets, plan.problems, listing=True)


def report_json(plan: Plan, *, imported: bool) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "rows": plan.row_count,
        "valid": len(plan.rows),
        "problems": [
            {"sheet": p.sheet, "row": p.row, "column": p.column, "code": p.code, "text": p.text()}
            for p in plan.problems
        ],
        "imported": imported,
    }


async def audit_refused(
    competition_id: int, kind: str, *, actor: Actor, filename: str, problems: list[RowProblem]
) -> None:
    """A commit refused (problems in the file, or found again while storing) leaves a record,
    like a refused tablet mark: nothing else is written."""
    codes = Counter(p.code for p in problems)
    async with db.transaction():
        await audit.record(
            "score_import.refused",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            new={
                "import_kind": kind,
                "file": filename[:200],
                "problems": len(problems),
                "codes": dict(codes.most_common(10)),
            },
        )


def refusal_problem(exc: DomainError) -> RowProblem:
    """A refusal met while storing (the database changed since the check), as one problem."""
    return RowProblem(None, "", N_(exc.message, **exc.params), exc.code)
