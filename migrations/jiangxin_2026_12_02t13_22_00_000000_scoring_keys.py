"""Scoring's composite unique keys (see scoring/tables.py).

Unique indexes rather than constraints: SQLite cannot ALTER TABLE … ADD CONSTRAINT. Partial
indexes (WHERE …) mean the same on both databases.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T13:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scoring_keys"

INDEXES = [
    # (name, table, columns, unique, where)
    ("uq_marking_scheme_trade_version", "marking_scheme", ("trade", "version"), True, ""),
    ("uq_criterion_scheme_code", "criterion", ("scheme", "code"), True, ""),
    ("uq_aspect_scheme_code", "aspect", ("scheme", "code"), True, ""),
    ("uq_judge_competition_user", "judge", ("competition", "user"), True, ""),
    ("uq_panel_member_trade_judge", "panel_member", ("trade", "judge"), True, ""),
    # One chief judge (裁判长) a trade.
    ("uq_panel_member_chief", "panel_member", ("trade",), True, "is_chief"),
    ("uq_session_judge_session_judge", "session_judge", ("session", "judge"), True, ""),
    ("uq_draw_slot_trade_code", "draw_slot", ("trade", "code"), True, ""),
    ("uq_draw_slot_trade_judge_code", "draw_slot", ("trade", "judge_code"), True,
     "judge_code <> ''"),
    ("uq_draw_slot_session_station", "draw_slot", ("session", "station"), True, ""),
]


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        for name, table, columns, unique, where in INDEXES:
            cols = ", ".join(f'"{c}"' for c in columns)
            kind = "UNIQUE INDEX" if unique else "INDEX"
            condition = f" WHERE {where}" if where else ""
            await RawTable.raw(
                f'CREATE {kind} IF NOT EXISTS {name} ON "{table}" ({cols}){condition}'
            )

    async def run_backwards():
        for name, *_rest in INDEXES:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
