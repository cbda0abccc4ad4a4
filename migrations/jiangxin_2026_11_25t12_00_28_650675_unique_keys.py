"""Composite unique keys of the core tables, as unique indexes.

Piccolo emits `ALTER TABLE … ADD CONSTRAINT` for `Unique(...)`, which SQLite cannot run, while a
unique index means the same on SQLite and PostgreSQL. Mirrors the `# unique:` comments in
competition/tables.py.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T12:00:28:650675"
VERSION = "1.38.0"
DESCRIPTION = "unique_keys"

UNIQUE_KEYS = {
    "industry": [("competition", "code"), ("competition", "name")],
    "trade": [("competition", "code"), ("competition", "name")],
    "delegation": [("competition", "code"), ("competition", "name")],
    "quota": [("delegation", "trade")],
    "venue": [("competition", "code")],
    "competition_session": [("trade", "code")],
    "station": [("venue", "code")],
}


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        for table, keys in UNIQUE_KEYS.items():
            for columns in keys:
                name = f"uq_{table}_{'_'.join(columns)}"
                cols = ", ".join(f'"{c}"' for c in columns)
                await RawTable.raw(f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({cols})')

    async def run_backwards():
        for table, keys in UNIQUE_KEYS.items():
            for columns in keys:
                await RawTable.raw(f"DROP INDEX IF EXISTS uq_{table}_{'_'.join(columns)}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
