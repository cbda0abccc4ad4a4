"""The organizer's pages in real headless Chromium: the dashboard's charts are drawn and their
tables open, the grouped menu works on a phone-sized screen, and the registration deadline set
in the competition form is announced on the public page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import Page, expect

from competition.clock import local_today
from competition.demo.loader import DEMO_PASSWORD
from tests.page_text import zh

pytestmark = pytest.mark.browser
TIMEOUT_MS = 5_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def _signed_in(browser, base: str, **context) -> Page:
    page = await (await browser.new_context(**context)).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login")
    await page.fill("#username", "organizer")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{base}/org")
    return page


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


async def test_the_dashboard_draws_its_charts_and_opens_their_tables(
    demo_full, live_server, browser
):
    page = await _signed_in(browser, live_server, viewport={"width": 1280, "height": 900})
    await page.goto(f"{live_server}/org/competitions/{demo_full.competition_id}/dashboard")
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(5)
    for i in range(5):
        box = await charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 30
        assert await charts.nth(i).locator("rect").count() > 0
    by_delegation = page.get_by_role("img", name=zh("Entries by delegation"))
    await expect(by_delegation).to_be_visible()

    box = page.locator("#by-delegation-h").locator("..")
    table = box.locator("details table")
    await expect(table).to_be_hidden()
    await box.get_by_text(zh("Show the table")).click()
    await expect(table).to_be_visible()
    await expect(table.get_by_role("link", name="西宁市总工会")).to_be_visible()
    await page.context.close()


async def test_on_a_phone_the_menu_shows_one_stage_at_a_time(demo, live_server, browser):
    page = await _signed_in(browser, live_server, **PHONE)
    cid = demo.competition_id
    await page.goto(f"{live_server}/org/competitions/{cid}")
    nav = page.locator("nav.compnav")
    tabs = nav.locator(".compnav-tabs")
    setup = nav.locator('[data-group="setup"]')
    registration = nav.locator('[data-group="registration"]')
    await expect(tabs).to_be_visible()
    await expect(setup.get_by_role("link", name=zh("Trades"))).to_be_visible()
    await expect(registration).to_be_hidden()
    await _no_sideways_scroll(page)

    await tabs.get_by_role("link", name=zh("Registration")).tap()
    await expect(page).to_have_url(f"{live_server}/org/competitions/{cid}/entries")
    await expect(registration.get_by_role("link", name=zh("Quota usage"))).to_be_visible()
    await expect(setup).to_be_hidden()
    await registration.get_by_role("link", name=zh("Registration dashboard")).tap()
    await expect(page).to_have_url(f"{live_server}/org/competitions/{cid}/dashboard")
    await expect(page.locator("svg.chart").first).to_be_visible()
    await _no_sideways_scroll(page)

    await page.goto(f"{live_server}/org/competitions/{cid}/quota-usage")
    await expect(page.locator("table.matrix")).to_be_visible()
    await _no_sideways_scroll(page)  # the matrix scrolls inside its own box
    await page.context.close()


async def test_on_a_wide_screen_every_stage_shows_with_its_label(demo, live_server, browser):
    page = await _signed_in(browser, live_server, viewport={"width": 1280, "height": 900})
    await page.goto(f"{live_server}/org/competitions/{demo.competition_id}/trades")
    nav = page.locator("nav.compnav")
    await expect(nav.locator(".compnav-tabs")).to_be_hidden()
    for group in ("setup", "registration", "checkin", "scoring"):
        await expect(nav.locator(f'[data-group="{group}"]')).to_be_visible()
    await expect(nav.get_by_role("link", name=zh("Trades"), exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await page.context.close()


async def test_the_deadline_set_in_the_form_is_announced_on_the_public_page(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    page = await _signed_in(browser, live_server, viewport={"width": 1280, "height": 900})
    await page.goto(f"{live_server}/org/competitions/{cid}/edit")
    deadline = local_today() + dt.timedelta(days=10)
    await page.fill("#f-registration_closes_on", deadline.isoformat())
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(re.compile(rf"/org/competitions/{cid}\?done="))

    visitor = await (await browser.new_context(**PHONE)).new_page()
    visitor.set_default_timeout(TIMEOUT_MS)
    await visitor.goto(f"{live_server}/competitions/{cid}")
    announced = visitor.locator("#registration-deadline")
    await expect(announced).to_have_text(
        zh("Registration closes on {date} (end of day).", date=deadline.isoformat())
    )
    await expect(visitor.get_by_role("link", name=zh("Register now"))).to_be_visible()
    await _no_sideways_scroll(visitor)


async def test_on_a_phone_the_review_list_keeps_its_tick_all_box(demo_full, live_server, browser):
    """The entries turn into cards and the table's head goes, but not the box that ticks every
    entry of the page: it stays with its words, and each tick is a finger's width to hit."""
    page = await _signed_in(browser, live_server, **PHONE)
    await page.goto(f"{live_server}/org/competitions/{demo_full.competition_id}/entries?status=all")
    await _no_sideways_scroll(page)
    head = page.locator("table.responsive thead")
    await expect(head.locator("th").nth(1)).to_be_hidden()
    ticks = page.locator("input[name=entry]")
    assert await ticks.count() > 1
    words = head.locator("label").get_by_text(zh("Tick all on this page"))
    await expect(words).to_be_visible()
    await words.tap()
    await expect(page.locator("#pick-all")).to_be_checked()
    assert all(await ticks.evaluate_all("boxes => boxes.map(b => b.checked)"))
    await words.tap()
    assert not any(await ticks.evaluate_all("boxes => boxes.map(b => b.checked)"))
    hit = await page.locator("td.pick label.pick-hit").first.bounding_box()
    assert hit and hit["width"] >= 44 and hit["height"] >= 44, hit
    await page.context.close()
