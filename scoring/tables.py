"""Scoring's tables: marking schemes, the judge register and panels, badges, attendance, the draw
and its anonymous codes, score sheets and marks with their trail, penalties, completion times,
imported event scores, totals and the review sample.

Marks and maximum marks are integers in hundredths of a mark (12.5 marks = 1250), so SQLite and
PostgreSQL add and compare them the same.

Composite unique keys are unique indexes created by the migration `…_scoring_keys.py` (as in
competition/tables.py; keep it in step with the `# unique: …` comments below):
  marking_scheme (trade, version)
  criterion (scheme, code), aspect (scheme, code)
  judge (competition, user)
  panel_member (trade, judge); panel_member (trade) where is_chief — one chief judge a trade
  session_judge (session, judge)
  draw_slot (trade, code); draw_slot (trade, judge_code) where judge_code <> '';
  draw_slot (session, station)
  score_sheet (session, judge)
  mark (slot, aspect, judge) where judge is not null; mark (slot, aspect) where judge is null
  event_score (entry, event)
  review_check (sample, slot)
"""

from __future__ import annotations

import enum

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from competition.tables import (
    Competition,
    CompetitionSession,
    Delegation,
    Station,
    Trade,
    User,
)
from registration.tables import Entry


class AspectKind(enum.StrEnum):
    measurement = "measurement"  # 测量: full, zero or a deduction; one value agreed by the panel
    judgement = "judgement"  # 评价: each judge 0–3; score = max × combined / 3


class MarkingScheme(Table, tablename="marking_scheme"):  # 评分细则 (one version of it)
    # unique: (trade, version)
    trade = ForeignKey(Trade, on_delete=OnDelete.cascade, null=False, index=True)
    version = SmallInt(default=1)
    # The version marks are given under; an earlier one stays, superseded, for the marks and
    # printouts made under it.
    is_current = Boolean(default=True)
    total_hundredths = Integer(default=0)
    source = Varchar(length=12, default="form")  # form / import / demo
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)
    superseded_at = Timestamptz(null=True, default=None)


class Criterion(Table):  # 评分模块 (A, B, C …)
    # unique: (scheme, code)
    scheme = ForeignKey(MarkingScheme, on_delete=OnDelete.cascade, null=False, index=True)
    code = Varchar(length=8)
    name = Varchar(length=200)
    sort_order = Integer(default=0)


class Aspect(Table):  # 评分项
    # unique: (scheme, code)
    scheme = ForeignKey(MarkingScheme, on_delete=OnDelete.cascade, null=False, index=True)
    criterion = ForeignKey(Criterion, on_delete=OnDelete.cascade, null=False, index=True)
    code = Varchar(length=16)
    description = Text()
    kind = Varchar(length=12, choices=AspectKind)
    max_hundredths = Integer()
    # Judgement: how many judges give a 0–3 each; Measurement: how many agree the one value.
    judges_needed = SmallInt(default=3)
    # A second person checks the agreed value (or the marks) before the sheet may be signed.
    needs_verification = Boolean(default=False)
    # Measurement: [{"label": "每处咬边", "hundredths": 50}, …], each step at most the maximum.
    deductions = JSON(default=[])
    # Judgement: the written descriptor of levels 0, 1, 2 and 3, in that order.
    descriptors = JSON(default=[])
    sort_order = Integer(default=0)


class Qualification(enum.StrEnum):
    national = "national"  # 国家级裁判
    provincial = "provincial"  # 省级裁判
    city = "city"  # 市级裁判
    expert = "expert"  # 行业专家 (no judge grade)


class Judge(Table):  # 裁判员 in the register of one competition
    # unique: (competition, user)
    competition = ForeignKey(Competition, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=50)
    employer = Varchar(length=100, default="")  # 工作单位
    # The employer as compared for recusal (scoring/recusal.py normalises it).
    employer_key = Varchar(length=100, default="")
    delegation = ForeignKey(Delegation, on_delete=OnDelete.set_null, null=True, default=None)
    qualification = Varchar(length=12, choices=Qualification, default=Qualification.provincial)
    phone = Varchar(length=20, default="")
    id_number = Varchar(length=18, default="")  # optional; shown masked
    created_at = Timestamptz(default=TimestamptzNow())


class PanelMember(Table, tablename="panel_member"):  # 裁判组: a judge assigned to a trade
    # unique: (trade, judge); (trade) where is_chief
    trade = ForeignKey(Trade, on_delete=OnDelete.cascade, null=False, index=True)
    judge = ForeignKey(Judge, on_delete=OnDelete.cascade, null=False, index=True)
    is_chief = Boolean(default=False)  # 裁判长
    created_at = Timestamptz(default=TimestamptzNow())


class SessionJudge(Table, tablename="session_judge"):  # a panel member judging one session
    # unique: (session, judge)
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.cascade, null=False)
    judge = ForeignKey(Judge, on_delete=OnDelete.cascade, null=False, index=True)


class JudgeBadge(Table, tablename="judge_badge"):  # 裁判证 QR: one tap signs the judge in
    judge = ForeignKey(Judge, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)  # SHA-256 of the token the QR code carries
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)


class Attendance(Table):  # 到场记录 beside the desk's check-in: a paper sign-in sheet keyed in,
    # or an organizer marking one entry absent with a reason. Overrides the desk for its entry.
    entry = ForeignKey(Entry, on_delete=OnDelete.cascade, null=False, unique=True)
    present = Boolean()
    source = Varchar(length=12, default="sheet")  # sheet / organizer
    reason = Text(default="")
    recorded_by = Integer(null=True, default=None)
    recorded_at = Timestamptz(default=TimestamptzNow())


class Draw(Table):  # 抽签: one per trade, with what it needs to be re-run and checked
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, unique=True)
    seed = Varchar(length=64)
    algorithm = Varchar(length=32)  # name and version, e.g. "sha256-order-v1"
    second_layer = Boolean(default=False)  # 二次加密
    # The inputs as drawn: present entry ids, the sessions and their stations, in order.
    inputs = JSON(default={})
    summary = JSON(default={})  # counts: present, absent, per session
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)


class DrawSlot(Table, tablename="draw_slot"):  # a present contestant's session, station, codes
    # unique: (trade, code); (trade, judge_code) where judge_code <> ''; (session, station),
    # which also serves every lookup by session (no index of the session alone to write).
    # On PostgreSQL the five references are not foreign-key constraints but checked by the draw
    # for all its slots at once, with triggers keeping the deletes' behaviour (migration
    # `…2026_12_07t14_40_00_000000_draw_slot_keys`): the columns stay ForeignKeys for joins.
    draw = ForeignKey(Draw, on_delete=OnDelete.cascade, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False)
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, unique=True)
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.restrict, null=False)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=False)
    code = Varchar(length=16)  # 一次加密号: what the contestant wears and the judges see
    judge_code = Varchar(length=16, default="")  # 二次加密号, when the draw adds a second layer
    position = Integer()  # order in the draw


class SheetStatus(enum.StrEnum):
    open = "open"  # being marked
    signed = "signed"  # 已签字: the judge signed it; their marks are read-only to them
    returned = "returned"  # 退回: the chief judge asked for a re-mark, or verification failed
    verified = "verified"  # 已复核: a second person confirmed it


class ScoreSheet(Table, tablename="score_sheet"):  # 评分表: one judge's marks of one session
    # unique: (session, judge). Made when the trade competes (scoring/sheets/roster.py), from
    # the panel, which is fixed from then on.
    trade = ForeignKey(Trade, on_delete=OnDelete.cascade, null=False, index=True)
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.cascade, null=False, index=True)
    judge = ForeignKey(Judge, on_delete=OnDelete.cascade, null=False, index=True)
    scheme = ForeignKey(MarkingScheme, on_delete=OnDelete.restrict, null=False)
    # The draw slots this judge marks (the session's, less the recused): read with every mark,
    # so the hot path needs no recusal computation.
    slots = JSON(default=[])
    status = Varchar(length=12, choices=SheetStatus, default=SheetStatus.open.value)
    signed_at = Timestamptz(null=True, default=None)
    # Why the sheet came back, and the cells to mark again: [{"slot", "aspect", "note"}].
    note = Text(default="")
    remarks = JSON(default=[])
    # Second-person verification (复核), when the trade or an aspect asks for it.
    needs_verification = Boolean(default=False)
    verified_by = ForeignKey(Judge, on_delete=OnDelete.set_null, null=True, default=None)
    verified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Mark(Table):  # 评分: one judge's 0–3 (Judgement) or the panel's agreed value (Measurement)
    # unique: (slot, aspect, judge) where judge is not null; (slot, aspect) where judge is null.
    # A Judgement mark belongs to its judge; a Measurement value to the session's panel (judge
    # null), entered on one judge's sheet. The scheme version of the mark is its aspect's scheme,
    # kept when a later version supersedes it. Lookups by slot use `ix_mark_slot_aspect_judge_value`
    # (slot, aspect, judge, value_hundredths): it also holds all the totals read of a mark, so
    # recomputing 6 million marks never visits the table (see scoring/totals.py).
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=False)
    aspect = ForeignKey(Aspect, on_delete=OnDelete.restrict, null=False, index=True)
    judge = ForeignKey(Judge, on_delete=OnDelete.restrict, null=True, default=None)
    sheet = ForeignKey(ScoreSheet, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    value_hundredths = Integer()
    client_id = Varchar(length=64, unique=True)  # of the change that set the value
    version = Integer(default=1)  # +1 each change; a tablet sends the version it last saw
    device = Varchar(length=64, default="")
    entered_at = Timestamptz(default=TimestamptzNow())
    entered_by = Integer(null=True, default=None)


class MarkChangeKind(enum.StrEnum):
    tablet = "tablet"  # a judge on the sheet (or any client of the API)
    paper = "paper"  # keyed in from a paper sheet (import)
    remark = "remark"  # a re-mark the chief judge asked for
    locked = "locked"  # after the lock: the chief judge, with a reason


class MarkChange(Table, tablename="mark_change"):  # the marks' audit trail (评分记录)
    # Append-only: every value a mark ever had, who set it, when, from which device, why. Its
    # own table rather than the general audit log: millions of rows, read by trade.
    mark = ForeignKey(Mark, on_delete=OnDelete.restrict, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    client_id = Varchar(length=64, unique=True)  # a retry of the same change finds it
    kind = Varchar(length=12, choices=MarkChangeKind, default=MarkChangeKind.tablet.value)
    old_hundredths = Integer(null=True, default=None)
    new_hundredths = Integer()
    version = Integer()
    reason = Text(default="")
    device = Varchar(length=64, default="")
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=100, default="")
    at = Timestamptz(default=TimestamptzNow())


class PenaltyKind(enum.StrEnum):
    safety = "safety"  # 安全违规
    overtime = "overtime"  # 超时
    other = "other"


class Penalty(Table):  # 扣分/加分: an explicit signed entry with a reason, by the chief judge
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=12, choices=PenaltyKind, default=PenaltyKind.other.value)
    hundredths = Integer()  # signed: −500 takes 5 marks off
    reason = Text()
    entered_by = Integer(null=True, default=None)
    entered_at = Timestamptz(default=TimestamptzNow())


class CompletionTime(Table, tablename="completion_time"):  # 完成用时, for the tie-break
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=False, unique=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    seconds = Integer()
    entered_by = Integer(null=True, default=None)
    entered_at = Timestamptz(default=TimestamptzNow())


class EventScore(Table, tablename="event_score"):  # 理论/答辩成绩 from the exam system
    # unique: (entry, event). Out of 100, in hundredths.
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    event = Varchar(length=20)  # theory / oral (competition.tables.EventKind)
    hundredths = Integer()
    source = Varchar(length=12, default="import")
    entered_by = Integer(null=True, default=None)
    entered_at = Timestamptz(default=TimestamptzNow())


class Total(Table):  # 成绩: an entry's event scores and weighted total, as last computed
    # Written only by scoring/totals.py from the marks; results (competition/results/) read it.
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, unique=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=True, default=None)
    practical_hundredths = Integer(null=True, default=None)
    theory_hundredths = Integer(null=True, default=None)
    oral_hundredths = Integer(null=True, default=None)
    penalty_hundredths = Integer(default=0)
    weighted_hundredths = Integer(default=0)
    completion_seconds = Integer(null=True, default=None)
    # Every mark the scheme asks for is there (the total is final only then).
    complete = Boolean(default=False)
    rule = Varchar(length=40, default="")  # the combination rule and version, e.g. trimmed_mean-v1
    computed_at = Timestamptz(default=TimestamptzNow())


class ReviewSample(Table, tablename="review_sample"):  # 复核抽样 of one trade before publication
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, unique=True)
    seed = Varchar(length=64)
    algorithm = Varchar(length=32)
    # Over 5 % of the re-checks found an error: every entry must be re-checked.
    full_required = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)


class ReviewCheck(Table, tablename="review_check"):  # one entry to re-check, and its outcome
    # unique: (sample, slot)
    sample = ForeignKey(ReviewSample, on_delete=OnDelete.cascade, null=False, index=True)
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=False)
    reason = Varchar(length=12, default="random")  # top (the top 10) / random / full
    outcome = Varchar(length=12, default="")  # "" not yet / ok / error
    note = Text(default="")
    checked_by = Integer(null=True, default=None)
    checked_at = Timestamptz(null=True, default=None)
