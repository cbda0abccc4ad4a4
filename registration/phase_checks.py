"""What a phase change leaves behind in registration, checked by `competition.services` before
every move (registered when the registration package is imported; the core never imports it).

- Into the draw (检录与抽签): no entry may still wait for first or final review — the draw is
  made over the admitted contestants, so a waiting entry would be silently left out. Approved
  entries without a session are a warning (they have no door to be checked in at).
- Registration → review: the entries still waiting for first or final review are shown; they
  can still be reviewed in the review phase. Moving on before the published deadline
  (registration_closes_on) is a warning: it closes registration early for everyone.
- Back to setup: registered entries stay, but nobody can register or correct any more.
- Draw → competing: approved entries nobody has checked in are shown (check-in goes on).

Each is one GROUP BY over the competition's entries.
"""

from __future__ import annotations

from piccolo.query.functions.aggregate import Count

from competition.clock import local_today
from competition.i18n import N_
from competition.phases import Phase
from competition.services import Finding, Severity, register_leaving_check
from competition.tables import Competition
from registration.tables import CheckIn, Entry, EntryStatus

SUBMITTED = EntryStatus.submitted.value
FIRST_PASSED = EntryStatus.delegation_approved.value
APPROVED = EntryStatus.approved.value


async def _by_status(competition_id: int) -> dict[str, int]:
    rows = (
        await Entry.select(Entry.status, Count(alias="n"))
        .where(Entry.competition == competition_id)
        .group_by(Entry.status)
    )
    return {r["status"]: r["n"] for r in rows}


async def _approved_without_session(competition_id: int) -> int:
    return await Entry.count().where(
        (Entry.competition == competition_id) & (Entry.status == APPROVED) & Entry.session.is_null()
    )


async def _approved_not_checked_in(competition_id: int) -> int:
    checked = CheckIn.select(CheckIn.entry).where(CheckIn.entry.competition == competition_id)
    return await Entry.count().where(
        (Entry.competition == competition_id)
        & (Entry.status == APPROVED)
        & Entry.id.not_in(checked)
    )


async def _before_the_deadline(competition_id: int) -> list[Finding]:
    row = (
        await Competition.select(Competition.registration_closes_on)
        .where(Competition.id == competition_id)
        .first()
    )
    closes_on = row["registration_closes_on"] if row else None
    if closes_on is None or local_today() > closes_on:
        return []
    days = (closes_on - local_today()).days + 1
    return [
        Finding(
            "before_registration_deadline",
            Severity.warning,
            days,
            N_(
                "Registration is announced as open until {date}: moving on now closes it "
                "{n} day(s) early.",
                date=closes_on.isoformat(),
                n=days,
            ),
        )
    ]


def _waiting(counts: dict[str, int], severity: Severity) -> list[Finding]:
    findings = []
    if counts.get(SUBMITTED):
        n = counts[SUBMITTED]
        findings.append(
            Finding(
                "waiting_first_review",
                severity,
                n,
                N_("Entries still waiting for first review: {n}.", n=n),
            )
        )
    if counts.get(FIRST_PASSED):
        n = counts[FIRST_PASSED]
        findings.append(
            Finding(
                "waiting_final_review",
                severity,
                n,
                N_("Entries still waiting for final review: {n}.", n=n),
            )
        )
    return findings


async def leaving_registration_checks(
    competition_id: int, current: Phase, target: Phase
) -> list[Finding]:
    if target == Phase.draw:
        findings = _waiting(await _by_status(competition_id), Severity.blocking)
        if n := await _approved_without_session(competition_id):
            findings.append(
                Finding(
                    "approved_without_session",
                    Severity.warning,
                    n,
                    N_("Approved entries without a session: {n}.", n=n),
                )
            )
        return findings
    if current == Phase.registration and target == Phase.review:
        return await _before_the_deadline(competition_id) + _waiting(
            await _by_status(competition_id), Severity.note
        )
    if target == Phase.setup:
        if n := sum((await _by_status(competition_id)).values()):
            return [
                Finding(
                    "entries_registered",
                    Severity.warning,
                    n,
                    N_(
                        "Registered entries: {n}; in setup nobody can register or correct one.",
                        n=n,
                    ),
                )
            ]
        return []
    if current == Phase.draw and target == Phase.competing:
        n = await _approved_not_checked_in(competition_id)
        if n:
            return [
                Finding(
                    "not_checked_in",
                    Severity.note,
                    n,
                    N_("Approved entries not checked in yet: {n}.", n=n),
                )
            ]
    return []


register_leaving_check(leaving_registration_checks)
