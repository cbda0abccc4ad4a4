"""The check-in clerk role (检录员): a new choice of `role_grant.role`. Choices live in the code,
not the database, so neither SQLite nor PostgreSQL runs any DDL here."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Varchar

ID = "2026-12-01T22:05:26:271758"
VERSION = "1.38.0"
DESCRIPTION = "checkin_clerk_role"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="jiangxin", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="RoleGrant",
        tablename="role_grant",
        column_name="role",
        db_column_name="role",
        params={
            "choices": Enum(
                "Role",
                {
                    "organizer": "organizer",
                    "delegation_admin": "delegation_admin",
                    "judge": "judge",
                    "chief_judge": "chief_judge",
                    "supervisor": "supervisor",
                    "contestant": "contestant",
                    "checkin_clerk": "checkin_clerk",
                },
            )
        },
        old_params={
            "choices": Enum(
                "Role",
                {
                    "organizer": "organizer",
                    "delegation_admin": "delegation_admin",
                    "judge": "judge",
                    "chief_judge": "chief_judge",
                    "supervisor": "supervisor",
                    "contestant": "contestant",
                },
            )
        },
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
