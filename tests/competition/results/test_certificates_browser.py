"""From final results to a verified certificate in real headless Chromium: the organizer starts
the batch, the job page survives a reload and shows its progress until a worker has printed the
PDF, the QR code on the printed page opens the public verification page on a phone.

With JIANGXIN_SCREENSHOTS=<folder> the steps are also saved as pictures (the README's
"From registration to certificate" shows them: `make screenshots`)."""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.async_api import Page, expect

from competition.demo.loader import DEMO_PASSWORD
from tests.competition.jobs.test_jobs import run_queued_jobs
from tests.competition.results.builders import final_trade
from tests.page_text import zh

pytestmark = pytest.mark.browser
TIMEOUT_MS = 10_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("JIANGXIN_SCREENSHOTS", "")


async def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_from_final_results_to_a_verified_certificate(demo_marks, live_server, browser):
    trade = await final_trade()
    base = live_server
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        accept_downloads=True)  # fmt: skip
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login")
    await page.fill("#username", "organizer")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{base}/org")

    cid = trade.competition_id
    await page.goto(f"{base}/competitions/{cid}")
    await _shot(page, "0-competition")
    await page.goto(f"{base}/org/competitions/{cid}/dashboard")
    await _shot(page, "1-registration-dashboard")
    await page.goto(f"{base}/org/competitions/{cid}/progress")
    await expect(page.locator("svg.chart").first).to_be_visible()
    await _shot(page, "1-competition-dashboard")
    await page.goto(f"{base}/org/competitions/{cid}/results")
    await _shot(page, "1-results")
    await page.goto(f"{base}/org/competitions/{trade.competition_id}/certificates")
    row = page.locator(f"#trade-{trade.trade_id}")
    await row.get_by_role("button", name=zh("Issue and print (PDF)")).click()
    await expect(page).to_have_url(f"{base}/jobs/1")
    await expect(page.locator("#job-state")).to_have_text(zh("Queued"))
    # The job is the server's, not the page's: a reload finds it as it was.
    await page.reload()
    await expect(page.locator("#job-state")).to_have_text(zh("Queued"))
    await _shot(page, "2-job-queued")

    await run_queued_jobs()  # a worker takes it; the page notices by itself and reloads
    link = page.locator(".job-files a").first
    await expect(link).to_be_visible()
    await expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    await _shot(page, "3-job-done")
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    content = Path(await download.path()).read_bytes()
    image = pdfium.PdfDocument(content)[0].render(scale=2).to_pil()
    if SHOTS:
        image.save(Path(SHOTS) / "4-certificate.png")
    [url] = [code.text for code in zxingcpp.read_barcodes(image)]
    assert url.startswith(f"{base}/certificates/")
    await context.close()

    # Anyone holding the paper: the phone opens the code's address.
    phone = await (await browser.new_context(**PHONE)).new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    await phone.goto(url)
    await expect(phone.locator("#verdict")).to_contain_text(zh("Valid certificate"))
    await expect(phone.locator("#certificate-number")).to_have_text(url.rsplit("/", 1)[1])
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await _shot(phone, "5-verified-on-a-phone")
    await phone.context.close()
