"""Score imports (成绩导入): marks keyed in from paper score sheets, theory and oral scores from
the exam system, penalties and completion times — each an xlsx or CSV file through the
spreadsheet-import kit, checked in full (a dry run with a per-row report) before one
all-or-nothing commit.

- `marks.py`: paper score sheets, through the checks of a tablet mark; optionally keyed twice
  and compared (double entry), and the sheets signed;
- `theory.py`: theory and oral scores by ticket number or code;
- `penalties.py`, `times.py`: penalties and completion times, as the chief judge enters them;
- `shared.py`: the trade column, codes, a row's checks, the plan and its report;
- `commands.py`: `jiangxin import marks|theory|penalties|times FILE --competition CODE`.
"""

from scoring.imports import audit_labels  # noqa: F401 - how the audit trail names them
