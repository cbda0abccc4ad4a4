"""What an uploaded registration file may hold, and where in it the registrations are; the
reading itself, with its refusals of unsafe files, is competition/uploads.py."""

from __future__ import annotations

from competition import uploads

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ROWS = 250_000  # data rows, the header not counted
# A workbook of 250,000 full rows unpacks to about 150 MB of XML; a bomb is far beyond.
LIMITS = uploads.Limits(
    max_bytes=MAX_UPLOAD_BYTES, max_rows=MAX_ROWS, max_unpacked_bytes=400 * 1024 * 1024
)
# The names under which the data sheet is looked for; otherwise the first sheet is read.
DATA_SHEETS = ("报名", "报名表", "registrations", "registration")


def read_upload(data: bytes) -> uploads.Table:
    """The rows of an uploaded xlsx or CSV (decided by content, never by the file name)."""
    return uploads.read_table(data, LIMITS, sheets=DATA_SHEETS)
