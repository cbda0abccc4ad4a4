"""The chief judge's page in real headless Chromium at tablet size (static/js/chief.js): the flag
list refreshes itself every 15 s without touching what the chief judge is typing, a flag's
"ask to re-mark" fills the re-mark form in place, and the page breaks no CSP rule."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from competition.demo.loader import DEMO_PASSWORD
from competition.tables import Trade
from scoring.sheets import marks, signing
from scoring.sheets.marks import MarkIn
from tests.scoring.sheets.builders import competing_trade

pytestmark = pytest.mark.browser

TABLET = {"viewport": {"width": 800, "height": 1280}, "is_mobile": True, "has_touch": True}
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


async def _put(built, username: str, slot: int, aspect, value: str) -> None:
    facts = await built.sheet(username)
    current = await marks.current_mark(slot, aspect.id, facts.judge_id)
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), facts.id, slot, aspect.id, value,
               current["version"] if current else 0),
        actor=await built.actor(username),
    )  # fmt: skip


async def test_flags_refresh_without_losing_what_is_typed(demo_scoring, live_server, browser):
    built = await competing_trade()
    await Trade.update(
        {Trade.judge_rule: {"rule": "mean", "judgement_tolerance": 1}}
    ).where(Trade.id == built.trade_id)  # fmt: skip
    cells = await built.cells("judge")
    slot = cells[0][0]
    judged = next(a for s, a in cells if s == slot and a.is_judgement)
    for username, value in (("judge", "0"), ("judge2", "3"), ("judge3", "3")):
        await _put(built, username, slot, judged, value)
    code = (await signing.slot_codes([slot]))[slot]

    context = await browser.new_context(**TABLET)
    await context.add_init_script(WATCH)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.clock.install()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "chief")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    url = f"{live_server}/chief/trades/{built.trade_id}"
    await page.goto(url)
    flags = page.locator("#flags-body tr[data-flag]")
    await expect(flags).to_have_count(1)
    await expect(flags.first).to_contain_text(code)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800

    # "Ask to re-mark" fills the form on the page: no navigation, nothing else touched.
    await page.fill("#f-penalty-reason", "未戴护目镜，尚未写完")
    await flags.first.locator("a[data-remark-sheet]").tap()
    await expect(page.locator("#f-remark-cells")).to_have_value(f"{code} {judged.code}")
    await expect(page.locator("#f-remark-sheet")).to_have_value(str(built.sheets["judge"][0]))
    assert page.url == url

    # The judge corrects the 0: at the next refresh the flag is gone, the typing stays.
    await _put(built, "judge", slot, judged, "2")
    await page.clock.fast_forward(15_500)
    await expect(page.locator("#flags-body tr[data-flag]")).to_have_count(0)
    await expect(page.locator("#flag-count")).to_have_text("0")
    await expect(page.locator("#chief-live")).not_to_be_empty()
    await expect(page.locator("#f-penalty-reason")).to_have_value("未戴护目镜，尚未写完")
    await expect(page.locator("#f-remark-cells")).to_have_value(f"{code} {judged.code}")
    assert page.url == url
    assert await page.evaluate("window.__violations") == []
    await context.close()
