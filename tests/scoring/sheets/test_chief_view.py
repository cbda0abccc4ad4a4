"""What the chief judge reads (scoring/sheets/chief.py): the disagreement flags against hand-
computed combined values, progress counted as the sheets count it, and the re-mark cells named
by code — the flags and progress also on the real database."""

from __future__ import annotations

import uuid

import pytest

from competition.errors import ValidationFailed
from competition.tables import Trade
from scoring.sheets import chief, marks
from scoring.sheets.chief import Settings, disagreement_flags
from scoring.sheets.marks import AspectFacts, MarkIn
from scoring.tables import AspectKind
from tests.scoring.sheets.builders import competing_trade

B6 = AspectFacts(61, "B6", AspectKind.judgement.value, 700)
A1 = AspectFacts(11, "A1", AspectKind.measurement.value, 300)
ASPECTS = {A1.id: A1, B6.id: B6}
NAMES = {1: "甲", 2: "乙", 3: "丙", 4: "丁", 5: "戊"}


@pytest.mark.parametrize(
    ("rule", "tolerance", "levels", "flagged", "combined"),
    [
        # mean 2: the 0 is 2 away (flagged), the 3s exactly 1 (not flagged)
        ("mean", 1, [0, 3, 3], {1: 0}, "2.00"),
        # mean 2: 1 and 3 both exactly the tolerance away
        ("mean", 1, [1, 3, 2], {}, "2.00"),
        # mean 5/3 = 1.666…: the 0 is 1.67 away and the 3 is 1.33 away, the 2 is 0.33
        ("mean", 1, [0, 2, 3], {1: 0, 3: 3}, "1.67"),
        # the same marks with tolerance 2: nobody is more than 2 away
        ("mean", 2, [0, 2, 3], {}, "1.67"),
        # tolerance 0: every mark not equal to the exact value is flagged
        ("mean", 0, [2, 2, 3], {1: 2, 2: 2, 3: 3}, "2.33"),
        # trimmed mean of 5: drop one 0 and one 3 → mean(1, 2, 3) = 2; the 0 is 2 away
        ("trimmed_mean", 1, [0, 1, 2, 3, 3], {1: 0}, "2.00"),
        # closest two of three: 2 and 3 are closest → 2.5; the 0 is 2.5 away
        ("closest_two_of_three", 1, [0, 2, 3], {1: 0}, "2.50"),
        # FIG with 3: drop high and low → 2; the 0 is 2 away, the 3 exactly 1
        ("fig_tolerance", 1, [0, 2, 3], {1: 0}, "2.00"),
        # one mark alone is its own combined value
        ("mean", 1, [3], {}, "3.00"),
    ],
)
def test_flags_are_the_marks_strictly_farther_than_the_tolerance(
    rule, tolerance, levels, flagged, combined
):
    slot = 7
    rows = [(slot, B6.id, judge, level * 100) for judge, level in enumerate(levels, start=1)]
    # A Measurement value of the same contestant is never flagged.
    rows.append((slot, A1.id, 9, 300))
    found = disagreement_flags(
        Settings(rule, tolerance), rows, ASPECTS, {slot: "A07"}, NAMES, {(1, slot): 101}
    )
    assert {f.judge: f.level for f in found} == flagged
    assert all(f.combined == combined for f in found)
    assert all((f.code, f.aspect_code) == ("A07", "B6") for f in found)
    assert [f.judge_name for f in found] == sorted(NAMES[j] for j in flagged)
    assert all(f.sheet == (101 if f.judge == 1 else None) for f in found)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ('{"rule": "mean", "judgement_tolerance": 2}', Settings("mean", 2)),
        ({"rule": "fig_tolerance", "judgement_tolerance": 0}, Settings("fig_tolerance", 0)),
        ("{}", Settings("trimmed_mean", 1)),
        (None, Settings("trimmed_mean", 1)),
        ({"rule": "no-such-rule", "judgement_tolerance": "1"}, Settings("trimmed_mean", 1)),
    ],
)
def test_trade_settings_are_read_from_the_stored_json(stored, expected):
    assert Settings.of(stored) == expected


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("", []),
        ("A03 B6", [(3, 61)]),
        ("a03  b6，A05 A1", [(3, 61), (5, 11)]),
        ("A05", [(5, 11), (5, 61)]),
        ("A03 B6; A03 B6", [(3, 61)]),
    ],
)
def test_re_mark_cells_are_named_by_code_and_aspect_code(text, cells):
    assert chief.parse_cells(text, {3: "A03", 5: "A05"}, ASPECTS) == cells


@pytest.mark.parametrize("text", ["A04 B6", "A03 Z9", "A03 B6 A1", "B6"])
def test_a_cell_not_on_the_sheet_is_refused(text):
    with pytest.raises(ValidationFailed) as caught:
        chief.parse_cells(text, {3: "A03", 5: "A05"}, ASPECTS)
    assert caught.value.code == "remark_cell_unknown"


async def _put(built, username: str, slot: int, aspect, value: str) -> None:
    facts = await built.sheet(username)
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), facts.id, slot, aspect.id, value),
        actor=await built.actor(username),
    )


async def test_the_view_counts_progress_as_the_sheets_do_and_flags_live(demo_scoring):
    built = await competing_trade()
    await Trade.update(
        {Trade.judge_rule: {"rule": "mean", "judgement_tolerance": 1}}
    ).where(Trade.id == built.trade_id)  # fmt: skip
    cells = await built.cells("judge")
    slot = cells[0][0]
    judged = next(a for s, a in cells if s == slot and a.is_judgement)
    measured = next(a for s, a in cells if s == slot and not a.is_judgement)
    # 0, 3, 3 (mean 2): judge's 0 is flagged, judge2's and judge3's 3 are exactly 1 away.
    await _put(built, "judge", slot, judged, "0")
    await _put(built, "judge2", slot, judged, "3")
    await _put(built, "judge3", slot, judged, "3")
    # One panel value fills its cell on every sheet of the session that holds the slot.
    await _put(built, "judge", slot, measured, str(measured.max_hundredths // 100))

    view = await chief.chief_view(built.trade_id)
    assert [(f.code, f.aspect_code, f.judge_name, f.level, f.combined) for f in view.flags] == [
        (view.flags[0].code, judged.code, view.flags[0].judge_name, 0, "2.00")
    ]
    judge_sheet = next(s for s in view.sheets if s.id == built.sheets["judge"][0])
    assert view.flags[0].judge_name == judge_sheet.judge_name
    assert view.flags[0].sheet == judge_sheet.id

    session = judge_sheet.session
    sheets_here = [s for s in view.sheets if s.session == session]
    aspect_count = len(await marks.scheme_aspects((await built.sheet("judge")).scheme_id))
    for sheet in sheets_here:
        facts = await marks.sheet_facts(sheet.id)
        assert sheet.entered == await marks.cells_entered(facts)
        assert sheet.expected == await marks.cells_expected(facts)
    progress = next(p for p in view.sessions if p.id == session)
    # judge, judge2, judge3: one own mark each; every sheet of the session holding the slot
    # has the panel's value.
    holding = sum(1 for s in sheets_here if slot in s.slots)
    assert holding == len(sheets_here) == 8
    assert progress.entered == 3 + holding
    assert progress.expected == sum(len(s.slots) for s in sheets_here) * aspect_count
    assert len(view.unsigned) == len(view.sheets)

    api = await chief.progress(built.trade_id)
    assert api["cells_entered"] == view.entered
    assert api["flags"] == [f.as_json() for f in view.flags]
    assert api["unsigned_sheets"] == len(view.sheets)

    # judge changes their 0 to 2: mean 8/3, nobody is more than 1 away any more.
    current = await marks.current_mark(slot, judged.id, (await built.sheet("judge")).judge_id)
    facts = await built.sheet("judge")
    await marks.put_mark(
        MarkIn(str(uuid.uuid4()), facts.id, slot, judged.id, "2", current["version"]),
        actor=await built.actor("judge"),
    )
    assert (await chief.chief_view(built.trade_id)).flags == []


async def test_absent_contestants_are_counted_by_session_and_reason(demo_scoring):
    built = await competing_trade()
    view = await chief.chief_view(built.trade_id)
    # The demo marks two approved entries of 焊工 absent (organizer), one in each session.
    assert view.absent_count == 2
    assert {a.count for a in view.absent} == {1}
    assert all(a.source for a in view.absent)
    assert len(view.contestants) == 7
