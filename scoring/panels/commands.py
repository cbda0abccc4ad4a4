"""Command-line verbs of this area, registered by competition/cli.py:
`jiangxin import judges FILE --competition CODE [--commit] [--report report.xlsx|.json]`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from competition.config import ConfigError, get_settings


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


async def _run(file: Path, competition_code: str, commit: bool, report_path: Path | None):
    from competition import db
    from competition.audit import Actor
    from competition.errors import NotFound
    from competition.tables import Competition
    from scoring.panels import sheet

    await db.start_pool()
    try:
        row = (
            await Competition.select(Competition.id)
            .where(Competition.code == competition_code)
            .first()
        )
        if row is None:
            raise NotFound("The competition was not found.", code="competition_not_found")
        plan = await sheet.read_plan(row["id"], file.read_bytes())
        result = None
        if commit and not plan.problems:
            result = await sheet.commit(row["id"], plan, actor=Actor(user_id=None, name="cli"))
        content = b""
        if report_path is not None:
            if report_path.suffix.lower() == ".json":
                content = json.dumps(
                    {
                        "rows": len(plan.judges) + len({p.row for p in plan.problems}),
                        "valid": len(plan.judges),
                        "problems": [
                            {"row": p.row, "column": p.column, "code": p.code, "text": p.text()}
                            for p in plan.problems
                        ],
                        "imported": result is not None,
                    },
                    ensure_ascii=False,
                    indent=1,
                ).encode()
            else:
                content = sheet.report(plan)
        return plan, result, content
    finally:
        await db.close_pool()


@click.command(
    "judges",
    help=(
        "Check a judge list (裁判名单) as the judges page does — and, with --commit, store it in "
        "one transaction: judges, accounts (QR badge sign-in) and panel places. One bad row "
        "stores nothing; problems exit with status 1."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--commit", is_flag=True, help="Store the file (default: dry run only).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a report: .xlsx (the rows with an 错误 column) or .json.",
)
@click.option(
    "--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
    help="Language of messages and reports.",
)  # fmt: skip
def import_judges(
    file: Path, competition_code: str, commit: bool, report_path: Path | None, lang: str
) -> None:
    try:
        get_settings()
    except ConfigError as exc:
        _fail(str(exc))
    if report_path is not None and report_path.suffix.lower() not in (".json", ".xlsx"):
        _fail("--report must end in .xlsx or .json.")
    from competition.errors import DomainError
    from competition.i18n import current_locale, translate_error

    current_locale.set(lang)
    try:
        plan, result, content = asyncio.run(_run(file, competition_code, commit, report_path))
    except DomainError as exc:
        _fail(translate_error(exc))
        raise
    if report_path is not None:
        report_path.write_bytes(content)
        click.echo(f"Report written to {report_path}.", err=True)
    click.echo(
        f"judges {len(plan.judges)}, panel places {plan.assignments}, problems {len(plan.problems)}"
    )
    for problem in plan.problems[:20]:
        click.echo(f"  row {problem.row}: {problem.labelled()}")
    if len(plan.problems) > 20:
        click.echo(f"  … {len(plan.problems) - 20} more problems (see --report)")
    if plan.problems:
        _fail("Nothing was imported: fix the problems and run again.")
    if result is not None:
        click.echo(
            f"Imported: {result.created} new accounts, {result.linked} existing accounts linked, "
            f"{result.assignments} panel places."
        )
        for name, username in result.usernames[:50]:
            click.echo(f"  {username}  {name}")
    else:
        click.echo("Dry run: nothing was written. Add --commit to import.")


COMMANDS: dict[str, list[click.Command]] = {"import": [import_judges], "main": []}
