"""`jiangxin export results`: the results export of the organizer's page as a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scoring.draw.commands import LANG, _ids, _run_async, _setup


@click.group("export", help="Write the competition's results to a file.")
def export_group() -> None:
    """The export commands."""


@export_group.command(
    "results",
    help=(
        "One row per entry — trade, group, ticket number, code, name, delegation, total, "
        "practical, theory, oral, penalties, place, award, title, promotion, 700 scale, medal — "
        "ranked per trade and group, the absent after. Before a trade is decrypted its rows "
        "carry codes only."
    ),
)
@click.option("--competition", "competition_code", required=True, help="Competition code.")
@click.option("--trade", "trade_code", default=None, help="Only this trade.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option(
    "--encoding", type=click.Choice(["utf-8", "gb18030"]), default="utf-8", show_default=True,
    help="CSV only: UTF-8 with a BOM, or GB18030 for older Excel.",
)  # fmt: skip
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The file to write (default: results.csv / results.xlsx here; - for standard output).",
)  # fmt: skip
@click.option("--full-id", is_flag=True, help="Full ID numbers (default: masked).")
@LANG
def export_results_command(
    competition_code: str,
    trade_code: str | None,
    fmt: str,
    encoding: str,
    output: Path | None,
    full_id: bool,
    lang: str,
) -> None:
    _setup(lang)
    from competition.results.exports import export_results

    async def run() -> bytes:
        competition_id, trade_id = await _ids(competition_code, trade_code)
        return await export_results(
            competition_id, trade_id=trade_id, fmt=fmt, encoding=encoding, full_id=full_id
        )

    content = _run_async(run)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(content)
        return
    target = output or Path(f"results.{fmt}")
    target.write_bytes(content)
    click.echo(f"Wrote {target} ({len(content):,} bytes).", err=True)


COMMANDS = {"main": [export_group], "import": []}
