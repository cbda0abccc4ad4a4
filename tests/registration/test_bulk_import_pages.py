"""The import pages: a delegation's (/delegation/import) and the organizer's
(/org/competitions/{id}/registrations/import), over HTTP with real files."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from competition.tables import AuditLog
from registration.tables import Entry, ImportBatch
from tests.registration.test_bulk_import_files import (
    HEADER,
    csv_bytes,
    row,
    xlsx_bytes,
    zip_bomb,
)
from tests.support import login, post_form

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(data: bytes, name: str = "名单.xlsx") -> dict:
    kind = XLSX if name.endswith(".xlsx") else "text/csv"
    return {"file": (name, data, kind)}


def _token(location: str) -> str:
    match = re.search(r"/import/([A-Za-z0-9_-]{20,})$", location)
    assert match, location
    return match.group(1)


async def test_a_delegation_downloads_the_template_checks_and_imports(client, demo_mutable):
    await login(client, "xining")
    page = await client.get("/delegation/import")
    assert page.status_code == 200
    assert "报名导入" in page.text and "西宁市总工会" in page.text
    assert 'href="/delegation/import/template.xlsx"' in page.text

    template = await client.get("/delegation/import/template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(template.content))
    assert book.sheetnames == ["报名", "工种与推荐单位", "说明"]
    sheet = book["报名"]
    assert [c.value for c in sheet[1]] == HEADER
    assert sheet.column_dimensions["B"].number_format == "@"  # IDs stay text
    lists = [[c for c in r] for r in book["工种与推荐单位"].iter_rows(values_only=True)]
    assert list(lists[1][:3]) == ["T001", "焊工", "职工组、学生组"]
    assert ["T007", "数控铣工", "职工组、学生组"] in [list(r[:3]) for r in lists]
    assert any(r[5] == "XN" and r[6] == "西宁市总工会" for r in lists)
    assert any(r and r[0] == "马建华" for r in book["说明"].iter_rows(values_only=True))

    entries_before = await Entry.count()
    data = xlsx_bytes([row(name="马秀兰"), row(name="冶生福", delegation=""), row(trade="T404")])
    upload = await post_form(client, "/delegation/import", files=_file(data))
    assert upload.status_code == 303
    url = upload.headers["location"]
    token = _token(url)
    report = await client.get(url)
    assert report.status_code == 200
    assert "导入有效行" in report.text and "全部不导入" in report.text
    assert "未知工种“T404”" in report.text and ">4<" in report.text  # the Excel row
    assert await Entry.count() == entries_before

    download = await client.get(f"{url}/report.xlsx")
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.content)).worksheets[0].values)
    assert rows[0][-1] == "错误" and "T404" in rows[3][-1] and rows[1][-1] is None

    done = await post_form(client, f"{url}/import")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=imported")
    result = await client.get(done.headers["location"])
    assert "新增 2 条报名" in result.text and "已导入" in result.text
    assert await Entry.count() == entries_before + 2
    audit = await AuditLog.count()
    # Refreshing (posting again) imports nothing twice.
    again = await post_form(client, f"{url}/import")
    assert again.status_code == 303
    assert await Entry.count() == entries_before + 2 and await AuditLog.count() == audit
    batch = await ImportBatch.select(ImportBatch.status).where(ImportBatch.token == token).first()
    assert batch["status"] == "imported"


async def test_a_delegation_cannot_reach_another_delegations_rows_or_batches(
    client, other_client, demo_mutable
):
    await login(client, "xining")
    entries_before = await Entry.count()
    data = csv_bytes([row(), row(delegation="HX"), row(delegation="海西州总工会")])
    upload = await post_form(client, "/delegation/import", files=_file(data, "名单.csv"))
    url = upload.headers["location"]
    report = await client.get(url)
    assert report.text.count("此处只能导入本单位（西宁市总工会）的报名") == 2

    await login(other_client, "haixi")
    assert (await other_client.get(url)).status_code == 404
    assert (await other_client.get(f"{url}/report.xlsx")).status_code == 404
    assert (await post_form(other_client, f"{url}/import")).status_code == 404
    assert (await post_form(other_client, f"{url}/discard")).status_code == 404
    assert await Entry.count() == entries_before
    # Nor the organizer's pages.
    page = await other_client.get(
        f"/org/competitions/{demo_mutable.competition_id}/registrations/import"
    )
    assert page.status_code == 403


async def test_the_organizer_imports_for_several_delegations(client, demo_mutable):
    cid = demo_mutable.competition_id
    base = f"/org/competitions/{cid}/registrations/import"
    await login(client, "organizer")
    entries_before = await Entry.count()
    page = await client.get(base)
    assert page.status_code == 200 and "多个推荐单位" in page.text

    without = csv_bytes([row()], header=HEADER[:-1])
    refused = await post_form(client, base, files=_file(without, "a.csv"))
    assert refused.status_code == 422 and "文件缺少以下列：推荐单位" in refused.text

    data = csv_bytes([row(), row(delegation="HX"), row(delegation="黄南州总工会")])
    upload = await post_form(client, base, files=_file(data, "b.csv"))
    assert upload.status_code == 303
    url = upload.headers["location"]
    assert "新增报名" in (await client.get(url)).text
    discarded = await post_form(client, f"{url}/discard")
    assert discarded.status_code == 303
    result = await client.get(discarded.headers["location"])
    assert "未导入" in result.text and "不再保留" in result.text
    batch = (
        await ImportBatch.select(ImportBatch.status, ImportBatch.content)
        .where(ImportBatch.token == _token(url))
        .first()
    )
    assert batch["status"] == "discarded" and bytes(batch["content"]) == b""
    # A closed batch cannot be imported afterwards.
    await post_form(client, f"{url}/import")
    assert await Entry.count() == entries_before


async def test_a_refused_upload_is_explained_and_stores_nothing(client, demo_mutable):
    await login(client, "xining")
    before = await ImportBatch.count(), await Entry.count()
    response = await post_form(client, "/delegation/import", files=_file(zip_bomb(200)))
    assert response.status_code == 413
    assert "zip 炸弹" in response.text and 'name="file"' in response.text
    assert (await ImportBatch.count(), await Entry.count()) == before


async def test_the_report_lists_candidates_against_places_left(client, demo_mutable):
    await login(client, "xining")
    rows = [row(name=name) for name in ("马秀兰", "冶生福", "韩永福")]  # 数控铣工: 2 places
    upload = await post_form(client, "/delegation/import", files=_file(csv_bytes(rows), "a.csv"))
    assert upload.status_code == 303
    report = await client.get(upload.headers["location"])
    assert "候选人与名额" in report.text
    line = re.search(r'<tr class="over">(.*?)</tr>', report.text, re.S)
    assert line is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", line.group(1), re.S)
    assert cells[0] == "西宁市总工会 · 数控铣工" and cells[1] == "3"
    assert cells[2].startswith("2 ") and "候选人多于名额" in cells[2]
    # No row is refused for the quota.
    assert "新增报名" in report.text and ">3<" in report.text
    # The report file has them too, on a sheet of their own.
    download = await client.get(f"{upload.headers['location']}/report.xlsx")
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames[-1] == "候选人与名额"
    assert list(book["候选人与名额"].values) == [
        ("推荐单位", "工种", "文件中的候选人", "剩余名额"),
        ("西宁市总工会", "数控铣工", 3, 2),
    ]
    client.cookies.set("lang", "en")
    english = await client.get(upload.headers["location"])
    assert "西宁市总工会 · CNC Milling Machine Operator" in english.text
