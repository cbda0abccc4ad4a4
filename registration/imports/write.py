"""Writing a plan, in the caller's transaction: persons inserted or updated, entries inserted
or updated, one audit record per created or changed entry and per changed person, and the
effects of changed particulars on entries (registration/people.py).

- a new person's owner is the delegation of its row;
- an entry whose delegation or group the file changes goes back to review if it had passed
  (its place is given back; an approved one's ticket stops working); a rejected entry the file
  changes in any way is resubmitted;
- a change of particulars alone is `people.apply_effects`'s to judge (eligibility fields send
  passed entries back to review, what the ticket shows reissues it).

Bulk writes use the transaction's own connection (`db.copy_records` / `db.execute_many`) with
ids taken up front (the next ids of the table on SQLite, which holds the write lock; the
table's sequence on PostgreSQL), so nothing is looked up again afterwards: Piccolo's row-by-row
insert is ~35× too slow for 200,000 rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from competition import db
from competition import spreadsheets as kit
from competition.audit import Actor, to_jsonable
from registration import people
from registration.imports.plan import PERSON_FIELDS, Candidate, Counts, Plan
from registration.tables import EntrySource, EntryStatus

PERSON_COLUMNS = [
    "id", "id_number", "name", "gender", "birth_date", "phone", "employer", "job", "skill_level",
    "years_of_service", "owner_delegation", "created_at", "updated_at",
]  # fmt: skip
ENTRY_COLUMNS = [
    "id", "competition", "trade", "person", "delegation", "group_name", "slot", "status",
    "source", "review_note", "rejected_by", "ticket_version", "submitted_at", "created_at",
    "updated_at",
]  # fmt: skip
AUDIT_COLUMNS = [
    "at", "actor_id", "actor_name", "competition_id", "action", "object_type", "object_id",
    "old", "new", "reason",
]  # fmt: skip
IMPORT_REASON = "import"
PASSED = (EntryStatus.delegation_approved.value, EntryStatus.approved.value)
# Rows made and inserted at a time.
WRITE_CHUNK = 20_000


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(to_jsonable(value), ensure_ascii=False)


def _sql_value(value: dt.date | dt.datetime) -> Any:
    """Dates and times as SQLite stores them through Piccolo's adapters, converted once here
    instead of once a row by sqlite3 (a third of the insert time); as they are for COPY."""
    if db.is_postgres():
        return value
    if isinstance(value, dt.datetime):
        return str(value.astimezone(dt.UTC))
    return value.isoformat()


async def _copy(
    table: str, columns: list[str], items: list[Any], make_row: Callable[[Any], tuple]
) -> None:
    """`db.copy_records` of a row made from each item, a chunk at a time: the rows of 200,000
    items are never all in memory at once."""
    for start in range(0, len(items), WRITE_CHUNK):
        await db.copy_records(
            table, columns, list(map(make_row, items[start : start + WRITE_CHUNK]))
        )


async def write_plan(plan: Plan, actor: Actor) -> Counts:
    """Write what the plan found valid. Call inside `db.transaction()`, right after resolving
    the plan in the same transaction, so nothing changed in between."""
    tx = db.engine().current_transaction.get()
    if tx is None:
        raise RuntimeError("write_plan must run inside db.transaction()")
    with kit.collecting_later():
        return await _write(plan, actor)


async def _write(plan: Plan, actor: Actor) -> Counts:
    now = dt.datetime.now(dt.UTC)
    stamp = _sql_value(now)
    competition_id = plan.competition_id
    submitted = EntryStatus.submitted.value
    source = EntrySource.delegation_import.value
    person_ids = plan.person_ids

    # In ID-number order: new persons then go to the end of the ID-number index, and their
    # entries to the end of the (person, …) ones, instead of all over them.
    new_rows = sorted(plan.new, key=attrgetter("id_number"))

    # Persons: each new ID once (its first valid row), owned by that row's delegation.
    fresh: dict[str, Candidate] = {}
    for c in new_rows:
        if c.id_number not in person_ids:
            fresh.setdefault(c.id_number, c)
    new_person_ids = await db.new_ids("person", len(fresh))
    person_ids.update(zip(fresh, new_person_ids, strict=True))
    dates: dict[dt.date, Any] = {}

    def person_row(c: Candidate) -> tuple:
        born = dates.get(c.birth_date) or dates.setdefault(c.birth_date, _sql_value(c.birth_date))
        return (
            person_ids[c.id_number],
            c.id_number,
            c.name,
            c.gender,
            born,
            c.phone,
            c.employer,
            c.job,
            c.skill_level,
            c.years,
            c.delegation_id,
            stamp,
            stamp,
        )

    await _copy("person", PERSON_COLUMNS, list(fresh.values()), person_row)

    # Persons already stored whose particulars the file changes (through a changed entry, or
    # a new entry in another trade).
    person_updates: dict[str, tuple] = {}
    person_audit: dict[str, tuple[dict, dict]] = {}
    if plan.stored_persons:
        for c in [*new_rows, *(change.candidate for change in plan.changes)]:
            old = plan.stored_persons.get(c.id_number)
            values = c.person_values()
            if old is None or old == values or c.id_number in person_updates:
                continue
            person_updates[c.id_number] = (*values, stamp, person_ids[c.id_number])
            person_audit[c.id_number] = _diff(old, values)
    await db.execute_many(
        "UPDATE person SET name = ?, phone = ?, employer = ?, job = ?, skill_level = ?, "
        "years_of_service = ?, updated_at = ? WHERE id = ?",
        list(person_updates.values()),
    )

    # New entries.
    entry_ids = await db.new_ids("entry", len(new_rows))
    slots = plan.slots
    with_ids = list(zip(entry_ids, new_rows, strict=True))

    def entry_row(item: tuple[int, Candidate]) -> tuple:
        entry_id, c = item
        return (
            entry_id,
            competition_id,
            c.trade_id,
            person_ids[c.id_number],
            c.delegation_id,
            c.group,
            slots[c.row],
            submitted,
            source,
            "",
            "",
            0,
            stamp,
            stamp,
            stamp,
        )

    await _copy("entry", ENTRY_COLUMNS, with_ids, entry_row)

    # Changed entries: a new delegation or group sends a passed entry back to review; a
    # rejected entry the file corrects is resubmitted. Particulars alone: `apply_effects`.
    updates = []
    entry_audit = []
    for change in plan.changes:
        entry, c = change.entry, change.candidate
        status = entry["status"]
        resubmit = status == EntryStatus.rejected or (change.entry_changed and status in PASSED)
        if not change.entry_changed and not resubmit:
            continue
        approved = status == EntryStatus.approved and resubmit
        new_status = submitted if resubmit else status
        updates.append(
            (
                c.delegation_id,
                c.group,
                new_status,
                entry["ticket_version"] + 1 if approved else entry["ticket_version"],
                None if approved else entry["session"],
                stamp,
                stamp,
                entry["entry_id"],
            )
        )
        entry_audit.append((change, status, new_status))
    await db.execute_many(
        "UPDATE entry SET delegation = ?, group_name = ?, status = ?, review_note = '', "
        "rejected_by = '', ticket_version = ?, session = ?, submitted_at = ?, updated_at = ? "
        "WHERE id = ?",
        updates,
    )

    # One audit record per created or changed entry and per changed person; the text of a
    # new entry's record is the same for a trade and delegation but for the row number.
    user_id, name = actor.user_id, actor.name
    heads = {
        (trade_id, delegation_id): json.dumps(
            {"status": submitted, "trade": plan.trade_codes.get(trade_id, ""),
             "delegation": delegation_id, "source": source},
            ensure_ascii=False,
        )[:-1]
        for trade_id, delegation_id in {(c.trade_id, c.delegation_id) for c in new_rows}
    }  # fmt: skip

    def create_row(item: tuple[int, Candidate]) -> tuple:
        entry_id, c = item
        return (
            stamp,
            user_id,
            name,
            competition_id,
            "entry.create",
            "entry",
            str(entry_id),
            None,
            f'{heads[(c.trade_id, c.delegation_id)]}, "row": {c.row}}}',
            IMPORT_REASON,
        )

    await _copy("audit_log", AUDIT_COLUMNS, with_ids, create_row)
    del with_ids
    audit_rows = []
    for change, status, new_status in entry_audit:
        entry_old = {k: change.old[k] for k in ("delegation", "group") if k in change.old}
        entry_new = {k: change.new[k] for k in ("delegation", "group") if k in change.new}
        audit_rows.append(
            (stamp, user_id, name, competition_id, "entry.update", "entry",
             str(change.entry["entry_id"]), _json({"status": status, **entry_old}),
             _json({"status": new_status, **entry_new, "row": change.candidate.row}),
             "resubmitted" if status == EntryStatus.rejected else IMPORT_REASON)
        )  # fmt: skip
    for number, (old, new) in person_audit.items():
        audit_rows.append(
            (stamp, user_id, name, competition_id, "person.update", "person",
             str(person_ids[number]), _json(old), _json(new), IMPORT_REASON)
        )  # fmt: skip
    await db.copy_records("audit_log", AUDIT_COLUMNS, audit_rows)

    # What changed particulars do to the persons' entries, here and in other competitions.
    if person_audit:
        await people.apply_effects(
            {person_ids[number]: set(new) for number, (_old, new) in person_audit.items()},
            actor=actor,
            reason=IMPORT_REASON,
        )
    return Counts(
        rows=plan.counts.rows,
        valid=plan.counts.valid,
        errors=plan.counts.errors,
        new=len(plan.new),
        updated=len(plan.changes),
        unchanged=plan.counts.unchanged,
    )


def _diff(old: tuple, new: tuple) -> tuple[dict, dict]:
    before, after = {}, {}
    for field_name, a, b in zip(PERSON_FIELDS, old, new, strict=True):
        if a != b:
            before[field_name], after[field_name] = a, b
    return before, after
