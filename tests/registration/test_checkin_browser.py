"""The check-in desk in a real browser: headless Chromium against uvicorn on the test database.

A scanner gun is a keyboard: the test types the token into the focused box and presses Enter.
The camera is Chromium's fake capture device playing a video of the ticket's QR code, decoded
by the page itself (BarcodeDetector, or the vendored jsQR where the browser has none).
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from competition import services
from competition.audit import SYSTEM
from competition.clock import format_datetime
from competition.demo.loader import DEMO_PASSWORD
from competition.tables import AuditLog, User
from registration import review, tickets
from registration.tables import CheckIn, Entry
from tests.browser_support import launch
from tests.registration.helpers import ids, register

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
GREEN, AMBER = "rgb(220, 243, 228)", "rgb(255, 241, 199)"  # the card's background colours


async def _approved(cid: int, **kwargs) -> int:
    entry_id = await register(cid, **kwargs)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    return entry_id


async def _desk_ready(cid: int, *names: str) -> list[tuple[int, str, int]]:
    """Approved entries (id, token, own session), and the competition at check-in."""
    ready = []
    for name in names:
        entry_id = await _approved(cid, name=name)
        session = (await Entry.select(Entry.session).where(Entry.id == entry_id).first())["session"]
        ready.append((entry_id, (await tickets.load_ticket(entry_id)).token, session))
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)
    return ready


async def _open_desk(page: Page, base: str, cid: int, session_id: int) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login")
    await page.fill("#username", "organizer")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{base}/org")
    await page.goto(f"{base}/org/competitions/{cid}/checkin/{session_id}")


async def _checked_in_time(entry_id: int) -> str:
    row = await CheckIn.select(CheckIn.checked_in_at).where(CheckIn.entry == entry_id).first()
    return format_datetime(row["checked_in_at"], "%H:%M")


async def test_a_scanner_gun_checks_in_green_then_the_same_ticket_shows_amber_already(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    [(entry_id, token, session_id)] = await _desk_ready(cid, "才让多杰")
    context = await browser.new_context(viewport={"width": 1024, "height": 768})
    page = await context.new_page()
    await _open_desk(page, live_server, cid, session_id)

    box = page.locator("#scan-input")
    card = page.locator("#scan-result")
    await expect(box).to_be_focused()
    await expect(page.locator("#count-checked")).to_have_text("0")
    # The gun types into whatever has the focus, then presses Enter.
    await page.keyboard.type(token)
    await page.keyboard.press("Enter")

    await expect(card).to_have_attribute("data-outcome", "checked_in")
    await expect(card).to_have_css("background-color", GREEN)
    await expect(page.locator("#result-label")).to_have_text("检录成功")
    await expect(page.locator("#result-message")).to_have_text("检录成功。")
    await expect(page.locator("#result-name")).to_have_text("才让多杰")
    await expect(page.locator("#result-trade")).to_have_text("焊工")
    await expect(page.locator("#result-ticket")).to_have_text("QH16-T001-0001")
    await expect(page.locator("#result-delegation")).to_have_text("西宁市总工会")
    photo = page.locator("#result-photo")
    await expect(photo).to_be_visible()
    await expect(photo).to_have_attribute(
        "src", f"/desk/sessions/{session_id}/entries/{entry_id}/photo"
    )
    await page.wait_for_function("document.getElementById('result-photo').naturalWidth > 0")
    await expect(page.locator("#count-checked")).to_have_text("1")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("")

    await page.keyboard.type(token)
    await page.keyboard.press("Enter")
    await expect(card).to_have_attribute("data-outcome", "already")
    await expect(card).to_have_css("background-color", AMBER)
    await expect(page.locator("#result-label")).to_have_text("已检录过")
    first_time = await _checked_in_time(entry_id)
    await expect(page.locator("#result-message")).to_have_text(f"已于 {first_time} 检录。")
    await expect(page.locator("#result-name")).to_have_text("才让多杰")

    recent = page.locator("#recent-scans li")
    await expect(recent).to_have_count(2)
    await expect(recent.nth(0)).to_have_attribute("data-outcome", "already")
    await expect(recent.nth(1)).to_have_attribute("data-outcome", "checked_in")
    assert await CheckIn.count().where(CheckIn.entry == entry_id) == 1

    # A reload keeps this desk's list of recent scans.
    await page.reload()
    await expect(page.locator("#recent-scans li")).to_have_count(2)
    await expect(page.locator("#count-checked")).to_have_text("1")
    await context.close()


async def test_a_scan_whose_answer_is_lost_is_retried_with_the_same_nonce_and_counted_once(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    [(entry_id, token, session_id)] = await _desk_ready(cid, "李海燕")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    await _open_desk(page, live_server, cid, session_id)

    sent: list[str] = []

    async def lose_the_first_answer(route):
        sent.append(route.request.post_data_json["nonce"])
        if len(sent) == 1:
            await route.fetch()  # the live_server checks the contestant in...
            await route.abort("internetdisconnected")  # ...and the answer never arrives
        else:
            await route.continue_()

    await page.route("**/api/checkin", lose_the_first_answer)
    await page.locator("#scan-input").fill(token)
    await page.locator("#scan-input").press("Enter")

    pending = page.locator("#pending")
    await expect(pending).to_be_visible()
    await expect(pending).to_contain_text("正在重试")
    await expect(page.locator("#scan-result")).to_have_attribute("data-outcome", "sending")
    # The retry is answered from the first attempt: checked in, not "already".
    await expect(page.locator("#scan-result")).to_have_attribute("data-outcome", "checked_in")
    await expect(page.locator("#result-message")).to_have_text("检录成功。")
    await expect(pending).to_be_hidden()
    assert len(sent) == 2 and sent[0] == sent[1]
    uuid.UUID(sent[0])  # made by crypto.randomUUID
    rows = await CheckIn.select(CheckIn.nonce).where(CheckIn.entry == entry_id)
    assert rows == [{"nonce": sent[0]}]
    await expect(page.locator("#recent-scans li")).to_have_count(1)
    await context.close()


def _qr_video(token: str, path: Path) -> None:
    """An MJPEG file of the ticket's QR code, played by Chromium's fake camera."""
    code = Image.open(io.BytesIO(tickets.qr_png(token, box_size=4))).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=90)
    path.write_bytes(buffer.getvalue() * 30)


async def test_the_camera_decodes_the_ticket_and_sends_a_code_held_in_view_once(
    demo_mutable, live_server, tmp_path
):
    cid = demo_mutable.competition_id
    [(entry_id, token, session_id)] = await _desk_ready(cid, "王秀兰")
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
            page = await context.new_page()
            await _open_desk(page, live_server, cid, session_id)
            posts: list[str] = []
            page.on(
                "request",
                lambda r: posts.append(r.url) if r.url.endswith("/api/checkin") else None,
            )
            await page.get_by_role("button", name="使用摄像头").click()
            await expect(page.locator("#scan-result")).to_have_attribute(
                "data-outcome", "checked_in"
            )
            await expect(page.locator("#result-name")).to_have_text("王秀兰")
            await expect(page.get_by_role("button", name="关闭摄像头")).to_be_visible()
            if not await page.evaluate("'BarcodeDetector' in window"):
                assert await page.evaluate("typeof window.jsQR") == "function"
            # The code stays in front of the camera for well over the 3 s debounce.
            await page.wait_for_timeout(4_000)
            assert len(posts) == 1
            await expect(page.locator("#recent-scans li")).to_have_count(1)
            await page.get_by_role("button", name="关闭摄像头").click()
            await expect(page.locator("#camera-box")).to_be_hidden()
            assert await CheckIn.count().where(CheckIn.entry == entry_id) == 1
            await context.close()
        finally:
            await chromium.close()


async def test_a_clerk_on_a_phone_looks_a_contestant_up_and_checks_them_in_with_one_tap(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    [(entry_id, _token, session_id)] = await _desk_ready(cid, "才让多杰")
    id_number = (await Entry.select(Entry.person.id_number).where(Entry.id == entry_id).first())[
        "person.id_number"
    ]
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    posts: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: posts.append((r.url, r.post_data or "")) if r.method == "POST" else None,
    )
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "clerk")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{live_server}/desk")
    await page.locator(f'a[href="/desk/sessions/{session_id}"]').click()
    await expect(page).to_have_url(f"{live_server}/desk/sessions/{session_id}")
    await expect(page.locator("#count-checked")).to_have_text("0")

    # The QR code will not scan: the last four digits of the ID number find the contestant.
    await page.locator("#lookup-input").fill(id_number[-4:])
    await page.locator("#lookup-input").press("Enter")
    hit = page.locator("#lookup-results li")
    await expect(hit).to_have_count(1)
    await expect(hit.locator(".hit-name")).to_have_text("才让多杰")
    await expect(hit.locator(".hit-ticket")).to_contain_text("QH16-T001-0001")
    await expect(hit.locator(".hit-id")).to_contain_text(id_number[:4] + "*" * 10 + id_number[-4:])
    await expect(hit.locator(".hit-delegation")).to_have_text("西宁市总工会")
    await page.wait_for_function(
        "document.querySelector('#lookup-results img.thumb').naturalWidth > 0"
    )
    assert id_number not in await page.locator("#lookup-results").inner_text()

    await hit.get_by_role("button", name="检录").click()
    card = page.locator("#scan-result")
    await expect(card).to_have_attribute("data-outcome", "checked_in")
    await expect(card).to_have_css("background-color", GREEN)
    await expect(page.locator("#result-name")).to_have_text("才让多杰")
    await expect(page.locator("#count-checked")).to_have_text("1")
    first_time = await _checked_in_time(entry_id)
    await expect(hit.locator("button")).to_have_text(f"已于 {first_time} 检录")
    await expect(hit.locator("button")).to_be_disabled()
    recent = page.locator("#recent-scans li")
    await expect(recent).to_have_count(1)
    await expect(recent.nth(0)).to_contain_text("查找检录")

    # The search went in a POST body, never in a URL.
    lookups = [(url, body) for url, body in posts if url.endswith("/api/checkin/lookup")]
    assert lookups and all("?" not in url for url, _body in lookups)
    assert id_number[-4:] in lookups[0][1]
    clerk = (await User.select(User.id).where(User.username == "clerk").first())["id"]
    rows = await CheckIn.select(CheckIn.checked_in_by).where(CheckIn.entry == entry_id)
    assert rows == [{"checked_in_by": clerk}]
    audit = (
        await AuditLog.select(AuditLog.new)
        .where(AuditLog.action == "entry.check_in")
        .output(load_json=True)
    )
    assert audit == [{"new": {"session": session_id, "by": "lookup"}}]
    await context.close()
