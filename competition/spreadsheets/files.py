"""Reading an uploaded spreadsheet (xlsx, or CSV where the caller takes one) into rows of text,
refusing unsafe files.

Every limit (`limits.Limits`) is checked before the expensive part: the upload's size, then for
an xlsx the zip directory (total unpacked size and compression ratio: a zip bomb), the row count
each sheet to be read declares in its `<dimension ref=…>`, and then each sheet's XML is streamed
out of the zip — in bounded memory, a megabyte at a time — to count its rows (a sheet without a
`<dimension>`, or with a false one, is refused as soon as it passes the limit), to find its
formula cells, and to hold it to the unpacked size its directory entry claims. Only then is a
sheet parsed. For a CSV: the encoding, and the row count while reading. What a file is comes
from its content, never from its name.

Cells come back as the text a person sees in Excel: a number typed into an ID column comes
back as Excel shows it ("6.30102E+17"), so the ID check can say what happened instead of
accepting the 15 digits Excel kept. Formulas are never evaluated: a formula cell reads as its
formula ("=A1&B1", also listed in `Table.formulas`), never as the value Excel cached for it, so
an import can say the cell holds a formula. Row i of a sheet is index i - 1, blank rows kept,
so messages can name rows as Excel numbers them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import html
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from python_calamine import CalamineWorkbook

from competition.errors import ValidationFailed
from competition.i18n import N_
from competition.spreadsheets.limits import Limits

_OLE = b"\xd0\xcf\x11\xe0"
_ZIP = b"PK\x03\x04"
# Files people upload by mistake that would otherwise decode as (GB18030) text.
_NOT_TEXT = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")
_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_REL_TAG = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTR = re.compile(r"([\w:]+)\s*=\s*\"([^\"]*)\"")
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_INFLATE_CHUNK = 1024 * 1024
_FEED = 64 * 1024
# Bytes of the previous chunk kept in front of the next: a formula's cell tag and its text
# are found even when a chunk boundary falls between them.
_LOOKBACK = 8 * 1024
FORMULA_SHOWN = 200  # characters of a formula kept for messages


class FileRefused(ValidationFailed):
    """The file as a whole cannot be imported; nothing was read from it."""

    default_code = "file_refused"


class FileTooLarge(FileRefused):
    status_code = 413
    default_code = "file_too_large"


@dataclass
class Table:
    kind: str  # "xlsx" or "csv"
    encoding: str  # the CSV's encoding; "" for an xlsx
    sheet: str  # the xlsx sheet read, as named in the file; "" for a CSV
    # Every row as read, index 0 = Excel row 1, blank rows kept so row numbers match Excel.
    rows: list[list[str]]
    # (row index, column index) → the formula of a formula cell, "=" included.
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)


@contextmanager
def collecting_later() -> Iterator[None]:
    """Hundreds of thousands of new lists and strings set the cyclic garbage collector off
    again and again — a quarter of a large import's time — while none of them can form a
    cycle; it runs once afterwards instead. (Plain reference counting still frees memory.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_table(data: bytes, limits: Limits, *, sheets: Iterable[str] = ()) -> Table:
    """The rows of an uploaded xlsx or CSV. Of an xlsx, the first sheet named (case and outer
    spaces aside) like one of `sheets` is read, else the first sheet."""
    preferred = {name.strip().lower() for name in sheets}

    def choose(names: list[str]) -> list[str]:
        return [next((n for n in names if n.strip().lower() in preferred), names[0])]

    with collecting_later():
        _check_upload(data, limits, csv_too=True)
        if data.startswith(_ZIP):
            return _read_xlsx(data, limits, choose, per_sheet=False)[0]
        return _read_csv(data, limits)


def read_sheets(
    data: bytes, limits: Limits, choose: Callable[[list[str]], Sequence[str]]
) -> list[Table]:
    """Sheets of an uploaded xlsx (a CSV is refused): `choose` gets every sheet's name in
    workbook order and returns those to read (it may raise ValidationFailed, e.g. when none
    fits); they come back in that order. `limits.max_rows` applies to each sheet."""
    with collecting_later():
        _check_upload(data, limits, csv_too=False)
        return _read_xlsx(data, limits, choose, per_sheet=True)


def _check_upload(data: bytes, limits: Limits, *, csv_too: bool) -> None:
    if not data:
        raise FileRefused(N_("The file is empty."), code="empty_file")
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            N_("The file is larger than {limit} MB; split it into several files."),
            limit=limits.max_bytes // (1024 * 1024),
        )
    if data.startswith(_OLE):
        # The OLE container: Excel 97–2003 files, and password-protected xlsx files.
        raise FileRefused(
            N_(
                "This is an old Excel 97–2003 (.xls) file or a password-protected workbook. "
                "Save it in Excel as “Excel Workbook (*.xlsx)” without a password, or as "
                "“CSV UTF-8”, and upload it again."
            )
            if csv_too
            else N_(
                "This is an old Excel 97–2003 (.xls) file or a password-protected workbook. "
                "Save it in Excel as “Excel Workbook (*.xlsx)” without a password and upload "
                "it again."
            ),
            code="not_xlsx",
        )
    if not data.startswith(_ZIP) and (not csv_too or data.startswith(_NOT_TEXT)):
        raise _not_readable(csv_too)


def _not_readable(csv_too: bool) -> FileRefused:
    if csv_too:
        return FileRefused(
            N_(
                "The file is neither an Excel workbook (.xlsx) nor a CSV file. Save it in Excel "
                "as “Excel Workbook (*.xlsx)” or “CSV UTF-8” and upload it again."
            ),
            code="not_xlsx",
        )
    return FileRefused(
        N_(
            "The file is not an Excel workbook (.xlsx). Save it in Excel as “Excel Workbook "
            "(*.xlsx)” and upload it again."
        ),
        code="not_xlsx",
    )


def _too_many_rows(n: int, limits: Limits, sheet: str | None, *, more: bool = False) -> FileRefused:
    """`more`: counting stopped at the limit, so the file has more than `limit` rows."""
    if more:
        if sheet is not None:
            return FileRefused(
                N_(
                    "The sheet “{sheet}” has more than {limit} rows; at most {limit} can be "
                    "imported at once."
                ),
                code="too_many_rows",
                sheet=sheet,
                limit=limits.max_rows,
            )
        return FileRefused(
            N_(
                "The file has more than {limit} rows; at most {limit} rows can be imported at "
                "once. Split it into several files."
            ),
            code="too_many_rows",
            limit=limits.max_rows,
        )
    if sheet is not None:
        return FileRefused(
            N_("The sheet “{sheet}” has {n} rows; at most {limit} can be imported at once."),
            code="too_many_rows",
            sheet=sheet,
            n=n,
            limit=limits.max_rows,
        )
    return FileRefused(
        N_(
            "The file has {n} rows; at most {limit} rows can be imported at once. Split it into "
            "several files."
        ),
        code="too_many_rows",
        n=n,
        limit=limits.max_rows,
    )


# ---------------------------------------------------------------------------- xlsx


def _bomb() -> FileRefused:
    return FileTooLarge(
        N_(
            "The workbook unpacks to far more data than such a list holds (it may be a “zip "
            "bomb”); it was not opened. Save it again in Excel and upload it."
        ),
        code="zip_bomb",
    )


def _attrs(tag: str) -> dict[str, str]:
    return {k.split(":")[-1]: html.unescape(v) for k, v in _ATTR.findall(tag)}


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → member path, in workbook order, from workbook.xml and its relationships."""
    workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        rels = ""
    targets = {}
    for tag in _REL_TAG.findall(rels):
        attrs = _attrs(tag)
        target = attrs.get("Target", "")
        target = target[1:] if target.startswith("/") else "xl/" + target
        targets[attrs.get("Id", "")] = target
    sheets: dict[str, str] = {}
    for tag in _SHEET_TAG.findall(workbook):
        attrs = _attrs(tag)
        sheets.setdefault(attrs.get("name", ""), targets.get(attrs.get("id", ""), ""))
    return sheets


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's content a chunk at a time, straight from its bytes in the upload: nothing
    large is ever held, and a member unpacking to more than its directory entry claims (the
    directory is only a claim) is refused the moment it does."""
    header = data[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or not header.startswith(_ZIP):
        raise _bomb()
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    raw = memoryview(data)[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        if len(raw) != info.file_size:
            raise _bomb()
        for offset in range(0, len(raw), _INFLATE_CHUNK):
            yield bytes(raw[offset : offset + _INFLATE_CHUNK])
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise _bomb()  # Excel only writes deflate; anything else is not a workbook of ours
    inflater = zlib.decompressobj(-15)
    total = 0
    try:
        for offset in range(0, len(raw), _FEED):
            piece: bytes | memoryview = raw[offset : offset + _FEED]
            while piece:
                out = inflater.decompress(piece, _INFLATE_CHUNK)
                total += len(out)
                if total > info.file_size:
                    raise _bomb()
                if out:
                    yield out
                piece = inflater.unconsumed_tail
        out = inflater.flush(_INFLATE_CHUNK)
    except zlib.error:
        raise _bomb() from None
    total += len(out)
    if total > info.file_size:
        raise _bomb()
    if out:
        yield out


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def _scan_sheet(
    data: bytes, info: zipfile.ZipInfo, limits: Limits, sheet: str | None
) -> dict[tuple[int, int], str]:
    """Stream one sheet's XML: refuse it once it has more rows than the limit allows (the
    header is one of them), and return its formula cells. Rows are counted by their closing
    tags, so the empty `<row …/>` Excel writes for formatted rows do not count."""
    formulas: dict[tuple[int, int], str] = {}
    row_end = b""
    formula_tag: re.Pattern[bytes] | None = None
    formula_end = b""
    cell_start = b""
    rows = 0
    carry = b""  # the end of the previous chunk: a tag split by the chunk boundary is whole
    for chunk in _inflate(data, info):
        if not row_end:
            root = _ROOT.search(chunk[:4096])
            prefix = (root.group(1) or b"") if root else b""
            row_end = b"</" + prefix + b"row>"
            formula_tag = re.compile(b"<" + re.escape(prefix) + rb"f[\s>/]")
            formula_end = b"</" + prefix + b"f>"
            cell_start = b"<" + prefix + b"c "
        window = carry + chunk
        rows += window.count(row_end, max(len(carry) - len(row_end) + 1, 0))
        if rows - 1 > limits.max_rows:
            raise _too_many_rows(rows - 1, limits, sheet, more=True)
        assert formula_tag is not None
        for match in formula_tag.finditer(window):
            tag_start = window.rfind(cell_start, 0, match.start())
            if tag_start < 0:
                continue
            ref = _CELL_REF.search(window, tag_start, match.start())
            if ref is None:
                continue
            tag_end = window.find(b">", match.start())
            if tag_end < 0:
                continue  # cut by the chunk boundary: found again in the next window
            text = ""
            # <f t="shared" si="0"/> holds no text: the formula is written in another cell.
            if window[tag_end - 1 : tag_end] != b"/":
                body = tag_end + 1
                end = window.find(formula_end, body, body + FORMULA_SHOWN * 4)
                raw = window[body : end if end >= 0 else body + FORMULA_SHOWN * 4]
                text = html.unescape(raw.decode("utf-8", "replace"))[:FORMULA_SHOWN]
            key = (int(ref.group(2)) - 1, _column_index(ref.group(1)))
            if text or key not in formulas:
                formulas[key] = "=" + text
        carry = window[-_LOOKBACK:]
    return formulas


def _check_archive(
    data: bytes, limits: Limits, choose: Callable[[list[str]], Sequence[str]], per_sheet: bool
) -> list[tuple[str, dict[tuple[int, int], str]]]:
    """Refuse a bomb or an oversized sheet before parsing; the chosen sheets' names with their
    formula cells."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_readable(not per_sheet) from exc
    with archive:
        if not any(m.filename == "xl/workbook.xml" for m in members):
            raise _not_readable(not per_sheet)  # a .docx, an .ods or any other zip
        for member in members:
            if member.file_size > limits.ratio_floor and member.file_size > limits.max_ratio * max(
                member.compress_size, 1
            ):
                raise _bomb()
        # Packed like a real workbook, only bigger: a file to split, not a bomb.
        if sum(m.file_size for m in members) > limits.max_unpacked_bytes:
            raise FileTooLarge(
                N_("The workbook is too large once unpacked; split it into several files."),
                code="file_too_large",
            )
        if any(member.flag_bits & 0x1 for member in members):
            raise FileRefused(
                N_("The workbook is password-protected; save it without a password."),
                code="encrypted",
            )
        try:
            sheets = _sheet_members(archive)
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise _not_readable(not per_sheet) from exc
        if not sheets:
            raise _not_readable(not per_sheet)
        chosen = list(choose(list(sheets)))
        by_name = {m.filename: m for m in members}
        for name in chosen:
            info = by_name.get(sheets[name])
            if info is None:
                raise _not_readable(not per_sheet)
            try:
                with archive.open(info) as stream:
                    head = stream.read(64 * 1024)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                raise _not_readable(not per_sheet) from exc
            # The row count a sheet declares refuses it without reading further.
            match = _DIMENSION.search(head)
            if match and int(match.group(1)) - 1 > limits.max_rows:
                raise _too_many_rows(int(match.group(1)) - 1, limits, name if per_sheet else None)
        scanned = {
            name: _scan_sheet(data, by_name[sheets[name]], limits, name if per_sheet else None)
            for name in chosen
        }
        targets = {sheets[name] for name in chosen}
        for member in members:
            if member.filename not in targets:
                for _chunk in _inflate(data, member):
                    pass
    return [(name, scanned[name]) for name in chosen]


def _cell_text(value: object) -> str:
    """A non-text cell as Excel shows it in a General column."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            if abs(value) >= 1e15:
                # Excel keeps 15 significant digits and shows a long number like this; an ID
                # check then explains that the column must be text.
                return f"{value:.5E}"
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return f"{float(value):.5E}" if abs(value) >= 10**15 else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def _read_xlsx(
    data: bytes, limits: Limits, choose: Callable[[list[str]], Sequence[str]], per_sheet: bool
) -> list[Table]:
    chosen = _check_archive(data, limits, choose, per_sheet)
    tables = []
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for name, formulas in chosen:
            cells = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            rows = [[c if c.__class__ is str else _cell_text(c) for c in row] for row in cells]
            del cells
            for (r, c), formula in formulas.items():
                if r < len(rows) and c < len(rows[r]):
                    rows[r][c] = formula
            tables.append(Table("xlsx", "", name, rows, formulas))
    except FileRefused:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise FileRefused(
            N_(
                "The workbook could not be read; it may be damaged. Open it in Excel, save it "
                "again as .xlsx and upload it again."
            ),
            code="unreadable",
        ) from exc
    return tables


# ---------------------------------------------------------------------------- CSV


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _mixed(utf8_line: int, other_line: int) -> FileRefused:
    return FileRefused(
        N_(
            "The file mixes text encodings: line {utf8_line} is UTF-8 but line {other_line} is "
            "not. Open it in Excel and save the whole file again as “CSV UTF-8”, then upload it."
        ),
        code="mixed_encoding",
        utf8_line=utf8_line,
        other_line=other_line,
    )


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-8 (with or without BOM), else GB18030 (which
    includes GBK and GB2312). A file that is neither throughout is refused."""
    if data.startswith(_UTF16_BOMS):
        raise FileRefused(
            N_(
                "The file is saved as “Unicode text” (UTF-16). Save it in Excel as “CSV UTF-8” "
                "and upload it again."
            ),
            code="utf16",
        )
    has_bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if has_bom else data
    try:
        return body.decode("utf-8"), "utf-8-sig" if has_bom else "utf-8"
    except UnicodeDecodeError as exc:
        bad_line = _line_of(body, exc.start)
    if has_bom:
        raise _mixed(1, bad_line)
    # A line that is valid UTF-8 holding CJK characters, in a file that is not UTF-8 as a
    # whole, means the file was stitched from two encodings (GB18030 would decode the UTF-8
    # lines too, as nonsense). Two GBK bytes can happen to form one valid UTF-8 character
    # below U+0800, so only characters above count.
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if any(ord(c) >= 0x800 for c in decoded):
            raise _mixed(number, bad_line)
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRefused(
            N_(
                "The file's text is neither UTF-8 nor GBK/GB18030 (line {line}). Save it in "
                "Excel as “CSV UTF-8” and upload it again."
            ),
            code="unknown_encoding",
            line=_line_of(body, exc.start),
        ) from None


def _delimiter(text: str) -> str:
    """Comma, or the tab / semicolon some programs write, judged on the header line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes, limits: Limits) -> Table:
    if b"\x00" in data[:4096] and not data.startswith(_UTF16_BOMS):
        raise _not_readable(True)  # binary: an image, a zip that lost its header …
    text, encoding = decode_csv(data)
    rows: list[list[str]] = []
    filled = 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)):
            rows.append(row)
            if any(row):
                filled += 1
                if filled - 1 > limits.max_rows:
                    # Stop reading; the lines that hold anything are a fair count to report.
                    n = sum(1 for line in text.splitlines() if line.strip()) - 1
                    raise _too_many_rows(n, limits, None)
    except csv.Error as exc:
        raise FileRefused(
            N_("The CSV file could not be read near row {row}: {detail}"),
            code="bad_csv",
            row=len(rows) + 1,
            detail=str(exc),
        ) from exc
    return Table(kind="csv", encoding=encoding, sheet="", rows=rows)
