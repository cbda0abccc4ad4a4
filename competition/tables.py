"""The competition core schema, shared by every package.

Composite unique keys (competition + code, delegation + trade …) are unique indexes created
by the migration `…_unique_keys.py`: SQLite cannot add a constraint to an existing table, and a
unique index behaves the same on both databases. Keep that migration in step with the
`# unique: …` comments below.

Settings that vary per trade (events and weights, eligibility, awards, tie-break chain,
judge-combination rule) are JSON documents validated by the shapes in
`competition/schemas.py` before they are written.
"""

from __future__ import annotations

import enum

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
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

from competition.phases import Phase
from competition.stages import Stage


class Role(enum.StrEnum):
    organizer = "organizer"  # 组委会
    delegation_admin = "delegation_admin"  # 推荐单位管理员
    judge = "judge"  # 裁判员
    chief_judge = "chief_judge"  # 裁判长
    supervisor = "supervisor"  # 监督仲裁
    contestant = "contestant"  # 参赛选手
    checkin_clerk = "checkin_clerk"  # 检录员: works the check-in desks of one venue or trade
    # 加密组: the organizer's encryption role, who alone (with the supervisor) may read which
    # anonymous code is which contestant, and decrypts a locked trade.
    encryption = "encryption"


class DelegationKind(enum.StrEnum):
    city = "city"  # 市州总工会
    industry_union = "industry_union"  # 省级产业工会
    direct = "direct"  # 省总直属工会


class EventKind(enum.StrEnum):
    theory = "theory"  # 理论知识
    practical = "practical"  # 操作技能
    oral = "oral"  # 答辩


class Competition(Table):  # 届
    code = Varchar(length=32, unique=True)
    name = Varchar(length=200)
    name_en = Varchar(length=200, default="")
    edition = Integer(null=True, default=None)
    year = Integer()
    organizer_name = Varchar(length=200, default="")
    phase = Varchar(length=20, choices=Phase, default=Phase.setup.value)
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    # Age rules are evaluated at this date unless a trade sets its own.
    age_cutoff = Date(null=True, default=None)
    # 报名截止日期: the last day (local time) contestants and delegations may enter new people;
    # None leaves registration open until the phase moves on. Organizers may enter late ones.
    registration_closes_on = Date(null=True, default=None)
    max_trades_per_person = SmallInt(default=1)
    appeal_window_minutes = Integer(default=120)
    # 个人信息保留期: days after the final results before the organizer may shred the personal
    # data no longer needed (competition/results/shredder.py); when that was done.
    retention_days = Integer(default=180)
    shredded_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Industry(Table):  # 行业
    # unique: (competition, code), (competition, name)
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    name = Varchar(length=100)
    name_en = Varchar(length=200, default="")
    sort_order = Integer(default=0)


class Trade(Table):  # 工种
    # unique: (competition, code), (competition, name)
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False, index=True)
    industry = ForeignKey(Industry, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    name = Varchar(length=100)
    name_en = Varchar(length=200, default="")
    # e.g. ["职工组", "学生组"]; empty when the trade has one field of contestants.
    groups = JSON(default=[])
    # [{"key": "theory", "weight": 30}, {"key": "practical", "weight": 70}], weights sum to 100.
    events = JSON(default=[])
    eligibility = JSON(default={})
    awards = JSON(default={})
    tie_break = JSON(default=[])
    judge_rule = JSON(default={})
    # Optional cap on approved entries for the whole trade, over all delegations.
    max_entries = Integer(null=True, default=None)
    sort_order = Integer(default=0)
    # The trade's own stage inside the competition's phase (competition/stages.py).
    stage = Varchar(length=20, choices=Stage, default=Stage.not_drawn.value)
    # Set when the organizer closes check-in (检录) of the trade: who is present is then
    # final, and the draw may run.
    checkin_closed_at = Timestamptz(null=True, default=None)


class Delegation(Table):  # 推荐单位 / 代表队
    # unique: (competition, code), (competition, name)
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    name = Varchar(length=100)
    kind = Varchar(length=20, choices=DelegationKind)
    contact_name = Varchar(length=50, default="")
    contact_phone = Varchar(length=20, default="")
    sort_order = Integer(default=0)


class Quota(Table):  # 名额: how many a delegation may enter in a trade
    # unique: (delegation, trade). Which entries use a place: registration/quotas.py.
    delegation = ForeignKey(Delegation, on_delete=OnDelete.cascade, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.cascade, null=False, index=True)
    # None: unlimited. No row at all for a delegation × trade means no places (0).
    max_entries = Integer(null=True, default=None)


class Venue(Table):  # 赛场
    # unique: (competition, code)
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    name = Varchar(length=100)
    address = Varchar(length=200, default="")


class CompetitionSession(Table, tablename="competition_session"):  # 场次
    # unique: (trade, code)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    venue = ForeignKey(Venue, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    name = Varchar(length=100)
    event = Varchar(length=20, choices=EventKind)
    starts_at = Timestamptz()
    ends_at = Timestamptz()


class Station(Table):  # 工位
    # unique: (venue, code)
    venue = ForeignKey(Venue, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=32)
    label = Varchar(length=100, default="")


class User(Table, tablename="app_user"):  # 用户 ("user" is reserved in PostgreSQL)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=200)
    phone = Varchar(length=20, default="")
    is_active = Boolean(default=True)
    preferred_locale = Varchar(length=10, default="")
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class RoleGrant(Table):  # 角色授权: a role, optionally scoped to a competition, delegation, trade
    # or venue (a check-in clerk's door)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=20, choices=Role)
    competition = ForeignKey(Competition, on_delete=OnDelete.cascade, null=True, default=None)
    delegation = ForeignKey(Delegation, on_delete=OnDelete.cascade, null=True, default=None)
    trade = ForeignKey(Trade, on_delete=OnDelete.cascade, null=True, default=None)
    venue = ForeignKey(Venue, on_delete=OnDelete.cascade, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class UserSession(Table):  # 登录会话: the cookie holds a random token, the table its SHA-256
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class LoginThrottle(Table):  # 登录限流: failures per keyed hash of a username or an address
    key_hash = Varchar(length=64, unique=True)
    failures = Integer(default=0)
    window_started_at = Timestamptz(default=TimestamptzNow())
    locked_until = Timestamptz(null=True, default=None)


class AuditLog(Table):  # 审计日志: append-only; ids are plain integers so history outlives rows
    # Not indexed: the trail is read in id order (ids grow with time), and every mark, check-in
    # and imported entry writes a record here.
    at = Timestamptz(default=TimestamptzNow())
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=100, default="")
    competition_id = Integer(null=True, default=None, index=True)
    action = Varchar(length=64, index=True)
    object_type = Varchar(length=64)
    object_id = Varchar(length=64, default="")
    old = JSON(null=True, default=None)
    new = JSON(null=True, default=None)
    reason = Text(default="")
