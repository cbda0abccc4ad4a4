"""The one row-problem type of every import."""

from __future__ import annotations

from dataclasses import dataclass

from competition.errors import ValidationFailed
from competition.i18n import N_, Msg, render


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one cell or row of an uploaded sheet.

    `message` is a msgid carrying its parameters (`N_(…, **params)`), translated when shown;
    `code` is stable, for programs (the CLI's JSON report, tests).
    """

    row: int | None  # as Excel numbers it (the header of a plain file is row 1); None: the sheet
    column: str  # the column's header as the file writes it; "" for the whole row
    message: Msg
    code: str = ""
    sheet: str = ""  # the sheet's name, where a workbook has several

    def text(self) -> str:
        return render(self.message)

    def labelled(self) -> str:
        """“【column】message”, as the error column of a report writes it."""
        return f"【{self.column}】{self.text()}" if self.column else self.text()


class RowsRejected(ValidationFailed):
    """Rows of an uploaded sheet have problems, so nothing was stored: every import is all or
    nothing. Each import names its own subclass and `default_code`."""

    default_code = "import_rejected"

    def __init__(self, problems: list[RowProblem]):
        super().__init__(
            N_("Problems found: {n}. Nothing was imported; fix them and upload the file again."),
            n=len(problems),
        )
        self.problems = problems
