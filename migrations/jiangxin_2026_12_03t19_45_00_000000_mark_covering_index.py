"""The marks' lookup by slot, widened to (slot, aspect, judge, value_hundredths).

It replaces the index of the slot alone (dropped by the migration before this one), so a mark
saved writes as many index entries as before. Every lookup by slot uses it as it used that one,
and the totals' pass over a competition's marks — grouped by slot and aspect, reading the judge
and the value — is answered from the index alone, without a visit to the table per mark
(scoring/totals.py; bench/totals.py measures it).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T19:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mark_covering_index"

NAME = "ix_mark_slot_aspect_judge_value"


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            f'CREATE INDEX IF NOT EXISTS {NAME} ON "mark" '
            '("slot", "aspect", "judge", "value_hundredths")'
        )

    async def run_backwards():
        await RawTable.raw(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
