"""What a judge reads: their sheets with progress, and one sheet as the tablet draws it (the
shapes are the JSON API's, documented in `scoring/controllers/sheets.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from competition import db
from competition.errors import PermissionDenied
from competition.i18n import N_, Msg, gettext
from competition.schemas import JUDGE_RULES
from scoring.sheets.marks import (
    READ_ONLY,
    SheetFacts,
    json_list,
    scheme_aspects,
    sheet_facts,
)
from scoring.sheets.roster import ensure_sheets
from scoring.sheets.signing import entered_cells, slot_codes
from scoring.tables import (
    Aspect,
    AspectKind,
    Criterion,
    Judge,
    PanelMember,
    ScoreSheet,
    SheetStatus,
)

SHEET_STATUS_LABELS: dict[str, Msg] = {
    SheetStatus.open.value: N_("Being marked"),
    SheetStatus.signed.value: N_("Signed"),
    SheetStatus.returned.value: N_("Returned for a re-mark"),
    SheetStatus.verified.value: N_("Verified"),
}


def status_label(status: str) -> str:
    return gettext(SHEET_STATUS_LABELS[status]) if status in SHEET_STATUS_LABELS else status


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _rule(judge_rule: Any) -> dict[str, Any]:
    return dict(db.json_value(judge_rule, {}))


async def _judge_ids(user_id: int) -> list[int]:
    return [r["id"] for r in await Judge.select(Judge.id).where(Judge.user == user_id)]


async def my_sheets(user_id: int) -> list[dict[str, Any]]:
    """The judge's sheets in every trade they judge that competes (or did), with progress."""
    judges = await _judge_ids(user_id)
    if not judges:
        return []
    trades = await PanelMember.select(PanelMember.trade, PanelMember.trade.stage).where(
        PanelMember.judge.is_in(judges)
    )
    for trade in trades:
        await ensure_sheets(trade["trade"], trade["trade.stage"])
    rows = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.judge,
            ScoreSheet.scheme,
            ScoreSheet.slots,
            ScoreSheet.status,
            ScoreSheet.signed_at,
            ScoreSheet.trade,
            ScoreSheet.trade.code,
            ScoreSheet.trade.name,
            ScoreSheet.trade.stage,
            ScoreSheet.session,
            ScoreSheet.session.code,
            ScoreSheet.session.name,
            ScoreSheet.session.starts_at,
            ScoreSheet.session.ends_at,
        )
        .where(ScoreSheet.judge.is_in(judges))
        .order_by(ScoreSheet.session.starts_at)
        .order_by(ScoreSheet.session.code)
    )
    entered = await _entered_by_slot(sorted({r["session"] for r in rows}), judges)
    out = []
    for row in rows:
        slots = {int(s) for s in json_list(row["slots"])}
        judge, scheme = row["judge"], row["scheme"]
        expected = len(slots) * len(await scheme_aspects(scheme))
        # As `cells_entered` counts one sheet: its judge's Judgement marks and the panel's
        # Measurement values, of the sheet's scheme, on the sheet's slots.
        count = sum(
            entered.get((slot, judge, scheme), 0) + entered.get((slot, None, scheme), 0)
            for slot in slots
        )
        out.append(
            {
                "id": row["id"],
                "status": row["status"],
                "status_label": status_label(row["status"]),
                "signed_at": _iso(row["signed_at"]),
                "trade": {
                    "id": row["trade"],
                    "code": row["trade.code"],
                    "name": row["trade.name"],
                    "stage": row["trade.stage"],
                },
                "session": {
                    "id": row["session"],
                    "code": row["session.code"],
                    "name": row["session.name"],
                    "starts_at": _iso(row["session.starts_at"]),
                    "ends_at": _iso(row["session.ends_at"]),
                },
                "cells_expected": expected,
                "cells_entered": count,
                "url": f"/judge/sheets/{row['id']}",
            }
        )
    return out


async def _entered_by_slot(
    sessions: list[int], judges: list[int]
) -> dict[tuple[int, int | None, int], int]:
    """(slot, judge, scheme) → the marks there, for every sheet of these sessions at once: the
    judges' own Judgement marks, and the panels' Measurement values (judge None). One grouped
    query for all of a judge's sheets instead of one a sheet."""
    if not sessions:
        return {}
    in_sessions = ", ".join("?" for _ in sessions)
    in_judges = ", ".join("?" for _ in judges)
    # The f-string adds only "?" placeholders; every id is passed as an argument.
    sql = (
        "SELECT m.slot, m.judge, a.scheme, count(*) FROM mark m "  # noqa: S608
        "JOIN aspect a ON a.id = m.aspect JOIN draw_slot d ON d.id = m.slot "
        f"WHERE d.session IN ({in_sessions}) AND ((a.kind = ? AND m.judge IN ({in_judges})) "
        "OR (a.kind <> ? AND m.judge IS NULL)) GROUP BY m.slot, m.judge, a.scheme"
    )
    judgement = AspectKind.judgement.value
    rows = await db.fetch_rows(sql, *sessions, judgement, *judges, judgement)
    return {(slot, judge, scheme): count for slot, judge, scheme, count in rows}


async def sheets_to_verify(user_id: int) -> list[dict[str, Any]]:
    """Signed sheets of the judge's panels that wait for a second person, not their own."""
    judges = await _judge_ids(user_id)
    if not judges:
        return []
    return (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.judge.name,
            ScoreSheet.trade.code,
            ScoreSheet.trade.name,
            ScoreSheet.session.code,
            ScoreSheet.session.name,
            ScoreSheet.signed_at,
        )
        .where(
            (ScoreSheet.status == SheetStatus.signed.value)
            & (ScoreSheet.needs_verification == True)  # noqa: E712
            & ScoreSheet.judge.not_in(judges)
            & ScoreSheet.trade.is_in(
                PanelMember.select(PanelMember.trade).where(PanelMember.judge.is_in(judges))
            )
        )
        .order_by(ScoreSheet.signed_at)
    )


async def own_sheet(sheet_id: int, user_id: int) -> SheetFacts:
    facts = await sheet_facts(sheet_id)
    if facts.judge_user != user_id:
        raise PermissionDenied("This is another judge's sheet.", code="not_your_sheet")
    return facts


async def _measurement_locked(facts: SheetFacts) -> set[int]:
    """Slots whose panel values another judge's signed sheet holds (fixed for this one too)."""
    rows = await ScoreSheet.select(ScoreSheet.slots).where(
        (ScoreSheet.session == facts.session_id)
        & (ScoreSheet.id != facts.id)
        & ScoreSheet.status.is_in([SheetStatus.signed.value, SheetStatus.verified.value])
    )
    locked: set[int] = set()
    for row in rows:
        locked.update(int(s) for s in json_list(row["slots"]))
    return locked


async def sheet_view(sheet_id: int, user_id: int) -> dict[str, Any]:
    """One sheet as the tablet draws it: codes × aspects, the marks, what is missing."""
    facts = await own_sheet(sheet_id, user_id)
    row = (
        await ScoreSheet.select(
            ScoreSheet.status,
            ScoreSheet.signed_at,
            ScoreSheet.note,
            ScoreSheet.remarks,
            ScoreSheet.needs_verification,
            ScoreSheet.judge.name,
            ScoreSheet.trade.code,
            ScoreSheet.trade.name,
            ScoreSheet.trade.judge_rule,
            ScoreSheet.session.code,
            ScoreSheet.session.name,
            ScoreSheet.session.starts_at,
            ScoreSheet.session.ends_at,
        )
        .where(ScoreSheet.id == sheet_id)
        .first()
    )
    rule = _rule(row["trade.judge_rule"]).get("rule", "trimmed_mean")
    criteria = (
        await Criterion.select(Criterion.id, Criterion.code, Criterion.name)
        .where(Criterion.scheme == facts.scheme_id)
        .order_by(Criterion.sort_order)
        .order_by(Criterion.code)
    )
    criterion_code = {c["id"]: c["code"] for c in criteria}
    aspects = (
        await Aspect.select(
            Aspect.id,
            Aspect.code,
            Aspect.criterion,
            Aspect.description,
            Aspect.kind,
            Aspect.max_hundredths,
            Aspect.descriptors,
            Aspect.deductions,
        )
        .where(Aspect.scheme == facts.scheme_id)
        .order_by(Aspect.sort_order)
        .order_by(Aspect.code)
    )
    await scheme_aspects(facts.scheme_id)
    codes = await slot_codes(sorted(facts.slots))
    entered = await entered_cells(facts)
    read_only = facts.status in READ_ONLY or facts.stage != "competing"
    locked_slots = await _measurement_locked(facts)
    marks = []
    for (slot, aspect_id), mark in sorted(entered.items()):
        panel_value = mark["judge"] is None
        marks.append(
            {
                "slot": slot,
                "aspect": aspect_id,
                "value_hundredths": mark["value_hundredths"],
                "version": mark["version"],
                "entered_at": _iso(mark["entered_at"]),
                "locked": read_only or (panel_value and slot in locked_slots),
            }
        )
    return {
        "id": sheet_id,
        "status": facts.status,
        "status_label": status_label(facts.status),
        "read_only": read_only,
        "signed_at": _iso(row["signed_at"]),
        "note": row["note"] or "",
        "needs_verification": row["needs_verification"],
        "trade": {
            "id": facts.trade_id,
            "code": row["trade.code"],
            "name": row["trade.name"],
            "rule": rule,
            "rule_label": gettext(JUDGE_RULES[rule]) if rule in JUDGE_RULES else rule,
        },
        "session": {
            "id": facts.session_id,
            "code": row["session.code"],
            "name": row["session.name"],
            "starts_at": _iso(row["session.starts_at"]),
            "ends_at": _iso(row["session.ends_at"]),
        },
        "judge": {"id": facts.judge_id, "name": row["judge.name"]},
        "criteria": [{"code": c["code"], "name": c["name"]} for c in criteria],
        "aspects": [
            {
                "id": a["id"],
                "code": a["code"],
                "criterion": criterion_code.get(a["criterion"], ""),
                "description": a["description"],
                "kind": a["kind"],
                "max_hundredths": a["max_hundredths"],
                "max": f"{a['max_hundredths'] // 100}.{a['max_hundredths'] % 100:02d}",
                "descriptors": json_list(a["descriptors"]) if a["kind"] == "judgement" else [],
                "deductions": json_list(a["deductions"]) if a["kind"] != "judgement" else [],
            }
            for a in aspects
        ],
        "contestants": [
            {"slot": s, "code": codes.get(s, "")}
            for s in sorted(facts.slots, key=lambda s: codes.get(s, ""))
        ],
        "marks": marks,
        "remarks": json_list(row["remarks"]),
        "cells_expected": len(facts.slots) * len(aspects),
        "cells_entered": len(entered),
    }
