"""Reading an uploaded registration file (xlsx or CSV) into rows of text, refusing unsafe files.

Every limit is checked before the expensive part: the upload's size, then for an xlsx the zip
directory (total unpacked size and compression ratio: a zip bomb), the row count the sheet
declares in its `<dimension ref=…>`, and the real unpacked size of every member (a directory can
lie); for a CSV the encoding and the row count while reading. Only then is the sheet parsed.

Cells come back as the text a person sees in Excel: a number typed into the ID column comes
back as Excel shows it ("6.30102E+17"), so the ID check can say what happened instead of
accepting the 15 digits Excel kept. Formulas are never evaluated: a formula cell reads as the
value Excel cached for it (none when a program wrote it).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from python_calamine import CalamineWorkbook

from competition.errors import ValidationFailed
from competition.i18n import N_

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ROWS = 250_000  # data rows, the header not counted
# A workbook of 250,000 full rows unpacks to about 150 MB of XML; a bomb is far beyond either
# limit. The ratio applies to members larger than RATIO_FLOOR (tiny XML parts compress well).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024
# The names under which the data sheet is looked for; otherwise the first sheet is read.
DATA_SHEETS = ("报名", "报名表", "registrations", "registration")

_OLE = b"\xd0\xcf\x11\xe0"
_ZIP = b"PK\x03\x04"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")
_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_REL_TAG = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTR = re.compile(r"([\w:]+)\s*=\s*\"([^\"]*)\"")
_INFLATE_CHUNK = 1024 * 1024


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
    sheet: str  # the xlsx sheet read; "" for a CSV
    # Every row as read, index 0 = Excel row 1, blank rows kept so row numbers match Excel.
    rows: list[list[str]]


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


def read_upload(data: bytes) -> Table:
    """The rows of an uploaded xlsx or CSV (decided by content, never by the file name)."""
    with collecting_later():
        return _read_upload(data)


def _read_upload(data: bytes) -> Table:
    if not data:
        raise FileRefused(N_("The file is empty."), code="empty_file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileTooLarge(
            N_("The file is larger than {limit} MB; split it into several files."),
            limit=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
    if data.startswith(_OLE):
        raise FileRefused(
            N_(
                "This is an old Excel 97–2003 (.xls) file or a password-protected workbook. "
                "Save it in Excel as “Excel Workbook (*.xlsx)” without a password, or as "
                "“CSV UTF-8”, and upload it again."
            ),
            code="not_xlsx",
        )
    if data.startswith(_ZIP):
        return _read_xlsx(data)
    return _read_csv(data)


def _too_many_rows(n: int) -> FileRefused:
    return FileRefused(
        N_(
            "The file has {n} rows; at most {limit} rows can be imported at once. Split it into "
            "several files."
        ),
        code="too_many_rows",
        n=n,
        limit=MAX_ROWS,
    )


def count_data_rows(rows: list[list[str]]) -> int:
    return sum(1 for row in rows if any(cell.strip() for cell in row))


# ---------------------------------------------------------------------------- xlsx


def _bomb() -> FileRefused:
    return FileTooLarge(
        N_(
            "The workbook unpacks to far more data than a registration list holds (it may be "
            "a “zip bomb”); it was not opened. Save the list again in Excel and upload it."
        ),
        code="zip_bomb",
    )


def _not_xlsx() -> FileRefused:
    return FileRefused(
        N_(
            "The file is neither an Excel workbook (.xlsx) nor a CSV file. Save it in Excel as "
            "“Excel Workbook (*.xlsx)” or “CSV UTF-8” and upload it again."
        ),
        code="not_xlsx",
    )


def _attrs(tag: str) -> dict[str, str]:
    return {k.split(":")[-1]: html.unescape(v) for k, v in _ATTR.findall(tag)}


def _sheet_members(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, member path) in workbook order, from workbook.xml and its relationships."""
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
    sheets = []
    for tag in _SHEET_TAG.findall(workbook):
        attrs = _attrs(tag)
        sheets.append((attrs.get("name", ""), targets.get(attrs.get("id", ""), "")))
    return sheets


def _inflates_within(data: bytes, info: zipfile.ZipInfo) -> bool:
    """Whether the member really unpacks to no more than its directory entry says: the
    directory is only a claim, and the parser would otherwise inflate whatever is there."""
    header = data[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or not header.startswith(_ZIP):
        return False
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    raw = memoryview(data)[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return len(raw) == info.file_size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return False  # Excel only writes deflate; anything else is not a workbook of ours
    inflater = zlib.decompressobj(-15)
    total = 0
    try:
        # Fed in small pieces, each inflated at most a chunk at a time: nothing large is ever
        # held, and counting stops as soon as the claim is exceeded.
        for start in range(0, len(raw), 64 * 1024):
            piece: bytes | memoryview = raw[start : start + 64 * 1024]
            while piece:
                total += len(inflater.decompress(piece, _INFLATE_CHUNK))
                if total > info.file_size:
                    return False
                piece = inflater.unconsumed_tail
        total += len(inflater.flush(_INFLATE_CHUNK))
    except zlib.error:
        return False
    return total <= info.file_size


def _check_archive(data: bytes) -> str:
    """Refuse a bomb or an oversized sheet from the zip directory; return the sheet's name."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_xlsx() from exc
    with archive:
        if not any(m.filename == "xl/workbook.xml" for m in members):
            raise _not_xlsx()  # a .docx, an .ods or any other zip
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise _bomb()
        for member in members:
            if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(
                member.compress_size, 1
            ):
                raise _bomb()
        if any(member.flag_bits & 0x1 for member in members):
            raise FileRefused(
                N_("The workbook is password-protected; save it without a password."),
                code="encrypted",
            )
        sheets = _sheet_members(archive)
        if not sheets:
            raise _not_xlsx()
        name, path = next(
            ((n, p) for n, p in sheets if n.strip().lower() in DATA_SHEETS), sheets[0]
        )
        try:
            with archive.open(path) as stream:
                head = stream.read(64 * 1024)
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise _not_xlsx() from exc
        match = _DIMENSION.search(head)
        if match and int(match.group(1)) - 1 > MAX_ROWS:
            raise _too_many_rows(int(match.group(1)) - 1)
        for member in members:
            if not _inflates_within(data, member):
                raise _bomb()
    return name


def _cell_text(value: object) -> str:
    """A non-text cell as Excel shows it in a General column."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            if abs(value) >= 1e15:
                # Excel keeps 15 significant digits and shows a long number like this; the
                # ID check then explains that the column must be text.
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


def _read_xlsx(data: bytes) -> Table:
    name = _check_archive(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        cells = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise FileRefused(
            N_(
                "The workbook could not be read; it may be damaged. Open it in Excel, save it "
                "again as .xlsx and upload it again."
            ),
            code="unreadable",
        ) from exc
    rows = [[c if c.__class__ is str else _cell_text(c) for c in row] for row in cells]
    n = count_data_rows(rows)
    if n - 1 > MAX_ROWS:  # the declared dimension may have been missing or wrong
        raise _too_many_rows(n - 1)
    return Table(kind="xlsx", encoding="", sheet=name, rows=rows)


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
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
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
    # lines too, as nonsense).
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


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _not_xlsx()  # binary: a PDF, an image, a zip that lost its header …
    text, encoding = decode_csv(data)
    rows: list[list[str]] = []
    filled = 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)):
            rows.append(row)
            if any(row):
                filled += 1
                if filled - 1 > MAX_ROWS:
                    # Stop reading; the lines that hold anything are a fair count to report.
                    raise _too_many_rows(sum(1 for line in text.splitlines() if line.strip()) - 1)
    except csv.Error as exc:
        raise FileRefused(
            N_("The CSV file could not be read near row {row}: {detail}"),
            code="bad_csv",
            row=len(rows) + 1,
            detail=str(exc),
        ) from exc
    return Table(kind="csv", encoding=encoding, sheet="", rows=rows)
