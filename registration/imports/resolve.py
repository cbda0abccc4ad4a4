"""The rows that passed their own checks, against each other and against the database: the
dry run's second half, run again at the commit (the database may have changed in between).

- the same ID number and trade twice in the file; the same person with other particulars;
- more trades a person than the competition allows, counting entries already stored;
- whose record is whose (registration/people.py): a row whose ID number belongs to a person
  the importing delegation may not change is refused with `people.OWNED_MESSAGE` (it names
  nobody), decided in memory from one query for the whole file; a row that would change
  nothing is simply unchanged; an organizer's import may change any record;
- an entry made through another delegation is not a delegation's to change;
- quotas (registration/quotas.py) refuse nothing here: a submitted entry uses no place. The
  plan lists, per delegation × trade the file touches, its candidates and the places left.
"""

from __future__ import annotations

import json
from collections import Counter
from operator import attrgetter
from typing import Any

import aiosqlite
import anyio

from competition import db
from competition import spreadsheets as kit
from competition.i18n import N_
from competition.spreadsheets import RowProblem
from competition.tables import Role
from registration import people, quotas
from registration.imports.plan import PERSON_FIELDS, Candidate, Change, Context, Plan, QuotaLine
from registration.schemas import TradeRules
from registration.tables import EntryStatus


async def tuples(sqlite_sql: str, postgres_sql: str, *args: Any) -> list[tuple]:
    """A large read as plain tuples, on the current transaction's connection or a new one.
    Piccolo makes a dict of every row, which at 200,000 rows costs more than the query. ID
    lists travel as one JSON array (SQLite) or one array (PostgreSQL), whatever their length,
    instead of thousands of placeholders. Placeholders: `?` for SQLite, `$n` for PostgreSQL."""
    engine = db.engine()
    tx = engine.current_transaction.get()
    if db.is_postgres():
        if tx is not None:
            records = await tx.connection.fetch(postgres_sql, *args)
        elif engine.pool is not None:
            async with engine.pool.acquire() as connection:
                records = await connection.fetch(postgres_sql, *args)
        else:
            connection = await engine.get_new_connection()
            try:
                records = await connection.fetch(postgres_sql, *args)
            finally:
                await connection.close()
        return [tuple(r) for r in records]
    params = [json.dumps(a) if isinstance(a, list) else a for a in args]
    if tx is not None:
        cursor = await tx.connection.execute(sqlite_sql, params)
        cursor.row_factory = None  # the connection's is Piccolo's dict factory
        try:
            return await cursor.fetchall()
        finally:
            await cursor.close()
    async with aiosqlite.connect(**engine.connection_kwargs) as connection:
        return list(await connection.execute_fetchall(sqlite_sql, params))


_EXISTING = (
    "SELECT p.id{i}, p.id_number, p.name, p.phone, p.employer, p.job, p.skill_level{i}, "
    "p.years_of_service{i}, p.user{i}, p.owner_delegation{i}, d.code, "
    "e.id{i}, e.trade{i}, e.delegation{i}, e.group_name, e.slot{i}, e.status, "
    "e.ticket_version{i}, e.session{i} "
    "FROM person p LEFT JOIN delegation d ON d.id = p.owner_delegation "
    "LEFT JOIN entry e ON e.person = p.id AND e.competition = {competition} "
    "WHERE p.id_number {match}"
)
_ENTRY_AT = 11  # the entry columns of an _EXISTING row start here
ENTRY_KEYS = ("entry_id", "trade", "delegation", "group_name", "slot", "status",
              "ticket_version", "session")  # fmt: skip
_DELEGATION, _GROUP, _SLOT = 2, 3, 4  # of an entry's columns


async def existing(competition_id: int, id_numbers: list[str]) -> list[tuple]:
    """The persons with these ID numbers — id, ID number, PERSON_FIELDS, their owner (user,
    delegation, its code) — and their entries in this competition (ENTRY_KEYS; None when they
    have none)."""
    if not id_numbers:
        return []
    return await tuples(
        # "+ 0": an expression has no declared type, so SQLite hands the integer over as it
        # is instead of through Piccolo's Python converter for INTEGER columns.
        _EXISTING.format(i=" + 0", competition="?", match="IN (SELECT value FROM json_each(?))"),
        _EXISTING.format(i="", competition="$1", match="= ANY($2::varchar[])"),
        competition_id,
        id_numbers,
    )


def acting(context: Context) -> people.Acting:
    """Who changes person records through this import."""
    if context.organizer or context.delegation_id is None:
        return people.ORGANIZER
    return people.Acting(
        role=Role.delegation_admin,
        delegation_id=context.delegation_id,
        delegation_code=context.delegations[context.delegation_id]["code"],
    )


async def resolve(plan: Plan, context: Context, *, with_quotas: bool = True) -> Plan:
    """The candidates against each other and the database (reads only). `with_quotas`: list
    the candidates and places per delegation × trade (the dry run shows them; a commit does
    not need them)."""
    rows = await existing(context.competition_id, sorted({c.id_number for c in plan.candidates}))
    plan = await anyio.to_thread.run_sync(_resolve, plan, context, rows)
    plan.quota_lines = await quota_lines(plan, context) if with_quotas else []
    return plan


def _resolve(plan: Plan, context: Context, rows: list[tuple]) -> Plan:
    with kit.collecting_later():
        return _resolve_rows(plan, context, rows)


def _problem(plan: Plan, c: Candidate, key: str, message: Any, code: str) -> None:
    plan.errors.setdefault(c.row, []).append(
        RowProblem(c.row, plan.column_header(key), message, code)
    )


def _resolve_rows(plan: Plan, context: Context, rows: list[tuple]) -> Plan:
    plan.errors = {row: list(problems) for row, problems in plan.file_errors.items()}
    plan.new, plan.changes, plan.unchanged, plan.slots = [], [], [], {}
    plan.person_ids = {}
    stored: dict[str, tuple] = {}  # ID number → PERSON_FIELDS values
    owners: dict[str, tuple] = {}  # ID number → (user, delegation, its code): see Ownership
    held: dict[str, dict[int, tuple]] = {}  # ID number → trade → entry (ENTRY_KEYS order)
    for row in rows:
        number = row[1]
        if number not in stored:
            plan.person_ids[number] = row[0]
            stored[number] = row[2:8]
            owners[number] = row[8:11]
        if row[_ENTRY_AT] is not None:
            held.setdefault(number, {})[row[_ENTRY_AT + 1]] = row[_ENTRY_AT:]
    plan.stored_persons = stored

    rules = context.rules
    limit = context.limit
    who = acting(context)
    seen_pair: dict[tuple[str, int], int] = {}
    first_row_of: dict[str, Candidate] = {}
    new_trades: dict[str, int] = {}  # ID number → new trades so far in the file
    no_entries: dict[int, tuple] = {}
    assigned: dict[str, set[int]] = {}  # ID number → slots of its new entries in this file
    fresh = plan.new
    slots = plan.slots
    for c in plan.candidates:
        number = c.id_number
        pair = (number, c.trade_id)
        if pair in seen_pair:
            _problem(
                plan, c, "id_number",
                N_("The same person and trade are already in row {row}.", row=seen_pair[pair]),
                "duplicate_row",
            )  # fmt: skip
            continue
        seen_pair[pair] = c.row
        first = first_row_of.get(number)
        if first is not None and first.person_values() != c.person_values():
            _problem(
                plan,
                c,
                "id_number",
                N_(
                    "The same ID number is in row {row} with other personal details (name, "
                    "phone, employer, job, level or years); make them the same.",
                    row=first.row,
                ),
                "inconsistent_person",
            )
            continue
        owner = owners.get(number)
        if owner is None:
            # A person not stored yet — every row of a large file of new people: a new entry
            # in the next slot, within the trades a person may enter.
            taken = new_trades.get(number, 0)
            if taken >= limit:
                _problem(plan, c, "trade", _limit_message({}, rules, limit), "trade_limit")
                continue
            new_trades[number] = taken + 1
            if first is None:
                first_row_of[number] = c
            slots[c.row] = taken + 1
            fresh.append(c)
            continue
        person_changes = stored[number] != c.person_values()
        mine = held.get(number, no_entries)
        current = mine.get(c.trade_id)
        if (
            current is not None
            and not person_changes
            and current[_DELEGATION] == c.delegation_id
            and current[_GROUP] == c.group
        ):
            # Already as stored — every row of a file imported again. Changing nothing needs
            # nobody's permission.
            first_row_of.setdefault(number, c)
            plan.unchanged.append(c.row)
            continue
        # Entering an existing person again, or changing their particulars, is the owner's.
        if (current is None or person_changes) and not people.may_change(
            people.Ownership(*owner), who
        ):
            _problem(plan, c, "id_number", N_(people.OWNED_MESSAGE), "person_owned")
            continue
        if current is None:
            taken = len(mine) + new_trades.get(number, 0)
            if taken >= limit:
                _problem(plan, c, "trade", _limit_message(mine, rules, limit), "trade_limit")
                continue
            new_trades[number] = new_trades.get(number, 0) + 1
            first_row_of.setdefault(number, c)
            used = assigned.setdefault(number, {e[_SLOT] for e in mine.values()})
            slot = next(s for s in range(1, limit + 1) if s not in used)
            used.add(slot)
            slots[c.row] = slot
            fresh.append(c)
            continue
        if current[_DELEGATION] != c.delegation_id and not context.organizer:
            _problem(
                plan,
                c,
                "delegation",
                N_(
                    "This person's entry in “{trade}” was made through another delegation; "
                    "only the organizer can change it.",
                    trade=rules[c.trade_id].name,
                ),
                "other_delegation",
            )
            continue
        first_row_of.setdefault(number, c)
        entry = dict(zip(ENTRY_KEYS, current, strict=True))
        if entry["status"] == EntryStatus.revoked:
            _problem(
                plan, c, "trade", N_("This entry was revoked and cannot be changed."),
                "entry_revoked",
            )  # fmt: skip
            continue
        old, new = _differences(c, entry, stored[number])
        plan.changes.append(Change(candidate=c, entry=entry, old=old, new=new))
    counts = plan.counts
    counts.rows = plan.rows
    counts.new = len(plan.new)
    counts.updated = len(plan.changes)
    counts.unchanged = len(plan.unchanged)
    counts.errors = len(plan.errors)
    counts.valid = counts.rows - counts.errors
    return plan


def _limit_message(held: dict[int, tuple], rules: dict[int, TradeRules], limit: int):
    trade = next(iter(held), None)
    if trade is not None and trade in rules:
        return N_(
            "This person is already entered in “{trade}”; a person may enter at most {n} "
            "trades in this competition.",
            trade=rules[trade].name,
            n=limit,
        )
    return N_("A person may enter at most {n} trades in this competition.", n=limit)


def _differences(
    c: Candidate, entry: dict[str, Any], person: tuple
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the row changes in a stored entry and its person, as (old, new)."""
    values = c.person_values()
    if (
        values == person
        and entry["delegation"] == c.delegation_id
        and entry["group_name"] == c.group
    ):
        return {}, {}
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, stored, value in zip(PERSON_FIELDS, person, values, strict=True):
        if stored != value:
            old[name], new[name] = stored, value
    if entry["delegation"] != c.delegation_id:
        old["delegation"], new["delegation"] = entry["delegation"], c.delegation_id
    if entry["group_name"] != c.group:
        old["group"], new["group"] = entry["group_name"], c.group
    return old, new


async def quota_lines(plan: Plan, context: Context) -> list[QuotaLine]:
    """Per delegation × trade the file's valid rows touch: its candidates and the places left
    (an information, never a refusal: submitted entries use no place)."""
    valid = [*plan.new, *(change.candidate for change in plan.changes)]
    if plan.unchanged:
        unchanged = set(plan.unchanged)
        valid += [c for c in plan.candidates if c.row in unchanged]
    touched = Counter(map(attrgetter("delegation_id", "trade_id"), valid))
    if not touched:
        return []
    used = await quotas.places(trade_ids={t for _d, t in touched})
    caps = {pair: places.cap for pair, places in used.items()}
    order = {d: i for i, d in enumerate(context.delegations)}
    lines = []
    for (delegation_id, trade_id), n in touched.items():
        places = used.get((delegation_id, trade_id))
        cap = quotas.cap_for(caps, (delegation_id, trade_id))
        taken = places.used if places else 0
        trade = context.rules[trade_id]
        lines.append(
            QuotaLine(
                delegation_id=delegation_id,
                trade_id=trade_id,
                delegation=context.delegations[delegation_id]["name"],
                trade=trade.name,
                trade_en=context.trade_names_en.get(trade_id, ""),
                candidates=n,
                cap=cap,
                free=None if cap is None else max(cap - taken, 0),
            )
        )
    lines.sort(
        key=lambda line: (order.get(line.delegation_id, 0), context.rules[line.trade_id].code)
    )
    return lines
