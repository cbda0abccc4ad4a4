"""Command-line verbs of this area, registered by competition/cli.py:
`jiangxin import schemes FILE --competition CODE [--commit] [--report out.xlsx|.json]`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

SHOWN = 20


@click.command(
    "schemes",
    help=(
        "Check a marking-scheme file (评分细则, one row per aspect, a trade code column) as the "
        "import page does — and, with --commit, store every trade's scheme in one transaction. "
        "Without --commit nothing is written (the dry run). Any problem stores nothing and "
        "exits with status 1."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--commit", is_flag=True, help="Store the schemes (default: dry run only).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a report: .json (result and every problem) or .xlsx (the rows with an error "
    "column).",
)
@click.option(
    "--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
    help="Language of messages and reports.",
)  # fmt: skip
def import_schemes(
    file: Path, competition_code: str, commit: bool, report_path: Path | None, lang: str
) -> None:
    from competition.cli import _fail, _settings
    from competition.errors import DomainError
    from competition.i18n import current_locale, translate_error

    _settings()
    if report_path is not None and report_path.suffix.lower() not in (".json", ".xlsx"):
        _fail("--report must end in .json or .xlsx.")
    current_locale.set(lang)
    try:
        ok, lines, content = asyncio.run(_run(file, competition_code, commit, report_path))
    except DomainError as exc:
        _fail(translate_error(exc))
        raise
    if report_path is not None and content:
        report_path.write_bytes(content)
        click.echo(f"Report written to {report_path}.", err=True)
    for line in lines:
        click.echo(line)
    if not ok:
        raise SystemExit(1)


async def _run(
    file: Path, competition_code: str, commit: bool, report_path: Path | None
) -> tuple[bool, list[str], bytes]:
    from competition import db
    from competition import spreadsheets as kit
    from competition.audit import Actor
    from competition.errors import NotFound
    from competition.i18n import translate_error
    from competition.tables import Competition
    from scoring.schemes import service, sheet

    await db.start_pool()
    try:
        competition = (
            await Competition.select(Competition.id)
            .where(Competition.code == competition_code)
            .first()
        )
        if competition is None:
            raise NotFound("The competition was not found.", code="competition_not_found")
        data = file.read_bytes()
        suffix = report_path.suffix.lower() if report_path else ""
        try:
            result = await service.import_schemes(
                competition["id"], data, actor=Actor(user_id=None, name="cli"), commit=commit,
                filename=file.name,
            )  # fmt: skip
        except service.SchemeFileRejected as exc:
            lines = [translate_error(exc)]
            lines += [f"  row {p.row}: {p.labelled()}" for p in exc.problems[:SHOWN]]
            if len(exc.problems) > SHOWN:
                lines.append(f"  … {len(exc.problems) - SHOWN} more problems (see --report)")
            content = b""
            if suffix == ".json":
                content = _json({"ok": False, "problems": [
                    {"row": p.row, "column": p.column, "code": p.code, "message": p.text()}
                    for p in exc.problems
                ]})  # fmt: skip
            elif suffix == ".xlsx" and exc.read is not None:
                report = kit.ReportSheet(sheet.SHEET, exc.read.grid.table.rows,
                                         exc.read.grid.header_row)  # fmt: skip
                content = kit.report_workbook([report], exc.problems, listing=True)
            return False, lines, content
        lines = [
            f"rows {result.rows}, trades {result.trades}, aspects {result.aspects}; "
            + ("imported." if commit else "no problems.")
        ]
        lines += [f"  {c.trade_code}: version {c.version} ({c.how})" for c in result.changes]
        if not commit:
            lines.append("Dry run: nothing was written. Add --commit to store the schemes.")
        content = b""
        if suffix == ".json":
            content = _json({
                "ok": True, "committed": commit, "rows": result.rows, "trades": result.trades,
                "aspects": result.aspects,
                "changes": [{"trade": c.trade_code, "version": c.version, "how": c.how}
                            for c in result.changes],
            })  # fmt: skip
        elif suffix == ".xlsx":
            table = kit.read_table(data, sheet.LIMITS, sheets=(sheet.SHEET,))
            report = kit.ReportSheet(sheet.SHEET, table.rows, 0)
            content = kit.report_workbook([report], [], listing=True)
        return True, lines, content
    finally:
        await db.close_pool()


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


COMMANDS: dict[str, list[click.Command]] = {"import": [import_schemes], "main": []}
