"""Batch import of registrations (报名批量导入) by a delegation or the organizer.

The flow: an uploaded xlsx/CSV is read (competition/uploads.py), every row is checked and
the file is kept in an ImportBatch with a report (the dry run). The uploader then imports the
valid rows — the stored file is read and checked again, since the database may have changed —
or nothing. Writing is one transaction: persons upserted on the ID number, entries upserted on
(person, trade), one audit record per created or changed entry. Re-importing a file changes
nothing; a corrected file changes the rows it corrects.

Row rules are the registration core's: `entries.check_fields` (every field message),
`idcard.parse`, `eligibility.refusals` through `entries.check_eligible`, and
`entries.first_prize_winners`. At 200,000 rows those cost ~30 µs a row, so rows go through a
screen first: the ID checksum and birth date for the whole column at once (numpy), then the
other field rules with the core's own patterns and limits. A row the screen doubts is handed
to the core functions, which produce the messages; the screen only ever says "certainly fine"
(tests/registration/test_bulk_import_rules.py holds the two to the same verdicts).

Checks that need the whole file and the database: the same ID + trade twice, more trades a
person than the competition allows (counting entries already in the database), a trade entered
through another delegation, and quotas: per delegation × trade, the active entries not in the
file plus the file's rows stay within the quota; rows beyond it are refused in file order.

Bulk writes use the transaction's own connection (`db.copy_records` / `db.execute_many`):
Piccolo's row-by-row insert is ~35× too slow for 200,000 rows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import aiosqlite
import anyio
import xlsxwriter

from competition import db
from competition.audit import Actor, to_jsonable
from competition.errors import NotFound, PermissionDenied, ValidationFailed
from competition.i18n import N_, Msg, current_locale, gettext, render
from competition.phases import Phase, require_phase
from competition.schemas import SKILL_LEVELS
from competition.tables import Competition, Delegation, Quota
from competition.uploads import FileRefused, Table, collecting_later, column_names, match_header
from registration import entries, idcard
from registration.bulk_read import read_upload
from registration.schemas import EntryIn, TradeRules
from registration.tables import Entry, EntrySource, EntryStatus, ImportBatch

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIVE = tuple(s.value for s in entries.ACTIVE_STATUSES)
# Rows shown with their problems on the dry-run page; the downloadable report has all.
SHOWN_ERROR_ROWS = 500
# A batch nobody decided on is emptied after a day: uploads hold personal data.
BATCH_MAX_AGE = dt.timedelta(days=1)
FORMULA_START = ("=", "+", "-", "@")
_TEXT_LIMIT = 32_767  # the longest string an xlsx cell holds


class BatchStatus:
    checked = "checked"  # dry run done, waiting for the decision
    imported = "imported"
    discarded = "discarded"
    expired = "expired"


# ---------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written in the template
    aliases: tuple[str, ...]
    hint: Msg
    required: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("name", "名字"), N_("Required. As on the ID card.")),
    Column(
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "身份证", "证件号码", "id_number", "id number", "id"),
        N_(
            "Required. 18 characters. The column is formatted as text so that Excel keeps every "
            "digit and the final X; do not change it to a number."
        ),
    ),
    Column(
        "phone",
        "手机号",
        ("手机号码", "手机", "联系电话", "电话", "phone", "mobile"),
        N_("Required. An 11-digit mobile number (or a landline with area code)."),
    ),
    Column(
        "employer",
        "工作单位",
        ("单位", "单位名称", "employer"),
        N_("Required. At most 100 characters."),
    ),
    Column("job", "岗位", ("职务", "job"), N_("Optional. At most 50 characters."), required=False),
    Column(
        "skill_level",
        "职业技能等级",
        ("技能等级", "等级", "skill_level", "skill level", "level"),
        N_("1–5, or 五级/初级工, 四级/中级工, 三级/高级工, 二级/技师, 一级/高级技师. Blank: none."),
    ),
    Column(
        "years",
        "工龄",
        ("years_of_service", "years of service", "years"),
        N_("Required. Whole years of service, 0–50."),
    ),
    Column(
        "trade",
        "工种",
        ("工种代码", "工种名称", "参赛工种", "trade", "trade_code", "trade code"),
        N_("Required. A trade code or name from the sheet “工种与推荐单位”."),
    ),
    Column(
        "group",
        "组别",
        ("参赛组别", "group"),
        N_("Required when the trade has groups, e.g. 职工组 or 学生组; otherwise blank."),
        required=False,
    ),
    Column(
        "delegation",
        "推荐单位",
        ("推荐单位代码", "推荐单位名称", "代表队", "delegation", "delegation_code"),
        N_(
            "A delegation code or name from the sheet “工种与推荐单位”. Required when the "
            "organizer imports for several delegations; a delegation may leave it blank."
        ),
        required=False,
    ),
)
COLUMN = {c.key: c for c in COLUMNS}
# Which import column a field of `entries.check_fields` belongs to.
FIELD_COLUMN = {
    "name": "name",
    "id_number": "id_number",
    "phone": "phone",
    "employer": "employer",
    "job": "job",
    "skill_level": "skill_level",
    "years_of_service": "years",
    "group_name": "group",
    "trade_id": "trade",
    "delegation_id": "delegation",
}
SKILL_LEVEL_WORDS = {
    "五级": 5, "初级工": 5, "初级": 5,
    "四级": 4, "中级工": 4, "中级": 4,
    "三级": 3, "高级工": 3, "高级": 3,
    "二级": 2, "技师": 2,
    "一级": 1, "高级技师": 1,
}  # fmt: skip
_SKILL_SPLIT = str.maketrans({c: " " for c in "/()·、,|"})
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


_ALIASES = column_names(COLUMNS)


def clean(value: str) -> str:
    """Cell text as compared: NFKC (full-width digits and letters to ASCII), no zero-width
    characters, stray and doubled spaces removed."""
    if value.isascii():
        return " ".join(value.split())
    return " ".join(unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH).split())


_SPACE_RUN = re.compile(r"\s+")  # the same characters as str.split()
# Only what needs changing: whitespace other than a lone space, spaces at a cell's edge.
_SPACE_FIX = re.compile(r"[^\S ]\s*| \s+")
_EDGE_SPACE = re.compile(" \x00 ?|\x00 ")
_ZERO_WIDTH_RUN = re.compile("[\u200b\u200c\u200d\u2060\ufeff]+")


def _join(values: list[str]) -> str | None:
    """A column as one string cut by NUL, which no cell holds, so that normalising runs once
    in C instead of 200,000 times in Python; None if a cell does hold a NUL."""
    joined = "\x00".join(values)
    return joined if joined.count("\x00") == len(values) - 1 else None


def clean_column(values: list[str]) -> list[str]:
    """`clean` for a whole column."""
    joined = _join(values) if values else None
    if joined is None:
        return [clean(v) for v in values]
    if not joined.isascii():
        if not unicodedata.is_normalized("NFKC", joined):
            joined = unicodedata.normalize("NFKC", joined)
        if _ZERO_WIDTH_RUN.search(joined):
            joined = _ZERO_WIDTH_RUN.sub("", joined)
    joined = _EDGE_SPACE.sub("\x00", _SPACE_FIX.sub(" ", joined)).strip(" ")
    return joined.split("\x00")


def normalise_column(values: list[str]) -> list[str]:
    """`idcard.normalise` (NFKC, no spaces at all, upper case) for a whole column."""
    joined = _join(values) if values else None
    if joined is None:
        return [idcard.normalise(v) for v in values]
    if not joined.isascii() and not unicodedata.is_normalized("NFKC", joined):
        joined = unicodedata.normalize("NFKC", joined)
    return _SPACE_RUN.sub("", joined).upper().split("\x00")


def parse_skill_level(text: str) -> int | None:
    """1–5, "五级", "初级工", "五级/初级工", "Level 5" → the level; "" → None; else ValueError."""
    if not text:
        return None
    levels = set()
    for part in text.lower().translate(_SKILL_SPLIT).split():
        word = part.removesuffix("职业技能等级")
        if word == "level":
            continue
        digits = word.removeprefix("level").removesuffix("级")
        if digits.isdigit() and 1 <= int(digits) <= 5:
            levels.add(int(digits))
        elif word in SKILL_LEVEL_WORDS:
            levels.add(SKILL_LEVEL_WORDS[word])
        else:
            raise ValueError(text)
    if len(levels) != 1:
        raise ValueError(text)
    return levels.pop()


def parse_years(text: str) -> int:
    text = text.removesuffix("年").strip()
    try:
        return int(text)
    except ValueError:
        number = float(text)  # "5.0" from a spreadsheet; ValueError for anything else
        if not number.is_integer():
            raise ValueError(text) from None
        return int(number)


# ---------------------------------------------------------------------------- results


@dataclass
class RowError:
    row: int  # as Excel shows it (header = row 1)
    column: str  # a COLUMNS key, or "" for the whole row
    message: Msg


@dataclass(slots=True)
class Candidate:
    """A row that passed every check that needs no database."""

    row: int
    id_number: str
    name: str
    gender: str
    birth_date: dt.date
    phone: str
    employer: str
    job: str
    skill_level: int | None
    years: int
    trade_id: int
    delegation_id: int
    group: str

    def person_values(self) -> tuple:
        return (self.name, self.phone, self.employer, self.job, self.skill_level, self.years)


PERSON_FIELDS = ("name", "phone", "employer", "job", "skill_level", "years_of_service")


@dataclass
class Change:
    """An existing entry the file changes."""

    candidate: Candidate
    entry: dict[str, Any]  # the stored entry (ENTRY_KEYS)
    old: dict[str, Any]
    new: dict[str, Any]


@dataclass
class Counts:
    rows: int = 0
    valid: int = 0
    errors: int = 0  # rows with at least one problem
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Plan:
    """What importing the file's valid rows would do, and the problems of the others."""

    competition_id: int
    delegation_id: int | None
    table: Table
    header_row: int  # Excel row number of the header
    headers: dict[str, str]  # column key → header as written in the file
    positions: dict[str, int]  # column key → index in a row
    errors: dict[int, list[RowError]] = field(default_factory=dict)
    new: list[Candidate] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)  # row → slot of a new entry
    changes: list[Change] = field(default_factory=list)
    person_ids: dict[str, int] = field(default_factory=dict)  # ID number → person id
    # ID number → the person's values in the database (PERSON_FIELDS order), for persons
    # already there
    stored_persons: dict[str, tuple] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    trade_codes: dict[int, str] = field(default_factory=dict)

    def column_header(self, key: str) -> str:
        return self.headers.get(key) or (COLUMN[key].header if key in COLUMN else "")


@dataclass
class Context:
    competition_id: int
    limit: int  # trades a person may enter
    delegation_id: int | None  # the importing delegation; None for the organizer
    rules: dict[int, TradeRules]
    trade_keys: dict[str, int]
    delegations: dict[int, dict[str, Any]]
    delegation_keys: dict[str, int]
    winners: set[tuple[str, str]]
    quotas: dict[tuple[int, int], int]
    active: dict[tuple[int, int], int]  # (delegation, trade) → active entries stored


# ---------------------------------------------------------------------------- reading rows


def _find_header(rows: list[list[str]]) -> tuple[int, dict[str, int], dict[str, str]]:
    """The header is the first of the first rows that names at least three columns."""
    first = None
    for index, row in enumerate(rows[:30]):
        if not "".join(row).strip():
            continue
        first = index if first is None else first
        match = match_header(row, _ALIASES)
        if len(match.positions) >= 3:
            return index, match.positions, match.headers
    if first is None:
        raise FileRefused(N_("The file has no rows to import."), code="no_rows")
    return first, {}, {}


def _required_columns(delegation_id: int | None) -> list[Column]:
    return [c for c in COLUMNS if c.required or (c.key == "delegation" and delegation_id is None)]


def _check_header(
    rows: list[list[str]], delegation_id: int | None
) -> tuple[int, dict[str, int], dict[str, str]]:
    index, positions, headers = _find_header(rows)
    missing = [c.header for c in _required_columns(delegation_id) if c.key not in positions]
    if missing:
        raise FileRefused(
            N_(
                "The file lacks the columns {columns}. The header row (the first row of the "
                "template) names the columns; download the template and copy the rows into it."
            ),
            code="missing_columns",
            columns="、".join(missing),
        )
    return index, positions, headers


# ---------------------------------------------------------------------------- row checks


def _core_errors(
    data: EntryIn, rules: TradeRules | None, won_before: bool
) -> tuple[dict[str, Msg], tuple[dict[str, Any], idcard.ResidentId] | None]:
    """The registration core's verdict on one row: a message per bad field, or the values."""
    try:
        fields, resident = entries.check_fields(data, rules)
    except ValidationFailed as exc:
        return {k: _as_msg(v, exc.params) for k, v in exc.field_errors.items()}, None
    assert rules is not None
    try:
        entries.check_eligible(rules, resident, fields, won_before)
    except ValidationFailed as exc:
        return {k: _as_msg(v, exc.params) for k, v in exc.field_errors.items()}, None
    return {}, (fields, resident)


def _as_msg(message: str, params: dict[str, Any]) -> Msg:
    if isinstance(message, Msg) and getattr(message, "params", None) is not None:
        return message
    return N_(message, **params)


def _formula_error(value: str) -> Msg:
    return N_(
        "The text starts with {char}, which a spreadsheet would run as a formula; remove it.",
        char=value[0],
    )


class _Readers:
    """Reading the columns whose values repeat (levels, years, trades, delegations): each
    distinct value is read once, with the message for a value that cannot be used."""

    def __init__(self, context: Context):
        self.context = context

    @staticmethod
    def skill(value: str) -> tuple[int | None, Msg | None]:
        try:
            return parse_skill_level(value), None
        except ValueError:
            return None, N_(
                "Unknown skill level “{value}”: use 1–5 or 五级/初级工 … 一级/高级技师.",
                value=value,
            )

    @staticmethod
    def years(value: str) -> tuple[int, Msg | None]:
        if not value:
            return 0, N_("The years of service are required.")
        try:
            return parse_years(value), None
        except ValueError:
            return 0, N_("Enter the years of service as a whole number (0–50).")

    def trade(self, value: str) -> tuple[TradeRules | None, Msg | None]:
        keys = self.context.trade_keys
        trade_id = keys.get(value.upper()) or keys.get(value)
        if trade_id is not None:
            return self.context.rules[trade_id], None
        if not value:
            return None, N_("The trade is required.")
        return None, N_(
            "Unknown trade “{value}”: use a code or name from the sheet “工种与推荐单位” of the "
            "template.",
            value=value,
        )

    def delegation(self, value: str) -> tuple[int | None, Msg | None]:
        context = self.context
        own = context.delegation_id
        if not value:
            return own, None if own is not None else N_("The delegation is required.")
        found = context.delegation_keys.get(value.upper()) or context.delegation_keys.get(value)
        if found is None:
            return None, N_(
                "Unknown delegation “{value}”: use a code or name from the sheet "
                "“工种与推荐单位” of the template.",
                value=value,
            )
        if own is not None and found != own:
            return None, N_(
                "Only rows of your own delegation ({own}) can be imported here.",
                own=context.delegations[own]["name"],
            )
        return found, None


def check_rows(table: Table, context: Context) -> Plan:
    """Every row against the rules that need no database: the dry run's first half."""
    with collecting_later():
        return _check_rows(table, context)


def _check_rows(table: Table, context: Context) -> Plan:
    header_index, positions, headers = _check_header(table.rows, context.delegation_id)
    plan = Plan(
        competition_id=context.competition_id,
        delegation_id=context.delegation_id,
        table=table,
        header_row=header_index + 1,
        headers=headers,
        positions=positions,
        trade_codes={t.id: t.code for t in context.rules.values()},
    )
    numbers = [
        index + 1
        for index, row in enumerate(table.rows[header_index + 1 :], start=header_index + 1)
        if "".join(row).strip()
    ]
    rows = [table.rows[number - 1] for number in numbers]
    n = plan.counts.rows = len(rows)
    # Rows read from an xlsx are all as wide as the sheet; a CSV's may be shorter.
    full_width = not rows or min(map(len, rows)) > max(positions.values())

    def column(key: str, normalise: Any = clean_column) -> list[str]:
        position = positions.get(key)
        if position is None:
            return [""] * n
        if full_width:
            return normalise(list(map(itemgetter(position), rows)))
        return normalise([row[position] if position < len(row) else "" for row in rows])

    names, phones, employers, jobs = (
        column("name"),
        column("phone", normalise_column),
        column("employer"),
        column("job"),
    )
    levels, years_text, trades = column("skill_level"), column("years"), column("trade")
    groups, delegation_text = column("group"), column("delegation")
    ids = column("id_number", normalise_column)
    today = dt.date.today()
    screened, birth_numbers = idcard.screen_many(ids, today)
    id_ok = screened.tolist()
    births = birth_numbers.tolist()
    today_number = today.year * 10000 + today.month * 100 + today.day

    readers = _Readers(context)
    skill_of = {v: readers.skill(v) for v in set(levels)}
    years_of = {v: readers.years(v) for v in set(years_text)}
    trade_of = {v: readers.trade(v) for v in set(trades)}
    delegation_of = {v: readers.delegation(v) for v in set(delegation_text)}
    winners = context.winners
    name_ok = entries.NAME.match
    phone_ok = entries.PHONE.match
    cutoffs = {
        t.id: t.cutoff.year * 10000 + t.cutoff.month * 100 + t.cutoff.day
        for t in context.rules.values()
    }
    dates: dict[int, dt.date] = {}
    candidates: list[Candidate] = []
    isdigit = str.isdigit

    for i in range(n):
        name, employer, number = names[i], employers[i], ids[i]
        skill, skill_error = skill_of[levels[i]]
        years, years_error = years_of[years_text[i]]
        trade, trade_error = trade_of[trades[i]]
        delegation_id, delegation_error = delegation_of[delegation_text[i]]
        group = groups[i] if trade is not None and trade.groups else ""
        if (
            id_ok[i]
            and trade is not None
            and delegation_id is not None
            and skill_error is None
            and years_error is None
        ):
            # The screen: the conditions of `entries.check_fields` and
            # `eligibility.refusals`, evaluated without building anything.
            birth = births[i]
            age = (cutoffs[trade.id] - birth) // 10000
            rule = trade.eligibility
            phone = phones[i].replace("+86", "")
            job = jobs[i]
            if (
                name_ok(name)
                and not name.startswith(FORMULA_START)
                and not any(map(isdigit, name))
                and phone_ok(phone)
                and employer
                and not employer.startswith(FORMULA_START)
                and len(employer) <= 100
                and len(job) <= 50
                and 0 <= years <= 50
                and years <= (today_number - birth) // 10000 - 14
                and (not trade.groups or group in trade.groups)
                and (rule.min_age is None or age >= rule.min_age)
                and (rule.max_age is None or age <= rule.max_age)
                and (
                    rule.min_skill_level is None
                    or (skill is not None and skill <= rule.min_skill_level)
                )
                and years >= rule.min_years_service
                and not (rule.bar_previous_first_prize and (number, trade.name) in winners)
            ):
                born = dates.get(birth)
                if born is None:
                    born = dates[birth] = dt.date(birth // 10000, birth // 100 % 100, birth % 100)
                candidates.append(
                    Candidate(
                        numbers[i],
                        number,
                        name,
                        "male" if number[16] in "13579" else "female",
                        born,
                        phone,
                        employer,
                        job,
                        skill,
                        years,
                        trade.id,
                        delegation_id,
                        group,
                    )
                )
                continue

        # The slow path: the core functions say what is wrong (or that nothing is).
        mine: dict[str, Msg] = {}
        for key, value in (("name", name), ("employer", employer)):
            if value.startswith(FORMULA_START):
                mine[key] = _formula_error(value)
        for key, error in (
            ("skill_level", skill_error),
            ("years", years_error),
            ("trade", trade_error),
            ("delegation", delegation_error),
        ):
            if error is not None:
                mine[key] = error
        row_number = numbers[i]
        entry_in = EntryIn(
            name=name,
            id_number=number,
            phone=phones[i],
            employer=employer,
            job=jobs[i],
            skill_level=skill,
            years_of_service=years,
            delegation_id=delegation_id or 0,
            trade_id=trade.id if trade is not None else 0,
            group_name=group,
        )
        won_before = trade is not None and (number, trade.name) in winners
        core, values = _core_errors(entry_in, trade, won_before)
        for field_name, message in core.items():
            key = FIELD_COLUMN.get(field_name, "")
            if key in ("years", "skill_level") and key in mine:
                continue  # the column could not be read at all; say that
            mine.setdefault(key, message)
        if mine:
            plan.errors[row_number] = [
                RowError(row_number, key, message)
                for key, message in sorted(mine.items(), key=lambda kv: _column_order(kv[0]))
            ]
            continue
        assert values is not None and trade is not None and delegation_id is not None
        fields, resident = values
        candidates.append(
            Candidate(
                row_number,
                resident.number,
                fields["name"],
                resident.gender,
                resident.birth_date,
                fields["phone"],
                fields["employer"],
                fields["job"],
                fields["skill_level"],
                fields["years_of_service"],
                trade.id,
                delegation_id,
                fields["group_name"],
            )
        )
    plan.new = candidates  # resolved against the database next
    return plan


_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}


def _column_order(key: str) -> int:
    return _ORDER.get(key, len(_ORDER))


def _add_error(plan: Plan, row: int, column: str, message: Msg) -> None:
    plan.errors.setdefault(row, []).append(RowError(row, column, message))


# ---------------------------------------------------------------------------- the database


async def _tuples(sqlite_sql: str, postgres_sql: str, *args: Any) -> list[tuple]:
    """A large read as plain tuples, on the current transaction's connection or a new one.
    Piccolo makes a dict of every row, which at 200,000 rows costs more than the query. ID
    lists travel as one JSON array (SQLite) or one array (PostgreSQL), whatever their length,
    instead of thousands of placeholders. Placeholders: `?` for SQLite, `$n` for PostgreSQL."""
    engine = db.engine()
    tx = engine.current_transaction.get()
    if db.is_postgres():
        if tx is not None:
            records = await tx.connection.fetch(postgres_sql, *args)
        elif engine.pool is not None:
            async with engine.pool.acquire() as connection:
                records = await connection.fetch(postgres_sql, *args)
        else:
            connection = await engine.get_new_connection()
            try:
                records = await connection.fetch(postgres_sql, *args)
            finally:
                await connection.close()
        return [tuple(r) for r in records]
    params = [json.dumps(a) if isinstance(a, list) else a for a in args]
    if tx is not None:
        cursor = await tx.connection.execute(sqlite_sql, params)
        cursor.row_factory = None  # the connection's is Piccolo's dict factory
        try:
            return await cursor.fetchall()
        finally:
            await cursor.close()
    async with aiosqlite.connect(**engine.connection_kwargs) as connection:
        return list(await connection.execute_fetchall(sqlite_sql, params))


async def load_context(competition_id: int, delegation_id: int | None) -> Context:
    competition = (
        await Competition.select(Competition.phase, Competition.max_trades_per_person)
        .where(Competition.id == competition_id)
        .first()
    )
    if competition is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    require_phase(
        Phase(competition["phase"]), entries.REGISTRATION_PHASES, N_("Importing registrations")
    )
    rules = await entries.trade_rules(competition_id)
    trade_keys: dict[str, int] = {}
    for trade in rules.values():
        trade_keys[clean(trade.name)] = trade.id
    for trade in rules.values():
        trade_keys[clean(trade.code).upper()] = trade.id  # a code wins over a same-named trade
    delegations = {
        d["id"]: d
        for d in await Delegation.select(Delegation.id, Delegation.code, Delegation.name).where(
            Delegation.competition == competition_id
        )
    }
    if delegation_id is not None and delegation_id not in delegations:
        raise PermissionDenied(
            "This delegation does not take part in this competition.",
            code="delegation_not_in_competition",
        )
    delegation_keys: dict[str, int] = {}
    for d in delegations.values():
        delegation_keys[clean(d["name"])] = d["id"]
    for d in delegations.values():
        delegation_keys[clean(d["code"]).upper()] = d["id"]
    if db.is_postgres() and db.engine().current_transaction.get() is not None:
        # Two imports (or an import and a review) counting the same quotas wait for each
        # other; the order matches review._lock so they cannot deadlock.
        await Quota.raw(
            "SELECT q.id FROM quota q JOIN trade t ON t.id = q.trade WHERE t.competition = {} "
            "ORDER BY q.delegation, q.trade FOR UPDATE OF q",
            competition_id,
        )
    quotas = {
        (q["delegation"], q["trade"]): q["max_entries"]
        for q in await Quota.select(Quota.delegation, Quota.trade, Quota.max_entries).where(
            Quota.trade.competition == competition_id
        )
    }
    counted = await Entry.raw(
        "SELECT delegation, trade, COUNT(*) AS n FROM entry WHERE competition = {} "
        "AND status IN ({}, {}, {}) GROUP BY delegation, trade",
        competition_id,
        *ACTIVE,
    )
    active = {(r["delegation"], r["trade"]): r["n"] for r in counted}
    winners = await entries.first_prize_winners({t.name for t in rules.values()})
    return Context(
        competition_id=competition_id,
        limit=competition["max_trades_per_person"],
        delegation_id=delegation_id,
        rules=rules,
        trade_keys=trade_keys,
        delegations=delegations,
        delegation_keys=delegation_keys,
        winners=winners,
        quotas=quotas,
        active=active,
    )


_EXISTING = (
    "SELECT p.id{i}, p.id_number, p.name, p.phone, p.employer, p.job, p.skill_level{i}, "
    "p.years_of_service{i}, e.id{i}, e.trade{i}, e.delegation{i}, e.group_name, e.slot{i}, "
    "e.status, e.ticket_version{i}, e.session{i} "
    "FROM person p LEFT JOIN entry e ON e.person = p.id AND e.competition = {competition} "
    "WHERE p.id_number {match}"
)
# The entry columns of an _EXISTING row, from index 8 on.
ENTRY_KEYS = ("entry_id", "trade", "delegation", "group_name", "slot", "status",
              "ticket_version", "session")  # fmt: skip


async def _existing(competition_id: int, id_numbers: list[str]) -> list[tuple]:
    """The persons with these ID numbers — id, ID number, then PERSON_FIELDS — and their
    entries in this competition (ENTRY_KEYS; None when they have none)."""
    if not id_numbers:
        return []
    return await _tuples(
        # "+ 0": an expression has no declared type, so SQLite hands the integer over as it
        # is instead of through Piccolo's Python converter for INTEGER columns.
        _EXISTING.format(i=" + 0", competition="?", match="IN (SELECT value FROM json_each(?))"),
        _EXISTING.format(i="", competition="$1", match="= ANY($2::varchar[])"),
        competition_id,
        id_numbers,
    )


async def resolve(plan: Plan, context: Context) -> Plan:
    """The dry run's second half: the valid rows against each other and the database."""
    candidates, plan.new = plan.new, []
    existing = await _existing(context.competition_id, sorted({c.id_number for c in candidates}))
    return await anyio.to_thread.run_sync(_resolve, plan, context, candidates, existing)


def _resolve(
    plan: Plan, context: Context, candidates: list[Candidate], existing: list[tuple]
) -> Plan:
    with collecting_later():
        return _resolve_rows(plan, context, candidates, existing)


def _resolve_rows(
    plan: Plan, context: Context, candidates: list[Candidate], existing: list[tuple]
) -> Plan:
    stored: dict[str, tuple] = {}  # ID number → PERSON_FIELDS values
    held: dict[str, dict[int, dict[str, Any]]] = {}  # ID number → trade → entry
    for row in existing:
        number = row[1]
        if number not in stored:
            plan.person_ids[number] = row[0]
            stored[number] = row[2:8]
        if row[8] is not None:
            held.setdefault(number, {})[row[9]] = dict(zip(ENTRY_KEYS, row[8:], strict=True))
    plan.stored_persons = stored

    rules = context.rules
    limit = context.limit
    delegation_scope = context.delegation_id
    seen_pair: dict[tuple[str, int], int] = {}
    first_row_of: dict[str, Candidate] = {}
    new_trades: dict[str, int] = {}  # ID number → new trades so far in the file
    # Quotas count the entries that will be active afterwards. Rows whose entry already is
    # active and stays as it is keep their place; the other rows take what is left, in file
    # order. `in_file`: active entries the file speaks for, so not counted twice.
    in_file: dict[tuple[int, int], int] = {}
    places: dict[tuple[int, int], int] = {}
    pending: list[tuple[Candidate, dict[str, Any] | None, dict, dict]] = []
    no_entries: dict[int, dict[str, Any]] = {}
    for c in candidates:
        number = c.id_number
        pair = (number, c.trade_id)
        if pair in seen_pair:
            _add_error(
                plan,
                c.row,
                "id_number",
                N_("The same person and trade are already in row {row}.", row=seen_pair[pair]),
            )
            continue
        seen_pair[pair] = c.row
        first = first_row_of.get(number)
        if first is not None and first.person_values() != c.person_values():
            _add_error(
                plan,
                c.row,
                "id_number",
                N_(
                    "The same ID number is in row {row} with other personal details (name, "
                    "phone, employer, job, level or years); make them the same.",
                    row=first.row,
                ),
            )
            continue
        mine = held.get(number, no_entries)
        current = mine.get(c.trade_id)
        if current is None:
            taken = len(mine) + new_trades.get(number, 0)
            if taken >= limit:
                _add_error(plan, c.row, "trade", _limit_message(mine, rules, limit))
                continue
            new_trades[number] = new_trades.get(number, 0) + 1
            first_row_of.setdefault(number, c)
            pending.append((c, None, {}, {}))
            continue
        if current["delegation"] != c.delegation_id and delegation_scope is not None:
            _add_error(
                plan,
                c.row,
                "delegation",
                N_(
                    "This person is entered in “{trade}” through another delegation ({other}).",
                    trade=rules[c.trade_id].name,
                    other=context.delegations.get(current["delegation"], {}).get("name", ""),
                ),
            )
            continue
        first_row_of.setdefault(number, c)
        active = current["status"] in ACTIVE
        if active:
            key = (current["delegation"], current["trade"])
            in_file[key] = in_file.get(key, 0) + 1
        old, new = _differences(c, current, stored[number])
        if not new:
            plan.counts.unchanged += 1
            if active:
                key = (c.delegation_id, c.trade_id)
                places[key] = places.get(key, 0) + 1
        elif current["status"] == EntryStatus.revoked:
            _add_error(plan, c.row, "trade", N_("This entry was revoked and cannot be changed."))
        else:
            pending.append((c, current, old, new))

    quotas = context.quotas
    active_counts = context.active
    slots_used = {number: {e["slot"] for e in trades.values()} for number, trades in held.items()}
    for c, current, old, new in pending:
        pair = (c.delegation_id, c.trade_id)
        taken = active_counts.get(pair, 0) - in_file.get(pair, 0) + places.get(pair, 0)
        cap = quotas.get(pair, 0)
        if taken >= cap:
            _add_error(
                plan,
                c.row,
                "trade",
                N_(
                    "Over the quota: {delegation} has {cap} places in “{trade}” and {used} "
                    "are taken by its other entries and earlier rows of this file.",
                    delegation=context.delegations[c.delegation_id]["name"],
                    cap=cap,
                    trade=rules[c.trade_id].name,
                    used=max(taken, 0),
                ),
            )
            if current is not None and current["status"] in ACTIVE:
                # Left as it is, the stored entry keeps the place `in_file` took off.
                kept = (current["delegation"], current["trade"])
                places[kept] = places.get(kept, 0) + 1
            continue
        places[pair] = places.get(pair, 0) + 1
        if current is None:
            used = slots_used.get(c.id_number)
            if used is None:
                slot = 1
                slots_used[c.id_number] = {1}
            else:
                slot = next(s for s in range(1, limit + 1) if s not in used)
                used.add(slot)
            plan.slots[c.row] = slot
            plan.new.append(c)
        else:
            plan.changes.append(Change(candidate=c, entry=current, old=old, new=new))
    plan.counts.new = len(plan.new)
    plan.counts.updated = len(plan.changes)
    plan.counts.errors = len(plan.errors)
    plan.counts.valid = plan.counts.rows - plan.counts.errors
    return plan


def _limit_message(held: dict[int, dict[str, Any]], rules: dict[int, TradeRules], limit: int):
    other = next(iter(held.values()), None)
    if other is not None and other["trade"] in rules:
        return N_(
            "This person is already entered in “{trade}”; a person may enter at most {n} "
            "trades in this competition.",
            trade=rules[other["trade"]].name,
            n=limit,
        )
    return N_("A person may enter at most {n} trades in this competition.", n=limit)


def _differences(
    c: Candidate, entry: dict[str, Any], person: tuple
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the row changes in a stored entry and its person, as (old, new)."""
    values = c.person_values()
    if (
        values == person
        and entry["delegation"] == c.delegation_id
        and entry["group_name"] == c.group
    ):
        return {}, {}
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, stored, value in zip(PERSON_FIELDS, person, values, strict=True):
        if stored != value:
            old[name], new[name] = stored, value
    if entry["delegation"] != c.delegation_id:
        old["delegation"], new["delegation"] = entry["delegation"], c.delegation_id
    if entry["group_name"] != c.group:
        old["group"], new["group"] = entry["group_name"], c.group
    return old, new


async def evaluate(competition_id: int, table: Table, delegation_id: int | None = None) -> Plan:
    """Check every row of a file read by `read_upload`: the dry run (reads only)."""
    context = await load_context(competition_id, delegation_id)
    plan = await anyio.to_thread.run_sync(check_rows, table, context)
    return await resolve(plan, context)


# ---------------------------------------------------------------------------- writing

PERSON_COLUMNS = [
    "id_number", "name", "gender", "birth_date", "phone", "employer", "job", "skill_level",
    "years_of_service", "created_at", "updated_at",
]  # fmt: skip
ENTRY_COLUMNS = [
    "competition", "trade", "person", "delegation", "group_name", "slot", "status", "source",
    "review_note", "rejected_by", "ticket_version", "submitted_at", "created_at", "updated_at",
]  # fmt: skip
AUDIT_COLUMNS = [
    "at", "actor_id", "actor_name", "competition_id", "action", "object_type", "object_id",
    "old", "new", "reason",
]  # fmt: skip
IMPORT_REASON = "import"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(to_jsonable(value), ensure_ascii=False)


def _sql_value(value: dt.date | dt.datetime) -> Any:
    """Dates and times as SQLite stores them through Piccolo's adapters, converted once here
    instead of once a row by sqlite3 (a third of the insert time); as they are for COPY."""
    if db.is_postgres():
        return value
    if isinstance(value, dt.datetime):
        return str(value.astimezone(dt.UTC))
    return value.isoformat()


async def _inserted_ids(table: str, floor: int, n: int) -> range | None:
    """The ids SQLite gave the n rows just inserted above `floor`, in insertion order: it
    numbers a new row one above the highest id, and this transaction holds the write lock.
    Checked rather than assumed; None when the ids are not that run (always on PostgreSQL,
    whose sequences other sessions share), and the caller looks them up."""
    if db.is_postgres():
        return None
    rows = await Entry.raw(
        f'SELECT COUNT(*) AS n, MIN(id) AS low, MAX(id) AS high FROM "{table}" '  # noqa: S608
        "WHERE id > {}",
        floor,
    )
    row = rows[0]
    if row["n"] == n and row["low"] == floor + 1 and row["high"] == floor + n:
        return range(floor + 1, floor + n + 1)
    return None


async def _max_id(table: str) -> int:
    rows = await Entry.raw(f'SELECT COALESCE(MAX(id), 0) AS n FROM "{table}"')  # noqa: S608
    return rows[0]["n"]


async def write_plan(plan: Plan, actor: Actor) -> Counts:
    """Write what the plan found valid. Call inside `db.transaction()`, right after
    `evaluate` in the same transaction, so nothing changed in between."""
    if db.engine().current_transaction.get() is None:
        raise RuntimeError("write_plan must run inside db.transaction()")
    now = dt.datetime.now(dt.UTC)
    stamp = _sql_value(now)
    competition_id = plan.competition_id
    submitted = EntryStatus.submitted.value
    source = EntrySource.delegation_import.value
    person_ids = plan.person_ids

    # Persons: each new ID once (its first valid row); stored ones whose details the file
    # changes (through a changed entry, or a new entry in another trade) are updated.
    fresh: dict[str, Candidate] = {}
    for c in plan.new:
        if c.id_number not in person_ids:
            fresh.setdefault(c.id_number, c)
    dates: dict[dt.date, Any] = {}
    with collecting_later():
        person_rows = [
            (c.id_number, c.name, c.gender,
             dates.get(c.birth_date) or dates.setdefault(c.birth_date, _sql_value(c.birth_date)),
             c.phone, c.employer, c.job, c.skill_level, c.years, stamp, stamp)
            for c in fresh.values()
        ]  # fmt: skip
    # New rows get ids above the highest one: found again by a range scan of the key, not by
    # looking up 200,000 ID numbers. (On PostgreSQL another writer's rows may be in the range
    # too; they are told apart by the ID number.)
    person_floor = await _max_id("person") if fresh else 0
    await db.copy_records("person", PERSON_COLUMNS, person_rows)
    del person_rows
    if fresh:
        run = await _inserted_ids("person", person_floor, len(fresh))
        if run is not None:
            person_ids.update(zip(fresh, run, strict=True))
        else:
            for person_id, number in await _tuples(
                "SELECT id + 0, id_number FROM person WHERE id > ?",
                "SELECT id, id_number FROM person WHERE id > $1",
                person_floor,
            ):
                if number in fresh:
                    person_ids[number] = person_id
    person_updates = {}
    if plan.stored_persons:
        for c in [*plan.new, *(change.candidate for change in plan.changes)]:
            stored = plan.stored_persons.get(c.id_number)
            if stored is not None and stored != c.person_values():
                person_updates[c.id_number] = (
                    *c.person_values(),
                    stamp,
                    person_ids[c.id_number],
                )
    await db.execute_many(
        "UPDATE person SET name = ?, phone = ?, employer = ?, job = ?, skill_level = ?, "
        "years_of_service = ?, updated_at = ? WHERE id = ?",
        list(person_updates.values()),
    )

    # Entries.
    slots = plan.slots
    with collecting_later():
        entry_rows = [
            (competition_id, c.trade_id, person_ids[c.id_number], c.delegation_id, c.group,
             slots[c.row], submitted, source, "", "", 0, stamp, stamp, stamp)
            for c in plan.new
        ]  # fmt: skip
    entry_floor = await _max_id("entry") if entry_rows else 0
    await db.copy_records("entry", ENTRY_COLUMNS, entry_rows)
    del entry_rows
    updates = []
    for change in plan.changes:
        entry, c = change.entry, change.candidate
        approved = entry["status"] == EntryStatus.approved
        # As entries.update_entry: any change sends the entry back to review, and a ticket
        # already issued stops working.
        updates.append(
            (
                c.delegation_id,
                c.group,
                submitted,
                entry["ticket_version"] + 1 if approved else entry["ticket_version"],
                None if approved else entry["session"],
                stamp,
                stamp,
                entry["entry_id"],
            )
        )
    await db.execute_many(
        "UPDATE entry SET delegation = ?, group_name = ?, status = ?, review_note = '', "
        "rejected_by = '', ticket_version = ?, session = ?, submitted_at = ?, updated_at = ? "
        "WHERE id = ?",
        updates,
    )
    new_entry_ids: list[int] = []
    if plan.new:
        run = await _inserted_ids("entry", entry_floor, len(plan.new))
        if run is not None:
            new_entry_ids = list(run)
        else:
            found = {
                (person_id, trade_id): entry_id
                for entry_id, person_id, trade_id in await _tuples(
                    "SELECT id + 0, person + 0, trade + 0 FROM entry "
                    "WHERE id > ? AND competition = ?",
                    "SELECT id, person, trade FROM entry WHERE id > $1 AND competition = $2",
                    entry_floor,
                    competition_id,
                )
            }
            new_entry_ids = [found[(person_ids[c.id_number], c.trade_id)] for c in plan.new]

    # One audit record per created or changed entry; the text of a new entry's record is the
    # same for a trade and delegation but for the row number.
    user_id, name = actor.user_id, actor.name
    heads = {
        (trade_id, delegation_id): json.dumps(
            {"status": submitted, "trade": plan.trade_codes.get(trade_id, ""),
             "delegation": delegation_id, "source": source},
            ensure_ascii=False,
        )[:-1]
        for trade_id, delegation_id in {(c.trade_id, c.delegation_id) for c in plan.new}
    }  # fmt: skip
    with collecting_later():
        audit_rows = [
            (stamp, user_id, name, competition_id, "entry.create", "entry", str(entry_id), None,
             f'{heads[(c.trade_id, c.delegation_id)]}, "row": {c.row}}}', IMPORT_REASON)
            for c, entry_id in zip(plan.new, new_entry_ids, strict=True)
        ]  # fmt: skip
        for change in plan.changes:
            status = change.entry["status"]
            audit_rows.append(
                (stamp, user_id, name, competition_id, "entry.update", "entry",
                 str(change.entry["entry_id"]), _json({"status": status, **change.old}),
                 _json({"status": submitted, **change.new, "row": change.candidate.row}),
                 "resubmitted" if status == EntryStatus.rejected else IMPORT_REASON)
            )  # fmt: skip
    await db.copy_records("audit_log", AUDIT_COLUMNS, audit_rows)
    return Counts(
        rows=plan.counts.rows,
        valid=plan.counts.valid,
        errors=plan.counts.errors,
        new=len(plan.new),
        updated=len(plan.changes),
        unchanged=plan.counts.unchanged,
    )


async def import_file(
    competition_id: int, data: bytes, *, actor: Actor, delegation_id: int | None = None
) -> Plan:
    """Read, check and import the valid rows of a file in one go (the demo loader, the CLI).
    The plan returned carries the counts and the problems of the rows left out."""
    table = await anyio.to_thread.run_sync(read_upload, data)
    async with db.transaction():
        plan = await evaluate(competition_id, table, delegation_id)
        await write_plan(plan, actor)
    return plan


# ---------------------------------------------------------------------------- batches


def _encode(value: Any) -> Any:
    """A message with its parameters as JSON, to be translated when it is shown."""
    if isinstance(value, Msg):
        return {"msgid": str(value), "params": _encode(getattr(value, "params", {}))}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return to_jsonable(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "msgid" in value:
        message = value["msgid"]
        return N_(message, **_decode(value.get("params", {})))
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _summary(plan: Plan, filename: str) -> dict[str, Any]:
    shown = []
    for row in sorted(plan.errors)[:SHOWN_ERROR_ROWS]:
        for error in plan.errors[row]:
            shown.append([row, plan.column_header(error.column), _encode(error.message)])
    return {
        "filename": filename,
        "kind": plan.table.kind,
        "encoding": plan.table.encoding,
        "sheet": plan.table.sheet,
        "counts": plan.counts.as_dict(),
        "errors": shown,
    }


@dataclass
class BatchView:
    """An import batch as the pages show it."""

    token: str
    competition_id: int
    delegation_id: int | None
    filename: str
    status: str
    counts: dict[str, int]
    result: dict[str, int] | None
    created_at: dt.datetime
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_rows_shown(self) -> int:
        return len({e["row"] for e in self.errors})


def _view(row: dict[str, Any]) -> BatchView:
    summary = row["summary"]
    if isinstance(summary, str):
        summary = json.loads(summary)
    return BatchView(
        token=row["token"],
        competition_id=row["competition"],
        delegation_id=row["delegation"],
        filename=row["filename"],
        status=row["status"],
        counts=summary.get("counts", {}),
        result=summary.get("result"),
        created_at=row["created_at"],
        errors=[
            {"row": r, "column": column, "message": _decode(message)}
            for r, column, message in summary.get("errors", [])
        ],
    )


async def check_upload(
    competition_id: int,
    data: bytes,
    *,
    actor: Actor,
    filename: str = "",
    delegation_id: int | None = None,
) -> BatchView:
    """The dry run: check every row, keep the file and the report in an ImportBatch. A file
    that cannot be read at all raises FileRefused and nothing is stored."""
    table = await anyio.to_thread.run_sync(read_upload, data)
    plan = await evaluate(competition_id, table, delegation_id)
    token = secrets.token_urlsafe(24)
    async with db.transaction():
        await ImportBatch.update(
            {ImportBatch.content: b"", ImportBatch.status: BatchStatus.expired}
        ).where(
            (ImportBatch.status == BatchStatus.checked)
            & (ImportBatch.created_at < dt.datetime.now(dt.UTC) - BATCH_MAX_AGE)
        )
        await ImportBatch.insert(
            ImportBatch(
                token=token,
                competition=competition_id,
                delegation=delegation_id,
                user_id=actor.user_id,
                filename=filename[:200],
                content=data,
                status=BatchStatus.checked,
                summary=_summary(plan, filename[:200]),
            )
        )
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def batch_owner(token: str) -> tuple[int, int | None] | None:
    """(competition, delegation) of a batch, for deciding who may see it; None if unknown."""
    row = (
        await ImportBatch.select(ImportBatch.competition, ImportBatch.delegation)
        .where(ImportBatch.token == token)
        .first()
    )
    return (row["competition"], row["delegation"]) if row else None


async def get_batch(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> BatchView:
    """A batch of this competition; for a delegation (delegation_id given), only its own."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    return _view(row)


async def _batch_row(
    token: str, competition_id: int, delegation_id: int | None, *, lock: bool
) -> dict[str, Any]:
    query = ImportBatch.select(
        ImportBatch.id,
        ImportBatch.token,
        ImportBatch.competition,
        ImportBatch.delegation,
        ImportBatch.filename,
        ImportBatch.status,
        ImportBatch.summary,
        ImportBatch.created_at,
    ).where((ImportBatch.token == token) & (ImportBatch.competition == competition_id))
    if delegation_id is not None:
        query = query.where(ImportBatch.delegation == delegation_id)
    if lock and db.is_postgres():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound("The import was not found.", code="batch_not_found")
    return row


async def _batch_content(batch_id: int) -> bytes:
    row = await ImportBatch.select(ImportBatch.content).where(ImportBatch.id == batch_id).first()
    return bytes(row["content"]) if row else b""


async def import_batch(
    token: str, *, competition_id: int, actor: Actor, delegation_id: int | None = None
) -> BatchView:
    """ "Import the valid rows": the stored file is checked again against the database as it
    is now, and its valid rows are written in one transaction. A second call (a refreshed
    page, a double click) finds the batch imported and changes nothing."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    if row["status"] != BatchStatus.checked:
        return _view(row)
    # Parsing needs no database: done before the write lock is taken.
    table = await anyio.to_thread.run_sync(read_upload, await _batch_content(row["id"]))
    async with db.transaction():
        row = await _batch_row(token, competition_id, delegation_id, lock=True)
        if row["status"] != BatchStatus.checked:
            return _view(row)
        plan = await evaluate(competition_id, table, row["delegation"])
        counts = await write_plan(plan, actor)
        summary = _summary(plan, row["filename"])
        summary["result"] = counts.as_dict()
        await ImportBatch.update(
            {ImportBatch.status: BatchStatus.imported, ImportBatch.summary: summary}
        ).where(ImportBatch.id == row["id"])
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def discard_batch(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> BatchView:
    """ "Import nothing": the batch is closed and the uploaded file deleted."""
    async with db.transaction():
        row = await _batch_row(token, competition_id, delegation_id, lock=True)
        if row["status"] == BatchStatus.checked:
            await ImportBatch.update(
                {ImportBatch.status: BatchStatus.discarded, ImportBatch.content: b""}
            ).where(ImportBatch.id == row["id"])
    return await get_batch(token, competition_id=competition_id, delegation_id=delegation_id)


async def recent_batches(
    competition_id: int, delegation_id: int | None = None, limit: int = 10
) -> list[BatchView]:
    query = ImportBatch.select(
        ImportBatch.id,
        ImportBatch.token,
        ImportBatch.competition,
        ImportBatch.delegation,
        ImportBatch.filename,
        ImportBatch.status,
        ImportBatch.summary,
        ImportBatch.created_at,
    ).where(ImportBatch.competition == competition_id)
    if delegation_id is not None:
        query = query.where(ImportBatch.delegation == delegation_id)
    rows = await query.order_by(ImportBatch.id, ascending=False).limit(limit)
    views = []
    for row in rows:
        view = _view(row)
        view.errors = []
        views.append(view)
    return views


# ---------------------------------------------------------------------------- workbooks


def _new_workbook(buffer: io.BytesIO, **options: Any) -> xlsxwriter.Workbook:
    # Strings stay strings: an uploaded "=cmd|…" must never come back as a live formula.
    return xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            **options,
        },
    )


def report_workbook(plan: Plan) -> bytes:
    """The file's rows again with an added 错误 (error) column naming each row's problems,
    every cell written as text."""
    separator = "；" if current_locale.get() == "zh_CN" else "; "
    buffer = io.BytesIO()
    book = _new_workbook(buffer, constant_memory=True)
    head = book.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    bad = book.add_format({"bg_color": "#FDE4E1", "font_color": "#7A1B13", "text_wrap": True})
    sheet = book.add_worksheet((plan.table.sheet or gettext("Registrations"))[:31])
    rows = plan.table.rows
    width = max((len(row) for row in rows), default=0)
    sheet.set_column(width, width, 70)
    header_index = plan.header_row - 1
    write = sheet.write_string
    for index, row in enumerate(rows):
        problems = plan.errors.get(index + 1)
        fmt = head if index == header_index else None
        for c, value in enumerate(row):
            if value:
                write(index, c, value[:_TEXT_LIMIT], fmt)
        if index == header_index:
            write(index, width, gettext("Error"), head)
        elif problems:
            text = separator.join(
                f"【{plan.column_header(p.column)}】{render(p.message)}"
                if p.column
                else render(p.message)
                for p in problems
            )
            write(index, width, text[:_TEXT_LIMIT], bad)
    sheet.freeze_panes(plan.header_row, 0)
    book.close()
    return buffer.getvalue()


async def batch_report(
    token: str, *, competition_id: int, delegation_id: int | None = None
) -> tuple[str, bytes]:
    """The report of a batch waiting for the decision, checked against the database as it
    is now (what "import the valid rows" would do). Returns (file name, xlsx)."""
    row = await _batch_row(token, competition_id, delegation_id, lock=False)
    if row["status"] != BatchStatus.checked:
        raise NotFound(
            "The uploaded file is no longer kept; upload it again to get a report.",
            code="batch_closed",
        )
    table = await anyio.to_thread.run_sync(read_upload, await _batch_content(row["id"]))
    plan = await evaluate(competition_id, table, row["delegation"])
    content = await anyio.to_thread.run_sync(report_workbook, plan)
    stem = (row["filename"] or "import").rsplit(".", 1)[0]
    suffix = gettext("report")
    return f"{stem}-{suffix}.xlsx", content


async def template_workbook(competition_id: int, delegation_id: int | None = None) -> bytes:
    """The file delegations fill in: 报名 (the header, the ID and phone columns as text),
    工种与推荐单位 (every trade with code and groups, every delegation), 说明 (how to fill it in,
    with example rows)."""
    context_rules = await entries.trade_rules(competition_id)
    delegations = await (
        Delegation.select(Delegation.id, Delegation.code, Delegation.name)
        .where(Delegation.competition == competition_id)
        .order_by(Delegation.sort_order)
        .order_by(Delegation.code)
    )
    own = next((d for d in delegations if d["id"] == delegation_id), None)
    trades = sorted(context_rules.values(), key=lambda t: t.code)
    return await anyio.to_thread.run_sync(_template, trades, delegations, own)


def _template(
    trades: list[TradeRules], delegations: list[dict[str, Any]], own: dict[str, Any] | None
) -> bytes:
    buffer = io.BytesIO()
    book = _new_workbook(buffer)
    text = book.add_format({"num_format": "@"})
    head = book.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1, "num_format": "@"})
    head_required = book.add_format(
        {"bold": True, "bg_color": "#FDE8E8", "border": 1, "font_color": "#8E1B21"}
    )
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    columns = [c for c in COLUMNS if own is None or c.key != "delegation"] + (
        [COLUMN["delegation"]] if own is not None else []
    )

    data = book.add_worksheet("报名")
    data.freeze_panes(1, 0)
    for c, column in enumerate(columns):
        required = column.required or (column.key == "delegation" and own is None)
        data.set_column(c, c, 22 if column.key in ("id_number", "employer") else 14, text)
        data.write_string(0, c, column.header, head_required if required else head)
        data.write_comment(0, c, gettext(column.hint), {"x_scale": 2.2, "y_scale": 1.6})
    level_column = next(i for i, c in enumerate(columns) if c.key == "skill_level")
    data.data_validation(
        1,
        level_column,
        50_000,
        level_column,
        {
            "validate": "list",
            "source": ["五级/初级工", "四级/中级工", "三级/高级工", "二级/技师", "一级/高级技师"],
            "error_type": "information",
        },
    )

    lists = book.add_worksheet("工种与推荐单位")
    lists.set_column(0, 0, 12)
    lists.set_column(1, 1, 30)
    lists.set_column(2, 2, 20)
    lists.set_column(3, 3, 40)
    lists.set_column(5, 5, 12)
    lists.set_column(6, 6, 40)
    for c, title in enumerate(
        (gettext("Trade code"), gettext("Trade"), gettext("Groups"), gettext("Requirements"))
    ):
        lists.write_string(0, c, title, head)
    for r, trade in enumerate(trades, start=1):
        lists.write_string(r, 0, trade.code, text)
        lists.write_string(r, 1, trade.name)
        lists.write_string(r, 2, "、".join(trade.groups))
        lists.write_string(r, 3, _requirements(trade))
    lists.write_string(0, 5, gettext("Delegation code"), head)
    lists.write_string(0, 6, gettext("Delegation"), head)
    for r, delegation in enumerate(delegations, start=1):
        lists.write_string(r, 5, delegation["code"], text)
        lists.write_string(r, 6, delegation["name"])
    lists.freeze_panes(1, 0)

    notes = book.add_worksheet("说明")
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 90, wrap)
    notes.write_string(0, 0, gettext("How to fill in this file"), head)
    line = 1
    for note in NOTES:
        notes.write_string(line, 1, gettext(note))
        line += 1
    line += 1
    notes.write_string(line, 0, gettext("Column"), head)
    notes.write_string(line, 1, gettext("How to fill it in"), head)
    line += 1
    for column in columns:
        notes.write_string(line, 0, column.header)
        notes.write_string(line, 1, gettext(column.hint))
        line += 1
    line += 1
    notes.write_string(line, 0, gettext("Examples (fictional; not imported from this sheet)"), head)
    line += 1
    examples = _examples(trades, own)
    for c, column in enumerate(columns):
        notes.write_string(line, c, column.header, head)
    for example in examples:
        line += 1
        for c, column in enumerate(columns):
            notes.write_string(line, c, example.get(column.key, ""), text)
    book.close()
    return buffer.getvalue()


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
