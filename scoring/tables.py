"""Scoring's tables: marking schemes, the judge register and panels, badges, attendance, the draw
and its anonymous codes, and marks.

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
    # unique: (trade, code); (trade, judge_code) where judge_code <> ''; (session, station)
    draw = ForeignKey(Draw, on_delete=OnDelete.cascade, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False)
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, unique=True)
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.restrict, null=False, index=True)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=False)
    code = Varchar(length=16)  # 一次加密号: what the contestant wears and the judges see
    judge_code = Varchar(length=16, default="")  # 二次加密号, when the draw adds a second layer
    position = Integer()  # order in the draw


class Mark(Table):  # 评分: one judge's 0–3 (Judgement) or the panel's agreed value (Measurement)
    # Written by the score sheets (the next issue); the scheme version of the mark is its
    # aspect's scheme, kept when a later version supersedes it.
    slot = ForeignKey(DrawSlot, on_delete=OnDelete.restrict, null=False, index=True)
    aspect = ForeignKey(Aspect, on_delete=OnDelete.restrict, null=False, index=True)
    judge = ForeignKey(Judge, on_delete=OnDelete.restrict, null=True, default=None)
    value_hundredths = Integer()
    client_id = Varchar(length=64, unique=True)  # generated by the tablet; a retry finds it
    version = Integer(default=1)
    entered_at = Timestamptz(default=TimestamptzNow())
    entered_by = Integer(null=True, default=None)
