"""The index of an entry's trade alone, dropped: the next migration's (trade, status, session)
serves every lookup by trade as well (its first column).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-06T23:20:27:018071"
VERSION = "1.38.0"
DESCRIPTION = "entry_trade_index"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="jiangxin", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Entry",
        tablename="entry",
        column_name="trade",
        db_column_name="trade",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    return manager
