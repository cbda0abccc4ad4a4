"""Entries (报名): registering a person for a trade, correcting, resubmitting and withdrawing.

Rules enforced here, with the database as the backstop:
- the resident ID is valid (registration/idcard.py) and gender and birth date come from it;
- the person meets the trade's eligibility rules (registration/eligibility.py);
- one person enters at most `competition.max_trades_per_person` trades and never one trade
  twice (unique indexes on entry (person, trade) and (competition, person, slot));
- editing an entry that was approved at either level sends it back for review.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from competition import audit
from competition.audit import Actor
from competition.db import is_integrity_error, transaction
from competition.errors import Conflict, NotFound, ValidationFailed
from competition.i18n import N_
from competition.phases import Phase, require_phase
from competition.schemas import SKILL_LEVELS, Eligibility, settings_from_json
from competition.tables import Competition, Delegation, Trade
from registration import idcard
from registration.eligibility import Applicant, refusals
from registration.photos import ProcessedPhoto
from registration.schemas import EntryIn, TradeRules
from registration.tables import AwardHistory, Entry, EntrySource, EntryStatus, Person, Photo

# Registering and correcting entries happen while registration is open; a rejected entry may
# still be corrected during review.
REGISTRATION_PHASES = frozenset({Phase.registration})
CORRECTION_PHASES = frozenset({Phase.registration, Phase.review})
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
NAME = re.compile(r"^[\w·•. -]{2,50}$")
ACTIVE_STATUSES = (EntryStatus.submitted, EntryStatus.delegation_approved, EntryStatus.approved)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


async def _competition_phase(competition_id: int) -> tuple[Phase, int]:
    row = (
        await Competition.select(Competition.phase, Competition.max_trades_per_person)
        .where(Competition.id == competition_id)
        .first()
    )
    if row is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    return Phase(row["phase"]), row["max_trades_per_person"]


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


async def _person_for(
    resident: idcard.ResidentId, fields: dict[str, Any], account_user_id: int | None, actor: Actor
) -> int:
    """Find or create the person with this ID number and keep their details current.

    A record made by a delegation's import has no account yet: the person claims it by
    registering online with the same ID number and name. A record already claimed by another
    account cannot be taken over.
    """
    row = await Person.select().where(Person.id_number == resident.number).first()
    values = {
        "name": fields["name"],
        "phone": fields["phone"],
        "employer": fields["employer"],
        "job": fields["job"],
        "skill_level": fields["skill_level"],
        "years_of_service": fields["years_of_service"],
        "gender": resident.gender,
        "birth_date": resident.birth_date,
    }
    if account_user_id is not None:
        mine = (
            await Person.select(Person.id, Person.id_number)
            .where(Person.user == account_user_id)
            .first()
        )
        if mine and mine["id_number"] != resident.number:
            raise Conflict(
                "Your account is registered with another ID number ({masked}).",
                code="account_has_other_person",
                field_errors={
                    "id_number": "Your account is registered with another ID number ({masked})."
                },
                masked=idcard.mask(mine["id_number"]),
            )
    if row is None:
        person = Person(id_number=resident.number, user=account_user_id, **values)
        await person.save()
        await audit.record(
            "person.create",
            actor=actor,
            object_type="person",
            object_id=person.id,
            new={"id_number": idcard.mask(resident.number), "name": values["name"]},
        )
        return person.id
    if account_user_id is not None and row["user"] not in (None, account_user_id):
        raise Conflict(
            "This ID number is already registered by another account. If it is yours, ask "
            "your delegation or the organizer for help.",
            code="id_taken",
            field_errors={
                "id_number": "This ID number is already registered "
                "by another account. If it is yours, "
                "ask your delegation or the organizer "
                "for help."
            },
        )
    if account_user_id is not None and row["user"] is None and row["name"] != values["name"]:
        raise Conflict(
            "This ID number was registered by a delegation under another name; ask your "
            "delegation to correct it.",
            code="id_name_mismatch",
            field_errors={
                "id_number": "This ID number was registered "
                "by a delegation under another "
                "name; ask your delegation to "
                "correct it."
            },
        )
    old, new = audit.changed_fields(row, values)
    updates: dict[Any, Any] = {getattr(Person, k): values[k] for k in new}
    if account_user_id is not None and row["user"] is None:
        updates[Person.user] = account_user_id
        new["user"] = account_user_id
    if updates:
        updates[Person.updated_at] = _now()
        await Person.update(updates).where(Person.id == row["id"])
        await audit.record(
            "person.update",
            actor=actor,
            object_type="person",
            object_id=row["id"],
            old=old,
            new=new,
        )
    return row["id"]


async def save_photo(person_id: int, photo: ProcessedPhoto, actor: Actor) -> None:
    """Replace the person's photo (inside the caller's transaction)."""
    existing = await Photo.select(Photo.id, Photo.sha256).where(Photo.person == person_id).first()
    if existing and existing["sha256"] == photo.sha256:
        return
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


async def replace_photo(person_id: int, photo: ProcessedPhoto, actor: Actor) -> None:
    async with transaction():
        await save_photo(person_id, photo, actor)


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


async def register_entry(
    competition_id: int,
    data: EntryIn,
    *,
    actor: Actor,
    account_user_id: int | None = None,
    photo: ProcessedPhoto | None = None,
    source: EntrySource = EntrySource.self_service,
) -> int:
    """Register a person for a trade. Returns the new entry's id."""
    try:
        return await _register(
            competition_id,
            data,
            actor=actor,
            account_user_id=account_user_id,
            photo=photo,
            source=source,
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
    account_user_id: int | None,
    photo: ProcessedPhoto | None,
    source: EntrySource,
) -> int:
    async with transaction():
        phase, limit = await _competition_phase(competition_id)
        require_phase(phase, REGISTRATION_PHASES, N_("Registering"))
        rules = (await trade_rules(competition_id)).get(data.trade_id)
        fields, resident = check_fields(data, rules)
        assert rules is not None
        await _check_delegation(data.delegation_id, competition_id)
        won_before = bool(await first_prize_winners({rules.name}, [resident.number]))
        check_eligible(rules, resident, fields, won_before)
        person_id = await _person_for(resident, fields, account_user_id, actor)
        if await Entry.exists().where((Entry.person == person_id) & (Entry.trade == data.trade_id)):
            raise Conflict(
                "This person has already entered “{trade}”.",
                code="already_entered",
                field_errors={"trade_id": "This person has already entered “{trade}”."},
                trade=rules.name,
            )
        slot = await _free_slot(competition_id, person_id, limit)
        if photo is not None:
            await save_photo(person_id, photo, actor)
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


async def get_entry(entry_id: int) -> dict[str, Any]:
    row = (
        await Entry.select(
            Entry.all_columns(),
            Entry.person.all_columns(),
            Entry.trade.code,
            Entry.trade.name,
            Entry.trade.groups,
            Entry.delegation.name,
            Entry.delegation.code,
            Entry.competition.phase,
            Entry.competition.name,
        )
        .where(Entry.id == entry_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    return row


async def update_entry(
    entry_id: int, data: EntryIn, *, actor: Actor, photo: ProcessedPhoto | None = None
) -> str:
    """Correct an entry. A rejected entry is resubmitted; an approved one (at either level)
    goes back to review and its ticket stops working. Returns the new status."""
    async with transaction():
        entry = await get_entry(entry_id)
        competition_id = entry["competition"]
        phase, _limit = await _competition_phase(competition_id)
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
        await _person_for(resident, fields, None, actor)
        if photo is not None:
            await save_photo(entry["person"], photo, actor)
        new_status = EntryStatus.submitted
        changes = {
            Entry.trade: data.trade_id,
            Entry.delegation: data.delegation_id,
            Entry.group_name: fields["group_name"],
            Entry.status: new_status.value,
            Entry.review_note: "",
            Entry.rejected_by: "",
            Entry.updated_at: _now(),
            Entry.submitted_at: _now(),
        }
        if status == EntryStatus.approved:
            changes[Entry.ticket_version] = entry["ticket_version"] + 1
            changes[Entry.session] = None
        await Entry.update(changes).where(Entry.id == entry_id)
        await audit.record(
            "entry.update",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=competition_id,
            old={
                "status": status.value,
                "trade": entry["trade"],
                "delegation": entry["delegation"],
                "group": entry["group_name"],
            },
            new={
                "status": new_status.value,
                "trade": data.trade_id,
                "delegation": data.delegation_id,
                "group": fields["group_name"],
            },
            reason="resubmitted" if status == EntryStatus.rejected else "",
        )
    return new_status.value


async def withdraw_entry(entry_id: int, *, actor: Actor) -> None:
    """The contestant (or delegation) takes back an entry that is not yet admitted."""
    async with transaction():
        entry = await get_entry(entry_id)
        phase, _limit = await _competition_phase(entry["competition"])
        require_phase(phase, CORRECTION_PHASES, N_("Withdrawing an entry"))
        if entry["status"] not in (
            EntryStatus.submitted,
            EntryStatus.rejected,
            EntryStatus.delegation_approved,
        ):
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
