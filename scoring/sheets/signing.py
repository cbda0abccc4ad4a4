"""Signing a sheet (签字), returning it for a re-mark (退回重评), second-person verification (复核),
and the trade's marks becoming complete.

Locks on PostgreSQL: a signature takes its sheet FOR UPDATE, so it waits for a mark being
written on it (which holds the sheet FOR SHARE) and every later mark sees it signed. Whether
the whole trade is complete is asked afterwards, in a transaction of its own that holds the
trade FOR UPDATE: the last of two signatures landing together always sees both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from competition import audit, clock, db
from competition.audit import Actor
from competition.errors import Conflict, NotFound, PermissionDenied, PhaseError, ValidationFailed
from competition.stages import Mover, Stage
from scoring.sheets.marks import (
    READ_ONLY,
    SheetFacts,
    parse_value,
    scheme_aspects,
    sheet_facts,
)
from scoring.stages import move_in_transaction, trade_for_action
from scoring.tables import Judge, PanelMember, ScoreSheet, SheetStatus

REMARK_NOTE_MAX = 500
DONE = frozenset({SheetStatus.signed.value, SheetStatus.verified.value})


@dataclass(frozen=True)
class Cell:
    slot: int
    code: str  # the contestant's code on the sheet
    aspect: int
    aspect_code: str

    def as_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "code": self.code,
            "aspect": self.aspect,
            "aspect_code": self.aspect_code,
        }


class SheetIncomplete(Conflict):
    default_code = "sheet_incomplete"

    def __init__(self, missing: list[Cell]) -> None:
        super().__init__(
            "{count} marks are still missing on this sheet: {cells}.",
            code="sheet_incomplete",
            count=len(missing),
            cells="、".join(f"{c.code} {c.aspect_code}" for c in missing[:20])
            + (" …" if len(missing) > 20 else ""),
        )
        self.missing = missing


async def slot_codes(slot_ids: list[int]) -> dict[int, str]:
    """The code a judge sees for each slot: the second layer when the draw added one."""
    codes: dict[int, str] = {}
    for start in range(0, len(slot_ids), 500):
        chunk = slot_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for slot, code, judge_code in await db.fetch_rows(
            f"SELECT id, code, judge_code FROM draw_slot WHERE id IN ({marks})",  # noqa: S608
            *chunk,
        ):
            codes[slot] = judge_code or code
    return codes


async def entered_cells(sheet: SheetFacts) -> dict[tuple[int, int], dict[str, Any]]:
    """(slot, aspect) → the mark on this sheet's cells (own Judgement, panel Measurement)."""
    aspects = await scheme_aspects(sheet.scheme_id)
    rows = await db.fetch_dicts(
        "SELECT m.slot, m.aspect, m.judge, m.value_hundredths, m.version, m.entered_at "
        "FROM mark m JOIN draw_slot d ON d.id = m.slot "
        "WHERE d.session = ? AND (m.judge = ? OR m.judge IS NULL)",
        sheet.session_id,
        sheet.judge_id,
    )
    cells = {}
    for row in rows:
        aspect = aspects.get(row["aspect"])
        if aspect is None or row["slot"] not in sheet.slots:
            continue
        if (row["judge"] is None) != aspect.is_judgement:
            cells[(row["slot"], row["aspect"])] = row
    return cells


async def missing_cells(sheet: SheetFacts) -> list[Cell]:
    aspects = await scheme_aspects(sheet.scheme_id)
    entered = await entered_cells(sheet)
    codes = await slot_codes(sorted(sheet.slots))
    missing = []
    for slot in sorted(sheet.slots, key=lambda s: codes.get(s, "")):
        for aspect in aspects.values():
            if (slot, aspect.id) not in entered:
                missing.append(Cell(slot, codes.get(slot, ""), aspect.id, aspect.code))
    return missing


async def _lock_sheet(sheet_id: int) -> SheetFacts:
    if db.is_postgres():
        await ScoreSheet.select(ScoreSheet.id).where(ScoreSheet.id == sheet_id).lock_rows("UPDATE")
    return await sheet_facts(sheet_id)


async def sign_sheet(sheet_id: int, *, actor: Actor) -> dict[str, Any]:
    """The judge signs a finished sheet; their marks are read-only to them from then on. A
    second signature of a signed sheet answers the first (a tablet's retry)."""
    async with db.transaction():
        sheet = await _lock_sheet(sheet_id)
        if sheet.judge_user != actor.user_id:
            raise PermissionDenied("This is another judge's sheet.", code="not_your_sheet")
        row = await ScoreSheet.select(ScoreSheet.signed_at).where(ScoreSheet.id == sheet_id).first()
        if sheet.status in READ_ONLY:
            return {"status": sheet.status, "signed_at": row["signed_at"]}
        if Stage(sheet.stage) != Stage.competing:
            raise PhaseError(
                "Sheets are signed only while the trade is competing.",
                code="trade_not_competing",
            )
        missing = await missing_cells(sheet)
        if missing:
            raise SheetIncomplete(missing)
        now = clock.now()
        await ScoreSheet.update(
            {
                ScoreSheet.status: SheetStatus.signed.value,
                ScoreSheet.signed_at: now,
                ScoreSheet.note: "",
                ScoreSheet.remarks: [],
            }
        ).where(ScoreSheet.id == sheet_id)
        await audit.record(
            "sheet.signed",
            actor=actor,
            object_type="score_sheet",
            object_id=sheet_id,
            competition_id=sheet.competition_id,
            old={"status": sheet.status},
            new={"status": SheetStatus.signed.value, "cells": await _cell_count(sheet)},
        )
    await complete_if_done(sheet.trade_id, actor=actor)
    return {"status": SheetStatus.signed.value, "signed_at": now}


async def _cell_count(sheet: SheetFacts) -> int:
    return len(sheet.slots) * len(await scheme_aspects(sheet.scheme_id))


async def sheets_done(trade_id: int) -> tuple[int, int]:
    """(sheets done, sheets): done = signed, and verified where verification is asked for."""
    rows = await ScoreSheet.select(ScoreSheet.status, ScoreSheet.needs_verification).where(
        ScoreSheet.trade == trade_id
    )
    done = sum(
        1
        for r in rows
        if r["status"] == SheetStatus.verified.value
        or (r["status"] == SheetStatus.signed.value and not r["needs_verification"])
    )
    return done, len(rows)


async def complete_if_done(trade_id: int, *, actor: Actor) -> bool:
    """Move the trade to "marks complete" once every sheet is done (the last signature's move)."""
    async with db.transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.stage != Stage.competing:
            return False
        done, total = await sheets_done(trade_id)
        if total == 0 or done < total:
            return False
        await move_in_transaction(state, Stage.marks_complete, actor=actor, mover=Mover.sheets)
        return True


# ---------------------------------------------------------------------------- re-marks


async def chief_judge_of(trade_id: int, actor: Actor) -> int:
    """The actor's judge id if they are the trade's chief judge (裁判长), else refused."""
    row = (
        await PanelMember.select(PanelMember.judge)
        .where(
            (PanelMember.trade == trade_id)
            & (PanelMember.is_chief == True)  # noqa: E712
            & (PanelMember.judge.user == actor.user_id)
        )
        .first()
    )
    if row is None:
        raise PermissionDenied("Only the trade's chief judge may do this.", code="not_chief_judge")
    return row["judge"]


def _remarks(cells: list[tuple[int, int]], note: str) -> list[dict[str, Any]]:
    return [{"slot": s, "aspect": a, "note": note} for s, a in cells]


async def return_sheet_in_transaction(
    sheet_id: int,
    *,
    note: str,
    cells: list[tuple[int, int]],
    actor: Actor,
    action: str = "sheet.returned",
) -> None:
    sheet = await _lock_sheet(sheet_id)
    await ScoreSheet.update(
        {
            ScoreSheet.status: SheetStatus.returned.value,
            ScoreSheet.signed_at: None,
            ScoreSheet.verified_by: None,
            ScoreSheet.verified_at: None,
            ScoreSheet.note: note,
            ScoreSheet.remarks: _remarks(cells, note),
        }
    ).where(ScoreSheet.id == sheet_id)
    await audit.record(
        action,
        actor=actor,
        object_type="score_sheet",
        object_id=sheet_id,
        competition_id=sheet.competition_id,
        old={"status": sheet.status},
        new={"status": SheetStatus.returned.value, "cells": [list(c) for c in cells]},
        reason=note,
    )


async def request_remark(
    sheet_id: int, *, cells: list[tuple[int, int]], note: str, actor: Actor
) -> None:
    """The chief judge asks the sheet's judge to mark some cells again (or the whole sheet, no
    cells): the sheet opens again, with the note, and the trade goes back to competing."""
    note = " ".join((note or "").split())
    if not note:
        raise ValidationFailed("Say why the sheet is returned.", code="remark_note_required")
    if len(note) > REMARK_NOTE_MAX:
        raise ValidationFailed(
            "The note has at most {max} characters.", code="remark_note_long", max=REMARK_NOTE_MAX
        )
    facts = await sheet_facts(sheet_id)
    await chief_judge_of(facts.trade_id, actor)
    async with db.transaction():
        state = await trade_for_action(facts.trade_id, lock="UPDATE")
        if state.stage not in (Stage.competing, Stage.marks_complete):
            raise PhaseError(
                "A sheet is returned for a re-mark only before the lock; after it, change the "
                "mark with a reason.",
                code="remark_after_lock",
            )
        aspects = await scheme_aspects(facts.scheme_id)
        bad = [(s, a) for s, a in cells if s not in facts.slots or a not in aspects]
        if bad:
            raise ValidationFailed("Choose cells of this sheet.", code="remark_cell_not_on_sheet")
        await return_sheet_in_transaction(sheet_id, note=note, cells=cells, actor=actor)
        if state.stage == Stage.marks_complete:
            await move_in_transaction(
                state, Stage.competing, actor=actor, mover=Mover.chief_judge, reason=note
            )


# ---------------------------------------------------------------------------- verification


async def verification_aspects(sheet: SheetFacts) -> list[int]:
    """The aspects a second person confirms on this sheet: all when the trade asks for it,
    else those that ask for it themselves."""
    trade = await db.fetch_rows("SELECT judge_rule FROM trade WHERE id = ?", sheet.trade_id)
    rule = db.json_value(trade[0][0] if trade else None, {})
    aspects = await scheme_aspects(sheet.scheme_id)
    if (rule or {}).get("verify_sheets"):
        return list(aspects)
    flagged = {
        r[0]
        for r in await db.fetch_rows(
            "SELECT id FROM aspect WHERE scheme = ? AND needs_verification = ?",
            sheet.scheme_id,
            True,
        )
    }
    return [a for a in aspects if a in flagged]


async def verifier_of(sheet: SheetFacts, actor: Actor) -> int:
    """The actor's judge id if they may verify the sheet: a judge of the same panel, not the
    sheet's own judge."""
    row = (
        await Judge.select(Judge.id)
        .where(
            (Judge.user == actor.user_id)
            & Judge.id.is_in(
                PanelMember.select(PanelMember.judge).where(PanelMember.trade == sheet.trade_id)
            )
        )
        .first()
    )
    if row is None:
        raise PermissionDenied(
            "Only a judge of this trade's panel may verify its sheets.", code="not_on_panel"
        )
    if row["id"] == sheet.judge_id:
        raise PermissionDenied(
            "A sheet is verified by a second person, not by its own judge.",
            code="verify_own_sheet",
        )
    return row["id"]


async def verify_sheet(
    sheet_id: int, readings: Mapping[tuple[int, int], str], *, actor: Actor
) -> list[Cell]:
    """The second person's own reading of every cell to verify. All equal: the sheet is
    verified. Any differs: it goes back to its judge with the differing cells (returned)."""
    facts = await sheet_facts(sheet_id)
    verifier = await verifier_of(facts, actor)
    if facts.status != SheetStatus.signed.value:
        raise PhaseError(
            "Only a signed sheet waiting for verification can be verified.",
            code="sheet_not_waiting",
        )
    aspect_ids = await verification_aspects(facts)
    aspects = await scheme_aspects(facts.scheme_id)
    entered = await entered_cells(facts)
    codes = await slot_codes(sorted(facts.slots))
    expected = [(s, a) for s in sorted(facts.slots) for a in aspect_ids]
    absent = [c for c in expected if str(readings.get(c, "")).strip() == ""]
    if absent:
        raise ValidationFailed(
            "Enter every value to verify ({count} still empty).",
            code="verification_incomplete",
            count=len(absent),
        )
    mismatches = []
    for slot, aspect_id in expected:
        value = parse_value(aspects[aspect_id], readings[(slot, aspect_id)])
        if entered.get((slot, aspect_id), {}).get("value_hundredths") != value:
            mismatches.append(Cell(slot, codes.get(slot, ""), aspect_id, aspects[aspect_id].code))
    async with db.transaction():
        sheet = await _lock_sheet(sheet_id)
        if sheet.status != SheetStatus.signed.value:
            raise PhaseError(
                "Only a signed sheet waiting for verification can be verified.",
                code="sheet_not_waiting",
            )
        if mismatches:
            await return_sheet_in_transaction(
                sheet_id,
                note="复核不一致 / verification mismatch",
                cells=[(c.slot, c.aspect) for c in mismatches],
                actor=actor,
                action="sheet.verification_failed",
            )
        else:
            await ScoreSheet.update(
                {
                    ScoreSheet.status: SheetStatus.verified.value,
                    ScoreSheet.verified_by: verifier,
                    ScoreSheet.verified_at: clock.now(),
                }
            ).where(ScoreSheet.id == sheet_id)
            await audit.record(
                "sheet.verified",
                actor=actor,
                object_type="score_sheet",
                object_id=sheet_id,
                competition_id=sheet.competition_id,
                old={"status": sheet.status},
                new={"status": SheetStatus.verified.value, "cells": len(expected)},
            )
    if not mismatches:
        await complete_if_done(facts.trade_id, actor=actor)
    return mismatches


async def require_sheet(sheet_id: int) -> SheetFacts:
    try:
        return await sheet_facts(sheet_id)
    except NotFound:
        raise
