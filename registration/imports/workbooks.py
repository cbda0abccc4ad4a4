"""The registration import's workbooks: the template delegations fill in, and the report that
repeats an uploaded file's rows with their problems (both on the spreadsheet kit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio

from competition import spreadsheets as kit
from competition.i18n import N_, gettext
from competition.schemas import SKILL_LEVELS
from competition.spreadsheets import RowProblem
from competition.tables import Delegation
from registration import entries, idcard
from registration.imports.format import COLUMN, COLUMNS, required_keys
from registration.schemas import TradeRules

NOTES = (
    N_("Fill in the sheet “报名”: one row per contestant and trade, starting below the header."),
    N_("Keep the header row. Columns may be in any order; extra columns are ignored."),
    N_("The ID number column is text: paste the numbers as text, or type them as they are."),
    N_("Gender and birth date are taken from the ID number."),
    N_(
        "You can also upload the list as CSV (UTF-8 or GBK). Uploading the same file again "
        "changes nothing; a corrected file updates the rows it corrects."
    ),
    N_(
        "After the upload every row is checked and you see a report; you then choose to import "
        "the valid rows or nothing."
    ),
)


def report_workbook(
    table: kit.Table,
    header_row: int,
    problems: list[RowProblem],
    quotas: list[dict[str, Any]] | None = None,
) -> bytes:
    """The file's rows again with an added 错误 (error) column naming each row's problems;
    with `quotas` (a batch's lines), a sheet of the candidates and places left per delegation
    × trade."""
    sheet = kit.ReportSheet(table.sheet or gettext("Registrations"), table.rows, header_row)
    info = []
    if quotas:
        header = (gettext("Delegation"), gettext("Trade"), gettext("Candidates in the file"),
                  gettext("Places left"))  # fmt: skip
        rows = [
            [q["delegation"], q["trade"], q["candidates"],
             gettext("unlimited") if q["free"] is None else q["free"]]
            for q in quotas
        ]  # fmt: skip
        info.append(kit.InfoSheet(gettext("Candidates and places"), header, rows))
    return kit.report_workbook([sheet], problems, info=info)


async def template_workbook(competition_id: int, delegation_id: int | None = None) -> bytes:
    """The file delegations fill in: 报名 (the header, the ID and phone columns as text),
    工种与推荐单位 (every trade with code and groups, every delegation), 说明 (how to fill it in,
    with example rows)."""
    rules = await entries.trade_rules(competition_id)
    delegations = await (
        Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    )
    own = next((d for d in delegations if d["id"] == delegation_id), None)
    trades = sorted(rules.values(), key=lambda t: t.code)
    return await anyio.to_thread.run_sync(_template, trades, delegations, own)


def _template(
    trades: list[TradeRules], delegations: list[dict[str, Any]], own: dict[str, Any] | None
) -> bytes:
    writer = kit.TemplateWriter()
    # A delegation's template puts its (optional) 推荐单位 column last.
    columns = [c for c in COLUMNS if own is None or c.key != "delegation"] + (
        [COLUMN["delegation"]] if own is not None else []
    )
    writer.data_sheet(
        "报名",
        columns,
        required=required_keys(own["id"] if own else None),
        choices={"skill_level": kit.SKILL_LEVEL_CHOICES},
    )

    lists = writer.sheet("工种与推荐单位", (12, 30, 20, 40, 0, 12, 40))
    titles = (gettext("Trade code"), gettext("Trade"), gettext("Groups"), gettext("Requirements"))
    kit.write_row(lists, 0, titles, writer.head)
    for r, trade in enumerate(trades, start=1):
        kit.write_text(lists, r, 0, trade.code, writer.text)
        kit.write_text(lists, r, 1, trade.name)
        kit.write_text(lists, r, 2, "、".join(trade.groups))
        kit.write_text(lists, r, 3, _requirements(trade))
    kit.write_text(lists, 0, 5, gettext("Delegation code"), writer.head)
    kit.write_text(lists, 0, 6, gettext("Delegation"), writer.head)
    for r, delegation in enumerate(delegations, start=1):
        kit.write_text(lists, r, 5, delegation["code"], writer.text)
        kit.write_text(lists, r, 6, delegation["name"])
    lists.freeze_panes(1, 0)

    notes, line = writer.notes(
        "说明", gettext("How to fill in this file"), map(gettext, NOTES), widths=(16, 90), column=1
    )
    kit.write_row(notes, line, (gettext("Column"), gettext("How to fill it in")), writer.head)
    line += 1
    for column in columns:
        kit.write_row(notes, line, (column.header, gettext(column.hint)))
        line += 1
    line += 1
    title = gettext("Examples (fictional; not imported from this sheet)")
    kit.write_text(notes, line, 0, title, writer.head)
    line += 1
    kit.write_row(notes, line, [c.header for c in columns], writer.head)
    for example in _examples(trades, own):
        line += 1
        kit.write_row(notes, line, [example.get(c.key, "") for c in columns], writer.text)
    return writer.close()


def _requirements(trade: TradeRules) -> str:
    rule = trade.eligibility
    parts = []
    if rule.min_age is not None or rule.max_age is not None:
        parts.append(
            gettext(
                "Age {low}–{high} on {cutoff}",
                low=rule.min_age if rule.min_age is not None else "",
                high=rule.max_age if rule.max_age is not None else "",
                cutoff=trade.cutoff.isoformat(),
            )
        )
    if rule.min_skill_level is not None:
        parts.append(gettext(SKILL_LEVELS[rule.min_skill_level]))
    if rule.min_years_service:
        parts.append(gettext("At least {n} years of service", n=rule.min_years_service))
    return "；".join(parts)


def _examples(trades: list[TradeRules], own: dict[str, Any] | None) -> list[dict[str, str]]:
    grouped = next((t for t in trades if t.groups), None)
    plain = next((t for t in trades if not t.groups), None)
    delegation = own["name"] if own else ""
    examples = []
    if grouped is not None:
        examples.append(
            {
                "name": "马建华",
                "id_number": idcard.compose("630102", dt.date(1990, 5, 17), 135),
                "phone": "13900971234", "employer": "青海某某机械制造有限公司", "job": "焊工",
                "skill_level": "四级/中级工", "years": "8", "trade": grouped.code,
                "group": grouped.groups[0], "delegation": delegation,
            }
        )  # fmt: skip
    if plain is not None:
        examples.append(
            {
                "name": "才让卓玛",
                "id_number": idcard.compose("632321", dt.date(1994, 11, 2), 246),
                "phone": "13709785678", "employer": "海南州某某供电公司", "job": "",
                "skill_level": "3", "years": "6", "trade": plain.name, "group": "",
                "delegation": delegation,
            }
        )  # fmt: skip
    return examples
