"""Reading the audit trail (审计日志): what a person sees of `competition.audit`'s records.

- Actions are named in the reader's language (a label for every action string the code writes;
  packages above the core add theirs with `register_action_labels`).
- People are named by their current display name (the name stored with the record otherwise).
- The object is named and linked for the viewer (an organizer's page, a supervisor's page, or
  none); packages add their kinds of object with `register_object_kind`.
- Old → new is a list of changed fields, each value readable; phone numbers never show and ID
  numbers show masked, even where old records hold them in full.
- Paging is by id (keyset): "older" is `before=<the last id shown>`, "newer" `after=<the first>`,
  so a page costs the same at the millionth record and no link can be out of range.
- A viewer sees only the competitions their organizer or supervisor grants reach; records
  without a competition (accounts, people) only with a grant over every competition.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from competition.accounts import ROLE_LABELS, Identity
from competition.errors import PermissionDenied
from competition.i18n import N_, Msg, gettext, render
from competition.phases import PHASE_LABELS
from competition.tables import (
    AuditLog,
    Competition,
    CompetitionSession,
    Delegation,
    DelegationKind,
    Industry,
    Quota,
    Role,
    Station,
    Trade,
    User,
    Venue,
)

PAGE_SIZE = 50
MAX_VALUE = 160  # characters of one shown value

# ---------------------------------------------------------------------------- action names

ACTION_LABELS: dict[str, Msg] = {
    "competition.create": N_("Competition created"),
    "competition.update": N_("Competition changed"),
    "competition.phase": N_("Phase changed"),
    "user.create": N_("Account created"),
    "user.update": N_("Account changed"),
    "user.deactivate": N_("Account deactivated"),
    "user.reactivate": N_("Account reactivated"),
    "user.password_reset": N_("Password reset"),
    "user.grant.add": N_("Role granted"),
    "user.grant.remove": N_("Role withdrawn"),
}
# The structure records (competition/structure.py): "<kind>.create|update|delete".
_STRUCTURE = {
    "industry": (N_("Industry created"), N_("Industry changed"), N_("Industry deleted")),
    "trade": (N_("Trade created"), N_("Trade changed"), N_("Trade deleted")),
    "delegation": (N_("Delegation created"), N_("Delegation changed"), N_("Delegation deleted")),
    "quota": (N_("Quota created"), N_("Quota changed"), N_("Quota deleted")),
    "venue": (N_("Venue created"), N_("Venue changed"), N_("Venue deleted")),
    "session": (N_("Session created"), N_("Session changed"), N_("Session deleted")),
    "station": (N_("Station created"), N_("Station changed"), N_("Station deleted")),
}
for _kind, (_create, _update, _delete) in _STRUCTURE.items():
    ACTION_LABELS |= {
        f"{_kind}.create": _create,
        f"{_kind}.update": _update,
        f"{_kind}.delete": _delete,
    }


def register_action_labels(labels: dict[str, Msg]) -> None:
    ACTION_LABELS.update(labels)


def action_label(action: str) -> Msg:
    return ACTION_LABELS.get(action, N_("Other change"))


# ---------------------------------------------------------------------------- fields and values

FIELD_LABELS: dict[str, Msg] = {
    "phase": N_("Phase"),
    "code": N_("Code"),
    "name": N_("Name"),
    "name_en": N_("English name"),
    "year": N_("Year"),
    "edition": N_("Edition"),
    "organizer_name": N_("Organizer"),
    "starts_on": N_("Starts on"),
    "ends_on": N_("Ends on"),
    "age_cutoff": N_("Age cutoff date"),
    "registration_closes_on": N_("Registration closes on"),
    "max_trades_per_person": N_("Trades per person"),
    "appeal_window_minutes": N_("Appeal window (minutes)"),
    "industry": N_("Industry"),
    "trade": N_("Trade"),
    "delegation": N_("Delegation"),
    "venue": N_("Venue"),
    "groups": N_("Groups"),
    "events": N_("Events and weights"),
    "eligibility": N_("Eligibility"),
    "awards": N_("Awards"),
    "tie_break": N_("Tie-break"),
    "judge_rule": N_("Judge rule"),
    "max_entries": N_("Quota"),
    "sort_order": N_("Order"),
    "kind": N_("Kind"),
    "contact_name": N_("Contact"),
    "contact_phone": N_("Contact phone"),
    "address": N_("Address"),
    "event": N_("Event"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "label": N_("Label"),
    "username": N_("Username"),
    "display_name": N_("Display name"),
    "roles": N_("Roles"),
    "role": N_("Role"),
    "phone": N_("Mobile phone"),
    "left_behind": N_("Left behind"),
    "quotas": N_("Quotas"),
}
# Values shown by their label: field → value → label. Packages add theirs.
VALUE_LABELS: dict[str, dict[str, Msg]] = {
    "phase": {p.value: label for p, label in PHASE_LABELS.items()},
    "role": {r.value: label for r, label in ROLE_LABELS.items()},
    "roles": {r.value: label for r, label in ROLE_LABELS.items()},
    "kind": {
        DelegationKind.city.value: N_("City/prefecture union"),
        DelegationKind.industry_union.value: N_("Provincial industry union"),
        DelegationKind.direct.value: N_("Directly affiliated union"),
    },
}


# Writers that mark how a change came put a code in the reason field (e.g. "import").
REASON_LABELS: dict[str, Msg] = {}


def register_reason_labels(labels: dict[str, Msg]) -> None:
    REASON_LABELS.update(labels)


def show_reason(reason: str) -> str:
    if reason in REASON_LABELS:
        return render(REASON_LABELS[reason])
    return scrub(reason)


def register_field_labels(
    labels: dict[str, Msg], values: dict[str, dict[str, Msg]] | None = None
) -> None:
    FIELD_LABELS.update(labels)
    for name, mapping in (values or {}).items():
        VALUE_LABELS.setdefault(name, {}).update(mapping)


HIDDEN = N_("(hidden)")
_PHONE_KEY = re.compile(r"phone|mobile|password|token", re.IGNORECASE)
_ID_KEY = re.compile(r"id_number|id_card", re.IGNORECASE)
# An 18-character resident ID (GB 11643) or a Chinese mobile number inside any text.
_ID_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{8})([0-9]{3}[0-9Xx])(?![0-9])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_id(number: str) -> str:
    """Like registration.idcard.mask (the core cannot import it): the first and last four."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def scrub(text: str) -> str:
    """Free text (a reason, a value) with ID numbers masked and phone numbers removed."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), text)
    return _PHONE_IN_TEXT.sub(gettext(HIDDEN), text)


def redact(value: Any, key: str = "") -> Any:
    """A record's old or new value with every phone number hidden and every ID number
    masked, however deep it sits."""
    if key and _PHONE_KEY.search(key):
        return gettext(HIDDEN) if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key and _ID_KEY.search(key):
            return mask_id(value) if "*" not in value else value
        return scrub(value)
    return value


# Fields whose number is the id of another object, shown by that object's name.
FIELD_OBJECTS: dict[str, str] = {
    "competition": "competition",
    "industry": "industry",
    "trade": "trade",
    "delegation": "delegation",
    "venue": "venue",
    "session": "session",
    "user": "user",
}
Refs = dict[tuple[str, str], str]  # (object type, id) → name


def show_value(key: str, value: Any, refs: Refs | None = None) -> str:
    """One value as the reader sees it."""
    if value is None or value == "":
        return "—"
    if refs is not None and key in FIELD_OBJECTS and isinstance(value, int):
        name = refs.get((FIELD_OBJECTS[key], str(value)))
        if name:
            return name
    labels = VALUE_LABELS.get(key)
    if labels and isinstance(value, str) and value in labels:
        return render(labels[value])
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        text = "、".join(show_value(key, v) for v in value) or "—"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    old: str | None  # None: the field had no value before (a creation)
    new: str | None  # None: the field is gone (a deletion)


def diff(old: Any, new: Any, refs: Refs | None = None) -> list[Change]:
    """The fields of a record that changed, old → new, in the reader's language; `refs` names
    the objects some fields point to."""
    old, new = redact(old), redact(new)
    if not isinstance(old, dict) and not isinstance(new, dict):
        if old is None and new is None:
            return []
        return [Change("", "", _maybe(old), _maybe(new))]
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        before, after = old.get(key), new.get(key)
        if key in old and key in new and before == after:
            continue
        label = render(FIELD_LABELS[key]) if key in FIELD_LABELS else key
        changes.append(
            Change(
                key,
                label,
                show_value(key, before, refs) if key in old else None,
                show_value(key, after, refs) if key in new else None,
            )
        )
    return changes


def _maybe(value: Any) -> str | None:
    return None if value is None else show_value("", value)


# ---------------------------------------------------------------------------- objects


# names(ids) → {object id: name}, for one kind of object; ids are the record's object_id text.
Names = Callable[[list[str]], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class ObjectKind:
    label: Msg
    names: Names | None = None
    # Paths by the viewer's role, with {competition} and {id}; a role not listed gets no link.
    links: dict[Role, str] = field(default_factory=dict)


OBJECT_KINDS: dict[str, ObjectKind] = {}


def register_object_kind(object_type: str, kind: ObjectKind) -> None:
    OBJECT_KINDS[object_type] = kind


def _ints(ids: Iterable[str]) -> list[int]:
    return sorted({int(i) for i in ids if i.isdigit() and len(i) < 10}) or [0]


def _simple(table: Any, *columns: Any, joiner: str = " ") -> Names:
    async def names(ids: list[str]) -> dict[str, str]:
        rows = await table.select(table.id, *columns).where(table.id.is_in(_ints(ids)))
        keys = [c._meta.get_default_alias() for c in columns]
        return {
            str(r["id"]): joiner.join(str(r[k]) for k in keys if r.get(k) not in (None, ""))
            for r in rows
        }

    return names


_ORG = "/org/competitions/{competition}"
for _type, _label, _names, _slug in (
    ("industry", N_("Industry"), _simple(Industry, Industry.code, Industry.name), "industries"),
    ("trade", N_("Trade"), _simple(Trade, Trade.code, Trade.name), "trades"),
    ("delegation", N_("Delegation"), _simple(Delegation, Delegation.name), "delegations"),
    (
        "quota",
        N_("Quota"),
        _simple(Quota, Quota.delegation.name, Quota.trade.name, joiner=" · "),
        "quotas",
    ),
    ("venue", N_("Venue"), _simple(Venue, Venue.name), "venues"),
    (
        "session",
        N_("Session"),
        _simple(CompetitionSession, CompetitionSession.code, CompetitionSession.name),
        "sessions",
    ),
    ("station", N_("Station"), _simple(Station, Station.venue.name, Station.code), "stations"),
):
    register_object_kind(
        _type,
        ObjectKind(_label, _names, {Role.organizer: f"{_ORG}/{_slug}/{{id}}/edit"}),
    )
register_object_kind(
    "competition",
    ObjectKind(
        N_("Competition"),
        _simple(Competition, Competition.name),
        {
            Role.organizer: "/org/competitions/{id}",
            Role.supervisor: "/supervisor/competitions/{id}",
        },
    ),
)
register_object_kind(
    "user",
    ObjectKind(
        N_("Account"),
        _simple(User, User.display_name),
        {Role.organizer: f"{_ORG}/users/{{id}}"},
    ),
)


# ---------------------------------------------------------------------------- who may see what


@dataclass(frozen=True)
class Scope:
    """What a viewer of the trail reaches: every competition (None) or these; and the role
    through which they reach each, for links."""

    competition_ids: frozenset[int] | None
    roles_by_competition: dict[int | None, tuple[Role, ...]]

    def allows(self, competition_id: int | None) -> bool:
        if self.competition_ids is None:
            return True
        return competition_id is not None and competition_id in self.competition_ids

    def roles_for(self, competition_id: int | None) -> tuple[Role, ...]:
        return self.roles_by_competition.get(competition_id) or self.roles_by_competition.get(
            None, ()
        )


VIEWING_ROLES = (Role.organizer, Role.supervisor)


def scope_of(identity: Identity) -> Scope:
    unscoped = [
        g.role for g in identity.grants if g.role in VIEWING_ROLES and g.competition_id is None
    ]
    by_competition: dict[int | None, list[Role]] = defaultdict(list)
    for g in identity.grants:
        if g.role in VIEWING_ROLES and g.role not in by_competition[g.competition_id]:
            by_competition[g.competition_id].append(g.role)
    roles = {k: tuple(sorted(v, key=VIEWING_ROLES.index)) for k, v in by_competition.items()}
    if unscoped:
        return Scope(None, roles)
    ids = frozenset(k for k in by_competition if k is not None)
    return Scope(ids, roles)


# ---------------------------------------------------------------------------- one page


@dataclass(frozen=True)
class TrailFilter:
    competition_id: int | None = None
    action: str = ""  # an exact action, or a prefix ending in "." (e.g. "entry.")
    object_type: str = ""
    object_id: str = ""


@dataclass
class TrailPage:
    rows: list[dict[str, Any]]
    newer: int | None  # `after=` of the newer page, None on the newest
    older: int | None  # `before=` of the older page, None on the oldest


async def trail_page(
    scope: Scope,
    f: TrailFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> TrailPage:
    if f.competition_id is not None and not scope.allows(f.competition_id):
        raise PermissionDenied(
            "You do not have access to this competition.", code="competition_forbidden"
        )
    conditions = _conditions(scope, f)
    query = AuditLog.select()
    if conditions:
        query = query.where(functools.reduce(operator.and_, conditions))
    if after is not None:
        rows = await (
            query.where(AuditLog.id > after)
            .order_by(AuditLog.id)
            .limit(size + 1)
            .output(load_json=True)
        )
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        more_older = bool(rows)
    else:
        if before is not None:
            query = query.where(AuditLog.id < before)
        rows = (
            await query.order_by(AuditLog.id, ascending=False)
            .limit(size + 1)
            .output(load_json=True)
        )
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = before is not None and bool(rows)
    if more_newer and rows:
        more_newer = await _exists(conditions, AuditLog.id > rows[0]["id"])
    if more_older and rows:
        more_older = await _exists(conditions, AuditLog.id < rows[-1]["id"])
    return TrailPage(
        rows=await readable(rows, scope),
        newer=rows[0]["id"] if rows and more_newer else None,
        older=rows[-1]["id"] if rows and more_older else None,
    )


async def _exists(conditions: list[Any], extra: Any) -> bool:
    return await AuditLog.exists().where(functools.reduce(operator.and_, [*conditions, extra]))


def _conditions(scope: Scope, f: TrailFilter) -> list[Any]:
    conditions = []
    if scope.competition_ids is not None:
        conditions.append(AuditLog.competition_id.is_in(sorted(scope.competition_ids) or [0]))
    if f.competition_id is not None:
        conditions.append(AuditLog.competition_id == f.competition_id)
    if f.action.endswith("."):
        conditions.append(AuditLog.action.like(f.action.replace("%", "").replace("_", "\\_") + "%"))
    elif f.action:
        conditions.append(AuditLog.action == f.action)
    if f.object_type:
        conditions.append(AuditLog.object_type == f.object_type)
    if f.object_id:
        conditions.append(AuditLog.object_id == f.object_id)
    return conditions


async def readable(rows: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """Records as a person reads them: action label, actor name, object name and link, the
    changes and the reason, with no phone number and no full ID number."""
    actors = await _actor_names([r["actor_id"] for r in rows])
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        wanted[r["object_type"]].add(r["object_id"])
        for value in (r["old"], r["new"]):
            if isinstance(value, dict):
                for key, ref in value.items():
                    if key in FIELD_OBJECTS and isinstance(ref, int):
                        wanted[FIELD_OBJECTS[key]].add(str(ref))
    names: Refs = {}
    for object_type, ids in wanted.items():
        kind = OBJECT_KINDS.get(object_type)
        if kind and kind.names:
            for object_id, name in (await kind.names(sorted(ids))).items():
                names[(object_type, object_id)] = name
    out = []
    for r in rows:
        kind = OBJECT_KINDS.get(r["object_type"])
        name = names.get((r["object_type"], r["object_id"])) or _name_in(r)
        out.append(
            {
                "id": r["id"],
                "at": r["at"],
                "action": r["action"],
                "label": action_label(r["action"]),
                "known": r["action"] in ACTION_LABELS,
                "actor": scrub(actors.get(r["actor_id"]) or r["actor_name"] or gettext("system")),
                "competition_id": r["competition_id"],
                "object_type": r["object_type"],
                "object_label": kind.label if kind else None,
                "object_id": r["object_id"],
                "object_name": scrub(name) if name else "",
                "link": _link(kind, r, scope),
                "changes": diff(r["old"], r["new"], names),
                "reason": show_reason(r["reason"] or ""),
            }
        )
    return out


def _name_in(record: dict[str, Any]) -> str:
    """A deleted object's name, from the record itself."""
    for value in (record["old"], record["new"]):
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return value["name"]
    return ""


def _link(kind: ObjectKind | None, record: dict[str, Any], scope: Scope) -> str | None:
    if kind is None or not record["object_id"].isdigit():
        return None
    if record["action"].endswith(".delete"):
        return None
    for role in scope.roles_for(record["competition_id"]):
        template = kind.links.get(role)
        if template and ("{competition}" not in template or record["competition_id"]):
            return template.format(competition=record["competition_id"], id=record["object_id"])
    return None


async def _actor_names(ids: list[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(wanted))
    return {r["id"]: r["display_name"] for r in rows}


async def recent(competition_id: int, scope: Scope, n: int = 10) -> list[dict[str, Any]]:
    """The latest records of one competition, readable (the organizer's overview)."""
    rows = await (
        AuditLog.select()
        .where(AuditLog.competition_id == competition_id)
        .order_by(AuditLog.id, ascending=False)
        .limit(n)
        .output(load_json=True)
    )
    return await readable(rows, scope)


def action_choices() -> list[tuple[str, str]]:
    """The filter's options: each kind of object as "kind." and every known action."""
    prefixes = sorted({a.split(".")[0] + "." for a in ACTION_LABELS})
    return [(p, p) for p in prefixes] + [(a, render(label)) for a, label in ACTION_LABELS.items()]
