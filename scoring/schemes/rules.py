"""What makes a marking scheme (评分细则) valid. Pure: no database, no files.

A scheme is criteria (评分模块 A, B, C …) holding aspects (评分项). Every mark is an integer
in hundredths, so "12.5" is 1250 and the whole scheme is exactly 10000. `check_scheme`
returns every problem at once, each a msgid with its parameters and, where it belongs to one
aspect or criterion, the source row (the import's Excel row, the form's line).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from competition.i18n import N_, Msg
from scoring.tables import AspectKind

TOTAL = 10_000  # 100.00 marks
MAX_JUDGES = 9
LEVELS = 4  # a Judgement aspect's descriptors: levels 0, 1, 2, 3
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CRITERION_CODE_LENGTH = 8
ASPECT_CODE_LENGTH = 16
NAME_LENGTH = 200
DESCRIPTION_LENGTH = 2000
DESCRIPTOR_LENGTH = 1000
LABEL_LENGTH = 200
MAX_ASPECTS = 500
_MARKS = re.compile(r"\+?(\d{1,5})(?:\.(\d{0,2})0*)?")

KIND_LABELS: dict[str, Msg] = {
    AspectKind.measurement: N_("Measurement"),
    AspectKind.judgement: N_("Judgement"),
}
# What people type in the kind column or field (Chinese first).
KIND_WORDS: dict[str, str] = {
    "测量": AspectKind.measurement, "测量分": AspectKind.measurement,
    "客观": AspectKind.measurement, "m": AspectKind.measurement,
    "measurement": AspectKind.measurement,
    "评价": AspectKind.judgement, "评价分": AspectKind.judgement,
    "主观": AspectKind.judgement, "j": AspectKind.judgement, "judgement": AspectKind.judgement,
    "judgment": AspectKind.judgement,
}  # fmt: skip


def parse_kind(text: str) -> str | None:
    return KIND_WORDS.get(unicodedata.normalize("NFKC", text).strip().lower())


def parse_hundredths(text: str) -> int:
    """ "12.5", "12.50", "１２.５", "12" → 1250; more than two decimals or a sign raises
    ValueError (a mark is never rounded silently)."""
    text = unicodedata.normalize("NFKC", text).strip().removesuffix("分").strip()
    match = _MARKS.fullmatch(text)
    if not match:
        raise ValueError(text)
    whole, decimals = match.group(1), (match.group(2) or "")
    return int(whole) * 100 + int(decimals.ljust(2, "0"))


def marks_text(hundredths: int) -> str:
    """1250 → "12.50"."""
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


def marks_short(hundredths: int) -> str:
    """1250 → "12.5", 1200 → "12": how an organizer writes it in a cell."""
    return marks_text(hundredths).rstrip("0").rstrip(".")


@dataclass
class Deduction:
    label: str
    hundredths: int

    def as_json(self) -> dict:
        return {"label": self.label, "hundredths": self.hundredths}


@dataclass
class AspectDraft:
    criterion: str  # the criterion's code
    code: str
    description: str
    kind: str
    max_hundredths: int
    judges_needed: int = 3
    needs_verification: bool = False
    deductions: list[Deduction] = field(default_factory=list)
    descriptors: list[str] = field(default_factory=list)
    row: int | None = None  # where it came from: the Excel row, or the form's line


@dataclass
class CriterionDraft:
    code: str
    name: str
    row: int | None = None


@dataclass
class SchemeDraft:
    criteria: list[CriterionDraft] = field(default_factory=list)
    aspects: list[AspectDraft] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(a.max_hundredths for a in self.aspects)


@dataclass(frozen=True)
class SchemeProblem:
    message: Msg
    code: str
    row: int | None = None  # the aspect's or criterion's row; None: the whole scheme
    field: str = ""  # criterion_code, criterion_name, aspect_code, description, kind, max, …


def check_scheme(draft: SchemeDraft) -> list[SchemeProblem]:
    """Every problem of the scheme; none: it may be stored."""
    problems: list[SchemeProblem] = []

    def add(message: Msg, code: str, row: int | None = None, where: str = "") -> None:
        problems.append(SchemeProblem(message, code, row, where))

    if not draft.aspects:
        add(N_("The scheme has no aspects."), "no_aspects")
        return problems
    if len(draft.aspects) > MAX_ASPECTS:
        add(N_("A scheme has at most {n} aspects.", n=MAX_ASPECTS), "too_many_aspects")
    criteria: dict[str, CriterionDraft] = {}
    for criterion in draft.criteria:
        _check_code(criterion.code, CRITERION_CODE_LENGTH, criterion.row, "criterion_code", add)
        if criterion.code in criteria:
            add(N_("The criterion code {code} is used twice.", code=criterion.code),
                "duplicate_criterion", criterion.row, "criterion_code")  # fmt: skip
        criteria.setdefault(criterion.code, criterion)
        if not criterion.name:
            add(N_("The criterion {code} needs a name.", code=criterion.code),
                "criterion_name_missing", criterion.row, "criterion_name")  # fmt: skip
        elif len(criterion.name) > NAME_LENGTH:
            add(N_("At most {n} characters.", n=NAME_LENGTH), "too_long", criterion.row,
                "criterion_name")  # fmt: skip
    used_criteria = set()
    seen_aspects: set[str] = set()
    for aspect in draft.aspects:
        row = aspect.row
        _check_code(aspect.code, ASPECT_CODE_LENGTH, row, "aspect_code", add)
        if aspect.code and aspect.code.casefold() in seen_aspects:
            add(N_("The aspect code {code} is used twice.", code=aspect.code),
                "duplicate_aspect", row, "aspect_code")  # fmt: skip
        seen_aspects.add(aspect.code.casefold())
        if aspect.criterion not in criteria:
            add(N_("The criterion {code} of this aspect is not in the scheme.",
                   code=aspect.criterion), "unknown_criterion", row, "criterion_code")  # fmt: skip
        used_criteria.add(aspect.criterion)
        if not aspect.description:
            add(N_("The aspect {code} needs a description.", code=aspect.code),
                "description_missing", row, "description")  # fmt: skip
        elif len(aspect.description) > DESCRIPTION_LENGTH:
            add(N_("At most {n} characters.", n=DESCRIPTION_LENGTH), "too_long", row,
                "description")  # fmt: skip
        if aspect.max_hundredths <= 0:
            add(N_("The maximum mark of {code} must be more than 0.", code=aspect.code),
                "max_not_positive", row, "max")  # fmt: skip
        elif aspect.max_hundredths > TOTAL:
            add(N_("The maximum mark of {code} is more than 100.", code=aspect.code),
                "max_too_large", row, "max")  # fmt: skip
        if not 1 <= aspect.judges_needed <= MAX_JUDGES:
            add(N_("The number of judges must be between 1 and {n}.", n=MAX_JUDGES),
                "judges_needed", row, "judges")  # fmt: skip
        if aspect.kind == AspectKind.judgement:
            _check_judgement(aspect, add)
        elif aspect.kind == AspectKind.measurement:
            _check_measurement(aspect, add)
        else:
            add(N_("The type must be 测量 (Measurement) or 评价 (Judgement)."),
                "unknown_kind", row, "kind")  # fmt: skip
    for criterion in draft.criteria:
        if criterion.code not in used_criteria:
            add(N_("The criterion {code} has no aspects.", code=criterion.code),
                "empty_criterion", criterion.row, "criterion_code")  # fmt: skip
    total = draft.total
    if total != TOTAL:
        add(N_("The scheme totals {total} marks; it must total exactly 100.00.",
               total=marks_text(total)), "total_not_100")  # fmt: skip
    return problems


def _check_code(code: str, length: int, row: int | None, where: str, add) -> None:
    if not code:
        add(N_("The code is missing."), "code_missing", row, where)
    elif len(code) > length or not CODE.fullmatch(code):
        add(N_("A code is at most {n} letters, digits, dots or dashes, e.g. A1.", n=length),
            "invalid_code", row, where)  # fmt: skip


def _check_judgement(aspect: AspectDraft, add) -> None:
    row = aspect.row
    if len(aspect.descriptors) != LEVELS or any(not d.strip() for d in aspect.descriptors):
        missing = [
            str(level)
            for level in range(LEVELS)
            if level >= len(aspect.descriptors) or not aspect.descriptors[level].strip()
        ]
        add(N_("The Judgement aspect {code} needs a descriptor for every level 0–3; missing: "
               "{levels}.", code=aspect.code, levels="、".join(missing) or "—"),
            "descriptor_missing", row, "descriptors")  # fmt: skip
    if any(len(d) > DESCRIPTOR_LENGTH for d in aspect.descriptors):
        add(N_("At most {n} characters.", n=DESCRIPTOR_LENGTH), "too_long", row, "descriptors")
    if aspect.deductions:
        add(N_("A Judgement aspect has no deduction steps; use a Measurement aspect for them."),
            "judgement_deductions", row, "deductions")  # fmt: skip


def _check_measurement(aspect: AspectDraft, add) -> None:
    row = aspect.row
    if any(d.strip() for d in aspect.descriptors):
        add(N_("Descriptors belong to Judgement aspects; a Measurement aspect is full marks, "
               "zero or a deduction."), "measurement_descriptors", row, "descriptors")  # fmt: skip
    for step in aspect.deductions:
        if not step.label:
            add(N_("Every deduction step needs a label."), "deduction_label", row, "deductions")
        elif len(step.label) > LABEL_LENGTH:
            add(N_("At most {n} characters.", n=LABEL_LENGTH), "too_long", row, "deductions")
        if step.hundredths <= 0:
            add(N_("The deduction “{label}” must be more than 0.", label=step.label),
                "deduction_not_positive", row, "deductions")  # fmt: skip
        elif step.hundredths > aspect.max_hundredths > 0:
            add(N_("The deduction “{label}” ({step}) is more than the aspect's maximum ({max}).",
                   label=step.label, step=marks_text(step.hundredths),
                   max=marks_text(aspect.max_hundredths)),
                "deduction_over_max", row, "deductions")  # fmt: skip


def parse_deductions(text: str) -> list[Deduction]:
    """ "每处咬边:0.5；焊缝超高 1" — steps separated by ；, ; or a new line, each a label and its
    marks (after : or ： or the last space). Raises ValueError naming the step it cannot read."""
    steps = []
    text = unicodedata.normalize("NFKC", text)
    for part in re.split(r"[;\n]+", text):
        part = part.strip()
        if not part:
            continue
        label, sep, value = part.rpartition(":")
        if not sep:
            label, _, value = part.rpartition(" ")
        label, value = label.strip(), value.strip()
        try:
            hundredths = parse_hundredths(value)
        except ValueError:
            raise ValueError(part) from None
        steps.append(Deduction(label, hundredths))
    return steps


def deductions_text(steps: list[Deduction] | list[dict]) -> str:
    out = []
    for step in steps:
        label, hundredths = (
            (step["label"], step["hundredths"]) if isinstance(step, dict) else
            (step.label, step.hundredths)
        )  # fmt: skip
        out.append(f"{label}:{marks_short(hundredths)}")
    return "；".join(out)
