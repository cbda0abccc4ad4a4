"""Owners for the person records that exist already (registration/people.py): a record no
account holds belongs to the delegation of its first entry."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T21:51:43:000000"
VERSION = "1.38.0"
DESCRIPTION = "person_owners"

BACKFILL = (
    'UPDATE "person" SET "owner_delegation" = ('
    'SELECT e."delegation" FROM "entry" e WHERE e."person" = "person"."id" '
    'ORDER BY e."id" LIMIT 1) WHERE "user" IS NULL AND "owner_delegation" IS NULL'
)


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        await RawTable.raw(BACKFILL)

    manager.add_raw(run)
    return manager
