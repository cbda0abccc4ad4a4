"""Indexes that a composite key already serves, dropped: a draw slot's session (the unique
(session, station)), a check-in's entry (the unique (entry, session)), a mark's slot (replaced
by the wider index of the next migration). Each was written with every row for nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-03T19:44:54:888671"
VERSION = "1.38.0"
DESCRIPTION = "slot_indexes"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="jiangxin", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="DrawSlot",
        tablename="draw_slot",
        column_name="session",
        db_column_name="session",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    manager.alter_column(
        table_class_name="CheckIn",
        tablename="check_in",
        column_name="entry",
        db_column_name="entry",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Mark",
        tablename="mark",
        column_name="slot",
        db_column_name="slot",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    return manager
