"""Batch import of registrations (报名批量导入) by a delegation or the organizer, on the
spreadsheet kit (competition/spreadsheets/).

The flow: an uploaded xlsx/CSV is read (`format.read_upload`); each row is checked on its own
(`check.py`: the registration core's rules, with a vectorised screen for speed), then against
the other rows and the database (`resolve.py`: duplicates, trades a person, whose record is
whose); the plan and the file are kept in an ImportBatch (`batches.py`, the dry run). The
uploader then imports the valid rows — the kept plan is resolved again against the database as
it is now, not read and checked again — or nothing. Writing is one transaction (`write.py`):
persons upserted on the ID number, entries upserted on (person, trade), an audit record per
created or changed entry and person, and the effects of changed particulars. Re-importing a
file changes nothing; a corrected file changes the rows it corrects. `workbooks.py` writes the
template and the report. The same services serve the pages, the demo loader and
`jiangxin import registrations` (competition/cli.py).
"""

from registration.imports.batches import (
    BATCH_MAX_AGE,
    SHOWN_ERROR_ROWS,
    BatchStatus,
    BatchView,
    batch_owner,
    batch_report,
    check_upload,
    commit,
    discard_batch,
    evaluate,
    get_batch,
    import_batch,
    import_file,
    recent_batches,
)
from registration.imports.check import check_rows
from registration.imports.context import load_context
from registration.imports.format import COLUMNS, DATA_SHEETS, LIMITS, read_upload
from registration.imports.plan import Candidate, Change, Counts, Plan, QuotaLine
from registration.imports.workbooks import report_workbook, template_workbook
from registration.imports.write import write_plan

__all__ = [
    "BATCH_MAX_AGE",
    "COLUMNS",
    "DATA_SHEETS",
    "LIMITS",
    "SHOWN_ERROR_ROWS",
    "BatchStatus",
    "BatchView",
    "Candidate",
    "Change",
    "Counts",
    "Plan",
    "QuotaLine",
    "batch_owner",
    "batch_report",
    "check_rows",
    "check_upload",
    "commit",
    "discard_batch",
    "evaluate",
    "get_batch",
    "import_batch",
    "import_file",
    "load_context",
    "read_upload",
    "recent_batches",
    "report_workbook",
    "template_workbook",
    "write_plan",
]
