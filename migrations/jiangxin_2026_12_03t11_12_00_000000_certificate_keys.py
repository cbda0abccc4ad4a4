"""The certificates' composite unique key (see competition/results/tables.py): one
certificate of each kind per entry."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T11:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "certificate_keys"

INDEXES = [
    # (name, table, columns, unique, where)
    ("uq_certificate_entry_kind", "certificate", ("entry", "kind"), True, ""),
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
