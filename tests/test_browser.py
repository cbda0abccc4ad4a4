"""The app in a real browser: headless Chromium against uvicorn on the test database.

Chromium is the system's (Debian package `chromium`, which `make test` installs); Playwright
only drives it, so nothing is downloaded. JIANGXIN_CHROMIUM points to another binary.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from competition.demo.loader import DEMO_PASSWORD
from competition.i18n import current_locale, gettext
from competition.phases import PHASE_LABELS, Phase

pytestmark = pytest.mark.browser

DEMO_NAME = "青海省第十六届职工职业技能大赛"
TIMEOUT_MS = 5_000


def in_english(message: str) -> str:
    token = current_locale.set("en")
    try:
        return gettext(message)
    finally:
        current_locale.reset(token)


async def sign_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("form.stacked button[type=submit]")


async def test_organizer_signs_in_opens_the_competition_switches_language_and_signs_out(
    demo, live_server, browser
):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    await sign_in(page, live_server, "organizer")
    await expect(page).to_have_url(f"{live_server}/org")
    await page.get_by_role("link", name=DEMO_NAME).click()
    await expect(page).to_have_url(f"{live_server}/org/competitions/{demo.competition_id}")

    track = page.locator("ol.phase-track")
    current = track.locator("li[aria-current=step]")
    registration = PHASE_LABELS[Phase.registration]
    await expect(current).to_have_text(gettext(registration))
    await expect(page.locator("h1")).to_have_text(DEMO_NAME)

    await page.get_by_role("link", name="English").click()
    await expect(current).to_have_text(in_english(registration))
    await expect(page.get_by_role("heading", name="Phase", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    await page.get_by_role("link", name="中文").click()
    await expect(current).to_have_text(gettext(registration))
    await expect(page.get_by_role("heading", name=gettext("Phase"), exact=True)).to_be_visible()

    await page.get_by_role("button", name=gettext("Sign out")).click()
    await expect(page).to_have_url(f"{live_server}/login")
    await page.goto(f"{live_server}/org")
    await expect(page).to_have_url(f"{live_server}/login?next=%2Forg")
    await context.close()


async def test_on_a_phone_the_menu_button_opens_the_navigation(demo, live_server, browser):
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await sign_in(page, live_server, "organizer")
    await expect(page).to_have_url(f"{live_server}/org")

    nav = page.locator("#mainnav")
    toggle = page.locator("button.menu-toggle")
    await expect(toggle).to_be_visible()
    await expect(nav).to_be_hidden()
    await toggle.tap()
    await expect(nav).to_be_visible()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(nav.get_by_role("link", name=gettext("Organizer"))).to_be_visible()
    await toggle.tap()
    await expect(nav).to_be_hidden()
    await context.close()


async def test_a_wrong_password_shows_the_chinese_error_and_keeps_the_username(
    demo, live_server, browser
):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await sign_in(page, live_server, "organizer", "not-the-password")
    await expect(page).to_have_url(f"{live_server}/login")
    message = gettext("Wrong username or password.")
    assert message != "Wrong username or password."
    await expect(page.get_by_role("alert")).to_have_text(message)
    await expect(page.locator("#username")).to_have_value("organizer")
    await expect(page.locator("#password")).to_have_value("")
    await context.close()
