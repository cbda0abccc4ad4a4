"""The score sheets' composite unique keys (see scoring/tables.py).

Unique indexes rather than constraints: SQLite cannot ALTER TABLE … ADD CONSTRAINT. Partial
indexes (WHERE …) mean the same on both databases. A Judgement mark is one judge's (judge set);
a Measurement value is the panel's one (judge null): two keys, since NULLs never collide in a
unique index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T18:57:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "score_sheet_keys"

INDEXES = [
    # (name, table, columns, unique, where)
    ("uq_score_sheet_session_judge", "score_sheet", ("session", "judge"), True, ""),
    ("uq_mark_slot_aspect_judge", "mark", ("slot", "aspect", "judge"), True,
     "judge IS NOT NULL"),
    ("uq_mark_slot_aspect_panel", "mark", ("slot", "aspect"), True, "judge IS NULL"),
    ("uq_event_score_entry_event", "event_score", ("entry", "event"), True, ""),
    ("uq_review_check_sample_slot", "review_check", ("sample", "slot"), True, ""),
]  # fmt: skip


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        for name, table, columns, unique, where in INDEXES:
            cols = ", ".join(f'"{c}"' for c in columns)
            kind = "UNIQUE INDEX" if unique else "INDEX"
            condition = f" WHERE {where}" if where else ""
            await RawTable.raw(
                f'CREATE {kind} IF NOT EXISTS {name} ON "{table}" ({cols}){condition}'
            )

    async def run_backwards():
        for name, *_rest in INDEXES:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
