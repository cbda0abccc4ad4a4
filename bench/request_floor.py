"""The per-request floor: what a signed-in request costs before its handler runs.

    .venv/bin/python bench/request_floor.py [--requests 2000] [--postgres URL] [--no-http]

Each database runs in a child process of its own (Piccolo binds its tables to the engine named
by DATABASE_URL when they are imported): a temporary SQLite file and, with --postgres, a
temporary database on that server (dropped afterwards). The demo structure is loaded and one
account is given three grants (organizer, delegation admin, judge: the identity then carries
delegation and trade names) and a session. Then, in the same run and through the same client:

  bare             a bare Litestar app: one GET handler returning a small dict, nothing else
                   (no middleware, no guard, no database) - the ceiling
  /health anon     the real app, no cookie: middleware, guard, one COUNT in the handler
  /health signed   the same with the session cookie: the difference is the session lookup
  /api/me signed   the real app, handler without database work: /api/me minus bare is the floor

and the sign-in itself (POST /login with the right and a wrong password: throttle bookkeeping,
argon2 verify, session) next to argon2's verify alone,

first in-process (httpx.ASGITransport; wall time per request, CPU time per request of this
process, client included alike for every row), then over real uvicorn servers on loopback
(`jiangxin serve` and the bare app served the same way, one keep-alive connection each; the
server process's own CPU time per request read from /proc). Rows are measured in interleaved
rounds so that load from other work on the machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

TARGET_FLOOR_MS = 2.0
TARGET_LOGIN_MS = 300.0
ROUNDS = 20
LOGINS = 30
USERNAME = "floor.bench"
PASSWORD = "floor-bench-" + secrets.token_hex(4)


def bare_app():
    """The ceiling: Litestar with one handler and nothing around it."""
    from litestar import Litestar, get

    @get("/bare", sync_to_thread=False)
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[bare], openapi_config=None)


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _report(title: str, rows: dict[str, tuple[list[float], float]]) -> None:
    """rows: label -> (wall samples in ms, CPU ms per request)."""
    bare_median, _ = _stats(rows["bare"][0])
    print(f"  {title}")
    print(f"    {'request':<16} {'median':>9} {'p99':>9} {'cpu/req':>9} {'× bare':>7}")
    for label, (samples, cpu) in rows.items():
        median, p99 = _stats(samples)
        ratio = median / bare_median
        print(f"    {label:<16} {median:7.3f}ms {p99:7.3f}ms {cpu:7.3f}ms {ratio:6.2f}×")
    me_median, _ = _stats(rows["/api/me signed"][0])
    signed, _ = _stats(rows["/health signed"][0])
    anon, _ = _stats(rows["/health anon"][0])
    floor = me_median - bare_median
    floor_cpu = rows["/api/me signed"][1] - rows["bare"][1]
    verdict = "under" if max(floor, floor_cpu) < TARGET_FLOOR_MS else "OVER"
    print(
        f"    floor (/api/me signed - bare): {floor:.3f} ms wall, {floor_cpu:.3f} ms cpu, "
        f"{verdict} the {TARGET_FLOOR_MS} ms target; "
        f"session lookup (/health signed - anon): {signed - anon:.3f} ms",
        flush=True,
    )


# ---------------------------------------------------------------- the child: one database


async def _prepare() -> str:
    """Migrate, load the demo structure, one account with three grants; its session token."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import accounts, db
    from competition.audit import SYSTEM
    from competition.demo.loader import load_demo
    from competition.tables import Delegation, Role, Trade

    result = await run_forwards("jiangxin")
    assert result.success, result.message
    await db.prepare_database()
    demo = await load_demo()
    delegation = (
        await Delegation.select(Delegation.id)
        .where(Delegation.competition == demo.competition_id)
        .first()
    )
    trade = await Trade.select(Trade.id).where(Trade.competition == demo.competition_id).first()
    user_id = await accounts.create_user(
        USERNAME,
        "Floor bench",
        PASSWORD,
        actor=SYSTEM,
        grants=[
            accounts.Grant(role=Role.organizer),
            accounts.Grant(
                role=Role.delegation_admin,
                competition_id=demo.competition_id,
                delegation_id=delegation["id"],
            ),
            accounts.Grant(
                role=Role.judge, competition_id=demo.competition_id, trade_id=trade["id"]
            ),
        ],
    )
    return await accounts.start_session(user_id)


async def _in_process(token: str, requests: int) -> None:
    import httpx

    from competition.app import create_app
    from competition.web.middleware import SESSION_COOKIE

    app = create_app()
    # httpx logs every request at INFO once the app has configured logging: not what is measured.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    bare = bare_app()
    async with app.lifespan(), bare.lifespan():
        real = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        signed = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            cookies={SESSION_COOKIE: token},
        )
        ceiling = httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://t")
        targets = {
            "bare": (ceiling, "/bare"),
            "/health anon": (real, "/health"),
            "/health signed": (signed, "/health"),
            "/api/me signed": (signed, "/api/me"),
        }
        for client, path in targets.values():  # warm up: imports, pools, caches
            for _ in range(20):
                assert (await client.get(path)).status_code == 200
        samples: dict[str, list[float]] = {label: [] for label in targets}
        cpu: dict[str, float] = dict.fromkeys(targets, 0.0)
        per_round = max(1, requests // ROUNDS)
        for _ in range(ROUNDS):
            for label, (client, path) in targets.items():
                cpu_start = time.process_time()
                for _ in range(per_round):
                    started = time.perf_counter()
                    response = await client.get(path)
                    samples[label].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                cpu[label] += time.process_time() - cpu_start
        for client in (real, signed, ceiling):
            await client.aclose()
        logins = await _time_logins_in_process(app)
    total = per_round * ROUNDS
    _report(
        "in-process (httpx.ASGITransport)",
        {label: (samples[label], cpu[label] * 1000 / total) for label in targets},
    )
    _report_logins(logins)


async def _time_logins_in_process(app) -> dict[str, list[float]]:
    """POST /login with the right and with a wrong password (each wrong one from an address of
    its own, so throttling never refuses it), next to argon2's verify alone."""
    import httpx

    from competition import passwords
    from competition.tables import User

    stored = await User.select(User.password_hash).where(User.username == USERNAME).first()
    times: dict[str, list[float]] = {"right password": [], "wrong password": [], "argon2 only": []}
    for n in range(LOGINS):
        for label, password in (("right password", PASSWORD), ("wrong password", "wrong-1")):
            transport = httpx.ASGITransport(app=app, client=(f"10.9.{n // 250}.{n % 250}", 1))
            # A browser sends the site's origin with a form (the app refuses one without).
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers={"origin": "http://t"}
            ) as browser:
                await browser.get("/login")
                form = {
                    "username": USERNAME,
                    "password": password,
                    "_csrf_token": browser.cookies["csrftoken"],
                }
                started = time.perf_counter()
                response = await browser.post("/login", data=form)
                times[label].append((time.perf_counter() - started) * 1000)
                assert response.status_code == (303 if password == PASSWORD else 400)
        started = time.perf_counter()
        assert passwords.verify_password(stored["password_hash"], PASSWORD)
        times["argon2 only"].append((time.perf_counter() - started) * 1000)
    return times


def _report_logins(times: dict[str, list[float]]) -> None:
    ceiling, _ = _stats(times["argon2 only"])
    print(f"    sign-in (POST /login, {LOGINS} each; target well under {TARGET_LOGIN_MS:.0f} ms)")
    for label, samples in times.items():
        median, _ = _stats(samples)
        print(
            f"    {label:<16} {median:7.1f}ms {max(samples):7.1f}ms max "
            f"{median / ceiling:6.2f}× argon2",
            flush=True,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children that have ended, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _over_http(token: str, requests: int) -> None:
    import httpx

    from competition.web.middleware import SESSION_COOKIE

    env = {**os.environ, "JIANGXIN_COOKIE_SECURE": "0", "PYTHONPATH": str(REPO_ROOT)}
    app_port, bare_port = _free_port(), _free_port()
    real = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "competition.cli", "serve", "--port", str(app_port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(  # noqa: S603 - this script itself
        [sys.executable, __file__, "--serve-bare", str(bare_port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(app_port, real)
        _wait_until_up(bare_port, bare)
        clients = {
            "bare": (httpx.Client(base_url=f"http://127.0.0.1:{bare_port}"), "/bare", bare.pid),
            "/health anon": (
                httpx.Client(base_url=f"http://127.0.0.1:{app_port}"),
                "/health",
                real.pid,
            ),
            "/health signed": (
                httpx.Client(
                    base_url=f"http://127.0.0.1:{app_port}", cookies={SESSION_COOKIE: token}
                ),
                "/health",
                real.pid,
            ),
            "/api/me signed": (
                httpx.Client(
                    base_url=f"http://127.0.0.1:{app_port}", cookies={SESSION_COOKIE: token}
                ),
                "/api/me",
                real.pid,
            ),
        }
        for client, path, _pid in clients.values():
            for _ in range(20):
                assert client.get(path).status_code == 200
        samples: dict[str, list[float]] = {label: [] for label in clients}
        cpu: dict[str, float] = dict.fromkeys(clients, 0.0)
        per_round = max(1, requests // ROUNDS)
        for _ in range(ROUNDS):
            for label, (client, path, pid) in clients.items():
                cpu_start = _cpu_seconds(pid)
                for _ in range(per_round):
                    started = time.perf_counter()
                    response = client.get(path)
                    samples[label].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                cpu[label] += _cpu_seconds(pid) - cpu_start
        logins: dict[str, list[float]] = {"right password": []}
        base = f"http://127.0.0.1:{app_port}"
        with httpx.Client(base_url=base, headers={"origin": base}) as browser:
            browser.get("/login")
            for _ in range(LOGINS):
                form = {
                    "username": USERNAME,
                    "password": PASSWORD,
                    "_csrf_token": browser.cookies["csrftoken"],
                }
                started = time.perf_counter()
                response = browser.post("/login", data=form)
                logins["right password"].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 303
                browser.cookies.delete(SESSION_COOKIE)
        for client, _path, _pid in clients.values():
            client.close()
    finally:
        for process in (real, bare):
            process.terminate()
            process.wait(timeout=30)
    total = per_round * ROUNDS
    _report(
        "over HTTP (uvicorn on loopback, one keep-alive connection; cpu = the server's)",
        {label: (samples[label], cpu[label] * 1000 / total) for label in clients},
    )
    median, _ = _stats(logins["right password"])
    print(
        f"    sign-in over HTTP, right password: median {median:.1f} ms, "
        f"max {max(logins['right password']):.1f} ms",
        flush=True,
    )


def child(url: str, requests: int, http: bool) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("JIANGXIN_SECRET", secrets.token_urlsafe(48))
    os.environ["JIANGXIN_COOKIE_SECURE"] = "0"
    os.chdir(REPO_ROOT)

    async def run() -> str:
        from competition import db

        await db.start_pool()
        try:
            token = await _prepare()
        finally:
            await db.close_pool()
        await _in_process(token, requests)
        return token

    token = asyncio.run(run())
    if http:
        _over_http(token, requests)
    print(f"  load average: {os.getloadavg()[0]:.2f}", flush=True)


def serve_bare(port: int) -> None:
    """The bare app under the same uvicorn settings as `jiangxin serve`."""
    import uvicorn

    from competition.serving import uvicorn_options

    options = uvicorn_options("127.0.0.1", port, 1)
    options.pop("factory", None)
    uvicorn.run(f"bench.request_floor:{bare_app.__name__}", factory=True, **options)


# ---------------------------------------------------------------- the parent: each database


def _run_child(label: str, url: str, args: argparse.Namespace) -> int:
    print(f"\n{label}: {args.requests:,} requests a row", flush=True)
    command = [sys.executable, __file__, "--child", url, "--requests", str(args.requests)]
    if args.no_http:
        command.append("--no-http")
    return subprocess.run(command, check=False).returncode  # noqa: S603 - this script itself


def _postgres(args: argparse.Namespace) -> int:
    """A database of its own on the given server, so nothing there is touched."""
    name = f"jx_floor_bench_{os.getpid()}"
    parsed = urlparse(args.postgres)
    target = urlunparse(parsed._replace(path=f"/{name}"))
    asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
    try:
        return _run_child(f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432})", target, args)
    finally:
        asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000, help="requests a row")
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.child:
        child(args.child, args.requests, not args.no_http)
        return 0
    failures = 0
    with tempfile.TemporaryDirectory(prefix="jx-floor-bench-") as tmp:
        failures += _run_child("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args) != 0
    if args.postgres:
        failures += _postgres(args) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
