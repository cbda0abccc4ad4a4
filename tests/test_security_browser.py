"""The Content-Security-Policy in a real browser: the pages' scripts, the photo preview and the
check-in desk's camera (with jsQR where Chromium has no BarcodeDetector) work under it, and
the browser reports no violation of it.

Headless Chromium against uvicorn on the test database (tests/browser_support.py); a listener
added before any page script records every `securitypolicyviolation` event.
"""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from competition.tables import User
from registration.tables import Entry, EntryStatus, Person
from tests.browser_support import launch
from tests.registration.helpers import jpeg
from tests.registration.test_checkin_browser import _desk_ready, _open_desk, _qr_video
from tests.test_browser import sign_in
from tests.test_security_headers import CSP

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


async def watched_page(context: BrowserContext) -> Page:
    await context.add_init_script(WATCH_VIOLATIONS)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


async def violations(page: Page) -> list[str]:
    return await page.evaluate("window.__violations")


async def test_page_scripts_and_the_photo_preview_work_under_the_policy(
    demo_full, live_server, browser, tmp_path
):
    cid = demo_full.competition_id
    context = await browser.new_context()
    page = await watched_page(context)
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.headers.get("content-security-policy", "")))

    # The organizer ticks every entry on the page with the box in the table head.
    await sign_in(page, live_server, "organizer")
    await page.goto(f"{live_server}/org/competitions/{cid}/entries")
    boxes = page.locator("input[type=checkbox][name=entry]")
    assert await boxes.count() > 0
    await page.locator("#pick-all").check()
    assert all(await boxes.evaluate_all("boxes => boxes.map(b => b.checked)"))
    await page.locator("#pick-all").uncheck()
    assert not any(await boxes.evaluate_all("boxes => boxes.map(b => b.checked)"))
    assert await violations(page) == []

    # An error page's "Go back" returns to where the user came from.
    await page.goto(f"{live_server}/org/competitions/{2**63}")
    await expect(page.locator("h1")).to_have_text("未找到")
    await page.get_by_role("link", name="返回").click()
    await expect(page).to_have_url(f"{live_server}/org/competitions/{cid}/entries")
    assert await violations(page) == []
    await context.close()

    # A contestant choosing a new photo sees it at once (a blob: URL).
    contestant = await User.select(User.id).where(User.username == "contestant").first()
    entry = await (
        Entry.select(Entry.id)
        .where(
            Entry.person.is_in(Person.select(Person.id).where(Person.user == contestant["id"])),
            Entry.status != EntryStatus.revoked,
        )
        .first()
    )
    assert entry, "the full demo's contestant has an entry"
    photo = tmp_path / "me.jpg"
    photo.write_bytes(jpeg())
    context = await browser.new_context()
    page = await watched_page(context)
    await sign_in(page, live_server, "contestant")
    await page.goto(f"{live_server}/me/entries/{entry['id']}/edit")
    await page.set_input_files("#f-photo", str(photo))
    preview = page.locator("#photo-preview")
    await expect(preview).to_be_visible()
    assert (await preview.get_attribute("src")).startswith("blob:")
    assert await preview.evaluate("img => img.complete && img.naturalWidth") == 480
    assert await violations(page) == []
    await context.close()
    assert CSP in seen


async def test_the_check_in_camera_and_jsqr_work_under_the_policy(
    demo_mutable, live_server, tmp_path
):
    cid = demo_mutable.competition_id
    [(_entry_id, token, session_id)] = await _desk_ready(cid, "马秀英")
    video = tmp_path / "ticket.mjpeg"
    _qr_video(token, video)
    async with async_playwright() as playwright:
        chromium = await launch(
            playwright,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        )
        try:
            context = await chromium.new_context(permissions=["camera"])
            page = await watched_page(context)
            await _open_desk(page, live_server, cid, session_id)
            # jsQR is the decoder wherever Chromium lacks BarcodeDetector (headless Linux):
            # make sure it is the one used, loaded from /static under the policy.
            await page.evaluate("delete window.BarcodeDetector")
            await page.get_by_role("button", name="使用摄像头").click()
            await expect(page.locator("#scan-result")).to_have_attribute(
                "data-outcome", "checked_in"
            )
            assert await page.evaluate("typeof window.jsQR") == "function"
            assert await violations(page) == []
            await context.close()
        finally:
            await chromium.close()
