"""The demo's marks (scoring/demo/marks.py): every state a chief judge meets, through the real
services, the same every time."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from fractions import Fraction

from competition.phases import Phase
from competition.stages import Stage
from competition.tables import AuditLog, Competition, Trade, User
from scoring.demo.marks import (
    FLAGGED,
    FLAGS_WANTED,
    LOCKED,
    NOT_MARKED,
    PARTIAL,
    PARTIAL_PROGRESS,
    RETURNED,
    WAITING_VERIFICATION,
    load_demo_marks,
)
from scoring.sheets import chief, lock
from scoring.sheets.marks import cells_entered, cells_expected, json_list, sheet_facts
from scoring.sheets.penalties import completion_times_of, penalties_of
from scoring.tables import (
    Aspect,
    AspectKind,
    DrawSlot,
    Mark,
    MarkChange,
    MarkingScheme,
    PenaltyKind,
    ScoreSheet,
    SheetStatus,
)
from tests.fixtures import load_variant


async def trade_id(code: str) -> int:
    return (await Trade.select(Trade.id).where(Trade.code == code).first())["id"]


async def stage_of(code: str) -> Stage:
    return Stage((await Trade.select(Trade.stage).where(Trade.code == code).first())["stage"])


async def sheets_of(code: str) -> list[dict]:
    return (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.status,
            ScoreSheet.note,
            ScoreSheet.remarks,
            ScoreSheet.session.code,
            ScoreSheet.judge.user.username,
        )
        .where(ScoreSheet.trade == await trade_id(code))
        .order_by(ScoreSheet.id)
    )


def sheet(sheets: list[dict], username: str, session_suffix: str) -> dict:
    return next(
        s
        for s in sheets
        if s["judge.user.username"] == username and s["session.code"].endswith(session_suffix)
    )


def as_json(value):
    return json.loads(value) if isinstance(value, str) else value


async def digest() -> str:
    """Everything the marks step decides, by codes and names (never ids): the marks and their
    versions, the sheets, the stages, the penalties and completion times."""
    marks = await Mark.select(
        Mark.slot.trade.code,
        Mark.slot.code,
        Mark.aspect.code,
        Mark.judge.user.username,
        Mark.value_hundredths,
        Mark.version,
        Mark.client_id,
    )
    sheets = await ScoreSheet.select(
        ScoreSheet.trade.code,
        ScoreSheet.session.code,
        ScoreSheet.judge.user.username,
        ScoreSheet.status,
        ScoreSheet.note,
    )
    trades = await Trade.select(Trade.code, Trade.stage).where(
        Trade.code.is_in([PARTIAL, NOT_MARKED, LOCKED, FLAGGED])
    )
    extra = []
    for code in (LOCKED, FLAGGED):
        codes = {
            r["id"]: r["code"]
            for r in await DrawSlot.select(DrawSlot.id, DrawSlot.code).where(
                DrawSlot.trade == await trade_id(code)
            )
        }
        extra += [
            ("penalty", codes[p.slot], p.kind, p.hundredths, p.reason)
            for p in await penalties_of(await trade_id(code))
        ]
        extra += [
            ("time", codes[s], t)
            for s, t in (await completion_times_of(await trade_id(code))).items()
        ]
    rows = [list(r.values()) for table in (marks, sheets, trades) for r in table] + extra
    text = "\n".join(sorted(json.dumps(r, ensure_ascii=False, default=str) for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


async def test_the_competition_competes_and_the_move_is_audited(demo_marks):
    competition_id = demo_marks.competition_id
    competition = (
        await Competition.select(Competition.phase).where(Competition.id == competition_id).first()
    )
    assert competition["phase"] == Phase.competing
    moves = await AuditLog.select(AuditLog.actor_name, AuditLog.new).where(
        (AuditLog.action == "competition.phase") & (AuditLog.competition_id == competition_id)
    )
    assert [m["actor_name"] for m in moves if as_json(m["new"])["phase"] == "competing"] == ["demo"]
    assert await stage_of(NOT_MARKED) == Stage.competing
    electrician = await sheets_of(NOT_MARKED)
    assert electrician and {s["status"] for s in electrician} == {SheetStatus.open.value}
    assert not await Mark.exists().where(Mark.slot.trade == await trade_id(NOT_MARKED))


async def test_the_locked_trade_is_locked_with_every_sheet_signed_and_verified(demo_marks):
    assert await stage_of(LOCKED) == Stage.locked
    sheets = await sheets_of(LOCKED)
    # Every demo sheet holds an aspect that asks for a second person: signed, then verified.
    assert sheets and {s["status"] for s in sheets} == {SheetStatus.verified.value}
    report = await lock.lock_report(await trade_id(LOCKED))
    assert report.ready and report.missing_marks == 0
    lock_move = (
        await AuditLog.select(AuditLog.actor_name, AuditLog.new)
        .where(
            (AuditLog.action == "trade.stage") & (AuditLog.object_id == str(await trade_id(LOCKED)))
        )
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    assert as_json(lock_move["new"])["stage"] == "locked"
    assert lock_move["actor_name"] == "demo-judge-t003-1"  # the trade's chief judge
    progress = await chief.progress(await trade_id(LOCKED))
    assert progress["flags"] == []
    # Every cell has its value: the panel's per contestant and Measurement aspect, each judge's
    # per contestant on their sheet and Judgement aspect.
    kinds = [
        r["kind"]
        for r in await Aspect.select(Aspect.kind).where(
            Aspect.scheme.is_in(
                MarkingScheme.select(MarkingScheme.id).where(
                    MarkingScheme.trade == await trade_id(LOCKED)
                )
            )
        )
    ]
    measured = kinds.count(AspectKind.measurement.value)
    judged = kinds.count(AspectKind.judgement.value)
    slots = await DrawSlot.count().where(DrawSlot.trade == await trade_id(LOCKED))
    held = sum(
        len(json_list(r["slots"]))
        for r in await ScoreSheet.select(ScoreSheet.slots).where(
            ScoreSheet.trade == await trade_id(LOCKED)
        )
    )
    expected = slots * measured + held * judged
    assert await Mark.count().where(Mark.slot.trade == await trade_id(LOCKED)) == expected


async def test_the_locked_trade_has_two_penalties_and_every_completion_time(demo_marks):
    locked = await trade_id(LOCKED)
    slots = [r["id"] for r in await DrawSlot.select(DrawSlot.id).where(DrawSlot.trade == locked)]
    given = await penalties_of(locked)
    assert sorted((p.kind, p.hundredths) for p in given) == [
        (PenaltyKind.overtime.value, -200),
        (PenaltyKind.safety.value, -500),
    ]
    assert all(p.reason and p.entered_by for p in given)
    times = await completion_times_of(locked)
    assert set(times) == set(slots)
    # The overtime is the one time over the session's four hours.
    overtime = next(p.slot for p in given if p.kind == PenaltyKind.overtime.value)
    assert [s for s, t in times.items() if t > 4 * 3600] == [overtime]


async def test_the_flagged_trade_is_complete_with_its_flags_and_not_locked(demo_marks):
    assert await stage_of(FLAGGED) == Stage.marks_complete
    sheets = await sheets_of(FLAGGED)
    assert {s["status"] for s in sheets} == {SheetStatus.verified.value}
    flags = (await chief.progress(await trade_id(FLAGGED)))["flags"]
    assert len(flags) == FLAGS_WANTED
    for flag in flags:
        # The judge is two levels from the others, who agree.
        levels = [
            r["value_hundredths"] // 100
            for r in await Mark.select(Mark.value_hundredths).where(
                (Mark.slot == flag["slot"]) & (Mark.aspect == flag["aspect"])
            )
        ]
        others = list(levels)
        others.remove(flag["level"])
        assert len(set(others)) == 1 and abs(others[0] - flag["level"]) == 2


async def test_welding_is_under_way_with_a_sheet_returned(demo_marks):
    assert await stage_of(PARTIAL) == Stage.competing
    sheets = await sheets_of(PARTIAL)
    statuses = defaultdict(list)
    for s in sheets:
        statuses[(s["session.code"][-2:], s["status"])].append(s["judge.user.username"])
    assert statuses[("P2", SheetStatus.returned.value)] == [RETURNED]
    assert sorted(statuses[("P2", SheetStatus.signed.value)]) == sorted(WAITING_VERIFICATION)
    second = [s for s in sheets if s["session.code"].endswith("P2")]
    assert len(statuses[("P2", SheetStatus.verified.value)]) == len(second) - 1 - len(
        WAITING_VERIFICATION
    )
    assert {s["status"] for s in sheets if s["session.code"].endswith("P1")} == {"open"}

    returned = sheet(sheets, RETURNED, "P2")
    remarks = json_list(returned["remarks"])
    assert returned["note"] and len(remarks) == 1
    flags = (await chief.progress(await trade_id(PARTIAL)))["flags"]
    # The cell the chief judge sent back is the one flagged.
    assert [(f["slot"], f["aspect"], f["sheet"]) for f in flags] == [
        (remarks[0]["slot"], remarks[0]["aspect"], returned["id"])
    ]
    assert flags[0]["code"] in returned["note"]


async def test_the_demo_judge_finds_a_sheet_half_filled_and_one_mark_corrected(demo_marks):
    sheets = await sheets_of(PARTIAL)
    mine = await sheet_facts(sheet(sheets, "judge", "P1")["id"])
    assert PARTIAL_PROGRESS["judge"] * 2 == len(mine.slots)
    assert await cells_entered(mine) * 2 == await cells_expected(mine)
    user = (await User.select(User.id).where(User.username == "judge").first())["id"]
    corrected = await Mark.select(Mark.id, Mark.version, Mark.value_hundredths).where(
        (Mark.entered_by == user) & (Mark.version > 1)
    )
    assert len(corrected) == 1 and corrected[0]["version"] == 2
    trail = (
        await MarkChange.select(MarkChange.old_hundredths, MarkChange.new_hundredths)
        .where(MarkChange.mark == corrected[0]["id"])
        .order_by(MarkChange.version)
    )
    assert len(trail) == 2 and trail[0]["old_hundredths"] is None
    assert trail[1]["old_hundredths"] == trail[0]["new_hundredths"]
    assert trail[1]["new_hundredths"] == corrected[0]["value_hundredths"]
    assert abs(trail[1]["new_hundredths"] - trail[0]["new_hundredths"]) == 100


async def test_every_mark_is_a_judges_own_tablet_mark_with_its_trail(demo_marks):
    marks = await Mark.select(
        Mark.id, Mark.judge, Mark.judge.user, Mark.entered_by, Mark.version, Mark.device
    )
    for mark in marks:
        if mark["judge"] is not None:
            assert mark["entered_by"] == mark["judge.user"]
        assert mark["entered_by"] is not None and mark["device"].startswith("demo-tablet-")
    kinds = {r["kind"] for r in await MarkChange.select(MarkChange.kind)}
    assert kinds == {"tablet"}
    assert await MarkChange.count() == sum(m["version"] for m in marks)


async def test_values_are_realistic_and_contestants_rank(demo_marks):
    aspects = {
        r["id"]: r
        for r in await Aspect.select(
            Aspect.id, Aspect.kind, Aspect.max_hundredths, Aspect.deductions
        )
    }
    levels = []
    for mark in await Mark.select(Mark.aspect, Mark.value_hundredths):
        aspect = aspects[mark["aspect"]]
        value, top = mark["value_hundredths"], aspect["max_hundredths"]
        if aspect["kind"] == AspectKind.judgement.value:
            levels.append(value // 100)
            continue
        steps = {int(d["hundredths"]) for d in json_list(aspect["deductions"])}
        allowed = {0, top} | {max(0, top - k * step) for step in steps for k in (1, 2)}
        assert value in allowed, (aspect, value)
    assert sum(1 for level in levels if level >= 2) * 10 >= len(levels) * 8  # mostly 2 and 3
    # The locked trade's contestants, scored the simple way (Σ values, judges' mean level):
    # not all tied.
    locked = await trade_id(LOCKED)
    totals: dict[int, Fraction] = defaultdict(Fraction)
    per_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
    for mark in await Mark.select(Mark.slot, Mark.aspect, Mark.value_hundredths).where(
        Mark.slot.trade == locked
    ):
        per_cell[(mark["slot"], mark["aspect"])].append(mark["value_hundredths"])
    for (slot, aspect_id), values in per_cell.items():
        aspect = aspects[aspect_id]
        if aspect["kind"] == AspectKind.judgement.value:
            totals[slot] += Fraction(aspect["max_hundredths"] * sum(values), 300 * len(values))
        else:
            totals[slot] += values[0]
    assert len(set(totals.values())) > len(totals) // 2


async def test_the_marks_are_the_same_every_time_and_a_second_run_writes_nothing(demo_marks):
    first = await digest()
    assert await load_demo_marks(demo_marks.competition_id) == 0
    assert await digest() == first
    summary = await load_variant("scoring")  # the draws again, no mark
    assert not await Mark.exists()
    assert await load_demo_marks(summary.competition_id) > 0
    assert await digest() == first
