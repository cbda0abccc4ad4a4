"""The four score imports side by side, for the pages and the command line: each module's
plan, report, template and commit under one name."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from competition.i18n import N_, Msg
from competition.spreadsheets import RowsRejected
from scoring.imports import marks, penalties, theory, times


@dataclass(frozen=True)
class Kind:
    key: str
    title: Msg
    description: Msg
    module: ModuleType
    rejected: type[RowsRejected]
    file_stem: str  # the downloads' Chinese names: 模板 / 检查报告 follow

    @property
    def columns(self):
        return self.module.COLUMNS

    @property
    def limits(self):
        return self.module.LIMITS


KINDS: dict[str, Kind] = {
    "marks": Kind(
        "marks",
        N_("Paper score sheets"),
        N_("Marks keyed in from paper score sheets: each checked like a tablet mark; "
           "optionally keyed twice by two people and compared, and the sheets signed."),
        marks,
        marks.MarksRejected,
        "纸质评分表",
    ),
    "theory": Kind(
        "theory",
        N_("Theory and oral scores"),
        N_("Scores from the exam system, by ticket number or code, out of 100."),
        theory,
        theory.TheoryRejected,
        "理论答辩成绩",
    ),
    "penalties": Kind(
        "penalties",
        N_("Penalties"),
        N_("Signed penalties with their kind and reason, as the chief judges wrote them."),
        penalties,
        penalties.PenaltiesRejected,
        "扣分",
    ),
    "times": Kind(
        "times",
        N_("Completion times"),
        N_("Each contestant's completion time, for the tie-break."),
        times,
        times.TimesRejected,
        "完成用时",
    ),
}  # fmt: skip
