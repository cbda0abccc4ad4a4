"""Earlier prizes (往届获奖记录): the list behind "a previous first-prize winner of a trade may not
enter it again" (registration.entries.first_prize_winners).

The organizer uploads an xlsx or a CSV (UTF-8 or GBK/GB18030) with the columns 身份证号, 姓名,
工种, 奖项 (一等奖/二等奖/三等奖), 年份, 赛事名称. Every row is checked first; one bad row
stores nothing, and the page lists every problem with its row number. A row already on record
(same ID number, trade, award and year) is skipped, so uploading the same file twice adds
nothing. The records are not tied to one competition: a prize won in 2019 bars its winner
from that trade in every later competition.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import anyio

from competition import audit
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.db import execute_many, transaction
from competition.errors import ValidationFailed
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, NUMBER, Column, RowProblem, RowsRejected
from competition.tables import Trade
from registration import idcard
from registration.entries import NAME
from registration.queries import name_like
from registration.tables import AwardHistory

LIMITS = kit.LIMITS["award_history"]
MAX_FILE_BYTES = LIMITS.max_bytes
MAX_ROWS = LIMITS.max_rows
PAGE_SIZE = 50
# Chunks of ID numbers per `IN (…)`, under SQLite's old limit of 999 variables.
LOOKUP_CHUNK = 500

AWARDS: dict[str, str] = {
    "一等奖": "first",
    "二等奖": "second",
    "三等奖": "third",
    "一等": "first",
    "二等": "second",
    "三等": "third",
    "first": "first",
    "second": "second",
    "third": "third",
}
AWARD_LABELS: dict[str, Msg] = {
    "first": N_("First prize"),
    "second": N_("Second prize"),
    "third": N_("Third prize"),
}

COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号", ("身份证号码", "身份证", "idnumber"), N_("ID number"), True,
           CODE, spaceless=True),
    Column("name", "姓名", ("name",), N_("Full name"), True),
    Column("trade_name", "工种", ("工种名称", "trade"), N_("Trade"), True),
    Column("award", "奖项", ("获奖等级", "等次", "award"), N_("Award"), True, CODE),
    Column("year", "年份", ("获奖年份", "year"), N_("Year"), True, NUMBER),
    Column("competition_name", "赛事名称", ("赛事", "competition"), N_("Competition")),
)  # fmt: skip


class HistoryRejected(RowsRejected):
    default_code = "award_history_rejected"


@dataclass
class ImportResult:
    rows: int  # data rows in the file
    added: int
    already: int  # on record before, or repeated in the file
    # Trade names this competition does not hold: kept (they may bar a later competition) and
    # named, in case one is a typo.
    unknown_trades: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    row: int
    id_number: str
    name: str
    trade_name: str
    award: str
    year: int
    competition_name: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.id_number, self.trade_name, self.award, self.year)


# ---------------------------------------------------------------------------- checking rows


def check_rows(table: kit.Table, *, today: dt.date | None = None) -> list[Record]:
    """Every data row as a Record, or HistoryRejected naming each problem."""
    today = today or dt.date.today()
    grid = kit.Grid(table, COLUMNS)
    if grid.empty or not grid.indices:
        raise kit.no_rows()
    missing = grid.missing()
    if missing:
        raise kit.missing_columns(missing)
    refused = grid.problems()
    problems: list[RowProblem] = []
    records: list[Record] = []
    for index, number in enumerate(grid.numbers):
        found = list(refused.get(index, ()))
        taken = {p.column for p in found}

        def problem(
            key: str, message: Msg, code: str, found=found, taken=taken, number=number
        ) -> None:
            if grid.header(key) not in taken:
                found.append(RowProblem(number, grid.header(key), message, code))

        def cell(key: str, index: int = index) -> str:
            return grid.cell(index, key)

        number_text = ""
        try:
            # A number typed into a General column reads as Excel shows it, "6.30102E+17",
            # which idcard.parse explains.
            number_text = idcard.parse(cell("id_number"), today=today).number
        except ValidationFailed as exc:
            problem("id_number", N_(exc.message, **exc.params), exc.code)
        name = cell("name")
        if not NAME.match(name) or any(c.isdigit() for c in name):
            problem("name", N_("Enter the name as on the ID card."), "invalid_name")
        trade_name = cell("trade_name")
        if not trade_name:
            problem("trade_name", N_("The trade is missing."), "trade_missing")
        elif len(trade_name) > 100:
            problem("trade_name", N_("At most {n} characters.", n=100), "too_long")
        award = AWARDS.get(cell("award").replace(" ", "").lower())
        if award is None:
            problem("award", N_("The award must be 一等奖, 二等奖 or 三等奖."), "unknown_award")
        try:
            year: int | None = kit.parse_whole(cell("year"), unit="年")
        except ValueError:
            year = None
        if year is None or not 1950 <= year <= today.year:
            problem("year", N_("The year must be between {first} and {last}.", first=1950,
                               last=today.year), "invalid_year")  # fmt: skip
        competition_name = cell("competition_name")
        if len(competition_name) > 200:
            problem("competition_name", N_("At most {n} characters.", n=200), "too_long")
        if found:
            problems.extend(found)
            continue
        assert award is not None and year is not None
        records.append(Record(number, number_text, name, trade_name, award, year, competition_name))
    if problems:
        raise HistoryRejected(problems)
    return records


# ---------------------------------------------------------------------------- storing


async def _on_record(id_numbers: list[str]) -> set[tuple[str, str, str, int]]:
    keys: set[tuple[str, str, str, int]] = set()
    for start in range(0, len(id_numbers), LOOKUP_CHUNK):
        chunk = id_numbers[start : start + LOOKUP_CHUNK]
        rows = await AwardHistory.select(
            AwardHistory.id_number, AwardHistory.trade_name, AwardHistory.award, AwardHistory.year
        ).where(AwardHistory.id_number.is_in(chunk))
        keys.update((r["id_number"], r["trade_name"], r["award"], r["year"]) for r in rows)
    return keys


async def import_award_history(
    competition_id: int, data: bytes, *, actor: Actor, filename: str = ""
) -> ImportResult:
    """Check every row, then store the new ones in one transaction (all or nothing)."""
    table = await anyio.to_thread.run_sync(kit.read_table, data, LIMITS)
    records = check_rows(table)
    trade_names = {
        r["name"] for r in await Trade.select(Trade.name).where(Trade.competition == competition_id)
    }
    async with transaction():
        seen = await _on_record(sorted({r.id_number for r in records}))
        new: list[Record] = []
        for record in records:
            if record.key in seen:
                continue
            seen.add(record.key)
            new.append(record)
        await execute_many(
            f'INSERT INTO "{AwardHistory._meta.tablename}" '  # noqa: S608 - a fixed table name
            "(id_number, name, trade_name, award, year, competition_name) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(r.id_number, r.name, r.trade_name, r.award, r.year, r.competition_name) for r in new],
        )
        if new:
            await audit.record(
                "award_history.import",
                actor=actor,
                object_type="award_history",
                competition_id=competition_id,
                new={
                    "file": filename[:200],
                    "rows": len(records),
                    "added": len(new),
                    "people": sorted({idcard.mask(r.id_number) for r in new})[:1000],
                },
            )
    return ImportResult(
        rows=len(records),
        added=len(new),
        already=len(records) - len(new),
        unknown_trades=sorted({r.trade_name for r in records} - trade_names),
    )


# ---------------------------------------------------------------------------- listing


@dataclass
class HistoryPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


async def list_award_history(
    *, search: str = "", award: str | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> HistoryPage:
    """Records newest year first, with masked ID numbers."""
    conditions = []
    search = " ".join(search.split())[:50].replace("%", "").replace("_", "")
    if search:
        digits = idcard.normalise(search)
        if re.fullmatch(r"[0-9X]{3,18}", digits):
            conditions.append(AwardHistory.id_number.like(f"%{digits}"))
        else:
            conditions.append(
                name_like(AwardHistory.name, search) | name_like(AwardHistory.trade_name, search)
            )
    if award in AWARD_LABELS:
        conditions.append(AwardHistory.award == award)
    count_query = AwardHistory.count()
    query = AwardHistory.select()
    for condition in conditions:
        count_query = count_query.where(condition)
        query = query.where(condition)
    total = await count_query
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = (
        await query.order_by(AwardHistory.year, ascending=False)
        .order_by(AwardHistory.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    for row in rows:
        row["id_masked"] = idcard.mask(row.pop("id_number"))
    return HistoryPage(rows=rows, total=total, page=page, pages=pages)
