"""The mixed load: 300 judges, 50 check-in desks and 100 contestants at once, one real server.

    .venv/bin/python bench/load.py [--postgres URL] [--no-sqlite] [--workers 2] [--seconds 20]
        [--judges 300] [--desks 50] [--contestants 100] [--mark-rate 150] [--scan-rate 50]
        [--entries 20000] [--database URL --out JSON]

For each database (a SQLite file under /tmp/i16/load/; with --postgres a scratch database on that
server, dropped afterwards; with --database the database named, used as it is: the tests) the
script

1. builds the data in a child process (Piccolo binds its tables to DATABASE_URL at import):
   bench/checkin.py's builder (migrations, the demo structure, `--entries` approved entries with
   signed tickets, the competition moved to "check-in and draw"), then bench/marks.py's at scale
   0 (306 judges with accounts and a signed-in session, each an open live sheet of 100
   contestants and no mark yet; every trade "competing"), then a second competition open for
   registration: four trades of five delegations with quotas of 1, 2, 3 and unlimited, one
   delegation × trade without a quota row (no place), a delegation admin a delegation signed in
   twice (two browsers of one office);
2. starts the real server, `jiangxin serve --workers N` on 127.0.0.1, behind "a proxy" on the same
   machine (JIANGXIN_TRUSTED_PROXIES=127.0.0.1: each contestant comes from an address of its own,
   as through the reverse proxy of a deployment; the sign-up limit counts per address);
3. drives it from this process with everyone AT THE SAME TIME, for `--seconds` (contestants and
   reviews until each has done its steps):
   - **judges**: bench/marks.py's judges and driver — one kept-alive connection each, its session
     cookie and CSRF token, `POST /api/judge/marks` on its live sheet: 85 % a cell not yet marked,
     10 % a change of one of its own marks, 5 % its last request again (same client id: answered
     "repeat"); a request without an answer is sent again with the same client id, as the
     tablet's queue does. Poisson arrivals at `--mark-rate` marks/s in all (latency counted from
     when the mark was due), or back to back with `--mark-rate 0`;
   - **desks**: bench/checkin.py's tickets and door mix, each desk signed in as the demo
     organizer (a session of its own, written by the build as a sign-in leaves it) on one
     kept-alive connection, `POST /api/checkin` as the desk page sends it, at the theory
     exam's door of each ticket's trade (the practical doors closed when the trades started
     competing): a door's mix of first scans, repeats of a ticket already in ("already"),
     retries of the desk's last scan (same nonce: the first answer again), and 10 % wrong
     tickets (a forged signature, or a ticket of another trade: "refused"); lost answers sent
     again with the same nonce. At `--scan-rate` scans/s in all, or back to back with
     `--scan-rate 0`;
   - **contestants**, all starting at once, each on its own connections and address: the sign-up
     page and form, the sign-in page and form (a second browser), the registration form and its
     submission (multipart, with a photo) for its trade and delegation, then its entries page.
     One in ten submits twice at the same moment (a double tap: one entry, the other refused);
     one in ten tries a second trade afterwards (refused: one trade a person);
   - **first review** (初审): each delegation's two signed-in browsers pass the entries of their
     delegation as they arrive (`POST /delegation/entries/{id}/review`); past the quota the
     answer must be a refusal. The quota holds here: a submitted registration uses no place
     (registration/quotas.py), so it is the review, not the submission, that is refused;
4. checks the database exactly afterwards, in a child process:
   - marks (bench/marks.py's check): the live marks are the cells answered "saved", once each,
     with the value and version last answered; one trail row per client id applied, none other;
   - check-ins: the rows are exactly the scans answered "checked in" (with the nonce answered),
     one per contestant and session; every repeat was answered "already", every wrong ticket
     "refused";
   - registrations: one account per sign-up answered, one entry per registration answered
     (its trade and delegation, the double taps and second trades left nothing), and per
     delegation × trade the entries passed at first review are exactly those answered "passed",
     min(quota, registered) of them: never above the quota;
   - no answer 5xx, and no traceback in the server's log (a request the client gave up on after
     30 s may still end in a 500 the client never reads: the log is where it shows).

Before the run every judge's and desk's connection is opened (GET /api/me, not measured).

Printed per population: requests, req/s, median, p99, max, errors (answers that were not the
expected ones) and the status codes; the CPU the server's processes and PostgreSQL spent. JSON
in bench/results/load-<engine>.json (or --out). Everything listens on loopback only; every
phase is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench import checkin, marks  # noqa: E402
from bench.checkin import KeptAliveClient, Tickets  # noqa: E402
from bench.marks import Driver, Judge, Ledger, Samples  # noqa: E402
from bench.support import admin  # noqa: E402

WORK_DIR = Path(tempfile.gettempdir()) / "i16" / "load"
RESULTS = REPO_ROOT / "bench" / "results"
SEED = 16
SERVE = [sys.executable, "-m", "competition.cli", "serve"]
REQUEST_TIMEOUT_S = 30
ATTEMPTS = 5  # a tablet's or a desk's queue sends a request without an answer again
WRONG_SHARE = 0.10  # of the scans: a forged ticket or one of another trade
DOUBLE_TAP_EVERY, SECOND_TRADE_EVERY = 10, 10  # contestants
REVIEWERS_PER_DELEGATION = 2
WARM_UP_AT_ONCE = 20  # connections opened at a time before the run
# The registration competition: demo trades without groups, their quota per delegation (None:
# unlimited), and the delegation × trade left without a quota row (no place at all).
REGISTRATION_CODE = "QH16L"
REGISTRATION_TRADES = {"T003": 1, "T004": 2, "T005": 3, "T008": None}
REGISTRATION_DELEGATIONS = 5
NO_QUOTA = (0, "T004")  # (delegation index, trade code)
# Refused, as the product answers them: a second trade or a double tap (409), the quota (409).
REFUSED = 409


def _log(text: str) -> None:
    print(f"  {text}", flush=True)


# ---------------------------------------------------------------- child: build the data


def _registration_structure(directory: Path) -> None:
    """The second competition, as the demo's CSV files with four trades and five delegations
    (competition/demo/loader.load_structure reads them)."""
    from competition.demo import loader

    def write(name: str, rows: list[dict[str, str]], header: list[str] | None = None) -> None:
        import csv

        with (directory / name).open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=header or list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    competition = loader.read("competition.csv")[0]
    write("competition.csv", [{**competition, "name": competition["name"] + "（负载测试）"}])
    trades = [r for r in loader.read("trades.csv") if r["code"] in REGISTRATION_TRADES]
    for row in trades:
        # The loader writes an int; the unlimited one is made so after.
        row["quota_per_delegation"] = str(REGISTRATION_TRADES[row["code"]] or 1)
    write("trades.csv", trades)
    industries = {t["industry_code"] for t in trades}
    write("industries.csv", [r for r in loader.read("industries.csv") if r["code"] in industries])
    write("delegations.csv", loader.read("delegations.csv")[:REGISTRATION_DELEGATIONS])
    write("venues.csv", loader.read("venues.csv")[:1])
    sessions = loader.read("sessions.csv")
    write("sessions.csv", [], list(sessions[0]))


SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国明华军平志强海英秀兰永红春梅伟丽娟文斌玉"


def _name(n: int) -> str:
    """A name as on an ID card (Chinese characters only), a different one for each n < 8,000."""
    return SURNAMES[n % 20] + GIVEN[(n // 20) % 20] + GIVEN[(n // 400) % 20]


async def _build_registration(contestants: int, directory: Path) -> dict[str, Any]:
    from competition import accounts, db, services
    from competition.demo.loader import DEMO_ACTOR, load_structure
    from competition.phases import Phase
    from competition.tables import Delegation, Role, Trade
    from registration import idcard

    _registration_structure(directory)
    cid, _changes = await load_structure(directory, code=REGISTRATION_CODE, reason="load test")
    await services.advance_phase(cid, Phase.registration, DEMO_ACTOR, reason="load test")
    trades = {
        r["code"]: r["id"]
        for r in await Trade.select(Trade.id, Trade.code).where(Trade.competition == cid)
    }
    delegations = await (
        Delegation.select(Delegation.id, Delegation.code)
        .where(Delegation.competition == cid)
        .order_by(Delegation.sort_order)
    )
    caps: dict[str, int | None] = {}
    async with db.transaction():
        for code, cap in REGISTRATION_TRADES.items():
            if cap is None:
                await db.fetch_rows(
                    "UPDATE quota SET max_entries = NULL WHERE trade = ?", trades[code]
                )
        missing_delegation = delegations[NO_QUOTA[0]]["id"]
        await db.fetch_rows(
            "DELETE FROM quota WHERE delegation = ? AND trade = ?",
            missing_delegation,
            trades[NO_QUOTA[1]],
        )
    for index, d in enumerate(delegations):
        for code, cap in REGISTRATION_TRADES.items():
            caps[f"{d['id']},{trades[code]}"] = 0 if (index, code) == NO_QUOTA else cap
    reviewers: dict[str, list[str]] = {}
    for d in delegations:
        grant = await accounts.resolve_grant(
            Role.delegation_admin, competition_code=REGISTRATION_CODE, delegation_code=d["code"]
        )
        user = await accounts.create_user(
            f"load-review-{d['code'].lower()}",
            f"初审 {d['code']}",
            secrets.token_urlsafe(16),
            actor=DEMO_ACTOR,
            grants=[grant],
        )
        reviewers[str(d["id"])] = [
            await accounts.start_session(user) for _ in range(REVIEWERS_PER_DELEGATION)
        ]
    codes = list(REGISTRATION_TRADES)
    run = secrets.randbelow(10_000)
    people = []
    for i in range(contestants):
        code = codes[i % len(codes)]
        # Two of each trade from a delegation, then the next: a quota of 1 is too small.
        delegation = delegations[(i // (2 * len(codes))) % len(delegations)]["id"]
        birth = dt.date(1990, 1, 1) + dt.timedelta(days=i)
        people.append(
            {
                "n": i,
                "mobile": f"13{run:04d}{i:05d}",
                "name": _name(i),
                "password": f"load-{secrets.token_hex(6)}",
                "id_number": idcard.compose("630104", birth, 100 + 2 * (i % 400) + 1),
                "trade": trades[code],
                "second_trade": trades[codes[(i + 1) % len(codes)]],
                "delegation": delegation,
                "double_tap": i % DOUBLE_TAP_EVERY == 3,
                "second": i % SECOND_TRADE_EVERY == 7,
            }
        )
    return {
        "competition": cid,
        "caps": caps,
        "reviewers": reviewers,
        "contestants": people,
    }


async def _build(plan_path: Path, entries: int, contestants: int, desks: int) -> None:
    from competition import accounts, db
    from competition.tables import User

    work = plan_path.parent
    desks_path = work / f"{plan_path.stem}.checkin.json"
    judges_path = work / f"{plan_path.stem}.marks.json"
    started = time.perf_counter()
    await checkin._build(entries, desks_path, SEED)
    await marks._build(0.0, judges_path)
    await db.start_pool()
    try:
        built = json.loads(desks_path.read_text())
        # Each ticket at the theory exam of its trade: the practical doors closed when the
        # trades started competing (competition.stages.checkin_refusal).
        rows = await db.fetch_rows(
            "SELECT e.id, e.trade, s.id FROM entry e JOIN competition_session s "
            "ON s.trade = e.trade AND s.event = 'theory' WHERE e.competition = ?",
            built["competition_id"],
        )
        door = {entry: (trade, session) for entry, trade, session in rows}
        tickets = [
            [entry, door[entry][1], token, door[entry][0]]
            for entry, _seat, token in built["tickets"]
            if entry in door
        ]
        with tempfile.TemporaryDirectory(prefix="jx-load-structure-") as tmp:
            registration = await _build_registration(contestants, Path(tmp))
        organizer = await User.select(User.id).where(User.username == checkin.DESK_USER).first()
        desk_sessions = [await accounts.start_session(organizer["id"]) for _ in range(desks)]
        marks_before = (await db.fetch_rows("SELECT count(*) FROM mark"))[0][0]
        changes_before = (await db.fetch_rows("SELECT count(*) FROM mark_change"))[0][0]
    finally:
        await db.close_pool()
    desks_path.unlink()
    plan = {
        "competition": built["competition_id"],
        "desk_sessions": desk_sessions,
        "judges_plan": str(judges_path),
        "tickets": tickets,
        "registration": registration,
        "marks_before": marks_before,
        "changes_before": changes_before,
    }
    plan_path.write_text(json.dumps(plan))
    _log(
        f"built: {len(tickets):,} tickets, 306 judges' live sheets, a registration competition "
        f"of {len(registration['caps'])} delegation × trade pairs and {contestants} "
        f"contestants, in {time.perf_counter() - started:.1f} s"
    )


# ---------------------------------------------------------------- child: the exact check


async def _check(plan_path: Path, ledger_path: Path, out: Path) -> None:
    from competition import db

    plan = json.loads(plan_path.read_text())
    ledger = json.loads(ledger_path.read_text())
    judges_out = out.with_suffix(".marks.json")
    judges_ledger = out.with_suffix(".marks-ledger.json")
    judges_ledger.write_text(json.dumps(ledger["judges"]))
    await marks._check(Path(plan["judges_plan"]), judges_ledger, judges_out)
    result: dict[str, Any] = {"judges": json.loads(judges_out.read_text())}
    problems = [f"marks: {p}" for p in result["judges"]["problems"]]
    registration = plan["registration"]
    await db.start_pool()
    try:
        sessions = sorted({t[1] for t in plan["tickets"]})
        rows = await db.fetch_rows(
            "SELECT c.entry, c.session, c.nonce FROM check_in c "
            "JOIN competition_session s ON s.id = c.session "
            "JOIN trade t ON t.id = s.trade WHERE t.competition = ?",
            plan["competition"],
        )
        mobiles = [c["mobile"] for c in registration["contestants"]] or ["-"]
        users = await db.fetch_rows(
            "SELECT username FROM app_user WHERE username IN ({})".format(  # noqa: S608
                ",".join("?" * len(mobiles))
            ),
            *mobiles,
        )
        entries = await db.fetch_rows(
            "SELECT e.id, p.id_number, e.trade, e.delegation, e.status FROM entry e "
            "JOIN person p ON p.id = e.person WHERE e.competition = ?",
            registration["competition"],
        )
    finally:
        await db.close_pool()

    # Check-ins: exactly the scans answered "checked in", with their nonce, once each.
    desks = ledger["desks"]
    answered = {(e, s): n for e, s, n in desks["checked_in"]}
    stored = Counter((e, s) for e, s, _n in rows)
    doubled = [k for k, n in stored.items() if n > 1]
    if doubled:
        problems.append(f"check-in: {len(doubled)} contestants checked in twice to a session")
    if set(stored) != set(answered):
        problems.append(
            f"check-in: {len(set(stored) - set(answered))} rows no answer checked in, "
            f"{len(set(answered) - set(stored))} answered checked in without a row"
        )
    wrong_nonce = [r for r in rows if answered.get((r[0], r[1]), r[2]) != r[2]]
    if wrong_nonce:
        problems.append(f"check-in: {len(wrong_nonce)} rows hold another scan's nonce")
    outside = [r for r in rows if r[1] not in sessions]
    if outside:
        problems.append(f"check-in: {len(outside)} rows at sessions no desk scanned")
    result["desks"] = {"check_in_rows": len(rows), "answered_checked_in": len(answered)}

    # Registrations: one account per sign-up, one entry per registration, quotas kept.
    signed_up = set(ledger["contestants"]["signed_up"])
    lost = {
        registration["contestants"][n]["id_number"] for n in ledger["contestants"]["unanswered"]
    }
    lost_mobiles = {
        registration["contestants"][n]["mobile"] for n in ledger["contestants"]["unanswered"]
    }
    found_users = {u[0] for u in users}
    if not signed_up <= found_users <= signed_up | lost_mobiles:
        problems.append(
            f"sign-up: {len(found_users - signed_up)} accounts nobody was answered, "
            f"{len(signed_up - found_users)} answered without an account"
        )
    by_number = {c["id_number"]: c for c in registration["contestants"]}
    registered = {int(k): v for k, v in ledger["contestants"]["registered"].items()}
    per_person = Counter(e[1] for e in entries)
    if any(n > 1 for n in per_person.values()):
        problems.append(
            f"registration: {sum(n > 1 for n in per_person.values())} people entered twice"
        )
    found_entries = {e[0]: e for e in entries if e[0] in registered or e[1] not in lost}
    if set(found_entries) != set(registered):
        problems.append(
            f"registration: {len(set(found_entries) - set(registered))} entries no answer "
            f"registered, {len(set(registered) - set(found_entries))} answered without an entry"
        )
    for entry_id, n in registered.items():
        row = found_entries.get(entry_id)
        person = registration["contestants"][n]
        if row is not None and (row[1], row[2], row[3]) != (
            person["id_number"],
            person["trade"],
            person["delegation"],
        ):
            problems.append(f"registration: entry {entry_id} is not the one contestant {n} sent")
    strangers = [e for e in entries if e[1] not in by_number]
    if strangers:
        problems.append(f"registration: {len(strangers)} entries of people nobody registered")
    passed = Counter()
    submitted = Counter()
    for _id, _number, trade, delegation, status in entries:
        key = f"{delegation},{trade}"
        submitted[key] += 1
        if status in ("delegation_approved", "approved"):
            passed[key] += 1
        elif status != "submitted":
            problems.append(f"registration: an entry in status {status}")
    answered_passed = Counter(ledger["reviews"]["passed"])
    reviewed = Counter(ledger["reviews"]["reviewed"])
    pairs = []
    for key, cap in registration["caps"].items():
        if passed[key] != answered_passed[key]:
            problems.append(
                f"quota {key}: {passed[key]} passed in the database, {answered_passed[key]} "
                "answered passed"
            )
        if cap is not None and passed[key] > cap:
            problems.append(f"quota {key}: {passed[key]} passed, the quota is {cap}")
        expected = submitted[key] if cap is None else min(cap, submitted[key])
        if reviewed[key] == submitted[key] and passed[key] != expected:
            problems.append(
                f"quota {key}: {passed[key]} passed of {submitted[key]} registered, the quota "
                f"{cap}: expected {expected}"
            )
        pairs.append({"pair": key, "cap": cap, "registered": submitted[key], "passed": passed[key]})
    result["registration"] = {
        "accounts": len(found_users),
        "entries": len(entries),
        "passed": sum(passed.values()),
        "pairs": pairs,
    }
    result["problems"] = problems
    out.write_text(json.dumps(result))


# ---------------------------------------------------------------- parent: the populations


class Tablet(Judge):
    """bench/marks.py's judge, whose second request is its first again (the answer was lost on
    the way: the tablet's queue sends it again with the same client id, answered "repeat");
    after that marks.py's mix."""

    def next(self) -> tuple[str, dict, tuple] | None:
        if self.sent == 1 and self.last is not None and not getattr(self, "resent", False):
            self.resent = True
            _kind, body, cell = self.last
            return "retry", body, cell
        return super().next()


class CountingClient(KeptAliveClient):
    """bench/checkin.py's lean kept-alive client, counting the status of every answer."""

    def __init__(self, base: str, headers: dict[str, str], statuses: Counter) -> None:
        super().__init__(base, headers)
        self.statuses = statuses

    async def _send(self, method: str, path: str, body: bytes = b""):
        answer = await super()._send(method, path, body)
        self.statuses[answer.status_code] += 1
        return answer


def _forged(token: str) -> str:
    """The ticket's text with one character of its signature changed."""
    tail = token[-3]
    return token[:-3] + ("A" if tail != "A" else "B") + token[-2:]


class Desks:
    """50 desks at their doors: what they were answered, for the check afterwards."""

    def __init__(self, plan: dict) -> None:
        self.by_token = {t[2]: t for t in plan["tickets"]}
        self.sessions_by_trade = {t[3]: t[1] for t in plan["tickets"]}
        # (entry, session, token): bench/checkin.py's Tickets and _choose keep the mix.
        self.tickets = Tickets([[t[0], t[1], t[2]] for t in plan["tickets"]])
        self.checked_in: list[list] = []
        self.statuses: Counter = Counter()
        self.answers: Counter = Counter()

    def wrong(self, rng: random.Random, forged: bool | None = None) -> tuple[str, dict, str] | None:
        ticket = self.tickets.fresh[-1] if self.tickets.fresh else None
        if ticket is None:
            return None
        _entry, session, token = ticket
        nonce = uuid.uuid4().hex
        if forged if forged is not None else rng.random() < 0.5:
            body = {"session_id": session, "token": _forged(token), "nonce": nonce}
            return "forged", body, "refused"
        trade = self.by_token[token][3]
        other = [s for t, s in self.sessions_by_trade.items() if t != trade]
        body = {"session_id": rng.choice(other), "token": token, "nonce": nonce}
        return "other trade", body, "refused"

    async def run(
        self, clients: list, samples: Samples, seconds: float, rate: float, seed: int
    ) -> None:
        started = time.perf_counter()
        stop_at = started + seconds

        async def desk(n: int, client) -> None:
            rng = random.Random(seed * 100 + n)
            last, scans = None, 0
            repeated = False
            due = started + (rng.expovariate(rate / len(clients)) if rate else 0.0)
            while True:
                if due >= stop_at or time.perf_counter() >= stop_at:
                    if last is None or repeated:
                        return
                    # Closing time: the desk's first contestant's repeat is still owed.
                    due = time.perf_counter()
                elif rate:
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                else:
                    due = time.perf_counter()
                if last is not None and not repeated:
                    # The desk's first contestant shows the ticket again: "already".
                    body = {**last, "nonce": uuid.uuid4().hex}
                    choice = "repeat", body, "already"
                    repeated = True
                elif (scans == 0 and n % 10 in (0, 5)) or rng.random() < WRONG_SHARE:
                    # One desk in five starts with a wrong ticket, the others meet them later.
                    choice = self.wrong(rng, forged=n % 10 == 0 if scans == 0 else None)
                else:
                    choice = checkin._choose(rng, self.tickets, last)
                if choice is None:
                    return
                scans += 1
                kind, body, expected = choice
                answer = await self._send(client, kind, body, samples, due)
                if answer is not None:
                    outcome = answer.get("outcome")
                    self.answers[f"{kind}: {outcome}"] += 1
                    if outcome != expected:
                        samples.error(f"{kind}: answered {outcome!r}, expected {expected!r}")
                    elif kind == "first":
                        entry = self.by_token[body["token"]][0]
                        self.checked_in.append([entry, body["session_id"], body["nonce"]])
                        self.tickets.done.append((entry, body["session_id"], body["token"]))
                        last = body
                if rate:
                    due += rng.expovariate(rate / len(clients))

        await asyncio.gather(*(desk(n, c) for n, c in enumerate(clients)))
        samples.seconds = time.perf_counter() - started

    async def _send(self, client, kind: str, body: dict, samples: Samples, due: float):
        """One scan until it is answered: the desk page keeps a scan whose answer was lost and
        sends it again with the same nonce."""
        if time.perf_counter() - getattr(client, "last_used", 0.0) > marks.KEEP_ALIVE_S:
            await marks._reconnect(client)
        for attempt in range(ATTEMPTS):
            try:
                response = await asyncio.wait_for(
                    client.post("/api/checkin", json=body), REQUEST_TIMEOUT_S
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                samples.error(f"{type(exc).__name__} on attempt {attempt + 1}")
                await marks._reconnect(client)
                continue
            client.last_used = time.perf_counter()
            self.statuses[response.status_code] += 1
            if attempt == 0:
                samples.add(kind, (client.last_used - due) * 1000)
            if response.status_code != 200:
                samples.error(f"{kind}: HTTP {response.status_code}: {response.body[:200]!r}")
                return None
            return response.json()
        samples.error("a scan without an answer after all attempts")
        return None


def _photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (150, 120, 100)).save(buffer, format="JPEG")
    return buffer.getvalue()


ENTRY_ID = re.compile(r"[?&]entry=(\d+)")
FIELD_ERROR = re.compile(r'class="(?:field-error|notice error)"[^>]*>([^<]+)<')


class Contestants:
    """100 people registering at once, and their delegations' first review."""

    def __init__(self, plan: dict, base: str) -> None:
        self.base = base
        self.registration = plan["registration"]
        self.cid = self.registration["competition"]
        self.photo = _photo()
        self.statuses: Counter = Counter()
        self.signed_up: list[str] = []
        self.unanswered: list[int] = []  # contestants a sign-up or registration went unanswered
        self.registered: dict[int, int] = {}  # entry id → contestant
        self.refused: Counter = Counter()
        self.passed: Counter = Counter()  # "delegation,trade" → answered passed
        self.reviewed: Counter = Counter()
        self.queues: dict[int, asyncio.Queue] = {}

    def _browser(self, person: dict, **headers: str):
        import httpx

        return httpx.AsyncClient(
            base_url=self.base,
            timeout=REQUEST_TIMEOUT_S,
            # Each contestant from an address of its own, through the trusted proxy.
            headers={
                "origin": self.base,
                "x-forwarded-for": f"10.{16 + person['n'] // 250}.{person['n'] % 250}.9",
                **headers,
            },
        )

    async def _request(
        self, samples: Samples, step: str, call, expected: tuple[int, ...], person=None
    ):
        started = time.perf_counter()
        try:
            response = await call
        except Exception as exc:  # a transport failure: counted, the contestant stops
            samples.error(f"{step}: {type(exc).__name__}: {exc}"[:200])
            if person is not None:
                # No answer: the server may or may not have done it (the check allows both).
                self.unanswered.append(person["n"])
            return None
        samples.add(step, (time.perf_counter() - started) * 1000)
        self.statuses[response.status_code] += 1
        if response.status_code not in expected:
            # What the page said was wrong (its field messages), to say why.
            said = FIELD_ERROR.findall(response.text)[:2] or [response.text[:120]]
            samples.error(f"{step}: HTTP {response.status_code}, expected {expected}: {said}")
            return None
        return response

    def _entry_form(self, person: dict, trade: int) -> dict[str, str]:
        return {
            "name": person["name"],
            "id_number": person["id_number"],
            "phone": person["mobile"],
            "employer": "负载测试有限公司",
            "job": "钳工",
            "skill_level": "2",
            "years_of_service": "10",
            "delegation_id": str(person["delegation"]),
            "trade_id": str(trade),
            "group_name": "",
        }

    async def contestant(self, person: dict, samples: Samples) -> None:
        async with self._browser(person) as phone:
            if not await self._request(samples, "sign-up page", phone.get("/signup"), (200,)):
                return
            form = {
                "mobile": person["mobile"],
                "name": person["name"],
                "password": person["password"],
                "password_confirmation": person["password"],
                "_csrf_token": phone.cookies["csrftoken"],
            }
            answer = await self._request(
                samples, "sign-up", phone.post("/signup", data=form), (303,), person
            )
            if answer is None:
                return
            self.signed_up.append(person["mobile"])
        async with self._browser(person) as browser:
            if not await self._request(samples, "sign-in page", browser.get("/login"), (200,)):
                return
            csrf = browser.cookies["csrftoken"]
            form = {"username": person["mobile"], "password": person["password"]}
            answer = await self._request(
                samples, "sign-in", browser.post("/login", data={**form, "_csrf_token": csrf}),
                (303,),
            )  # fmt: skip
            if answer is None:
                return
            new = f"/me/entries/new?competition={self.cid}"
            if not await self._request(samples, "registration form", browser.get(new), (200,)):
                return
            data = {**self._entry_form(person, person["trade"]), "_csrf_token": csrf}
            files = {"photo": ("photo.jpg", self.photo, "image/jpeg")}
            if person["double_tap"]:
                # The same form sent twice at once (a double tap, two connections).
                answers = await asyncio.gather(
                    *(
                        self._request(
                            samples,
                            "registration (double tap)",
                            browser.post(new, data=data, files=files),
                            (303, REFUSED),
                            person,
                        )
                        for _ in range(2)
                    )
                )
                codes = sorted(a.status_code for a in answers if a is not None)
                if len(codes) == 2 and codes != [303, REFUSED]:
                    samples.error(f"double tap answered {codes}, expected one 303 and one 409")
                done = [a for a in answers if a is not None and a.status_code == 303]
                self.refused["double tap"] += sum(c == REFUSED for c in codes)
            else:
                answer = await self._request(
                    samples,
                    "registration",
                    browser.post(new, data=data, files=files),
                    (303,),
                    person,
                )
                done = [answer] if answer is not None else []
            for answer in done:
                found = ENTRY_ID.search(answer.headers.get("location", ""))
                if found is None:
                    samples.error(f"registration sent to {answer.headers.get('location')!r}")
                    continue
                entry_id = int(found.group(1))
                self.registered[entry_id] = person["n"]
                await self.queues[person["delegation"]].put(
                    (entry_id, f"{person['delegation']},{person['trade']}")
                )
            if person["second"] and done:
                other = {**self._entry_form(person, person["second_trade"]), "_csrf_token": csrf}
                answer = await self._request(
                    samples, "second trade (refused)",
                    browser.post(new, data=other, files=files), (REFUSED,),
                )  # fmt: skip
                if answer is not None:
                    self.refused["second trade"] += 1
            await self._request(samples, "my entries", browser.get("/me/entries"), (200,))

    async def reviewer(self, token: str, delegation: int, csrf: str, samples: Samples) -> None:
        import httpx

        headers = {
            "origin": self.base,
            "cookie": f"jx_session={token}; csrftoken={csrf}",
        }
        async with httpx.AsyncClient(
            base_url=self.base, timeout=REQUEST_TIMEOUT_S, headers=headers
        ) as browser:
            while (item := await self.queues[delegation].get()) is not None:
                entry_id, pair = item
                answer = await self._request(
                    samples,
                    "first review",
                    browser.post(
                        f"/delegation/entries/{entry_id}/review",
                        data={"action": "approve", "reason": "", "_csrf_token": csrf},
                    ),
                    (303, REFUSED),
                )
                if answer is None:
                    continue
                self.reviewed[pair] += 1
                if answer.status_code == 303:
                    self.passed[pair] += 1
                else:
                    self.refused["quota"] += 1

    async def run(self, samples: Samples, reviews: Samples, csrf: str) -> None:
        reviewers = self.registration["reviewers"]
        self.queues = {int(d): asyncio.Queue() for d in reviewers}
        review_tasks = [
            asyncio.create_task(self.reviewer(token, int(d), csrf, reviews))
            for d, tokens in reviewers.items()
            for token in tokens
        ]
        started = time.perf_counter()
        await asyncio.gather(
            *(self.contestant(p, samples) for p in self.registration["contestants"])
        )
        samples.seconds = time.perf_counter() - started
        for d, tokens in reviewers.items():
            for _ in tokens:
                await self.queues[int(d)].put(None)
        await asyncio.gather(*review_tasks)
        reviews.seconds = time.perf_counter() - started


async def _drive(plan: dict, base: str, server_pid: int, database: str | None, args) -> dict:
    judges_plan = json.loads(Path(plan["judges_plan"]).read_text())
    specs = judges_plan["judges"][: args.judges]
    if len(specs) < args.judges:
        raise RuntimeError(f"the data has {len(specs)} judges")
    csrf = (await marks._csrf_headers(base))["csrftoken"]
    judge_statuses: Counter = Counter()
    ledger = Ledger()
    judges = [Tablet(spec, n, ledger) for n, spec in enumerate(specs)]
    judge_clients = [
        CountingClient(
            base,
            {
                "origin": base,
                "cookie": f"jx_session={spec['token']}; csrftoken={csrf}",
                "x-csrftoken": csrf,
            },
            judge_statuses,
        )
        for spec in specs
    ]
    driver = Driver("/api/judge/marks", judges, judge_clients, server_pid, database)
    desks = Desks(plan)
    # Each desk signed in as the demo organizer (a session of its own, made by the build as a
    # sign-in leaves it: 50 sign-ins of one account at once would trip the sign-in throttle,
    # one after the other take seconds of argon2).
    desk_clients = [
        KeptAliveClient(
            base,
            {
                "origin": base,
                "cookie": f"jx_session={token}; csrftoken={csrf}",
                "x-csrftoken": csrf,
            },
        )
        for token in plan["desk_sessions"][: args.desks]
    ]
    contestants = Contestants(plan, base)
    # Every judge's and desk's connection opened and signed-in session read once (GET /api/me,
    # not measured), so that the run measures the hall at work rather than the servers' pools
    # filling: a server is started before the doors open.
    warm = time.perf_counter()
    gate = asyncio.Semaphore(WARM_UP_AT_ONCE)

    async def warm_up(client) -> None:
        async with gate:
            answer = await client.get("/api/me")
            client.last_used = time.perf_counter()
            if answer.status_code != 200:
                raise RuntimeError(f"GET /api/me answered {answer.status_code}: not signed in")

    await asyncio.gather(*(warm_up(c) for c in judge_clients + desk_clients))
    judge_statuses.clear()
    _log(f"{len(judge_clients) + len(desk_clients)} connections opened in "
         f"{time.perf_counter() - warm:.1f} s")  # fmt: skip
    mode = "paced" if args.mark_rate else "closed"
    scans = Samples(f"desks: {args.desks} scanning", "paced" if args.scan_rate else "closed")
    people = Samples(f"contestants: {len(contestants.registration['contestants'])}", "closed")
    reviews = Samples("first review: 2 a delegation", "closed")
    _log(f"load average {os.getloadavg()[0]:.1f}; everyone starts now, for {args.seconds:g} s")
    try:
        marked, _, _ = await asyncio.wait_for(
            asyncio.gather(
                driver.run(
                    mode, f"judges: {args.judges} marking", args.seconds, rate=args.mark_rate
                ),
                desks.run(desk_clients, scans, args.seconds, args.scan_rate, SEED),
                contestants.run(people, reviews, csrf),
            ),
            args.seconds + 300,
        )
    finally:
        for client in judge_clients + desk_clients:
            await client.aclose()
    return {
        "samples": {"judges": marked, "desks": scans, "contestants": people, "reviews": reviews},
        "statuses": {
            "judges": judge_statuses,
            "desks": desks.statuses,
            "contestants": contestants.statuses,
        },
        "ledger": {
            "judges": {
                "judges": args.judges,
                "cells": ledger.cells,
                "applied": sorted(ledger.applied),
                "saved_answers": ledger.saved_answers,
                "repeat_answers": ledger.repeat_answers,
                "marks_before": plan["marks_before"],
                "changes_before": plan["changes_before"],
            },
            "desks": {"checked_in": desks.checked_in, "answers": dict(desks.answers)},
            "contestants": {
                "signed_up": contestants.signed_up,
                "unanswered": contestants.unanswered,
                "registered": contestants.registered,
                "refused": dict(contestants.refused),
            },
            "reviews": {"passed": dict(contestants.passed), "reviewed": dict(contestants.reviewed)},
        },
        "load_average": os.getloadavg()[0],
    }


# ---------------------------------------------------------------- parent: one database


def _child(mode: list[str], env: dict[str, str]) -> bool:
    command = [sys.executable, __file__, *mode]
    return subprocess.run(command, env=env, check=False).returncode == 0  # noqa: S603


def _row(samples: Samples, statuses: Counter | None) -> dict[str, Any]:
    f = samples.figures()
    codes = " ".join(f"{code}:{n}" for code, n in sorted((statuses or {}).items()))
    if f["n"]:
        print(
            f"  {samples.label:<30}{f['n']:>9,}{f['rate']:>8.1f}{f['median_ms']:>8.1f}ms"
            f"{f['p99_ms']:>8.1f}ms{f['max_ms']:>8.0f}ms{f['errors']:>7}  {codes}",
            flush=True,
        )
    else:
        print(f"  {samples.label:<30} (no requests)  errors {f['errors']}")
    for message in samples.messages:
        print(f"      !! {message}")
    f["statuses"] = {str(k): v for k, v in sorted((statuses or {}).items())}
    return f


def _server_errors(log: Path) -> list[str]:
    """The exception of each traceback in the server's log (and any 500 it logged)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found, inside = [], False
    for line in lines:
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line.startswith((" ", "During handling", "The above")):
            found.append(line[:300])
            inside = False
        elif " 500 " in line:
            found.append(line[:300])
    return found


def _measure_database(label: str, url: str, work: Path, args) -> dict:
    engine = "postgresql" if url.startswith("postgres") else "sqlite"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO_ROOT),
        "JIANGXIN_SECRET": args.secret,
        "JIANGXIN_COOKIE_SECURE": "0",
        # The contestants come through "the proxy" on this machine, each with its address.
        "JIANGXIN_TRUSTED_PROXIES": "127.0.0.1",
    }
    print(f"\n{label}", flush=True)
    plan_path = work / "plan.json"
    clock = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    build = ["--build", str(plan_path), "--entries", str(args.entries), "--desks", str(args.desks)]
    if not _child([*build, "--contestants", str(args.contestants)], env):
        raise RuntimeError("the build failed")
    plan = json.loads(plan_path.read_text())
    lap("build")
    port = checkin._free_port()
    log = work / "server.log"
    command = [*SERVE, "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    server = checkin._start(command, env, port, log)
    lap("server start")
    database = urlparse(url).path.lstrip("/") if engine == "postgresql" else None
    try:
        run = asyncio.run(_drive(plan, f"http://127.0.0.1:{port}", server.pid, database, args))
    finally:
        checkin._stop(server)
    lap("load and stop")
    ledger_path = work / "ledger.json"
    ledger_path.write_text(json.dumps(run["ledger"]))
    check_path = work / "check.json"
    if not _child(
        ["--check", str(plan_path), "--ledger", str(ledger_path), "--out", str(check_path)], env
    ):
        raise RuntimeError("the check failed to run")
    check = json.loads(check_path.read_text())
    lap("check")
    print("  times: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()), flush=True)
    samples, statuses = run["samples"], run["statuses"]
    print(
        f"  {'population':<30}{'requests':>9}{'req/s':>8}{'median':>10}{'p99':>10}{'max':>10}"
        f"{'errors':>7}  statuses",
        flush=True,
    )
    populations = {
        "judges": _row(samples["judges"], statuses["judges"]),
        "desks": _row(samples["desks"], statuses["desks"]),
        "contestants": _row(samples["contestants"], None),
        "reviews": _row(samples["reviews"], None),
    }
    populations["contestants"]["statuses"] = {
        str(k): v for k, v in sorted(statuses["contestants"].items())
    }
    print(f"  {'':<30}contestants and reviews: {dict(sorted(statuses['contestants'].items()))}")
    for step, values in samples["contestants"].by_kind.items():
        ordered = sorted(values)
        print(
            f"    {step:<28}{len(values):>9,}{'':>8}{ordered[len(ordered) // 2]:>8.1f}ms"
            f"{marks._percentile(ordered, 0.99):>8.1f}ms{ordered[-1]:>8.0f}ms"
        )
    judged = samples["judges"]
    cpu = judged.figures()["cpu_ms_per_request"]
    print(
        f"  CPU during the run: server {judged.server_cpu:.1f} s, PostgreSQL {judged.db_cpu:.1f} s,"
        f" this client {judged.client_cpu:.1f} s (of {judged.seconds:.1f} s × 2 cores); load "
        f"average {run['load_average']:.1f}"
    )
    five_xx = {
        name: sum(n for code, n in counts.items() if code >= 500)
        for name, counts in statuses.items()
    }
    server_errors = _server_errors(log)
    if server_errors:
        kept = WORK_DIR / f"server-{engine}.log"
        kept.write_bytes(log.read_bytes())
        print(f"  the server's log, with its tracebacks: {kept}")
    problems = list(check["problems"])
    if any(five_xx.values()):
        problems.append(f"5xx answers: {five_xx}")
    if server_errors:
        problems.append(f"the server logged errors: {server_errors[:3]}")
    judges_check, desks_check, reg = check["judges"], check["desks"], check["registration"]
    ledger = run["ledger"]
    print(
        f"  check ({'exact' if not problems else 'WRONG'}): marks {judges_check['live_marks']:,} "
        f"live = the cells answered saved, {judges_check['trail_rows']:,} trail rows = client ids "
        f"applied ({judges_check['repeat_answers']:,} repeats); check-ins "
        f"{desks_check['check_in_rows']:,} rows = scans answered checked in "
        f"({sum(v for k, v in ledger['desks']['answers'].items() if k.startswith('repeat'))} "
        f"repeats, {sum(v for k, v in ledger['desks']['answers'].items() if 'refused' in k)} "
        f"refused); {reg['accounts']} accounts, {reg['entries']} entries, {reg['passed']} passed "
        f"first review, refused {ledger['contestants']['refused']}",
        flush=True,
    )
    for pair in reg["pairs"]:
        if pair["cap"] is not None and pair["registered"] > pair["cap"]:
            print(
                f"    quota {pair['cap']}: {pair['registered']} registered, {pair['passed']} "
                f"passed ({pair['pair']})"
            )
    for problem in problems:
        print(f"    !! {problem}")
    return {
        "database": label,
        "engine": engine,
        "workers": args.workers,
        "seconds": args.seconds,
        "mark_rate": args.mark_rate,
        "scan_rate": args.scan_rate,
        "populations": populations,
        "by_step": {
            step: {
                "n": len(v),
                "median_ms": sorted(v)[len(v) // 2],
                "p99_ms": marks._percentile(sorted(v), 0.99),
            }
            for step, v in samples["contestants"].by_kind.items()
        },
        "cpu_seconds": {
            "server": judged.server_cpu,
            "postgres": judged.db_cpu,
            "client": judged.client_cpu,
            "per_mark_ms": cpu,
        },
        "five_xx": five_xx,
        "server_errors": server_errors,
        "check": check,
        "answers": {
            "desks": ledger["desks"]["answers"],
            "refused": ledger["contestants"]["refused"],
            "marks_saved": ledger["judges"]["saved_answers"],
            "marks_repeat": ledger["judges"]["repeat_answers"],
            "cells_saved": len(ledger["judges"]["cells"]),
            "client_ids_applied": len(ledger["judges"]["applied"]),
            "checked_in": len(ledger["desks"]["checked_in"]),
            "registered": len(ledger["contestants"]["registered"]),
            "signed_up": len(ledger["contestants"]["signed_up"]),
            "passed": ledger["reviews"]["passed"],
        },
        "registration": {
            "competition": plan["registration"]["competition"],
            "caps": plan["registration"]["caps"],
        },
        "load_average": run["load_average"],
        "phase_seconds": phases,
        "problems": problems,
    }


def _write(result: dict, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    print(f"  result: {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--database", help="use this database as it is (the tests): sqlite:///… "
                        "or postgresql://…; with --out")  # fmt: skip
    parser.add_argument("--out", help="the JSON result (with --database)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--judges", type=int, default=300)
    parser.add_argument("--desks", type=int, default=50)
    parser.add_argument("--contestants", type=int, default=100)
    parser.add_argument("--mark-rate", type=float, default=150.0, help="marks/s in all; 0: "
                        "back to back")  # fmt: skip
    parser.add_argument("--scan-rate", type=float, default=50.0, help="scans/s in all; 0: "
                        "back to back")  # fmt: skip
    parser.add_argument("--entries", type=int, default=20_000, help="approved, with tickets")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        asyncio.run(_build(Path(args.build), args.entries, args.contestants, args.desks))
        return 0
    if args.check:
        asyncio.run(_check(Path(args.check), Path(args.ledger), Path(args.out)))
        return 0
    if args.judges > 306:
        parser.error("at most 306 judges (3 for each of the demo's 102 trades)")
    if args.database and not args.out:
        parser.error("--database needs --out")
    args.secret = secrets.token_urlsafe(48)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(
        f"Load: {args.judges} judges ({args.mark_rate:g} marks/s), {args.desks} desks "
        f"({args.scan_rate:g} scans/s), {args.contestants} contestants at once; "
        f"--workers {args.workers}, {args.seconds:g} s; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = []
    if args.database:
        with tempfile.TemporaryDirectory(prefix="jx-load-", dir=WORK_DIR) as tmp:
            result = _measure_database(
                args.database.split("://")[0], args.database, Path(tmp), args
            )
        _write(result, Path(args.out))
        results.append(result)
    if not args.database and not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="jx-load-", dir=WORK_DIR) as tmp:
            result = _measure_database("SQLite", f"sqlite:///{tmp}/load.sqlite3", Path(tmp), args)
        _write(result, RESULTS / "load-sqlite.json")
        results.append(result)
    if not args.database and args.postgres:
        name = f"jx_load_bench_{os.getpid()}"
        parsed = urlparse(args.postgres)
        asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
        try:
            with tempfile.TemporaryDirectory(prefix="jx-load-", dir=WORK_DIR) as tmp:
                result = _measure_database(
                    f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432})",
                    urlunparse(parsed._replace(path=f"/{name}")),
                    Path(tmp),
                    args,
                )
        finally:
            asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
        _write(result, RESULTS / "load-postgresql.json")
        results.append(result)
    print(
        f"\ndone in {time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return 0 if results and all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
