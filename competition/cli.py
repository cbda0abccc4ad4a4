"""The `jiangxin` command: migrate, serve, worker, backup, restore, demo, rehearse, createuser,
import, draw, export."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import click

from competition.config import ConfigError, get_settings


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def _settings():
    try:
        return get_settings()
    except ConfigError as exc:
        _fail(f"Configuration error: {exc}")
        raise


# Any 64-bit number the app uses for nothing else: `jiangxin migrate` holds it while it runs.
MIGRATE_LOCK = 0x4A49414E47
# How long `jiangxin serve` waits for the database to say whether it is migrated.
READY_TIMEOUT_S = 15


@asynccontextmanager
async def _one_migration_at_a_time():
    """Two `jiangxin migrate` started at once (two machines' deploy scripts) must not both apply
    the same migration: on PostgreSQL the second waits for the first's session advisory lock,
    then finds nothing left to do. One SQLite file is migrated from one machine."""
    target = get_settings().database
    if target.engine != "postgres":
        yield
        return
    import asyncpg

    connection = await asyncpg.connect(target.postgres_dsn)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
        yield
    finally:
        await connection.close()  # which releases the lock


async def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from competition import db
    from piccolo_app import APP_NAME

    async with _one_migration_at_a_time():
        result = await run_forwards(APP_NAME)
    if not result.success:
        raise click.ClickException(f"migrations failed: {result.message}")
    await db.prepare_database()


def _applied_sqlite(path: str, app: str) -> set[str] | None:
    import sqlite3

    if not Path(path).exists():
        return None  # not created: nothing applied (and the check does not create it)
    connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'"
        ).fetchone()
        if found is None:
            return None
        rows = connection.execute("SELECT name FROM migration WHERE app_name = ?", (app,))
        return {row[0] for row in rows}
    finally:
        connection.close()


async def _applied_postgres(dsn: str, app: str) -> set[str] | None:
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=READY_TIMEOUT_S)
    try:
        if await connection.fetchval("SELECT to_regclass('migration')") is None:
            return None
        rows = await connection.fetch("SELECT name FROM migration WHERE app_name = $1", app)
        return {row["name"] for row in rows}
    finally:
        await connection.close()


def _pending_migrations(settings) -> list[str]:
    """The migrations of this version not applied to the database, oldest first. It only reads
    (Piccolo's own check creates its table, and opening a missing SQLite file creates it)."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    from piccolo_app import APP_CONFIG, APP_NAME

    manager = BaseMigrationManager()
    modules = manager.get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    known = manager.get_migration_ids(modules)
    target = settings.database
    if target.engine == "sqlite":
        applied = _applied_sqlite(target.sqlite_path, APP_NAME)
    else:
        coroutine = _applied_postgres(target.postgres_dsn, APP_NAME)
        applied = asyncio.run(asyncio.wait_for(coroutine, READY_TIMEOUT_S + 1))
    return [name for name in known if name not in (applied or set())]


def _database_state(settings) -> list[str]:
    """The pending migrations; exits with a message when the database cannot be reached."""
    from competition.backup import describe

    where = f"{settings.database.engine} database {describe(settings.database)}"
    try:
        return _pending_migrations(settings)
    except TimeoutError:
        _fail(f"The {where} did not answer within {READY_TIMEOUT_S} s.")
    except Exception as exc:  # any driver's failure to connect, said in one line
        _fail(f"Cannot reach the {where}: {type(exc).__name__}: {exc}")
    raise AssertionError  # not reached: _fail exits


def _not_migrated(pending: list[str]) -> str:
    return (
        f"The database is not migrated: {len(pending)} migration(s) of this version are not "
        f"applied (the newest: {pending[-1]}). Run `jiangxin migrate` once, from one machine, "
        "before starting the servers."
    )


@click.group(help="Jiangxin (匠心): run a vocational skills competition end to end.")
def main() -> None:
    """The command group; each sub-command below does the work."""


@main.command(
    help=(
        "Create or upgrade the database schema (runs pending migrations). A deploy runs it once, "
        "then starts the servers; `jiangxin serve` refuses a database that is not migrated."
    )
)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: exit with status 1 if migrations are pending, 0 if none.",
)
def migrate(check: bool) -> None:
    settings = _settings()
    if check:
        pending = _database_state(settings)
        if pending:
            _fail(_not_migrated(pending))
        click.echo("No migrations pending: the database is up to date.")
        return
    click.echo(f"Migrating {settings.database.engine} database …")
    asyncio.run(_migrate())
    click.secho("Database is up to date.", fg="green")


def _notice(message: str, *, warning: bool = False) -> None:
    """A line of `jiangxin serve` or `worker` about how it runs: on the terminal, or with
    JIANGXIN_LOG_FORMAT=json a log record like every other line of the server's output."""
    if get_settings().log_format == "json":
        import logging

        from competition.serving import configure_logging

        configure_logging()
        logging.getLogger("jiangxin.cli").log(logging.WARNING if warning else logging.INFO, message)
    else:
        click.secho(message, fg="yellow" if warning else None)


def _serve(host: str, port: int, workers: int, *, job_worker: bool = True) -> None:
    import subprocess

    import uvicorn

    from competition.serving import uvicorn_options

    # The background jobs' worker runs beside the web server as its own process (killing it does
    # not touch the web server, nor the other way round; the queue keeps what it had not done).
    helper = (
        subprocess.Popen(  # noqa: S603 - this program, fixed arguments
            [sys.executable, "-m", "competition.cli", "worker", "--parent-pid", str(os.getpid())]
        )
        if job_worker
        else None
    )
    try:
        uvicorn.run("competition.app:create_app", **uvicorn_options(host, port, workers))
    finally:
        if helper is not None:
            helper.terminate()
            try:
                helper.wait(timeout=15)
            except subprocess.TimeoutExpired:
                helper.kill()


def _job_kinds() -> None:
    """The packages that register background jobs (competition.jobs.kinds), and any named in
    JIANGXIN_JOB_MODULES (comma-separated; the fault tests add a slow job this way)."""
    import importlib

    import competition.results.jobs  # noqa: F401

    for name in filter(None, os.environ.get("JIANGXIN_JOB_MODULES", "").split(",")):
        importlib.import_module(name.strip())


@main.command(help="Run background jobs (whole-competition exports, certificates) from the queue.")
@click.option("--concurrency", type=int, default=2, show_default=True, help="Jobs at once.")
@click.option("--burst", is_flag=True, help="Run what is queued, then stop.")
@click.option("--parent-pid", type=int, default=None, hidden=True)
def worker(concurrency: int, burst: bool, parent_pid: int | None) -> None:
    settings = _settings()
    _job_kinds()
    from competition.jobs import queue
    from competition.jobs import worker as jobs_worker
    from competition.serving import configure_logging

    configure_logging()  # text, or JSON lines with JIANGXIN_LOG_FORMAT=json
    # SAQ logs each job's arguments at INFO: only a row id here, never personal data.
    _notice(f"Background worker on {queue.describe(settings.queue_url)} ({queue.queue_name()})")
    asyncio.run(jobs_worker.run(concurrency=concurrency, burst=burst, parent_pid=parent_pid))


@main.command(
    help=(
        "Serve the web app. Run `jiangxin migrate` first: serve refuses to start on a database "
        "with migrations pending, or one it cannot reach."
    )
)
@click.option("--host", default=None, help="Interface to listen on (JIANGXIN_HOST).")
@click.option("--port", type=int, default=None, help="Port (JIANGXIN_PORT).")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Worker processes; use PostgreSQL for more than one.",
)
@click.option(
    "--no-job-worker",
    is_flag=True,
    help="Do not start a background-job worker beside the server (run `jiangxin worker` apart).",
)
def serve(host: str | None, port: int | None, workers: int, no_job_worker: bool) -> None:
    settings = _settings()
    # Migrating is a deploy step of its own (`jiangxin migrate`, once): servers started on several
    # machines, each with several workers, would otherwise race to change the schema.
    pending = _database_state(settings)
    if pending:
        _fail(_not_migrated(pending))
    if workers > 1 and settings.database.engine == "sqlite":
        _notice(
            "Several workers over one SQLite file work, but writes queue; use PostgreSQL for load.",
            warning=True,
        )
    if settings.cookie_secure:
        _notice("Cookies are HTTPS-only (JIANGXIN_COOKIE_SECURE=1): serve behind TLS.")
    if settings.trusted_proxies:
        proxies = ", ".join(settings.trusted_proxies)
        _notice(f"Client addresses are read from X-Forwarded-For sent by {proxies}.")
    _serve(host or settings.host, port or settings.port, workers, job_worker=not no_job_worker)


@main.command(
    help=(
        "Back up the whole database into FILE, safely while the servers run: SQLite through its "
        "online backup API, PostgreSQL through pg_dump --format=custom."
    )
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    settings = _settings()
    from competition import backup as backups

    started = time.monotonic()
    try:
        done = backups.backup(settings.database, file)
    except backups.BackupError as exc:
        _fail(str(exc))
        raise
    click.secho(
        f"Backed up the {settings.database.engine} database {backups.describe(settings.database)} "
        f"({done.tables} tables) into {done.path}: {done.size / 1e6:.1f} MB in "
        f"{time.monotonic() - started:.1f} s.",
        fg="green",
    )


@main.command(
    help=(
        "Restore FILE, made by `jiangxin backup`, into the database DATABASE_URL names, which "
        "must be new and empty (a new SQLite path; for PostgreSQL, made with createdb). Stop the "
        "servers first; run `jiangxin migrate` after, if the backup is of an older version."
    )
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(file: Path) -> None:
    settings = _settings()
    from competition import backup as backups

    started = time.monotonic()
    try:
        done = backups.restore(file, settings.database)
    except backups.BackupError as exc:
        _fail(str(exc))
        raise
    click.secho(
        f"Restored {file} ({done.tables} tables) into the {settings.database.engine} database "
        f"{backups.describe(settings.database)} in {time.monotonic() - started:.1f} s.",
        fg="green",
    )
    pending = _database_state(settings)
    if pending:
        click.secho(
            f"The backup is of an older version: {len(pending)} migration(s) to apply. "
            "Run `jiangxin migrate`, then start the servers.",
            fg="yellow",
        )


# Where the demo competition stands after `jiangxin demo --until …`.
DEMO_STANDS = {
    "registration": "It stands in registration, open.",
    "draw": "It stands in check-in and draw: 焊工, 电工, 装配钳工 and 拉面师 are drawn.",
    "marks": (
        "It stands in competing and scoring: 焊工 being marked (a sheet returned for a re-mark), "
        "拉面师 marks complete with disagreement flags, 装配钳工 locked, 电工 not marked yet."
    ),
    "results": (
        "It stands in competing and scoring, with results: 焊工 being marked (a sheet returned "
        "for a re-mark), 拉面师 marks complete with disagreement flags (lock, decrypt, review and "
        "publish it from the pages), 电工 not marked yet, and 装配钳工 decrypted and published "
        "on the notice board with one appeal waiting for the supervisor."
    ),
}


@main.command(help="Load the demo competition and serve it with one login per role.")
@click.option("--host", default=None, help="Interface to listen on (JIANGXIN_HOST).")
@click.option("--port", type=int, default=None, help="Port (JIANGXIN_PORT).")
@click.option("--no-serve", is_flag=True, help="Only migrate and load the data.")
@click.option(
    "--until",
    type=click.Choice(["registration", "draw", "marks", "results"]),
    default="results",
    show_default=True,
    help=(
        "How far the demo competition goes: registration (open, contestants in every status), "
        "draw (also marking schemes, judges and panels, check-in and several trades drawn) or "
        "marks (also competing, the drawn trades marked: partly, signed, flagged, locked) or "
        "results (also one trade decrypted, reviewed and published, with an appeal)."
    ),
)
def demo(host: str | None, port: int | None, no_serve: bool, until: str) -> None:
    # The demo is served over plain HTTP on this machine, so cookies cannot be HTTPS-only.
    os.environ.setdefault("JIANGXIN_COOKIE_SECURE", "0")
    settings = _settings()
    from competition.demo.loader import DEMO_PASSWORD, load_demo
    from registration.demo import load_demo_registrations

    async def prepare():
        await _migrate()
        summary = await load_demo()
        # The registered contestants in every status, so every page shows something real.
        registrations = await load_demo_registrations(summary.competition_id)
        if until in ("draw", "marks", "results"):
            from scoring.demo import load_demo_scoring

            registrations += await load_demo_scoring(
                summary.competition_id, marks=until in ("marks", "results")
            )
        if until == "results":
            from competition.results.demo import load_demo_results

            registrations += await load_demo_results(summary.competition_id)
        return summary, registrations

    click.echo(f"Preparing the demo on {settings.database.engine} …")
    summary, registrations = asyncio.run(prepare())
    host = host or settings.host
    port = port or settings.port
    click.secho(
        f"\nDemo competition ready ({summary.changes + registrations} records written).", fg="green"
    )
    click.echo(DEMO_STANDS[until])
    click.echo(
        f"Open http://{host}:{port}/ and sign in with one of these "
        f"(password for all: {DEMO_PASSWORD}):\n"
    )
    for login in summary.logins:
        scope = f"  [{login.scope}]" if login.scope else ""
        click.echo(f"  {login.role.value:<17} {login.username:<12} {login.display_name}{scope}")
    click.echo("")
    if not no_serve:
        _serve(host, port, 1)


@main.command(
    help=(
        "Rehearse a competition from a directory of CSV files (see the README's Rehearsal "
        "section): structure, registrations, schemes, judges, sign-in, the draw, marks, theory "
        "and oral scores, penalties and times go through the product's imports, then the lock, "
        "decryption and ranking; writes the results export."
    )
)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--competition", "competition_code", required=True,
    help="The code of the competition the rehearsal creates (it must not exist).",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The results file (default: results.csv or results.xlsx in DIRECTORY).",
)  # fmt: skip
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
def rehearse(directory: Path, competition_code: str, fmt: str, output: Path | None, lang: str):
    _settings()
    from competition import db
    from competition.errors import DomainError
    from competition.i18n import current_locale, translate_error
    from competition.results.rehearsal import rehearse as run_rehearsal

    current_locale.set(lang)

    async def run():
        await _migrate()
        await db.start_pool()
        try:
            return await run_rehearsal(
                directory, competition_code.strip(), output=output, fmt=fmt,
                progress=lambda line: click.echo(f"  {line}", err=True),
            )  # fmt: skip
        finally:
            await db.close_pool()

    started = time.monotonic()
    try:
        done = asyncio.run(run())
    except DomainError as exc:
        _fail(translate_error(exc))
        raise
    click.echo(
        f"Rehearsal {competition_code}: {done.trades} trades, {done.ranked:,} contestants ranked "
        f"in {time.monotonic() - started:.1f} s; results in {done.output}."
    )


@main.command(help="Create a user with a role, e.g. the first organizer.")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        [
            "organizer",
            "delegation_admin",
            "checkin_clerk",
            "encryption",
            "judge",
            "chief_judge",
            "supervisor",
            "contestant",
        ]
    ),
)
@click.option("--display-name", default="", help="Name shown in the app (default: username).")
@click.option(
    "--password", default=None, help="Password (prompted for if omitted; avoid on shared machines)."
)
@click.option(
    "--competition",
    "competition_code",
    default=None,
    help="Competition code, to scope the role to one competition.",
)
@click.option(
    "--delegation", "delegation_code", default=None, help="Delegation code (delegation_admin)."
)
@click.option(
    "--trade", "trade_code", default=None, help="Trade code (judge, chief_judge, checkin_clerk)."
)
@click.option(
    "--venue",
    "venue_code",
    default=None,
    help="Venue code (checkin_clerk, with --competition): the desks of that venue.",
)
def createuser(
    username: str,
    role: str,
    display_name: str,
    password: str | None,
    competition_code: str | None,
    delegation_code: str | None,
    trade_code: str | None,
    venue_code: str | None,
) -> None:
    _settings()
    from competition import accounts
    from competition.audit import Actor
    from competition.errors import DomainError
    from competition.i18n import translate_error
    from competition.tables import Role

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def run() -> int:
        grant = await accounts.resolve_grant(
            Role(role),
            competition_code=competition_code,
            delegation_code=delegation_code,
            trade_code=trade_code,
            venue_code=venue_code,
        )
        return await accounts.create_user(
            username,
            display_name or username,
            password,
            actor=Actor(user_id=None, name="cli"),
            grants=[grant],
        )

    try:
        user_id = asyncio.run(run())
    except DomainError as exc:
        _fail(translate_error(exc))
    click.secho(f"Created user {username} (id {user_id}) with role {role}.", fg="green")


@main.group("import", help="Import data from a spreadsheet file (xlsx or CSV).")
def import_group() -> None:
    """The import commands; each one below reads one kind of file."""


def _progress(message: str) -> None:
    click.echo(message, err=True)


@import_group.command(
    "registrations",
    help=(
        "Check a registration file (报名名单) as the import pages do — and, with --commit, import "
        "its valid rows in one transaction. Without --commit nothing is written (the dry run). "
        "A file that cannot be read exits with status 1."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option(
    "--delegation",
    "delegation_code",
    default=None,
    help="Delegation code: every row is for it (blank 推荐单位 cells too); else the file says.",
)
@click.option("--commit", is_flag=True, help="Import the valid rows (default: dry run only).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a report: .json (every row: number, verdict, codes, ID number), .csv or .xlsx.",
)
@click.option(
    "--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
    help="Language of messages and reports.",
)  # fmt: skip
def import_registrations(
    file: Path,
    competition_code: str,
    delegation_code: str | None,
    commit: bool,
    report_path: Path | None,
    lang: str,
) -> None:
    _settings()
    if report_path is not None and report_path.suffix.lower() not in (".json", ".csv", ".xlsx"):
        _fail("--report must end in .json, .csv or .xlsx.")
    from competition.errors import DomainError
    from competition.i18n import current_locale, translate_error

    current_locale.set(lang)
    try:
        plan, content = asyncio.run(
            _import_registrations(file, competition_code, delegation_code, commit, report_path)
        )
    except DomainError as exc:
        _fail(translate_error(exc))
        raise
    if report_path is not None:
        report_path.write_bytes(content)
        _progress(f"Report written to {report_path}.")
    counts = plan.counts
    click.echo(
        f"rows {counts.rows}, valid {counts.valid}, with problems {counts.errors}; "
        f"{'imported' if commit else 'would import'}: new {counts.new}, updated {counts.updated}, "
        f"unchanged {counts.unchanged}"
    )
    over = [q for q in plan.quota_lines if q.over]
    for q in over[:20]:
        click.echo(f"  {q.delegation} · {q.trade}: {q.candidates} candidates, {q.free} places left")
    if len(over) > 20:
        click.echo(f"  … {len(over) - 20} more delegation × trade lines with more candidates")
    for row in sorted(plan.errors)[:20]:
        click.echo(f"  row {row}: " + "；".join(p.labelled() for p in plan.errors[row]))
    if len(plan.errors) > 20:
        click.echo(f"  … {len(plan.errors) - 20} more rows with problems (see --report)")
    if not commit:
        click.echo("Dry run: nothing was written. Add --commit to import the valid rows.")


async def _import_registrations(
    file: Path,
    competition_code: str,
    delegation_code: str | None,
    commit: bool,
    report_path: Path | None,
):
    import anyio

    from competition import db
    from competition.audit import Actor
    from competition.errors import NotFound
    from competition.tables import Competition, Delegation
    from registration import imports
    from registration.imports import reports
    from registration.imports.resolve import resolve

    await db.start_pool()
    try:
        competition = (
            await Competition.select(Competition.id)
            .where(Competition.code == competition_code)
            .first()
        )
        if competition is None:
            raise NotFound("The competition was not found.", code="competition_not_found")
        cid = competition["id"]
        delegation_id = None
        if delegation_code is not None:
            delegation = (
                await Delegation.select(Delegation.id)
                .where((Delegation.competition == cid) & (Delegation.code == delegation_code))
                .first()
            )
            if delegation is None:
                raise NotFound("The delegation was not found.", code="delegation_not_found")
            delegation_id = delegation["id"]
        data = file.read_bytes()
        started = time.perf_counter()
        _progress(f"Reading {file.name} ({len(data) / 1e6:.1f} MB) …")
        table = await anyio.to_thread.run_sync(imports.read_upload, data)
        _progress(f"  read in {time.perf_counter() - started:.1f} s; checking every row …")
        context = await imports.load_context(cid, delegation_id, organizer=True)
        checked = await anyio.to_thread.run_sync(imports.check_rows, table, context)
        if report_path is None or report_path.suffix.lower() != ".xlsx":
            del table
        _progress(
            f"  {checked.rows} rows checked in {time.perf_counter() - started:.1f} s; "
            "against the database …"
        )
        actor = Actor(user_id=None, name="cli")
        if commit:
            async with db.transaction():
                plan = await imports.commit(
                    checked, data, competition_id=cid, delegation_id=delegation_id,
                    actor=actor, organizer=True, with_quotas=True,
                )  # fmt: skip
            _progress(f"  imported in {time.perf_counter() - started:.1f} s.")
        else:
            plan = await resolve(checked, context)
            _progress(f"  done in {time.perf_counter() - started:.1f} s.")
        content = b""
        if report_path is not None:
            suffix = report_path.suffix.lower()
            if suffix == ".json":
                content = reports.json_report(plan)
            elif suffix == ".csv":
                content = reports.csv_report(plan)
            else:
                problems = [p for r in sorted(plan.errors) for p in plan.errors[r]]
                content = await anyio.to_thread.run_sync(
                    imports.report_workbook, table, plan.header_row, problems
                )
        return plan, content
    finally:
        await db.close_pool()


def _scoring_commands() -> None:
    """The scoring package's imports (schemes, judges, sign-in sheets, marks, theory scores,
    penalties, completion times) and the draw."""
    from scoring.draw.commands import COMMANDS as draw_commands
    from scoring.imports.commands import COMMANDS as score_commands
    from scoring.panels.commands import COMMANDS as panel_commands
    from scoring.schemes.commands import COMMANDS as scheme_commands

    for commands in (scheme_commands, panel_commands, draw_commands, score_commands):
        for command in commands["import"]:
            import_group.add_command(command)
        for command in commands["main"]:
            main.add_command(command)


_scoring_commands()


def _results_commands() -> None:
    """The results' exports (competition/results/commands.py)."""
    from competition.results.commands import COMMANDS

    for command in COMMANDS["main"]:
        main.add_command(command)


_results_commands()


if __name__ == "__main__":
    main()
