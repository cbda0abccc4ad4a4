"""The results' composite unique keys (see competition/results/tables.py): one version
number per trade, and at most one appeal waiting for a ruling per entry (a partial index, the
same on both databases).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T22:23:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "result_keys"

INDEXES = [
    # (name, table, columns, unique, where)
    ("uq_result_publication_trade_version", "result_publication", ("trade", "version"), True, ""),
    ("uq_appeal_entry_filed", "appeal", ("entry",), True, "status = 'filed'"),
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
