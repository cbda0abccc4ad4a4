"""Helpers the benchmark scripts share: one statement on a PostgreSQL server (to create and drop
their scratch databases) and the process's resident memory (its peak, VmHWM, counted afresh).

Only the standard library at import (asyncpg when `admin` runs): a script imports this before it
sets DATABASE_URL, which must come before the app's tables are imported. The scripts put the
repository root on sys.path at their top and import it as `bench.support`, whether they are run
as `python bench/<name>.py` or imported as `bench.<name>` (or bare, by bench/pipeline.py).
"""

from __future__ import annotations

import resource
from pathlib import Path


async def admin(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE …) in a connection of its own to `url`."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def reset_peak() -> None:
    """Start counting the process's peak resident memory (VmHWM) afresh (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mb() -> float:
    """The process's peak resident memory (VmHWM) since `reset_peak`, in MB."""
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """The process's current resident memory (VmRSS), in MB."""
    return _status_mb("VmRSS")
