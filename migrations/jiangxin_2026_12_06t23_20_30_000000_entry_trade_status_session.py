"""An entry's (trade, status, session), replacing the index of the trade alone (dropped by the
migration before this one), so an imported entry writes as many index entries as before.

The draw reads each trade's approved entries with their sessions (scoring/draw/attendance.py):
from this index alone, without a visit to the entry row (wide, and scattered over the table,
since a province's entries arrive mixed across trades) — 0.96 → 0.51 s for the 200,000 of a
province (bench/pipeline.py). A review's change of status now moves the entry in this index too.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T23:20:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry_trade_status_session"

NAME = "ix_entry_trade_status_session"


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            f'CREATE INDEX IF NOT EXISTS {NAME} ON "entry" ("trade", "status", "session")'
        )

    async def run_backwards():
        await RawTable.raw(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
