"""Marks at scale: 300 judges saving marks at once over HTTP, against ~6 million marks.

    .venv/bin/python bench/marks.py --postgres URL [--scale 1.0] [--workers 2,4]
        [--seconds 10] [--rounds 2] [--paced 50,100,200] [--bursts 10] [--sqlite]
        [--keep | --reuse DBNAME] [--py-spy BIN]

For each database (with --postgres a scratch database on that server, dropped afterwards unless
--keep; with --sqlite also a SQLite file under /tmp/i13/marks/) the script

1. builds the data in a child process (seed 13; its time is not the figure): migrations, the
   demo structure (102 trades), then in bulk (COPY / executemany) a bench venue of 100 stations,
   200,000 × scale contestants (person, approved entry, draw slot) in finished sessions of 100,
   a current scheme per trade of 12 aspects (9 Judgement, 3 Measurement), 3 judges a trade with
   accounts, a signed sheet per judge and finished session and its marks — 3 Judgement marks
   and one agreed Measurement value a cell, 30 a contestant: ~6 million at scale 1 — each with
   its trail row (mark_change) and a random client id, as tablets leave them; then one live
   session of 100 contestants a trade, with an open sheet per judge and no mark yet. Every trade
   competes. The 300 judges (3 for each of the first 100 trades) get a role grant and a session
   (UserSession rows written directly, as a sign-in leaves them);
2. starts the real server, `jiangxin serve --workers N` on 127.0.0.1, and drives it from this
   process with 300 clients, one a judge, each with one kept-alive connection, its session
   cookie and the CSRF token, putting marks on its live sheet (`POST /api/judge/marks`): 85 % a
   cell not yet marked (base_version 0), 10 % a change of one of its own marks (the version its
   answer gave), 5 % the judge's last request again (same client id: a retry, answered
   "repeat"). Each judge marks its 900 Judgement cells and one Measurement aspect's 100 cells
   (the three judges of a session share the panel's three). Every answer is checked;
3. measures, in rounds alternating with the real server so that load from elsewhere hits both,
   the ceiling: a bare Litestar endpoint doing one committed INSERT on the same database
   (bench/marks_ceiling.py), served by the same serving code with the same workers, driven by
   the same 300 clients with the same request bodies;
4. in three ways: **closed** (each judge sends its next mark as soon as the last is answered:
   throughput; the median is then ~300 ÷ throughput by Little's law), **paced** (each judge
   at a fixed share of a total rate, Poisson arrivals, latency counted from when the mark was
   due, so a queue is not hidden), and **burst** (all 300 at the same moment; the next burst
   once all are answered and half a second has passed);
5. checks the database exactly afterwards: the live marks are the cells answered "saved", each
   once, with the last value and version answered; the trail holds one row for each client id
   answered "saved" (or "repeat" after a lost answer) and none other; the marks outside the live
   sheets are untouched;
6. times one mark's statements in-process (no HTTP): the session lookup and put_mark, each SQL
   statement and the transaction's BEGIN/COMMIT, on a sheet of its own.

Printed: step, req/s, median, p99, max, errors, the ratio to the ceiling, and the CPU a request
costs the server's workers, PostgreSQL and this client (read from /proc). JSON under
bench/results/. Target (issue 13, "Scale"): on PostgreSQL with several workers, median save
≤ 20 ms, p99 ≤ 50 ms, next to the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.checkin import KeptAliveClient, _free_port, _start, _stop  # noqa: E402
from bench.support import admin  # noqa: E402

WORK_DIR = Path(tempfile.gettempdir()) / "i13" / "marks"
RESULTS = REPO_ROOT / "bench" / "results"
GOAL = "PostgreSQL, several workers: median save ≤ 20 ms, p99 ≤ 50 ms"
SEED = 13
STATIONS = 100
CONTESTANTS = 200_000
JUDGES_PER_TRADE = 3
JUDGEMENT_ASPECTS = 9  # and 3 Measurement: 12 aspects, 30 marks a contestant
LEVEL_WEIGHTS = (5, 20, 45, 30)  # how often judges give 0, 1, 2, 3
CHANGE_SHARE, RETRY_SHARE = 0.10, 0.05  # the rest: a cell not yet marked
REQUEST_TIMEOUT_S = 30
KEEP_ALIVE_S = 4.0  # a connection idle longer is opened again before the next request
SERVE = [sys.executable, "-m", "competition.cli", "serve"]
CEILING = [sys.executable, "-m", "bench.marks_ceiling"]
CLIENT_PREFIX = "mb-"  # the client ids this bench's HTTP clients send

PERSON_COLUMNS = [
    "id",
    "id_number",
    "name",
    "gender",
    "birth_date",
    "phone",
    "employer",
    "job",
    "skill_level",
    "years_of_service",
    "created_at",
    "updated_at",
]
ENTRY_COLUMNS = [
    "id",
    "competition",
    "trade",
    "person",
    "delegation",
    "group_name",
    "slot",
    "status",
    "source",
    "review_note",
    "rejected_by",
    "ticket_number",
    "ticket_version",
    "submitted_at",
    "reviewed_at",
    "created_at",
    "updated_at",
]
MARK_COLUMNS = [
    "id",
    "slot",
    "aspect",
    "judge",
    "sheet",
    "value_hundredths",
    "client_id",
    "version",
    "entered_at",
    "entered_by",
]
CHANGE_COLUMNS = [
    "mark",
    "trade",
    "client_id",
    "kind",
    "old_hundredths",
    "new_hundredths",
    "version",
    "actor_id",
    "actor_name",
    "at",
]


def _log(text: str) -> None:
    print(f"  {text}", flush=True)


# ---------------------------------------------------------------- child: build the data


async def _next_id(table: str) -> int:
    from competition import db

    rows = await db.fetch_rows(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
    return rows[0][0] + 1


async def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    from competition import db

    async with db.transaction():
        if db.is_postgres():
            # A scratch database whose rows the generator has just written: 12 million
            # foreign-key checks would take minutes. The measured statements keep theirs.
            connection = db.engine().current_transaction.get().connection
            await connection.execute("SET LOCAL session_replication_role = replica")
        await db.copy_records(table, columns, rows)


def _client_id(rng: random.Random) -> str:
    """A tablet's client id: random, so the unique index grows as it does in a hall."""
    return f"{rng.getrandbits(128):032x}"


# fmt: off
# (the generator's rows are kept one to a line, as the columns they fill)
async def _build(scale: float, out: Path) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from competition.accounts import SESSION_LIFETIME
    from competition.demo.loader import load_demo
    from competition.tables import Delegation, Trade

    await db.start_pool()
    try:
        result = await run_forwards("jiangxin")
        assert result.success, result.message
        await db.prepare_database()
        started = time.perf_counter()
        rng = random.Random(SEED)
        demo = await load_demo()
        cid = demo.competition_id
        trades = await Trade.select(Trade.id).where(Trade.competition == cid).order_by(Trade.id)
        delegations = [d["id"] for d in await Delegation.select(Delegation.id).where(
            Delegation.competition == cid)]
        now = dt.datetime.now(dt.UTC)
        total = max(len(trades), round(CONTESTANTS * scale))
        shares = [total // len(trades) + (1 if n < total % len(trades) else 0)
                  for n in range(len(trades))]
        tables = ("venue", "station", "competition_session", "person", "entry", "draw",
                  "draw_slot", "app_user", "judge", "marking_scheme", "criterion", "aspect",
                  "score_sheet", "mark", "mark_change", "role_grant", "user_session")
        next_id = {t: await _next_id(t) for t in tables}

        def take(table: str) -> int:
            value = next_id[table]
            next_id[table] += 1
            return value

        venue = take("venue")
        await _copy("venue", ["id", "competition", "code", "name", "address"],
                    [(venue, cid, "BENCH-M", "Marks bench hall", "")])
        stations = [take("station") for _ in range(STATIONS)]
        await _copy("station", ["id", "venue", "code", "label"],
                    [(s, venue, f"S{n:03d}", "") for n, s in enumerate(stations)])

        sessions, people, entries, draws, slots = [], [], [], [], []
        users, grants, user_sessions, judges = [], [], [], []
        schemes, criteria, aspects, sheets = [], [], [], []
        finished = []  # per trade: (trade, [(sheet, judge, user, slots)], judgement, measurement)
        live = []  # the judges of the live sessions, in trade order

        def add_session(tid: int, draw: int, count: int, code: str,
                        starts: dt.datetime) -> tuple[int, list[int]]:
            session = take("competition_session")
            sessions.append((session, tid, venue, code, f"Bench {code}", "practical", starts,
                             starts + dt.timedelta(hours=1)))
            members = []
            for e in range(count):
                entry, slot = take("entry"), take("draw_slot")
                people.append((entry, f"{entry:018d}", f"选手{entry:06d}", "male",
                               dt.date(1990, 1, 1), "", "", "", None, 0, now, now))
                entries.append((entry, cid, tid, entry, delegations[entry % len(delegations)],
                                "", 1, "approved", "import", "", "", f"MB-{entry:07d}", 1, now,
                                now, now, now))
                slots.append((slot, draw, tid, entry, session, stations[e % STATIONS],
                               f"{tid:03d}{slot:07d}", "", slot))
                members.append(slot)
            return session, members

        for n, (trade, share) in enumerate(zip(trades, shares, strict=True)):
            tid = trade["id"]
            panel = []
            for j in range(JUDGES_PER_TRADE):
                user, judge = take("app_user"), take("judge")
                users.append((user, f"bench-judge-{tid}-{j}", f"裁判{tid}-{j}", "!"))
                judges.append((judge, cid, user, f"裁判{tid}-{j}"))
                grants.append((take("role_grant"), user, "judge", cid, tid))
                panel.append((judge, user))
            scheme = take("marking_scheme")
            schemes.append((scheme, tid, 1, True, 10000, "form"))
            judgement, measurement = [], []
            for c in range(3):
                criterion = take("criterion")
                criteria.append((criterion, scheme, "ABC"[c], f"模块{c}", c))
                for a in range(4):
                    kind = "measurement" if a == 3 else "judgement"
                    maximum = rng.choice((500, 600, 800, 1000, 1200))
                    aspect = take("aspect")
                    aspects.append((aspect, scheme, criterion, f"{'ABC'[c]}{a + 1}",
                                    f"评分项 {c}.{a}", kind, maximum,
                                    JUDGES_PER_TRADE if kind == "judgement" else 1, False, "[]",
                                    "[]", c * 4 + a))
                    (judgement if kind == "judgement" else measurement).append((aspect, maximum))
            draw = take("draw")
            draws.append((draw, tid, f"{tid:032x}", "sha256-order-v1", False, "{}", "{}"))
            trade_sheets = []
            for s in range(-(-share // STATIONS)):
                count = min(STATIONS, share - s * STATIONS)
                starts = now - dt.timedelta(days=2, hours=s)
                session, members = add_session(tid, draw, count, f"MF{s:03d}", starts)
                for judge, user in panel:
                    sheet = take("score_sheet")
                    sheets.append((sheet, tid, session, judge, scheme, json.dumps(members),
                                   "signed", now))
                    trade_sheets.append((sheet, judge, user, members))
            finished.append((tid, trade_sheets, judgement, measurement))
            starts = now - dt.timedelta(minutes=30)
            session, members = add_session(tid, draw, STATIONS, "MLIVE", starts)
            for k, (judge, user) in enumerate(panel):
                sheet = take("score_sheet")
                sheets.append((sheet, tid, session, judge, scheme, json.dumps(members), "open",
                               None))
                # Each judge of the session enters one of the panel's Measurement values.
                cells = [(slot, a, "j", m) for slot in members for a, m in judgement]
                cells += [(slot, measurement[k][0], "m", measurement[k][1]) for slot in members]
                live.append({"trade": tid, "judge": judge, "user": user, "sheet": sheet,
                             "cells": cells, "n": n})

        tokens = [secrets.token_urlsafe(32) for _ in live]
        for judge, token in zip(live, tokens, strict=True):
            user_sessions.append((take("user_session"), judge["user"],
                                  hashlib.sha256(token.encode()).hexdigest(),
                                  now + SESSION_LIFETIME * 4))
        await _copy("app_user", ["id", "username", "display_name", "password_hash"], users)
        await _copy("role_grant", ["id", "user", "role", "competition", "trade"], grants)
        await _copy("user_session", ["id", "user", "token_hash", "expires_at"], user_sessions)
        await _copy("judge", ["id", "competition", "user", "name"], judges)
        await _copy("marking_scheme", ["id", "trade", "version", "is_current",
                                       "total_hundredths", "source"], schemes)
        await _copy("criterion", ["id", "scheme", "code", "name", "sort_order"], criteria)
        await _copy("aspect", ["id", "scheme", "criterion", "code", "description", "kind",
                               "max_hundredths", "judges_needed", "needs_verification",
                               "deductions", "descriptors", "sort_order"], aspects)
        await _copy("competition_session", ["id", "trade", "venue", "code", "name", "event",
                                            "starts_at", "ends_at"], sessions)
        await _copy("person", PERSON_COLUMNS, people)
        await _copy("entry", ENTRY_COLUMNS, entries)
        await _copy("draw", ["id", "trade", "seed", "algorithm", "second_layer", "inputs",
                             "summary"], draws)
        await _copy("draw_slot", ["id", "draw", "trade", "entry", "session", "station", "code",
                                  "judge_code", "position"], slots)
        await _copy("score_sheet", ["id", "trade", "session", "judge", "scheme", "slots",
                                    "status", "signed_at"], sheets)
        _log(f"built {len(slots):,} contestants in {len(trades)} trades, {len(sessions):,} "
             f"sessions, {len(sheets):,} sheets ({len(live)} open) in "
             f"{time.perf_counter() - started:.1f} s")

        marks_started = time.perf_counter()
        levels = [0, 100, 200, 300]
        marks = 0
        at = now - dt.timedelta(days=2)
        for tid, trade_sheets, judgement, measurement in finished:
            mark_rows, change_rows = [], []
            for index, (sheet, judge, user, members) in enumerate(trade_sheets):
                # The first judge of each session entered the panel's Measurement values.
                first = index % JUDGES_PER_TRADE == 0
                for slot in members:
                    values = rng.choices(levels, LEVEL_WEIGHTS, k=len(judgement))
                    cells = [(a, judge, v) for (a, _m), v in zip(judgement, values, strict=True)]
                    if first:
                        cells += [(a, None, rng.randrange(0, m + 1, 25)) for a, m in measurement]
                    for aspect, owner, value in cells:
                        mark, client = take("mark"), _client_id(rng)
                        mark_rows.append((mark, slot, aspect, owner, sheet, value, client, 1, at,
                                          user))
                        change_rows.append((mark, tid, client, "tablet", None, value, 1, user,
                                            f"bench-judge-{tid}", at))
            await _copy("mark", MARK_COLUMNS, mark_rows)
            await _copy("mark_change", CHANGE_COLUMNS, change_rows)
            marks += len(mark_rows)
        async with db.transaction():
            await db.fetch_rows("UPDATE trade SET stage = ? WHERE competition = ?", "competing",
                                cid)
        ceiling = ("CREATE TABLE bench_mark_ceiling (id {} PRIMARY KEY, client_id varchar(64) "
                   "NOT NULL UNIQUE, sheet integer, slot integer, aspect integer, value integer, "
                   "at timestamptz)")
        if db.is_postgres():
            connection = await db.engine().get_new_connection()
            try:
                for table in tables:
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                await connection.execute(ceiling.format("serial"))
                await connection.execute("VACUUM ANALYZE")
            finally:
                await connection.close()
        else:
            await db.engine().run_ddl(ceiling.format("integer"))
            await db.engine().run_ddl("ANALYZE")
        _log(f"built {marks:,} marks and their trail in "
             f"{time.perf_counter() - marks_started:.1f} s")
        plan = {"competition": cid, "scale": scale, "contestants": len(slots), "marks": marks,
                "judges": [{**j, "token": t} for j, t in zip(live, tokens, strict=True)]}
        out.write_text(json.dumps(plan))
    finally:
        await db.close_pool()
# fmt: on


# ---------------------------------------------------------------- child: reset and check


def _live_sheets(plan: dict, judges: int) -> list[int]:
    return [j["sheet"] for j in plan["judges"][:judges]]


async def _reset(plan_path: Path) -> None:
    """A kept database measured again: the live sheets' marks and trail rows go."""
    from competition import db

    plan = json.loads(plan_path.read_text())
    sheets = [j["sheet"] for j in plan["judges"]]
    marks = "SELECT id FROM mark WHERE sheet IN ({})".format(",".join("?" * len(sheets)))  # noqa: S608
    await db.start_pool()
    try:
        async with db.transaction():
            await db.fetch_rows(f"DELETE FROM mark_change WHERE mark IN ({marks})", *sheets)  # noqa: S608
            await db.fetch_rows(f"DELETE FROM mark WHERE id IN ({marks})", *sheets)  # noqa: S608
            await db.fetch_rows("DELETE FROM bench_mark_ceiling")
            await db.fetch_rows("DELETE FROM audit_log WHERE action = ?", "mark.refused")
    finally:
        await db.close_pool()


async def _check(plan_path: Path, ledger_path: Path, out: Path) -> None:
    """The database against what the clients were answered, exactly."""
    from competition import db

    plan = json.loads(plan_path.read_text())
    ledger = json.loads(ledger_path.read_text())
    sheets = _live_sheets(plan, ledger["judges"])
    placeholders = ",".join("?" * len(sheets))
    await db.start_pool()
    try:
        live = f"m.sheet IN ({placeholders})"
        rows = await db.fetch_rows(
            "SELECT m.slot, m.aspect, m.judge, m.value_hundredths, m.version, m.client_id "
            "FROM mark m WHERE " + live,
            *sheets,
        )
        trail = "SELECT c.client_id, c.version FROM mark_change c JOIN mark m ON m.id = c.mark"
        changes = await db.fetch_rows(f"{trail} WHERE {live}", *sheets)
        total_marks = (await db.fetch_rows("SELECT count(*) FROM mark"))[0][0]
        total_changes = (await db.fetch_rows("SELECT count(*) FROM mark_change"))[0][0]
        refused = (
            await db.fetch_rows("SELECT count(*) FROM audit_log WHERE action = ?", "mark.refused")
        )[0][0]
    finally:
        await db.close_pool()
    problems = []
    expected = {tuple(json.loads(k)): v for k, v in ledger["cells"].items()}
    stored: dict[tuple, list] = {}
    for slot, aspect, judge, value, version, client in rows:
        key = (slot, aspect, judge)
        if key in stored:
            problems.append(f"cell {key} stored twice")
        stored[key] = [value, version, client]
    missing = expected.keys() - stored.keys()
    extra = stored.keys() - expected.keys()
    wrong = [k for k in expected.keys() & stored.keys() if stored[k] != expected[k]]
    if missing:
        problems.append(
            f"{len(missing)} cells answered saved are not stored, e.g. {sorted(missing)[:3]}"
        )
    if extra:
        problems.append(f"{len(extra)} cells stored that no answer saved, e.g. {sorted(extra)[:3]}")
    if wrong:
        k = wrong[0]
        problems.append(
            f"{len(wrong)} cells differ from their last answer, e.g. {k}: stored "
            f"{stored[k]}, answered {expected[k]}"
        )
    trail = Counter(c[0] for c in changes)
    doubled = [c for c, n in trail.items() if n > 1]
    applied = set(ledger["applied"])
    if doubled:
        problems.append(f"{len(doubled)} client ids in the trail twice")
    if set(trail) != applied:
        problems.append(
            f"trail client ids ≠ the applied ones: {len(set(trail) - applied)} "
            f"unanswered, {len(applied - set(trail))} missing"
        )
    if sum(v[1] for v in stored.values()) != len(changes):
        problems.append("the versions of the live marks do not add up to their trail rows")
    before_marks, before_changes = ledger["marks_before"], ledger["changes_before"]
    if total_marks != before_marks + len(expected):
        problems.append(
            f"{total_marks:,} marks in all ≠ {before_marks:,} built + {len(expected):,} live"
        )
    if total_changes != before_changes + len(applied):
        problems.append(
            f"{total_changes:,} trail rows in all ≠ {before_changes:,} built + "
            f"{len(applied):,} applied"
        )
    if refused:
        problems.append(f"{refused} refused attempts audited (the bench sends none)")
    out.write_text(
        json.dumps(
            {
                "live_marks": len(stored),
                "trail_rows": len(changes),
                "saved_answers": ledger["saved_answers"],
                "applied_client_ids": len(applied),
                "repeat_answers": ledger["repeat_answers"],
                "total_marks": total_marks,
                "total_trail_rows": total_changes,
                "problems": problems,
            }
        )
    )


async def _counts(out: Path) -> None:
    from competition import db

    await db.start_pool()
    try:
        marks = (await db.fetch_rows("SELECT count(*) FROM mark"))[0][0]
        changes = (await db.fetch_rows("SELECT count(*) FROM mark_change"))[0][0]
    finally:
        await db.close_pool()
    out.write_text(json.dumps({"marks": marks, "changes": changes}))


# ---------------------------------------------------------------- child: one mark's statements

# What the statements a mark runs are called in the breakdown: a fragment of each.
STATEMENTS = [
    ('JOIN "app_user" u ON u.id = s."user"', "session lookup (identity)"),
    ("FROM score_sheet s JOIN judge", "sheet facts"),
    ("FROM mark_change c JOIN mark m", "applied change (client id)"),
    ("FROM mark m LEFT JOIN app_user", "current mark"),
    ("INSERT INTO mark (", "INSERT mark"),
    ("UPDATE mark SET", "UPDATE mark"),
    ("INSERT INTO mark_change", "INSERT mark_change"),
    ("FROM mark m JOIN draw_slot", "cells entered (progress)"),
    ("FROM aspect WHERE scheme", "scheme aspects (cached per process)"),
    ("SELECT remarks FROM score_sheet", "remarks (Measurement)"),
    ("SELECT slots FROM score_sheet", "signed sheets (Measurement)"),
]


async def _breakdown(plan_path: Path, out: Path, count: int) -> None:
    """put_mark in-process, one at a time, on a sheet the HTTP clients do not use: each SQL
    statement and the transaction's BEGIN and COMMIT timed by wrapping what runs them."""
    from competition import accounts, db
    from scoring.sheets import marks

    plan = json.loads(plan_path.read_text())
    judge = plan["judges"][-1]
    await db.start_pool()
    statements: dict[str, list[float]] = {}
    real_fetch, real_transaction = db._fetch, db.transaction

    def name_of(sql: str) -> str:
        for fragment, name in STATEMENTS:
            if fragment in sql:
                return name + (" FOR " + sql.rsplit(" FOR ", 1)[1] if " FOR " in sql else "")
        return sql[:44]

    async def timed_fetch(sql, args):
        started = time.perf_counter()
        try:
            return await real_fetch(sql, args)
        finally:
            statements.setdefault(name_of(sql), []).append(time.perf_counter() - started)

    class TimedTransaction:
        def __init__(self):
            self.inner = real_transaction()

        async def __aenter__(self):
            started = time.perf_counter()
            try:
                return await self.inner.__aenter__()
            finally:
                statements.setdefault("BEGIN", []).append(time.perf_counter() - started)

        async def __aexit__(self, *exc):
            started = time.perf_counter()
            try:
                return await self.inner.__aexit__(*exc)
            finally:
                statements.setdefault("COMMIT", []).append(time.perf_counter() - started)

    try:
        identity = await accounts.load_identity(judge["token"])
        actor = identity.actor
        rng = random.Random(SEED)
        cells = judge["cells"]
        walls, cpus = [], []
        db._fetch, db.transaction = timed_fetch, TimedTransaction
        for n, (slot, aspect, kind, maximum) in enumerate(cells[: count + 20]):
            value = str(rng.randrange(4)) if kind == "j" else str(rng.randrange(0, maximum // 100))
            mark = marks.MarkIn(
                f"bd-{n}-{secrets.token_hex(6)}", judge["sheet"], slot, aspect, value
            )
            started, cpu = time.perf_counter(), time.process_time()
            await accounts.load_identity(judge["token"])
            outcome = await marks.put_mark(mark, actor=actor)
            if n == 19:  # the first 20 warm the caches and the pool
                statements.clear()
            if n >= 20:
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            assert outcome.result == "saved", outcome
    finally:
        db._fetch, db.transaction = real_fetch, real_transaction
        # Leave the sheet as it was: another run may use it.
        async with db.transaction():
            await db.fetch_rows(
                "DELETE FROM mark_change WHERE mark IN (SELECT id FROM mark WHERE sheet = ?)",
                judge["sheet"],
            )
            await db.fetch_rows("DELETE FROM mark WHERE sheet = ?", judge["sheet"])
        await db.close_pool()
    result = {
        "count": len(walls),
        "wall_ms": statistics.median(walls) * 1000,
        "cpu_ms": statistics.median(cpus) * 1000,
        "statements": {
            k: {"n_per_mark": len(v) / len(walls), "median_ms": statistics.median(v) * 1000}
            for k, v in statements.items()
        },
    }
    out.write_text(json.dumps(result))


# ---------------------------------------------------------------- parent: the judges


@dataclass
class Samples:
    label: str
    mode: str
    ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0  # the server's processes (master and workers)
    db_cpu: float = 0.0  # PostgreSQL's processes
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, ms: float) -> None:
        self.ms.append(ms)
        self.by_kind.setdefault(kind, []).append(ms)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.messages) < 5:
            self.messages.append(text)

    def merge(self, other: Samples) -> None:
        self.ms += other.ms
        self.seconds += other.seconds
        self.client_cpu += other.client_cpu
        self.server_cpu += other.server_cpu
        self.db_cpu += other.db_cpu
        self.errors += other.errors
        self.messages = (self.messages + other.messages)[:5]
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, []).extend(values)

    @property
    def rate(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.ms)
        n = len(ordered)
        per = 1000 / n if n else 0.0
        return {
            "label": self.label,
            "mode": self.mode,
            "n": n,
            "seconds": self.seconds,
            "rate": self.rate,
            "median_ms": statistics.median(ordered) if n else None,
            "p99_ms": _percentile(ordered, 0.99) if n else None,
            "max_ms": ordered[-1] if n else None,
            "errors": self.errors,
            "error_messages": self.messages,
            "cpu_ms_per_request": {
                "server": self.server_cpu * per,
                "postgres": self.db_cpu * per,
                "client": self.client_cpu * per,
            },
            "by_kind": {
                k: {
                    "n": len(v),
                    "median_ms": statistics.median(v),
                    "p99_ms": _percentile(sorted(v), 0.99),
                }
                for k, v in self.by_kind.items()
            },
        }


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


class Judge:
    """One judge's tablet: its cells, what it was answered, its next request."""

    def __init__(self, spec: dict, index: int, ledger: Ledger, *, endless: bool = False) -> None:
        self.spec, self.index, self.ledger, self.endless = spec, index, ledger, endless
        self.rng = random.Random(SEED * 1000 + index)
        self.todo = [tuple(c) for c in spec["cells"]]
        self.rng.shuffle(self.todo)
        self.done: list[tuple] = []  # cells (slot, aspect, kind, max) answered "saved"
        self.last: tuple[str, dict, tuple] | None = None
        self.sent = 0

    def _value(self, kind: str, maximum: int, avoid: int | None = None) -> str:
        while True:
            if kind == "j":
                hundredths = self.rng.randrange(4) * 100
            else:
                hundredths = self.rng.randrange(0, maximum + 1, 25)
            if hundredths != avoid:
                return f"{hundredths // 100}.{hundredths % 100:02d}"

    def key(self, cell: tuple) -> str:
        slot, aspect, kind, _maximum = cell
        return json.dumps([slot, aspect, self.spec["judge"] if kind == "j" else None])

    def next(self) -> tuple[str, dict, tuple] | None:
        """(kind, body, cell) of the next request, or None when the sheet is full."""
        draw = self.rng.random()
        if self.last is not None and draw < RETRY_SHARE:
            _kind, body, cell = self.last
            return "retry", body, cell
        self.sent += 1
        client_id = f"{CLIENT_PREFIX}{self.index}-{self.sent}-{self.rng.getrandbits(40):010x}"
        body = {
            "client_id": client_id,
            "sheet": self.spec["sheet"],
            "device": f"tablet-{self.index}",
        }
        if self.done and draw < RETRY_SHARE + CHANGE_SHARE:
            cell = self.rng.choice(self.done)
            value, version, _client = self.ledger.cells[self.key(cell)]
            body.update(
                slot=cell[0],
                aspect=cell[1],
                base_version=version,
                value=self._value(cell[2], cell[3], value),
            )
            return "change", body, cell
        if not self.todo:
            if not self.endless:
                return None
            self.todo = [tuple(c) for c in self.spec["cells"]]
        cell = self.todo.pop()
        body.update(
            slot=cell[0], aspect=cell[1], base_version=0, value=self._value(cell[2], cell[3])
        )
        return "new", body, cell

    def answered(self, kind: str, body: dict, cell: tuple, answer: dict, lost: bool) -> str | None:
        """Records the answer; what is wrong with it, or None. `lost`: an earlier attempt of
        this request went unanswered, so it may have been applied (then "repeat")."""
        result = answer.get("result")
        mark = answer.get("mark") or {}
        if result == "saved":
            self.ledger.saved_answers += 1
        elif result == "repeat":
            self.ledger.repeat_answers += 1
        expected = "repeat" if kind == "retry" else "saved"
        if result != expected and not (lost and result in ("saved", "repeat")):
            return f"{kind}: answered {result!r}, expected {expected!r}: {answer}"[:300]
        self.ledger.applied.add(body["client_id"])
        version = mark.get("version")
        wanted = {"new": 1, "change": body["base_version"] + 1}.get(kind, version)
        if version != wanted:
            return f"{kind} from version {body['base_version']} answered version {version}"
        if kind == "new":
            self.done.append(cell)
        self.ledger.cells[self.key(cell)] = [
            mark.get("value_hundredths"),
            version,
            body["client_id"],
        ]
        if kind != "retry":
            self.last = (kind, body, cell)
        return None


@dataclass
class Ledger:
    """What the server answered, for the exact check afterwards."""

    cells: dict[str, list] = field(default_factory=dict)  # [slot, aspect, judge] → answered
    applied: set[str] = field(default_factory=set)
    saved_answers: int = 0
    repeat_answers: int = 0


def _client(base: str, kind: str, headers: dict[str, str] | None = None):
    if kind == "lean":
        return KeptAliveClient(base, headers)
    import httpx

    return httpx.AsyncClient(
        base_url=base,
        headers=headers,
        timeout=REQUEST_TIMEOUT_S,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


async def _reconnect(client) -> None:
    """After a timeout the connection's state is unknown: drop it (the next request opens
    another)."""
    if isinstance(client, KeptAliveClient) and client.writer is not None:
        client.writer.close()
        client.writer = None


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def _cpu_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds the processes spent since `before` (one started since counts from 0)."""
    return sum(t - before.get(pid, 0.0) for pid, t in _cpu_by_pid(pids).items())


def _server_processes(group: int) -> list[int]:
    """A server's master and workers: its process group (it was started in a session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                found.append(int(entry.name))
    return found


def _postgres_processes(database: str | None) -> list[int]:
    """PostgreSQL's processes serving this database, and its own (WAL writer, checkpointer…);
    not the backends of other databases on the same server (other suites' tests)."""
    if database is None:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        client = "(" in title or "[local]" in title or "autovacuum worker" in title
        if database in title or not client:
            found.append(int(entry.name))
    return found


class Driver:
    """The 300 judges against one server (the real one or the ceiling)."""

    def __init__(
        self, path: str, judges: list[Judge], clients: list, server_pid: int, database: str | None
    ) -> None:
        self.path, self.judges, self.clients = path, judges, clients
        self.server_pid, self.database = server_pid, database
        self.is_ceiling = path == "/insert"

    async def _send(
        self, client, judge: Judge, kind: str, body: dict, cell: tuple, samples: Samples, due: float
    ) -> None:
        """One mark until it is answered: a tablet's queue sends a lost one again, with the
        same client id. The latency is the first attempt's, counted from when it was due."""
        lost = False
        if time.perf_counter() - getattr(client, "last_used", 0.0) > KEEP_ALIVE_S:
            # The server closes a connection idle for 5 s (uvicorn's keep-alive); a browser
            # opens another before sending rather than have the request refused.
            await _reconnect(client)
        for attempt in range(5):
            try:
                response = await asyncio.wait_for(
                    client.post(self.path, json=body), REQUEST_TIMEOUT_S
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                samples.error(f"{type(exc).__name__} on attempt {attempt + 1}")
                await _reconnect(client)
                lost = True
                continue
            client.last_used = time.perf_counter()
            if attempt == 0:
                samples.add(kind, (client.last_used - due) * 1000)
            if response.status_code != 200:
                text = getattr(response, "text", None) or response.body.decode(errors="replace")
                samples.error(f"HTTP {response.status_code}: {text[:200]}")
            elif not self.is_ceiling:
                problem = judge.answered(kind, body, cell, response.json(), lost)
                if problem:
                    samples.error(problem)
            return
        samples.error("no answer after 5 attempts")

    def _next(self, judge: Judge) -> tuple[str, dict, tuple] | None:
        choice = judge.next()
        if choice is None or not self.is_ceiling:
            return choice
        # The ceiling gets the same bodies, each with a client id of its own (unique there).
        _kind, body, cell = choice
        return "insert", {**body, "client_id": f"ceil-{secrets.token_hex(12)}"}, cell

    async def run(
        self, mode: str, label: str, seconds: float, rate: float = 0.0, pause: float = 0.5
    ) -> Samples:
        samples = Samples(label, mode)
        started = time.perf_counter()
        stop_at = started + seconds
        server_cpu = _cpu_by_pid(_server_processes(self.server_pid))
        pg_cpu = _cpu_by_pid(_postgres_processes(self.database))
        client_cpu = time.process_time()

        async def closed(judge: Judge, client) -> None:
            while time.perf_counter() < stop_at:
                choice = self._next(judge)
                if choice is None:
                    return
                await self._send(client, judge, *choice, samples, time.perf_counter())

        async def paced(judge: Judge, client) -> None:
            per_judge = rate / len(self.judges)
            due = started + judge.rng.expovariate(per_judge)
            while due < stop_at:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                choice = self._next(judge)
                if choice is None:
                    return
                await self._send(client, judge, *choice, samples, due)
                due += judge.rng.expovariate(per_judge)

        async def one(judge: Judge, client, due: float) -> None:
            choice = self._next(judge)
            if choice is not None:
                await self._send(client, judge, *choice, samples, due)

        pairs = list(zip(self.judges, self.clients, strict=True))
        if mode == "burst":
            # `seconds` bursts: every judge at the same moment, the next once all are answered
            # and a pause has passed (a burst never queues behind the last one).
            for _ in range(int(seconds)):
                due = time.perf_counter()
                await asyncio.gather(*(one(j, c, due) for j, c in pairs))
                await asyncio.sleep(pause)
        else:
            worker = closed if mode == "closed" else paced
            await asyncio.gather(*(worker(j, c) for j, c in pairs))
        samples.seconds = time.perf_counter() - started
        samples.client_cpu = time.process_time() - client_cpu
        samples.server_cpu = _cpu_since(server_cpu, _server_processes(self.server_pid))
        samples.db_cpu = _cpu_since(pg_cpu, _postgres_processes(self.database))
        return samples


async def _csrf_headers(base: str) -> dict[str, str]:
    """The CSRF cookie and header the app hands a browser (GET /login), shared by all judges:
    the token is tied to the app's secret, not to a session."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
        await browser.get("/login")
        return {"csrftoken": browser.cookies["csrftoken"]}


async def _measure_server(
    command: list[str],
    env: dict[str, str],
    path: str,
    port: int,
    log: Path,
    judges: list[Judge],
    token_of,
    schedule,
    args,
) -> list[Samples]:
    """Start one server, warm it up, run the schedule's steps, stop it."""
    base = f"http://127.0.0.1:{port}"
    server = _start(command, env, port, log)
    try:
        csrf = (await _csrf_headers(base))["csrftoken"] if path != "/insert" else ""
        clients = []
        for judge in judges:
            headers = {"origin": base}
            if path != "/insert":
                headers["cookie"] = f"jx_session={token_of(judge)}; csrftoken={csrf}"
                headers["x-csrftoken"] = csrf
            clients.append(_client(base, args.client, headers))
        url = urlparse(env["DATABASE_URL"])
        database = url.path.lstrip("/") if url.scheme.startswith("postgres") else None
        driver = Driver(path, judges, clients, server.pid, database)
        try:
            results = []
            await driver.run("closed", "warm-up", args.warmup)
            for mode, label, seconds, extra in schedule:
                samples = await driver.run(mode, label, seconds, **extra)
                results.append(samples)
                if args.verbose:
                    _print_row(samples, None)
            return results
        finally:
            for client in clients:
                await client.aclose()
    finally:
        _stop(server)


def _print_header() -> None:
    print(
        f"  {'step':<34}{'req/s':>8}{'median':>9}{'p99':>9}{'max':>9}{'errors':>7}"
        f"{'ratio':>8}   cpu ms/req: server  pg  client",
        flush=True,
    )


def _print_row(samples: Samples, ceiling: Samples | None) -> None:
    f = samples.figures()
    if not f["n"]:
        print(f"  {samples.label:<34} (no samples)")
        return
    ratio = ""
    if ceiling is not None and ceiling.ms:
        c = ceiling.figures()
        if samples.mode == "closed":
            ratio = f"{f['rate'] / c['rate']:7.2f}"
        else:
            ratio = f"{f['median_ms'] / c['median_ms']:6.1f}×"
    cpu = f["cpu_ms_per_request"]
    print(
        f"  {samples.label:<34}{f['rate']:8.0f}{f['median_ms']:7.1f}ms{f['p99_ms']:7.1f}ms"
        f"{f['max_ms']:7.0f}ms{f['errors']:>7}{ratio:>8}   "
        f"{cpu['server']:>14.2f}{cpu['postgres']:>5.2f}{cpu['client']:>7.2f}",
        flush=True,
    )
    for message in samples.messages:
        print(f"  {'':<4}!! {message}")


def _child(mode: list[str], env: dict[str, str]) -> bool:
    command = [sys.executable, __file__, *mode]
    return subprocess.run(command, env=env, check=False).returncode == 0  # noqa: S603


def _measure_database(label: str, url: str, plan_path: Path, fresh: bool, args) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO_ROOT),
        "JIANGXIN_SECRET": args.secret,
        "JIANGXIN_COOKIE_SECURE": "0",
    }
    print(f"\n{label}", flush=True)
    if fresh:
        if not _child(["--build", str(plan_path), "--scale", str(args.scale)], env):
            raise RuntimeError("the build failed")
    elif not _child(["--reset", str(plan_path)], env):
        raise RuntimeError("the reset failed")
    plan = json.loads(plan_path.read_text())
    counts_path = plan_path.with_suffix(".counts.json")
    _child(["--counts", str(counts_path)], env)
    counts = json.loads(counts_path.read_text())
    specs = plan["judges"][: args.judges]
    if len(specs) < args.judges:
        raise RuntimeError(f"the data has {len(specs)} judges")
    ledger = Ledger()
    judges = [Judge(spec, n, ledger) for n, spec in enumerate(specs)]
    ceiling_judges = [Judge(spec, n, Ledger(), endless=True) for n, spec in enumerate(specs)]
    tokens = {id(j): s["token"] for j, s in zip(judges, specs, strict=True)}
    print(
        f"  {plan['contestants']:,} contestants, {counts['marks']:,} marks, "
        f"{counts['changes']:,} trail rows; {args.judges} judges; load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    configurations = []
    for workers in args.workers:
        configurations.append(
            _measure_workers(workers, env, judges, ceiling_judges, tokens, plan_path, args)
        )
    ledger_path = plan_path.with_suffix(".ledger.json")
    ledger_path.write_text(
        json.dumps(
            {
                "judges": args.judges,
                "cells": ledger.cells,
                "applied": sorted(ledger.applied),
                "saved_answers": ledger.saved_answers,
                "repeat_answers": ledger.repeat_answers,
                "marks_before": counts["marks"],
                "changes_before": counts["changes"],
            }
        )
    )
    check_path = plan_path.with_suffix(".check.json")
    if not _child(
        ["--check", str(plan_path), "--ledger", str(ledger_path), "--out", str(check_path)], env
    ):
        raise RuntimeError("the check failed to run")
    check = json.loads(check_path.read_text())
    verdict = "exact" if not check["problems"] else "WRONG"
    print(
        f"  check ({verdict}): {check['live_marks']:,} live marks = the cells answered saved; "
        f"{check['trail_rows']:,} trail rows = {check['applied_client_ids']:,} client ids "
        f"applied ({check['saved_answers']:,} saved answers, {check['repeat_answers']:,} "
        f"repeats); {check['total_marks']:,} marks in all",
        flush=True,
    )
    for problem in check["problems"]:
        print(f"    !! {problem}")
    breakdown = None
    if args.breakdown:
        out = plan_path.with_suffix(".breakdown.json")
        if _child(
            ["--breakdown-plan", str(plan_path), "--out", str(out), "--count", str(args.breakdown)],
            env,
        ):
            breakdown = json.loads(out.read_text())
            _print_breakdown(breakdown)
    return {
        "database": label,
        "contestants": plan["contestants"],
        "marks": counts["marks"],
        "trail_rows": counts["changes"],
        "judges": args.judges,
        "configurations": configurations,
        "check": check,
        "breakdown": breakdown,
    }


def _print_breakdown(breakdown: dict) -> None:
    print(
        f"  one mark in-process (session lookup + put_mark, one at a time, n="
        f"{breakdown['count']}): {breakdown['wall_ms']:.2f} ms wall, "
        f"{breakdown['cpu_ms']:.2f} ms CPU of this process"
    )
    total = 0.0
    for name, s in sorted(breakdown["statements"].items(), key=lambda kv: -kv[1]["median_ms"]):
        total += s["median_ms"] * s["n_per_mark"]
        print(f"    {name:<44}{s['n_per_mark']:5.1f}×{s['median_ms']:7.2f} ms")
    print(f"    {'statements (sum of medians)':<44}{'':6}{total:7.2f} ms")


def _measure_workers(
    workers: int, env, judges, ceiling_judges, tokens, plan_path: Path, args
) -> dict:
    print(f"\n  --workers {workers}", flush=True)
    log_dir = plan_path.parent
    closed = [("closed", "", args.seconds, {})]
    rows: dict[str, Samples] = {}
    ceilings: dict[str, Samples] = {}

    def merge(into: dict, key: str, label: str, mode: str, items: list[Samples]) -> None:
        for item in items:
            into.setdefault(key, Samples(label, mode)).merge(item)

    def one(path: str, schedule: list) -> list[Samples]:
        port = _free_port()
        if path == "/insert":
            command = [*CEILING, "127.0.0.1", str(port), str(workers)]
            group = ceiling_judges
        else:
            command = [
                *SERVE,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ]
            group = judges
        log = log_dir / f"{'ceiling' if path == '/insert' else 'app'}-{workers}.log"
        return asyncio.run(
            _measure_server(
                command, env, path, port, log, group, lambda j: tokens[id(j)], schedule, args
            )
        )

    load_before = os.getloadavg()[0]
    # Servers one at a time (PostgreSQL allows 100 connections; each worker pools 20), the
    # ceiling and the real server alternating round by round.
    for _ in range(args.rounds):
        merge(ceilings, "closed", "ceiling: bare INSERT, closed", "closed", one("/insert", closed))
        if args.py_spy and "profile" not in rows:
            rows["profile"] = Samples("", "closed")
            _profiled(one, closed, workers, plan_path, args)
        merge(
            rows,
            "closed",
            f"marks, closed, {args.judges} judges",
            "closed",
            one("/api/judge/marks", closed),
        )
    schedule = [
        ("paced", f"paced {rate:g}/s", args.paced_seconds, {"rate": rate}) for rate in args.paced
    ]
    if args.bursts:
        schedule.append(("burst", f"burst: {args.judges} at once ×{args.bursts}", args.bursts, {}))
    if schedule:
        for item, samples in zip(schedule, one("/insert", schedule), strict=True):
            merge(ceilings, item[1], f"ceiling: {item[1]}", item[0], [samples])
        for item, samples in zip(schedule, one("/api/judge/marks", schedule), strict=True):
            merge(rows, item[1], f"marks, {item[1]}", item[0], [samples])
    rows.pop("profile", None)
    load_after = os.getloadavg()[0]
    print(f"  load average {load_before:.1f} → {load_after:.1f}")
    _print_header()
    out = []
    for key, samples in rows.items():
        ceiling = ceilings.get(key)
        if ceiling is not None:
            _print_row(ceiling, None)
        _print_row(samples, ceiling)
        figures = samples.figures()
        figures["ceiling"] = ceiling.figures() if ceiling is not None else None
        out.append(figures)
        if samples.mode == "closed":
            for kind in ("new", "change", "retry"):
                values = sorted(samples.by_kind.get(kind, []))
                if values:
                    print(
                        f"  {'  ' + kind:<34}{'':8}{statistics.median(values):7.1f}ms"
                        f"{_percentile(values, 0.99):7.1f}ms  n={len(values):,}"
                    )
    return {"workers": workers, "load_average": [load_before, load_after], "steps": out}


def _profiled(one, closed, workers: int, plan_path: Path, args) -> None:
    """A closed round of the real server under py-spy (every worker, raw stacks to a file);
    its figures are not counted (the sampling slows the workers)."""
    target = plan_path.parent / f"py-spy-{workers}w.txt"
    for stale in plan_path.parent.glob(f"{target.name}.*"):
        stale.unlink()
    seconds = args.seconds

    original = Driver.run

    async def run(self, mode, label, length, **extra):
        if label == "warm-up" or self.is_ceiling:
            return await original(self, mode, label, length, **extra)
        workers_pids = [p for p in _server_processes(self.server_pid) if p != self.server_pid]
        spies = [
            subprocess.Popen(  # noqa: S603 - py-spy on our own server's workers
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    f"{target}.{pid}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in workers_pids
        ]
        try:
            return await original(self, mode, label, length, **extra)
        finally:
            for spy in spies:
                spy.wait(timeout=60)

    Driver.run = run
    try:
        one("/api/judge/marks", closed)
    finally:
        Driver.run = original
    _summarise_profile(sorted(plan_path.parent.glob(f"{target.name}.*")), target)


def _frame(frame: str) -> str:
    """py-spy's "function (path/file.py:line)" as "function (file.py)"."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit(':', 1)[0].rsplit('/', 1)[-1]})" if where else function


def _summarise_profile(files: list[Path], target: Path) -> None:
    """Collapsed stacks → the share of samples each function is on the stack (inclusive) and
    on top (self), for the frames of the app and its libraries."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            names = [_frame(f) for f in stack.split(";")]
            for name in set(names):
                inclusive[name] += n
            own[names[-1]] += n
    if not total:
        print("  py-spy: no samples")
        return
    lines = [f"py-spy, {total} samples over {len(files)} workers"]
    lines.append("inclusive:")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(60)]
    lines.append("self:")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(40)]
    target.write_text("\n".join(lines) + "\n")
    print(f"  py-spy profile: {target}")


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="postgresql://user@host:port/db (any existing db)")
    parser.add_argument("--sqlite", action="store_true", help="measure SQLite too")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 200,000 contestants")
    parser.add_argument("--workers", default="2", help="worker counts, e.g. 2,4")
    parser.add_argument("--judges", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0, help="one closed round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--paced", default="50,100,200", help="total rates of the paced steps")
    parser.add_argument("--paced-seconds", type=float, default=8.0)
    parser.add_argument("--bursts", type=int, default=10, help="how many bursts (0: none)")
    parser.add_argument("--breakdown", type=int, default=200, help="in-process marks (0: none)")
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", help="a database kept by --keep (PostgreSQL)")
    parser.add_argument("--py-spy", help="py-spy binary: profile one closed round's workers")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--reset", help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    parser.add_argument("--counts", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--breakdown-plan", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        asyncio.run(_build(args.scale, Path(args.build)))
        return 0
    if args.reset:
        asyncio.run(_reset(Path(args.reset)))
        return 0
    if args.check:
        asyncio.run(_check(Path(args.check), Path(args.ledger), Path(args.out)))
        return 0
    if args.counts:
        asyncio.run(_counts(Path(args.counts)))
        return 0
    if args.breakdown_plan:
        asyncio.run(_breakdown(Path(args.breakdown_plan), Path(args.out), args.count))
        return 0
    if not args.postgres and not args.sqlite:
        parser.error("--postgres URL (the headline figure) and/or --sqlite")
    args.workers = [int(w) for w in args.workers.split(",")]
    args.paced = _numbers(args.paced)
    if args.py_spy and not shutil.which(args.py_spy):
        parser.error(f"py-spy not found: {args.py_spy}")
    args.secret = secrets.token_urlsafe(48)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(
        f"Marks bench, scale {args.scale:g}, load average {os.getloadavg()[0]:.1f}. Goal: {GOAL}",
        flush=True,
    )
    results = []
    if args.postgres:
        parsed = urlparse(args.postgres)
        name = args.reuse or f"jx_marks_bench_{os.getpid()}"
        plan_path = WORK_DIR / f"{name}.plan.json"
        if not args.reuse:
            asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
        elif not plan_path.exists():
            parser.error(f"no plan for {name} under {WORK_DIR}")
        try:
            results.append(
                _measure_database(
                    f"PostgreSQL ({parsed.hostname}:{parsed.port or 5432}), database {name}",
                    urlunparse(parsed._replace(path=f"/{name}")),
                    plan_path,
                    not args.reuse,
                    args,
                )
            )
        finally:
            if args.keep or args.reuse:
                print(f"  kept database {name} (--reuse {name})")
            else:
                asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
                plan_path.unlink(missing_ok=True)
    if args.sqlite:
        path = WORK_DIR / f"bench-{os.getpid()}.sqlite3"
        try:
            results.append(
                _measure_database(
                    f"SQLite ({path})",
                    f"sqlite:///{path}",
                    path.with_suffix(".plan.json"),
                    True,
                    args,
                )
            )
        finally:
            if not args.keep:
                for leftover in WORK_DIR.glob(f"{path.stem}*"):
                    leftover.unlink()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = RESULTS / f"marks-{stamp}-scale{args.scale:g}.json"
    target.write_text(
        json.dumps(
            {"scale": args.scale, "goal": GOAL, "client": args.client, "results": results}, indent=2
        )
    )
    print(
        f"\nresult: {target.relative_to(REPO_ROOT)}; done in "
        f"{time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.1f}"
    )
    ok = all(not r["check"]["problems"] for r in results)
    ok &= all(s["errors"] == 0 for r in results for c in r["configurations"] for s in c["steps"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
