"""`jiangxin serve` as it runs for real: uvicorn with two workers on the test database.

- requests on one kept-alive connection are not held back by Nagle's algorithm (TCP_NODELAY on
  every accepted socket; with pre-bound sockets uvicorn loses it and each request after the
  first waited ~40 ms for the client's delayed ACK);
- the access log names paths without their query strings (a search may hold an ID number);
- X-Forwarded-For counts only when JIANGXIN_TRUSTED_PROXIES names the proxy sending it, so the
  address sign-in throttling counts by cannot be chosen by the client;
- /static files may be kept by any cache for an hour, and nothing else may be stored;
- with JIANGXIN_LOG_FORMAT=json every line the server writes is one JSON object: access records
  with the path but no query string, the app's own records, the job worker's.
"""

from __future__ import annotations

import http.client
import json
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
from competition.serving import STATIC_MAX_AGE_S, uvicorn_options
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


def _start(log: Path, workers: int, *args: str, **env: str) -> Server:
    """`jiangxin serve --workers N [args]` with `env` added to this environment, once its /health
    answers 200."""
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
                *args,
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
    """`jiangxin serve` behind a proxy on this machine (JIANGXIN_TRUSTED_PROXIES=127.0.0.1), its
    logs as JSON lines (JIANGXIN_LOG_FORMAT=json)."""
    server = _start(
        tmp_path_factory.mktemp("proxied") / "serve.log",
        workers=1,
        JIANGXIN_TRUSTED_PROXIES="127.0.0.1",
        JIANGXIN_LOG_FORMAT="json",
    )
    yield server
    _stop(server)


def test_two_workers_answer_each_request_on_a_kept_alive_connection_without_delay(served):
    # The first worker may answer /health before the second has started: wait for both.
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(re.findall(r"Started server process \[\d+\]", served.log_text())) < 2:
        assert time.monotonic() < deadline, f"the second worker did not start:\n{served.log_text()}"
        time.sleep(0.2)
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


async def test_static_files_may_be_cached_for_an_hour_and_nothing_else_stored(empty_db, served):
    await make_user("ma.xiaoyan", Role.organizer)
    with httpx.Client(base_url=served.base) as browser:
        for path in ("/static/css/app.css", "/static/js/sheet.js", "/static/vendor/jsQR.js"):
            response = browser.get(path)
            assert response.status_code == 200, path
            cache = {part.strip() for part in response.headers["cache-control"].split(",")}
            assert cache == {"public", f"max-age={STATIC_MAX_AGE_S}"}, path
            assert response.headers["etag"] and response.headers["last-modified"]
        assert _sign_in(browser, "ma.xiaoyan", PASSWORD, "10.0.0.1").status_code == 303
        # Pages (signed in or not), the health check, a redirect: never kept anywhere.
        for path in ("/org", "/org/competitions/new", "/login", "/health", "/"):
            response = browser.get(path)
            assert response.status_code < 400, path
            assert response.headers["cache-control"] == "no-store", path


def _records(server: Server) -> list[dict]:
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return records


async def test_json_logs_are_one_object_a_line_without_query_strings(empty_db, behind_proxy):
    with httpx.Client(base_url=behind_proxy.base) as browser:
        assert browser.get("/login", params={"next": f"/org?q={ID_NUMBER}"}).status_code == 200
        search = browser.get("/org/competitions/1/users", params={"q": ID_NUMBER})
        assert search.status_code == 303
        assert browser.get("/no/such/page", params={"phone": "13912345678"}).status_code == 404
    records = _records(behind_proxy)
    for record in records:
        assert {"time", "level", "logger", "pid"} <= set(record), record
        assert record["time"].endswith("+00:00")
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    seen = {(r["method"], r["path"], r["status"]) for r in access}
    assert {
        ("GET", "/login", 200),
        ("GET", "/org/competitions/1/users", 303),
        ("GET", "/no/such/page", 404),
        ("GET", "/health", 200),
    } <= seen
    # The peer, or the client a trusted proxy named (the other tests here send X-Forwarded-For).
    assert all(re.fullmatch(r"[\d.]+:\d+", r["client"]) and r["http_version"] for r in access)
    # The server process, the app inside it, and the job worker beside it.
    said = [(r["logger"], r["pid"], r.get("message", "")) for r in records]
    started = {pid for _, pid, text in said if text.startswith("Started server process")}
    assert len(started) == 1
    ready = [r for r in records if r["logger"] == "jiangxin" and r["message"].startswith("Serving")]
    assert {r["pid"] for r in ready} == started
    assert any(
        r["logger"] == "jiangxin.cli" and "Background worker" in r["message"] for r in records
    )
    text = behind_proxy.log_text()
    assert "?" not in "".join(r["path"] for r in access)
    for start in range(len(ID_NUMBER) - 5):
        assert ID_NUMBER[start : start + 6] not in text
    assert "13912345678" not in text


def test_the_log_format_and_pgbouncer_settings(tmp_path):
    from competition import db

    base = {"JIANGXIN_SECRET": "s" * 40, "DATABASE_URL": "postgresql://jx@127.0.0.1:6432/jx"}
    plain = Settings.from_env(base, workdir=tmp_path)
    assert (plain.log_format, plain.pgbouncer) == ("text", False)
    assert "root" not in uvicorn_options("127.0.0.1", 8000, 1)["log_config"]
    bouncer = Settings.from_env(
        {**base, "JIANGXIN_LOG_FORMAT": "JSON", "JIANGXIN_PGBOUNCER": "1"}, workdir=tmp_path
    )
    assert (bouncer.log_format, bouncer.pgbouncer) == ("json", True)
    with pytest.raises(ConfigError, match="JIANGXIN_LOG_FORMAT"):
        Settings.from_env({**base, "JIANGXIN_LOG_FORMAT": "xml"}, workdir=tmp_path)
    # Behind PgBouncer asyncpg keeps no prepared statements; straight to PostgreSQL it does.
    assert db.postgres_config(plain) == {"dsn": base["DATABASE_URL"]}
    assert db.postgres_config(bouncer) == {"dsn": base["DATABASE_URL"], "statement_cache_size": 0}


def test_a_write_that_cannot_get_the_sqlite_lock_is_answered_busy_not_500(tmp_path):
    """Several workers on one SQLite file, past capacity: a write still waiting for another's
    lock after JIANGXIN_SQLITE_BUSY_SECONDS is answered 503 with Retry-After and a message that
    nothing was saved (the tablet's queue retries it), never 500; once the lock is free the same
    request goes through. The server runs on a SQLite file of its own whatever the suite's
    database, since the lock is SQLite's."""
    import sqlite3

    path = tmp_path / "busy.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    migrated = subprocess.run(
        [sys.executable, "-m", "competition.cli", "migrate"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    server = _start(tmp_path / "serve.log", 1, DATABASE_URL=env["DATABASE_URL"],
                    JIANGXIN_SQLITE_BUSY_SECONDS="0.5")  # fmt: skip
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        with httpx.Client(
            base_url=server.base, timeout=20, headers={"origin": server.base}
        ) as browser:
            assert browser.get("/login").status_code == 200
            form = {"username": "nobody", "password": "wrong-password",
                    "_csrf_token": browser.cookies["csrftoken"]}  # fmt: skip
            holder.execute("BEGIN IMMEDIATE")  # another writer holds the file
            busy = browser.post("/login", data=form)
            assert busy.status_code == 503, busy.text[:500]
            assert busy.headers["retry-after"] == "2"
            assert "服务器当前十分繁忙" in busy.text and "未保存任何内容" in busy.text
            api = browser.post("/login", data=form, headers={"accept": "application/json"})
            assert api.status_code == 503 and api.json()["code"] == "busy"
            holder.execute("ROLLBACK")
            again = browser.post("/login", data=form)
            assert again.status_code == 400  # a wrong password, answered as such
    finally:
        holder.close()
        _stop(server)
    log = server.log_text()
    assert "database busy (OperationalError) on POST /login" in log
    assert "Traceback" not in log
