"""PostgreSQL: a draw slot's five references are checked for the whole draw at once, not row by
row. Parents keep their protection: a trade, session, station or entry a slot names cannot be
deleted, and deleting a draw deletes its slots, as the foreign keys did.

Why: PostgreSQL checks a foreign key with a trigger a row (a query and a row lock on the
referenced row): ~6.6 µs a key, measured here by COPYing 200,000 slots into a copy of the table
with and without them (8.2 s against 1.5 s; the draw of a province 13.2 s, its target 5 s). The
draw (`scoring/draw/service.py`, the only writer of `draw_slot`) takes every value from rows it
has just read in its own transaction, with its trade's row locked FOR UPDATE from the start. A
concurrent delete of what a slot names waits for the draw's commit and is then refused by the
triggers below, whose check runs with a new snapshot after the wait: a delete of an entry or a
session takes its trade's row lock first; the stations (a venue's, shared by trades) the draw
locks itself, `FOR KEY SHARE` as a foreign key would, in one statement
(`scoring.draw.service._hold_stations`). The same guarantee as the keys.

SQLite keeps its foreign keys: there a check is an index look-up of ~0.3 µs (the five cost
0.3 s of 200,000 slots), and changing them means rebuilding the table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "draw_slot_keys"

# (column, referenced table, what a delete of the referenced row does, the referenced row's
# column naming its trade: a delete of an entry or a session first takes its trade's row lock,
# which the draw holds FOR UPDATE from its start, so it waits for a draw under way)
KEYS = (
    ("draw", "draw", "CASCADE", ""),
    ("trade", "trade", "RESTRICT", ""),
    ("entry", "entry", "RESTRICT", "trade"),
    ("session", "competition_session", "RESTRICT", "trade"),
    ("station", "station", "RESTRICT", ""),
)

_RESTRICT = """
CREATE OR REPLACE FUNCTION draw_slot_restrict() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    used boolean;
BEGIN
    IF TG_ARGV[1] <> '' THEN
        EXECUTE format('SELECT 1 FROM trade WHERE id = ($1).%I FOR SHARE', TG_ARGV[1]) USING OLD;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM draw_slot WHERE %I = $1)', TG_ARGV[0])
        INTO used USING OLD.id;
    IF used THEN
        RAISE EXCEPTION 'update or delete on table "%" violates a reference from table "draw_slot"',
            TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = 'draw_slot', COLUMN = TG_ARGV[0];
    END IF;
    RETURN OLD;
END
$$
"""

_CASCADE = """
CREATE OR REPLACE FUNCTION draw_slot_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM draw_slot WHERE draw = OLD.id;
    RETURN OLD;
END
$$
"""


class RawTable(Table):
    """Only a handle for running raw SQL inside the migration's transaction."""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jiangxin", description=DESCRIPTION)

    async def run():
        if RawTable._meta.db.engine_type != "postgres":
            return
        await RawTable.raw(_RESTRICT)
        await RawTable.raw(_CASCADE)
        for column, parent, on_delete, trade in KEYS:
            await RawTable.raw(
                f'ALTER TABLE draw_slot DROP CONSTRAINT IF EXISTS "draw_slot_{column}_fkey"'
            )
            if on_delete == "CASCADE":
                await RawTable.raw(
                    f'CREATE TRIGGER draw_slot_{column} AFTER DELETE ON "{parent}" '
                    "FOR EACH ROW EXECUTE FUNCTION draw_slot_cascade()"
                )
            else:
                await RawTable.raw(
                    f'CREATE TRIGGER draw_slot_{column} BEFORE DELETE ON "{parent}" '
                    f"FOR EACH ROW EXECUTE FUNCTION draw_slot_restrict('{column}', '{trade}')"
                )

    async def run_backwards():
        if RawTable._meta.db.engine_type != "postgres":
            return
        for column, parent, on_delete, trade in KEYS:
            await RawTable.raw(f'DROP TRIGGER IF EXISTS draw_slot_{column} ON "{parent}"')
            await RawTable.raw(
                f'ALTER TABLE draw_slot ADD CONSTRAINT "draw_slot_{column}_fkey" '
                f'FOREIGN KEY ("{column}") REFERENCES "{parent}" (id) '
                f"ON UPDATE CASCADE ON DELETE {on_delete}"
            )
        await RawTable.raw("DROP FUNCTION IF EXISTS draw_slot_restrict()")
        await RawTable.raw("DROP FUNCTION IF EXISTS draw_slot_cascade()")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
