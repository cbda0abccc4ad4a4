"""Registration lists as xlsx (报名名单): for the organizer with full ID numbers, for a
delegation with masked ones.

Written with the spreadsheet kit's writer (competition/spreadsheets/) in constant-memory mode
(rows stream to a temporary file, so tens of thousands of rows cost little memory). Every text
value goes through `write_text`, so a name or employer typed as `=cmd|' /C calc'!A0` is written
escaped, as text that never runs; the ID number column is formatted as text so Excel shows all
18 characters and keeps a final X.

The lists go to the offices of a Chinese competition and are read next to the Chinese import
templates, so a workbook is always written in Chinese whatever the language of the page.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio

from competition import spreadsheets as kit
from competition.clock import format_datetime
from competition.i18n import N_, Msg, current_locale, render
from competition.schemas import SKILL_LEVELS
from registration.queries import GENDER_LABELS, STATUS_LABELS, EntryFilter, export_batches

XLSX_MEDIA_TYPE = kit.XLSX_MEDIA_TYPE
EXPORT_LOCALE = "zh_CN"


@dataclass(frozen=True)
class ExportColumn:
    header: Msg
    width: float
    kind: str = "text"  # text / id / date / number


COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn(N_("Ticket number"), 18),
    ExportColumn(N_("Full name"), 10),
    ExportColumn(N_("Gender"), 6),
    ExportColumn(N_("Birth date"), 12, "date"),
    ExportColumn(N_("ID number"), 21, "id"),
    ExportColumn(N_("Mobile phone"), 14),
    ExportColumn(N_("Employer"), 30),
    ExportColumn(N_("Job"), 14),
    ExportColumn(N_("Skill level"), 16),
    ExportColumn(N_("Years of service"), 8, "number"),
    ExportColumn(N_("Delegation"), 20),
    ExportColumn(N_("Trade"), 14),
    ExportColumn(N_("Group"), 8),
    ExportColumn(N_("Status"), 14),
    ExportColumn(N_("Session"), 24),
    ExportColumn(N_("Review note"), 30),
)


@contextmanager
def _in_export_language() -> Iterator[None]:
    token = current_locale.set(EXPORT_LOCALE)
    try:
        yield
    finally:
        current_locale.reset(token)


def _session(row: dict[str, Any]) -> str:
    if not row.get("session.code"):
        return ""
    when = format_datetime(row.get("session.starts_at"))
    return " ".join(p for p in (row["session.name"] or row["session.code"], when) if p)


def _label(labels: dict[Any, Msg], key: Any) -> str:
    return render(labels[key]) if key in labels else ""


def _values(row: dict[str, Any]) -> list[Any]:
    return [
        row.get("ticket_number") or "",
        row["person.name"],
        _label(GENDER_LABELS, row["person.gender"]),
        row["person.birth_date"],
        row["person.id_number"],
        row["person.phone"] or "",
        row["person.employer"] or "",
        row["person.job"] or "",
        _label(SKILL_LEVELS, row["person.skill_level"]),
        row["person.years_of_service"],
        row["delegation.name"],
        row["trade.name"],
        row["group_name"] or "",
        _label(STATUS_LABELS, row["status"]),
        _session(row),
        row.get("review_note") or "",
    ]


class EntriesWorkbook:
    """The list as an xlsx, written a batch of rows at a time: Chinese headers, a frozen
    header row, an autofilter over every column. Rows come from
    `registration.queries.export_batches` (masked or not)."""

    def __init__(self, title: str):
        self._buffer = io.BytesIO()
        self._rows = 0
        with _in_export_language():
            self._book = kit.new_workbook(self._buffer, constant_memory=True)
            self._book.set_properties({"title": title})
            self._sheet = self._book.add_worksheet(render(N_("Registration list"))[:31])
            header = self._book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
            self._text = self._book.add_format({"num_format": "@"})
            self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
            for index, column in enumerate(COLUMNS):
                style = {"date": self._date, "id": self._text}.get(column.kind)
                self._sheet.set_column(index, index, column.width, style)
            self._sheet.freeze_panes(1, 0)
            for index, column in enumerate(COLUMNS):
                kit.write_text(self._sheet, 0, index, render(column.header), header)

    def add_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        sheet, kinds = self._sheet, [c.kind for c in COLUMNS]
        with _in_export_language():
            for row in rows:
                self._rows += 1
                line = self._rows
                for index, (kind, value) in enumerate(zip(kinds, _values(row), strict=True)):
                    if value is None or value == "":
                        continue
                    if kind == "date" and isinstance(value, dt.date):
                        sheet.write_datetime(line, index, value, self._date)
                    elif kind == "number" and isinstance(value, int):
                        sheet.write_number(line, index, value)
                    elif kind == "id":
                        kit.write_text(sheet, line, index, str(value), self._text)
                    else:
                        kit.write_text(sheet, line, index, str(value))

    def finish(self) -> bytes:
        self._sheet.autofilter(0, 0, max(self._rows, 1), len(COLUMNS) - 1)
        self._book.close()
        return self._buffer.getvalue()


def entries_workbook(rows: Iterable[dict[str, Any]], *, title: str) -> bytes:
    book = EntriesWorkbook(title)
    book.add_rows(rows)
    return book.finish()


async def export_entries(entry_filter: EntryFilter, *, full_id: bool, title: str) -> bytes:
    """The entries matching a filter as an xlsx. Rows are read a trade at a time and written
    off the event loop, so a list of 200,000 holds one trade's rows in memory, not all."""
    book = EntriesWorkbook(title)
    async for batch in export_batches(entry_filter, full_id=full_id):
        await anyio.to_thread.run_sync(book.add_rows, batch)
    return await anyio.to_thread.run_sync(book.finish)


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment with its real (Chinese) name per RFC 5987 and an ASCII name for clients
    that do not read `filename*`."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_filename(*parts: str) -> str:
    """Parts joined with "-", without characters a file system refuses."""
    cleaned = []
    for part in parts:
        text = "".join(c for c in part if c not in '\\/:*?"<>|\r\n\t').strip()
        if text:
            cleaned.append(text)
    return "-".join(cleaned)[:120] + ".xlsx"
