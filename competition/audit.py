"""The audit trail every package writes to: who did what, when, old value, new value, why.

Call `record` inside the same transaction as the change, so a change and its record land
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from competition.tables import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, or the system itself (demo loader, CLI)."""

    user_id: int | None
    name: str


SYSTEM = Actor(user_id=None, name="system")


_PLAIN = frozenset((str, int, float, bool, type(None)))


def to_jsonable(value: Any) -> Any:
    # The common cases first: the isinstance checks against the abstract Mapping and Sequence
    # were half of writing 400,000 review records (a province's two review levels).
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [to_jsonable(v) for v in value]
    return value


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (old, new)."""
    keys = [k for k in new if to_jsonable(old.get(k)) != to_jsonable(new.get(k))]
    return ({k: to_jsonable(old.get(k)) for k in keys}, {k: to_jsonable(new.get(k)) for k in keys})


async def record(
    action: str,
    *,
    actor: Actor,
    object_type: str,
    object_id: Any = "",
    competition_id: int | None = None,
    old: Any = None,
    new: Any = None,
    reason: str = "",
) -> None:
    await AuditLog.insert(
        AuditLog(
            actor_id=actor.user_id,
            actor_name=actor.name,
            competition_id=competition_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            old=to_jsonable(old),
            new=to_jsonable(new),
            reason=reason,
        )
    )


AUDIT_CHUNK = 100  # 10 columns a row keeps a statement under SQLite's 999 variables


async def record_many(
    entries: list[dict[str, Any]],
    *,
    actor: Actor,
    object_type: str,
    competition_id: int | None = None,
    reason: str = "",
) -> None:
    """Many records at once (imports, a batch of certificates): each entry has action,
    object_id, old, new. Inside a transaction they are written with `db.copy_records` (COPY on
    PostgreSQL): Piccolo's insert took ~70 µs a record, 4 s for 60,000 certificates."""
    from competition import db  # db imports the settings; the audit module stays importable alone

    if not entries:
        return
    if db.in_transaction():
        moment = dt.datetime.now(dt.UTC)

        def document(value: Any) -> str | None:
            return None if value is None else json.dumps(to_jsonable(value), ensure_ascii=False)

        await db.copy_records(
            "audit_log",
            ["at", "actor_id", "actor_name", "competition_id", "action", "object_type",
             "object_id", "old", "new", "reason"],
            [(moment, actor.user_id, actor.name, competition_id, e["action"], object_type,
              str(e["object_id"]), document(e.get("old")), document(e.get("new")), reason)
             for e in entries],
        )  # fmt: skip
        return
    rows = [
        AuditLog(
            actor_id=actor.user_id,
            actor_name=actor.name,
            competition_id=competition_id,
            action=e["action"],
            object_type=object_type,
            object_id=str(e["object_id"]),
            old=to_jsonable(e.get("old")),
            new=to_jsonable(e.get("new")),
            reason=reason,
        )
        for e in entries
    ]
    for start in range(0, len(rows), AUDIT_CHUNK):
        await AuditLog.insert(*rows[start : start + AUDIT_CHUNK])
