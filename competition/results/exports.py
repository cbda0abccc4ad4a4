"""The results as files (成绩导出): every ranking (xlsx: a summary sheet, then one sheet a trade;
CSV: UTF-8 with a BOM, or GB18030 on request), the awards list (获奖名单), the medal table
(奖牌榜) per delegation or industry, and one trade's score detail (评分明细) per contestant.

Rows come from `standings` — codes only before a trade is decrypted, which the files keep.
Headers are Chinese whatever the page's language: the files go to the offices of a Chinese
competition. Every text cell goes through the spreadsheet kit's `escape`, so a name typed as
"=1+1" is text, never a formula; ID and ticket numbers are text columns, all 18 characters.

The big workbook is written by rustpy-xlsxwriter (a Rust writer): xlsxwriter's constant-memory
mode took ~35 s for 200,000 × 11 cells here, rustpy-xlsxwriter ~3 s (bench/results.py measures
the rankings against a bare writer of the same cells). Scores go into the xlsx as numbers with
two decimals (hundredths / 100: display only, every total was computed in integers); the CSV
writes the exact "85.12" text of the integer.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import rustpy_xlsxwriter

from competition import spreadsheets as kit
from competition.errors import NotFound, PhaseError
from competition.i18n import N_, Msg, current_locale, render
from competition.results.standings import (
    MEDAL_NAMES,
    ResultRow,
    TradeStandings,
    competition_standings,
    trade_standings,
)
from competition.schemas import SKILL_LEVELS
from competition.stages import STAGE_LABELS
from competition.tables import Competition, Trade
from competition.web.templating import hundredths
from scoring.scores import score_details

EXPORT_LOCALE = "zh_CN"
ENCODINGS = ("utf-8", "gb18030")


@contextmanager
def export_language():
    token = current_locale.set(EXPORT_LOCALE)
    try:
        yield
    finally:
        current_locale.reset(token)


def mask_id(number: str) -> str:
    """`630102199001011234` → `6301**********1234` (as registration shows it)."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def _score(value: int | None) -> float | None:
    return None if value is None else value / 100


@dataclass(frozen=True)
class Column:
    header: Msg
    width: float
    kind: str  # text / id / score / int
    value: Callable[[TradeStandings, ResultRow, bool], Any]


def _promotion(row: ResultRow) -> str:
    return render(SKILL_LEVELS[row.promotion]) if row.promotion in SKILL_LEVELS else ""


COLUMNS: tuple[Column, ...] = (
    Column(N_("Trade code"), 10, "text", lambda t, r, f: t.code),
    Column(N_("Trade"), 14, "text", lambda t, r, f: t.name),
    Column(N_("Group"), 8, "text", lambda t, r, f: r.group),
    Column(N_("Ticket number"), 18, "id", lambda t, r, f: r.ticket_number),
    Column(N_("Draw code"), 8, "text", lambda t, r, f: r.code),
    Column(N_("Full name"), 10, "text", lambda t, r, f: r.name),
    Column(N_("Delegation"), 20, "text", lambda t, r, f: r.delegation),
    Column(
        N_("ID number"), 21, "id",
        lambda t, r, f: r.id_number if f or not r.id_number else mask_id(r.id_number),
    ),
    Column(N_("Total score"), 9, "score", lambda t, r, f: r.total),
    Column(N_("Practical"), 9, "score", lambda t, r, f: r.practical),
    Column(N_("Theory"), 9, "score", lambda t, r, f: r.theory),
    Column(N_("Oral defence"), 9, "score", lambda t, r, f: r.oral),
    Column(N_("Penalties"), 8, "score", lambda t, r, f: r.penalty or None),
    Column(N_("Place"), 6, "int", lambda t, r, f: r.place),
    Column(N_("Award"), 8, "text", lambda t, r, f: r.award_name if r.present else "缺考"),
    Column(N_("Title"), 14, "text", lambda t, r, f: r.title),
    Column(N_("Promotion"), 16, "text", lambda t, r, f: _promotion(r)),
    Column(N_("700 scale"), 9, "score", lambda t, r, f: r.score700),
    Column(N_("Medal"), 8, "text", lambda t, r, f: MEDAL_NAMES.get(r.medal, "")),
)  # fmt: skip


def headers(columns: Sequence[Column] = COLUMNS) -> list[str]:
    with export_language():
        return [render(c.header) for c in columns]


def result_rows(
    trades: Iterable[TradeStandings], *, full_id: bool = False
) -> Iterable[tuple[TradeStandings, list[Any]]]:
    """(trade, raw values) a contestant, ranked first in each group, the absent after."""
    for trade in trades:
        for group in trade.groups:
            for row in group.rows:
                yield trade, [c.value(trade, row, full_id) for c in COLUMNS]


def _text(value: Any) -> str:
    return kit.escape(value) if isinstance(value, str) else ("" if value is None else str(value))


def _csv_value(kind: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if kind == "score":
        return hundredths(value)
    return _text(value)


def csv_document(rows: Iterable[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    """Rows as CSV: UTF-8 with a BOM (what Excel needs to read Chinese), or GB18030."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    text = buffer.getvalue()
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8" else text.encode("gb18030")


def rankings_csv_chunks(
    trades: Sequence[TradeStandings],
    *,
    full_id: bool = False,
    encoding: str = "utf-8",
    on_trade: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The rankings CSV a trade at a time (a response streams it; `on_trade(n)` hears of each
    trade written)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    kinds = [c.kind for c in COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush(first: bool = False) -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if encoding == "utf-8":
            return (("\ufeff" if first else "") + text).encode("utf-8")
        return text.encode("gb18030")

    writer.writerow(headers())
    yield flush(first=True)
    for n, trade in enumerate(trades, start=1):
        for _trade, values in result_rows([trade], full_id=full_id):
            writer.writerow([_csv_value(k, v) for k, v in zip(kinds, values, strict=True)])
        yield flush()
        if on_trade is not None:
            on_trade(n)


def rankings_csv(
    trades: Sequence[TradeStandings], *, full_id: bool = False, encoding: str = "utf-8"
) -> bytes:
    return b"".join(rankings_csv_chunks(trades, full_id=full_id, encoding=encoding))


def _cell(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == "score":
        return _score(value)
    if kind == "int":
        return value
    return kit.escape(str(value))


def _summary(trades: Sequence[TradeStandings]) -> list[dict[str, Any]]:
    with export_language():
        names = [render(m) for m in SUMMARY_HEADERS]
        out = []
        for trade in trades:
            for group in trade.groups:
                present = sum(1 for r in group.rows if r.present)
                first, second, third = group.award_counts()
                values = [trade.code, trade.name, group.name, render(STAGE_LABELS[trade.stage]),
                          present, len(group.rows) - present, first, second, third]  # fmt: skip
                out.append({n: (kit.escape(v) if isinstance(v, str) else v)
                            for n, v in zip(names, values, strict=True)})  # fmt: skip
        return out


SUMMARY_HEADERS = (
    N_("Trade code"),
    N_("Trade"),
    N_("Group"),
    N_("Stage"),
    N_("Competed"),
    N_("Absent"),
    N_("First prize"),
    N_("Second prize"),
    N_("Third prize"),
)


def _sheet_names(trades: Sequence[TradeStandings], summary: str) -> list[str]:
    # Excel compares sheet names without case: "t01" and "T01" cannot both be there.
    used = {summary.casefold()}
    names = []
    for trade in trades:
        base = kit.sheet_title(f"{trade.code} {trade.name}")
        name, n = base, 2
        while name.casefold() in used:
            suffix = f"~{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        used.add(name.casefold())
        names.append(name)
    return names


def rankings_xlsx(
    trades: Sequence[TradeStandings],
    *,
    full_id: bool = False,
    on_trade: Callable[[int], None] | None = None,
) -> bytes:
    """A summary sheet, then one sheet a trade with its ranking. `on_trade(n)` hears of each
    trade's sheet made ready (the writing itself is one call at the end)."""
    names = headers()
    kinds = [c.kind for c in COLUMNS]
    with export_language():
        summary = render(N_("Summary"))
    # An empty sheet still gets its header row (the writer sizes columns from the first row).
    with export_language():
        empty_summary = [dict.fromkeys(render(m) for m in SUMMARY_HEADERS)]
    sheets: list[tuple[str, Any]] = [(summary, _summary(trades) or empty_summary)]
    for n, (trade, sheet) in enumerate(
        zip(trades, _sheet_names(trades, summary), strict=True), start=1
    ):
        records = [
            dict(zip(names, (_cell(k, v) for k, v in zip(kinds, values, strict=True)), strict=True))
            for _t, values in result_rows([trade], full_id=full_id)
        ]
        sheets.append((sheet, records or [dict.fromkeys(names)]))
        if on_trade is not None:
            on_trade(n)
    widths = [c.width for c in COLUMNS]
    text = rustpy_xlsxwriter.Format().set_num_format("@")
    per_sheet = {name: widths for name, _ in sheets[1:]}
    formats = {
        name: {names[i]: text for i, c in enumerate(COLUMNS) if c.kind == "id"}
        for name, _ in sheets[1:]
    }
    buffer = io.BytesIO()
    rustpy_xlsxwriter.write_worksheets(
        sheets,
        buffer,
        freeze_panes={"general": {"row": 1, "col": 0}},
        float_format="0.00",
        bold_headers=True,
        column_widths={summary: [10, 14, 8, 10, 8, 8, 8, 8, 8], **per_sheet},
        column_formats=formats,
        autofilter={"general": True},
    )
    return buffer.getvalue()


async def locked_standings(
    competition_id: int, trade_id: int | None = None
) -> list[TradeStandings]:
    """The standings the ranking files show: the competition's locked trades, or one trade,
    refused while it is not locked."""
    trades = await competition_standings(competition_id, None if trade_id is None else [trade_id])
    if trade_id is not None and not all(t.locked for t in trades):
        raise PhaseError(
            "The ranking is available once the trade's marks are locked.", code="trade_not_locked"
        )
    return [t for t in trades if t.locked]


async def export_results(
    competition_id: int,
    *,
    trade_id: int | None = None,
    fmt: str = "xlsx",
    encoding: str = "utf-8",
    full_id: bool = False,
) -> bytes:
    """The rankings of the competition's locked trades (or of one locked trade) as xlsx or CSV."""
    trades = await locked_standings(competition_id, trade_id)
    if fmt == "csv":
        return await anyio.to_thread.run_sync(
            lambda: rankings_csv(trades, full_id=full_id, encoding=encoding)
        )
    return await anyio.to_thread.run_sync(lambda: rankings_xlsx(trades, full_id=full_id))


async def file_names(competition_id: int, trade_id: int | None = None) -> tuple[str, str]:
    """The base of an export's file name: "第十届…-焊工" to save under, "QH2026-T01" in ASCII."""
    competition = (
        await Competition.select(Competition.code, Competition.name)
        .where(Competition.id == competition_id)
        .first()
    )
    if competition is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    if trade_id is None:
        name, ascii_name = competition["name"], competition["code"]
    else:
        trade = (
            await Trade.select(Trade.competition, Trade.code, Trade.name)
            .where(Trade.id == trade_id)
            .first()
        )
        if trade is None or trade["competition"] != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
        name = f"{competition['name']}-{trade['name']}"
        ascii_name = f"{competition['code']}-{trade['code']}"
    return "".join(c for c in name if c not in '\\/:*?"<>|\r\n\t')[:100], ascii_name


def media_type(suffix: str, encoding: str = "utf-8") -> str:
    return kit.XLSX_MEDIA_TYPE if suffix == "xlsx" else f"text/csv; charset={encoding}"


# ---------------------------------------------------------------------------- awards, medals

AWARD_COLUMNS = (N_("Trade"), N_("Group"), N_("Place"), N_("Full name"), N_("Delegation"),
                 N_("Award"), N_("Title"), N_("Promotion"), N_("Total score"))  # fmt: skip


def awards_rows(trades: Iterable[TradeStandings]) -> list[list[Any]]:
    """获奖名单: everyone with an award, a title or a promotion."""
    out = []
    for trade in trades:
        for group in trade.groups:
            for row in group.rows:
                if row.award or row.title or row.promotion:
                    out.append([trade.name, row.group, row.place, row.name, row.delegation,
                                row.award_name, row.title, _promotion(row), row.total])  # fmt: skip
    return out


def medal_table(trades: Iterable[TradeStandings], by: str = "delegation") -> list[list[Any]]:
    """奖牌榜: awards (and WorldSkills medals) counted per delegation or industry, by first
    prizes, then second, then third."""
    counts: dict[str, Counter] = {}
    for trade in trades:
        for row in trade.rows:
            if not row.present:
                continue
            key = row.delegation if by == "delegation" else trade.industry
            tally = counts.setdefault(key, Counter())
            if row.award:
                tally[row.award] += 1
            if row.medal:
                tally[row.medal] += 1
    ranked = sorted(
        counts.items(),
        key=lambda item: (-item[1][1], -item[1][2], -item[1][3], -item[1]["gold"], item[0]),
    )
    return [
        [name, c[1], c[2], c[3], c[1] + c[2] + c[3],
         c["gold"], c["silver"], c["bronze"], c["excellence"]]
        for name, c in ranked
        if name
    ]  # fmt: skip


MEDAL_COLUMNS_TAIL = (
    N_("First prize"),
    N_("Second prize"),
    N_("Third prize"),
    N_("Awards in total"),
    N_("Gold"),
    N_("Silver"),
    N_("Bronze"),
    N_("Medallion for Excellence"),
)


def _plain_xlsx(
    sheets: list[tuple[str, list[str], list[list[Any]]]], scores: frozenset[int] = frozenset()
) -> bytes:
    """Small workbooks (awards, medals, detail) with the kit's xlsxwriter writer. The columns in
    `scores` hold hundredths, written as numbers shown with two decimals."""
    buffer = io.BytesIO()
    book = kit.new_workbook(buffer)
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    two_decimals = book.add_format({"num_format": "0.00"})
    for title, head, rows in sheets:
        sheet = book.add_worksheet(kit.sheet_title(title))
        sheet.freeze_panes(1, 0)
        for col, name in enumerate(head):
            kit.write_text(sheet, 0, col, name, bold)
            sheet.set_column(col, col, max(8, min(30, len(name) * 2 + 2)))
        for r, values in enumerate(rows, start=1):
            for col, value in enumerate(values):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    kit.write_text(sheet, r, col, value)
                elif col in scores:
                    sheet.write_number(r, col, value / 100, two_decimals)
                else:
                    sheet.write_number(r, col, value)
        sheet.autofilter(0, 0, max(len(rows), 1), len(head) - 1)
    book.close()
    return buffer.getvalue()


async def named_trades(competition_id: int) -> list[TradeStandings]:
    """The trades whose awards name people: decrypted (解密) or later. Before, an award list or
    a medal count per delegation would tell who holds which code."""
    return [t for t in await competition_standings(competition_id) if t.decrypted]


async def export_awards(
    competition_id: int, *, fmt: str = "xlsx", encoding: str = "utf-8"
) -> bytes:
    trades = await named_trades(competition_id)
    with export_language():
        head = [render(m) for m in AWARD_COLUMNS]
        title = render(N_("Awards list"))
    rows = awards_rows(trades)
    if fmt == "csv":
        total = len(head) - 1
        lines = [[_csv_value("score" if i == total else "text", v) for i, v in enumerate(r)]
                 for r in rows]  # fmt: skip
        return csv_document([head, *lines], encoding)
    scores = frozenset({len(head) - 1})
    return await anyio.to_thread.run_sync(lambda: _plain_xlsx([(title, head, rows)], scores))


async def export_medals(
    competition_id: int, *, by: str = "delegation", fmt: str = "xlsx", encoding: str = "utf-8"
) -> bytes:
    trades = await named_trades(competition_id)
    # The medal columns only where a trade is also ranked the WorldSkills way: elsewhere they
    # would be zeros that read like a result.
    width = 1 + len(MEDAL_COLUMNS_TAIL) if any(t.rules.worldskills_view for t in trades) else 5
    with export_language():
        tail = [render(m) for m in MEDAL_COLUMNS_TAIL][: width - 1]
        sheets = [
            (render(N_("By delegation")), [render(N_("Delegation")), *tail],
             [r[:width] for r in medal_table(trades, "delegation")]),
            (render(N_("By industry")), [render(N_("Industry")), *tail],
             [r[:width] for r in medal_table(trades, "industry")]),
        ]  # fmt: skip
    if fmt == "csv":
        _title, head, rows = sheets[0] if by == "delegation" else sheets[1]
        return csv_document([head, *[[_text(v) for v in r] for r in rows]], encoding)
    return await anyio.to_thread.run_sync(lambda: _plain_xlsx(sheets))


DETAIL_COLUMNS = (
    N_("Draw code"),
    N_("Full name"),
    N_("Criterion"),
    N_("Aspect"),
    N_("Description"),
    N_("Maximum"),
    N_("Score"),
    N_("Judges' levels"),
)


async def export_detail(trade_id: int) -> bytes:
    """评分明细: one row per contestant and aspect, after decryption only."""
    trade = await trade_standings(trade_id)
    if not trade.decrypted:
        raise PhaseError(
            "The score detail names the contestants: it is available once the trade is decrypted.",
            code="detail_encrypted",
        )
    details = await score_details(trade_id)
    rows = []
    for row in trade.rows:
        detail = details.get(row.slot_id) if row.slot_id else None
        if detail is None:
            continue
        for criterion in detail.criteria:
            for aspect in criterion.aspects:
                levels = ",".join(map(str, aspect.levels))
                rows.append([row.code, row.name, f"{criterion.code} {criterion.name}",
                             aspect.code, aspect.description, aspect.max_hundredths,
                             aspect.score, levels])  # fmt: skip
        for value, reason in detail.penalties:
            rows.append([row.code, row.name, "", "", reason, None, value, ""])
    with export_language():
        head = [render(m) for m in DETAIL_COLUMNS]
        title = render(N_("Score detail"))
    scores = frozenset({5, 6})  # maximum, score
    return await anyio.to_thread.run_sync(lambda: _plain_xlsx([(title, head, rows)], scores))
