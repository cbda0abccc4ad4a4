"""Command-line verbs of this area, registered by competition/cli.py:
`jiangxin import signin FILE --competition CODE [--trade CODE] [--commit] [--report …]`,
`jiangxin draw run --competition CODE --trade CODE [--second-layer]` and
`jiangxin draw verify --competition CODE --trade CODE` (exit status 1 on a mismatch)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from competition.config import ConfigError, get_settings

CLI_ACTOR_NAME = "cli"


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _setup(lang: str) -> None:
    try:
        get_settings()
    except ConfigError as exc:
        _fail(str(exc))
    from competition.i18n import current_locale

    current_locale.set(lang)


async def _ids(competition_code: str, trade_code: str | None) -> tuple[int, int | None]:
    from competition.errors import NotFound
    from competition.tables import Competition, Trade

    row = (
        await Competition.select(Competition.id).where(Competition.code == competition_code).first()
    )
    if row is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    if trade_code is None:
        return row["id"], None
    trade = (
        await Trade.select(Trade.id)
        .where((Trade.competition == row["id"]) & (Trade.code == trade_code.upper()))
        .first()
    )
    if trade is None:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return row["id"], trade["id"]


def _run_async(coro_fn):
    from competition import db
    from competition.errors import DomainError
    from competition.i18n import translate_error

    async def main():
        await db.start_pool()
        try:
            return await coro_fn()
        finally:
            await db.close_pool()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        _fail(translate_error(exc))
        raise


LANG = click.option(
    "--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
    help="Language of messages and reports.",
)  # fmt: skip


@click.command(
    "signin",
    help=(
        "Check a paper sign-in sheet (签到表: 准考证号, 到场/缺考, 原因) as the attendance page "
        "does — and, with --commit, store it in one transaction. One bad row stores nothing; "
        "problems exit with status 1."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--trade", "trade_code", default=None, help="Only tickets of this trade.")
@click.option("--commit", is_flag=True, help="Store the file (default: dry run only).")
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write a report: .xlsx (the rows with an 错误 column) or .json.",
)  # fmt: skip
@LANG
def import_signin(
    file: Path,
    competition_code: str,
    trade_code: str | None,
    commit: bool,
    report_path: Path | None,
    lang: str,
) -> None:
    _setup(lang)
    if report_path is not None and report_path.suffix.lower() not in (".json", ".xlsx"):
        _fail("--report must end in .xlsx or .json.")

    async def work():
        from competition.audit import Actor
        from scoring.draw import signin_sheet

        competition_id, trade_id = await _ids(competition_code, trade_code)
        plan = await signin_sheet.read_plan(competition_id, file.read_bytes(), trade_id=trade_id)
        result = None
        if commit and not plan.problems:
            result = await signin_sheet.commit(
                competition_id, plan, actor=Actor(user_id=None, name=CLI_ACTOR_NAME),
                filename=file.name,
            )  # fmt: skip
        content = b""
        if report_path is not None and report_path.suffix.lower() == ".json":
            content = json.dumps(
                {
                    "rows": len(plan.rows) + len({p.row for p in plan.problems}),
                    "valid": len(plan.rows),
                    "problems": [
                        {"row": p.row, "column": p.column, "code": p.code, "text": p.text()}
                        for p in plan.problems
                    ],
                    "imported": result is not None,
                },
                ensure_ascii=False,
                indent=1,
            ).encode()
        elif report_path is not None:
            content = signin_sheet.report(plan)
        return plan, result, content

    plan, result, content = _run_async(work)
    if report_path is not None:
        report_path.write_bytes(content)
        click.echo(f"Report written to {report_path}.", err=True)
    click.echo(f"rows {len(plan.rows)} (present {plan.present}, absent {plan.absent}), "
               f"problems {len(plan.problems)}")  # fmt: skip
    for problem in plan.problems[:20]:
        click.echo(f"  row {problem.row}: {problem.labelled()}")
    if len(plan.problems) > 20:
        click.echo(f"  … {len(plan.problems) - 20} more problems (see --report)")
    if plan.problems:
        _fail("Nothing was imported: fix the problems and run again.")
    if result is not None:
        click.echo(f"Imported: {result.rows} attendance records in {result.trades} trades.")
    else:
        click.echo("Dry run: nothing was written. Add --commit to import.")


@click.group("draw", help="The draw (抽签) of a trade: run it, or verify it from its seed.")
def draw_group() -> None:
    """`jiangxin draw run` and `jiangxin draw verify`, below."""


@draw_group.command("run", help="Draw the trade (its check-in must be closed).")
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--trade", "trade_code", required=True, help="Trade code.")
@click.option("--second-layer", is_flag=True, help="Add a second layer of codes (二次加密).")
@LANG
def draw_run(competition_code: str, trade_code: str, second_layer: bool, lang: str) -> None:
    _setup(lang)

    async def work():
        from competition.audit import Actor
        from scoring.draw import service

        competition_id, trade_id = await _ids(competition_code, trade_code)
        assert trade_id is not None
        return await service.run_draw(
            competition_id, trade_id, actor=Actor(user_id=None, name=CLI_ACTOR_NAME),
            second_layer=second_layer,
        )  # fmt: skip

    result = _run_async(work)
    click.echo(f"Drawn: {result.present} present, {result.absent} absent; "
               f"algorithm {result.algorithm}, seed {result.seed}")  # fmt: skip
    for s in result.sessions:
        click.echo(f"  {s['code']} {s['name']}: {s['drawn']} of {s['stations']} stations")


@draw_group.command("verify", help="Re-run the trade's draw from its seed; exit 1 on a mismatch.")
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--trade", "trade_code", required=True, help="Trade code.")
@LANG
def draw_verify(competition_code: str, trade_code: str, lang: str) -> None:
    _setup(lang)

    async def work():
        from competition.audit import Actor
        from scoring.draw import service

        competition_id, trade_id = await _ids(competition_code, trade_code)
        assert trade_id is not None
        return await service.verify_draw(
            competition_id, trade_id, actor=Actor(user_id=None, name=CLI_ACTOR_NAME)
        )

    report = _run_async(work)
    click.echo(f"algorithm {report.algorithm}, seed {report.seed}")
    click.echo(f"reproduced: {report.identical} of {report.slots} slots identical")
    for m in report.mismatches[:20]:
        click.echo(f"  position {m['position']}: {m['problem']}")
    if not report.reproduced:
        _fail("The stored draw does not match its seed and inputs.")


COMMANDS: dict[str, list[click.Command]] = {"import": [import_signin], "main": [draw_group]}
