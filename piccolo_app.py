"""The one Piccolo app: every table of the three domain packages, one migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_NAME = "jiangxin"
TABLE_MODULES = [
    "competition.tables",
    "registration.tables",
    "scoring.tables",
    "competition.jobs.tables",
    "competition.results.tables",
]

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=str(Path(__file__).resolve().parent / "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
