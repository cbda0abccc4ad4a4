"""Whose person record is whose (参赛人员档案的归属), and what a change to one does to its entries.

A person is keyed by the resident ID number alone, across competitions, so the number is not
proof of anything: whoever knows it must not be able to rewrite the record or take it over.

**Owner.** A person record changes only through its owner:
1. the person's own account, once it registered the record or its claim was accepted;
2. else the delegation that entered the person (`Person.owner_delegation`); the delegation
   with the same code in a later competition is the same owner;
3. else (no account, no delegation) only an organizer.
An organizer may always change a record. Any other actor gets a refusal that names nobody
else's data (`PersonOwned`).

**Claims (认领).** An account that registers with the ID number of a record a delegation made
takes it over only with proof beyond the number and the name: its mobile number (the account's
username) equals the phone on file, or the owning delegation (or an organizer) confirms the
claim (`registration.tables.PersonClaim`).

**Effects of a change** (a rule here, not in a page): on entries that are not yet competed —
- a change of the fields eligibility depends on (`REVIEW_FIELDS`) sends an entry that passed
  first review back to review (its place is given back, its ticket stops working);
- a change of what an admission ticket shows (`TICKET_FIELDS`, the photo) reissues the ticket
  of an approved entry: its version goes up, so an older printout no longer passes check-in.

Other fields (`RECORD_ONLY_FIELDS`: phone, job) are recorded and change nothing else. What
belongs to the entry rather than the person (trade, group, delegation) is the entry service's
to judge (registration/entries.py: such a change sends a passed entry back to review).

Audit records of a person never hold a phone number or a full ID number (`audit_values`).

`may_change` is pure so that the import can decide 200,000 rows without a query each;
`apply_effects` is set-based (a few UPDATEs however many people changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from competition import audit
from competition.audit import Actor
from competition.errors import Conflict
from competition.i18n import N_
from competition.phases import Phase
from competition.tables import Competition, Delegation, Role
from registration import idcard
from registration.tables import Entry, EntryStatus, Person

# What eligibility depends on: a change needs the reviewers' eyes again.
REVIEW_FIELDS = frozenset({"skill_level", "years_of_service"})
# What the admission ticket shows: a change makes the printed ticket stale.
TICKET_FIELDS = frozenset({"name", "employer", "photo"})
# Recorded, and nothing else: neither the review nor the ticket depends on them.
RECORD_ONLY_FIELDS = frozenset({"phone", "job"})
# The particulars of a person record a form or an import may change (the ID number, and the
# gender and birth date it gives, never change).
PERSON_FIELDS = ("name", "phone", "employer", "job", "skill_level", "years_of_service")
# Entries whose competition has not started competing: later ones keep their review and ticket
# (a record corrected for next year's competition does not un-admit anyone mid-competition).
EFFECT_PHASES = (Phase.setup.value, Phase.registration.value, Phase.review.value)
TICKET_EFFECT_PHASES = (*EFFECT_PHASES, Phase.draw.value)
EFFECT_CHUNK = 500  # ids per IN (…) list: far below SQLite's variable limit

OWNED_MESSAGE = N_(
    "This person is already registered, and the record is kept by its owner (the person's own "
    "account or the delegation that entered them); it cannot be entered or changed from here. "
    "Ask the organizer if the person should move to your delegation."
)


class PersonOwned(Conflict):
    """The actor is not the record's owner. The message names no one."""

    default_code = "person_owned"


@dataclass(frozen=True)
class Ownership:
    """Who owns one person record (see the module docstring)."""

    user_id: int | None
    delegation_id: int | None
    delegation_code: str | None  # of `delegation_id`, for the same owner in a later edition


@dataclass(frozen=True)
class Acting:
    """Who wants to change a person record."""

    role: Role  # organizer, delegation_admin or contestant
    user_id: int | None = None
    delegation_id: int | None = None
    delegation_code: str | None = None


ORGANIZER = Acting(role=Role.organizer)


def may_change(owner: Ownership, acting: Acting) -> bool:
    """Whether `acting` may change (or enter) the person owned as `owner`. Pure."""
    if acting.role == Role.organizer:
        return True
    if owner.user_id is not None:
        return acting.role == Role.contestant and acting.user_id == owner.user_id
    if acting.role != Role.delegation_admin or owner.delegation_id is None:
        return False
    return acting.delegation_id == owner.delegation_id or (
        owner.delegation_code is not None and acting.delegation_code == owner.delegation_code
    )


def needs_claim(owner: Ownership, acting: Acting) -> bool:
    """A contestant's account meets a record nobody's account holds yet: it may claim it."""
    return acting.role == Role.contestant and owner.user_id is None


def refuse(field: str = "id_number") -> PersonOwned:
    """The refusal for an actor who is not the owner, shown next to `field` of a form."""
    return PersonOwned(OWNED_MESSAGE, field_errors={field: OWNED_MESSAGE})


def mask_phone(phone: str) -> str:
    """`13900971234` → `139****1234`: the trail shows that a number changed, not the number."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def audit_values(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Person values as an audit record may hold them: phone and ID numbers masked."""
    if values is None:
        return None
    shown = dict(values)
    if shown.get("phone"):
        shown["phone"] = mask_phone(str(shown["phone"]))
    if shown.get("id_number"):
        shown["id_number"] = idcard.mask(str(shown["id_number"]))
    return shown


def changed_particulars(
    stored: Mapping[str, Any], wanted: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """field → (old, new) for each of `PERSON_FIELDS` in `wanted` whose value differs."""
    return {
        k: (stored.get(k), wanted[k])
        for k in PERSON_FIELDS
        if k in wanted and stored.get(k) != wanted[k]
    }


async def delegation_code(delegation_id: int | None) -> str | None:
    if delegation_id is None:
        return None
    row = await Delegation.select(Delegation.code).where(Delegation.id == delegation_id).first()
    return row["code"] if row else None


async def ownership(id_numbers: Iterable[str]) -> dict[str, tuple[int, Ownership]]:
    """ID number → (person id, ownership) for the records that exist; one query a chunk."""
    numbers = sorted(set(id_numbers))
    found: dict[str, tuple[int, Ownership]] = {}
    for start in range(0, len(numbers), EFFECT_CHUNK):
        rows = await Person.select(
            Person.id,
            Person.id_number,
            Person.user,
            Person.owner_delegation,
            Person.owner_delegation.code,
        ).where(Person.id_number.is_in(numbers[start : start + EFFECT_CHUNK]))
        for r in rows:
            found[r["id_number"]] = (
                r["id"],
                Ownership(
                    user_id=r["user"],
                    delegation_id=r["owner_delegation"],
                    delegation_code=r["owner_delegation.code"],
                ),
            )
    return found


async def owner_of(person_id: int) -> Ownership:
    """The ownership of one record by its id."""
    row = (
        await Person.select(Person.user, Person.owner_delegation, Person.owner_delegation.code)
        .where(Person.id == person_id)
        .first()
    )
    if row is None:
        return Ownership(user_id=None, delegation_id=None, delegation_code=None)
    return Ownership(
        user_id=row["user"],
        delegation_id=row["owner_delegation"],
        delegation_code=row["owner_delegation.code"],
    )


async def require_may_change(id_number: str, acting: Acting) -> int | None:
    """The person's id if `acting` may change the record, None if there is no record yet;
    raises `PersonOwned` otherwise (a contestant meeting an unclaimed record must claim it
    first: the caller decides, `needs_claim`)."""
    known = (await ownership([id_number])).get(id_number)
    if known is None:
        return None
    person_id, owner = known
    if not may_change(owner, acting):
        raise refuse()
    return person_id


# ---------------------------------------------------------------------------- effects


@dataclass
class Effects:
    """What `apply_effects` did: entry ids sent back to review, entry ids whose ticket was
    reissued."""

    back_to_review: list[int]
    reissued: list[int]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _affected(person_ids: list[int], statuses: tuple[str, ...], phases: tuple[str, ...]):
    rows: list[dict[str, Any]] = []
    for start in range(0, len(person_ids), EFFECT_CHUNK):
        chunk = person_ids[start : start + EFFECT_CHUNK]
        rows += await Entry.select(
            Entry.id, Entry.competition, Entry.status, Entry.ticket_version
        ).where(
            Entry.person.is_in(chunk)
            & Entry.status.is_in(list(statuses))
            & Entry.competition.is_in(
                Competition.select(Competition.id).where(Competition.phase.is_in(list(phases)))
            )
        )
    return rows


async def apply_effects(
    changed: Mapping[int, Iterable[str]], *, actor: Actor, reason: str = ""
) -> Effects:
    """Apply the module's rules to entries of people whose record just changed.

    `changed` maps person id → names of the changed fields (person columns, or "photo"). Runs
    inside the caller's transaction and writes one audit record per entry it changes.
    """
    review_people = sorted(p for p, f in changed.items() if REVIEW_FIELDS.intersection(f))
    ticket_people = sorted(
        p for p, f in changed.items() if TICKET_FIELDS.intersection(f) and p not in review_people
    )
    effects = Effects(back_to_review=[], reissued=[])
    now = _now()
    records: dict[int | None, list[dict[str, Any]]] = {}
    passed = (EntryStatus.delegation_approved.value, EntryStatus.approved.value)
    for entry in await _affected(review_people, passed, EFFECT_PHASES):
        was_approved = entry["status"] == EntryStatus.approved.value
        changes: dict[Any, Any] = {
            Entry.status: EntryStatus.submitted.value,
            Entry.session: None,
            Entry.submitted_at: now,
            Entry.updated_at: now,
        }
        if was_approved:
            changes[Entry.ticket_version] = entry["ticket_version"] + 1
        await Entry.update(changes).where(Entry.id == entry["id"])
        effects.back_to_review.append(entry["id"])
        records.setdefault(entry["competition"], []).append(
            {
                "action": "entry.back_to_review",
                "object_id": entry["id"],
                "old": {"status": entry["status"]},
                "new": {"status": EntryStatus.submitted.value, "why": "particulars changed"},
            }
        )
    approved = (EntryStatus.approved.value,)
    for entry in await _affected(ticket_people, approved, TICKET_EFFECT_PHASES):
        version = entry["ticket_version"] + 1
        await Entry.update({Entry.ticket_version: version, Entry.updated_at: now}).where(
            Entry.id == entry["id"]
        )
        effects.reissued.append(entry["id"])
        records.setdefault(entry["competition"], []).append(
            {
                "action": "entry.ticket_reissued",
                "object_id": entry["id"],
                "old": {"ticket_version": entry["ticket_version"]},
                "new": {"ticket_version": version, "why": "particulars changed"},
            }
        )
    for competition_id, rows in records.items():
        await audit.record_many(
            rows, actor=actor, object_type="entry", competition_id=competition_id, reason=reason
        )
    return effects
