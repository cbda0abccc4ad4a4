"""Setting up a competition's structure: industries, trades, delegations, quotas, venues,
sessions and stations.

One mechanism serves the organizer's forms, the xlsx importer and the demo loader:
`plan_changes` validates input rows against each other and against the database and says what
would be created or updated (with per-row errors); `apply_plan` writes that plan in the
caller's transaction with one audit record per changed row. Rows are matched on their natural
key (a code, or delegation + trade for a quota), so importing the same data twice changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from piccolo.table import Table

from competition import audit
from competition.audit import Actor
from competition.db import is_integrity_error, transaction
from competition.errors import Conflict, DomainError, NotFound, PhaseError, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import STRUCTURE_EDITABLE, Phase, require_phase
from competition.schemas import (
    DelegationIn,
    IndustryIn,
    QuotaIn,
    SessionIn,
    StationIn,
    TradeIn,
    VenueIn,
    check_code,
    check_name,
    check_trade,
    to_json,
)
from competition.stages import Stage
from competition.tables import (
    Competition,
    CompetitionSession,
    Delegation,
    Industry,
    Quota,
    RoleGrant,
    Station,
    Trade,
    Venue,
)


@dataclass(frozen=True)
class RowError:
    index: int  # position in the input rows
    field: str
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    kind: str
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Applied:
    created: int
    updated: int
    unchanged: int
    created_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Kind:
    """How one kind of record is keyed, validated and turned into a table row."""

    name: str
    label: Msg
    table: type[Table]
    key_columns: tuple[str, ...]
    unique_name: bool
    # Column that ties a row to its competition, directly or through a parent.
    competition_path: str


KINDS: dict[str, Kind] = {
    "industry": Kind("industry", N_("Industry"), Industry, ("code",), True, "competition"),
    "trade": Kind("trade", N_("Trade"), Trade, ("code",), True, "competition"),
    "delegation": Kind("delegation", N_("Delegation"), Delegation, ("code",), True, "competition"),
    "quota": Kind("quota", N_("Quota"), Quota, ("delegation", "trade"), False, "trade.competition"),
    "venue": Kind("venue", N_("Venue"), Venue, ("code",), False, "competition"),
    "session": Kind(
        "session", N_("Session"), CompetitionSession, ("trade", "code"), False, "trade.competition"
    ),
    "station": Kind(
        "station", N_("Station"), Station, ("venue", "code"), False, "venue.competition"
    ),
}


def _column(table: type[Table], path: str):
    column: Any = table
    for part in path.split("."):
        column = getattr(column, part)
    return column


async def _codes(table: type[Table], competition_id: int) -> dict[str, int]:
    rows = await table.select(table._meta.primary_key, table.code).where(
        table.competition == competition_id
    )
    return {r["code"]: r["id"] for r in rows}


class _Refs:
    """Code → id maps of the competition's parents, loaded once per plan."""

    def __init__(self, competition_id: int):
        self.competition_id = competition_id
        self._maps: dict[str, dict[str, int]] = {}

    async def get(self, kind: str) -> dict[str, int]:
        if kind not in self._maps:
            table = KINDS[kind].table
            self._maps[kind] = await _codes(table, self.competition_id)
        return self._maps[kind]


def _missing(field_name: str, what: Msg, code: str) -> DomainError:
    return ValidationFailed(
        "Unknown {what} code “{value}”.",
        code="unknown_reference",
        field_errors={field_name: "Unknown {what} code “{value}”."},
        what=what,
        value=code,
    )


async def _row_for(kind: str, item: Any, refs: _Refs) -> dict[str, Any]:
    """Validate one input and return the table row it describes (without id)."""
    cid = refs.competition_id
    if kind == "industry":
        return {
            "competition": cid,
            "code": check_code(item.code),
            "name": check_name(item.name),
            "name_en": item.name_en.strip(),
            "sort_order": item.sort_order,
        }
    if kind == "trade":
        item = check_trade(item)
        industry = (await refs.get("industry")).get(item.industry_code)
        if industry is None:
            raise _missing("industry_code", N_("industry"), item.industry_code)
        return {
            "competition": cid,
            "industry": industry,
            "code": item.code,
            "name": item.name,
            "name_en": item.name_en.strip(),
            "groups": list(item.groups),
            "events": to_json(list(item.events)),
            "eligibility": to_json(item.eligibility),
            "awards": to_json(item.awards),
            "tie_break": list(item.tie_break),
            "judge_rule": to_json(item.judge_rule),
            "max_entries": item.max_entries,
            "sort_order": item.sort_order,
        }
    if kind == "delegation":
        return {
            "competition": cid,
            "code": check_code(item.code),
            "name": check_name(item.name),
            "kind": item.kind.value,
            "contact_name": item.contact_name.strip(),
            "contact_phone": item.contact_phone.strip(),
            "sort_order": item.sort_order,
        }
    if kind == "quota":
        delegation = (await refs.get("delegation")).get(item.delegation_code.strip())
        if delegation is None:
            raise _missing("delegation_code", N_("delegation"), item.delegation_code)
        trade = (await refs.get("trade")).get(item.trade_code.strip())
        if trade is None:
            raise _missing("trade_code", N_("trade"), item.trade_code)
        # None is an unlimited quota (不限); registration/quotas.py says what uses a place.
        if item.max_entries is not None and not 0 <= item.max_entries <= 1000:
            raise ValidationFailed(
                "A quota is between 0 and 1000.",
                code="invalid_quota",
                field_errors={"max_entries": "A quota is between 0 and 1000."},
            )
        return {"delegation": delegation, "trade": trade, "max_entries": item.max_entries}
    if kind == "venue":
        return {
            "competition": cid,
            "code": check_code(item.code),
            "name": check_name(item.name),
            "address": item.address.strip(),
        }
    if kind == "session":
        trade = (await refs.get("trade")).get(item.trade_code.strip())
        if trade is None:
            raise _missing("trade_code", N_("trade"), item.trade_code)
        venue = (await refs.get("venue")).get(item.venue_code.strip())
        if venue is None:
            raise _missing("venue_code", N_("venue"), item.venue_code)
        if item.starts_at.tzinfo is None or item.ends_at.tzinfo is None:
            raise ValidationFailed(
                "Times need a time zone.",
                code="naive_time",
                field_errors={"starts_at": "Times need a time zone."},
            )
        if item.ends_at <= item.starts_at:
            raise ValidationFailed(
                "A session must end after it starts.",
                code="session_order",
                field_errors={"ends_at": "A session must end after it starts."},
            )
        return {
            "trade": trade,
            "venue": venue,
            "code": check_code(item.code),
            "name": check_name(item.name),
            "event": item.event.value,
            "starts_at": item.starts_at,
            "ends_at": item.ends_at,
        }
    if kind == "station":
        venue = (await refs.get("venue")).get(item.venue_code.strip())
        if venue is None:
            raise _missing("venue_code", N_("venue"), item.venue_code)
        return {"venue": venue, "code": check_code(item.code), "label": item.label.strip()}
    raise KeyError(kind)


INPUT_TYPES: dict[str, type] = {
    "industry": IndustryIn,
    "trade": TradeIn,
    "delegation": DelegationIn,
    "quota": QuotaIn,
    "venue": VenueIn,
    "session": SessionIn,
    "station": StationIn,
}


async def _existing(kind: Kind, competition_id: int) -> list[dict[str, Any]]:
    table = kind.table
    return (
        await table.select()
        .where(_column(table, kind.competition_path) == competition_id)
        .output(load_json=True)
    )


def _key(kind: Kind, row: dict[str, Any]) -> tuple:
    return tuple(row[c] for c in kind.key_columns)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b  # the same instant, whatever the offset it was written with
    return audit.to_jsonable(a) == audit.to_jsonable(b)


# A drawn trade's contestants sit in its sessions at the venue's stations: the venue, event
# and trade of those sessions stay as drawn (their times may still move).
DRAWN_SESSION_FIELDS = frozenset({"venue", "trade", "event"})


async def _drawn_trade_refusal(trade_id: int) -> Msg | None:
    row = await Trade.select(Trade.name, Trade.stage).where(Trade.id == trade_id).first()
    if row is None or row["stage"] == Stage.not_drawn:
        return None
    return N_(
        "The trade “{trade}” has drawn: the venue, event and trade of its sessions stay as drawn.",
        trade=row["name"],
    )


async def plan_changes(
    kind_name: str,
    competition_id: int,
    items: Sequence[Any],
    *,
    record_id: int | None = None,
) -> Plan:
    """Validate `items` and work out what writing them would change.

    With `record_id`, the single item updates that record (a form edit, where the code itself
    may change); otherwise each item is matched on its natural key.
    """
    kind = KINDS[kind_name]
    plan = Plan(kind=kind_name)
    refs = _Refs(competition_id)
    existing = await _existing(kind, competition_id)
    by_key = {_key(kind, r): r for r in existing}
    by_id = {r["id"]: r for r in existing}
    if record_id is not None and record_id not in by_id:
        raise NotFound("The {what} was not found.", code="not_found", what=kind.label)
    names = {r["name"]: r["id"] for r in existing} if kind.unique_name else {}
    seen_keys: dict[tuple, int] = {}
    seen_names: dict[str, int] = {}

    for index, item in enumerate(items):
        try:
            row = await _row_for(kind_name, item, refs)
        except DomainError as exc:
            field_name = next(iter(exc.field_errors), "")
            plan.errors.append(RowError(index, field_name, exc.message, exc.params))
            continue
        key = _key(kind, row)
        if key in seen_keys:
            plan.errors.append(
                RowError(
                    index,
                    kind.key_columns[-1],
                    "Duplicate of row {row} in the same input.",
                    {"row": seen_keys[key] + 1},
                )
            )
            continue
        seen_keys[key] = index
        current = by_id[record_id] if record_id is not None else by_key.get(key)
        if record_id is not None and key in by_key and by_key[key]["id"] != record_id:
            plan.errors.append(
                RowError(
                    index,
                    kind.key_columns[-1],
                    "The code “{value}” is already used.",
                    {"value": key[-1]},
                )
            )
            continue
        if kind.unique_name:
            owner = names.get(row["name"])
            if (owner is not None and (current is None or owner != current["id"])) or (
                row["name"] in seen_names
            ):
                plan.errors.append(
                    RowError(
                        index, "name", "The name “{value}” is already used.", {"value": row["name"]}
                    )
                )
                continue
            seen_names[row["name"]] = index
        if current is None:
            plan.inserts.append(row)
            continue
        changed = {k: v for k, v in row.items() if not _same(current.get(k), v)}
        if kind_name == "session" and changed.keys() & DRAWN_SESSION_FIELDS:
            refusal = await _drawn_trade_refusal(current["trade"])
            if refusal is not None:
                plan.errors.append(RowError(index, "venue", str(refusal), refusal.params))
                continue
        if changed:
            plan.updates.append((current["id"], {k: current.get(k) for k in changed}, changed))
        else:
            plan.unchanged += 1
    return plan


INSERT_CHUNK = 100  # rows a statement; the widest table stays under SQLite's 999 variables


async def apply_plan(plan: Plan, competition_id: int, actor: Actor, reason: str = "") -> Applied:
    """Write a plan without errors. Call inside `transaction()`."""
    if plan.errors:
        raise ValidationFailed("The input has errors; nothing was saved.", code="plan_has_errors")
    kind = KINDS[plan.kind]
    table = kind.table
    entries: list[dict[str, Any]] = []
    created_ids: list[int] = []
    for start in range(0, len(plan.inserts), INSERT_CHUNK):
        chunk = plan.inserts[start : start + INSERT_CHUNK]
        ids = await table.insert(*[table(**row) for row in chunk]).returning(
            table._meta.primary_key
        )
        for row, new_id in zip(chunk, ids, strict=True):
            created_ids.append(new_id["id"])
            entries.append(
                {
                    "action": f"{kind.name}.create",
                    "object_id": new_id["id"],
                    "old": None,
                    "new": row,
                }
            )
    for record_id, old, new in plan.updates:
        await table.update({getattr(table, k): v for k, v in new.items()}).where(
            table._meta.primary_key == record_id
        )
        entries.append(
            {"action": f"{kind.name}.update", "object_id": record_id, "old": old, "new": new}
        )
    await audit.record_many(
        entries, actor=actor, object_type=kind.name, competition_id=competition_id, reason=reason
    )
    return Applied(
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        created_ids=created_ids,
    )


# ---------------------------------------------------------------------------- services


async def competition_phase(competition_id: int) -> Phase:
    row = (
        await Competition.select(Competition.phase).where(Competition.id == competition_id).first()
    )
    if row is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    return Phase(row["phase"])


async def require_structure_editable(competition_id: int) -> None:
    require_phase(
        await competition_phase(competition_id),
        STRUCTURE_EDITABLE,
        N_("Changing the competition's structure"),
    )


def raise_first_error(plan: Plan) -> None:
    if plan.errors:
        err = plan.errors[0]
        raise ValidationFailed(
            err.message, code="invalid", field_errors={err.field: err.message}, **err.params
        )


async def save_record(
    kind_name: str,
    competition_id: int,
    item: Any,
    actor: Actor,
    *,
    record_id: int | None = None,
) -> int:
    """Create (no `record_id`) or update one record from a form. Returns its id."""
    async with transaction():
        await require_structure_editable(competition_id)
        plan = await plan_changes(kind_name, competition_id, [item], record_id=record_id)
        raise_first_error(plan)
        if record_id is None and not plan.inserts:
            # Matched an existing record on its key: a form for a new record must not
            # silently overwrite it.
            raise Conflict(
                "The code is already used.",
                code="duplicate_code",
                field_errors={"code": "The code is already used."},
            )
        applied = await apply_plan(plan, competition_id, actor)
    return record_id if record_id is not None else applied.created_ids[0]


async def import_records(
    kind_name: str,
    competition_id: int,
    items: Sequence[Any],
    actor: Actor,
    *,
    reason: str = "",
) -> Applied:
    """All or nothing: write every item, or raise with the plan's errors and write none."""
    async with transaction():
        await require_structure_editable(competition_id)
        plan = await plan_changes(kind_name, competition_id, items)
        if plan.errors:
            raise ImportRejected(plan)
        return await apply_plan(plan, competition_id, actor, reason)


class ImportRejected(ValidationFailed):
    def __init__(self, plan: Plan):
        super().__init__(
            N_("Rows with errors: {n}. Nothing was saved."),
            code="import_rejected",
            n=len(plan.errors),
        )
        self.plan = plan


async def _refuse_if_granted_and_list_quotas(kind_name: str, record_id: int) -> list[dict]:
    """A trade or delegation takes its quotas with it (they are listed in the audit record),
    but never silently the roles of the people who work for it."""
    column = RoleGrant.trade if kind_name == "trade" else RoleGrant.delegation
    if await RoleGrant.exists().where(column == record_id):
        raise Conflict(
            "Accounts still hold roles for this {what}; remove those roles first.",
            code="has_role_grants",
            what=KINDS[kind_name].label,
        )
    quota_column = Quota.trade if kind_name == "trade" else Quota.delegation
    return await Quota.select(Quota.delegation, Quota.trade, Quota.max_entries).where(
        quota_column == record_id
    )


async def delete_record(kind_name: str, competition_id: int, record_id: int, actor: Actor) -> None:
    kind = KINDS[kind_name]
    table = kind.table
    try:
        async with transaction():
            await require_structure_editable(competition_id)
            rows = (
                await table.select()
                .where(
                    (table._meta.primary_key == record_id)
                    & (_column(table, kind.competition_path) == competition_id)
                )
                .output(load_json=True)
            )
            if not rows:
                raise NotFound("The {what} was not found.", code="not_found", what=kind.label)
            old = dict(rows[0])
            if kind_name in ("trade", "delegation"):
                old["quotas"] = await _refuse_if_granted_and_list_quotas(kind_name, record_id)
            await table.delete().where(table._meta.primary_key == record_id)
            await audit.record(
                f"{kind.name}.delete",
                actor=actor,
                object_type=kind.name,
                object_id=record_id,
                competition_id=competition_id,
                old=old,
            )
    except (DomainError, PhaseError):
        raise
    except Exception as exc:
        if is_integrity_error(exc):
            raise Conflict(
                "This {what} is still used by other records and cannot be deleted.",
                code="in_use",
                what=kind.label,
            ) from exc
        raise
