"""Person ownership and claims, a venue scope for role grants, unlimited quotas.

SQLite cannot ALTER COLUMN, so on SQLite the quota table is rebuilt with `max_entries`
nullable (the documented 12-step rebuild: new table, copy, drop, rename, indexes); PostgreSQL
runs Piccolo's own ALTER. The manager still records the change, so the migration state both
databases compare against is the same.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Integer
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Delegation(Table, tablename="delegation", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class Person(Table, tablename="person", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class User(Table, tablename="app_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class Venue(Table, tablename="venue", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-01T21:51:42:806840"
VERSION = "1.38.0"
DESCRIPTION = "ownership_claims_venue_scope_unlimited_quota"


QUOTA_SQLITE = [
    'CREATE TABLE "quota_rebuilt" ("id" INTEGER PRIMARY KEY NOT NULL, '
    '"delegation" INTEGER NOT NULL REFERENCES "delegation" ("id") ON DELETE CASCADE '
    'ON UPDATE CASCADE DEFAULT null, '
    '"trade" INTEGER NOT NULL REFERENCES "trade" ("id") ON DELETE CASCADE '
    'ON UPDATE CASCADE DEFAULT null, '
    '"max_entries" INTEGER NULL DEFAULT null)',
    'INSERT INTO "quota_rebuilt" ("id", "delegation", "trade", "max_entries") '
    'SELECT "id", "delegation", "trade", "max_entries" FROM "quota"',
    'DROP TABLE "quota"',
    'ALTER TABLE "quota_rebuilt" RENAME TO "quota"',
    'CREATE INDEX quota_delegation ON "quota" ("delegation")',
    'CREATE INDEX quota_trade ON "quota" ("trade")',
    'CREATE UNIQUE INDEX uq_quota_delegation_trade ON "quota" ("delegation", "trade")',
]


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


class _Manager(MigrationManager):
    """Runs the quota change as a table rebuild on SQLite (see the module docstring)."""

    async def _run_alter_columns(self, backwards: bool = False):
        if RawTable._meta.db.engine_type != "sqlite":
            return await super()._run_alter_columns(backwards=backwards)
        every = self.alter_columns.alter_columns
        self.alter_columns.alter_columns = [
            a for a in every if a.table_class_name != "Quota"
        ]
        try:
            await super()._run_alter_columns(backwards=backwards)
        finally:
            self.alter_columns.alter_columns = every
        if not backwards:
            for statement in QUOTA_SQLITE:
                await RawTable.raw(statement)


async def forwards():
    manager = _Manager(
        migration_id=ID, app_name="jiangxin", description=DESCRIPTION
    )

    manager.add_table(
        class_name="PersonClaim",
        tablename="person_claim",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="person",
        db_column_name="person",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Person,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="user",
        db_column_name="user",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="status",
        db_column_name="status",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 12,
            "default": "pending",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": Enum(
                "ClaimStatus",
                {
                    "pending": "pending",
                    "confirmed": "confirmed",
                    "refused": "refused",
                },
            ),
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="proof",
        db_column_name="proof",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 12,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="decided_at",
        db_column_name="decided_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PersonClaim",
        tablename="person_claim",
        column_name="decided_by",
        db_column_name="decided_by",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="RoleGrant",
        tablename="role_grant",
        column_name="venue",
        db_column_name="venue",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Venue,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Person",
        tablename="person",
        column_name="owner_delegation",
        db_column_name="owner_delegation",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Delegation,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="Quota",
        tablename="quota",
        column_name="max_entries",
        db_column_name="max_entries",
        params={"default": None, "null": True},
        old_params={"default": 0, "null": False},
        column_class=Integer,
        old_column_class=Integer,
        schema=None,
    )

    return manager
