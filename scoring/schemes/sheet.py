"""The marking-scheme workbook (评分细则导入), read and written through the spreadsheet kit.

One sheet, one row per aspect (评分项). A file may hold the schemes of one trade or of several:
the 工种代码 column says whose each row is, and the rows of one trade make its whole scheme —
a trade named in the file gets exactly those aspects, a trade the file does not name keeps its
scheme. The criterion (评分模块) is named by its code on every row; its name is written on at
least one of its rows (repeating it is fine, two different names are not).

Measurement (测量) aspects may list deduction steps in 扣分项, "label:marks" separated by ；
or new lines. Judgement (评价) aspects fill the four columns 评价0分 … 评价3分.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from competition import spreadsheets as kit
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, NUMBER, TEXT, Column, RowProblem
from scoring.schemes import rules
from scoring.schemes.rules import AspectDraft, CriterionDraft, SchemeDraft
from scoring.tables import AspectKind

LIMITS = kit.LIMITS["schemes"]
SHEET = "评分细则"

COLUMNS: tuple[Column, ...] = (
    Column("trade_code", "工种代码", ("工种编号", "trade", "tradecode"),
           N_("The trade's code, e.g. T001. One file may hold several trades' schemes."),
           True, CODE),
    Column("criterion_code", "模块代码", ("模块", "criterion", "criterioncode"),
           N_("The criterion's code: A, B, C …"), True, CODE),
    Column("criterion_name", "模块名称", ("criterionname",),
           N_("The criterion's name, on at least one of its rows."), False, TEXT, width=24),
    Column("aspect_code", "评分项代码", ("评分项编号", "aspect", "aspectcode"),
           N_("Unique in the trade's scheme, e.g. A1, A2, B1."), True, CODE),
    Column("description", "评分项描述", ("评分项", "评分内容", "description"),
           N_("What the judges look at."), True, TEXT, width=40),
    Column("kind", "类型", ("评分类型", "type", "kind"),
           N_("测量 (Measurement: full marks, zero or a deduction) or 评价 (Judgement: each judge "
              "0–3)."), True, CODE),
    Column("max", "分值", ("配分", "满分", "max", "maxmark"),
           N_("The aspect's maximum mark, at most two decimals. A trade's aspects total "
              "exactly 100."), True, NUMBER),
    Column("judges", "裁判人数", ("judges",),
           N_("How many judges score it (1–9); blank: 3."), False, NUMBER),
    Column("verify", "需复核", ("复核", "verify"),
           N_("是 if a second person must verify it; blank: no."), False, CODE),
    Column("deductions", "扣分项", ("扣分标准", "deductions"),
           N_("Measurement only: deduction steps “label:marks”, separated by ； or new lines; "
              "none above the maximum."), False, TEXT, width=36),
    Column("level0", "评价0分", ("0分描述", "level0"),
           N_("Judgement only: what earns 0."), False, TEXT, width=24),
    Column("level1", "评价1分", ("1分描述", "level1"),
           N_("Judgement only: what earns 1."), False, TEXT, width=24),
    Column("level2", "评价2分", ("2分描述", "level2"),
           N_("Judgement only: what earns 2."), False, TEXT, width=24),
    Column("level3", "评价3分", ("3分描述", "level3"),
           N_("Judgement only: what earns 3."), False, TEXT, width=24),
)  # fmt: skip
BY_KEY = {c.key: c for c in COLUMNS}
YES = {"是", "需", "需要", "y", "yes", "true", "1", "√", "✓"}
NO = {"", "否", "不", "不需要", "n", "no", "false", "0", "×"}
DEFAULT_JUDGES = 3


@dataclass
class TradeRows:
    """The rows of one trade in the file, as a draft scheme."""

    trade_code: str
    first_row: int
    draft: SchemeDraft = field(default_factory=SchemeDraft)


@dataclass
class ReadSheet:
    grid: kit.Grid
    trades: dict[str, TradeRows]  # trade code → its rows, in file order
    problems: list[RowProblem]
    rows: int


def read_rows(table: kit.Table) -> ReadSheet:
    """Every row as part of its trade's draft, with the problems of single cells; the schemes
    themselves are checked by `rules.check_scheme` (see `check_file`)."""
    grid = kit.Grid(table, COLUMNS, min_columns=3)
    if grid.empty or not grid.indices:
        raise kit.no_rows()
    missing = grid.missing()
    if missing:
        raise kit.missing_columns(missing)
    refused = grid.problems()
    problems: list[RowProblem] = []
    trades: dict[str, TradeRows] = {}
    criteria_names: dict[tuple[str, str], tuple[str, int]] = {}
    for index, number in enumerate(grid.numbers):
        found = list(refused.get(index, ()))
        taken = {p.column for p in found}

        def problem(key: str, message: Msg, code: str, found=found, taken=taken, n=number):
            if grid.header(key) not in taken:
                found.append(RowProblem(n, grid.header(key), message, code))
                taken.add(grid.header(key))

        def cell(key: str, index: int = index) -> str:
            return grid.cell(index, key)

        trade_code = cell("trade_code")
        if not trade_code:
            problem("trade_code", N_("The trade code is missing."), "trade_missing")
        kind = rules.parse_kind(cell("kind"))
        if kind is None:
            problem("kind", N_("The type must be 测量 (Measurement) or 评价 (Judgement)."),
                    "unknown_kind")  # fmt: skip
        max_hundredths = 0
        try:
            max_hundredths = rules.parse_hundredths(cell("max"))
        except ValueError:
            problem("max", N_("Enter the maximum mark as a number with at most two decimals, "
                              "e.g. 12.5."), "invalid_max")  # fmt: skip
        judges = DEFAULT_JUDGES
        if cell("judges"):
            try:
                judges = kit.parse_whole(cell("judges"), unit="人")
            except ValueError:
                problem("judges", N_("The number of judges must be between 1 and {n}.",
                                     n=rules.MAX_JUDGES), "judges_needed")  # fmt: skip
        verify_text = cell("verify").lower()
        if verify_text not in YES and verify_text not in NO:
            problem("verify", N_("Write 是 or leave it blank."), "invalid_verify")
        deductions: list[rules.Deduction] = []
        try:
            deductions = rules.parse_deductions(cell("deductions"))
        except ValueError as exc:
            problem("deductions", N_("The deduction step “{step}” is not “label:marks”.",
                                     step=str(exc)[:50]), "invalid_deduction")  # fmt: skip
        descriptors = [cell(f"level{n}") for n in range(rules.LEVELS)]
        if kind != AspectKind.judgement and not any(descriptors):
            descriptors = []
        criterion_code = cell("criterion_code").upper()
        criterion_name = cell("criterion_name")
        if criterion_name and trade_code:
            known = criteria_names.get((trade_code, criterion_code))
            if known is None:
                criteria_names[(trade_code, criterion_code)] = (criterion_name, number)
            elif known[0] != criterion_name:
                problem("criterion_name", N_("The criterion {code} is named “{name}” on row "
                                             "{row}.", code=criterion_code, name=known[0],
                                             row=known[1]), "criterion_renamed")  # fmt: skip
        if found:
            problems.extend(found)
        if not trade_code:
            continue
        rows = trades.setdefault(trade_code, TradeRows(trade_code, number))
        draft = rows.draft
        if not any(c.code == criterion_code for c in draft.criteria):
            draft.criteria.append(CriterionDraft(criterion_code, "", number))
        draft.aspects.append(
            AspectDraft(
                criterion=criterion_code,
                code=cell("aspect_code").upper(),
                description=cell("description"),
                kind=kind or "",
                max_hundredths=max_hundredths,
                judges_needed=judges,
                needs_verification=verify_text in YES,
                deductions=deductions,
                descriptors=descriptors,
                row=number,
            )
        )
    for rows in trades.values():
        for criterion in rows.draft.criteria:
            name = criteria_names.get((rows.trade_code, criterion.code))
            criterion.name = name[0] if name else ""
    return ReadSheet(grid, trades, problems, len(grid.numbers))


# Where a scheme problem's field sits in the file.
FIELD_COLUMNS = {
    "criterion_code": "criterion_code",
    "criterion_name": "criterion_name",
    "aspect_code": "aspect_code",
    "description": "description",
    "kind": "kind",
    "max": "max",
    "judges": "judges",
    "deductions": "deductions",
    "descriptors": "level0",
}


def scheme_problems(
    sheet: ReadSheet, rows: TradeRows, found: list[rules.SchemeProblem]
) -> list[RowProblem]:
    """A trade's scheme problems as row problems: on the aspect's row, or (the total) on the
    trade's first row under 分值."""
    out = []
    for problem in found:
        key = FIELD_COLUMNS.get(problem.field, "max")
        column = sheet.grid.header(key)
        if problem.field == "descriptors" and problem.code == "descriptor_missing":
            column = sheet.grid.header("level0")
        out.append(RowProblem(problem.row or rows.first_row, column, problem.message, problem.code))
    return out


def template_workbook(trade_codes: list[str]) -> bytes:
    """The template: the columns with their hints, and an example scheme of 100 marks for the
    first trade (one criterion of each type), to be replaced by the organizer's own."""
    code = trade_codes[0] if trade_codes else "T001"
    writer = kit.TemplateWriter()
    examples = [
        {"trade_code": code, "criterion_code": "A", "criterion_name": "工作准备与安全",
         "aspect_code": "A1", "description": "劳动防护用品穿戴齐全", "kind": "测量",
         "max": 5, "judges": 3, "deductions": "每缺一件:1"},
        {"trade_code": code, "criterion_code": "A", "aspect_code": "A2",
         "description": "工具、设备点检记录完整", "kind": "测量", "max": 5, "judges": 3},
        {"trade_code": code, "criterion_code": "B", "criterion_name": "作品质量",
         "aspect_code": "B1", "description": "关键尺寸符合图纸要求", "kind": "测量",
         "max": 60, "judges": 3, "verify": "是",
         "deductions": "每处超差0.1mm:2；每处超差0.5mm:5"},
        {"trade_code": code, "criterion_code": "C", "criterion_name": "工艺与外观",
         "aspect_code": "C1", "description": "作品整体外观与工艺水平", "kind": "评价",
         "max": 30, "judges": 3,
         "level0": "明显缺陷，未达到行业标准", "level1": "达到行业标准",
         "level2": "达到并部分超出行业标准", "level3": "全面超出行业标准，堪称优秀"},
    ]  # fmt: skip
    writer.data_sheet(
        SHEET,
        COLUMNS,
        examples=examples,
        choices={"kind": ["测量", "评价"], "verify": ["是", "否"]},
        rows=5_000,
    )
    notes = [
        "每行一个评分项；同一工种的所有行构成该工种完整的评分细则，合计必须正好100分。",
        "一个文件可以包含多个工种的评分细则（工种代码列区分）；文件中未出现的工种保持原有细则。",
        "模块代码（A、B、C …）在每一行都要填写；模块名称至少在该模块的一行中填写。",
        "类型：测量（满分、零分或按扣分项扣分）或评价（每名裁判0–3分，须填写评价0分至评价3分"
        "四个描述）。",
        "分值最多两位小数；扣分项格式“说明:分值”，多项用；或换行分隔，任一扣分不得超过该项分值。",
        "导入前先“检查”：任何一行有问题则不导入任何内容；比赛开始后评分细则不能再修改。",
        "可用工种代码：" + "、".join(trade_codes[:200]),
    ]
    writer.notes("填写说明", "填写说明", notes, widths=(100,), column=0)
    return writer.close()
