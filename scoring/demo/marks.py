"""The demo's marks (评分): after the draws the competition moves on to competing, and the drawn
trades are marked into every state a chief judge meets. Everything goes through the services a
tablet and a chief judge use — each judge puts their own marks, signs their own sheet, a second
judge verifies it, the chief judge returns a sheet, enters penalties and locks — so the marks'
trail, their versions and the audit records are the real ones.

- 装配钳工 (T003): every sheet signed and verified, two penalties and every completion time
  entered, locked by its chief judge.
- 拉面师 (T087): every sheet signed and verified, marks complete, with a few disagreement flags
  (one judge two levels from the others) for its chief judge to look at; not locked.
- 焊工 (T001), where the demo accounts sign in: the second session marked and signed, most
  sheets verified, one returned by `chief` for a re-mark with a note; in the first session
  `judge`'s sheet half filled (one mark corrected once), the others' partly.
- 电工 (T002): competing, no mark yet.

Seeded (`MARKS_SEED`), so every `make demo` gives the same values: Measurement values full, one
or two of the aspect's deduction steps short, now and then zero; Judgement levels mostly 2 and 3
around a level of each contestant, the judges of a cell at most one level apart — so no flag —
except where a flag is wanted. Idempotent: a trade that has started competing is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from competition import services
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.db import transaction
from competition.phases import Phase
from competition.stages import Mover, Stage
from competition.tables import Competition, Trade, User
from registration.tables import Entry
from scoring import stages, totals
from scoring.demo.draw import DEMO_ACTOR
from scoring.imports import theory
from scoring.rules.values import format_hundredths
from scoring.sheets import lock, penalties, signing
from scoring.sheets.marks import AspectFacts, MarkIn, json_list, put_mark, scheme_aspects
from scoring.sheets.roster import current_scheme_id, ensure_sheets
from scoring.tables import Aspect, DrawSlot, PanelMember, PenaltyKind, ScoreSheet

MARKS_SEED = "jiangxin-demo-marks"
PARTIAL = "T001"
NOT_MARKED = "T002"
LOCKED = "T003"
FLAGGED = "T087"
MARK_TRADES = (PARTIAL, NOT_MARKED, LOCKED, FLAGGED)
FLAGS_WANTED = 3
# 焊工's first session: the judges who have begun (how many contestants each has marked).
PARTIAL_PROGRESS = {"judge": 2, "judge2": 2, "judge3": 3, "demo-judge-t001-1": 2}
# 焊工's second session: sheets signed but not verified yet (the rest are verified).
WAITING_VERIFICATION = ("demo-judge-t001-3", "demo-judge-t001-4")
RETURNED = "judge2"
REMARK_NOTE = "{code} {aspect}与其他裁判相差两个等级，请复看焊件后重新评分"
SAFETY_REASON = "钻孔时未佩戴防护眼镜，经提醒后改正"
OVERTIME_REASON = "超时{minutes}分钟，每分钟扣0.5分"
OVERTIME_MINUTES = 4


@dataclass(frozen=True)
class _Sheet:
    id: int
    session_id: int
    judge_id: int
    username: str
    user_id: int
    slots: tuple[int, ...]

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, name=self.username)


@dataclass
class _Marking:
    """One trade being marked: its sheets, and the values planned for every cell."""

    trade_id: int
    code: str
    aspects: list[AspectFacts]
    deductions: dict[int, list[int]]
    sheets: list[_Sheet]
    slots: list[int]  # in the order of the codes judges see
    codes: dict[int, str]
    rng: random.Random
    measured: dict[tuple[int, int], int] = field(default_factory=dict)
    levels: dict[tuple[int, int, int], int] = field(default_factory=dict)
    base: dict[tuple[int, int], int] = field(default_factory=dict)
    panel_entered: set[tuple[int, int]] = field(default_factory=set)
    written: int = 0
    changes: int = 0

    @property
    def judgement(self) -> list[AspectFacts]:
        return [a for a in self.aspects if a.is_judgement]

    def sheet_of(self, username: str, session_id: int) -> _Sheet:
        return next(s for s in self.sheets if s.username == username and s.session_id == session_id)

    @property
    def sessions(self) -> list[int]:
        return list(dict.fromkeys(s.session_id for s in self.sheets))

    def session_slots(self, session_id: int) -> list[int]:
        held = {slot for s in self.sheets if s.session_id == session_id for slot in s.slots}
        return [slot for slot in self.slots if slot in held]

    # ------------------------------------------------------------------ the planned values

    def plan(self) -> None:
        rng = self.rng
        for slot in self.slots:
            # A contestant's level in tenths (1.8 to 2.9): the better, the fewer deductions.
            skill = rng.randint(18, 29)
            judges = [s.judge_id for s in self.sheets if slot in s.slots]
            for aspect in self.aspects:
                if not aspect.is_judgement:
                    self.measured[(slot, aspect.id)] = self._measured(aspect, skill)
                    continue
                base = max(1, min(3, (skill + rng.randint(-5, 5) + 5) // 10))
                step = -1 if base == 3 else rng.choice((-1, 1))
                self.base[(slot, aspect.id)] = base
                for judge in judges:
                    self.levels[(slot, aspect.id, judge)] = base + (
                        step if rng.randrange(10) < 3 else 0
                    )

    def _measured(self, aspect: AspectFacts, skill: int) -> int:
        roll = self.rng.randrange(100)
        steps = self.deductions.get(aspect.id, [])
        if not steps:  # pass or fail: 通球试验, 绝缘电阻
            return aspect.max_hundredths if roll < 92 else 0
        if roll < 30 + (skill - 18) * 5:
            return aspect.max_hundredths
        if roll >= 98:
            return 0
        times = 1 if roll < 90 else 2
        return max(0, aspect.max_hundredths - self.rng.choice(steps) * times)

    def flag(self, slot: int, aspect_id: int, judge_id: int) -> None:
        """The judge two levels from the others, who agree: a flag whatever the rule."""
        base = self.base[(slot, aspect_id)]
        for s, a, j in self.levels:
            if (s, a) == (slot, aspect_id):
                self.levels[(s, a, j)] = base
        self.levels[(slot, aspect_id, judge_id)] = base - 2 if base >= 2 else base + 2

    # ------------------------------------------------------------------ through the services

    async def put(self, sheet: _Sheet, slot: int, aspect: AspectFacts, value: int, base: int = 0):
        self.changes += 1
        text = str(value // 100) if aspect.is_judgement else format_hundredths(value)
        outcome = await put_mark(
            MarkIn(
                client_id=f"demo-{self.code}-{self.changes:05d}",
                sheet_id=sheet.id,
                slot_id=slot,
                aspect_id=aspect.id,
                value=text,
                base_version=base,
                device=f"demo-tablet-{sheet.username}",
            ),
            actor=sheet.actor,
        )
        self.written += outcome.result == "saved"

    async def enter(self, sheet: _Sheet, slots: list[int] | None = None, *, panel: bool = True):
        """The judge's marks of `slots` (all of the sheet's by default), aspect by aspect as a
        tablet enters them; a Measurement value only where nobody of the panel entered it."""
        for slot in slots if slots is not None else [s for s in self.slots if s in sheet.slots]:
            for aspect in self.aspects:
                if aspect.is_judgement:
                    await self.put(
                        sheet, slot, aspect, self.levels[(slot, aspect.id, sheet.judge_id)] * 100
                    )
                elif panel and (slot, aspect.id) not in self.panel_entered:
                    await self.put(sheet, slot, aspect, self.measured[(slot, aspect.id)])
                    self.panel_entered.add((slot, aspect.id))

    async def sign(self, sheet: _Sheet) -> None:
        await signing.sign_sheet(sheet.id, actor=sheet.actor)
        self.written += 1

    async def verify(self, sheet: _Sheet) -> None:
        """A second judge of the session reads every value again (the next one on the panel)."""
        same = [s for s in self.sheets if s.session_id == sheet.session_id]
        other = same[(same.index(sheet) + 1) % len(same)]
        facts = await signing.require_sheet(sheet.id)
        readings = {
            cell: format_hundredths(row["value_hundredths"])
            for cell, row in (await signing.entered_cells(facts)).items()
        }
        if await signing.verify_sheet(sheet.id, readings, actor=other.actor):
            raise RuntimeError(f"the demo's sheet {sheet.id} did not verify")
        self.written += 1

    async def complete(self) -> None:
        """Every sheet filled, signed and verified: the trade's marks are complete."""
        for sheet in self.sheets:
            await self.enter(sheet)
        for sheet in self.sheets:
            await self.sign(sheet)
        for sheet in self.sheets:
            await self.verify(sheet)


async def _marking(trade_id: int, code: str) -> _Marking | None:
    """The trade started (moved to competing by the organizer), its sheets made, and its
    values planned."""
    await stages.move_trade(trade_id, Stage.competing, actor=DEMO_ACTOR, mover=Mover.organizer)
    await ensure_sheets(trade_id, Stage.competing)
    scheme_id = await current_scheme_id(trade_id)
    if scheme_id is None:
        return None
    aspects = list((await scheme_aspects(scheme_id)).values())
    deductions = {
        r["id"]: sorted({int(d["hundredths"]) for d in json_list(r["deductions"])})
        for r in await Aspect.select(Aspect.id, Aspect.deductions).where(Aspect.scheme == scheme_id)
    }
    rows = (
        await ScoreSheet.select(
            ScoreSheet.id,
            ScoreSheet.session,
            ScoreSheet.judge,
            ScoreSheet.judge.user,
            ScoreSheet.judge.user.username,
            ScoreSheet.slots,
        )
        .where(ScoreSheet.trade == trade_id)
        .order_by(ScoreSheet.session.starts_at)
        .order_by(ScoreSheet.judge.user.username)
    )
    sheets = [
        _Sheet(
            r["id"],
            r["session"],
            r["judge"],
            r["judge.user.username"],
            r["judge.user"],
            tuple(sorted(int(s) for s in json_list(r["slots"]))),
        )
        for r in rows
    ]
    slot_rows = (
        await DrawSlot.select(DrawSlot.id, DrawSlot.code, DrawSlot.judge_code)
        .where(DrawSlot.trade == trade_id)
        .order_by(DrawSlot.session.starts_at)
        .order_by(DrawSlot.code)
    )
    codes = {r["id"]: r["judge_code"] or r["code"] for r in slot_rows}
    marking = _Marking(
        trade_id,
        code,
        aspects,
        deductions,
        sheets,
        [r["id"] for r in slot_rows],
        codes,
        random.Random(f"{MARKS_SEED}|{code}"),  # noqa: S311 - demo values, not secrets
    )
    marking.plan()
    return marking


async def _chief(trade_id: int) -> Actor:
    row = (
        await PanelMember.select(PanelMember.judge.user, PanelMember.judge.user.username)
        .where((PanelMember.trade == trade_id) & (PanelMember.is_chief == True))  # noqa: E712
        .first()
    )
    return Actor(user_id=row["judge.user"], name=row["judge.user.username"])


# ---------------------------------------------------------------------------- the trades


async def _mark_locked(m: _Marking) -> None:
    """Complete, then the chief judge's penalties and completion times, then the lock."""
    await m.complete()
    chief = await _chief(m.trade_id)
    limits = {
        r["id"]: int((r["session.ends_at"] - r["session.starts_at"]).total_seconds())
        for r in await DrawSlot.select(
            DrawSlot.id, DrawSlot.session.starts_at, DrawSlot.session.ends_at
        ).where(DrawSlot.trade == m.trade_id)
    }
    safety, overtime = m.rng.sample(m.slots, 2)
    for slot in m.slots:
        limit = limits.get(slot) or 4 * 3600
        seconds = (
            limit + OVERTIME_MINUTES * 60
            if slot == overtime
            else limit - m.rng.randint(2 * 60, 55 * 60)
        )
        await penalties.set_completion_time(m.trade_id, slot, seconds, actor=chief)
        m.written += 1
    await penalties.add_penalty(
        m.trade_id, safety, -500, PenaltyKind.safety, SAFETY_REASON, actor=chief
    )
    await penalties.add_penalty(
        m.trade_id, overtime, -OVERTIME_MINUTES * 50, PenaltyKind.overtime,
        OVERTIME_REASON.format(minutes=OVERTIME_MINUTES), actor=chief,
    )  # fmt: skip
    m.written += 2
    await lock.lock_trade(m.trade_id, actor=chief)
    m.written += 1


async def _mark_flagged(m: _Marking) -> None:
    """Complete, with a few judges each two levels from the rest of the panel on one cell."""
    cells = [(slot, a.id) for slot in m.slots for a in m.judgement]
    for slot, aspect_id in m.rng.sample(cells, FLAGS_WANTED):
        judges = sorted(s.judge_id for s in m.sheets if slot in s.slots)
        m.flag(slot, aspect_id, m.rng.choice(judges))
    await m.complete()


async def _mark_partial(m: _Marking) -> None:
    """焊工: the second session done but one sheet returned, the first one under way."""
    first, second = m.sessions[0], m.sessions[-1]
    done = [s for s in m.sheets if s.session_id == second]
    returned = m.sheet_of(RETURNED, second)
    slot = next(s for s in m.session_slots(second) if s in returned.slots)
    aspect = m.judgement[0]
    m.flag(slot, aspect.id, returned.judge_id)
    for sheet in done:
        await m.enter(sheet)
    for sheet in done:
        await m.sign(sheet)
    for sheet in done:
        if sheet.username not in WAITING_VERIFICATION:
            await m.verify(sheet)
    note = REMARK_NOTE.format(code=m.codes[slot], aspect=aspect.code)
    await signing.request_remark(
        returned.id, cells=[(slot, aspect.id)], note=note, actor=await _chief(m.trade_id)
    )
    m.written += 1
    # The first session: `judge` enters the panel's values too, the others their levels only.
    slots = m.session_slots(first)
    for username, count in PARTIAL_PROGRESS.items():
        sheet = m.sheet_of(username, first)
        await m.enter(sheet, slots[:count], panel=username == "judge")
    # A mark corrected once on the tablet (version 2), to the other level the panel gave.
    mine = m.sheet_of("judge", first)
    cell = (slots[0], aspect.id)
    given = m.levels[(*cell, mine.judge_id)]
    others = {lv for (s, a, j), lv in m.levels.items() if (s, a) == cell and j != mine.judge_id}
    corrected = next((lv for lv in sorted(others) if lv != given), given + (1 if given < 3 else -1))
    await m.put(mine, slots[0], aspect, corrected * 100, base=1)


SCENES = {LOCKED: _mark_locked, FLAGGED: _mark_flagged, PARTIAL: _mark_partial}
# The trades whose theory scores (理论成绩) arrive from the exam system before their lock, through
# the theory import as an organizer would upload them, so their totals are complete.
THEORY_TRADES = (LOCKED, FLAGGED)


async def _theory_scores(competition_id: int, m: _Marking) -> None:
    rng = random.Random(f"{MARKS_SEED}-theory-{m.code}")  # noqa: S311 - demo data
    # The exam system knows the tickets (准考证号), never the codes: the entries drawn here.
    drawn = DrawSlot.select(DrawSlot.entry).where(DrawSlot.trade == m.trade_id)
    rows = await Entry.select(Entry.ticket_number).where(Entry.id.is_in(drawn))
    lines = [["准考证号", "成绩", "项目"]]
    for ticket in sorted(row["ticket_number"] for row in rows):
        lines.append([ticket, format_hundredths(rng.randint(5800, 9650)), "理论"])
    plan = await theory.read_plan(competition_id, kit.csv_bytes(lines), trade_id=m.trade_id)
    organizer = await User.select(User.id).where(User.username == "organizer").first()
    actor = Actor(user_id=organizer["id"], name="organizer") if organizer else DEMO_ACTOR
    await theory.commit(competition_id, plan, actor=actor, filename="理论成绩.csv")
    m.written += len(lines) - 1


async def _to_competing(competition_id: int) -> int:
    row = (
        await Competition.select(Competition.phase).where(Competition.id == competition_id).first()
    )
    assert row is not None
    if Phase(row["phase"]) != Phase.draw:
        return 0
    await services.advance_phase(competition_id, Phase.competing, DEMO_ACTOR, reason="demo data")
    return 1


async def load_demo_marks(competition_id: int) -> int:
    """The competition competing and the drawn trades marked (see the module docstring);
    returns the records written."""
    written = await _to_competing(competition_id)
    trades = await Trade.select(Trade.id, Trade.code, Trade.stage).where(
        (Trade.competition == competition_id) & Trade.code.is_in(list(MARK_TRADES))
    )
    for trade in sorted(trades, key=lambda t: MARK_TRADES.index(t["code"])):
        if Stage(trade["stage"]) != Stage.drawn:
            continue
        # One transaction a trade: it is marked entirely or not at all (so a second run finds
        # it as the first left it), and on SQLite one commit instead of one for each mark.
        async with transaction():
            marking = await _marking(trade["id"], trade["code"])
            written += 1
            scene = SCENES.get(trade["code"])
            if marking is not None and trade["code"] in THEORY_TRADES:
                await _theory_scores(competition_id, marking)
            if marking is not None and scene is not None:
                await scene(marking)
                written += marking.written
            if marking is not None and trade["code"] in THEORY_TRADES:
                # The theory import totalled the trade before its practical marks: the totals
                # again, as the pages and the results read them (the lock totals its own).
                await totals.recompute_trade(trade["id"])
    return written
