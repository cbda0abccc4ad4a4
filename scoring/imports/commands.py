"""Command-line verbs of the score imports, registered by competition/cli.py:
`jiangxin import marks|theory|penalties|times FILE --competition CODE [--trade CODE] [--commit]
[--report out.xlsx|.json]`, and for marks `--second FILE` (double entry) and `--sign`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from competition.config import ConfigError, get_settings

SHOWN_PROBLEMS = 20
KIND_HELP = {
    "marks": "paper score sheets (纸质评分表): 加密号, 评分项, 裁判, 分数 — each row checked "
    "like a tablet mark",
    "theory": "theory and oral scores (理论/答辩成绩): 准考证号 or 加密号, 成绩, 项目",
    "penalties": "penalties (扣分): 加密号, 分值, 类型, 原因",
    "times": "completion times (完成用时): 加密号, 用时",
}


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


async def _run(
    kind: str,
    file: Path,
    competition_code: str,
    *,
    trade_code: str | None,
    commit: bool,
    report_path: Path | None,
    second: Path | None,
    sign: bool,
):
    from competition import db
    from competition.audit import Actor
    from competition.errors import NotFound
    from competition.tables import Competition, Trade
    from scoring.imports import shared
    from scoring.imports.kinds import KINDS

    spec = KINDS[kind]
    await db.start_pool()
    try:
        row = (
            await Competition.select(Competition.id)
            .where(Competition.code == competition_code)
            .first()
        )
        if row is None:
            raise NotFound("The competition was not found.", code="competition_not_found")
        competition_id = row["id"]
        trade_id = None
        if trade_code:
            trade = (
                await Trade.select(Trade.id)
                .where((Trade.competition == competition_id) & (Trade.code == trade_code))
                .first()
            )
            if trade is None:
                raise NotFound("The trade was not found.", code="trade_not_found")
            trade_id = trade["id"]
        options: dict[str, Any] = {"trade_id": trade_id}
        if second is not None:
            options["second"] = second.read_bytes()
        plan = await spec.module.read_plan(competition_id, file.read_bytes(), **options)
        result = None
        if commit:
            extra = {"sign": sign} if kind == "marks" else {}
            actor = Actor(user_id=None, name="cli")
            if plan.problems:
                # Refused and audited like a commit on the page; the problems are listed below.
                await shared.audit_refused(
                    competition_id, kind, actor=actor, filename=file.name, problems=plan.problems
                )
            else:
                result = await spec.module.commit(
                    competition_id, plan, actor=actor, filename=file.name, **extra
                )
        content = b""
        if report_path is not None:
            if report_path.suffix.lower() == ".json":
                data = shared.report_json(plan, imported=result is not None)
                content = json.dumps(data, ensure_ascii=False, indent=1).encode()
            else:
                content = spec.module.report(plan)
        return plan, result, content
    finally:
        await db.close_pool()


def _command(kind: str) -> click.Command:
    def run(
        file: Path,
        competition_code: str,
        trade_code: str | None,
        commit: bool,
        report_path: Path | None,
        lang: str,
        second: Path | None = None,
        sign: bool = False,
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
            plan, result, content = asyncio.run(
                _run(kind, file, competition_code, trade_code=trade_code, commit=commit,
                     report_path=report_path, second=second, sign=sign)
            )  # fmt: skip
        except DomainError as exc:
            _fail(translate_error(exc))
            raise
        if report_path is not None:
            report_path.write_bytes(content)
            click.echo(f"Report written to {report_path}.", err=True)
        counts = ", ".join(f"{k} {v}" for k, v in plan.summary().items())
        click.echo(f"{kind}: {counts}, problems {len(plan.problems)}")
        for problem in plan.problems[:SHOWN_PROBLEMS]:
            where = f"file {problem.sheet} " if problem.sheet else ""
            click.echo(f"  {where}row {problem.row}: {problem.labelled()}")
        if len(plan.problems) > SHOWN_PROBLEMS:
            click.echo(f"  … {len(plan.problems) - SHOWN_PROBLEMS} more problems (see --report)")
        if plan.problems:
            _fail("Nothing was imported: fix the problems and run again.")
        if result is not None:
            done = ", ".join(f"{k} {v}" for k, v in result.summary().items() if v != "")
            click.echo(f"Imported: {done}.")
        else:
            click.echo("Dry run: nothing was written. Add --commit to import.")

    params = [
        click.Argument(["file"], type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.Option(["--competition", "competition_code"], required=True,
                     help="Competition code."),
        click.Option(["--trade", "trade_code"], default=None,
                     help="Trade code: every row is of this trade (else the 工种 column, or "
                     "the one trade that has the code)."),
        click.Option(["--commit"], is_flag=True, help="Store the file (default: dry run only)."),
        click.Option(["--report", "report_path"], type=click.Path(dir_okay=False, path_type=Path),
                     default=None,
                     help="Write a report: .xlsx (the rows with an 错误 column) or .json."),
        click.Option(["--lang"], type=click.Choice(["zh_CN", "en"]), default="zh_CN",
                     show_default=True, help="Language of messages and reports."),
    ]  # fmt: skip
    if kind == "marks":
        params += [
            click.Option(["--second"], type=click.Path(exists=True, dir_okay=False,
                         path_type=Path), default=None,
                         help="The same sheets keyed in by a second person: every cell is "
                         "compared, any difference stores nothing."),
            click.Option(["--sign"], is_flag=True,
                         help="The paper sheets were signed: sign each sheet the import "
                         "completes."),
        ]  # fmt: skip
    return click.Command(
        kind,
        callback=run,
        params=params,
        help=(
            f"Check a file of {KIND_HELP[kind]} — and, with --commit, store it in one "
            "transaction. One bad row stores nothing; problems exit with status 1."
        ),
    )


COMMANDS: dict[str, list[click.Command]] = {
    "import": [_command(kind) for kind in ("marks", "theory", "penalties", "times")],
    "main": [],
}
