"""`jiangxin serve` as it runs for real: uvicorn with two workers on the test database.

- requests on one kept-alive connection are not held back by Nagle's algorithm (TCP_NODELAY on
  every accepted socket; with pre-bound sockets uvicorn loses it and each request after the
  first waited ~40 ms for the client's delayed ACK);
- the access log names paths without their query strings (a search may hold an ID number);
- X-Forwarded-For counts only when JIANGXIN_TRUSTED_PROXIES names the proxy sending it, so the
  address sign-in throttling counts by cannot be chosen by the client.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from competition import throttle
from competition.config import REPO_ROOT, ConfigError, Settings
from competition.serving import uvicorn_options
from competition.tables import Role
from tests.browser_support import free_port
from tests.support import PASSWORD, make_user

START_TIMEOUT_S = 60
ID_NUMBER = "630102199001011234"
# Linux delays an ACK by at least 40 ms: a request held by Nagle takes that long.
DELAYED_ACK_MS = 40


@dataclass
class Server:
    base: str
    port: int
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        # Each worker writes its records as they happen; give the last ones a moment.
        time.sleep(0.3)
        return self.log.read_text(encoding="utf-8", errors="replace")


def _start(log: Path, workers: int, **env: str) -> Server:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command with fixed arguments
            [
                sys.executable,
                "-m",
                "competition.cli",
                "serve",
                "--workers",
                str(workers),
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "JIANGXIN_COOKIE_SECURE": "0", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(base=f"http://127.0.0.1:{port}", port=port, log=log, process=process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.base}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"serve did not answer:\n{server.log_text()}"
        time.sleep(0.2)


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`jiangxin serve --workers 2`, no proxy trusted."""
    server = _start(tmp_path_factory.mktemp("serve") / "serve.log", workers=2)
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    """`jiangxin serve` behind a proxy on this machine (JIANGXIN_TRUSTED_PROXIES=127.0.0.1)."""
    server = _start(
        tmp_path_factory.mktemp("proxied") / "serve.log",
        workers=1,
        JIANGXIN_TRUSTED_PROXIES="127.0.0.1",
    )
    yield server
    _stop(server)


def test_two_workers_answer_each_request_on_a_kept_alive_connection_without_delay(served):
    assert len(re.findall(r"Started server process \[\d+\]", served.log_text())) == 2
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/health")
    connection.getresponse().read()
    sock = connection.sock
    latencies = []
    for _ in range(20):
        started = time.perf_counter()
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status == 200
        assert connection.sock is sock  # the same connection, kept alive
    connection.close()
    print("keep-alive latencies (ms):", " ".join(f"{ms:.1f}" for ms in latencies))
    # Nagle would hold every one of them for a delayed ACK; a busy machine may slow a few.
    assert statistics.median(latencies) < DELAYED_ACK_MS / 2
    assert sum(ms >= DELAYED_ACK_MS for ms in latencies) <= 2


async def test_the_access_log_has_paths_but_no_query_strings(empty_db, served):
    with httpx.Client(base_url=served.base) as browser:
        search = browser.get("/org/competitions/1/users", params={"q": ID_NUMBER})
        assert search.status_code == 303  # not signed in: to the sign-in page
        switch = browser.get("/lang/en", params={"next": f"/org?q={ID_NUMBER}"})
        assert switch.status_code == 303
        assert browser.get("/login", params={"next": f"/org?q={ID_NUMBER}"}).status_code == 200
    log = served.log_text()
    assert '"GET /org/competitions/1/users HTTP/1.1" 303' in log
    assert '"GET /lang/en HTTP/1.1" 303' in log
    assert '"GET /login HTTP/1.1" 200' in log
    assert not re.search(r'"GET [^" ]*\?', log)
    # Not a run of six digits of the number anywhere, escaped or not.
    for start in range(len(ID_NUMBER) - 5):
        assert ID_NUMBER[start : start + 6] not in log


def _sign_in(
    browser: httpx.Client, username: str, password: str, forwarded_for: str
) -> httpx.Response:
    if "csrftoken" not in browser.cookies:
        assert browser.get("/login").status_code == 200
    return browser.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "_csrf_token": browser.cookies["csrftoken"],
        },
        headers={
            "x-forwarded-for": forwarded_for,
            "origin": str(browser.base_url).rstrip("/"),
            "referer": f"{browser.base_url}login",
        },
    )


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(empty_db, served):
    await make_user("ma.xiaoyan", Role.organizer)
    with httpx.Client(base_url=served.base) as attacker:
        for n in range(throttle.PAIR_FREE):
            response = _sign_in(attacker, "ma.xiaoyan", "guess", f"198.51.100.{n + 1}")
            assert response.status_code == 400
        # A new made-up address every time changed nothing: the peer waits, right password or not.
        response = _sign_in(attacker, "ma.xiaoyan", PASSWORD, "192.0.2.200")
        assert response.status_code == 429


async def test_a_trusted_proxy_names_the_client(empty_db, behind_proxy):
    await make_user("ma.xiaoyan", Role.organizer)
    with httpx.Client(base_url=behind_proxy.base) as proxy:
        for _ in range(throttle.PAIR_FREE):
            assert _sign_in(proxy, "ma.xiaoyan", "guess", "203.0.113.9").status_code == 400
        assert _sign_in(proxy, "ma.xiaoyan", PASSWORD, "203.0.113.9").status_code == 429
        # What the client itself put in front of the proxy's entry does not help it.
        spoofed = _sign_in(proxy, "ma.xiaoyan", PASSWORD, "192.0.2.1, 203.0.113.9")
        assert spoofed.status_code == 429
    with httpx.Client(base_url=behind_proxy.base) as office:
        response = _sign_in(office, "ma.xiaoyan", PASSWORD, "10.1.2.3")
        assert response.status_code == 303
        assert response.headers["location"] == "/org"


def test_trusted_proxies_are_addresses_or_networks(tmp_path):
    base = {"JIANGXIN_SECRET": "s" * 40}
    settings = Settings.from_env(base, workdir=tmp_path)
    assert settings.trusted_proxies == ()
    options = uvicorn_options("127.0.0.1", 8000, 2)
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] is None

    named = Settings.from_env(
        {**base, "JIANGXIN_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1"}, workdir=tmp_path
    )
    assert named.trusted_proxies == ("10.0.0.0/8", "127.0.0.1", "::1")
    for bad in ("*", "proxy.example", "10.0.0.300"):
        with pytest.raises(ConfigError, match="JIANGXIN_TRUSTED_PROXIES"):
            Settings.from_env({**base, "JIANGXIN_TRUSTED_PROXIES": bad}, workdir=tmp_path)
