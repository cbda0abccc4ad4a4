"""Entries (报名): registering a person for a trade, correcting, resubmitting and withdrawing.

Rules enforced here, with the database as the backstop:
- the resident ID is valid (registration/idcard.py) and gender and birth date come from it;
- the person meets the trade's eligibility rules (registration/eligibility.py);
- one person enters at most `competition.max_trades_per_person` trades and never one trade
  twice (unique indexes on entry (person, trade) and (competition, person, slot));
- a person record changes only through its owner (registration/people.py): another
  delegation entering the same person is refused, and a contestant's account meeting a record
  a delegation made must claim it first (registration/claims.py);
- what a correction does to an entry that passed review is one rule (`update_entry`): a change
  of the entry itself (trade, group, delegation) or of what eligibility depends on sends it
  back to review; a change of what the ticket shows (name, employer, photo) reissues the
  ticket; phone and job are recorded only (people.apply_effects, for every entry of the person).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

from competition import audit, clock, phases, services
from competition.audit import Actor
from competition.db import is_integrity_error, is_postgres, transaction
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.i18n import N_, Msg
from competition.phases import REGISTRATION_PHASES, Phase, require_phase
from competition.schemas import SKILL_LEVELS, Eligibility, settings_from_json
from competition.tables import Competition, Delegation, Role, Trade
from registration import claims, idcard, people
from registration.eligibility import Applicant, refusals
from registration.people import Acting
from registration.photos import ProcessedPhoto
from registration.schemas import EntryIn, TradeRules
from registration.tables import (
    AwardHistory,
    ClaimStatus,
    Entry,
    EntrySource,
    EntryStatus,
    Person,
    Photo,
)

# Correcting entries happens while registration is open (REGISTRATION_PHASES); a rejected
# entry may still be corrected during review.
CORRECTION_PHASES = frozenset({Phase.registration, Phase.review})
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
NAME = re.compile(r"^[\w·•. -]{2,50}$")
ACTIVE_STATUSES = (EntryStatus.submitted, EntryStatus.delegation_approved, EntryStatus.approved)
PASSED_STATUSES = (EntryStatus.delegation_approved.value, EntryStatus.approved.value)
WITHDRAWABLE_STATUSES = (
    EntryStatus.submitted.value,
    EntryStatus.rejected.value,
    EntryStatus.delegation_approved.value,
)
# What belongs to the entry rather than the person: a change needs the reviewers again.
ENTRY_FIELDS = ("trade", "group_name", "delegation")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Outcome(enum.StrEnum):
    """What a correction did to the entry (the page says so)."""

    resubmitted = "resubmitted"  # a returned entry was corrected and waits for review again
    back_to_review = "back_to_review"  # it had passed review; now it waits again
    reissued = "reissued"  # still approved; a new ticket replaces the old printout
    recorded = "recorded"  # saved; the review and the ticket stand
    unchanged = "unchanged"  # nothing differed


@dataclass(frozen=True)
class Correction:
    status: str  # the entry's status afterwards
    outcome: Outcome


def editable(status: str, phase: str) -> bool:
    """Whether an entry in `status` may be corrected while its competition is in `phase`."""
    if status == EntryStatus.revoked:
        return False
    allowed = CORRECTION_PHASES if status == EntryStatus.rejected else REGISTRATION_PHASES
    return Phase(phase) in allowed


def registration_refusal(
    phase: Phase | str, closes_on: dt.date | None, role: Role, today: dt.date | None = None
) -> Msg | None:
    """Why `role` may not enter new people now (`phases.registration_refusal`): the deadline
    binds contestants and delegations; an organizer may still enter a late registration until
    the phase moves on. Corrections keep the phase's rules (`editable`)."""
    return phases.registration_refusal(
        phase, closes_on, today or clock.local_today(), late_allowed=role == Role.organizer
    )


def require_registration_open(
    phase: Phase | str, closes_on: dt.date | None, role: Role, action: Msg
) -> None:
    """Refuse registering new people when `registration_refusal` gives a reason."""
    require_phase(phase, REGISTRATION_PHASES, action)
    if (reason := registration_refusal(phase, closes_on, role)) is not None:
        raise PhaseError(str(reason), code="registration_closed", **reason.params)


def withdrawable(status: str, phase: str) -> bool:
    return status in WITHDRAWABLE_STATUSES and Phase(phase) in CORRECTION_PHASES


# ---------------------------------------------------------------------------- context


def cutoff_for(eligibility: Eligibility, competition: dict[str, Any]) -> dt.date:
    """The day ages are counted on: the trade's own, else the competition's, else its start."""
    return (
        eligibility.age_cutoff
        or competition.get("age_cutoff")
        or competition.get("starts_on")
        or dt.date.today()
    )


async def trade_rules(competition_id: int) -> dict[int, TradeRules]:
    """Every trade of a competition with the settings registration checks, by id."""
    competition = await Competition.select().where(Competition.id == competition_id).first()
    if competition is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    rows = (
        await Trade.select(
            Trade.id,
            Trade.code,
            Trade.name,
            Trade.groups,
            Trade.eligibility,
            Trade.max_entries,
        )
        .where(Trade.competition == competition_id)
        .output(load_json=True)
    )
    rules = {}
    for row in rows:
        eligibility = settings_from_json(Eligibility, row["eligibility"])
        rules[row["id"]] = TradeRules(
            id=row["id"],
            competition_id=competition_id,
            code=row["code"],
            name=row["name"],
            groups=tuple(row["groups"] or ()),
            eligibility=eligibility,
            cutoff=cutoff_for(eligibility, competition),
            max_entries=row["max_entries"],
        )
    return rules


async def first_prize_winners(
    trade_names: set[str],
    id_numbers: list[str] | None = None,
) -> set[tuple[str, str]]:
    """(id_number, trade name) pairs of earlier first prizes, for the "not again" rule."""
    query = AwardHistory.select(AwardHistory.id_number, AwardHistory.trade_name).where(
        (AwardHistory.award == "first") & AwardHistory.trade_name.is_in(list(trade_names) or [""])
    )
    if id_numbers is not None:
        if not id_numbers:
            return set()
        query = query.where(AwardHistory.id_number.is_in(id_numbers))
    return {(r["id_number"], r["trade_name"]) for r in await query}


@dataclass(frozen=True)
class RegistrationWindow:
    """What registering and correcting in a competition depend on, read for the action."""

    phase: Phase
    trades_per_person: int  # max_trades_per_person
    closes_on: dt.date | None  # registration_closes_on

    def require_open(self, role: Role, action: Msg) -> None:
        require_registration_open(self.phase, self.closes_on, role, action)


async def registration_window(competition_id: int) -> RegistrationWindow:
    """The competition's phase, its limit of trades a person and its registration deadline,
    read for an action that depends on them (`services.competition_for_action`: a phase
    change waits for it)."""
    row = await services.competition_for_action(
        competition_id,
        Competition.phase,
        Competition.max_trades_per_person,
        Competition.registration_closes_on,
    )
    return RegistrationWindow(
        Phase(row["phase"]), row["max_trades_per_person"], row["registration_closes_on"]
    )


# ---------------------------------------------------------------------------- validation


def check_fields(
    data: EntryIn, rules: TradeRules | None
) -> tuple[dict[str, Any], idcard.ResidentId]:
    """Validate every field at once; raise one error carrying a message per bad field."""
    errors: dict[str, str] = {}
    resident: idcard.ResidentId | None = None
    name = " ".join(data.name.split())
    if not NAME.match(name) or any(c.isdigit() for c in name):
        errors["name"] = N_("Enter the name as on the ID card.")
    try:
        resident = idcard.parse(data.id_number)
    except ValidationFailed as exc:
        errors["id_number"] = N_(exc.message, **exc.params)
    phone = idcard.normalise(data.phone).replace("+86", "")
    if not PHONE.match(phone):
        errors["phone"] = N_("Enter an 11-digit mobile number (or a landline with area code).")
    employer = " ".join(data.employer.split())
    if not employer or len(employer) > 100:
        errors["employer"] = N_("Enter the employer (工作单位), at most 100 characters.")
    job = " ".join(data.job.split())
    if len(job) > 50:
        errors["job"] = N_("At most {n} characters.", n=50)
    if data.skill_level is not None and data.skill_level not in SKILL_LEVELS:
        errors["skill_level"] = N_("Unknown skill level.")
    if not 0 <= data.years_of_service <= 50:
        errors["years_of_service"] = N_("Years of service are between 0 and 50.")
    elif (
        resident is not None
        and data.years_of_service > idcard.age_on(resident.birth_date, dt.date.today()) - 14
    ):
        errors["years_of_service"] = N_("The years of service do not fit the age in the ID number.")
    group = data.group_name.strip()
    if rules is None:
        errors["trade_id"] = N_("Choose a trade.")
    elif rules.groups and group not in rules.groups:
        errors["group_name"] = N_("Choose a group: {groups}.", groups=list(rules.groups))
    elif not rules.groups:
        group = ""
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(
            first, code="invalid_entry", field_errors=errors, **getattr(first, "params", {})
        )
    assert resident is not None
    return {
        "name": name,
        "phone": phone,
        "employer": employer,
        "job": job,
        "skill_level": data.skill_level,
        "years_of_service": data.years_of_service,
        "group_name": group,
    }, resident


def check_eligible(
    rules: TradeRules, resident: idcard.ResidentId, fields: dict[str, Any], won_before: bool
) -> None:
    found = refusals(
        rules.eligibility,
        rules.cutoff,
        Applicant(
            birth_date=resident.birth_date,
            skill_level=fields["skill_level"],
            years_of_service=fields["years_of_service"],
            won_first_prize_before=won_before,
        ),
    )
    if found:
        reasons = [r.message for r in found]
        raise ValidationFailed(
            "Not eligible for “{trade}”: {reasons}",
            code="not_eligible",
            field_errors={"trade_id": "Not eligible for “{trade}”: {reasons}"},
            trade=rules.name,
            reasons=reasons,
        )


# ---------------------------------------------------------------------------- people


class _ClaimFirst(Exception):
    """A contestant's account met a record that no account holds yet: it must be claimed."""


CLAIM_PENDING = N_(
    "Your ID number was already entered by a delegation. We asked it to confirm that this "
    "account is yours; until it does, the record, its entries and the admission ticket stay "
    "out of this account. Your registration was not saved."
)
NAME_MISMATCH = N_(
    "This ID number was registered by a delegation under another name; ask your delegation to "
    "correct it."
)


async def _write_person(
    person_id: int, stored: dict[str, Any], values: dict[str, Any], actor: Actor
) -> set[str]:
    """Store the particulars that differ; returns the names of the changed fields."""
    diff = people.changed_particulars(stored, values)
    if not diff:
        return set()
    updates: dict[Any, Any] = {getattr(Person, k): new for k, (_old, new) in diff.items()}
    updates[Person.updated_at] = _now()
    await Person.update(updates).where(Person.id == person_id)
    await audit.record(
        "person.update",
        actor=actor,
        object_type="person",
        object_id=person_id,
        old=people.audit_values({k: old for k, (old, _new) in diff.items()}),
        new=people.audit_values({k: new for k, (_old, new) in diff.items()}),
    )
    return set(diff)


async def _person_for(
    resident: idcard.ResidentId, fields: dict[str, Any], acting: Acting, actor: Actor
) -> tuple[int, set[str]]:
    """The person with this ID number, created if new and brought up to date if `acting` owns
    the record; returns (person id, the fields that changed).

    A new record belongs to the contestant's account that registers it, or to the delegation
    that enters it. Any other actor meeting an existing record is refused (people.refuse); a
    contestant's account meeting a record nobody's account holds must claim it (_ClaimFirst).
    """
    values = {k: fields[k] for k in people.PERSON_FIELDS}
    if acting.role == Role.contestant:
        await claims.check_account_free(acting.user_id, resident.number)
    row = (
        await Person.select(
            Person.id,
            Person.user,
            Person.owner_delegation,
            Person.owner_delegation.code,
            *(getattr(Person, k) for k in people.PERSON_FIELDS),
        )
        .where(Person.id_number == resident.number)
        .first()
    )
    if row is None:
        person = Person(
            id_number=resident.number,
            gender=resident.gender,
            birth_date=resident.birth_date,
            user=acting.user_id if acting.role == Role.contestant else None,
            owner_delegation=(
                acting.delegation_id if acting.role == Role.delegation_admin else None
            ),
            **values,
        )
        await person.save()
        await audit.record(
            "person.create",
            actor=actor,
            object_type="person",
            object_id=person.id,
            new=people.audit_values(
                {
                    "id_number": resident.number,
                    "name": values["name"],
                    "user": person.user,
                    "owner_delegation": person.owner_delegation,
                }
            ),
        )
        return person.id, set()
    owner = people.Ownership(
        user_id=row["user"],
        delegation_id=row["owner_delegation"],
        delegation_code=row["owner_delegation.code"],
    )
    if not people.may_change(owner, acting):
        if people.needs_claim(owner, acting):
            raise _ClaimFirst
        if acting.role == Role.contestant:
            raise claims.id_taken()
        raise people.refuse()
    return row["id"], await _write_person(row["id"], row, values, actor)


async def _photo_sha(person_id: int) -> str | None:
    row = await Photo.select(Photo.sha256).where(Photo.person == person_id).first()
    return row["sha256"] if row else None


async def save_photo(person_id: int, photo: ProcessedPhoto, actor: Actor) -> bool:
    """Replace the person's photo (inside the caller's transaction, whose caller checked the
    ownership). Returns whether it changed."""
    existing = await Photo.select(Photo.id, Photo.sha256).where(Photo.person == person_id).first()
    if existing and existing["sha256"] == photo.sha256:
        return False
    if existing:
        await Photo.update(
            {
                Photo.content: photo.content,
                Photo.mime: photo.mime,
                Photo.sha256: photo.sha256,
                Photo.width: photo.width,
                Photo.height: photo.height,
                Photo.uploaded_at: _now(),
            }
        ).where(Photo.id == existing["id"])
    else:
        await Photo.insert(
            Photo(
                person=person_id,
                content=photo.content,
                mime=photo.mime,
                sha256=photo.sha256,
                width=photo.width,
                height=photo.height,
            )
        )
    await audit.record(
        "person.photo",
        actor=actor,
        object_type="person",
        object_id=person_id,
        old={"sha256": existing["sha256"]} if existing else None,
        new={"sha256": photo.sha256},
    )
    return True


async def replace_photo(
    person_id: int, photo: ProcessedPhoto, *, actor: Actor, acting: Acting
) -> people.Effects:
    """The owner replaces a person's photo; an approved entry's ticket is reissued."""
    async with transaction():
        if not people.may_change(await people.owner_of(person_id), acting):
            raise people.refuse("photo")
        if not await save_photo(person_id, photo, actor):
            return people.Effects(back_to_review=[], reissued=[])
        return await people.apply_effects({person_id: {"photo"}}, actor=actor)


# ---------------------------------------------------------------------------- entries


async def _check_delegation(delegation_id: int, competition_id: int) -> None:
    if not await Delegation.exists().where(
        (Delegation.id == delegation_id) & (Delegation.competition == competition_id)
    ):
        raise ValidationFailed(
            "Choose a delegation.",
            code="unknown_delegation",
            field_errors={"delegation_id": "Choose a delegation."},
        )


async def _free_slot(
    competition_id: int, person_id: int, limit: int, exclude_entry: int | None = None
) -> int:
    query = Entry.select(Entry.slot).where(
        (Entry.competition == competition_id) & (Entry.person == person_id)
    )
    if exclude_entry is not None:
        query = query.where(Entry.id != exclude_entry)
    used = {r["slot"] for r in await query}
    for slot in range(1, limit + 1):
        if slot not in used:
            return slot
    raise Conflict(
        "A person may enter at most {n} trades in this competition.",
        code="too_many_trades",
        field_errors={"trade_id": "A person may enter at most {n} trades in this competition."},
        n=limit,
    )


async def trades_left(competition_id: int, person_id: int | None) -> tuple[int, int]:
    """(trades this person entered in the competition, the competition's limit): a page offers
    another registration only while the first is below the second."""
    limit = (await registration_window(competition_id)).trades_per_person
    if person_id is None:
        return 0, limit
    used = await Entry.count().where(
        (Entry.competition == competition_id) & (Entry.person == person_id)
    )
    return used, limit


async def register_entry(
    competition_id: int,
    data: EntryIn,
    *,
    actor: Actor,
    acting: Acting,
    photo: ProcessedPhoto | None = None,
    source: EntrySource = EntrySource.self_service,
) -> int:
    """Register a person for a trade as `acting` (a contestant for themself, a delegation for
    its people, an organizer). Returns the new entry's id.

    A contestant whose ID number a delegation entered before claims the record on the way: with
    the phone on file as proof the registration goes on; otherwise `claims.ClaimPending` is
    raised, the claim waits for the owner, and nothing else is stored."""
    try:
        try:
            return await _register(
                competition_id, data, actor=actor, acting=acting, photo=photo, source=source
            )
        except _ClaimFirst:
            try:
                claimed = await claims.request_claim(
                    data.id_number, data.name, user_id=acting.user_id or 0, actor=actor
                )
            except NotFound as exc:
                if exc.code != "claim_no_match":
                    raise
                raise Conflict(
                    NAME_MISMATCH,
                    code="id_name_mismatch",
                    field_errors={"id_number": NAME_MISMATCH},
                ) from exc
            if claimed.status != ClaimStatus.confirmed:
                raise claims.ClaimPending(
                    CLAIM_PENDING, field_errors={"id_number": CLAIM_PENDING}
                ) from None
            return await _register(
                competition_id, data, actor=actor, acting=acting, photo=photo, source=source
            )
    except Exception as exc:
        # Two submissions racing past the checks: the unique indexes let only one through.
        if is_integrity_error(exc):
            raise Conflict(
                "This person has already entered this trade or has no free place "
                "left in this competition.",
                code="entry_conflict",
            ) from exc
        raise


async def _register(
    competition_id: int,
    data: EntryIn,
    *,
    actor: Actor,
    acting: Acting,
    photo: ProcessedPhoto | None,
    source: EntrySource,
) -> int:
    async with transaction():
        window = await registration_window(competition_id)
        window.require_open(acting.role, N_("Registering"))
        limit = window.trades_per_person
        rules = (await trade_rules(competition_id)).get(data.trade_id)
        fields, resident = check_fields(data, rules)
        assert rules is not None
        await _check_delegation(data.delegation_id, competition_id)
        won_before = bool(await first_prize_winners({rules.name}, [resident.number]))
        check_eligible(rules, resident, fields, won_before)
        person_id, changed = await _person_for(resident, fields, acting, actor)
        if await Entry.exists().where((Entry.person == person_id) & (Entry.trade == data.trade_id)):
            raise Conflict(
                "This person has already entered “{trade}”.",
                code="already_entered",
                field_errors={"trade_id": "This person has already entered “{trade}”."},
                trade=rules.name,
            )
        slot = await _free_slot(competition_id, person_id, limit)
        if photo is not None and await save_photo(person_id, photo, actor):
            changed.add("photo")
        if changed:
            # The person's other entries (another trade, another edition) feel the change.
            await people.apply_effects({person_id: changed}, actor=actor)
        entry = Entry(
            competition=competition_id,
            trade=data.trade_id,
            person=person_id,
            delegation=data.delegation_id,
            group_name=fields["group_name"],
            slot=slot,
            status=EntryStatus.submitted.value,
            source=source.value,
        )
        await entry.save()
        await audit.record(
            "entry.create",
            actor=actor,
            object_type="entry",
            object_id=entry.id,
            competition_id=competition_id,
            new={
                "status": EntryStatus.submitted.value,
                "trade": rules.code,
                "delegation": data.delegation_id,
                "source": source.value,
            },
        )
    return entry.id


async def get_entry(entry_id: int, *, lock: bool = False) -> dict[str, Any]:
    """One entry with its person, trade, delegation and competition; `lock` takes the entry
    row's lock (PostgreSQL) for the rest of the caller's transaction."""
    query = (
        Entry.select(
            Entry.all_columns(),
            Entry.person.all_columns(),
            Entry.trade.code,
            Entry.trade.name,
            Entry.trade.name_en,
            Entry.trade.groups,
            Entry.delegation.name,
            Entry.delegation.code,
            Entry.competition.phase,
            Entry.competition.name,
            Entry.competition.name_en,
        )
        .where(Entry.id == entry_id)
        .output(load_json=True)
    )
    if lock and is_postgres():
        query = query.lock_rows(of=(Entry,))
    row = await query.first()
    if row is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    return row


async def update_entry(
    entry_id: int,
    data: EntryIn,
    *,
    actor: Actor,
    acting: Acting,
    photo: ProcessedPhoto | None = None,
) -> Correction:
    """Correct an entry (see the module docstring for what a change does). The person's
    particulars and photo change only if `acting` owns the record (people.may_change); the
    entry's own fields are the caller's to allow (registration.access)."""
    async with transaction():
        entry = await get_entry(entry_id, lock=True)
        competition_id = entry["competition"]
        phase = (await registration_window(competition_id)).phase
        status = EntryStatus(entry["status"])
        if status == EntryStatus.revoked:
            raise Conflict("This entry was revoked and cannot be changed.", code="entry_revoked")
        require_phase(
            phase,
            CORRECTION_PHASES if status == EntryStatus.rejected else REGISTRATION_PHASES,
            N_("Correcting an entry"),
        )
        rules = (await trade_rules(competition_id)).get(data.trade_id)
        fields, resident = check_fields(data, rules)
        assert rules is not None
        await _check_delegation(data.delegation_id, competition_id)
        if resident.number != entry["person.id_number"]:
            raise ValidationFailed(
                "The ID number of an entry cannot be changed; withdraw it and register again.",
                code="id_change",
                field_errors={
                    "id_number": "The ID number of an entry cannot "
                    "be changed; withdraw it and "
                    "register again."
                },
            )
        won_before = bool(await first_prize_winners({rules.name}, [resident.number]))
        check_eligible(rules, resident, fields, won_before)
        if data.trade_id != entry["trade"] and await Entry.exists().where(
            (Entry.person == entry["person"]) & (Entry.trade == data.trade_id)
        ):
            raise Conflict(
                "This person has already entered “{trade}”.",
                code="already_entered",
                field_errors={"trade_id": "This person has already entered “{trade}”."},
                trade=rules.name,
            )
        person_id = entry["person"]
        stored = {k: entry[f"person.{k}"] for k in people.PERSON_FIELDS}
        values = {k: fields[k] for k in people.PERSON_FIELDS}
        diff = people.changed_particulars(stored, values)
        new_photo = photo is not None and await _photo_sha(person_id) != photo.sha256
        if (diff or new_photo) and not people.may_change(await people.owner_of(person_id), acting):
            raise people.refuse(next(iter(diff), "photo"))
        changed = await _write_person(person_id, stored, values, actor)
        if photo is not None and new_photo and await save_photo(person_id, photo, actor):
            changed.add("photo")
        effects = (
            await people.apply_effects({person_id: changed}, actor=actor)
            if changed
            else people.Effects(back_to_review=[], reissued=[])
        )
        return await _correct_entry(entry, data, fields["group_name"], changed, effects, actor)


async def _correct_entry(
    entry: dict[str, Any],
    data: EntryIn,
    group: str,
    person_changed: set[str],
    effects: people.Effects,
    actor: Actor,
) -> Correction:
    """The entry's part of a correction, after the person's (whose effects may already have
    sent this entry back to review or reissued its ticket)."""
    entry_id = entry["id"]
    now_row = (
        await Entry.select(Entry.status, Entry.ticket_version).where(Entry.id == entry_id).first()
    )
    status = now_row["status"]
    wanted = {"trade": data.trade_id, "group_name": group, "delegation": data.delegation_id}
    entry_changed = {k: v for k, v in wanted.items() if entry[k] != v}
    changes: dict[Any, Any] = {getattr(Entry, k): v for k, v in entry_changed.items()}
    new_status = status
    if status == EntryStatus.rejected:
        new_status, outcome = EntryStatus.submitted.value, Outcome.resubmitted
        changes.update({Entry.review_note: "", Entry.rejected_by: ""})
    elif entry_changed and status in PASSED_STATUSES:
        new_status, outcome = EntryStatus.submitted.value, Outcome.back_to_review
        if status == EntryStatus.approved:
            changes[Entry.ticket_version] = now_row["ticket_version"] + 1
            changes[Entry.session] = None
    elif entry_id in effects.back_to_review:
        outcome = Outcome.back_to_review
    elif entry_id in effects.reissued:
        outcome = Outcome.reissued
    elif entry_changed or person_changed:
        outcome = Outcome.recorded
    else:
        outcome = Outcome.unchanged
    if new_status != status:
        changes.update({Entry.status: new_status, Entry.submitted_at: _now()})
    if changes:
        changes[Entry.updated_at] = _now()
        await Entry.update(changes).where(Entry.id == entry_id)
        await audit.record(
            "entry.update",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=entry["competition"],
            old={"status": status, **{k: entry[k] for k in ENTRY_FIELDS}},
            new={"status": new_status, **wanted},
            reason="resubmitted" if outcome == Outcome.resubmitted else "",
        )
    return Correction(status=new_status, outcome=outcome)


async def withdraw_entry(entry_id: int, *, actor: Actor) -> None:
    """The contestant (or delegation) takes back an entry that is not yet admitted."""
    async with transaction():
        entry = await get_entry(entry_id, lock=True)
        phase = (await registration_window(entry["competition"])).phase
        require_phase(phase, CORRECTION_PHASES, N_("Withdrawing an entry"))
        if entry["status"] not in WITHDRAWABLE_STATUSES:
            raise Conflict(
                "Only an entry that is not yet admitted can be withdrawn.", code="cannot_withdraw"
            )
        await Entry.delete().where(Entry.id == entry_id)
        await audit.record(
            "entry.withdraw",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=entry["competition"],
            old={"status": entry["status"], "trade": entry["trade"]},
            new={"status": "withdrawn"},
        )
