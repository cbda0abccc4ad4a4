"""The marks' trail (评分记录) of one trade, as the supervisor (监督仲裁) reads and exports
it: every value every mark ever had — who set it, when, from which device, how (tablet, paper
import, re-mark, change after the lock) and why — newest first.

`mark_change` is append-only and holds millions of rows, so a page is one keyset query on the
trade's rows (`id < before`), costing the same on the first page and the thousandth, and the
export reads the trade in batches the same way. Contestants appear by their codes only (the
draw's code, and the judges' second-layer code where the draw added one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from competition import db
from scoring.rules.values import format_hundredths
from scoring.tables import AspectKind

PAGE_SIZE = 100
BATCH = 5000

_SQL = (
    "SELECT c.id, c.at, c.actor_name, u.display_name, c.device, c.kind, c.old_hundredths, "
    "c.new_hundredths, c.version, c.reason, d.code, d.judge_code, a.code, a.kind, j.name "
    "FROM mark_change c JOIN mark m ON m.id = c.mark JOIN draw_slot d ON d.id = m.slot "
    "JOIN aspect a ON a.id = m.aspect LEFT JOIN judge j ON j.id = m.judge "
    "LEFT JOIN app_user u ON u.id = c.actor_id WHERE c.trade = ?"
)


@dataclass(frozen=True)
class TrailRow:
    id: int
    at: dt.datetime | None
    actor: str  # display name (username), or the name recorded when the account is gone
    device: str
    kind: str  # scoring.tables.MarkChangeKind
    code: str
    judge_code: str
    aspect_code: str
    judgement: bool
    judge: str  # "" for a Measurement value: the panel's
    old_hundredths: int | None
    new_hundredths: int
    version: int
    reason: str

    def value(self, hundredths: int | None) -> str:
        """A Judgement level as the judge gave it ("2"), a Measurement value as marks
        ("7.50")."""
        if hundredths is None:
            return ""
        if self.judgement and hundredths % 100 == 0:
            return str(hundredths // 100)
        return format_hundredths(hundredths)

    @property
    def old(self) -> str:
        return self.value(self.old_hundredths)

    @property
    def new(self) -> str:
        return self.value(self.new_hundredths)


@dataclass(frozen=True)
class TrailPage:
    rows: list[TrailRow]
    newer: int | None  # `after=` for the newer page, None on the newest
    older: int | None  # `before=` for the older page, None on the oldest


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _row(r: tuple) -> TrailRow:
    actor = f"{r[3]} ({r[2]})" if r[3] and r[3] != r[2] else (r[3] or r[2] or "")
    return TrailRow(
        id=r[0],
        at=_timestamp(r[1]),
        actor=actor,
        device=r[4] or "",
        kind=r[5],
        old_hundredths=r[6],
        new_hundredths=r[7],
        version=r[8],
        reason=r[9] or "",
        code=r[10],
        judge_code=r[11] or "",
        aspect_code=r[12],
        judgement=r[13] == AspectKind.judgement.value,
        judge=r[14] or "",
    )


async def _exists(trade_id: int, condition: str, change_id: int) -> bool:
    rows = await db.fetch_rows(
        f"SELECT 1 FROM mark_change WHERE trade = ? AND id {condition} ? LIMIT 1",  # noqa: S608
        trade_id,
        change_id,
    )
    return bool(rows)


async def trail_page(
    trade_id: int, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> TrailPage:
    """One page of the trade's trail, newest first; `before`/`after` are row ids from the
    previous page's links."""
    if after is not None:
        rows = await db.fetch_rows(_SQL + " AND c.id > ? ORDER BY c.id LIMIT ?", trade_id,
                                   after, size + 1)  # fmt: skip
        rows = list(reversed(rows[:size]))
    elif before is not None:
        rows = await db.fetch_rows(_SQL + " AND c.id < ? ORDER BY c.id DESC LIMIT ?", trade_id,
                                   before, size + 1)  # fmt: skip
        rows = rows[:size]
    else:
        rows = (await db.fetch_rows(_SQL + " ORDER BY c.id DESC LIMIT ?", trade_id, size + 1))[
            :size
        ]
    found = [_row(r) for r in rows]
    if not found:
        return TrailPage([], None, None)
    newest, oldest = found[0].id, found[-1].id
    return TrailPage(
        rows=found,
        newer=newest if await _exists(trade_id, ">", newest) else None,
        older=oldest if await _exists(trade_id, "<", oldest) else None,
    )


async def trail_batches(trade_id: int, batch: int = BATCH) -> AsyncIterator[list[TrailRow]]:
    """Every row of the trade's trail, newest first, a batch at a time."""
    before: int | None = None
    while True:
        if before is None:
            rows = await db.fetch_rows(_SQL + " ORDER BY c.id DESC LIMIT ?", trade_id, batch)
        else:
            rows = await db.fetch_rows(
                _SQL + " AND c.id < ? ORDER BY c.id DESC LIMIT ?", trade_id, before, batch
            )
        if not rows:
            return
        found = [_row(r) for r in rows]
        yield found
        if len(rows) < batch:
            return
        before = found[-1].id


async def change_count(trade_id: int) -> int:
    rows = await db.fetch_rows("SELECT COUNT(*) FROM mark_change WHERE trade = ?", trade_id)
    return rows[0][0] if rows else 0
