"""Totals (scoring/totals.py) on a real database: hand-computed totals of a small trade, the
absent without a row, incomplete marks, a rerun replacing (not doubling) the rows, one entry
recomputed alone, and a competing trade marked through the sheets' services."""

from __future__ import annotations

import json

import pytest

from competition import db
from competition.tables import Trade
from registration.tables import Entry, EntryStatus
from scoring import totals
from scoring.tables import (
    Aspect,
    CompletionTime,
    Criterion,
    DrawSlot,
    EventScore,
    Judge,
    Mark,
    MarkingScheme,
    Penalty,
    ScoreSheet,
    Total,
)
from tests.scoring.sheets.builders import Competing, competing_trade

TRADE = "T002"  # drawn in the demo with one or two contestants absent; competing, no mark yet
COLUMNS = (
    "practical_hundredths",
    "theory_hundredths",
    "oral_hundredths",
    "penalty_hundredths",
    "weighted_hundredths",
    "completion_seconds",
    "complete",
    "rule",
)


@pytest.mark.parametrize(
    ("levels", "packed"),
    [
        pytest.param([], 0, id="none"),
        pytest.param([0], totals.COUNT_UNIT + 1, id="one-zero"),
        pytest.param([3, 2, 3], 3 * totals.COUNT_UNIT + (1 << 14) + 2 * (1 << 21), id="2-3-3"),
        pytest.param([1] * 5, 5 * totals.COUNT_UNIT + 5 * (1 << 7), id="five-ones"),
    ],
)
def test_pack_and_unpack(levels, packed):
    assert totals.pack(levels) == packed
    assert totals.unpack(packed) == sorted(levels)


@pytest.mark.parametrize(
    "packed",
    [
        pytest.param(totals.COUNT_UNIT, id="a-value-that-is-no-level"),
        pytest.param(2 * totals.COUNT_UNIT + 1, id="count-above-digits"),
        pytest.param(128 * totals.COUNT_UNIT + 128, id="128-zeros-carry"),
    ],
)
def test_unpack_refuses_what_no_levels_make(packed):
    with pytest.raises(ValueError):
        totals.unpack(packed)


@pytest.mark.parametrize(
    ("rule", "levels", "maximum", "expected"),
    [
        # trimmed mean of 5: 3 and 0 dropped, (2 + 2 + 1) / 3 = 5/3; 1000 × 5/9 = 555.6 → 556
        pytest.param("trimmed_mean", [3, 2, 2, 1, 0], 1000, 556, id="trimmed-5"),
        # fewer than 5: the mean, 8/3 × 600 / 3 = 533.3 → 533
        pytest.param("trimmed_mean", [3, 3, 2], 600, 533, id="trimmed-3-mean"),
        # FIG: middle 1 alone → 1; 900 / 3 = 300
        pytest.param("fig_tolerance", [0, 1, 3], 900, 300, id="fig-3"),
        # closest two of three: 2 and 3 closer than 0 → 5/2 × 1000 / 3 = 833.3 → 833
        pytest.param("closest_two_of_three", [0, 2, 3], 1000, 833, id="closest"),
        # the half hundredth: mean 1/2 × 3 / 3 = 0.5 → 1
        pytest.param("mean", [0, 1], 3, 1, id="half-up"),
    ],
)
def test_aspect_score_from_packed_marks(rule, levels, maximum, expected):
    assert totals.aspect_score(rule, 1, maximum, totals.pack(levels)) == expected


def test_packings_are_every_multiset_up_to_the_judges():
    # 4 of one level, 10 of two, 20 of three (multisets of 0..3)
    assert len(set(totals.packings(3))) == len(list(totals.packings(3))) == 4 + 10 + 20
    assert totals.pack([0, 3, 3, 1, 2]) in set(totals.packings(5))


@pytest.mark.parametrize(
    ("scores", "weights", "expected"),
    [
        pytest.param({"theory": 8550, "practical": 9175}, {"theory": 30, "practical": 70}, 8988,
                     id="8987.5-up"),
        pytest.param({"theory": 8555, "practical": 1585}, {"theory": 30, "practical": 70}, 3676,
                     id="rounded-once"),
        pytest.param({"practical": 7001}, {"theory": 30, "practical": 70}, 4901, id="4900.7"),
        pytest.param({"practical": 7007}, {"theory": 30, "practical": 70}, 4905, id="4904.9"),
        pytest.param({"theory": 1, "practical": 1}, {"theory": 25, "practical": 75}, 1, id="1.0"),
        pytest.param({"theory": 2, "oral": 0, "practical": 1},
                     {"theory": 25, "practical": 55, "oral": 20}, 1, id="1.05-down"),
        pytest.param({"theory": 1, "practical": 0}, {"theory": 30, "practical": 70}, 0,
                     id="0.3-down"),
    ],
)  # fmt: skip
def test_the_weighted_fast_path_is_the_rule(scores, weights, expected):
    assert totals._weighted(scores, weights, check=False) == expected
    assert totals._weighted(scores, weights, check=True) == expected


def test_the_weighted_fast_path_agrees_with_the_rule_everywhere():
    from scoring.rules.totals import weighted_total

    weights = {"theory": 25, "practical": 55, "oral": 20}
    for practical in range(0, 2000, 7):
        for theory in range(0, 400, 13):
            scores = {"theory": theory, "practical": practical, "oral": (practical * 3) % 101}
            assert totals._weighted(scores, weights, check=False) == weighted_total(scores, weights)


async def _trade(code: str) -> dict:
    return await Trade.select(Trade.id, Trade.competition).where(Trade.code == code).first()


async def _build(cid: int, trade_id: int) -> dict:
    """A new current scheme for the trade — J1 (Judgement, max 10.00), J2 (Judgement, 6.00),
    M1 (Measurement, 5.00) — five judges with a sheet each holding the first four slots, and
    their marks, penalties, times and theory scores (hand-computed totals in the test)."""
    await Trade.update(
        {
            Trade.events: [{"key": "theory", "weight": 30}, {"key": "practical", "weight": 70}],
            Trade.judge_rule: {"rule": "trimmed_mean", "judgement_tolerance": 1},
        }
    ).where(Trade.id == trade_id)
    old = await MarkingScheme.select(MarkingScheme.id, MarkingScheme.version).where(
        MarkingScheme.trade == trade_id
    )
    old_aspect = None
    if old:
        await MarkingScheme.update({MarkingScheme.is_current: False}).where(
            MarkingScheme.trade == trade_id
        )
        row = await Aspect.select(Aspect.id).where(Aspect.scheme == old[0]["id"]).first()
        old_aspect = row["id"] if row else None
    # The demo's sheets of the trade hold no mark; the test's own replace them.
    assert not await Mark.exists().where(Mark.slot.trade == trade_id)
    await ScoreSheet.delete().where(ScoreSheet.trade == trade_id)
    scheme = MarkingScheme(
        trade=trade_id, version=max([o["version"] for o in old], default=0) + 1, is_current=True
    )
    await scheme.save()
    criterion = Criterion(scheme=scheme.id, code="A", name="模块 A")
    await criterion.save()
    aspects = {}
    for code, kind, maximum in (
        ("J1", "judgement", 1000),
        ("J2", "judgement", 600),
        ("M1", "measurement", 500),
    ):
        aspect = Aspect(
            scheme=scheme.id,
            criterion=criterion.id,
            code=code,
            description=code,
            kind=kind,
            max_hundredths=maximum,
            judges_needed=5 if kind == "judgement" else 1,
        )
        await aspect.save()
        aspects[code] = aspect.id
    slots = (
        await DrawSlot.select(DrawSlot.id, DrawSlot.entry, DrawSlot.session)
        .where(DrawSlot.trade == trade_id)
        .order_by(DrawSlot.position)
    )
    assert len(slots) >= 4
    four = slots[:4]
    judges = [
        j["id"]
        for j in await Judge.select(Judge.id)
        .where(Judge.competition == cid)
        .order_by(Judge.id)
        .limit(6)
    ]
    assert len(judges) == 6
    sheets: dict[tuple[int, int], int] = {}
    for session in sorted({s["session"] for s in four}):
        held = [s["id"] for s in four if s["session"] == session]
        for judge in judges[:5]:
            sheet = ScoreSheet(
                trade=trade_id, session=session, judge=judge, scheme=scheme.id, slots=held
            )
            await sheet.save()
            sheets[(session, judge)] = sheet.id
    s1, s2, s3, s4 = four
    session_of = {s["id"]: s["session"] for s in four}

    marks = []

    def judged(slot: dict, aspect: str, levels: list[int]) -> None:
        for judge, level in zip(judges, levels, strict=False):
            marks.append((slot["id"], aspects[aspect], judge, level * 100))

    judged(s1, "J1", [3, 2, 2, 1, 0])  # trimmed: (2+2+1)/3 → 1000 × 5/9 = 555.6 → 556
    judged(s1, "J2", [3, 3, 3, 2, 3])  # trimmed: 3 → 600
    marks.append((s1["id"], aspects["M1"], None, 429))
    judged(s2, "J1", [0, 0, 3, 3, 3])  # (0+3+3)/3 = 2 → 666.7 → 667
    judged(s2, "J2", [1, 2, 2, 2, 3])  # 2 → 400
    marks.append((s2["id"], aspects["M1"], None, 0))
    judged(s3, "J1", [2, 2, 2, 2])  # one judge's mark missing: mean 2 → 667
    judged(s3, "J2", [3, 3, 3, 3, 3])  # 600
    marks.append((s3["id"], aspects["M1"], None, 500))
    judged(s4, "J1", [1, 1, 1, 1, 1])  # 1 → 333.3 → 333
    # a sixth judge with no sheet: (1+2+2+3)/4 = 2 → 400
    judged(s4, "J2", [0, 1, 2, 2, 3, 3])
    marks.append((s4["id"], aspects["M1"], None, 250))
    if old_aspect is not None:
        # Under the superseded scheme: counts for nothing.
        marks.append((s1["id"], old_aspect, judges[0], 300))
    await Mark.insert(
        *[
            Mark(
                slot=slot,
                aspect=aspect,
                judge=judge,
                sheet=sheets.get((session_of[slot], judge)),
                value_hundredths=value,
                client_id=f"totals-{slot}-{aspect}-{judge}",
            )
            for slot, aspect, judge, value in marks
        ]
    )
    await Penalty.insert(
        Penalty(slot=s2["id"], trade=trade_id, kind="safety", hundredths=-2000, reason="安全违规"),
        Penalty(slot=s1["id"], trade=trade_id, kind="overtime", hundredths=-100, reason="超时"),
        Penalty(slot=s1["id"], trade=trade_id, kind="other", hundredths=100, reason="更正"),
    )
    await CompletionTime.insert(
        CompletionTime(slot=s1["id"], trade=trade_id, seconds=7200),
        CompletionTime(slot=s2["id"], trade=trade_id, seconds=5400),
    )
    await EventScore.insert(
        EventScore(entry=s1["entry"], trade=trade_id, event="theory", hundredths=8555),
        EventScore(entry=s2["entry"], trade=trade_id, event="theory", hundredths=7005),
        EventScore(entry=s3["entry"], trade=trade_id, event="theory", hundredths=6000),
    )
    return {"slots": slots, "four": four, "aspects": aspects, "judges": judges}


def _row(total: dict) -> tuple:
    return tuple(total[c] for c in COLUMNS)


async def _totals_by_slot(trade_id: int) -> dict[int, dict]:
    return {t["slot"]: t for t in await Total.select().where(Total.trade == trade_id)}


async def test_hand_computed_totals_of_a_small_trade(demo_scoring):
    cid = demo_scoring.competition_id
    trade = await _trade(TRADE)
    built = await _build(cid, trade["id"])
    s1, s2, s3, s4 = (s["id"] for s in built["four"])

    written = await totals.recompute_trade(trade["id"])

    assert written == len(built["slots"])
    by_slot = await _totals_by_slot(trade["id"])
    assert set(by_slot) == {s["id"] for s in built["slots"]}
    rule = "trimmed_mean-v1"
    expected = {
        # 556 + 600 + 429 − 100 + 100 = 1585; theory 8555 × 30 % = 2566.5 and 1585 × 70 % =
        # 1109.5: once rounded 3676.0 → 3676 (each share rounded first would make 3677)
        s1: (1585, 8555, None, 0, 3676, 7200, True, rule),
        # 667 + 400 + 0 − 2000 < 0 → 0; 7005 × 30 % = 2101.5 → 2102 (half-up)
        s2: (0, 7005, None, -2000, 2102, 5400, True, rule),
        # 667 + 600 + 500 = 1767, one of five judges' marks missing: incomplete;
        # 1800 + 1236.9 = 3036.9 → 3037
        s3: (1767, 6000, None, 0, 3037, None, False, rule),
        # 333 + 400 + 250 = 983, every mark there but no theory score: incomplete;
        # 983 × 70 % = 688.1 → 688
        s4: (983, None, None, 0, 688, None, False, rule),
    }
    assert {slot: _row(by_slot[slot]) for slot in expected} == expected
    for slot in set(by_slot) - set(expected):  # no marks at all
        assert _row(by_slot[slot]) == (0, None, None, 0, 0, None, False, rule)
    assert by_slot[s1]["entry"] == built["four"][0]["entry"]

    # Entries absent at the draw have no slot and no total.
    entries = await Entry.select(Entry.id).where(
        (Entry.trade == trade["id"]) & (Entry.status == EntryStatus.approved.value)
    )
    absent = {e["id"] for e in entries} - {s["entry"] for s in built["slots"]}
    assert absent
    assert not await Total.exists().where(Total.entry.is_in(sorted(absent)))
    # One left from an earlier draw, say, goes with the next recompute.
    await Total.insert(Total(entry=min(absent), trade=trade["id"], weighted_hundredths=5000))

    # Twice: the rows replaced, not doubled, and the same.
    first = {slot: _row(t) for slot, t in by_slot.items()}
    assert await totals.recompute_trade(trade["id"]) == written
    again = await _totals_by_slot(trade["id"])
    assert await Total.count().where(Total.trade == trade["id"]) == written
    assert not await Total.exists().where(Total.entry.is_in(sorted(absent)))
    assert {slot: _row(t) for slot, t in again.items()} == first
    assert all(again[s]["computed_at"] > by_slot[s]["computed_at"] for s in by_slot)

    # One contestant alone (its packed marks scored in Python) gives the same row.
    for slot in (s1, s2, s3, s4):
        assert await totals.recompute_entry(slot) == 1
    alone = await _totals_by_slot(trade["id"])
    assert {slot: _row(t) for slot, t in alone.items()} == first
    assert await totals.recompute_entry(10**9) == 0


async def test_a_changed_mark_and_the_missing_one_recomputed_for_one_entry(demo_scoring):
    cid = demo_scoring.competition_id
    trade = await _trade(TRADE)
    built = await _build(cid, trade["id"])
    s3 = built["four"][2]["id"]
    await totals.recompute_trade(trade["id"])
    before = await _totals_by_slot(trade["id"])

    # The fifth judge's J1 mark arrives (level 2): 2 → 667, all there; still 1767.
    judge = built["judges"][4]
    await Mark.insert(
        Mark(
            slot=s3,
            aspect=built["aspects"]["J1"],
            judge=judge,
            value_hundredths=200,
            client_id="late-j1",
        )
    )
    # M1 corrected from 5.00 to 4.50: 1717; 1800 + 1201.9 = 3001.9 → 3002.
    await Mark.update({Mark.value_hundredths: 450}).where(
        (Mark.slot == s3) & (Mark.aspect == built["aspects"]["M1"])
    )
    assert await totals.recompute_entry(s3) == 1
    after = await _totals_by_slot(trade["id"])
    assert _row(after[s3]) == (1717, 6000, None, 0, 3002, None, True, "trimmed_mean-v1")
    assert {k: _row(v) for k, v in after.items() if k != s3} == {
        k: _row(v) for k, v in before.items() if k != s3
    }
    assert await Total.count().where(Total.trade == trade["id"]) == len(before)


async def test_inside_a_callers_transaction_the_recompute_sees_its_writes(demo_scoring):
    cid = demo_scoring.competition_id
    trade = await _trade(TRADE)
    built = await _build(cid, trade["id"])
    s1 = built["four"][0]["id"]
    written = await totals.recompute_trade(trade["id"])
    async with db.transaction():
        # M1 from 4.29 to 3.29: 1485; 2566.5 + 1039.5 = 3606.0
        await Mark.update({Mark.value_hundredths: 329}).where(
            (Mark.slot == s1) & (Mark.aspect == built["aspects"]["M1"])
        )
        assert await totals.recompute_entry(s1) == 1
        row = await Total.select().where(Total.slot == s1).first()
        assert (row["practical_hundredths"], row["weighted_hundredths"]) == (1485, 3606)
        assert await totals.recompute_trade(trade["id"]) == written
        assert await totals.recompute_trade(trade["id"]) == written  # its temporary tables gone
    row = await Total.select().where(Total.slot == s1).first()
    assert (row["practical_hundredths"], row["weighted_hundredths"]) == (1485, 3606)


async def test_on_postgresql_total_keeps_room_for_a_second_version_of_each_row(demo_scoring):
    """`total` is created with fillfactor 45 (migration `…total_fillfactor`), so a recompute's
    upsert can write each new version on the old one's page (a HOT update, no index entries:
    measured in the migration). The demo's 32 totals fit one page either way, so the setting
    itself is what is checked; the recompute still replaces every row."""
    if not db.is_postgres():
        pytest.skip("a PostgreSQL storage setting")
    [(options,)] = await db.fetch_rows("SELECT reloptions FROM pg_class WHERE relname = 'total'")
    assert options == ["fillfactor=45"]
    cid = demo_scoring.competition_id
    written = await totals.recompute_competition(cid)
    # The backend's counts not yet sent to the statistics are in the view too: count the change.
    updates = "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'total'"
    async with db.transaction():
        [(before,)] = await db.fetch_rows(updates)
        assert await totals.recompute_competition(cid) == written
        [(after,)] = await db.fetch_rows(updates)
    assert after - before == written


async def test_a_stored_value_that_is_no_level_is_refused_and_nothing_is_written(demo_scoring):
    cid = demo_scoring.competition_id
    trade = await _trade(TRADE)
    built = await _build(cid, trade["id"])
    await totals.recompute_trade(trade["id"])
    before = await _totals_by_slot(trade["id"])
    s1 = built["four"][0]["id"]
    await Mark.update({Mark.value_hundredths: 150}).where(
        (Mark.slot == s1)
        & (Mark.aspect == built["aspects"]["J1"])
        & (Mark.judge == built["judges"][0])
    )
    with pytest.raises(ValueError, match="not levels"):
        await totals.recompute_trade(trade["id"])
    with pytest.raises(ValueError, match="not levels"):
        await totals.recompute_entry(s1)
    assert await _totals_by_slot(trade["id"]) == before


async def test_recompute_competition_writes_every_drawn_slot(demo_scoring):
    cid = demo_scoring.competition_id
    trade = await _trade(TRADE)
    await _build(cid, trade["id"])
    slots = await DrawSlot.count().where(DrawSlot.trade.competition == cid)
    assert slots > 0
    assert await totals.recompute_competition(cid) == slots
    assert await totals.recompute_competition(cid) == slots
    assert await Total.count() == slots
    ours = await _totals_by_slot(trade["id"])
    assert sum(t["complete"] for t in ours.values()) == 2


async def test_a_trade_marked_through_its_sheets_totals_complete(demo_scoring):
    """The trade competing, every sheet filled through the sheets' service (level 2 and full
    Measurement marks), signed and verified: each aspect's score is then max × 2/3 half-up
    (Judgement) or max (Measurement); with theory 80.00, complete."""
    built = await _competing(TRADE)
    await built.complete()
    scheme = (
        await MarkingScheme.select(MarkingScheme.id)
        .where(
            (MarkingScheme.trade == built.trade_id) & (MarkingScheme.is_current == True)  # noqa: E712
        )
        .first()
    )
    aspects = await Aspect.select(Aspect.kind, Aspect.max_hundredths).where(
        Aspect.scheme == scheme["id"]
    )
    # half_up(2 × max / 3) = ⌊(4 × max + 3) / 6⌋
    practical = sum(
        (4 * a["max_hundredths"] + 3) // 6 if a["kind"] == "judgement" else a["max_hundredths"]
        for a in aspects
    )
    weighted = (2 * (30 * 8000 + 70 * practical) + 100) // 200
    slots = await DrawSlot.select(DrawSlot.id, DrawSlot.entry).where(
        DrawSlot.trade == built.trade_id
    )
    await EventScore.insert(
        *[
            EventScore(entry=s["entry"], trade=built.trade_id, event="theory", hundredths=8000)
            for s in slots
        ]
    )
    await Trade.update(
        {Trade.events: [{"key": "theory", "weight": 30}, {"key": "practical", "weight": 70}]}
    ).where(Trade.id == built.trade_id)
    assert await totals.recompute_trade(built.trade_id) == len(slots)
    rows = await Total.select().where(Total.trade == built.trade_id)
    assert len(rows) == len(slots) > 0
    assert {(r["practical_hundredths"], r["weighted_hundredths"], r["complete"]) for r in rows} == {
        (practical, weighted, True)
    }


async def _competing(code: str) -> Competing:
    """The trade competing with its sheets (the demo may have started it already)."""
    trade = (
        await Trade.select(Trade.id, Trade.competition, Trade.stage)
        .where(Trade.code == code)
        .first()
    )
    if trade["stage"] != "competing":
        return await competing_trade(code)
    built = Competing(trade["competition"], trade["id"])
    for row in (
        await ScoreSheet.select(ScoreSheet.id, ScoreSheet.judge.user.username)
        .where(ScoreSheet.trade == trade["id"])
        .order_by(ScoreSheet.id)
    ):
        built.sheets.setdefault(row["judge.user.username"], []).append(row["id"])
    assert built.sheets
    return built


async def _oracle(trade_id: int) -> dict[int, int]:
    """Each slot's practical score straight from its Mark rows and the pure rules, one slot and
    aspect at a time."""
    from scoring.rules import combine
    from scoring.rules import totals as rules

    trade = await Trade.select(Trade.judge_rule).where(Trade.id == trade_id).first()
    rule = trade["judge_rule"]
    rule = json.loads(rule) if isinstance(rule, str) else rule
    scheme = (
        await MarkingScheme.select(MarkingScheme.id)
        .where(
            (MarkingScheme.trade == trade_id) & (MarkingScheme.is_current == True)  # noqa: E712
        )
        .first()
    )
    aspects = {
        a["id"]: a
        for a in await Aspect.select(Aspect.id, Aspect.kind, Aspect.max_hundredths).where(
            Aspect.scheme == scheme["id"]
        )
    }
    cells: dict[tuple[int, int], list[int]] = {}
    for m in await Mark.select(Mark.slot, Mark.aspect, Mark.judge, Mark.value_hundredths).where(
        Mark.aspect.is_in(list(aspects))
    ):
        if aspects[m["aspect"]]["kind"] == "measurement" and m["judge"] is not None:
            continue  # a Measurement aspect takes the panel's one value (judge null) alone
        cells.setdefault((m["slot"], m["aspect"]), []).append(m["value_hundredths"])
    scores: dict[int, list[int]] = {}
    for (slot, aspect), values in cells.items():
        if aspects[aspect]["kind"] == "judgement":
            combined = combine(
                rule["rule"],
                [v // 100 for v in values],
                tolerance=rule.get("judgement_tolerance", 1),
            )
            score = rules.aspect_score(aspects[aspect]["max_hundredths"], combined)
        else:
            (score,) = values
        scores.setdefault(slot, []).append(score)
    penalties: dict[int, list[int]] = {}
    for p in await Penalty.select(Penalty.slot, Penalty.hundredths).where(
        Penalty.trade == trade_id
    ):
        penalties.setdefault(p["slot"], []).append(p["hundredths"])
    slots = await DrawSlot.select(DrawSlot.id).where(DrawSlot.trade == trade_id)
    return {
        s["id"]: rules.practical(scores.get(s["id"], []), penalties.get(s["id"], [])) for s in slots
    }


async def test_the_demo_marks_give_the_totals_the_rules_give_one_by_one(demo_marks):
    """Every trade the demo marked (real sheets, flags, penalties): the database's packed sums
    agree with the rules applied to each slot's Mark rows."""
    cid = demo_marks.competition_id
    await totals.recompute_competition(cid)
    marked = [t["trade"] for t in await Mark.select(Mark.slot.trade.as_alias("trade")).distinct()]
    assert marked
    for trade_id in marked:
        expected = await _oracle(trade_id)
        got = {
            t["slot"]: t["practical_hundredths"]
            for t in await Total.select(Total.slot, Total.practical_hundredths).where(
                Total.trade == trade_id
            )
        }
        assert got == expected


async def test_a_judged_mark_of_an_aspect_outside_the_scheme_counts_for_nothing(demo_marks):
    """The competition's pass reads the judged marks without a filter on their aspect: a mark
    of an aspect that is not one of the trade's current Judgement aspects (here a stray row of
    another trade's aspect, and one with a judge on a Measurement aspect) must send its slot to
    the exact path, and the slot's practical score stays what its own scheme's marks give."""
    cid = demo_marks.competition_id
    marked = [t["trade"] for t in await Mark.select(Mark.slot.trade.as_alias("trade")).distinct()]
    trade_id = marked[0]
    slot = (
        await Mark.select(Mark.slot, Mark.judge)
        .where((Mark.slot.trade == trade_id) & Mark.judge.is_not_null())
        .first()
    )
    other = (
        await Aspect.select(Aspect.id)
        .where((Aspect.scheme.trade != trade_id) & (Aspect.kind == "judgement"))
        .first()
    )
    own_measurement = await Aspect.select(Aspect.id).where(
        (Aspect.scheme.trade == trade_id) & (Aspect.scheme.is_current == True)  # noqa: E712
        & (Aspect.kind == "measurement")
    ).first()  # fmt: skip
    await totals.recompute_competition(cid)
    before = await _scores_by_slot(trade_id)
    # Another trade's aspect alone first (its packings are scored in `totals_key` too), then a
    # judged mark on a Measurement aspect of the slot's own scheme as well.
    strays = [other["id"]] + ([own_measurement["id"]] if own_measurement else [])
    for n, aspect in enumerate(strays):
        await Mark.insert(
            Mark(slot=slot["slot"], aspect=aspect, judge=slot["judge"], value_hundredths=300,
                 client_id=f"stray-{n}")
        )  # fmt: skip
        await totals.recompute_competition(cid)
        after = await _scores_by_slot(trade_id)
        assert after == before, aspect
    expected = await _oracle(trade_id)
    assert {s: t["practical_hundredths"] for s, t in after.items() if s in expected} == expected


async def _scores_by_slot(trade_id: int) -> dict[int, dict]:
    return {s: {k: t[k] for k in COLUMNS} for s, t in (await _totals_by_slot(trade_id)).items()}
