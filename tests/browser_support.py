"""Shared pieces of the browser tests: the app under uvicorn and Debian's headless Chromium.

uvicorn runs in a process of its own rather than a thread of the test process: on PostgreSQL the
test session's connection pool belongs to the tests' event loop and cannot be shared with a
server loop. It serves the database this session uses (DATABASE_URL is set by conftest.py).
Chromium is the system's (`make test` installs Debian's `chromium`); Playwright only drives it,
so nothing is downloaded. JIANGXIN_CHROMIUM points to another binary.
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
from playwright.async_api import Browser, async_playwright

from competition.config import REPO_ROOT

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
    # The browser of a Chinese user: a first visit follows Accept-Language, so this is the
    # language pages open in unless a test asks for another (new_context(locale=...)).
    "--accept-lang=zh-CN,zh",
]
START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (installs it as root) or "
            "`apt-get install chromium`; `-m 'not browser'` leaves these tests out."
        )


async def launch(playwright, *extra_args: str) -> Browser:
    require_chromium()
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
    )


@pytest.fixture(scope="module")
async def live_server() -> AsyncIterator[str]:
    """The app's base URL, served by uvicorn until the module's tests are done."""
    port = free_port()
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
        env={**os.environ, "JIANGXIN_COOKIE_SECURE": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
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
                    await asyncio.sleep(0.1)  # not listening yet
                    continue
                assert time.monotonic() < deadline, f"uvicorn did not answer in {START_TIMEOUT_S} s"
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
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()
