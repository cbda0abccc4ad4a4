"""Columns of an import format and the header row that names them.

A format is a tuple of `Column`s. The header cells are matched by `header_key`, so
"身份证号（必填）", "理论权重(%)", "工龄*" and " Trade_Code " all name their column, in any order;
cells naming no column (a column of the user's own) are ignored. `Grid` is one sheet's data
rows under its header: cleaned columns, cells, and the problems every import refuses alike
(formula cells, text a spreadsheet would run).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from competition.i18n import N_, Msg
from competition.spreadsheets.files import FileRefused, Table
from competition.spreadsheets.problems import RowProblem
from competition.spreadsheets.text import (
    _ZERO_WIDTH_TABLE,
    clean,
    clean_code_column,
    clean_column,
    formula_indices,
)

# Column kinds. TEXT is stored as typed: the formula guard applies, and the template formats
# the column as text. CODE is looked up or parsed (codes, ID and phone numbers, levels):
# formatted as text too, so Excel keeps "001" and a final X. NUMBER is parsed as a number.
TEXT, CODE, NUMBER = "text", "code", "number"


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the template writes it
    aliases: tuple[str, ...] = ()
    hint: Msg | str = ""  # the template's comment on the header, and its notes
    required: bool = False
    kind: str = TEXT
    # Compared without any space (ID and phone numbers): "6301 0219…" reads as "63010219…".
    spaceless: bool = False
    width: int = 0  # in the template; 0: from the header

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, self.key, *self.aliases)


def header_text(text: str) -> str:
    """A header cell as shown in messages: NFKC, no zero-width characters, spaces collapsed."""
    return clean(text)


def header_key(text: str) -> str:
    """What a header cell is compared by: NFKC (full-width letters, digits and brackets to
    ASCII), lower case, without what is in brackets, spaces, zero-width characters and
    * : % _ - — so "身份证号（必填）", "理论权重(%)", "工龄*" and " Trade_Code " all name their
    column."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH_TABLE).lower()
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and not ch.isspace() and ch not in "*:%_-":
            out.append(ch)
    return "".join(out)


def column_names(columns: Iterable[Column]) -> dict[str, str]:
    """`header_key` of every name a column goes by (header, key, aliases) → the column's key."""
    names: dict[str, str] = {}
    for column in columns:
        for name in column.names:
            names.setdefault(header_key(name), column.key)
    return names


@dataclass
class HeaderMatch:
    positions: dict[str, int] = field(default_factory=dict)  # column key → index in the row
    headers: dict[str, str] = field(default_factory=dict)  # column key → `header_text` of it
    # Indices of further cells naming a column already found (the first one counts).
    repeated: list[int] = field(default_factory=list)


def match_header(row: Sequence[str], names: Mapping[str, str]) -> HeaderMatch:
    """The columns a header row names; `names` as made by `column_names`."""
    match = HeaderMatch()
    for index, cell in enumerate(row):
        key = names.get(header_key(cell)) if cell else None
        if key is None:
            continue
        if key in match.positions:
            match.repeated.append(index)
            continue
        match.positions[key] = index
        match.headers[key] = header_text(cell)
    return match


def _blank(row: list[str]) -> bool:
    first = row[0] if row else ""
    if first and not first.isspace():
        return False  # most rows: decided by their first cell
    return not "".join(row).strip()


def no_rows() -> FileRefused:
    return FileRefused(N_("The file has no rows to import."), code="no_rows")


def missing_columns(columns: Iterable[Column]) -> FileRefused:
    """The refusal of a file whose header lacks required columns, naming all of them."""
    return FileRefused(
        N_(
            "The file lacks the columns {columns}. The header row (the first row of the "
            "template) names the columns; download the template and copy the rows into it."
        ),
        code="missing_columns",
        columns="、".join(c.header for c in columns),
    )


FORMULA_CELL = N_(
    "The cell holds a formula ({formula}); enter the value itself: formulas are not imported."
)
FORMULA_TEXT = N_(
    "The text starts with {char}, which a spreadsheet would run as a formula; remove it."
)


class Grid:
    """The data rows of one sheet under its header row.

    The header is the first of the sheet's first 30 rows that names at least `min_columns`
    columns (a title row above it is passed over), else the first non-blank row. Data rows are
    the non-blank rows below it; `numbers` are their Excel row numbers.
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[Column],
        *,
        min_columns: int = 1,
        sheet: str = "",
    ):
        self.table = table
        self.columns = tuple(columns)
        self.by_key = {c.key: c for c in self.columns}
        self.sheet = sheet  # the name problems carry; "" for a single-sheet import
        names = column_names(self.columns)
        rows = table.rows
        first = None
        chosen = None
        for index, row in enumerate(rows[:30]):
            if _blank(row):
                continue
            first = index if first is None else first
            match = match_header(row, names)
            if len(match.positions) >= min_columns:
                chosen = (index, match)
                break
        if chosen is None:
            chosen = (first, match_header(rows[first], names)) if first is not None else None
        # header_index -1: an empty sheet (no header, no rows).
        self.header_index, self.match = chosen if chosen else (-1, HeaderMatch())
        self.indices = [
            i for i in range(self.header_index + 1, len(rows)) if not _blank(rows[i])
        ] if chosen else []  # fmt: skip
        self._cleaned: dict[str, list[str]] = {}
        self._picked: tuple[list[list[str]], int] | None = None

    @property
    def empty(self) -> bool:
        return self.header_index < 0

    @property
    def header_row(self) -> int:
        """The header's Excel row number; 0 for an empty sheet."""
        return self.header_index + 1

    @property
    def numbers(self) -> list[int]:
        return [i + 1 for i in self.indices]

    def has(self, key: str) -> bool:
        return key in self.match.positions

    def header(self, key: str) -> str:
        """The column's header as the file writes it (the template's when the file has none)."""
        column = self.by_key.get(key)
        return self.match.headers.get(key) or (column.header if column else "")

    def missing(self, required: Iterable[str] | None = None) -> list[Column]:
        """Required columns (or those named) the header lacks, in format order."""
        wanted = set(required) if required is not None else None
        return [
            c
            for c in self.columns
            if (c.key in wanted if wanted is not None else c.required) and not self.has(c.key)
        ]

    def raw_column(self, key: str) -> list[str]:
        """The cells of a column as read, one per data row ("" where the sheet has none)."""
        position = self.match.positions.get(key)
        if position is None:
            return [""] * len(self.indices)
        if self._picked is None:
            rows = self.table.rows
            picked = [rows[i] for i in self.indices]
            self._picked = picked, min(map(len, picked), default=0)
        picked, narrowest = self._picked
        # Rows read from an xlsx are all as wide as the sheet; a CSV's may be shorter.
        if narrowest > position:
            return list(map(itemgetter(position), picked))
        return [row[position] if position < len(row) else "" for row in picked]

    def column(self, key: str) -> list[str]:
        """A column cleaned (`clean`, or `clean_code` for a spaceless column)."""
        cached = self._cleaned.get(key)
        if cached is None:
            column = self.by_key[key]
            cleaner = clean_code_column if column.spaceless else clean_column
            cached = self._cleaned[key] = cleaner(self.raw_column(key))
        return cached

    def cell(self, index: int, key: str) -> str:
        """Cleaned cell `key` of data row `index` (an index into `numbers`)."""
        return self.column(key)[index]

    def release(self) -> None:
        """Forget the cleaned columns (a large sheet's are tens of megabytes)."""
        self._cleaned.clear()
        self._picked = None

    def problems(self) -> dict[int, list[RowProblem]]:
        """What every import refuses alike, by data-row index: a formula in any named column
        (its cached value is not what the person sees as data), and cleaned text of a TEXT
        column that a spreadsheet would run. One problem per cell."""
        found: dict[int, list[RowProblem]] = {}
        row_of = {table_index: n for n, table_index in enumerate(self.indices)}
        formula_cells: set[tuple[int, str]] = set()
        keys = {position: key for key, position in self.match.positions.items()}
        for (table_index, position), formula in sorted(self.table.formulas.items()):
            n = row_of.get(table_index)
            key = keys.get(position)
            if n is None or key is None:
                continue
            formula_cells.add((n, key))
            found.setdefault(n, []).append(
                RowProblem(
                    table_index + 1,
                    self.header(key),
                    N_(FORMULA_CELL, formula=formula[:100] or "="),
                    "formula_cell",
                    self.sheet,
                )
            )
        for column in self.columns:
            if column.kind != TEXT or not self.has(column.key):
                continue
            values = self.column(column.key)
            for n in formula_indices(values):
                value = values[n]
                if (n, column.key) not in formula_cells:
                    found.setdefault(n, []).append(
                        RowProblem(
                            self.indices[n] + 1,
                            self.header(column.key),
                            N_(FORMULA_TEXT, char=value[0]),
                            "formula_text",
                            self.sheet,
                        )
                    )
        order = {c.key: i for i, c in enumerate(self.columns)}
        header_order = {self.header(k): order[k] for k in order}
        for problems in found.values():
            problems.sort(key=lambda p: header_order.get(p.column, len(order)))
        return found
