"""What the chief judge (裁判长) reads about one trade: progress per session, the sheets and
their status, who is absent, and the live disagreement flags (评分偏差提示).

A handful of statements a page, whatever the trade's size — never one per cell: the trade, its
sheets, its slots, the Judgement marks, the panel's Measurement values, attendance, penalties
and completion times, each read once and put together here.

Progress counts cells as each sheet counts them (`marks.cells_entered` / `cells_expected`): a
sheet expects every aspect for every contestant it holds; a Measurement value, one for the
panel, fills that cell on every sheet that holds the contestant.

Flags (rule `scoring/rules/flags.py`): for each contestant × Judgement aspect with marks, the
marks combined exactly by the trade's rule, and every judge whose level is strictly more than
the trade's tolerance away from that value. Judges see codes only, and so does this page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from competition import db
from competition.errors import ValidationFailed
from competition.i18n import N_, render
from competition.schemas import JudgeRule
from competition.stages import Stage
from scoring.draw.attendance import ABSENT, SOURCE_LABELS, presence
from scoring.rules import COMBINATIONS, combine, flags
from scoring.rules.rounding import half_up
from scoring.rules.values import format_hundredths
from scoring.sheets.marks import AspectFacts, json_list, scheme_aspects
from scoring.sheets.penalties import PenaltyRow, completion_times_of, penalties_of
from scoring.sheets.roster import current_scheme_id, ensure_sheets
from scoring.sheets.views import status_label
from scoring.stages import TradeState, trade_state
from scoring.tables import SheetStatus

LEVEL = 100  # a Judgement level is stored in hundredths: level 2 → 200


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def natural(code: str) -> tuple:
    """A2 before A10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", code) if p)


@dataclass(frozen=True)
class Settings:
    rule: str
    tolerance: int

    @classmethod
    def of(cls, judge_rule: Any) -> Settings:
        judge_rule = db.json_value(judge_rule, {})
        default = JudgeRule()
        rule = judge_rule.get("rule") or default.rule
        tolerance = judge_rule.get("judgement_tolerance")
        if isinstance(tolerance, bool) or not isinstance(tolerance, int):
            tolerance = default.judgement_tolerance
        return cls(rule if rule in COMBINATIONS else default.rule, tolerance)


@dataclass(frozen=True)
class Flag:
    slot: int
    code: str
    aspect: int
    aspect_code: str
    judge: int
    judge_name: str
    level: int
    combined: str  # the exact combined level, shown to 2 places ("1.67")
    sheet: int | None  # the judge's sheet holding the cell, for a re-mark

    def as_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "code": self.code,
            "aspect": self.aspect,
            "aspect_code": self.aspect_code,
            "judge": self.judge,
            "judge_name": self.judge_name,
            "level": self.level,
            "combined": self.combined,
            "sheet": self.sheet,
        }


@dataclass
class SheetRow:
    id: int
    judge: int
    judge_name: str
    session: int
    session_code: str
    session_name: str
    status: str
    needs_verification: bool
    signed_at: Any
    note: str
    slots: frozenset[int]
    entered: int = 0
    expected: int = 0

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def unsigned(self) -> bool:
        return self.status in (SheetStatus.open.value, SheetStatus.returned.value)

    @property
    def waiting_verification(self) -> bool:
        return self.status == SheetStatus.signed.value and self.needs_verification

    @property
    def done(self) -> bool:
        return self.status == SheetStatus.verified.value or (
            self.status == SheetStatus.signed.value and not self.needs_verification
        )

    @property
    def missing(self) -> int:
        return self.expected - self.entered


@dataclass
class SessionProgress:
    id: int
    code: str
    name: str
    entered: int = 0
    expected: int = 0
    sheets: int = 0
    sheets_done: int = 0

    @property
    def percent(self) -> int:
        return (100 * self.entered) // self.expected if self.expected else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "cells_entered": self.entered,
            "cells_expected": self.expected,
            "sheets": self.sheets,
            "sheets_done": self.sheets_done,
        }


@dataclass(frozen=True)
class Contestant:
    slot: int
    code: str
    session: int
    penalty_hundredths: int
    penalties: list[PenaltyRow]
    completion_seconds: int | None


@dataclass(frozen=True)
class AbsentGroup:
    session: str
    source: str  # how the absence is known, in the reader's language
    count: int


@dataclass
class ChiefView:
    state: TradeState
    settings: Settings
    aspects: list[AspectFacts]
    sessions: list[SessionProgress]
    sheets: list[SheetRow]
    flags: list[Flag]
    contestants: list[Contestant] = field(default_factory=list)
    penalties: list[PenaltyRow] = field(default_factory=list)
    absent: list[AbsentGroup] = field(default_factory=list)
    judges: list[tuple[int, str]] = field(default_factory=list)

    @property
    def unsigned(self) -> list[SheetRow]:
        return [s for s in self.sheets if s.unsigned]

    @property
    def waiting_verification(self) -> list[SheetRow]:
        return [s for s in self.sheets if s.waiting_verification]

    @property
    def entered(self) -> int:
        return sum(s.entered for s in self.sessions)

    @property
    def expected(self) -> int:
        return sum(s.expected for s in self.sessions)

    @property
    def absent_count(self) -> int:
        return sum(a.count for a in self.absent)

    @property
    def locked(self) -> bool:
        return self.state.stage in (Stage.locked, Stage.decrypted, Stage.published, Stage.final)


# ---------------------------------------------------------------------------- reading


async def _sheets(trade_id: int) -> list[SheetRow]:
    rows = await db.fetch_rows(
        "SELECT s.id, s.judge, j.name, s.session, cs.code, cs.name, s.status, "
        "s.needs_verification, s.signed_at, s.note, s.slots FROM score_sheet s "
        "JOIN judge j ON j.id = s.judge JOIN competition_session cs ON cs.id = s.session "
        "WHERE s.trade = ? ORDER BY cs.starts_at, cs.code, j.name, s.id",
        trade_id,
    )
    return [
        SheetRow(
            id=r[0],
            judge=r[1],
            judge_name=r[2],
            session=r[3],
            session_code=r[4],
            session_name=r[5],
            status=r[6],
            needs_verification=bool(r[7]),
            signed_at=_timestamp(r[8]),
            note=r[9] or "",
            slots=frozenset(int(s) for s in json_list(r[10])),
        )
        for r in rows
    ]


async def _slots(trade_id: int) -> list[tuple[int, str, int, int]]:
    """(slot, the code judges see, session, entry) of every drawn contestant."""
    rows = await db.fetch_rows(
        "SELECT id, code, judge_code, session, entry FROM draw_slot WHERE trade = ?", trade_id
    )
    slots = [(r[0], r[2] or r[1], r[3], r[4]) for r in rows]
    slots.sort(key=lambda s: natural(s[1]))
    return slots


_MARKS_SQL = (
    "SELECT m.slot, m.aspect, m.judge, m.value_hundredths FROM mark m "
    "JOIN draw_slot d ON d.id = m.slot WHERE d.trade = ? AND m.judge IS {} NULL"
)


async def _judgement_marks(trade_id: int) -> list[tuple[int, int, int, int]]:
    return await db.fetch_rows(_MARKS_SQL.format("NOT"), trade_id)


async def _panel_values(trade_id: int) -> set[tuple[int, int]]:
    return {(r[0], r[1]) for r in await db.fetch_rows(_MARKS_SQL.format(""), trade_id)}


def _combined_text(value) -> str:
    return format_hundredths(half_up(value * LEVEL))


def disagreement_flags(
    settings: Settings,
    marks: list[tuple[int, int, int, int]],
    aspects: dict[int, AspectFacts],
    codes: dict[int, str],
    judge_names: dict[int, str],
    sheet_of: dict[tuple[int, int], int],
) -> list[Flag]:
    """The flagged marks, by code, aspect and judge name."""
    cells: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for slot, aspect_id, judge, value in marks:
        aspect = aspects.get(aspect_id)
        if aspect is None or not aspect.is_judgement:
            continue
        cells[(slot, aspect_id)][judge] = value // LEVEL
    out = []
    for (slot, aspect_id), levels in cells.items():
        combined = combine(settings.rule, list(levels.values()), tolerance=settings.tolerance)
        for judge in flags.flagged(levels, combined, settings.tolerance):
            out.append(
                Flag(
                    slot=slot,
                    code=codes.get(slot, ""),
                    aspect=aspect_id,
                    aspect_code=aspects[aspect_id].code,
                    judge=judge,
                    judge_name=judge_names.get(judge, ""),
                    level=levels[judge],
                    combined=_combined_text(combined),
                    sheet=sheet_of.get((judge, slot)),
                )
            )
    order = {a: n for n, a in enumerate(aspects)}
    out.sort(key=lambda f: (natural(f.code), order.get(f.aspect, 0), f.judge_name))
    return out


def _count_cells(
    sheets: list[SheetRow],
    aspects: dict[int, AspectFacts],
    judged: set[tuple[int, int, int]],
    panel: set[tuple[int, int]],
) -> None:
    """Each sheet's entered and expected cells, as `marks.cells_entered` counts them."""
    measured_per_slot: dict[int, int] = defaultdict(int)
    for slot, aspect_id in panel:
        aspect = aspects.get(aspect_id)
        if aspect is not None and not aspect.is_judgement:
            measured_per_slot[slot] += 1
    judged_per_cell: dict[tuple[int, int], int] = defaultdict(int)
    for judge, slot, aspect_id in judged:
        aspect = aspects.get(aspect_id)
        if aspect is not None and aspect.is_judgement:
            judged_per_cell[(judge, slot)] += 1
    for sheet in sheets:
        sheet.expected = len(sheet.slots) * len(aspects)
        sheet.entered = sum(
            measured_per_slot.get(slot, 0) + judged_per_cell.get((sheet.judge, slot), 0)
            for slot in sheet.slots
        )


async def _progress_parts(trade_id: int) -> tuple[TradeState, Settings, dict, list, list, list]:
    state = await trade_state(trade_id)
    await ensure_sheets(trade_id, state.stage)
    rule = await db.fetch_rows("SELECT judge_rule FROM trade WHERE id = ?", trade_id)
    settings = Settings.of(rule[0][0] if rule else None)
    scheme_id = await current_scheme_id(trade_id)
    aspects = await scheme_aspects(scheme_id) if scheme_id else {}
    sheets = await _sheets(trade_id)
    slots = await _slots(trade_id)
    marks = await _judgement_marks(trade_id) if sheets else []
    panel = await _panel_values(trade_id) if sheets else set()
    _count_cells(sheets, aspects, {(j, s, a) for s, a, j, _v in marks}, panel)
    return state, settings, aspects, sheets, slots, marks


def _sessions(sheets: list[SheetRow]) -> list[SessionProgress]:
    sessions: dict[int, SessionProgress] = {}
    for sheet in sheets:
        progress = sessions.setdefault(
            sheet.session,
            SessionProgress(sheet.session, sheet.session_code, sheet.session_name),
        )
        progress.entered += sheet.entered
        progress.expected += sheet.expected
        progress.sheets += 1
        progress.sheets_done += sheet.done
    return list(sessions.values())


def _flags(settings, aspects, sheets, slots, marks) -> list[Flag]:
    codes = {s[0]: s[1] for s in slots}
    names = {s.judge: s.judge_name for s in sheets}
    sheet_of = {(s.judge, slot): s.id for s in sheets for slot in s.slots}
    return disagreement_flags(settings, marks, aspects, codes, names, sheet_of)


async def progress(trade_id: int) -> dict[str, Any]:
    """What the chief judge's page refreshes: progress, unsigned sheets and the flags."""
    state, settings, aspects, sheets, slots, marks = await _progress_parts(trade_id)
    sessions = _sessions(sheets)
    return {
        "trade": {
            "id": state.trade_id,
            "code": state.code,
            "name": state.name,
            "stage": state.stage.value,
        },
        "cells_entered": sum(s.entered for s in sessions),
        "cells_expected": sum(s.expected for s in sessions),
        "sessions": [s.as_json() for s in sessions],
        "unsigned_sheets": sum(1 for s in sheets if s.unsigned),
        "waiting_verification": sum(1 for s in sheets if s.waiting_verification),
        "flags": [f.as_json() for f in _flags(settings, aspects, sheets, slots, marks)],
    }


async def _absent(trade_id: int, drawn_entries: set[int]) -> list[AbsentGroup]:
    """Approved entries of the trade the draw did not seat, by their ticket's session and how
    the absence is known. Counts only: a code is given at the draw, so an absent contestant
    has none, and a judge never sees a name."""
    rows = [r for r in await presence(trade_id, closed=True) if r.entry_id not in drawn_entries]
    if not rows:
        return []
    names = {
        r[0]: f"{r[1]} {r[2]}"
        for r in await db.fetch_rows(
            "SELECT id, code, name FROM competition_session WHERE trade = ?", trade_id
        )
    }
    groups: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        source = row.source if row.status == ABSENT else ""
        groups[(names.get(row.session_id, "") if row.session_id else "", source)] += 1
    return [
        AbsentGroup(session or "—", render(SOURCE_LABELS.get(source, SOURCE_LABELS[""])), n)
        for (session, source), n in sorted(groups.items())
    ]


async def chief_view(trade_id: int) -> ChiefView:
    """Everything the chief judge's page shows about one trade."""
    state, settings, aspects, sheets, slots, marks = await _progress_parts(trade_id)
    penalties = await penalties_of(trade_id) if slots else []
    times = await completion_times_of(trade_id) if slots else {}
    by_slot: dict[int, list[PenaltyRow]] = defaultdict(list)
    for p in penalties:
        by_slot[p.slot].append(p)
    contestants = [
        Contestant(
            slot=slot,
            code=code,
            session=session,
            penalty_hundredths=sum(p.hundredths for p in by_slot.get(slot, [])),
            penalties=by_slot.get(slot, []),
            completion_seconds=times.get(slot),
        )
        for slot, code, session, _entry in slots
    ]
    judges = sorted({(s.judge, s.judge_name) for s in sheets}, key=lambda j: j[1])
    drawn = state.stage != Stage.not_drawn
    absent = await _absent(trade_id, {s[3] for s in slots}) if drawn else []
    return ChiefView(
        state=state,
        settings=settings,
        aspects=list(aspects.values()),
        sessions=_sessions(sheets),
        sheets=sheets,
        flags=_flags(settings, aspects, sheets, slots, marks),
        contestants=contestants,
        penalties=penalties,
        absent=absent,
        judges=judges,
    )


# ---------------------------------------------------------------------------- the forms' input

_SEPARATORS = re.compile(r"[,，、;；\n]+")


def _code_key(code: str) -> str:
    return "".join(code.split()).upper()


async def slot_of_code(trade_id: int, code: str) -> int:
    """The slot a chief judge names by the code judges see (the second-layer code where the
    draw added one; the draw's code is accepted too)."""
    key = _code_key(code)
    if key:
        for slot, shown, _session, _entry in await _slots(trade_id):
            if _code_key(shown) == key:
                return slot
        rows = await db.fetch_rows("SELECT id, code FROM draw_slot WHERE trade = ?", trade_id)
        for slot, drawn in rows:
            if _code_key(drawn) == key:
                return slot
    raise ValidationFailed(
        "No contestant of this trade has the code {value}.",
        code="code_not_found",
        field_errors={"code": N_("No contestant of this trade has this code.")},
        value=code[:20],
    )


def parse_cells(
    text: str, codes: dict[int, str], aspects: dict[int, AspectFacts]
) -> list[tuple[int, int]]:
    """Cells of one sheet named as "A03 B6, A05" (a code and an aspect code, or a code alone
    for all its aspects); `codes` are the sheet's slots. Empty text: no cells (the whole
    sheet)."""
    by_code = {_code_key(c): s for s, c in codes.items()}
    by_aspect = {a.code.upper(): a.id for a in aspects.values()}
    cells: list[tuple[int, int]] = []
    for item in _SEPARATORS.split(text or ""):
        parts = item.split()
        if not parts:
            continue
        slot = by_code.get(_code_key(parts[0]))
        if slot is None or len(parts) > 2:
            raise _bad_cell(item)
        if len(parts) == 1:
            chosen = list(by_aspect.values())
        elif parts[1].upper() in by_aspect:
            chosen = [by_aspect[parts[1].upper()]]
        else:
            raise _bad_cell(item)
        for aspect in chosen:
            if (slot, aspect) not in cells:
                cells.append((slot, aspect))
    return cells


def _bad_cell(item: str) -> ValidationFailed:
    return ValidationFailed(
        "{cell} is not a cell of this sheet: write a code and an aspect code, e.g. A03 B6.",
        code="remark_cell_unknown",
        field_errors={"cells": N_("Write a code and an aspect code of this sheet, e.g. A03 B6.")},
        cell=item.strip()[:40],
    )
