"""Industries, trades and quotas from an Excel workbook (xlsx), all or nothing.

A workbook holds any of the sheets 行业 (industries), 工种 (trades) and 名额 (quotas), each with a
Chinese header row (English aliases accepted). Every cell is read as text and parsed here, so a
"三十" where a weight belongs becomes a message on that cell instead of a crash. Rows then go
through `structure.plan_changes` — the same checks as the organizer's forms — sheet by sheet in
one transaction, so a trade may use an industry created a few rows earlier in the same file.
If any row of any sheet has a problem the transaction is rolled back and the caller gets every
problem with its sheet, its row number as Excel shows it, and its column.

No HTTP here: the controller hands in the uploaded bytes and turns the outcome into a page.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
import xlsxwriter

from competition import structure, uploads
from competition.audit import Actor
from competition.db import transaction
from competition.errors import ValidationFailed
from competition.i18n import N_, Msg, current_locale, gettext
from competition.schemas import (
    JUDGE_RULES,
    AwardRules,
    Eligibility,
    IndustryIn,
    JudgeRule,
    QuotaIn,
    TradeEvent,
    TradeIn,
    settings_from_json,
)
from competition.tables import Delegation, EventKind, Industry, Trade

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# A real workbook of 3 × 20,000 rows unpacks to a few tens of megabytes.
LIMITS = uploads.Limits(
    max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS, max_unpacked_bytes=200 * 1024 * 1024
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class WorkbookRejected(ValidationFailed):
    """The workbook was read but some rows (or sheets) have problems; nothing was written."""

    def __init__(self, book: Workbook, issues: list[Issue]):
        super().__init__(
            N_("Problems found: {n}. Nothing was imported; fix them and upload the file again."),
            code="import_rejected",
            n=len(issues),
        )
        self.book = book
        self.issues = issues


# ---------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written in the template
    aliases: tuple[str, ...]
    hint: Msg
    required: bool = False
    # ID-like columns are formatted as text in the template, so Excel keeps "001" as typed.
    text: bool = False


@dataclass(frozen=True)
class SheetSpec:
    kind: str  # a structure kind: industry, trade, quota
    title: str  # the sheet's name in the template
    aliases: tuple[str, ...]
    label: Msg
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


CODE_HINT = N_("Required. 1–32 letters, digits or - _ . ; rows are matched on this code.")
NAME_HINT = N_("Required. Unique within the competition.")
NAME_EN_HINT = N_("Optional English name.")

INDUSTRY_SHEET = SheetSpec(
    "industry",
    "行业",
    ("industry", "industries"),
    N_("Industries"),
    (
        Column("code", "行业代码", ("code", "industry_code"), CODE_HINT, required=True, text=True),
        Column("name", "行业名称", ("name",), NAME_HINT, required=True, text=True),
        Column("name_en", "英文名称", ("name_en", "english name"), NAME_EN_HINT, text=True),
        Column(
            "sort_order",
            "排序",
            ("sort_order", "order"),
            N_("Optional whole number; smaller comes first."),
        ),
    ),
)

TRADE_SHEET = SheetSpec(
    "trade",
    "工种",
    ("trade", "trades"),
    N_("Trades"),
    (
        Column("code", "工种代码", ("code", "trade_code"), CODE_HINT, required=True, text=True),
        Column("name", "工种名称", ("name",), NAME_HINT, required=True, text=True),
        Column(
            "industry_code",
            "行业代码",
            ("industry_code", "industry"),
            N_(
                "Required. The code of an industry on the 行业 sheet or already in the competition."
            ),
            required=True,
            text=True,
        ),
        Column("name_en", "英文名称", ("name_en", "english name"), NAME_EN_HINT, text=True),
        Column(
            "groups",
            "组别",
            ("groups",),
            N_("Optional. Groups separated by 、 or |, e.g. 职工组、学生组."),
            text=True,
        ),
        Column(
            "theory",
            "理论权重",
            ("theory", "theory_weight", "理论知识权重"),
            N_("Theory weight in whole percent. Blank: no theory event."),
            required=True,
        ),
        Column(
            "practical",
            "实操权重",
            ("practical", "practical_weight", "操作技能权重"),
            N_("Practical weight in whole percent. Blank: no practical event."),
            required=True,
        ),
        Column(
            "oral",
            "答辩权重",
            ("oral", "oral_weight"),
            N_(
                "Oral defence weight in whole percent. Blank: no oral defence. "
                "Weights add up to 100."
            ),
        ),
        Column("min_age", "最低年龄", ("min_age",), N_("Minimum age (14–70). Blank: no minimum.")),
        Column("max_age", "最高年龄", ("max_age",), N_("Maximum age (14–75). Blank: no maximum.")),
        Column(
            "min_skill_level",
            "最低技能等级",
            ("min_skill_level", "skill_level"),
            N_(
                "Lowest skill level required: 1–5, or 五级/初级工, 四级/中级工, 三级/高级工, "
                "二级/技师, 一级/高级技师. Blank: none."
            ),
        ),
        Column(
            "min_years_service",
            "最低工龄",
            ("min_years_service", "years_service"),
            N_("Minimum years of service (0–50). Blank: 0."),
        ),
        Column(
            "max_entries",
            "总名额上限",
            ("max_entries",),
            N_("Optional cap on entries over all delegations. Blank: no cap."),
        ),
        Column(
            "judge_rule",
            "评委合分规则",
            ("judge_rule",),
            N_(
                "Optional: mean, trimmed_mean, fig_tolerance or closest_two_of_three. "
                "Blank: keep the current rule (new trades: trimmed_mean)."
            ),
            text=True,
        ),
    ),
)

QUOTA_SHEET = SheetSpec(
    "quota",
    "名额",
    ("quota", "quotas"),
    N_("Quotas"),
    (
        Column(
            "delegation_code",
            "推荐单位代码",
            ("delegation_code", "delegation"),
            N_("The delegation's code; either this or 推荐单位名称 is required."),
            text=True,
        ),
        Column(
            "delegation_name",
            "推荐单位名称",
            ("delegation_name",),
            N_("The delegation's name, used when the code is blank."),
            text=True,
        ),
        Column(
            "trade_code",
            "工种代码",
            ("trade_code", "trade"),
            N_("Required. The code of a trade on the 工种 sheet or already in the competition."),
            required=True,
            text=True,
        ),
        Column(
            "max_entries",
            "名额",
            ("max_entries", "quota"),
            N_("Required. Entries the delegation may send in the trade, 0–1000."),
            required=True,
        ),
    ),
)

# In this order: a trade may use an industry, and a quota a trade, from the same file.
SHEETS: tuple[SheetSpec, ...] = (INDUSTRY_SHEET, TRADE_SHEET, QUOTA_SHEET)

GENERAL_NOTES: tuple[Msg, ...] = (
    N_("One row per record below the header row; keep the headers as they are."),
    N_(
        "Rows are matched on their code: existing records are updated, new ones created, and "
        "importing the same file twice changes nothing."
    ),
    N_(
        "A workbook may hold any of the sheets 行业, 工种 and 名额; they are processed in that "
        "order, so a new trade may use an industry added in the same file."
    ),
    N_(
        "Optional columns may be left out: a column that is left out keeps the current values "
        "of existing records."
    ),
    N_(
        "If any row has a problem, nothing is imported; the report lists every problem with "
        "its sheet, row and column."
    ),
    N_("Replace the example rows with your own data before importing."),
)

SKILL_LEVEL_NAMES: dict[str, int] = {
    "五级": 5, "初级工": 5, "初级": 5,
    "四级": 4, "中级工": 4, "中级": 4,
    "三级": 3, "高级工": 3,
    "二级": 2, "技师": 2,
    "一级": 1, "高级技师": 1,
}  # fmt: skip

# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Issue:
    sheet: str  # the sheet's name in the file; "" for the whole workbook
    row: int | None  # as Excel shows it (header = row 1)
    column: str  # the header as written in the file
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return gettext(self.message, **self.params)


@dataclass
class Sheet:
    spec: SheetSpec
    title: str  # as named in the file
    # Every cell as read, "" for blanks: the error report repeats them unchanged.
    grid: list[list[str]]
    header_row: int = 0  # Excel row number of the header; 0 when the sheet is empty
    columns: dict[str, int] = field(default_factory=dict)  # column key → index in grid rows
    headers: dict[str, str] = field(default_factory=dict)  # column key → header in the file
    data_rows: list[int] = field(default_factory=list)  # Excel row numbers of non-empty rows
    usable: bool = True  # False when a required column is missing

    def header(self, key: str) -> str:
        return self.headers.get(key) or self.spec.column(key).header

    def raw(self, excel_row: int, key: str) -> str | None:
        """The cleaned text of a cell, or None when the sheet has no such column."""
        index = self.columns.get(key)
        if index is None:
            return None
        row = self.grid[excel_row - 1]
        return clean(row[index]) if index < len(row) else ""


@dataclass
class Workbook:
    sheets: list[Sheet]
    issues: list[Issue]  # problems found before any row is parsed (missing columns …)

    def sheet(self, kind: str) -> Sheet | None:
        return next((s for s in self.sheets if s.spec.kind == kind), None)


_FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
_FULL_WIDTH.update({0x3000: " ", 0x00A0: " ", 0x200B: None, 0x200C: None, 0x200D: None})
_FULL_WIDTH[0xFEFF] = None


def clean(value: str) -> str:
    """Cell text with full-width digits made ASCII, and stray and doubled spaces removed."""
    return " ".join(value.translate(_FULL_WIDTH).split())


def _sheet_spec(name: str) -> SheetSpec | None:
    key = clean(name).lower()
    for spec in SHEETS:
        if key == spec.title or key in spec.aliases:
            return spec
    return None


def _choose_sheets(names: list[str]) -> list[str]:
    """The recognised sheets, in processing order whatever their order in the file."""
    wanted: dict[str, SheetSpec] = {}
    for name in names:
        spec = _sheet_spec(name)
        if spec is None:
            continue  # the 说明 sheet, or any sheet of the user's own
        other = next((n for n, s in wanted.items() if s is spec), None)
        if other is not None:
            raise ValidationFailed(
                N_("The sheets “{first}” and “{second}” both hold {what}; keep one."),
                code="duplicate_sheet",
                first=other,
                second=name,
                what=spec.label,
            )
        wanted[name] = spec
    if not wanted:
        raise ValidationFailed(
            N_("The workbook has no sheet named 行业, 工种 or 名额."), code="no_sheets"
        )
    return sorted(wanted, key=lambda name: SHEETS.index(wanted[name]))


def read_workbook(data: bytes) -> Workbook:
    """The recognised sheets of an uploaded workbook, with their columns found.

    Raises ValidationFailed for a file that cannot be imported at all; problems of one sheet
    (a missing column) are collected in `Workbook.issues` so every sheet's are named at once.
    """
    sheets: list[Sheet] = []
    issues: list[Issue] = []
    for table in uploads.read_sheets(data, LIMITS, _choose_sheets):
        spec = _sheet_spec(table.sheet)
        assert spec is not None
        sheet = Sheet(spec=spec, title=table.sheet, grid=table.rows)
        _find_columns(sheet, issues)
        sheets.append(sheet)
    if not any(s.data_rows for s in sheets) and not issues:
        raise ValidationFailed(N_("The workbook has no rows to import."), code="no_rows")
    return Workbook(sheets=sheets, issues=issues)


_COLUMN_NAMES = {spec.kind: uploads.column_names(spec.columns) for spec in SHEETS}


def _find_columns(sheet: Sheet, issues: list[Issue]) -> None:
    spec = sheet.spec
    first = next((i for i, row in enumerate(sheet.grid) if any(clean(c) for c in row)), None)
    if first is None:
        return  # an empty sheet imports nothing
    sheet.header_row = first + 1
    header = sheet.grid[first]
    match = uploads.match_header(header, _COLUMN_NAMES[spec.kind])
    sheet.columns = match.positions
    sheet.headers = match.headers
    for index in match.repeated:
        text = uploads.header_text(header[index])
        issues.append(
            Issue(
                sheet.title,
                sheet.header_row,
                text,
                N_("The column “{column}” appears more than once."),
                {"column": text},
            )
        )
        sheet.usable = False
    for column in spec.columns:
        if column.required and column.key not in sheet.columns:
            issues.append(
                Issue(
                    sheet.title,
                    sheet.header_row,
                    column.header,
                    N_("Missing column “{column}”."),
                    {"column": column.header},
                )
            )
            sheet.usable = False
    if spec.kind == "quota" and not {"delegation_code", "delegation_name"} & set(sheet.columns):
        issues.append(
            Issue(
                sheet.title,
                sheet.header_row,
                "推荐单位代码",
                N_("Missing column “{column}”."),
                {"column": "推荐单位代码 / 推荐单位名称"},
            )
        )
        sheet.usable = False
    sheet.data_rows = [
        i + 1 for i in range(first + 1, len(sheet.grid)) if any(clean(c) for c in sheet.grid[i])
    ]


# ---------------------------------------------------------------------------- parsing rows


_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")
_GROUP_SEPARATORS = re.compile(r"[、,，;；|/／\n]")
# A cell starting with one of these runs as a formula when a spreadsheet opens an export
# of it (CSV/formula injection), so free text may not start with one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _RowReader:
    """Typed values from one row, collecting a problem per cell instead of stopping at one."""

    def __init__(self, sheet: Sheet, excel_row: int, issues: list[Issue]):
        self.sheet = sheet
        self.row = excel_row
        self.issues = issues
        self.failed = False

    def fail(self, key: str, message: str, **params: Any) -> None:
        self.issues.append(
            Issue(self.sheet.title, self.row, self.sheet.header(key), message, params)
        )
        self.failed = True

    def has(self, key: str) -> bool:
        return key in self.sheet.columns

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.sheet.raw(self.row, key) or ""
        if required and not value:
            self.fail(key, N_("This field is required."))
        elif value.startswith(_FORMULA_STARTS):
            self.fail(
                key,
                N_("“{value}” looks like a spreadsheet formula: text may not start with “{char}”."),
                value=value,
                char=value[0],
            )
        return value

    def code(self, key: str, *, required: bool = True) -> str:
        # Full-width letters (Ｔ００１) too; check_code in the plan decides what is valid.
        value = unicodedata.normalize("NFKC", self.sheet.raw(self.row, key) or "").strip()
        if value.endswith(".0") and value[:-2].isdigit():
            value = value[:-2]  # a numeric cell: 1001 stored as 1001.0
        if required and not value:
            self.fail(key, N_("This field is required."))
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = 0,
        percent: bool = False,
    ) -> int | None:
        value = unicodedata.normalize("NFKC", self.sheet.raw(self.row, key) or "").strip()
        if percent:
            value = value.removesuffix("%").strip()
        if not value:
            if required:
                self.fail(key, N_("This field is required."))
            return None
        if not _NUMBER.fullmatch(value):
            self.fail(key, N_("“{value}” is not a whole number."), value=value)
            return None
        number = int(value.split(".")[0])
        if minimum is not None and number < minimum:
            if minimum == 0:
                self.fail(key, N_("{value} is negative; enter 0 or more."), value=number)
            else:
                self.fail(
                    key,
                    N_("{value} is below the minimum of {minimum}."),
                    value=number,
                    minimum=minimum,
                )
            return None
        return number

    def skill_level(self, key: str) -> int | None:
        value = unicodedata.normalize("NFKC", self.sheet.raw(self.row, key) or "").strip()
        if not value:
            return None
        levels = set()
        for token in re.split(r"[/()·、,\s]+", value.lower()):
            if token in ("", "level"):
                continue
            digits = token.removeprefix("level").removesuffix("级")
            if digits.isdigit() and 1 <= int(digits) <= 5:
                levels.add(int(digits))
            elif token.removesuffix("职业技能等级") in SKILL_LEVEL_NAMES:
                levels.add(SKILL_LEVEL_NAMES[token.removesuffix("职业技能等级")])
            else:
                levels.add(0)
        if len(levels) != 1 or 0 in levels:
            self.fail(
                key,
                N_("Unknown skill level “{value}”: use 1–5 or 五级/初级工 … 一级/高级技师."),
                value=value,
            )
            return None
        return levels.pop()

    def judge_rule(self, key: str) -> str | None:
        value = self.sheet.raw(self.row, key) or ""
        if not value:
            return None
        lookup = {k.lower(): k for k in JUDGE_RULES}
        token = current_locale.set("zh_CN")
        try:
            lookup.update({gettext(label): k for k, label in JUDGE_RULES.items()})
        finally:
            current_locale.reset(token)
        rule = lookup.get(value.strip().lower()) or lookup.get(value.strip())
        if rule is None:
            self.fail(
                key,
                N_("Unknown judge-combination rule “{value}”; use one of {choices}."),
                value=value,
                choices=", ".join(JUDGE_RULES),
            )
        return rule


@dataclass
class Rows:
    """Inputs of one sheet, each with the Excel row it came from."""

    items: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    # Keys of rows that could not be parsed: later sheets referring to them get a clear message.
    failed_codes: set[str] = field(default_factory=set)

    def add(self, item: Any, row: int) -> None:
        self.items.append(item)
        self.rows.append(row)


def _first_seen(
    seen: dict[Any, int], key: Any, reader: _RowReader, column: str, message: str, **params: Any
) -> bool:
    if key in seen:
        reader.fail(column, message, row=seen[key], **params)
        return False
    seen[key] = reader.row
    return True


def industry_rows(sheet: Sheet, existing: dict[str, dict], issues: list[Issue]) -> Rows:
    """`existing`: the competition's industries by code, whose values fill left-out columns."""
    out = Rows()
    seen: dict[str, int] = {}
    # New records without a sort order follow the existing ones, in the order of the sheet.
    after = max((r["sort_order"] for r in existing.values()), default=0)
    for position, row in enumerate(sheet.data_rows, start=after + 1):
        r = _RowReader(sheet, row, issues)
        code = r.code("code")
        name = r.text("name", required=True)
        current = existing.get(code, {})
        name_en = r.text("name_en") if r.has("name_en") else current.get("name_en", "")
        sort_order = r.integer("sort_order", minimum=None)
        if sort_order is None:
            sort_order = current.get("sort_order", position)
        if code and not _first_seen(
            seen, code, r, "code", N_("Duplicate code “{value}”: already on row {row}."), value=code
        ):
            continue
        if r.failed:
            out.failed_codes.add(code)
            continue
        out.add(IndustryIn(code=code, name=name, name_en=name_en, sort_order=sort_order), row)
    return out


def _split_groups(value: str) -> tuple[str, ...]:
    return tuple(g.strip() for g in _GROUP_SEPARATORS.split(value) if g.strip())


def trade_rows(sheet: Sheet, existing: dict[str, dict], issues: list[Issue]) -> Rows:
    """`existing`: the competition's trades by code (JSON loaded). Their settings that the
    workbook does not carry (awards, tie-break, judge tolerances …) are kept as they are."""
    out = Rows()
    seen: dict[str, int] = {}
    after = max((r["sort_order"] for r in existing.values()), default=0)
    for position, row in enumerate(sheet.data_rows, start=after + 1):
        r = _RowReader(sheet, row, issues)
        code = r.code("code")
        current = existing.get(code)
        base = _trade_base(current, position)
        name = r.text("name", required=True)
        industry_code = r.code("industry_code")
        name_en = r.text("name_en") if r.has("name_en") else base.name_en
        groups = base.groups
        if r.has("groups"):
            groups = _split_groups(r.text("groups"))
        events = []
        for kind, key in (
            (EventKind.theory, "theory"),
            (EventKind.practical, "practical"),
            (EventKind.oral, "oral"),
        ):
            weight = r.integer(key, percent=True) if r.has(key) else None
            if weight is not None:
                events.append(TradeEvent(key=kind, weight=weight))
        eligibility = base.eligibility
        changes: dict[str, Any] = {}
        if r.has("min_age"):
            changes["min_age"] = r.integer("min_age")
        if r.has("max_age"):
            changes["max_age"] = r.integer("max_age")
        if r.has("min_skill_level"):
            changes["min_skill_level"] = r.skill_level("min_skill_level")
        if r.has("min_years_service"):
            changes["min_years_service"] = r.integer("min_years_service") or 0
        eligibility = msgspec.structs.replace(eligibility, **changes)
        max_entries = r.integer("max_entries") if r.has("max_entries") else base.max_entries
        judge_rule = base.judge_rule
        if r.has("judge_rule"):
            rule = r.judge_rule("judge_rule")
            if rule is not None:
                judge_rule = msgspec.structs.replace(judge_rule, rule=rule)
        if code and not _first_seen(
            seen, code, r, "code", N_("Duplicate code “{value}”: already on row {row}."), value=code
        ):
            continue
        if r.failed:
            out.failed_codes.add(code)
            continue
        out.add(
            msgspec.structs.replace(
                base,
                code=code,
                name=name,
                industry_code=industry_code,
                name_en=name_en,
                groups=groups,
                events=tuple(events),
                eligibility=eligibility,
                max_entries=max_entries,
                judge_rule=judge_rule,
            ),
            row,
        )
    return out


def _trade_base(current: dict | None, position: int) -> TradeIn:
    if current is None:
        return TradeIn(code="", name="", industry_code="", sort_order=position)
    return TradeIn(
        code=current["code"],
        name=current["name"],
        industry_code="",
        name_en=current["name_en"],
        groups=tuple(current["groups"] or ()),
        eligibility=settings_from_json(Eligibility, current["eligibility"]),
        awards=settings_from_json(AwardRules, current["awards"]),
        tie_break=tuple(current["tie_break"] or ()),
        judge_rule=settings_from_json(JudgeRule, current["judge_rule"]),
        max_entries=current["max_entries"],
        sort_order=current["sort_order"],
    )


def quota_rows(sheet: Sheet, delegations: dict[str, str], issues: list[Issue]) -> Rows:
    """`delegations`: the competition's delegations, code → name."""
    out = Rows()
    seen: dict[tuple[str, str], int] = {}
    by_name = {name: code for code, name in delegations.items()}
    for row in sheet.data_rows:
        r = _RowReader(sheet, row, issues)
        code = r.code("delegation_code", required=False) if r.has("delegation_code") else ""
        name = r.text("delegation_name") if r.has("delegation_name") else ""
        if not code and not name:
            r.fail(
                "delegation_code" if r.has("delegation_code") else "delegation_name",
                N_("This field is required."),
            )
        elif not code:
            code = by_name.get(name, "")
            if not code:
                r.fail("delegation_name", N_("Unknown delegation “{value}”."), value=name)
        elif name and code in delegations and delegations[code] != name:
            r.fail(
                "delegation_name",
                N_("The delegation code “{code}” belongs to “{actual}”, not “{value}”."),
                code=code,
                actual=delegations[code],
                value=name,
            )
        trade_code = r.code("trade_code")
        max_entries = r.integer("max_entries", required=True)
        key = (code, trade_code)
        if (
            code
            and trade_code
            and not _first_seen(
                seen,
                key,
                r,
                "trade_code",
                N_(
                    "Duplicate quota for delegation “{delegation}” in trade “{trade}”: already on "
                    "row {row}."
                ),
                delegation=code,
                trade=trade_code,
            )
        ):
            continue
        if r.failed or max_entries is None:
            continue
        out.add(QuotaIn(delegation_code=code, trade_code=trade_code, max_entries=max_entries), row)
    return out


# ---------------------------------------------------------------------------- importing


@dataclass(frozen=True)
class SheetResult:
    kind: str
    title: str
    created: int
    updated: int
    unchanged: int


# Fields of `plan_changes` errors → the column they belong to.
_FIELD_COLUMNS = {"trade": {"events": ("theory", "practical", "oral")}}
_REFERENCE_FIELD = {
    "trade": ("industry_code", N_("industry")),
    "quota": ("trade_code", N_("trade")),
}


def _column_for(sheet: Sheet, field_name: str) -> str:
    keys = _FIELD_COLUMNS.get(sheet.spec.kind, {}).get(field_name, (field_name,))
    return "/".join(sheet.header(k) for k in keys if k in sheet.columns)


async def _existing_rows(table: Any, competition_id: int) -> dict[str, dict]:
    rows = await table.select().where(table.competition == competition_id).output(load_json=True)
    return {r["code"]: r for r in rows}


async def _delegations(competition_id: int) -> dict[str, str]:
    rows = await Delegation.select(Delegation.code, Delegation.name).where(
        Delegation.competition == competition_id
    )
    return {r["code"]: r["name"] for r in rows}


async def import_workbook(
    competition_id: int, data: bytes, actor: Actor, *, filename: str = ""
) -> list[SheetResult]:
    """Import every recognised sheet of an uploaded workbook, or nothing.

    Raises ValidationFailed for a file that cannot be read (uploads.FileTooLarge, 413, for one
    too large), PhaseError when the structure may no longer change, and WorkbookRejected with
    every problem otherwise.
    """
    # Parsing a large workbook takes a CPU-second; a worker thread keeps other requests
    # (judges scoring on tablets) answered meanwhile.
    book = await anyio.to_thread.run_sync(read_workbook, data)
    reason = gettext("Excel import: {file}", file=filename[:150]) if filename else ""
    async with transaction():
        await structure.require_structure_editable(competition_id)
        issues = list(book.issues)
        results: list[SheetResult] = []
        failed: dict[str, set[str]] = {}
        for position, sheet in enumerate(book.sheets, start=1):
            kind = sheet.spec.kind
            if not sheet.usable:
                # Its rows cannot be read; later sheets referring to its codes are told why.
                failed[kind] = {sheet.raw(r, "code") or "" for r in sheet.data_rows} - {""}
                continue
            rows = await _parse(sheet, competition_id, issues)
            plan = await structure.plan_changes(kind, competition_id, rows.items)
            failed_references = failed.get({"trade": "industry", "quota": "trade"}.get(kind, ""))
            for error in plan.errors:
                item = rows.items[error.index]
                message, params, field_name = error.message, error.params, error.field
                reference = _REFERENCE_FIELD.get(kind)
                if reference and field_name == reference[0] and failed_references:
                    value = getattr(item, field_name)
                    if value in failed_references:
                        message = N_(
                            "The {what} “{value}” has problems on its own row, so this row "
                            "cannot use it."
                        )
                        params = {"what": reference[1], "value": value}
                issues.append(
                    Issue(
                        sheet.title,
                        rows.rows[error.index],
                        _column_for(sheet, field_name),
                        message,
                        params,
                    )
                )
                if kind != "quota":
                    rows.failed_codes.add(item.code)
            failed[kind] = rows.failed_codes
            if issues and position == len(book.sheets):
                break  # nothing will be kept, and no later sheet needs these rows
            # The rows without problems are written even when others have some, so the next
            # sheet is checked against them; if anything failed, the whole transaction is
            # rolled back below and nothing stays.
            valid = structure.Plan(
                kind=kind, inserts=plan.inserts, updates=plan.updates, unchanged=plan.unchanged
            )
            applied = await structure.apply_plan(valid, competition_id, actor, reason)
            results.append(
                SheetResult(kind, sheet.title, applied.created, applied.updated, applied.unchanged)
            )
        if issues:
            issues.sort(key=lambda i: (_sheet_order(book, i.sheet), i.row or 0))
            raise WorkbookRejected(book, issues)
    return results


def _sheet_order(book: Workbook, title: str) -> int:
    return next((n for n, s in enumerate(book.sheets) if s.title == title), -1)


async def _parse(sheet: Sheet, competition_id: int, issues: list[Issue]) -> Rows:
    if sheet.spec.kind == "industry":
        return industry_rows(sheet, await _existing_rows(Industry, competition_id), issues)
    if sheet.spec.kind == "trade":
        return trade_rows(sheet, await _existing_rows(Trade, competition_id), issues)
    return quota_rows(sheet, await _delegations(competition_id), issues)


# ---------------------------------------------------------------------------- writing workbooks


def _new_workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    # Strings stay strings: an uploaded "=cmd|…" must never come back as a live formula.
    return xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )


_TEXT_LIMIT = 32_767  # the longest string a cell holds


def template_workbook(delegation: tuple[str, str] | None = None) -> bytes:
    """The workbook organizers fill in: a 说明 sheet, then 行业 / 工种 / 名额 with a header row
    and example rows. `delegation` (code, name) makes the example quota usable as it is."""
    # Example names no real competition uses, so importing the template unchanged cannot
    # clash with real records.
    code, name = delegation or ("D01", "示例推荐单位")
    examples: dict[str, list[dict[str, Any]]] = {
        "industry": [
            {"code": "EX", "name": "示例行业", "name_en": "Example industry", "sort_order": 1}
        ],
        "trade": [
            {
                "code": "EX01", "name": "示例工种甲", "industry_code": "EX",
                "name_en": "Example trade A", "groups": "职工组、学生组", "theory": 30,
                "practical": 70, "oral": "", "min_age": 16, "max_age": 60,
                "min_skill_level": "四级/中级工", "min_years_service": 0, "max_entries": "",
                "judge_rule": "trimmed_mean",
            },
            {
                "code": "EX02", "name": "示例工种乙", "industry_code": "EX",
                "name_en": "Example trade B", "groups": "", "theory": 25, "practical": 55,
                "oral": 20, "min_age": 18, "max_age": 55, "min_skill_level": 3,
                "min_years_service": 2, "max_entries": 60, "judge_rule": "",
            },
        ],
        "quota": [
            {"delegation_code": code, "delegation_name": name, "trade_code": "EX01",
             "max_entries": 3},
            {"delegation_code": code, "delegation_name": name, "trade_code": "EX02",
             "max_entries": 2},
        ],
    }  # fmt: skip
    buffer = io.BytesIO()
    book = _new_workbook(buffer)
    text = book.add_format({"num_format": "@"})
    head = book.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1, "num_format": "@"})
    head_required = book.add_format(
        {
            "bold": True,
            "bg_color": "#FDE8E8",
            "border": 1,
            "num_format": "@",
            "font_color": "#8E1B21",
        }
    )
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    notes = book.add_worksheet("说明")
    notes.set_column(0, 0, 12)
    notes.set_column(1, 1, 16)
    notes.set_column(2, 2, 10)
    notes.set_column(3, 3, 90, wrap)
    notes.write_string(0, 0, gettext("How to fill in this workbook"), head)
    line = 1
    for note in GENERAL_NOTES:
        notes.write_string(line, 0, gettext(note))
        line += 1
    line += 1
    for c, title in enumerate(
        (gettext("Sheet"), gettext("Column"), gettext("Required"), gettext("How to fill it in"))
    ):
        notes.write_string(line, c, title, head)
    line += 1
    for spec in SHEETS:
        for column in spec.columns:
            notes.write_string(line, 0, spec.title)
            notes.write_string(line, 1, column.header)
            notes.write_string(line, 2, gettext("Yes") if column.required else "")
            notes.write_string(line, 3, gettext(column.hint))
            line += 1

    for spec in SHEETS:
        sheet = book.add_worksheet(spec.title)
        sheet.freeze_panes(1, 0)
        for c, column in enumerate(spec.columns):
            sheet.set_column(
                c, c, max(12, 2 * len(column.header) + 4), text if column.text else None
            )
            sheet.write_string(0, c, column.header, head_required if column.required else head)
            sheet.write_comment(0, c, gettext(column.hint), {"x_scale": 2, "y_scale": 1.5})
        for r, example in enumerate(examples[spec.kind], start=1):
            for c, column in enumerate(spec.columns):
                value = example.get(column.key, "")
                if isinstance(value, int):
                    sheet.write_number(r, c, value)
                elif value:
                    sheet.write_string(r, c, str(value), text if column.text else None)
        if spec.kind == "trade":
            rule = next(i for i, c in enumerate(spec.columns) if c.key == "judge_rule")
            sheet.data_validation(
                1, rule, MAX_ROWS, rule, {"validate": "list", "source": list(JUDGE_RULES)}
            )
    book.close()
    return buffer.getvalue()


def error_report(book: Workbook, issues: Iterable[Issue]) -> bytes:
    """The uploaded rows again, each sheet with an extra 错误 column, plus a first sheet that
    lists every problem. Every cell is written as a string, never as a formula."""
    issues = list(issues)
    separator = "；" if current_locale.get() == "zh_CN" else "; "
    buffer = io.BytesIO()
    out = _new_workbook(buffer)
    head = out.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    bad = out.add_format({"bg_color": "#FDE4E1"})
    bad_text = out.add_format({"bg_color": "#FDE4E1", "font_color": "#7A1B13", "text_wrap": True})

    summary = out.add_worksheet(gettext("Problems")[:31])
    summary.set_column(0, 0, 14)
    summary.set_column(1, 1, 8)
    summary.set_column(2, 2, 18)
    summary.set_column(3, 3, 80)
    for c, title in enumerate(
        (gettext("Sheet"), gettext("Row"), gettext("Column"), gettext("Problem"))
    ):
        summary.write_string(0, c, title, head)
    for r, issue in enumerate(issues, start=1):
        summary.write_string(r, 0, issue.sheet)
        if issue.row is not None:
            summary.write_number(r, 1, issue.row)
        summary.write_string(r, 2, issue.column[:_TEXT_LIMIT])
        summary.write_string(r, 3, issue.text()[:_TEXT_LIMIT])
    summary.freeze_panes(1, 0)

    by_row: dict[tuple[str, int], list[str]] = {}
    for issue in issues:
        if issue.row is not None:
            text = f"【{issue.column}】{issue.text()}" if issue.column else issue.text()
            by_row.setdefault((issue.sheet, issue.row), []).append(text)
    for sheet in book.sheets:
        ws = out.add_worksheet(sheet.title[:31])
        width = max((len(row) for row in sheet.grid), default=0)
        error_column = width
        ws.set_column(error_column, error_column, 60)
        for index, row in enumerate(sheet.grid):
            excel_row = index + 1
            messages = by_row.get((sheet.title, excel_row))
            is_header = excel_row == sheet.header_row
            row_format = head if is_header else (bad if messages else None)
            for c, value in enumerate(row):
                if value:
                    ws.write_string(index, c, value[:_TEXT_LIMIT], row_format)
            if is_header:
                ws.write_string(index, error_column, gettext("Error"), head)
                if messages:
                    ws.write_string(
                        index, error_column + 1, separator.join(messages)[:_TEXT_LIMIT], bad_text
                    )
            elif messages:
                ws.write_string(
                    index, error_column, separator.join(messages)[:_TEXT_LIMIT], bad_text
                )
        if sheet.header_row:
            ws.freeze_panes(sheet.header_row, 0)
    out.close()
    return buffer.getvalue()
