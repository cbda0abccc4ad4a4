from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T22:22:59:474797"
VERSION = "1.38.0"
DESCRIPTION = "import_batch_plan"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    manager.add_column(
        table_class_name="ImportBatch",
        tablename="import_batch",
        column_name="plan",
        db_column_name="plan",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": b"",
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

    return manager
