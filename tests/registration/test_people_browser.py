"""In headless Chromium: a contestant's failed submit keeps the chosen photo (with its preview)
so the corrected form goes through without choosing it again, and a delegation's first review
moves on to the next waiting entry after each decision."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from competition.demo.loader import DEMO_PASSWORD
from competition.tables import Role
from registration.tables import Entry, Photo
from tests.registration.helpers import jpeg, new_id, register
from tests.support import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


async def _sign_in(page: Page, base: str, username: str, password: str, lands_on: str) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{base}{lands_on}")


async def test_a_failed_submit_keeps_the_photo_and_the_next_submit_uses_it(
    demo_mutable, live_server, browser
):
    await make_user("13712340001", Role.contestant)
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    await _sign_in(page, live_server, "13712340001", PASSWORD, "/me")
    await page.goto(f"{live_server}/me/entries/new")

    await page.fill("#f-trade-search", "焊")
    await page.select_option("#f-group_name", "职工组")
    number = new_id()
    await page.fill("#f-name", "马建华")
    await page.fill("#f-id_number", number)
    await page.fill("#f-phone", "13712340001")
    await page.select_option("#f-skill_level", "4")
    await page.fill("#f-years_of_service", "6")
    await page.select_option("#f-delegation_id", label="西宁市总工会")
    await page.set_input_files(
        "#f-photo",
        files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(color=(40, 90, 160))}],
    )
    # The employer is left out: the form comes back with its message…
    await page.locator("#entry-form button[type=submit]").tap()
    await expect(page.locator(".field-error").first).to_be_visible()
    await expect(page.locator("#f-employer")).to_have_value("")
    # …and the photo is still there: shown from the page itself, not to be chosen again.
    kept = page.locator("#kept-photo")
    await expect(kept).to_be_visible()
    assert await kept.evaluate("image => image.complete && image.naturalWidth > 0")
    assert await page.locator("#f-photo").evaluate("input => input.files.length") == 0
    await expect(page.locator("#photo-error")).to_be_hidden()
    await expect(page.locator("#f-id_number")).to_have_value(number)

    await page.fill("#f-employer", "青海省某某机械有限公司")
    await page.locator("#entry-form button[type=submit]").tap()
    await page.wait_for_url(f"{live_server}/me/entries?done=submitted*")
    await expect(page.locator("#done-notice")).to_contain_text("已提交“焊工”的报名，等待初审")
    entry = await Entry.select(Entry.person).where(Entry.person.id_number == number).first()
    assert await Photo.exists().where(Photo.person == entry["person"])
    assert script_errors == []
    await context.close()


async def test_first_review_moves_on_to_the_next_waiting_entry(demo_mutable, live_server, browser):
    cid = demo_mutable.competition_id
    first, second, third = [await register(cid, name=n) for n in ("甲一", "乙二", "丙三")]
    context = await browser.new_context()
    page = await context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    await _sign_in(page, live_server, "xining", DEMO_PASSWORD, "/delegation")
    await page.goto(f"{live_server}/delegation/entries/{first}")

    await page.click("#review-form button[value=approve]")
    await page.wait_for_url(f"{live_server}/delegation/entries/{second}?*")
    await expect(page.locator("#done-notice")).to_contain_text("甲一 · 焊工：已通过初审。")
    await expect(page.locator("h1")).to_have_text("乙二")

    await page.fill("#f-reason", "照片不清晰")
    await page.click("#review-form button[value=reject]")
    await page.wait_for_url(f"{live_server}/delegation/entries/{third}?*")
    await expect(page.locator("#done-notice")).to_contain_text("乙二 · 焊工：已退回")
    await expect(page.locator("h1")).to_have_text("丙三")

    await page.click("#review-form button[value=approve]")
    await page.wait_for_url(f"{live_server}/delegation/entries?*")
    await expect(page.locator("#done-notice")).to_contain_text("没有其他等待初审的报名")
    statuses = [
        r["status"]
        for r in await Entry.select(Entry.status)
        .where(Entry.id.is_in([first, second, third]))
        .order_by(Entry.id)
    ]
    assert statuses == ["delegation_approved", "rejected", "delegation_approved"]
    # Bulk review stays on the list.
    await expect(page.locator(".bulk-bar")).to_be_visible()
    assert script_errors == []
    await context.close()
