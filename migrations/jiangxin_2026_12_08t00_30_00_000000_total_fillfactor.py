"""PostgreSQL: `total` keeps more than half of each page free (fillfactor 45), so a recompute,
which replaces every total of its trades by an upsert, writes each new row version on its own
page (a HOT update) instead of on a new page with a new entry in each of the table's indexes.

Why: the province's 196,000 totals recomputed on a kept bench database (bench/totals.py --keep),
three runs each: the write 1.41–1.72 s → 0.76–0.82 s, the whole recompute 4.98–5.42 s →
3.64–4.39 s (issue 13's target: 5 s). The table twice as large (~30 MB for 200,000 totals) is
the price. Pages written before this migration keep their fill until a VACUUM FULL rewrites them;
new pages get the room at once. SQLite has no such setting (and no index entries to spare: it
rewrites the row in place).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-08T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "total_fillfactor"

FILLFACTOR = 45  # a full replace needs room for a second version of every row on its page


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        if RawTable._meta.db.engine_type == "postgres":
            await RawTable.raw(f"ALTER TABLE total SET (fillfactor = {FILLFACTOR})")

    async def run_backwards():
        if RawTable._meta.db.engine_type == "postgres":
            await RawTable.raw("ALTER TABLE total RESET (fillfactor)")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
