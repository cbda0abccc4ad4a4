"""Industries, trades and quotas from an Excel workbook (xlsx), all or nothing.

A workbook holds any of the sheets 行业 (industries), 工种 (trades) and 名额 (quotas), each with a
Chinese header row (English aliases accepted). It is read through the spreadsheet kit
(competition/spreadsheets/): every cell comes back as cleaned text and is parsed here, so a
"三十" where a weight belongs becomes a message on that cell instead of a crash. Rows then go
through `structure.plan_changes` — the same checks as the organizer's forms — sheet by sheet in
one transaction, so a trade may use an industry created a few rows earlier in the same file.
If any row of any sheet has a problem the transaction is rolled back and the caller gets every
problem with its sheet, its row number as Excel shows it, and its column.

No HTTP here: the controller hands in the uploaded bytes and turns the outcome into a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec

from competition import spreadsheets as kit
from competition import structure
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
from competition.spreadsheets import CODE, NUMBER, Column, RowProblem, RowsRejected
from competition.tables import Delegation, EventKind, Industry, Trade

LIMITS = kit.LIMITS["structure"]
XLSX_MEDIA_TYPE = kit.XLSX_MEDIA_TYPE
# A quota cell meaning "no cap" (None): blank, 不限 or unlimited.
UNLIMITED_WORDS = frozenset({"", "不限", "无限", "无限制", "unlimited", "no limit"})


class WorkbookRejected(RowsRejected):
    """The workbook was read but some rows (or sheets) have problems; nothing was written."""

    def __init__(self, book: Workbook, issues: list[RowProblem]):
        super().__init__(issues)
        self.book = book
        self.issues = issues


# ---------------------------------------------------------------------------- the format


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
        Column("code", "行业代码", ("code", "industry_code"), CODE_HINT, True, CODE),
        Column("name", "行业名称", ("name",), NAME_HINT, True),
        Column("name_en", "英文名称", ("name_en", "english name"), NAME_EN_HINT),
        Column(
            "sort_order",
            "排序",
            ("sort_order", "order"),
            N_("Optional whole number; smaller comes first."),
            kind=NUMBER,
        ),
    ),
)

TRADE_SHEET = SheetSpec(
    "trade",
    "工种",
    ("trade", "trades"),
    N_("Trades"),
    (
        Column("code", "工种代码", ("code", "trade_code"), CODE_HINT, True, CODE),
        Column("name", "工种名称", ("name",), NAME_HINT, True),
        Column(
            "industry_code",
            "行业代码",
            ("industry_code", "industry"),
            N_(
                "Required. The code of an industry on the 行业 sheet or already in the competition."
            ),
            True,
            CODE,
        ),
        Column("name_en", "英文名称", ("name_en", "english name"), NAME_EN_HINT),
        Column(
            "groups",
            "组别",
            ("groups",),
            N_("Optional. Groups separated by 、 or |, e.g. 职工组、学生组."),
        ),
        Column(
            "theory",
            "理论权重",
            ("theory", "theory_weight", "理论知识权重"),
            N_("Theory weight in whole percent. Blank: no theory event."),
            True,
            NUMBER,
        ),
        Column(
            "practical",
            "实操权重",
            ("practical", "practical_weight", "操作技能权重"),
            N_("Practical weight in whole percent. Blank: no practical event."),
            True,
            NUMBER,
        ),
        Column(
            "oral",
            "答辩权重",
            ("oral", "oral_weight"),
            N_(
                "Oral defence weight in whole percent. Blank: no oral defence. "
                "Weights add up to 100."
            ),
            kind=NUMBER,
        ),
        Column(
            "min_age",
            "最低年龄",
            ("min_age",),
            N_("Minimum age (14–70). Blank: no minimum."),
            kind=NUMBER,
        ),
        Column(
            "max_age",
            "最高年龄",
            ("max_age",),
            N_("Maximum age (14–75). Blank: no maximum."),
            kind=NUMBER,
        ),
        Column(
            "min_skill_level",
            "最低技能等级",
            ("min_skill_level", "skill_level"),
            N_(
                "Lowest skill level required: 1–5, or 五级/初级工, 四级/中级工, 三级/高级工, "
                "二级/技师, 一级/高级技师. Blank: none."
            ),
            kind=NUMBER,
        ),
        Column(
            "min_years_service",
            "最低工龄",
            ("min_years_service", "years_service"),
            N_("Minimum years of service (0–50). Blank: 0."),
            kind=NUMBER,
        ),
        Column(
            "max_entries",
            "总名额上限",
            ("max_entries",),
            N_("Optional cap on entries over all delegations. Blank: no cap."),
            kind=NUMBER,
        ),
        Column(
            "judge_rule",
            "评委合分规则",
            ("judge_rule",),
            N_(
                "Optional: mean, trimmed_mean, fig_tolerance or closest_two_of_three. "
                "Blank: keep the current rule (new trades: trimmed_mean)."
            ),
            kind=CODE,
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
            kind=CODE,
        ),
        Column(
            "delegation_name",
            "推荐单位名称",
            ("delegation_name",),
            N_("The delegation's name, used when the code is blank."),
        ),
        Column(
            "trade_code",
            "工种代码",
            ("trade_code", "trade"),
            N_("Required. The code of a trade on the 工种 sheet or already in the competition."),
            True,
            CODE,
        ),
        Column(
            "max_entries",
            "名额",
            ("max_entries", "quota"),
            N_(
                "Places the delegation has in the trade, 0–1000. Blank or 不限 (unlimited): no cap."
            ),
            True,
            NUMBER,
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

# ---------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    spec: SheetSpec
    title: str  # as named in the file
    grid: kit.Grid
    usable: bool = True  # False when a required column is missing

    @property
    def rows(self) -> list[list[str]]:
        return self.grid.table.rows

    @property
    def header_row(self) -> int:
        return self.grid.header_row

    @property
    def data_rows(self) -> list[int]:
        """Excel row numbers of the non-empty rows below the header."""
        return self.grid.numbers

    def header(self, key: str) -> str:
        return self.grid.header(key)

    def value(self, index: int, key: str) -> str | None:
        """The cleaned text of a cell of data row `index`, or None when the sheet has no such
        column."""
        return self.grid.cell(index, key) if self.grid.has(key) else None


@dataclass
class Workbook:
    sheets: list[Sheet]
    issues: list[RowProblem]  # problems found before any row is parsed (missing columns …)

    def sheet(self, kind: str) -> Sheet | None:
        return next((s for s in self.sheets if s.spec.kind == kind), None)


def _sheet_spec(name: str) -> SheetSpec | None:
    key = kit.clean(name).lower()
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
    issues: list[RowProblem] = []
    for table in kit.read_sheets(data, LIMITS, _choose_sheets):
        spec = _sheet_spec(table.sheet)
        assert spec is not None
        sheet = Sheet(spec, table.sheet, kit.Grid(table, spec.columns, sheet=table.sheet))
        _check_columns(sheet, issues)
        sheets.append(sheet)
    if not any(s.data_rows for s in sheets) and not issues:
        raise ValidationFailed(N_("The workbook has no rows to import."), code="no_rows")
    return Workbook(sheets=sheets, issues=issues)


def _check_columns(sheet: Sheet, issues: list[RowProblem]) -> None:
    grid = sheet.grid
    if grid.empty:
        return  # an empty sheet imports nothing

    def missing(header: str) -> RowProblem:
        return RowProblem(
            grid.header_row,
            header,
            N_("Missing column “{column}”.", column=header),
            "missing_column",
            sheet.title,
        )

    header = grid.table.rows[grid.header_index]
    for index in grid.match.repeated:
        text = kit.header_text(header[index])
        issues.append(
            RowProblem(
                grid.header_row,
                text,
                N_("The column “{column}” appears more than once.", column=text),
                "repeated_column",
                sheet.title,
            )
        )
        sheet.usable = False
    for column in grid.missing():
        issues.append(missing(column.header))
        sheet.usable = False
    if sheet.spec.kind == "quota" and not (
        grid.has("delegation_code") or grid.has("delegation_name")
    ):
        issues.append(missing("推荐单位代码 / 推荐单位名称"))
        sheet.usable = False


# ---------------------------------------------------------------------------- parsing rows


_GROUP_SEPARATORS = re.compile(r"[、,，;；|/／\n]")


class _RowReader:
    """Typed values from one row, collecting a problem per cell instead of stopping at one.
    A cell the kit already refused (a formula, text a spreadsheet would run) counts as failed
    and is not read again, so it gets one message."""

    def __init__(self, sheet: Sheet, index: int, issues: list[RowProblem], blocked: dict):
        self.sheet = sheet
        self.index = index
        self.row = sheet.data_rows[index]
        self.issues = issues
        refused = blocked.get(index, ())
        self.refused = {p.column for p in refused}
        self.failed = bool(refused)

    def fail(self, key: str, message: str, **params: Any) -> None:
        self.issues.append(
            RowProblem(
                self.row, self.sheet.header(key), N_(message, **params), "", self.sheet.title
            )
        )
        self.failed = True

    def has(self, key: str) -> bool:
        return self.sheet.grid.has(key)

    def _raw(self, key: str) -> str:
        if self.sheet.header(key) in self.refused:
            return ""
        return self.sheet.value(self.index, key) or ""

    def text(self, key: str, *, required: bool = False) -> str:
        value = self._raw(key)
        if required and not value and self.sheet.header(key) not in self.refused:
            self.fail(key, N_("This field is required."))
        return value

    def code(self, key: str, *, required: bool = True) -> str:
        value = self._raw(key)
        if value.endswith(".0") and value[:-2].isdigit():
            value = value[:-2]  # a numeric cell: 1001 stored as 1001.0
        if required and not value and self.sheet.header(key) not in self.refused:
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
        value = self._raw(key)
        if percent:
            value = value.removesuffix("%").strip()
        if not value:
            if required and self.sheet.header(key) not in self.refused:
                self.fail(key, N_("This field is required."))
            return None
        try:
            number = kit.parse_whole(value)
        except ValueError:
            self.fail(key, N_("“{value}” is not a whole number."), value=value)
            return None
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

    def quota(self, key: str) -> tuple[bool, int | None]:
        """(read, places): blank, 不限 or unlimited → (True, None), meaning no cap."""
        value = self._raw(key)
        if self.sheet.header(key) in self.refused:
            return False, None
        if value.lower() in UNLIMITED_WORDS:
            return True, None
        number = self.integer(key, required=True)
        return number is not None, number

    def skill_level(self, key: str) -> int | None:
        value = self._raw(key)
        try:
            return kit.parse_skill_level(value)
        except ValueError:
            self.fail(
                key,
                N_("Unknown skill level “{value}”: use 1–5 or 五级/初级工 … 一级/高级技师."),
                value=value,
            )
            return None

    def judge_rule(self, key: str) -> str | None:
        value = self._raw(key)
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


def _readers(sheet: Sheet, issues: list[RowProblem]) -> Iterable[_RowReader]:
    """A reader for each data row; the problems the kit finds in the sheet are named first."""
    blocked = sheet.grid.problems()
    for problems in blocked.values():
        issues.extend(problems)
    for index in range(len(sheet.data_rows)):
        yield _RowReader(sheet, index, issues, blocked)


def _first_seen(
    seen: dict[Any, int], key: Any, reader: _RowReader, column: str, message: str, **params: Any
) -> bool:
    if key in seen:
        reader.fail(column, message, row=seen[key], **params)
        return False
    seen[key] = reader.row
    return True


def industry_rows(sheet: Sheet, existing: dict[str, dict], issues: list[RowProblem]) -> Rows:
    """`existing`: the competition's industries by code, whose values fill left-out columns."""
    out = Rows()
    seen: dict[str, int] = {}
    # New records without a sort order follow the existing ones, in the order of the sheet.
    after = max((r["sort_order"] for r in existing.values()), default=0)
    for position, r in enumerate(_readers(sheet, issues), start=after + 1):
        row = r.row
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


def trade_rows(sheet: Sheet, existing: dict[str, dict], issues: list[RowProblem]) -> Rows:
    """`existing`: the competition's trades by code (JSON loaded). Their settings that the
    workbook does not carry (awards, tie-break, judge tolerances …) are kept as they are."""
    out = Rows()
    seen: dict[str, int] = {}
    after = max((r["sort_order"] for r in existing.values()), default=0)
    for position, r in enumerate(_readers(sheet, issues), start=after + 1):
        row = r.row
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


def quota_rows(sheet: Sheet, delegations: dict[str, str], issues: list[RowProblem]) -> Rows:
    """`delegations`: the competition's delegations, code → name."""
    out = Rows()
    seen: dict[tuple[str, str], int] = {}
    by_name = {name: code for code, name in delegations.items()}
    for r in _readers(sheet, issues):
        row = r.row
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
        read, max_entries = r.quota("max_entries")
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
        if r.failed or not read:
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
    return "/".join(sheet.header(k) for k in keys if sheet.grid.has(k))


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
                failed[kind] = (
                    set(sheet.grid.column("code")) - {""} if sheet.grid.has("code") else set()
                )
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
                    RowProblem(
                        rows.rows[error.index],
                        _column_for(sheet, field_name),
                        N_(message, **params),
                        "invalid",
                        sheet.title,
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


async def _parse(sheet: Sheet, competition_id: int, issues: list[RowProblem]) -> Rows:
    if sheet.spec.kind == "industry":
        return industry_rows(sheet, await _existing_rows(Industry, competition_id), issues)
    if sheet.spec.kind == "trade":
        return trade_rows(sheet, await _existing_rows(Trade, competition_id), issues)
    return quota_rows(sheet, await _delegations(competition_id), issues)


# ---------------------------------------------------------------------------- writing workbooks


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
             "max_entries": "不限"},
        ],
    }  # fmt: skip
    writer = kit.TemplateWriter()
    notes, line = writer.notes(
        "说明",
        gettext("How to fill in this workbook"),
        map(gettext, GENERAL_NOTES),
        widths=(12, 16, 10, 90),
        column=0,
    )
    titles = (
        gettext("Sheet"),
        gettext("Column"),
        gettext("Required"),
        gettext("How to fill it in"),
    )
    kit.write_row(notes, line, titles, writer.head)
    line += 1
    for spec in SHEETS:
        for column in spec.columns:
            required = gettext("Yes") if column.required else ""
            kit.write_row(notes, line, (spec.title, column.header, required, gettext(column.hint)))
            line += 1
    for spec in SHEETS:
        writer.data_sheet(
            spec.title,
            spec.columns,
            examples=examples[spec.kind],
            choices={"judge_rule": list(JUDGE_RULES)} if spec.kind == "trade" else None,
            rows=LIMITS.max_rows,
        )
    return writer.close()


def error_report(book: Workbook, issues: Iterable[RowProblem]) -> bytes:
    """The uploaded rows again, each sheet with an extra 错误 column, plus a first sheet that
    lists every problem. Every cell is written as escaped text, never as a formula."""
    sheets = [
        kit.ReportSheet(sheet.title, sheet.rows, sheet.header_row, source=sheet.title)
        for sheet in book.sheets
    ]
    return kit.report_workbook(sheets, issues, listing=True)
