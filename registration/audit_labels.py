"""How the audit trail (competition/audit_trail.py) names registration's records: a label for
each action registration writes, its kinds of object (entries linked for the organizer and the
supervisor, people by name), its fields and values, and the codes its writers put in the
reason field. Registered when the package is imported; the core never imports registration.
"""

from __future__ import annotations

from typing import Any

from competition.audit_trail import (
    ObjectKind,
    register_action_labels,
    register_field_labels,
    register_object_kind,
    register_reason_labels,
)
from competition.i18n import N_
from competition.tables import Role
from registration.tables import Entry, EntrySource, EntryStatus, Person

register_action_labels(
    {
        "person.create": N_("Person registered"),
        "person.update": N_("Person's particulars changed"),
        "person.photo": N_("Photo uploaded"),
        "entry.create": N_("Entry registered"),
        "entry.update": N_("Entry corrected"),
        "entry.withdraw": N_("Entry withdrawn"),
        "entry.delegation_approved": N_("Passed first review"),
        "entry.approved": N_("Approved in final review"),
        "entry.rejected": N_("Rejected"),
        "entry.revoked": N_("Entry revoked"),
        "entry.check_in": N_("Checked in at the venue"),
        "entry.back_to_review": N_("Sent back to review after a change of particulars"),
        "entry.ticket_reissued": N_("Admission ticket reissued"),
        "award_history.import": N_("Earlier prizes imported"),
        "person.claim_requested": N_("Claim of a record requested"),
        "person.claim_confirmed": N_("Claim of a record confirmed"),
        "person.claim_refused": N_("Claim of a record refused"),
    }
)
register_reason_labels(
    {
        "import": N_("Through an Excel import"),
        "resubmitted": N_("Corrected and resubmitted"),
    }
)
register_field_labels(
    {
        "status": N_("Status"),
        "source": N_("Source"),
        "by": N_("By"),
        "why": N_("Why"),
        "ticket": N_("Ticket number"),
        "ticket_version": N_("Ticket version"),
        "session": N_("Session"),
        "row": N_("Row in the file"),
        "user": N_("Account"),
        "sha256": N_("Photo checksum"),
        "id_number": N_("ID number"),
        "employer": N_("Employer"),
        "job": N_("Job"),
        "skill_level": N_("Skill level"),
        "years_of_service": N_("Years of service"),
        "group_name": N_("Group"),
        "rows": N_("Rows"),
        "proof": N_("Proof"),
    },
    {
        "status": {
            EntryStatus.submitted.value: N_("Waiting for first review"),
            EntryStatus.delegation_approved.value: N_("Passed first review"),
            EntryStatus.approved.value: N_("Approved"),
            EntryStatus.rejected.value: N_("Rejected"),
            EntryStatus.revoked.value: N_("Revoked"),
            "withdrawn": N_("Withdrawn"),
        },
        "source": {
            EntrySource.self_service.value: N_("Registered online"),
            EntrySource.delegation_import.value: N_("Excel import"),
        },
        "by": {"delegation": N_("the delegation"), "organizer": N_("the organizer")},
        "why": {"particulars changed": N_("particulars changed")},
    },
)


async def _entry_names(ids: list[str]) -> dict[str, str]:
    numbers = sorted({int(i) for i in ids if i.isdigit() and len(i) < 10}) or [0]
    rows = await Entry.select(Entry.id, Entry.person.name, Entry.trade.name).where(
        Entry.id.is_in(numbers)
    )
    return {str(r["id"]): f"{r['person.name']} · {r['trade.name']}" for r in rows}


async def _person_names(ids: list[str]) -> dict[str, str]:
    numbers = sorted({int(i) for i in ids if i.isdigit() and len(i) < 10}) or [0]
    rows: list[dict[str, Any]] = await Person.select(Person.id, Person.name).where(
        Person.id.is_in(numbers)
    )
    return {str(r["id"]): r["name"] for r in rows}


register_object_kind(
    "entry",
    ObjectKind(
        N_("Entry"),
        _entry_names,
        {
            Role.organizer: "/org/competitions/{competition}/entries/{id}",
            Role.supervisor: "/supervisor/competitions/{competition}/entries/{id}",
        },
    ),
)
register_object_kind("person", ObjectKind(N_("Person"), _person_names))
register_object_kind("award_history", ObjectKind(N_("Earlier prizes")))
register_object_kind("person_claim", ObjectKind(N_("Claim of a record")))
