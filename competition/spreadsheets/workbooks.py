"""Writing xlsx and CSV: templates, import reports, exports.

Every writer goes through here so that every text cell is escaped alike (`text.escape`: text a
spreadsheet would run gets a leading apostrophe) and written as a string, never as a formula,
number or link: `new_workbook` turns xlsxwriter's guessing off and `write_text` escapes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from competition.i18n import current_locale, gettext
from competition.spreadsheets.columns import CODE, TEXT, Column
from competition.spreadsheets.problems import RowProblem
from competition.spreadsheets.text import escape

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
TEXT_LIMIT = 32_767  # the longest string an xlsx cell holds
SHEET_TITLE_LIMIT = 31

HEAD = {"bold": True, "bg_color": "#EEF1F5", "border": 1, "num_format": "@"}
HEAD_REQUIRED = {**HEAD, "bg_color": "#FDE8E8", "font_color": "#8E1B21"}
BAD = {"bg_color": "#FDE4E1"}
BAD_TEXT = {"bg_color": "#FDE4E1", "font_color": "#7A1B13", "text_wrap": True}


def new_workbook(buffer: io.BytesIO, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    """A workbook whose strings stay strings: an uploaded "=cmd|…" never comes back as a live
    formula, "0012" never as the number 12. `constant_memory` streams rows to a temporary file
    (rows must then be written in order), for lists of tens of thousands of rows."""
    return xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": not constant_memory,
            "constant_memory": constant_memory,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )


def write_text(sheet: Worksheet, row: int, column: int, value: str, fmt: Any = None) -> None:
    """One text cell, escaped; an empty value writes nothing (unless it carries a format)."""
    if value:
        sheet.write_string(row, column, escape(value)[:TEXT_LIMIT], fmt)
    elif fmt is not None:
        sheet.write_blank(row, column, None, fmt)


def write_row(sheet: Worksheet, row: int, values: Sequence[str], fmt: Any = None) -> None:
    for column, value in enumerate(values):
        write_text(sheet, row, column, value, fmt)


def sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(c for c in title if c not in "[]:*?/\\")
    return cleaned[:SHEET_TITLE_LIMIT] or "Sheet"


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as a CSV that Excel opens correctly in Chinese (UTF-8 with a BOM), every text cell
    escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape(v) if isinstance(v, str) else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------- templates


class TemplateWriter:
    """A template workbook for people to fill in: data sheets whose header names the columns
    (required ones marked, each with its hint as a comment), notes and list sheets."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.book = new_workbook(self.buffer)
        self.text = self.book.add_format({"num_format": "@"})
        self.head = self.book.add_format(HEAD)
        self.head_required = self.book.add_format(HEAD_REQUIRED)
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})

    def data_sheet(
        self,
        title: str,
        columns: Sequence[Column],
        *,
        required: Iterable[str] | None = None,
        examples: Sequence[dict[str, Any]] = (),
        choices: dict[str, list[str]] | None = None,
        rows: int = 50_000,
    ) -> Worksheet:
        """A sheet with the header row; `required` (column keys) overrides `Column.required`;
        `choices` offers a drop-down list in a column (any other value may still be typed)."""
        needed = set(required) if required is not None else {c.key for c in columns if c.required}
        sheet = self.book.add_worksheet(sheet_title(title))
        sheet.freeze_panes(1, 0)
        for c, column in enumerate(columns):
            width = column.width or max(12, 2 * len(column.header) + 4)
            sheet.set_column(c, c, width, self.text if column.kind in (TEXT, CODE) else None)
            write_text(
                sheet,
                0,
                c,
                column.header,
                self.head_required if column.key in needed else self.head,
            )
            if column.hint:
                sheet.write_comment(0, c, gettext(column.hint), {"x_scale": 2.2, "y_scale": 1.6})
        for r, example in enumerate(examples, start=1):
            for c, column in enumerate(columns):
                value = example.get(column.key, "")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
                else:
                    write_text(
                        sheet, r, c, str(value), self.text if column.kind != "number" else None
                    )
        for key, values in (choices or {}).items():
            c = next(i for i, column in enumerate(columns) if column.key == key)
            sheet.data_validation(
                1, c, rows, c, {"validate": "list", "source": values, "error_type": "information"}
            )
        return sheet

    def notes(
        self, title: str, heading: str, notes: Iterable[str], *, widths: Sequence[int], column: int
    ) -> tuple[Worksheet, int]:
        """A sheet of how to fill in the file: `heading`, then one note a row in `column`.
        Returns the sheet and the row below a blank one, for what follows."""
        sheet = self.sheet(title, widths)
        write_text(sheet, 0, 0, heading, self.head)
        line = 1
        for note in notes:
            write_text(sheet, line, column, note)
            line += 1
        return sheet, line + 1

    def sheet(self, title: str, widths: Sequence[int] = ()) -> Worksheet:
        sheet = self.book.add_worksheet(sheet_title(title))
        for c, width in enumerate(widths):
            if width:
                sheet.set_column(c, c, width, self.wrap if width >= 60 else None)
        return sheet

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


# ---------------------------------------------------------------------------- reports


@dataclass
class ReportSheet:
    """One uploaded sheet to repeat in a report."""

    title: str  # the sheet's name in the report
    rows: list[list[str]]  # every row as read (index 0 = Excel row 1)
    header_row: int  # the header's Excel row number; 0 when the sheet had none
    source: str = ""  # the `RowProblem.sheet` of its problems


@dataclass
class InfoSheet:
    """A sheet a report adds for information: a header row and rows of values."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[str | int]]


def problem_separator() -> str:
    return "；" if current_locale.get() == "zh_CN" else "; "


def report_workbook(
    sheets: Sequence[ReportSheet],
    problems: Iterable[RowProblem],
    *,
    listing: bool = False,
    info: Sequence[InfoSheet] = (),
) -> bytes:
    """The uploaded rows again, each sheet with an added 错误 (error) column naming each row's
    problems; with `listing`, a first sheet lists every problem (sheet, row, column, problem);
    `info` sheets follow. Every text cell is escaped."""
    problems = list(problems)
    separator = problem_separator()
    buffer = io.BytesIO()
    book = new_workbook(buffer, constant_memory=True)
    head = book.add_format(HEAD)
    bad = book.add_format(BAD)
    bad_text = book.add_format(BAD_TEXT)

    if listing:
        summary = book.add_worksheet(sheet_title(gettext("Problems")))
        for c, width in enumerate((14, 8, 18, 80)):
            summary.set_column(c, c, width)
        titles = (gettext("Sheet"), gettext("Row"), gettext("Column"), gettext("Problem"))
        write_row(summary, 0, titles, head)
        for r, problem in enumerate(problems, start=1):
            write_text(summary, r, 0, problem.sheet)
            if problem.row is not None:
                summary.write_number(r, 1, problem.row)
            write_text(summary, r, 2, problem.column)
            write_text(summary, r, 3, problem.text())
        summary.freeze_panes(1, 0)

    by_row: dict[tuple[str, int], list[str]] = {}
    for problem in problems:
        if problem.row is not None:
            by_row.setdefault((problem.sheet, problem.row), []).append(problem.labelled())
    for report in sheets:
        sheet = book.add_worksheet(sheet_title(report.title))
        width = max((len(row) for row in report.rows), default=0)
        sheet.set_column(width, width, 70)
        if report.header_row:
            sheet.freeze_panes(report.header_row, 0)
        for index, row in enumerate(report.rows):
            excel_row = index + 1
            messages = by_row.get((report.source, excel_row))
            is_header = excel_row == report.header_row
            fmt = head if is_header else (bad if messages else None)
            for c, value in enumerate(row):
                if value:
                    sheet.write_string(index, c, escape(value)[:TEXT_LIMIT], fmt)
            if is_header:
                sheet.write_string(index, width, gettext("Error"), head)
                if messages:
                    write_text(sheet, index, width + 1, separator.join(messages), bad_text)
            elif messages:
                write_text(sheet, index, width, separator.join(messages), bad_text)
    for extra in info:
        sheet = book.add_worksheet(sheet_title(extra.title))
        sheet.set_column(0, len(extra.header) - 1, 24)
        write_row(sheet, 0, extra.header, head)
        for r, values in enumerate(extra.rows, start=1):
            for c, value in enumerate(values):
                if isinstance(value, int):
                    sheet.write_number(r, c, value)
                else:
                    write_text(sheet, r, c, value)
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
