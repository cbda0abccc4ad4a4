"""A delegation imports a list in headless Chromium: upload the file, read the dry run (its
problem rows and the candidates against the places left), import the valid rows, land on the
result."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from competition.demo.loader import DEMO_PASSWORD
from registration.tables import Entry
from tests.registration.test_bulk_import_files import fresh_id, row, xlsx_bytes

pytestmark = pytest.mark.browser
TIMEOUT_MS = 10_000


async def test_a_delegation_uploads_checks_and_imports_a_list(
    demo_mutable, live_server, browser, tmp_path
):
    numbers = [fresh_id() for _ in range(3)]
    rows = [
        row(id_number=n, name=name)
        for n, name in zip(numbers, ("马秀兰", "冶生福", "韩永福"), strict=True)
    ]
    rows.append(row(trade="T404"))
    upload = tmp_path / "名单.xlsx"
    upload.write_bytes(xlsx_bytes(rows))

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "xining")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await page.goto(f"{live_server}/delegation/import")
    await page.set_input_files("#f-file", str(upload))
    await page.get_by_role("button", name="检查文件").click()

    await expect(page.locator("h1")).to_contain_text("名单.xlsx")
    problems = page.locator("section[aria-labelledby=problems-title] tbody tr")
    await expect(problems.first).to_contain_text("T404")
    line = page.locator("section[aria-labelledby=quota-title] tr.over")
    await expect(line).to_contain_text("西宁市总工会 · 数控铣工")
    await expect(line).to_contain_text("候选人多于名额")
    assert await Entry.count().where(Entry.person.id_number.is_in(numbers)) == 0

    await page.get_by_role("button", name="导入有效行").click()
    await expect(page.locator("h1")).to_have_text("已导入")
    await expect(page.locator("main")).to_contain_text("新增 3 条报名")
    assert await Entry.count().where(Entry.person.id_number.is_in(numbers)) == 3
    assert script_errors == []
    await context.close()
