"""Claims (认领): an account takes over a person record a delegation (or an organizer) made.

The ID number and the name are no proof: both are printed on lists and known to colleagues.
A claim is granted at once when the account's mobile number (the username it signed up with)
equals the phone on file (`proof="phone"`); otherwise it waits for the record's owner — the
delegation that entered the person (registration/people.py) or an organizer — to confirm or
refuse it with a reason (`proof="delegation"` / `"organizer"`). Until then the account sees
neither the record nor its entries, photo or ticket: access to them goes through `Person.user`,
which only a granted claim sets.

A refusal's reason is kept in the audit record of the refusal (`person.claim_refused`), where
the contestant's page reads it; audit values never hold a phone or a full ID number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from competition import audit
from competition.audit import Actor
from competition.db import is_postgres, transaction
from competition.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from competition.i18n import N_
from competition.tables import AuditLog, Role, User
from registration import idcard, people
from registration.accounts import normalise_mobile
from registration.people import Acting, Ownership
from registration.review import required_reason
from registration.tables import ClaimStatus, Entry, Person, PersonClaim

NO_MATCH = N_(
    "No record entered by a delegation matches this ID number and name. If nobody has entered "
    "you yet, register for a trade yourself."
)
ID_TAKEN = N_(
    "This ID number is already registered by another account. If it is yours, ask your "
    "delegation or the organizer for help."
)
SUPERSEDED = N_("Another account proved that this record is theirs.")


class ClaimPending(Conflict):
    """The record waits for its owner to confirm the claim: nothing else was changed."""

    default_code = "claim_pending"


@dataclass(frozen=True)
class ClaimResult:
    claim_id: int
    person_id: int
    status: ClaimStatus  # confirmed (proof "phone") or pending


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_match() -> NotFound:
    return NotFound(NO_MATCH, code="claim_no_match", field_errors={"id_number": NO_MATCH})


def id_taken() -> Conflict:
    return Conflict(ID_TAKEN, code="id_taken", field_errors={"id_number": ID_TAKEN})


async def _account_phone(user_id: int) -> str:
    row = await User.select(User.phone, User.username).where(User.id == user_id).first()
    if row is None:
        return ""
    return normalise_mobile(row["phone"] or row["username"])


async def check_account_free(user_id: int, id_number: str) -> None:
    """An account holds one person: refuse an account already linked to another number."""
    mine = await Person.select(Person.id_number).where(Person.user == user_id).first()
    if mine and mine["id_number"] != id_number:
        message = N_(
            "Your account is registered with another ID number ({masked}).",
            masked=idcard.mask(mine["id_number"]),
        )
        raise Conflict(
            message,
            code="account_has_other_person",
            field_errors={"id_number": message},
            masked=idcard.mask(mine["id_number"]),
        )


async def _grant(
    claim_id: int, person_id: int, user_id: int, proof: str, actor: Actor, *, decided_by=None
) -> None:
    """Give the record to the account; every other open claim on it is refused."""
    now = _now()
    await Person.update({Person.user: user_id, Person.updated_at: now}).where(
        Person.id == person_id
    )
    await PersonClaim.update(
        {
            PersonClaim.status: ClaimStatus.confirmed.value,
            PersonClaim.proof: proof,
            PersonClaim.decided_at: now,
            PersonClaim.decided_by: decided_by,
        }
    ).where(PersonClaim.id == claim_id)
    others = await PersonClaim.select(PersonClaim.id).where(
        (PersonClaim.person == person_id)
        & (PersonClaim.status == ClaimStatus.pending.value)
        & (PersonClaim.id != claim_id)
    )
    if others:
        await PersonClaim.update(
            {
                PersonClaim.status: ClaimStatus.refused.value,
                PersonClaim.decided_at: now,
                PersonClaim.decided_by: decided_by,
            }
        ).where(PersonClaim.id.is_in([o["id"] for o in others]))
        await audit.record_many(
            [
                {
                    "action": "person.claim_refused",
                    "object_id": o["id"],
                    "old": {"status": ClaimStatus.pending.value},
                    "new": {"status": ClaimStatus.refused.value, "person": person_id},
                }
                for o in others
            ],
            actor=actor,
            object_type="person_claim",
            reason=SUPERSEDED,
        )
    await audit.record(
        "person.claim_confirmed",
        actor=actor,
        object_type="person_claim",
        object_id=claim_id,
        old={"status": ClaimStatus.pending.value},
        new={"status": ClaimStatus.confirmed.value, "person": person_id, "proof": proof},
    )
    await audit.record(
        "person.update",
        actor=actor,
        object_type="person",
        object_id=person_id,
        old={"user": None},
        new={"user": user_id},
        reason="claim",
    )


async def claim_in_transaction(
    id_number: str, name: str, *, user_id: int, actor: Actor
) -> ClaimResult:
    """`request_claim` inside the caller's transaction."""
    try:
        resident = idcard.parse(id_number)
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.message,
            code=exc.code,
            field_errors={"id_number": N_(exc.message, **exc.params)},
            **exc.params,
        ) from exc
    await check_account_free(user_id, resident.number)
    row = (
        await Person.select(Person.id, Person.name, Person.phone, Person.user)
        .where(Person.id_number == resident.number)
        .first()
    )
    # The same answer for an unknown number and a wrong name: a claim form is no oracle for
    # the name that goes with an ID number.
    if row is None or row["name"] != " ".join(name.split()):
        raise _no_match()
    if row["user"] == user_id:
        mine = await PersonClaim.select(PersonClaim.id).where(
            (PersonClaim.person == row["id"]) & (PersonClaim.user == user_id)
        )
        return ClaimResult(mine[-1]["id"] if mine else 0, row["id"], ClaimStatus.confirmed)
    if row["user"] is not None:
        raise id_taken()
    open_elsewhere = await PersonClaim.exists().where(
        (PersonClaim.user == user_id)
        & (PersonClaim.status == ClaimStatus.pending.value)
        & (PersonClaim.person != row["id"])
    )
    if open_elsewhere:
        raise Conflict(
            "Your account already asked to take over another record; wait for that answer.",
            code="claim_open_elsewhere",
        )
    existing = (
        await PersonClaim.select(PersonClaim.id)
        .where(
            (PersonClaim.person == row["id"])
            & (PersonClaim.user == user_id)
            & (PersonClaim.status == ClaimStatus.pending.value)
        )
        .first()
    )
    if existing is not None:
        claim_id = existing["id"]
    else:
        claim = PersonClaim(person=row["id"], user=user_id, status=ClaimStatus.pending.value)
        await claim.save()
        claim_id = claim.id
        await audit.record(
            "person.claim_requested",
            actor=actor,
            object_type="person_claim",
            object_id=claim_id,
            new={"status": ClaimStatus.pending.value, "person": row["id"]},
        )
    phone = await _account_phone(user_id)
    if phone and row["phone"] and phone == normalise_mobile(row["phone"]):
        await _grant(claim_id, row["id"], user_id, "phone", actor)
        return ClaimResult(claim_id, row["id"], ClaimStatus.confirmed)
    return ClaimResult(claim_id, row["id"], ClaimStatus.pending)


async def request_claim(id_number: str, name: str, *, user_id: int, actor: Actor) -> ClaimResult:
    """A contestant's account asks for the record with this ID number and name. Granted at once
    with the phone as proof, else left pending for the owner (see the module docstring)."""
    async with transaction():
        return await claim_in_transaction(id_number, name, user_id=user_id, actor=actor)


async def _claim_for_decision(claim_id: int) -> dict[str, Any]:
    query = PersonClaim.select(
        PersonClaim.id,
        PersonClaim.status,
        PersonClaim.user,
        PersonClaim.person,
        PersonClaim.person.user,
        PersonClaim.person.owner_delegation,
        PersonClaim.person.owner_delegation.code,
    ).where(PersonClaim.id == claim_id)
    if is_postgres():
        # Two deciders at once: the second waits and sees the first one's decision.
        query = query.lock_rows(of=(PersonClaim,))
    row = await query.first()
    if row is None:
        raise NotFound("The claim was not found.", code="claim_not_found")
    return row


async def decide_claim(
    claim_id: int, confirm: bool, *, acting: Acting, actor: Actor, reason: str = ""
) -> None:
    """The record's owner (its delegation, or an organizer) confirms or refuses a claim; a
    refusal needs a reason, which the contestant reads."""
    reason = "" if confirm else required_reason(reason)
    async with transaction():
        claim = await _claim_for_decision(claim_id)
        owner = Ownership(
            user_id=claim["person.user"],
            delegation_id=claim["person.owner_delegation"],
            delegation_code=claim["person.owner_delegation.code"],
        )
        if acting.role == Role.contestant or not people.may_change(
            Ownership(None, owner.delegation_id, owner.delegation_code), acting
        ):
            raise PermissionDenied(
                "Only the delegation that entered the person, or an organizer, decides this claim.",
                code="claim_forbidden",
            )
        if claim["status"] != ClaimStatus.pending:
            raise Conflict("This claim has already been decided.", code="claim_decided")
        if owner.user_id is not None:
            raise Conflict("The record already belongs to an account.", code="claim_taken")
        if confirm:
            if await Person.exists().where(Person.user == claim["user"]):
                raise Conflict(
                    "The account asking already holds another record; refuse this claim.",
                    code="claim_account_has_person",
                )
            proof = "organizer" if acting.role == Role.organizer else "delegation"
            await _grant(
                claim_id,
                claim["person"],
                claim["user"],
                proof,
                actor,
                decided_by=actor.user_id,
            )
            return
        await PersonClaim.update(
            {
                PersonClaim.status: ClaimStatus.refused.value,
                PersonClaim.decided_at: _now(),
                PersonClaim.decided_by: actor.user_id,
            }
        ).where(PersonClaim.id == claim_id)
        await audit.record(
            "person.claim_refused",
            actor=actor,
            object_type="person_claim",
            object_id=claim_id,
            old={"status": ClaimStatus.pending.value},
            new={"status": ClaimStatus.refused.value, "person": claim["person"]},
            reason=reason,
        )


# ---------------------------------------------------------------------------- reading


async def _reasons(claim_ids: list[int]) -> dict[int, str]:
    rows = await AuditLog.select(AuditLog.object_id, AuditLog.reason).where(
        (AuditLog.object_type == "person_claim")
        & (AuditLog.action == "person.claim_refused")
        & AuditLog.object_id.is_in([str(i) for i in claim_ids] or [""])
    )
    return {int(r["object_id"]): r["reason"] for r in rows}


async def latest_claim(user_id: int) -> dict[str, Any] | None:
    """The account's most recent claim that did not succeed (pending or refused), for the
    contestant's page: status, when, the masked ID number and a refusal's reason."""
    row = (
        await PersonClaim.select(
            PersonClaim.id,
            PersonClaim.status,
            PersonClaim.created_at,
            PersonClaim.decided_at,
            PersonClaim.person.id_number,
        )
        .where(PersonClaim.user == user_id)
        .order_by(PersonClaim.id, ascending=False)
        .first()
    )
    if row is None or row["status"] == ClaimStatus.confirmed:
        return None
    reason = (await _reasons([row["id"]])).get(row["id"], "")
    return {
        "id": row["id"],
        "status": row["status"],
        "created_at": row["created_at"],
        "decided_at": row["decided_at"],
        "id_masked": idcard.mask(row.pop("person.id_number")),
        "reason": reason,
    }


async def pending_claims(
    *, acting: Acting, competition_id: int | None = None
) -> list[dict[str, Any]]:
    """The claims waiting for `acting` to decide: a delegation sees those on the records it
    owns; an organizer those on records with an entry in `competition_id` or owned by one of
    its delegations. Each with the account asking (name, mobile), the record (name, masked ID
    number, phone on file) and the record's entries, for the decider to compare."""
    condition = (
        PersonClaim.status == ClaimStatus.pending.value
    ) & PersonClaim.person.user.is_null()
    if acting.role == Role.delegation_admin:
        owned = PersonClaim.person.owner_delegation == acting.delegation_id
        if acting.delegation_code is not None:
            owned |= PersonClaim.person.owner_delegation.code == acting.delegation_code
        condition &= owned
    elif acting.role == Role.organizer and competition_id is not None:
        in_competition = PersonClaim.person.is_in(
            Entry.select(Entry.person).where(Entry.competition == competition_id)
        ) | (PersonClaim.person.owner_delegation.competition == competition_id)
        condition &= in_competition
    elif acting.role != Role.organizer:
        return []
    rows = (
        await PersonClaim.select(
            PersonClaim.id,
            PersonClaim.created_at,
            PersonClaim.person,
            PersonClaim.user.display_name,
            PersonClaim.user.username,
            PersonClaim.person.name,
            PersonClaim.person.id_number,
            PersonClaim.person.phone,
            PersonClaim.person.employer,
            PersonClaim.person.owner_delegation.name,
        )
        .where(condition)
        .order_by(PersonClaim.id)
    )
    person_ids = sorted({r["person"] for r in rows})
    entries: dict[int, list[dict[str, Any]]] = {p: [] for p in person_ids}
    if person_ids:
        for e in await Entry.select(
            Entry.person,
            Entry.status,
            Entry.trade.name,
            Entry.trade.name_en,
            Entry.competition.name,
            Entry.competition.name_en,
        ).where(Entry.person.is_in(person_ids)):
            entries[e["person"]].append(e)
    for row in rows:
        row["id_masked"] = idcard.mask(row.pop("person.id_number"))
        row["entries"] = entries[row["person"]]
    return rows
