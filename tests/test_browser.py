"""The app in a real browser: headless Chromium against uvicorn on the test database.

Chromium is the system's (Debian package `chromium`, which `make test` installs); Playwright
only drives it, so nothing is downloaded. JIANGXIN_CHROMIUM points to another binary.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from competition.config import REPO_ROOT
from competition.demo.loader import DEMO_PASSWORD
from competition.i18n import current_locale, gettext
from competition.phases import PHASE_LABELS, Phase

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("JIANGXIN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_NAME = "青海省第十六届职工职业技能大赛"
TIMEOUT_MS = 5_000


def in_english(message: str) -> str:
    token = current_locale.set("en")
    try:
        return gettext(message)
    finally:
        current_locale.reset(token)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[str]:
    """uvicorn in a process of its own (its own event loop and connection pool) on the
    database this session uses; each test loads the demo with the `demo` fixture."""
    port = free_port()
    env = {**os.environ, "JIANGXIN_COOKIE_SECURE": "0"}
    process = subprocess.Popen(  # noqa: S603 - our own app with fixed arguments
        [
            sys.executable,
            "-m",
            "uvicorn",
            "competition.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient() as probe:
            while True:
                if process.poll() is not None:
                    output = (
                        process.stdout.read().decode(errors="replace") if process.stdout else ""
                    )
                    raise AssertionError(f"uvicorn exited with {process.returncode}:\n{output}")
                try:
                    if (await probe.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not answer /health in 20 s"
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (installs it as root) or "
            "`apt-get install chromium`; `-m 'not browser'` leaves these tests out."
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def sign_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("form.stacked button[type=submit]")


async def test_organizer_signs_in_opens_the_competition_switches_language_and_signs_out(
    demo, server, browser
):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    await sign_in(page, server, "organizer")
    await expect(page).to_have_url(f"{server}/org")
    await page.get_by_role("link", name=DEMO_NAME).click()
    await expect(page).to_have_url(f"{server}/org/competitions/{demo.competition_id}")

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
    await expect(page).to_have_url(f"{server}/login")
    await page.goto(f"{server}/org")
    await expect(page).to_have_url(f"{server}/login?next=%2Forg")
    await context.close()


async def test_on_a_phone_the_menu_button_opens_the_navigation(demo, server, browser):
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await sign_in(page, server, "organizer")
    await expect(page).to_have_url(f"{server}/org")

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
    demo, server, browser
):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await sign_in(page, server, "organizer", "not-the-password")
    await expect(page).to_have_url(f"{server}/login")
    message = gettext("Wrong username or password.")
    assert message != "Wrong username or password."
    await expect(page.get_by_role("alert")).to_have_text(message)
    await expect(page.locator("#username")).to_have_value("organizer")
    await expect(page.locator("#password")).to_have_value("")
    await context.close()
