"""What an upload may hold, for every import in one table.

Each import names its row here; the reader (`files.read_table`, `files.read_sheets`) checks
every limit before the expensive part, and the pages quote the same numbers ("at most 50 MB and
250,000 rows"). The scoring imports (marking schemes, judges, sign-in sheets, marks, theory
scores) add their rows here.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one kind of upload may hold."""

    max_bytes: int  # the uploaded file
    max_rows: int  # data rows of a sheet (or CSV), the header not counted
    # All members of an xlsx unpacked; a real file stays far below, whatever compresses it.
    max_unpacked_bytes: int
    # A member may unpack to at most this many times its packed size once it is larger than
    # `ratio_floor` (tiny XML parts compress well): real sheets stay far below, a bomb far above.
    max_ratio: int = 100
    ratio_floor: int = MB

    @property
    def max_mb(self) -> int:
        return self.max_bytes // MB


LIMITS: dict[str, Limits] = {
    # The organizer's industries, trades and quotas (competition/importer.py): 3 sheets of at
    # most 20,000 rows unpack to a few tens of megabytes.
    "structure": Limits(max_bytes=10 * MB, max_rows=20_000, max_unpacked_bytes=200 * MB),
    # Registrations (registration/imports/): 250,000 full rows unpack to ~150 MB of XML.
    "registrations": Limits(max_bytes=50 * MB, max_rows=250_000, max_unpacked_bytes=400 * MB),
    # Earlier prizes (registration/award_history.py): 50,000 rows unpack to ~15 MB.
    "award_history": Limits(max_bytes=10 * MB, max_rows=50_000, max_unpacked_bytes=100 * MB),
    # The judge register (scoring/panels/sheet.py): a few thousand rows at most.
    "judges": Limits(max_bytes=5 * MB, max_rows=10_000, max_unpacked_bytes=50 * MB),
    # Marking schemes (scoring/schemes/sheet.py): one row per aspect, every trade of a
    # competition in one file at most a few thousand rows.
    "schemes": Limits(max_bytes=5 * MB, max_rows=20_000, max_unpacked_bytes=50 * MB),
    # Paper sign-in sheets (scoring/draw/signin_sheet.py): one row per contestant, every trade
    # of a competition in one file at most a few tens of thousands of rows.
    "signin": Limits(max_bytes=5 * MB, max_rows=50_000, max_unpacked_bytes=50 * MB),
    # Score imports (scoring/imports/). Paper marks: a fallback for some sessions, each row a
    # mark written through the tablet's checks, so tens of thousands at most.
    "marks": Limits(max_bytes=10 * MB, max_rows=50_000, max_unpacked_bytes=100 * MB),
    # Theory and oral scores from the exam system, and completion times: one row per
    # contestant, 200,000 in a competition (~10 MB of xlsx, ~100 MB of XML).
    "theory": Limits(max_bytes=30 * MB, max_rows=250_000, max_unpacked_bytes=300 * MB),
    "times": Limits(max_bytes=30 * MB, max_rows=250_000, max_unpacked_bytes=300 * MB),
    # Penalties: a few a trade.
    "penalties": Limits(max_bytes=5 * MB, max_rows=20_000, max_unpacked_bytes=50 * MB),
}
