"""Who is present (到场) for a trade's draw.

An approved entry is present when the desk checked it in (any check-in row of the entry, at
any of the trade's sessions) — unless an Attendance row says otherwise: a paper sign-in sheet
keyed in (scoring/draw/signin_sheet.py) or the organizer marking the entry absent or present
with a reason. While check-in is open an entry neither checked in nor marked is "unknown";
once the trade's check-in is closed it counts as absent. Absent contestants are listed and
counted, in the draw's summary too — never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from competition import audit
from competition.audit import Actor
from competition.db import fetch_rows, transaction
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.stages import Stage, require_stage
from registration.tables import Entry, EntryStatus
from scoring.stages import TradeState, trade_for_action
from scoring.tables import Attendance

PRESENT, ABSENT, UNKNOWN = "present", "absent", "unknown"
STATUS_LABELS: dict[str, Msg] = {
    PRESENT: N_("Present"),
    ABSENT: N_("Absent"),
    UNKNOWN: N_("Not yet known"),
}
SOURCE_LABELS: dict[str, Msg] = {
    "checkin": N_("Check-in desk"),
    "sheet": N_("Sign-in sheet"),
    "organizer": N_("Organizer"),
    "closed": N_("Not checked in when check-in closed"),
    "": N_("Not checked in yet"),
}
MAX_REASON = 500
MARK_ACTION = N_("Record attendance")


class Presence(NamedTuple):  # a tuple: the draws of a competition make 200,000 of them
    entry_id: int
    status: str  # present / absent / unknown
    source: str  # checkin / sheet / organizer / closed / ""
    reason: str
    session_id: int | None  # the session on the ticket
    checked_in: bool = False  # by the desk, whatever a mark says


# One statement (the draw of 200,000 contestants runs it for every trade): each approved entry,
# its attendance record if any, and whether the desk checked it in at a practical session.
_PRESENCE_SQL = (
    'SELECT e.id, e."session", a.present, a.source, a.reason, '
    # A scalar subquery, not EXISTS: PostgreSQL would hash all of check_in for an EXISTS.
    # Only the practical event's door counts: the draw seats the practical event, and a
    # contestant who sat the theory exam may still not come to it.
    '(SELECT 1 FROM check_in c JOIN competition_session s ON s.id = c."session" '
    "WHERE c.entry = e.id AND s.event = 'practical' LIMIT 1) AS checked_in "
    "FROM entry e LEFT JOIN attendance a ON a.entry = e.id "
    "WHERE e.trade = ? AND e.status = ? ORDER BY e.id"
)


async def presence(trade_id: int, *, closed: bool) -> list[Presence]:
    """Every approved entry of the trade with its presence, by entry id."""
    out = []
    for entry_id, session_id, marked, source, reason, checked in await fetch_rows(
        _PRESENCE_SQL, trade_id, EntryStatus.approved.value
    ):
        checked = bool(checked)
        if marked is not None:
            status = PRESENT if marked else ABSENT
        elif checked:
            status, source, reason = PRESENT, "checkin", ""
        elif closed:
            status, source, reason = ABSENT, "closed", ""
        else:
            status, source, reason = UNKNOWN, "", ""
        out.append(Presence(entry_id, status, source, reason, session_id, checked))
    return out


def counts(rows: list[Presence]) -> dict[str, int]:
    found = Counter(r.status for r in rows)
    return {
        "approved": len(rows),
        "checked_in": sum(r.checked_in for r in rows),
        PRESENT: found[PRESENT],
        ABSENT: found[ABSENT],
        UNKNOWN: found[UNKNOWN],
    }


def require_not_drawn(state: TradeState) -> None:
    require_stage(state.stage, frozenset({Stage.not_drawn}), MARK_ACTION)


async def mark_entry(
    competition_id: int,
    trade_id: int,
    entry_id: int,
    present: bool,
    reason: str,
    *,
    actor: Actor,
) -> None:
    """The organizer marks one approved entry of the trade present or absent, with a reason."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(
            "Give a reason.", code="reason_required", field_errors={"reason": N_("Give a reason.")}
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed("At most {n} characters.", code="too_long", n=MAX_REASON)
    async with transaction():
        state = await trade_for_action(trade_id)
        if state.competition_id != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
        require_not_drawn(state)
        entry = (
            await Entry.select(Entry.id, Entry.status)
            .where((Entry.id == entry_id) & (Entry.trade == trade_id))
            .first()
        )
        if entry is None or entry["status"] != EntryStatus.approved.value:
            raise NotFound("No approved entry of this trade was found.", code="entry_not_found")
        old = await Attendance.select().where(Attendance.entry == entry_id).first()
        await Attendance.delete().where(Attendance.entry == entry_id)
        await Attendance.insert(
            Attendance(
                entry=entry_id,
                present=present,
                source="organizer",
                reason=reason,
                recorded_by=actor.user_id,
            )
        )
        await audit.record(
            "attendance.marked",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=competition_id,
            old={"present": old["present"], "source": old["source"]} if old else None,
            new={"present": present, "trade": trade_id},
            reason=reason,
        )


async def clear_mark(competition_id: int, trade_id: int, entry_id: int, *, actor: Actor) -> bool:
    """Drop an entry's attendance record: the desk's check-in counts again."""
    async with transaction():
        state = await trade_for_action(trade_id)
        if state.competition_id != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
        require_not_drawn(state)
        if await Entry.count().where((Entry.id == entry_id) & (Entry.trade == trade_id)) == 0:
            raise NotFound("No approved entry of this trade was found.", code="entry_not_found")
        old = await Attendance.select().where(Attendance.entry == entry_id).first()
        if old is None:
            return False
        await Attendance.delete().where(Attendance.entry == entry_id)
        await audit.record(
            "attendance.cleared",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=competition_id,
            old={"present": old["present"], "source": old["source"], "reason": old["reason"]},
        )
        return True
