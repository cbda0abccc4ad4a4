"""The end of a competition's personal data (个人信息销毁), like the data shredders of
event-ticketing systems: once the final results are older than the competition's retention
period, the organizer removes or masks what is no longer needed, keeping the results, the
certificates and their verification working.

What goes, for the people whose every entry belongs to competitions already shredded (a person
still entered in a running competition keeps everything):
- their photos;
- their phone numbers (on the person and on their account);
- the full ID number and the birth date of everyone without a certificate (an award, title or
  promotion): the number becomes `6301*********#123`, unique and useless, the birth date the
  first of January of its year; people with a certificate keep theirs (a certificate is checked
  against them);
- ID numbers and phone numbers quoted in the competition's audit trail;
and, for the competition itself: the uploaded import files, the judges' phone and ID numbers,
the delegations' contact phones, and the files its background jobs made (exports with full ID
numbers).

It shows what it will remove first (`plan`), asks for the competition's code as confirmation,
runs in one transaction, writes an audit record and cannot be undone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from competition import audit, db, services
from competition.audit import Actor
from competition.clock import now
from competition.errors import Conflict, PhaseError, ValidationFailed
from competition.i18n import N_
from competition.jobs.tables import BackgroundJob, JobFile
from competition.phases import Phase
from competition.results.tables import Certificate, Publication, PublicationStatus
from competition.tables import AuditLog, Competition, Delegation, Trade, User
from registration.tables import Entry, ImportBatch, Person, Photo
from scoring.tables import Judge

MAX_RETENTION_DAYS = 3650
CHUNK = 500
# Keys of the audit trail's old/new documents that hold personal data.
PERSONAL_KEYS = frozenset({"id_number", "phone", "birth_date", "contact_phone"})


@dataclass(frozen=True)
class ShredPlan:  # what the shredder would remove, shown before it runs
    competition_id: int
    final_at: dt.datetime | None
    retention_days: int
    allowed_from: dt.datetime | None
    people: int  # whose every entry is in a shredded competition
    kept_elsewhere: int  # still entered in a competition that keeps its data
    photos: int
    phones: int
    id_numbers_masked: int
    id_numbers_kept: int  # people with a certificate
    import_batches: int
    judges: int
    job_files: int
    audit_records: int
    shredded_at: dt.datetime | None

    @property
    def allowed(self) -> bool:
        return (
            self.shredded_at is None
            and self.allowed_from is not None
            and now() >= self.allowed_from
        )


def masked_id(number: str, person_id: int) -> str:
    """Unique (the column is) and no longer a person's number: no birth date, no check digit."""
    tag = f"#{person_id}"
    return (number[:4] + "*" * 18)[: 18 - len(tag)] + tag


async def final_at(competition_id: int) -> dt.datetime | None:
    """When the last trade's results became final (None while any trade with entries is not)."""
    trades = await Trade.select(Trade.id, Trade.stage).where(Trade.competition == competition_id)
    with_entries = {
        r["trade"] for r in await Entry.select(Entry.trade).where(
            Entry.competition == competition_id).distinct()
    }  # fmt: skip
    if not trades or any(t["stage"] != "final" for t in trades if t["id"] in with_entries):
        return None
    rows = await Publication.select(Publication.ended_at).where(
        Publication.trade.is_in([t["id"] for t in trades])
        & (Publication.status == PublicationStatus.final.value)
    )
    ends = [r["ended_at"] for r in rows if r["ended_at"]]
    return max(ends) if ends else None


async def _people(competition_id: int) -> tuple[list[dict[str, Any]], int]:
    """(the people whose data goes, how many stay because another competition keeps them)."""
    ids = {
        r["person"] for r in await Entry.select(Entry.person).where(
            Entry.competition == competition_id).distinct()
    }  # fmt: skip
    if not ids:
        return [], 0
    keeping = set()
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids)[start : start + CHUNK]
        for row in await Entry.select(Entry.person).where(
            Entry.person.is_in(chunk)
            & (Entry.competition != competition_id)
            & Entry.competition.shredded_at.is_null()
        ):
            keeping.add(row["person"])
    going = sorted(ids - keeping)
    people = []
    for start in range(0, len(going), CHUNK):
        people += await Person.select(Person.id, Person.id_number, Person.phone, Person.user).where(
            Person.id.is_in(going[start : start + CHUNK])
        )
    return people, len(keeping)


async def _certified(person_ids: list[int]) -> set[int]:
    out: set[int] = set()
    for start in range(0, len(person_ids), CHUNK):
        chunk = person_ids[start : start + CHUNK]
        for row in await Certificate.select(Certificate.entry.person).where(
            Certificate.entry.person.is_in(chunk)
        ):
            out.add(row["entry.person"])
    return out


async def plan(competition_id: int) -> ShredPlan:
    competition = await services.get_competition(competition_id)
    ended = await final_at(competition_id)
    people, kept = await _people(competition_id)
    ids = [p["id"] for p in people]
    certified = await _certified(ids)
    photos = 0
    for start in range(0, len(ids), CHUNK):
        photos += await Photo.count().where(Photo.person.is_in(ids[start : start + CHUNK]))
    days = competition["retention_days"]
    return ShredPlan(
        competition_id=competition_id,
        final_at=ended,
        retention_days=days,
        allowed_from=ended + dt.timedelta(days=days) if ended else None,
        people=len(people),
        kept_elsewhere=kept,
        photos=photos,
        phones=sum(1 for p in people if p["phone"]),
        id_numbers_masked=sum(1 for p in people if p["id"] not in certified),
        id_numbers_kept=sum(1 for p in people if p["id"] in certified),
        import_batches=await ImportBatch.count().where(ImportBatch.competition == competition_id),
        judges=await Judge.count().where(Judge.competition == competition_id),
        job_files=await JobFile.count().where(JobFile.job.competition == competition_id),
        audit_records=await AuditLog.count().where(AuditLog.competition_id == competition_id),
        shredded_at=competition["shredded_at"],
    )


async def set_retention(competition_id: int, days: int, *, actor: Actor) -> None:
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed(
            "The retention period is a number of days from 0 to {most}.",
            code="retention_out_of_range",
            most=MAX_RETENTION_DAYS,
        )
    competition = await services.get_competition(competition_id)
    if competition["shredded_at"] is not None:
        raise Conflict("The personal data of this competition is already shredded.",
                       code="already_shredded")  # fmt: skip
    async with db.transaction():
        await Competition.update({Competition.retention_days: days}).where(
            Competition.id == competition_id
        )
        await audit.record(
            "competition.retention", actor=actor, object_type="competition",
            object_id=competition_id, competition_id=competition_id,
            old={"retention_days": competition["retention_days"]},
            new={"retention_days": days},
        )  # fmt: skip


def _scrub(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if k in PERSONAL_KEYS and v else _scrub(v, secrets))
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
    return value


async def _scrub_audit(competition_id: int, people: list[dict[str, Any]]) -> int:
    secrets = {p["id_number"] for p in people} | {p["phone"] for p in people if p["phone"]}
    person_ids = [str(p["id"]) for p in people]
    where = AuditLog.competition_id == competition_id
    rows = await AuditLog.select(AuditLog.id, AuditLog.old, AuditLog.new, AuditLog.reason).where(
        where
    )
    for start in range(0, len(person_ids), CHUNK):
        rows += await AuditLog.select(
            AuditLog.id, AuditLog.old, AuditLog.new, AuditLog.reason
        ).where(
            AuditLog.competition_id.is_null()
            & (AuditLog.object_type == "person")
            & AuditLog.object_id.is_in(person_ids[start : start + CHUNK])
        )
    changed = 0
    for row in rows:
        old, new = db.json_value(row["old"]), db.json_value(row["new"])
        scrubbed = (_scrub(old, secrets), _scrub(new, secrets), _scrub(row["reason"], secrets))
        if scrubbed != (old, new, row["reason"]):
            values = {AuditLog.old: scrubbed[0], AuditLog.new: scrubbed[1],
                      AuditLog.reason: scrubbed[2]}  # fmt: skip
            await AuditLog.update(values).where(AuditLog.id == row["id"])
            changed += 1
    return changed


async def shred(competition_id: int, *, confirmation: str, actor: Actor) -> ShredPlan:
    """Remove what `plan` shows, once; `confirmation` is the competition's code, typed."""
    competition = await services.get_competition(competition_id)
    if confirmation.strip().upper() != competition["code"].upper():
        raise ValidationFailed(
            "Type the competition's code to confirm: the shredding cannot be undone.",
            code="shred_not_confirmed",
            field_errors={"confirmation": N_("Type the competition's code to confirm.")},
        )
    before = await plan(competition_id)
    if before.shredded_at is not None:
        raise Conflict("The personal data of this competition is already shredded.",
                       code="already_shredded")  # fmt: skip
    if competition["phase"] != Phase.final.value or before.allowed_from is None:
        raise PhaseError(
            "Personal data is shredded only after the competition's final results.",
            code="shred_before_final",
        )
    if now() < before.allowed_from:
        raise PhaseError(
            "The retention period runs until {date}; the personal data stays until then.",
            code="shred_in_retention",
            date=before.allowed_from.date().isoformat(),
        )
    people, _kept = await _people(competition_id)
    ids = [p["id"] for p in people]
    certified = await _certified(ids)
    async with db.transaction():
        # Marked first: a person whose other competitions are all shredded counts as going.
        await Competition.update({Competition.shredded_at: now()}).where(
            Competition.id == competition_id
        )
        audit_changed = await _scrub_audit(competition_id, people)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            await Photo.delete().where(Photo.person.is_in(chunk))
            await Person.update({Person.phone: ""}).where(Person.id.is_in(chunk))
        for person in people:
            if person["id"] not in certified and "#" not in person["id_number"]:
                birth = await Person.select(Person.birth_date).where(
                    Person.id == person["id"]).first()  # fmt: skip
                year = birth["birth_date"].year if birth and birth["birth_date"] else 1900
                await Person.update({
                    Person.id_number: masked_id(person["id_number"], person["id"]),
                    Person.birth_date: dt.date(year, 1, 1),
                }).where(Person.id == person["id"])  # fmt: skip
        users = [p["user"] for p in people if p["user"]]
        for start in range(0, len(users), CHUNK):
            await User.update({User.phone: ""}).where(User.id.is_in(users[start : start + CHUNK]))
        await ImportBatch.delete().where(ImportBatch.competition == competition_id)
        await Judge.update({Judge.phone: "", Judge.id_number: ""}).where(
            Judge.competition == competition_id
        )
        await Delegation.update({Delegation.contact_phone: ""}).where(
            Delegation.competition == competition_id
        )
        jobs = [r["id"] for r in await BackgroundJob.select(BackgroundJob.id).where(
            BackgroundJob.competition == competition_id)]  # fmt: skip
        if jobs:
            await JobFile.delete().where(JobFile.job.is_in(jobs))
        await audit.record(
            "competition.shred", actor=actor, object_type="competition",
            object_id=competition_id, competition_id=competition_id,
            new={**{k: v for k, v in asdict(before).items()
                    if isinstance(v, int) and not isinstance(v, bool)},
                 "audit_records_scrubbed": audit_changed},
        )  # fmt: skip
    return await plan(competition_id)
