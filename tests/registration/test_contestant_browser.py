"""A contestant on a phone (390×844) in headless Chromium: sign up, find the trade with the
search box, pick a group, attach a photo, submit and land on the status page.

The app runs under uvicorn in a process of its own rather than a thread of this one: on
PostgreSQL the test session's connection pool belongs to the test's event loop, and a server
thread with its own loop cannot share it. Chromium is Debian's; Playwright only drives it.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from competition.tables import User
from registration.tables import Entry, Person, Photo
from tests.registration.helpers import jpeg, new_id
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


async def trade_options(page: Page) -> list[str]:
    return await page.locator("#f-trade_id option").evaluate_all(
        "options => options.filter(o => o.value).map(o => o.textContent)"
    )


async def test_a_contestant_signs_up_and_registers_on_a_phone(demo_mutable, live_server, browser):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    # The sign-in page leads to the sign-up.
    await page.goto(f"{live_server}/login")
    await page.locator("a[href='/signup']").tap()
    await expect(page).to_have_url(f"{live_server}/signup")
    await page.fill("#f-mobile", "13712345678")
    await page.fill("#f-name", "王小明")
    await page.fill("#f-password", PASSWORD)
    await page.fill("#f-password_confirmation", PASSWORD)
    await page.locator("form.stacked button[type=submit]").tap()
    await expect(page).to_have_url(f"{live_server}/me/entries/new")

    # Prefilled from the account; the script's trade tools are showing, no group yet.
    await expect(page.locator("#f-name")).to_have_value("王小明")
    await expect(page.locator("#f-phone")).to_have_value("13712345678")
    await expect(page.locator("#f-trade-search")).to_be_visible()
    await expect(page.locator("#group-field")).to_be_hidden()
    assert len(await trade_options(page)) > 90

    # A trade without groups keeps the group choice hidden and shows its conditions.
    await page.fill("#f-trade-search", "装配")
    assert await trade_options(page) == ["装配钳工"]
    await expect(page.locator("#trade-rules")).to_contain_text("工龄满 1 年")
    await expect(page.locator("#group-field")).to_be_hidden()

    # 焊 finds 焊工, whose groups appear.
    await page.fill("#f-trade-search", "焊")
    assert await trade_options(page) == ["焊工"]
    await expect(page.locator("#trade-count")).to_have_text("找到 1 个工种")
    await page.select_option("#f-trade_id", label="焊工")
    await expect(page.locator("#group-field")).to_be_visible()
    groups = await page.locator("#f-group_name option").all_text_contents()
    assert groups[1:] == ["职工组", "学生组"]
    await page.select_option("#f-group_name", "职工组")
    rules = page.locator("#trade-rules")
    await expect(rules).to_contain_text("“焊工”的参赛条件")
    await expect(rules).to_contain_text("2027-04-19 时年龄在 16 至 60 周岁之间")

    number = new_id()
    await page.fill("#f-id_number", number)
    await expect(page.locator("#age-check")).to_have_text(
        "根据身份证号：出生于 1990-05-17，男，2027-04-19 时 36 周岁。"
    )
    await page.fill("#f-employer", "青海省某某机械有限公司")
    await page.fill("#f-job", "焊工")
    await page.select_option("#f-skill_level", "4")
    await page.fill("#f-years_of_service", "6")
    await page.select_option("#f-delegation_id", label="西宁市总工会")
    await page.set_input_files(
        "#f-photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    await expect(page.locator("#photo-preview")).to_be_visible()
    # Nothing on the form is wider than the phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    await page.locator("#entry-form button[type=submit]").tap()
    await page.wait_for_url(f"{live_server}/me/entries?done=submitted*")
    entry = (
        await Entry.select(Entry.id, Entry.status, Entry.group_name, Entry.person)
        .where(Entry.person.id_number == number)
        .first()
    )
    assert entry["status"] == "submitted" and entry["group_name"] == "职工组"
    person = await Person.select(Person.user).where(Person.id == entry["person"]).first()
    user = await User.select(User.username).where(User.id == person["user"]).first()
    assert user["username"] == "13712345678"
    assert await Photo.exists().where(Photo.person == entry["person"])

    card = page.locator(f"#entry-{entry['id']}")
    await expect(card.locator("h2")).to_have_text("焊工 · 职工组")
    await expect(card.locator("[data-status]")).to_have_text("待初审")
    await expect(card.locator("[aria-current=step]")).to_have_text("初审（推荐单位）")
    await expect(page.locator("#person-gender")).to_have_text("男")
    await expect(page.locator("#person-birth")).to_have_text("1990-05-17")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert script_errors == []
    await context.close()
