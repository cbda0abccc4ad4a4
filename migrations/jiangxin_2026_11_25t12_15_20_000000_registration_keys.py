"""Registration's composite unique keys and indexes (see registration/tables.py).

Unique indexes rather than constraints: SQLite cannot ALTER TABLE … ADD CONSTRAINT.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T12:15:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "registration_keys"

INDEXES = [
    # (name, table, columns, unique)
    ("uq_entry_person_trade", "entry", ("person", "trade"), True),
    ("uq_entry_competition_person_slot", "entry", ("competition", "person", "slot"), True),
    ("uq_check_in_entry_session", "check_in", ("entry", "session"), True),
    ("ix_entry_delegation_trade_status", "entry", ("delegation", "trade", "status"), False),
    ("ix_entry_competition_status", "entry", ("competition", "status"), False),
    ("ix_award_history_trade", "award_history", ("id_number", "trade_name", "award"), False),
    # The check-in desk counts a session's check-ins.
    ("ix_check_in_session", "check_in", ("session",), False),
]


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        for name, table, columns, unique in INDEXES:
            cols = ", ".join(f'"{c}"' for c in columns)
            kind = "UNIQUE INDEX" if unique else "INDEX"
            await RawTable.raw(f'CREATE {kind} IF NOT EXISTS {name} ON "{table}" ({cols})')

    async def run_backwards():
        for name, *_rest in INDEXES:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
