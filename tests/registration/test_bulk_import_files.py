"""Reading uploaded registration files (registration/imports/format.py, over the spreadsheet kit)
— and the builders of real files that the other batch import tests use: xlsx written by
openpyxl, CSV in UTF-8 (with or without BOM) and GBK, and the hostile ones (zip bombs, a sheet
claiming a million rows)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import struct
import zipfile

from openpyxl import Workbook, load_workbook

from registration import idcard
from tests.competition.test_spreadsheets import SHEET1, patch_headers, rezip, zip_bomb

__all__ = ["zip_bomb"]  # the registration import tests use it from here

HEADER = [
    "姓名",
    "身份证号",
    "手机号",
    "工作单位",
    "岗位",
    "职业技能等级",
    "工龄",
    "工种",
    "组别",
    "推荐单位",
]
KEYS = ["name", "id_number", "phone", "employer", "job", "level", "years", "trade", "group",
        "delegation"]  # fmt: skip

# IDs of their own (region 632224, which neither tests/registration/helpers.py nor the demo
# contestants use), so they never meet another test's people.
_sequence = itertools.count(11)


def fresh_id(birth: dt.date = dt.date(1991, 3, 9), male: bool = True) -> str:
    n = next(_sequence)
    if (n % 2 == 1) != male:
        n = next(_sequence)
    return idcard.compose("632224", birth + dt.timedelta(days=n // 900), n % 900 + 100)


def row(**values: str) -> dict[str, str]:
    """A valid row. Its trade, 数控铣工 T007 (groups, 2 places a delegation), has no demo
    contestants, so a test's quota arithmetic holds whether or not they are loaded."""
    base = {
        "name": "马建华",
        "id_number": fresh_id(),
        "phone": "13900971234",
        "employer": "青海某某机械制造有限公司",
        "job": "焊工",
        "level": "四级/中级工",
        "years": "6",
        "trade": "T007",
        "group": "职工组",
        "delegation": "XN",
    }
    base.update(values)
    return base


def as_lists(rows: list[dict[str, str] | None], header: list[str] = HEADER) -> list[list[str]]:
    keys = [KEYS[HEADER.index(h)] if h in HEADER else h for h in header]
    out = [list(header)]
    for r in rows:
        out.append([] if r is None else [r.get(k, "") for k in keys])
    return out


def csv_bytes(
    rows: list[dict[str, str] | None],
    *,
    encoding: str = "utf-8",
    header: list[str] = HEADER,
) -> bytes:
    """`encoding` "utf-8-sig" writes a BOM; "gbk" what Excel saves on Chinese Windows."""
    lines = [",".join(cells) for cells in as_lists(rows, header)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(
    rows: list[dict[str, str] | None],
    *,
    header: list[str] = HEADER,
    numeric_ids: set[int] = frozenset(),  # type: ignore[assignment]
    formulas: dict[tuple[int, str], str] | None = None,
) -> bytes:
    """An xlsx as openpyxl writes it, the ID column formatted as text. Rows listed in
    `numeric_ids` (Excel row numbers) hold the ID as a number, as Excel stores one typed into
    a General column; `formulas` puts real formula cells at (Excel row, header)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "报名"
    id_column = header.index("身份证号") + 1 if "身份证号" in header else None
    for r, cells in enumerate(as_lists(rows, header), start=1):
        for c, value in enumerate(cells, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            if c == id_column and r in numeric_ids:
                cell.value = int(value.rstrip("X"))
            else:
                cell.value = value
                cell.data_type = "s"  # text, even when it starts with "="
                if c == id_column:
                    cell.number_format = "@"
    for (r, column), formula in (formulas or {}).items():
        sheet.cell(row=r, column=header.index(column) + 1).value = formula  # a real formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def claims_rows(data: bytes, rows: int) -> bytes:
    """An xlsx whose sheet declares `rows` rows in <dimension ref=…> (it holds a few)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="A1:J{rows}"'.encode(), sheet)
    return rezip(data, {"xl/worksheets/sheet1.xml": sheet})


def lying_zip(real_megabytes: int = 40, claimed: int = 200_000) -> bytes:
    """A workbook whose sheet's directory entries claim `claimed` bytes (a harmless ratio)
    while its data inflates to `real_megabytes` MB."""
    real = rezip(xlsx_bytes([row()]), {SHEET1: b"<row/>" * (real_megabytes * 174763)})
    size = struct.pack("<I", claimed)
    return patch_headers(real, SHEET1, {(b"PK\x03\x04", 22): size, (b"PK\x01\x02", 24): size})


def read_back(data: bytes) -> list[list[object]]:
    """The first sheet of an xlsx as openpyxl reads it (values, formulas as text)."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# ---------------------------------------------------------------------------- reading files

import time  # noqa: E402

import pytest  # noqa: E402

from competition.i18n import translate_error  # noqa: E402
from competition.spreadsheets import FileRefused  # noqa: E402
from registration.imports import LIMITS, read_upload  # noqa: E402


def _refusal(data: bytes) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        read_upload(data)
    return caught.value


def test_xlsx_cells_come_back_as_the_text_excel_shows():
    good = row(id_number=idcard.compose("630102", dt.date(1990, 5, 17), 123))
    numeric = row(id_number=idcard.compose("630102", dt.date(1988, 1, 2), 456))
    data = xlsx_bytes(
        [good, numeric, None, row(name="=cmd|' /C calc'!A0")],
        numeric_ids={3},
        formulas={(5, "工作单位"): '=HYPERLINK("http://example.invalid","x")'},
    )
    table = read_upload(data)
    assert table.kind == "xlsx" and table.sheet == "报名"
    assert table.rows[0][:3] == ["姓名", "身份证号", "手机号"]
    assert table.rows[1][1] == good["id_number"]
    # A number typed into the ID column keeps 15 digits; it reads back as Excel shows it.
    assert table.rows[2][1] == "6.30102E+17"
    assert table.rows[2][6] == "6"
    assert all(cell == "" for cell in table.rows[3])  # the blank row keeps its number
    # Text that looks like a formula stays text; a real formula is never evaluated: it reads
    # as its formula, and is listed as one, so the import can say so.
    assert table.rows[4][0] == "=cmd|' /C calc'!A0"
    assert table.rows[4][3] == '=HYPERLINK("http://example.invalid","x")'
    assert table.formulas == {(4, 3): '=HYPERLINK("http://example.invalid","x")'}


def test_csv_in_utf8_with_bom_and_in_gbk():
    rows = [row(name="才让卓玛", employer="海南州某某供电公司")]
    bom = read_upload(csv_bytes(rows, encoding="utf-8-sig"))
    assert bom.encoding == "utf-8-sig" and bom.rows[0][0] == "姓名"  # no BOM glued to it
    gbk = read_upload(csv_bytes(rows, encoding="gbk"))
    assert gbk.encoding == "gb18030"
    assert gbk.rows[1][0] == "才让卓玛" and gbk.rows[1][3] == "海南州某某供电公司"
    plain = read_upload(csv_bytes(rows))
    assert plain.encoding == "utf-8" and plain.rows == gbk.rows == bom.rows


def test_a_csv_mixing_utf8_and_gbk_is_refused_naming_the_lines():
    data = csv_bytes([row(name="马秀兰")]) + ",".join(
        as_lists([row(name="韩永福", employer="西宁市某某公司")])[1]
    ).encode("gbk")
    refusal = _refusal(data)
    assert refusal.code == "mixed_encoding"
    assert refusal.params == {"utf8_line": 1, "other_line": 3}
    assert "CSV UTF-8" in translate_error(refusal) and "编码" in translate_error(refusal)


def test_utf16_text_and_binary_files_are_refused():
    assert _refusal("姓名\t身份证号\r\n".encode("utf-16")).code == "utf16"
    assert _refusal(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00").code == "not_xlsx"
    assert _refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600).code == "not_xlsx"
    assert _refusal(b"").code == "empty_file"


def test_an_upload_over_the_size_limit_is_refused():
    refusal = _refusal(b"a" * (LIMITS.max_bytes + 1))
    assert refusal.status_code == 413 and refusal.code == "file_too_large"
    assert "50" in translate_error(refusal)


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking():
    bomb = zip_bomb(300)
    assert len(bomb) < 2 * 1024 * 1024  # 300 MB of XML in a sliver
    started = time.perf_counter()
    refusal = _refusal(bomb)
    assert time.perf_counter() - started < 2  # nothing was inflated
    assert refusal.code == "zip_bomb" and refusal.status_code == 413
    assert "zip" in translate_error(refusal)


def test_a_zip_whose_directory_understates_the_sheet_is_refused():
    refusal = _refusal(lying_zip())
    assert refusal.code == "zip_bomb"


def test_a_sheet_claiming_a_million_rows_is_refused_before_parsing():
    data = claims_rows(xlsx_bytes([row(), row()]), 1_000_001)
    refusal = _refusal(data)
    assert refusal.code == "too_many_rows"
    assert refusal.params == {"n": 1_000_000, "limit": LIMITS.max_rows}
    assert "1000000" in translate_error(refusal)


def test_a_csv_over_the_row_limit_is_refused():
    line = ",".join(as_lists([row()])[1])
    data = ("\n".join([",".join(HEADER)] + [line] * (LIMITS.max_rows + 1)) + "\n").encode()
    refusal = _refusal(data)
    assert refusal.code == "too_many_rows" and refusal.params["n"] == LIMITS.max_rows + 1
