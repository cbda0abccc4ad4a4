"""Totals (成绩): every present contestant's practical, theory, oral and weighted score, worked
out from the marks by the pure rules of `scoring/rules/` and written to `total` — the only
writer of that table.

One total per draw slot (a contestant present at the draw; the absent have no slot and get no
total), from the aspects of the trade's current marking scheme only:
- a Judgement aspect scores `totals.aspect_score(max, combine(rule, levels, tolerance))` with
  the trade's combination rule and tolerance (`Trade.judge_rule`); a Measurement aspect its
  agreed value;
- practical = `totals.practical(aspect scores, penalties)`, never below 0; theory and oral are
  the imported `EventScore`s; weighted = `totals.weighted_total` with `Trade.events`' weights,
  rounded once; `rule` records the combination rule and version ("trimmed_mean-v1");
- complete: every Judgement aspect has a mark from as many judges as there are sheets (of the
  current scheme) holding the contestant — at least one, when the trade has no sheets yet —
  every Measurement aspect its value, and every weighted event but the practical its score.

`recompute_trade` and `recompute_competition` replace the trades' totals in one transaction;
`recompute_entry` one contestant's, after a single change. Rows are upserted on their entry and
the trades' rows not written by the run deleted: the same as deleting them all and inserting
anew, without a foreign-key check per row on PostgreSQL (three a row cost 8 s for 200,000;
bench/totals.py). The reads run while the transaction holds its lock, so the totals are one
consistent picture of the marks: on SQLite the transaction takes the write lock up front (other
readers see exactly what it sees until it writes); on PostgreSQL recomputes of one trade queue
on an advisory lock, so an earlier recompute never overwrites a later one.

How 6 million marks make 200,000 totals without one mark reaching Python: the database groups
each (slot, Judgement aspect)'s marks into one integer that counts the judges giving each level
(`pack`) — levels are only 0–3, so those counts are the whole multiset a rule needs. Every
multiset that can occur (up to the most judges a slot can have) is scored once per aspect by the
pure rules, memoised, into a temporary table the database joins and sums per slot; Python sees
one row per contestant. A multiset not in that table (more marks than judges, or a stored value
that is no level) is scored in Python for its slot, where an invalid value is refused. On
SQLite the reads run on plain connections of their own in worker threads: the Judgement sums on
one (sqlite3 lets go of the GIL while it steps) while the other reads run on the second and
Python gathers their rows.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from itertools import combinations_with_replacement
from typing import Any, TypeVar

import anyio.to_thread

from competition import clock, db
from competition.schemas import JudgeRule, events_from_json, settings_from_json
from competition.tables import EventKind
from scoring.rules import combine, rule_version
from scoring.rules import totals as totals_rule
from scoring.rules.rounding import half_up
from scoring.tables import AspectKind

# `pack`: a Judgement mark adds COUNT_UNIT (one judge more) plus one in its level's digit of
# DIGIT_BITS bits. Each addend fits a 32-bit integer (PostgreSQL sums them as bigint). A value
# that is no level adds COUNT_UNIT alone, and 128 judges of one level carry into the next digit:
# either way the digits no longer add up to the count, which `unpack` refuses.
DIGIT_BITS = 7
COUNT_UNIT = 1 << 28
LEVELS = (0, 1, 2, 3)
_DIGIT_MASK = (1 << DIGIT_BITS) - 1
PACKED_SQL = (
    "CASE m.value_hundredths "
    + " ".join(
        f"WHEN {level * 100} THEN {COUNT_UNIT + (1 << (DIGIT_BITS * level))}" for level in LEVELS
    )
    + f" ELSE {COUNT_UNIT} END"
)
# The advisory lock's first key on PostgreSQL ("JT"); the trade is the second.
_ADVISORY_LOCK = 0x4A54
# Slot ids written into a statement's text (integers read from the database) go in chunks.
_CHUNK = 500
# PostgreSQL: from this many totals on, they go through COPY into a temporary table.
_COPY_FROM = 1000
# One total in this many is also computed by `totals.weighted_total` itself (see `_weighted`).
_CHECK_EVERY = 1000
# half_up(r / 100) for r in 0..99: how the weighted total's last two digits round.
_HALF_UP_PERCENT = tuple(half_up(Fraction(r, 100)) for r in range(100))

_T = TypeVar("_T")

TOTAL_COLUMNS = [
    "entry",
    "trade",
    "slot",
    "practical_hundredths",
    "theory_hundredths",
    "oral_hundredths",
    "penalty_hundredths",
    "weighted_hundredths",
    "completion_seconds",
    "complete",
    "rule",
    "computed_at",
]
_UPSERT = (
    f"INSERT INTO total ({', '.join(TOTAL_COLUMNS)}) {{rows}} ON CONFLICT (entry) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TOTAL_COLUMNS[1:])
)
_KEY_TABLE = (
    "CREATE TEMP TABLE totals_key (aspect integer NOT NULL, packed bigint NOT NULL, "
    "score integer NOT NULL, judges integer NOT NULL, trade integer NOT NULL, "
    "PRIMARY KEY (aspect, packed))"
)
_KEY_COLUMNS = ["aspect", "packed", "score", "judges", "trade"]
_NEW_TABLE = (
    "CREATE TEMP TABLE totals_new (entry integer, trade integer, slot integer, "
    "practical_hundredths integer, theory_hundredths integer, oral_hundredths integer, "
    "penalty_hundredths integer, weighted_hundredths integer, completion_seconds integer, "
    "complete boolean, rule varchar(40), computed_at timestamptz) ON COMMIT DROP"
)


def pack(levels: Iterable[int]) -> int:
    """The judges' levels as the one integer `PACKED_SQL` sums them to:
    [2, 3, 3] → 3 × COUNT_UNIT + 2^14 + 2 × 2^21."""
    packed = 0
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"a Judgement level is 0..3, not {level!r}")
        packed += COUNT_UNIT + (1 << (DIGIT_BITS * level))
    return packed


def unpack(packed: int) -> list[int]:
    """The levels (ascending) `pack` made `packed` of; refused when the digits do not add up to
    the count: a stored mark that is no level, or 128 or more judges of one level."""
    count, digits = divmod(packed, COUNT_UNIT)
    levels: list[int] = []
    for level in LEVELS:
        levels += [level] * ((digits >> (DIGIT_BITS * level)) & _DIGIT_MASK)
    if len(levels) != count or digits >> (DIGIT_BITS * len(LEVELS)):
        raise ValueError(f"Judgement marks that are not levels 0..3 (packed {packed})")
    return levels


@lru_cache(maxsize=1 << 16)
def aspect_score(rule: str, tolerance: int, max_hundredths: int, packed: int) -> int:
    """A Judgement aspect's score from its packed marks, by the pure rules. Memoised: a
    competition has few rules, tolerances and maxima, and few multisets of levels 0–3."""
    levels = unpack(packed)
    return totals_rule.aspect_score(max_hundredths, combine(rule, levels, tolerance=tolerance))


def packings(judges: int) -> Iterator[int]:
    """Every packing of 1 to `judges` levels."""
    for count in range(1, judges + 1):
        for levels in combinations_with_replacement(LEVELS, count):
            yield pack(levels)


@dataclass(slots=True)
class _Trade:
    id: int
    rule: str
    tolerance: int
    weights: dict[str, int]
    scheme_id: int | None = None
    judgement: dict[int, int] = field(default_factory=dict)  # aspect → max hundredths
    measurement: set[int] = field(default_factory=set)
    # The most judges a slot can have: the panel's size, or more if an aspect asks for more.
    most_judges: int = 1


@dataclass(slots=True)
class _Slot:
    id: int
    entry: int
    trade: int
    seconds: int | None
    judgement_score: int = 0
    judgement_aspects: int = 0
    fewest_judges: int = 0
    measurement_score: int = 0
    measurement_aspects: int = 0
    penalty: int = 0
    events: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Scope:
    """Whose totals a recompute replaces: a competition's, a trade's or one slot's."""

    trades_sql: str  # the trades concerned: SELECT id, events, judge_rule …
    args: tuple
    slot_id: int | None = None


@dataclass(frozen=True)
class _Statement:
    sql: str  # with ? placeholders
    args: tuple = ()
    keyed: bool = False  # joins the temporary `totals_key`


class _Phases:
    """Seconds per phase, for bench/totals.py (`timings=`)."""

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out = out
        self.last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        if self.out is not None:
            self.out[name] = self.out.get(name, 0.0) + now - self.last
        self.last = now


def _ints(values: Iterable[int]) -> str:
    """An IN list written into the statement: integer ids read from the database, never text
    from a request. NULL for none (matches nothing)."""
    return ", ".join(str(int(v)) for v in values) or "NULL"


async def recompute_competition(
    competition_id: int, *, timings: dict[str, float] | None = None
) -> int:
    """Every trade's totals of the competition replaced; returns how many were written."""
    scope = _Scope(
        "SELECT id, events, judge_rule FROM trade WHERE competition = ? ORDER BY id",
        (competition_id,),
    )
    return await _recompute(scope, _Phases(timings))


async def recompute_trade(trade_id: int, *, timings: dict[str, float] | None = None) -> int:
    """The trade's totals replaced; returns how many were written."""
    scope = _Scope("SELECT id, events, judge_rule FROM trade WHERE id = ?", (trade_id,))
    return await _recompute(scope, _Phases(timings))


async def recompute_entry(slot_id: int) -> int:
    """One contestant's total replaced, after a change of one of their marks, penalties, times
    or event scores (the chief judge's change after the lock). Returns 1, or 0 for no slot."""
    scope = _Scope(
        "SELECT id, events, judge_rule FROM trade "
        "WHERE id = (SELECT trade FROM draw_slot WHERE id = ?)",
        (slot_id,),
        slot_id=slot_id,
    )
    return await _recompute(scope, _Phases(None))


async def _recompute(scope: _Scope, phases: _Phases) -> int:
    # Inside a caller's transaction the reads must see what it wrote: its own connection.
    nested = db.in_transaction()
    async with db.transaction():
        trades = await _read_trades(scope)
        if not trades:
            return 0
        phases.done("trades, schemes, panels")
        bounds = await _slot_bounds(scope, trades)
        rows: list[tuple] = []
        if bounds is not None:
            if db.is_postgres():
                reader: _Reader = _PostgresReader(pool=not nested)
            elif nested or scope.slot_id is not None:
                reader = _Reader()
            else:
                reader = _SqliteReader()
            try:
                rows = await _compute(reader, scope, trades, bounds, phases)
            finally:
                await reader.close()
        await _write(scope, trades, rows)
        phases.done("write")
    phases.done("commit")
    return len(rows)


async def _read_trades(scope: _Scope) -> dict[int, _Trade]:
    trades: dict[int, _Trade] = {}
    for trade_id, events, judge_rule in await db.fetch_rows(scope.trades_sql, *scope.args):
        rule = settings_from_json(JudgeRule, db.json_value(judge_rule))
        weights = {str(e.key): e.weight for e in events_from_json(db.json_value(events))}
        rule_version(rule.rule)  # an unknown rule is refused before anything is read
        trades[trade_id] = _Trade(trade_id, rule.rule, rule.judgement_tolerance, weights)
    if not trades:
        return trades
    if db.is_postgres():
        for trade_id in sorted(trades):
            await db.fetch_rows("SELECT pg_advisory_xact_lock(?, ?)", _ADVISORY_LOCK, trade_id)
    ids = _ints(trades)
    # Highest version first: should two be current, the newest counts.
    for scheme_id, trade_id in await db.fetch_rows(
        "SELECT id, trade FROM marking_scheme "  # noqa: S608 - integer ids
        f"WHERE is_current = ? AND trade IN ({ids}) ORDER BY version DESC",
        True,
    ):
        if trades[trade_id].scheme_id is None:
            trades[trade_id].scheme_id = scheme_id
    by_scheme = {t.scheme_id: t for t in trades.values() if t.scheme_id is not None}
    for aspect_id, scheme_id, kind, max_hundredths, judges_needed in await db.fetch_rows(
        "SELECT id, scheme, kind, max_hundredths, judges_needed FROM aspect "  # noqa: S608 - integer ids
        f"WHERE scheme IN ({_ints(by_scheme)})"
    ):
        trade = by_scheme[scheme_id]
        if kind == AspectKind.judgement.value:
            trade.judgement[aspect_id] = max_hundredths
            trade.most_judges = max(trade.most_judges, judges_needed or 1)
        else:
            trade.measurement.add(aspect_id)
    # Sheets are made from the panel, so no slot has more judges than it.
    for trade_id, members in await db.fetch_rows(
        f"SELECT trade, COUNT(*) FROM panel_member WHERE trade IN ({ids}) GROUP BY trade"  # noqa: S608 - integer ids
    ):
        trades[trade_id].most_judges = max(trades[trade_id].most_judges, members)
    return trades


async def _slot_bounds(scope: _Scope, trades: dict[int, _Trade]) -> tuple[int, int] | None:
    if scope.slot_id is not None:
        return (scope.slot_id, scope.slot_id)
    row = await db.fetch_rows(
        f"SELECT MIN(id), MAX(id) FROM draw_slot WHERE trade IN ({_ints(trades)})"  # noqa: S608 - integer ids
    )
    low, high = row[0] if row else (None, None)
    return None if low is None else (low, high)


class _Reader:
    """Where the reads run: the transaction's own connection, one statement after the other
    (one slot, or inside a caller's transaction on SQLite)."""

    parts = 1  # how many statements the Judgement sums are split into
    created = False

    async def keys(self, rows: list[tuple]) -> None:
        """The temporary table of scored packings, `totals_key`."""
        connection = db.engine().current_transaction.get().connection
        await connection.execute(_KEY_TABLE + " WITHOUT ROWID")
        self.created = True
        await db.copy_records("totals_key", _KEY_COLUMNS, rows)

    async def run(self, statements: Sequence[_Statement]) -> list[list[tuple]]:
        return [await db.fetch_rows(s.sql, *s.args) for s in statements]

    async def run_beside(
        self,
        first: Sequence[_Statement],
        then: Sequence[_Statement],
        gather: Callable[[list[list[tuple]]], _T],
    ) -> tuple[list[list[tuple]], _T]:
        """The rows of `first` and `then`, and `gather(then's rows)` — which, where the reader
        can, runs while `first` (the long Judgement sums) still does."""
        results = await self.run([*first, *then])
        return results[: len(first)], gather(results[len(first) :])

    async def close(self) -> None:
        if self.created:
            connection = db.engine().current_transaction.get().connection
            await connection.execute("DROP TABLE totals_key")


class _PostgresReader(_Reader):
    """PostgreSQL, which runs a statement on one core: the statements shared between the
    transaction's connection and one of the pool's, each with its own `totals_key` — unless
    the recompute runs inside a caller's transaction, whose writes only its connection sees."""

    def __init__(self, *, pool: bool) -> None:
        self.pool = db.engine().pool if pool else None
        self.parts = 1 if self.pool is None else 2
        self.rows: list[tuple] | None = None

    async def keys(self, rows: list[tuple]) -> None:
        self.rows = rows
        await _postgres_keys(db.engine().current_transaction.get().connection, rows)
        self.created = True

    async def run(self, statements: Sequence[_Statement]) -> list[list[tuple]]:
        if self.pool is None:
            return await super().run(statements)
        results: list[list[tuple]] = [[] for _ in statements]
        numbered = list(enumerate(statements))

        async def here() -> None:
            for n, s in numbered[0::2]:
                results[n] = await db.fetch_rows(s.sql, *s.args)

        async def there() -> None:
            theirs = numbered[1::2]
            if not theirs:
                return
            async with self.pool.acquire() as connection, connection.transaction():
                if self.rows is not None and any(s.keyed for _n, s in theirs):
                    await _postgres_keys(connection, self.rows)
                for n, s in theirs:
                    results[n] = [tuple(r) for r in await connection.fetch(_dollar(s.sql), *s.args)]

        await asyncio.gather(here(), there())
        return results


async def _postgres_keys(connection: Any, rows: list[tuple]) -> None:
    await connection.execute(_KEY_TABLE + " ON COMMIT DROP")
    # Millions of (slot, aspect) groups are summed in memory, not spilled to disk.
    await connection.execute("SET LOCAL work_mem = '256MB'")
    await connection.copy_records_to_table("totals_key", columns=_KEY_COLUMNS, records=rows)
    await connection.execute("ANALYZE totals_key")


def _dollar(sql: str) -> str:
    """`?` placeholders as PostgreSQL's $1, $2 … (the statements here hold no other ?)."""
    count = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


class _SqliteReader(_Reader):
    """Plain sqlite3 connections of their own, in worker threads: no per-row dict and
    per-value converter (Piccolo's), and two statements at once: the Judgement sums (the long
    one) on the first connection, every other statement after another on the second. They see
    exactly what the transaction sees: it holds the write lock and has written nothing yet.

    The sums stay one statement (`parts = 1`): split in two halves on two threads, each half
    took as long as the whole on one (2.25 s each against 2.34 s, 6.1 M marks), and still did
    (1.6–1.8 s each against 1.8 s) once each half came back as one text and no longer waited
    for the GIL a row: the two threads contend inside SQLite, not only for the GIL."""

    parts = 1

    def __init__(self) -> None:
        self.connections: list[sqlite3.Connection] = []

    async def _open(self) -> None:
        if self.connections:
            return
        path = db.engine().connection_kwargs["database"]
        for _ in range(2):
            self.connections.append(await anyio.to_thread.run_sync(_connect, path))

    async def keys(self, rows: list[tuple]) -> None:
        await self._open()
        await anyio.to_thread.run_sync(_load_keys, self.connections[0], rows)

    async def run(self, statements: Sequence[_Statement]) -> list[list[tuple]]:
        """One after the other (what runs at once is `run_beside`'s): a keyed statement on the
        first connection, which holds `totals_key`, any other on the second."""
        await self._open()
        return [
            await anyio.to_thread.run_sync(
                _fetch_all, self.connections[0 if s.keyed else 1], s.sql, s.args
            )
            for s in statements
        ]

    async def run_beside(
        self,
        first: Sequence[_Statement],
        then: Sequence[_Statement],
        gather: Callable[[list[list[tuple]]], _T],
    ) -> tuple[list[list[tuple]], _T]:
        """`first` (keyed: the Judgement sums, as one text each) on the first connection, `then`
        one after the other on the second, and `gather` in this thread while the first still
        runs: in the pipeline's province the sums take ~1.8 s and the rest with its gathering
        ~1.6 s, which ran one after the other before."""
        await self._open()

        def sums() -> list[list[tuple]]:
            return [
                _rows_of_text(_fetch_all(self.connections[0], _as_one_text(s.sql), s.args)[0][0])
                for s in first
            ]

        running = asyncio.ensure_future(anyio.to_thread.run_sync(sums))
        try:
            rest = [
                await anyio.to_thread.run_sync(_fetch_all, self.connections[1], s.sql, s.args)
                for s in then
            ]
            gathered = gather(rest)
        except BaseException:
            # Its thread goes on regardless: wait for it before the connections close.
            await asyncio.gather(running, return_exceptions=True)
            raise
        return await running, gathered

    async def close(self) -> None:
        for connection in self.connections:
            await anyio.to_thread.run_sync(connection.close)
        self.connections = []


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30, check_same_thread=False)


def _load_keys(connection: sqlite3.Connection, rows: list[tuple]) -> None:
    connection.execute(_KEY_TABLE + " WITHOUT ROWID")
    connection.executemany("INSERT INTO totals_key VALUES (?, ?, ?, ?, ?)", rows)


def _fetch_all(connection: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    return connection.execute(sql, args).fetchall()


def _judgement_sql() -> str:
    """Each slot's Judgement score summed from the scored packings of its aspects, with how
    many aspects it has marks for, how many of those were found scored, and the fewest judges
    of any, and the lowest and highest trade of the packings found. No filter on the aspects
    (it cost 0.45 s of 2.45 over 6.1 M marks): `totals_key` holds only the Judgement aspects of
    these trades' current schemes, each with its trade, so a group of any other aspect finds no
    score, and one of another of these trades' aspects finds that trade; either way its slot is
    scored by `_score_in_python`, which takes only the slot's own aspects. Slots of other
    competitions that fall between the bounds are not among the trades' slots and are skipped.
    A slot none of whose packings was found has 0 for the sum, the judges and the trades (and
    `known` 0, so it goes to Python anyway)."""
    return (
        "SELECT g.slot AS slot, COALESCE(SUM(k.score), 0) AS score, COUNT(*) AS marked, "  # noqa: S608 - constants
        "COUNT(k.score) AS known, COALESCE(MIN(k.judges), 0) AS fewest, "
        "COALESCE(MIN(k.trade), 0) AS low_trade, COALESCE(MAX(k.trade), 0) AS high_trade FROM ("
        f"SELECT m.slot AS slot, m.aspect AS aspect, SUM({PACKED_SQL}) AS packed FROM mark m "
        "WHERE m.judge IS NOT NULL AND m.slot BETWEEN ? AND ? "
        "GROUP BY m.slot, m.aspect) g "
        "LEFT JOIN totals_key k ON k.aspect = g.aspect AND k.packed = g.packed GROUP BY g.slot"
    )


_JUDGED_COLUMNS = ("slot", "score", "marked", "known", "fewest", "low_trade", "high_trade")


def _as_one_text(sql: str) -> str:
    """SQLite: the integer rows of `sql` (`_judgement_sql`) as one text, every value after a
    space. Fetched row by row, each of 196,000 rows takes the GIL back, and a thread starved of
    it while Python works beside it (`_SqliteReader.run_beside`) gets a row every switch
    interval; one row needs the GIL once."""
    values = " || ' ' || ".join(_JUDGED_COLUMNS)
    return f"SELECT group_concat({values}, ' ') FROM ({sql})"  # noqa: S608 - constants


def _rows_of_text(text: str | None) -> list[tuple]:
    values = [int(v) for v in text.split()] if text else []
    return list(zip(*[iter(values)] * len(_JUDGED_COLUMNS), strict=True))


def _grouped_sql(aspects: str, slots: str) -> str:
    """The packed Judgement marks per (slot, aspect) of some slots, for Python to score."""
    return (
        f"SELECT m.slot, m.aspect, SUM({PACKED_SQL}) FROM mark m "  # noqa: S608 - integer ids
        f"WHERE m.judge IS NOT NULL AND m.slot IN ({slots}) AND +m.aspect IN ({aspects}) "
        "GROUP BY m.slot, m.aspect"
    )


def _ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    step = max(1, -(-(high - low + 1) // parts))
    return [(start, min(high, start + step - 1)) for start in range(low, high + 1, step)]


def _key_rows(trades: dict[int, _Trade]) -> list[tuple]:
    """Every packing that can occur for each Judgement aspect, scored: (aspect, packed, score,
    judges, the aspect's trade)."""
    rows = []
    for trade in trades.values():
        possible = list(packings(trade.most_judges))
        for aspect_id, maximum in trade.judgement.items():
            for packed in possible:
                score = aspect_score(trade.rule, trade.tolerance, maximum, packed)
                rows.append((aspect_id, packed, score, packed // COUNT_UNIT, trade.id))
    return rows


async def _compute(
    reader: _Reader,
    scope: _Scope,
    trades: dict[int, _Trade],
    bounds: tuple[int, int],
    phases: _Phases,
) -> list[tuple]:
    ids = _ints(trades)
    judgement = _ints(a for t in trades.values() for a in t.judgement)
    measurement = _ints(a for t in trades.values() for a in t.measurement)
    schemes = _ints(t.scheme_id for t in trades.values() if t.scheme_id is not None)
    low, high = bounds
    one = scope.slot_id is not None
    by_keys = not one and any(t.judgement for t in trades.values())
    statements = []
    if by_keys:
        await reader.keys(_key_rows(trades))
        phases.done("scored packings")
        statements = [
            _Statement(_judgement_sql(), part, keyed=True)
            for part in _ranges(low, high, reader.parts)
        ]
    others = [
        _Statement(
            "SELECT s.id, s.entry, s.trade, c.seconds FROM draw_slot s "  # noqa: S608 - integer ids
            "LEFT JOIN completion_time c ON c.slot = s.id "
            f"WHERE s.trade IN ({ids}) AND s.id BETWEEN ? AND ?",
            (low, high),
        ),
        _Statement(
            "SELECT m.slot, SUM(m.value_hundredths), COUNT(*) FROM mark m "  # noqa: S608 - integer ids
            f"WHERE m.judge IS NULL AND m.slot BETWEEN ? AND ? AND +m.aspect IN ({measurement}) "
            "GROUP BY m.slot",
            (low, high),
        ),
        _Statement(
            "SELECT slot, SUM(hundredths) FROM penalty "  # noqa: S608 - integer ids
            f"WHERE trade IN ({ids}) AND slot BETWEEN ? AND ? GROUP BY slot",
            (low, high),
        ),
        _Statement(
            "SELECT entry, event, hundredths FROM event_score "  # noqa: S608 - integer ids
            + (
                "WHERE entry = (SELECT entry FROM draw_slot WHERE id = ?)"
                if one
                else f"WHERE trade IN ({ids})"
            ),
            (scope.slot_id,) if one else (),
        ),
        _Statement(
            f"SELECT slots FROM score_sheet WHERE scheme IN ({schemes})"  # noqa: S608 - integer ids
            + (" AND session = (SELECT session FROM draw_slot WHERE id = ?)" if one else ""),
            (scope.slot_id,) if one else (),
        ),
    ]
    parts, (slots, need) = await reader.run_beside(statements, others, _slots_of)
    judged = [row for part in parts for row in part]
    phases.done("reads (and the slots gathered beside them)")
    unknown = set() if by_keys else set(slots)
    for slot_id, score, aspects_marked, known, fewest, low_trade, high_trade in judged:
        slot = slots.get(slot_id)
        if slot is None:
            continue
        if known != aspects_marked or (known and not low_trade == slot.trade == high_trade):
            unknown.add(slot_id)
            continue
        slot.judgement_score = int(score)
        slot.judgement_aspects = aspects_marked
        slot.fewest_judges = fewest
    await _score_in_python(reader, trades, slots, unknown, judgement)
    phases.done("gathered per slot")
    rows = _totals(trades, slots, need)
    phases.done("totals")
    return rows


def _slots_of(results: list[list[tuple]]) -> tuple[dict[int, _Slot], Counter[int]]:
    """The slots with their Measurement scores, penalties, event scores and completion times,
    and how many sheets hold each slot: from the reads other than the Judgement sums."""
    slot_rows, measured, penalties, events, sheets = results
    slots = {
        slot_id: _Slot(slot_id, entry, trade, seconds)
        for slot_id, entry, trade, seconds in slot_rows
    }
    for slot_id, score, aspects_marked in measured:
        slot = slots.get(slot_id)
        if slot is not None:
            slot.measurement_score = int(score)
            slot.measurement_aspects = aspects_marked
    for slot_id, hundredths in penalties:
        if slot_id in slots:
            slots[slot_id].penalty = int(hundredths)
    by_entry = {s.entry: s for s in slots.values()}
    for entry, event, hundredths in events:
        slot = by_entry.get(entry)
        if slot is not None:
            slot.events[event] = hundredths
    need: Counter[int] = Counter()
    for (held,) in sheets:
        need.update(db.json_value(held, []))
    return slots, need


async def _score_in_python(
    reader: _Reader,
    trades: dict[int, _Trade],
    slots: dict[int, _Slot],
    which: set[int],
    judgement: str,
) -> None:
    """Judgement scores of the `which` slots, their packed marks scored here."""
    ordered = sorted(which)
    statements = [
        _Statement(_grouped_sql(judgement, _ints(ordered[start : start + _CHUNK])))
        for start in range(0, len(ordered), _CHUNK)
    ]
    for rows in await reader.run(statements) if statements else []:
        for slot_id, aspect_id, packed in rows:
            slot = slots[slot_id]
            trade = trades[slot.trade]
            maximum = trade.judgement.get(aspect_id)
            if maximum is None:  # another trade's aspect: not the slot's scheme, counts for nothing
                continue
            packed = int(packed)
            score = aspect_score(trade.rule, trade.tolerance, maximum, packed)
            judges = packed // COUNT_UNIT
            slot.judgement_score += score
            slot.fewest_judges = (
                min(slot.fewest_judges, judges) if slot.judgement_aspects else judges
            )
            slot.judgement_aspects += 1


def _weighted(scores: dict[str, int], weights: dict[str, int], check: bool) -> int:
    """`totals.weighted_total` without its per-call checks (a tenth of its cost, which at
    200,000 totals is a second): Σ weight × score, the last two digits rounded by
    `rounding.half_up`. For a sum ≥ 0 (scores are); the rule itself, the authority, works out
    every `_CHECK_EVERY`th total too and must agree."""
    numerator = sum(weight * scores.get(event, 0) for event, weight in weights.items())
    if numerator < 0 or check:
        exact = totals_rule.weighted_total(scores, weights)
        if numerator >= 0 and exact != numerator // 100 + _HALF_UP_PERCENT[numerator % 100]:
            raise RuntimeError("the weighted total's fast path disagrees with its rule")
        return exact
    whole, rest = divmod(numerator, 100)
    return whole + _HALF_UP_PERCENT[rest]


def _totals(trades: dict[int, _Trade], slots: dict[int, _Slot], need: Counter[int]) -> list[tuple]:
    now = _now()
    practical_key = EventKind.practical.value
    theory_key, oral_key = EventKind.theory.value, EventKind.oral.value
    facts = {}
    for trade in trades.values():
        totals_rule.weighted_total({}, trade.weights)  # the weights checked once per trade
        others = [e for e in trade.weights if e != practical_key]
        facts[trade.id] = (
            trade.weights,
            rule_version(trade.rule),
            practical_key in trade.weights,
            others,
            len(trade.judgement),
            len(trade.measurement),
        )
    rows = []
    for n, slot in enumerate(slots.values()):
        weights, version, with_practical, others, judged, measured = facts[slot.trade]
        practical = totals_rule.practical(
            (slot.judgement_score, slot.measurement_score), (slot.penalty,)
        )
        events = slot.events
        scores = {e: events[e] for e in others if e in events}
        complete = (
            judged + measured > 0
            and slot.judgement_aspects == judged
            and (not judged or slot.fewest_judges >= max(1, need.get(slot.id, 0)))
            and slot.measurement_aspects == measured
            and len(scores) == len(others)
        )
        if with_practical:
            scores[practical_key] = practical
        rows.append(
            (
                slot.entry,
                slot.trade,
                slot.id,
                practical,
                events.get(theory_key),
                events.get(oral_key),
                slot.penalty,
                _weighted(scores, weights, n % _CHECK_EVERY == 0),
                slot.seconds,
                complete,
                version,
                now,
            )
        )
    return rows


def _now() -> Any:
    """This run's timestamp, the same on every row it writes (the rows not written are found
    by it); on SQLite as the text Piccolo's adapter makes of it, made once, not once a row."""
    now = clock.now()
    if db.is_postgres():
        return now
    adapt = sqlite3.adapters.get((type(now), sqlite3.PrepareProtocol))
    return adapt(now) if adapt else now


async def _write(scope: _Scope, trades: dict[int, _Trade], rows: list[tuple]) -> None:
    connection = db.engine().current_transaction.get().connection
    if db.is_postgres() and len(rows) >= _COPY_FROM:
        await connection.execute(_NEW_TABLE)
        await db.copy_records("totals_new", TOTAL_COLUMNS, rows)
        columns = ", ".join(TOTAL_COLUMNS)
        await connection.execute(
            _UPSERT.format(rows=f"SELECT {columns} FROM totals_new")  # noqa: S608 - constants
        )
        await connection.execute("DROP TABLE totals_new")
    else:
        values = f"VALUES ({', '.join('?' for _ in TOTAL_COLUMNS)})"
        await db.execute_many(_UPSERT.format(rows=values), rows)
    if scope.slot_id is None:
        # The trades' totals this run did not write: entries no longer drawn.
        await db.fetch_rows(
            f"DELETE FROM total WHERE trade IN ({_ints(trades)}) AND computed_at <> ?",  # noqa: S608 - integer ids
            rows[0][-1] if rows else _now(),
        )
