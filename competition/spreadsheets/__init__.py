"""The spreadsheet-import kit (表格导入): every import of an xlsx or CSV file goes through it —
the organizer's industries, trades and quotas (competition/importer.py), registrations
(registration/imports/), earlier prizes (registration/award_history.py), and the scoring imports
to come (marking schemes, judges, sign-in sheets, marks, theory scores).

An import is four steps, each one call:

1. **Limits** — add a row to `LIMITS` (file bytes, rows, unpacked size, zip ratio).
2. **Read** — `read_table(data, LIMITS["mine"], sheets=("名单",))` (xlsx or CSV) or
   `read_sheets(data, limits, choose)` (several sheets of one xlsx) returns `Table`s of cell
   text, or raises `FileRefused` (`FileTooLarge`, 413) with a message in the user's language.
   Unsafe files are refused before anything is parsed; formula cells read as their formula.
3. **Columns** — describe the format as `Column`s (key, template header, aliases, hint,
   required, kind TEXT / CODE / NUMBER). `Grid(table, COLUMNS)` finds the header row and gives
   the data rows: `grid.missing()` (raise `missing_columns(...)`), `grid.column(key)` (cleaned
   by the one cleaner: NFKC, zero-width characters and stray spaces gone; spaceless columns
   lose every space), `grid.numbers` (Excel row numbers), and `grid.problems()` — formula cells
   and TEXT values a spreadsheet would run, which every import refuses alike.
4. **Report** — problems are `RowProblem(row, column header, N_(msgid, **params), code)`;
   `report_workbook([ReportSheet(...)], problems)` repeats the rows with a 错误 column;
   `TemplateWriter` writes the template; `write_text` / `csv_bytes` write any other xlsx or
   CSV (exports) with the one `escape`, so text starting with = + - @ or a TAB never runs.

`parse_whole` and `parse_skill_level` read the values several formats share.

tests/competition/test_spreadsheets.py shows each step on real files.
"""

from competition.spreadsheets.columns import (
    CODE,
    FORMULA_CELL,
    FORMULA_TEXT,
    NUMBER,
    TEXT,
    Column,
    Grid,
    HeaderMatch,
    column_names,
    header_key,
    header_text,
    match_header,
    missing_columns,
    no_rows,
)
from competition.spreadsheets.files import (
    FileRefused,
    FileTooLarge,
    Table,
    collecting_later,
    decode_csv,
    read_sheets,
    read_table,
)
from competition.spreadsheets.limits import LIMITS, Limits
from competition.spreadsheets.problems import RowProblem, RowsRejected
from competition.spreadsheets.text import (
    FORMULA_START,
    clean,
    clean_code,
    clean_code_column,
    clean_column,
    escape,
    looks_like_formula,
)
from competition.spreadsheets.values import (
    SKILL_LEVEL_CHOICES,
    parse_skill_level,
    parse_whole,
)
from competition.spreadsheets.workbooks import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    InfoSheet,
    ReportSheet,
    TemplateWriter,
    csv_bytes,
    new_workbook,
    report_workbook,
    sheet_title,
    write_row,
    write_text,
)

__all__ = [
    "CODE",
    "CSV_MEDIA_TYPE",
    "FORMULA_CELL",
    "FORMULA_START",
    "FORMULA_TEXT",
    "LIMITS",
    "NUMBER",
    "SKILL_LEVEL_CHOICES",
    "TEXT",
    "XLSX_MEDIA_TYPE",
    "Column",
    "FileRefused",
    "FileTooLarge",
    "Grid",
    "HeaderMatch",
    "InfoSheet",
    "Limits",
    "ReportSheet",
    "RowProblem",
    "RowsRejected",
    "Table",
    "TemplateWriter",
    "clean",
    "clean_code",
    "clean_code_column",
    "clean_column",
    "collecting_later",
    "column_names",
    "csv_bytes",
    "decode_csv",
    "escape",
    "header_key",
    "header_text",
    "looks_like_formula",
    "match_header",
    "missing_columns",
    "new_workbook",
    "no_rows",
    "parse_skill_level",
    "parse_whole",
    "read_sheets",
    "read_table",
    "report_workbook",
    "sheet_title",
    "write_row",
    "write_text",
]
