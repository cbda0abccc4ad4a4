"""The spreadsheet-import kit (competition/spreadsheets/), step by step as an import uses it:
reading uploads safely — real files: xlsx written by openpyxl, CSV in GBK, with a BOM and with
mixed encodings, and hostile files (a zip bomb, a zip whose directory lies, a sheet claiming a
million rows, a million rows declaring nothing, a renamed PDF) —, the one cleaner, the columns
and header row, the problems every import refuses alike, and the writers, which escape every
text a spreadsheet would run."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from competition import spreadsheets as uploads
from competition.i18n import translate_error

LIMITS = uploads.Limits(max_bytes=5 * 1024 * 1024, max_rows=100, max_unpacked_bytes=50 * 1024**2)
HEADER = ["身份证号", "姓名", "工种"]
SHEET1 = "xl/worksheets/sheet1.xml"


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def streamed_sheet(base: bytes, write: Callable[[Any], None]) -> bytes:
    """`base` with its first sheet's XML written anew by `write(stream)`, a piece at a time."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != SHEET1:
                target.writestr(info.filename, source.read(info))
        with target.open(SHEET1, "w", force_zip64=True) as sheet:
            sheet.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<sheetData>"
            )
            write(sheet)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def zip_bomb(megabytes: int = 300) -> bytes:
    """A workbook whose sheet is `megabytes` MB of repeated row XML, deflated to a sliver."""
    chunk = b'<row r="2"><c r="A2" t="inlineStr"><is><t>bomb</t></is></c></row>' * 16384

    def write(sheet: Any) -> None:
        written = 0
        while written < megabytes * 1024 * 1024:
            sheet.write(chunk)
            written += len(chunk)

    return streamed_sheet(xlsx({"名单": [HEADER]}), write)


def patch_headers(data: bytes, name: str, patch: dict[tuple[bytes, int], bytes]) -> bytes:
    """`data` with bytes of the local (PK\\3\\4) and central (PK\\1\\2) headers of member
    `name` overwritten: (signature, offset in that header) → bytes."""
    out = bytearray(data)
    encoded = name.encode()
    for signature, name_offset in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        position = 0
        while (position := out.find(signature, position)) != -1:
            if out[position + name_offset : position + name_offset + len(encoded)] == encoded:
                for (sig, offset), value in patch.items():
                    if sig == signature:
                        out[position + offset : position + offset + len(value)] = value
            position += 4
    return bytes(out)


def refusal(data: bytes, *, sheets: bool = False) -> uploads.FileRefused:
    with pytest.raises(uploads.FileRefused) as caught:
        if sheets:
            uploads.read_sheets(data, LIMITS, lambda names: names)
        else:
            uploads.read_table(data, LIMITS)
    return caught.value


# ---------------------------------------------------------------------------- xlsx


def test_cells_read_as_the_text_excel_shows_with_excel_row_numbers():
    data = xlsx(
        {
            "说明": [["填写说明"]],
            "名单": [
                HEADER,
                [630102199005171234, "马建华", 7],
                [],
                ["630102199005171234", "才让", 2.5],
                [True, dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 1, 8, 30)],
                ["=1+1", "x", "=cmd|' /C calc'!A0"],
            ],
        }
    )
    table = uploads.read_table(data, LIMITS, sheets=["名单"])
    assert (table.kind, table.encoding, table.sheet) == ("xlsx", "", "名单")
    assert table.rows[0] == HEADER
    # The 18 digits typed as a number: Excel kept 15 and shows them like this.
    assert table.rows[1] == ["6.30102E+17", "马建华", "7"]
    assert table.rows[2] == ["", "", ""]  # the blank row keeps row 4 at index 3
    assert table.rows[3] == ["630102199005171234", "才让", "2.5"]
    assert table.rows[4] == ["TRUE", "2024-05-01", "2024-05-01 08:30:00"]
    # Formulas are never evaluated: a formula cell reads as its formula, and is listed.
    assert table.rows[5] == ["=1+1", "x", "=cmd|' /C calc'!A0"]
    assert table.formulas == {(5, 0): "=1+1", (5, 2): "=cmd|' /C calc'!A0"}
    # Without a preferred name, the first sheet.
    assert uploads.read_table(data, LIMITS).sheet == "说明"
    assert uploads.read_table(data, LIMITS, sheets=[" 名单 "]).sheet == "名单"


def test_named_sheets_come_back_in_the_order_chosen():
    data = xlsx({"名额": [["a"], ["1"]], "说明": [["x"]], "行业": [[], ["b"], ["2"]]})
    offered: list[list[str]] = []

    def choose(names: list[str]) -> list[str]:
        offered.append(names)
        return ["行业", "名额"]

    tables = uploads.read_sheets(data, LIMITS, choose)
    assert offered == [["名额", "说明", "行业"]]
    assert [(t.sheet, t.rows) for t in tables] == [
        ("行业", [[""], ["b"], ["2"]]),  # the header on Excel row 2
        ("名额", [["a"], ["1"]]),
    ]


def test_a_choice_refused_by_the_caller_reads_nothing():
    def choose(names: list[str]) -> list[str]:
        raise uploads.FileRefused("No sheet of ours.", code="no_sheets")

    with pytest.raises(uploads.FileRefused) as caught:
        uploads.read_sheets(xlsx({"Sheet1": [["a"]]}), LIMITS, choose)
    assert caught.value.code == "no_sheets"


def test_a_sheet_claiming_a_million_rows_is_refused_before_parsing():
    data = xlsx({"名单": [HEADER, ["1", "2", "3"]]})
    sheet = re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C1000001"', member(data, SHEET1)
    )
    claiming = rezip(data, {SHEET1: sheet})
    table = refusal(claiming)
    assert (table.code, table.params) == ("too_many_rows", {"n": 1_000_000, "limit": 100})
    assert "1000000" in translate_error(table) and "100" in translate_error(table)
    named = refusal(claiming, sheets=True)
    assert named.params == {"sheet": "名单", "n": 1_000_000, "limit": 100}
    assert "工作表“名单”有 1000000 行" in translate_error(named)


def test_rows_beyond_the_limit_are_counted_when_the_sheet_declares_none():
    data = xlsx({"名单": [HEADER] + [["x", "", ""]] * 101 + [[]] * 5})
    sheet = re.sub(rb"<dimension [^>]*/>", b"", member(data, SHEET1))
    assert b"dimension" not in sheet
    caught = refusal(rezip(data, {SHEET1: sheet}))
    # Refused while streaming the sheet, as soon as it passed the limit.
    assert (caught.code, caught.params) == ("too_many_rows", {"limit": 100})
    assert "超过 100 行" in translate_error(caught)
    # Exactly at the limit (blank rows not counted) is fine.
    assert len(uploads.read_table(xlsx({"名单": [HEADER] + [["x"]] * 100}), LIMITS).rows) == 101


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking():
    bomb = zip_bomb(300)
    assert len(bomb) < 2 * 1024 * 1024
    started = time.perf_counter()
    caught = refusal(bomb)
    assert time.perf_counter() - started < 2  # nothing was inflated
    assert (caught.code, caught.status_code) == ("zip_bomb", 413)
    assert "zip 炸弹" in translate_error(caught)


def test_a_member_inflating_beyond_what_its_directory_claims_is_refused():
    base = xlsx({"名单": [HEADER]})
    real = rezip(base, {SHEET1: b"<row/>" * (20 * 174763)})  # 20 MB of XML, some 20 kB packed
    with zipfile.ZipFile(io.BytesIO(real)) as archive:
        info = archive.getinfo(SHEET1)
    # The directory claims a harmless size and ratio; the data inflates far beyond it.
    claimed = struct.pack("<I", 20 * info.compress_size)
    lying = patch_headers(
        real, SHEET1, {(b"PK\x03\x04", 22): claimed, (b"PK\x01\x02", 24): claimed}
    )
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        assert archive.getinfo(SHEET1).file_size == 20 * info.compress_size
    caught = refusal(lying)
    assert (caught.code, caught.status_code) == ("zip_bomb", 413)
    assert refusal(real).code == "zip_bomb"  # told honestly, its ratio gives it away


def test_a_workbook_too_large_once_unpacked_is_refused():
    rows = [[f"{n:06d}-{'甲乙丙丁' * 8}"] * 3 for n in range(60)]
    data = xlsx({"名单": [HEADER, *rows]})
    small = uploads.Limits(max_bytes=LIMITS.max_bytes, max_rows=100, max_unpacked_bytes=20_000)
    with pytest.raises(uploads.FileTooLarge) as caught:
        uploads.read_table(data, small)
    assert (caught.value.code, caught.value.status_code) == ("file_too_large", 413)
    assert "解压后过大" in translate_error(caught.value)


def test_a_password_flag_and_a_damaged_sheet_are_refused():
    data = xlsx({"名单": [HEADER]})
    flags = struct.pack("<H", 1)
    encrypted = patch_headers(data, SHEET1, {(b"PK\x03\x04", 6): flags, (b"PK\x01\x02", 8): flags})
    assert refusal(encrypted).code == "encrypted"
    damaged = rezip(data, {SHEET1: b"<worksheet><sheetData><row r="})
    caught = refusal(damaged)
    assert caught.code == "unreadable" and "可能已损坏" in translate_error(caught)


def test_a_zip_that_is_not_a_workbook_and_a_renamed_pdf_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    for data in (buffer.getvalue(), pdf):
        either = refusal(data)
        assert either.code == "not_xlsx"
        assert "既不是 Excel 工作簿" in translate_error(either)
        # Where only a workbook will do, the message does not offer CSV.
        only = refusal(data, sheets=True)
        assert only.code == "not_xlsx"
        assert "不是 Excel 工作簿" in translate_error(only)
        assert "CSV" not in translate_error(only)


def test_old_excel_files_empty_and_oversized_uploads_are_refused():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    assert "CSV UTF-8" in translate_error(refusal(ole))
    assert "CSV" not in translate_error(refusal(ole, sheets=True))
    assert "97–2003" in translate_error(refusal(ole, sheets=True))
    assert refusal(b"").code == "empty_file"
    too_big = refusal(b"PK\x03\x04" + b"\0" * LIMITS.max_bytes)
    assert (too_big.code, too_big.status_code) == ("file_too_large", 413)
    assert "文件超过 5 MB" in translate_error(too_big)


# ---------------------------------------------------------------------------- CSV


def csv_lines(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\r\n" for row in rows)


ROWS = [HEADER, ["630102199005171234", "才让卓玛", "焊工"], ["", "", ""], ["x", "马建华", "电工"]]


def test_csv_in_utf8_with_a_bom_and_in_gbk_read_alike():
    plain = uploads.read_table(csv_lines(ROWS).encode("utf-8"), LIMITS)
    bom = uploads.read_table(csv_lines(ROWS).encode("utf-8-sig"), LIMITS)
    gbk = uploads.read_table(csv_lines(ROWS).encode("gbk"), LIMITS)
    assert (plain.kind, plain.encoding, bom.encoding, gbk.encoding) == (
        "csv",
        "utf-8",
        "utf-8-sig",
        "gb18030",
    )
    assert plain.rows == bom.rows == gbk.rows == ROWS  # no BOM glued to the first header
    tabs = uploads.read_table(csv_lines(ROWS).replace(",", "\t").encode("gbk"), LIMITS)
    assert tabs.rows == ROWS


def test_a_csv_mixing_utf8_and_gbk_is_refused_naming_the_lines():
    data = csv_lines(ROWS[:2]).encode("utf-8") + csv_lines(ROWS[3:]).encode("gbk")
    caught = refusal(data)
    assert (caught.code, caught.params) == ("mixed_encoding", {"utf8_line": 1, "other_line": 3})
    assert "第 1 行是 UTF-8，第 3 行却不是" in translate_error(caught)
    # A BOM promises UTF-8 throughout.
    bom = b"\xef\xbb\xbf" + csv_lines(ROWS[:1]).encode() + "马".encode("gbk")
    assert refusal(bom).params == {"utf8_line": 1, "other_line": 2}


def test_utf16_undecodable_and_binary_csv_are_refused():
    assert refusal(csv_lines(ROWS).encode("utf-16")).code == "utf16"
    # 0x80 is not a lead byte in GB18030 either.
    caught = refusal(b"a,b\r\n\x80\x80,c\r\n")
    assert (caught.code, caught.params) == ("unknown_encoding", {"line": 2})
    assert refusal(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").code == "not_xlsx"
    assert refusal(b"abc\x00def").code == "not_xlsx"


def test_a_csv_over_the_row_limit_is_refused():
    data = csv_lines([HEADER] + [["1", "2", "3"]] * 101).encode()
    caught = refusal(data)
    assert (caught.code, caught.params) == ("too_many_rows", {"n": 101, "limit": 100})
    assert len(uploads.read_table(csv_lines([HEADER] + [["1"]] * 100).encode(), LIMITS).rows) == 101


# ---------------------------------------------------------------------------- header rows


COLUMNS = [
    uploads.Column(
        "id_number", "身份证号", ("身份证号码", "id"), kind=uploads.CODE, spaceless=True
    ),
    uploads.Column("name_en", "英文名称", ("english name",)),
    uploads.Column("theory", "理论权重", kind=uploads.NUMBER),
]


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ("身份证号（必填）", "id_number"),
        ("身份证号码*", "id_number"),
        ("ＩＤ", "id_number"),
        (" Name_EN ", "name_en"),
        ("name-en", "name_en"),
        ("English  Name", "name_en"),
        ("理论权重(%)", "theory"),
        ("理论权重%", "theory"),
        ("\u200b理论权重：", "theory"),
        ("姓名", None),
        ("", None),
    ],
)
def test_header_cells_name_their_columns(cell, key):
    assert uploads.column_names(COLUMNS).get(uploads.header_key(cell)) == key


def test_match_header_keeps_the_first_of_repeated_columns():
    names = uploads.column_names(COLUMNS)
    match = uploads.match_header(["备注", "身份证号（必填）", "ｉｄ", "", "English　Name"], names)
    assert match.positions == {"id_number": 1, "name_en": 4}
    assert match.headers == {"id_number": "身份证号(必填)", "name_en": "English Name"}
    assert match.repeated == [2]


# ---------------------------------------------------------------------------- streaming


def _million_rows_without_dimension(rows: int) -> bytes:
    """A workbook whose one sheet has `rows` rows and no <dimension>, written a row at a time."""

    def write(sheet: Any) -> None:
        for start in range(1, rows + 1, 10_000):
            sheet.write(
                b"".join(
                    b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (n, n)
                    for n in range(start, min(start + 10_000, rows + 1))
                )
            )

    return streamed_sheet(xlsx({"名单": [HEADER]}), write)


def test_a_million_rows_without_a_dimension_are_refused_while_streaming_in_bounded_memory():
    data = _million_rows_without_dimension(1_000_001)
    assert b"dimension" not in data
    limits = uploads.LIMITS["registrations"]
    tracemalloc.start()
    try:
        with pytest.raises(uploads.FileRefused) as caught:
            uploads.read_table(data, limits)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (caught.value.code, caught.value.params) == ("too_many_rows", {"limit": 250_000})
    # The sheet unpacks to ~60 MB; a few chunks of it were ever held at once.
    assert peak < 16 * 1024 * 1024, peak


def test_formula_cells_are_found_across_chunk_boundaries_and_in_shared_formulas():
    # Every row holds a formula, so the megabyte chunks the sheet is streamed in cut some.
    rows = [[f"{n:06d}", "x" * 40, f"=A{n + 2}&B{n + 2}"] for n in range(30_000)]
    data = xlsx({"名单": [HEADER, *rows]})
    sheet = member(data, SHEET1)
    assert len(sheet) > 3 * 1024 * 1024
    # A shared formula: its other cells hold no text of their own.
    tail = (
        b'<row r="30002"><c r="C30002"><f t="shared" ref="C30002:C30003" si="0">A1&amp;B1</f>'
        b'<v>1</v></c></row><row r="30003"><c r="C30003"><f t="shared" si="0"/><v>2</v></c></row>'
    )
    sheet = sheet.replace(b"</sheetData>", tail + b"</sheetData>")
    table = uploads.read_table(rezip(data, {SHEET1: sheet}), LIMITS_LARGE)
    expected = {(n + 1, 2): f"=A{n + 2}&B{n + 2}" for n in range(30_000)}
    expected.update({(30001, 2): "=A1&B1", (30002, 2): "="})
    assert table.formulas == expected
    assert table.rows[30001][2] == "=A1&B1"  # never the cached 1


LIMITS_LARGE = uploads.Limits(
    max_bytes=50 * 1024**2, max_rows=40_000, max_unpacked_bytes=400 * 1024**2
)


# ---------------------------------------------------------------------------- cleaning and columns


@pytest.mark.parametrize(
    ("raw", "text", "code"),
    [
        (" 马  建华 ", "马 建华", "马建华"),
        ("\u3000１２３\u00a0", "123", "123"),
        ("6301\u200b0219\ufeff900517135x", "63010219900517135x", "63010219900517135X"),
        ("\t=cmd", "=cmd", "=CMD"),
        ("\u200b", "", ""),
    ],
)
def test_one_cleaner_for_text_and_for_identifiers(raw, text, code):
    assert uploads.clean(raw) == text
    assert uploads.clean_code(raw) == code
    assert uploads.clean_column([raw, raw]) == [text, text]
    assert uploads.clean_code_column([raw, "a"]) == [code, "A"]


def test_a_grid_finds_its_header_below_a_title_and_names_what_it_lacks():
    rows = [["2026 年名单"], [], ["身份证号码*", "备注"], ["6301 0219 9005 1713 5X", "a"]]
    table = uploads.Table("csv", "utf-8", "", [*rows, [], ["x", ""]])
    grid = uploads.Grid(table, COLUMNS, min_columns=1)
    assert (grid.header_row, grid.numbers) == (3, [4, 6])
    assert grid.column("id_number") == ["63010219900517135X", "X"]
    assert grid.column("theory") == ["", ""]
    assert [c.key for c in grid.missing(["id_number", "theory"])] == ["theory"]
    refusal = uploads.missing_columns(grid.missing(["theory"]))
    assert refusal.code == "missing_columns" and "理论权重" in translate_error(refusal)


def test_a_grid_refuses_formula_cells_and_text_a_spreadsheet_would_run_once_per_cell():
    table = uploads.Table("xlsx", "", "名单", [
        ["身份证号", "英文名称", "理论权重"],
        ["1", "\t=HYPERLINK(\"x\")", "30"],
        ["2", "=A1", "=1+1"],
        ["3", "-5", "-5"],
        ["4", "ok", "30"],
    ], formulas={(2, 1): "=A1", (2, 2): "=1+1"})  # fmt: skip
    problems = uploads.Grid(table, COLUMNS).problems()
    assert {n: [(p.row, p.column, p.code) for p in ps] for n, ps in problems.items()} == {
        0: [(2, "英文名称", "formula_text")],
        1: [(3, "英文名称", "formula_cell"), (3, "理论权重", "formula_cell")],
        2: [(4, "英文名称", "formula_text")],  # a NUMBER column may hold "-5"
    }
    assert "公式" in problems[1][0].text() and "=A1" in problems[1][0].text()


def test_every_limit_is_in_one_table():
    assert set(uploads.LIMITS) == {
        "structure", "registrations", "award_history", "judges", "schemes", "signin",
        "marks", "theory", "times", "penalties",
    }  # fmt: skip
    registrations = uploads.LIMITS["registrations"]
    assert (registrations.max_mb, registrations.max_rows) == (50, 250_000)
    assert registrations.max_ratio == 100


# ---------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+86 139", "'+86 139"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("马建华", "马建华"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_escape_makes_text_a_spreadsheet_would_run_inert(text, written):
    assert uploads.escape(text) == written


def test_every_writer_escapes_text_cells():
    formula = '=HYPERLINK("http://x.invalid","x")'
    table_rows = [["身份证号", "英文名称"], ["1", formula], ["2", "\t@cmd"]]
    problems = [uploads.RowProblem(2, "英文名称", uploads.FORMULA_TEXT, "formula_text")]
    report = uploads.report_workbook(
        [uploads.ReportSheet("名单", table_rows, 1)], problems, listing=True
    )
    book = load_workbook(io.BytesIO(report))
    assert book.sheetnames == ["问题汇总", "名单"]
    sheet = book["名单"]
    assert [sheet["B2"].value, sheet["B3"].value] == ["'" + formula, "'\t@cmd"]
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value)
    assert sheet["C1"].value == "错误" and "【英文名称】" in sheet["C2"].value

    writer = uploads.TemplateWriter()
    writer.data_sheet(
        "名单", COLUMNS, examples=[{"id_number": "-1", "name_en": "=x", "theory": 30}]
    )
    template = load_workbook(io.BytesIO(writer.close()))["名单"]
    assert [c.value for c in template[2]] == ["'-1", "'=x", 30]
    assert template.column_dimensions["A"].number_format == "@"

    csv_text = uploads.csv_bytes([["a", "=1+1"], ["-2", 3]]).decode("utf-8-sig")
    assert csv_text == "a,'=1+1\r\n'-2,3\r\n"
