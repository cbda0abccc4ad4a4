"""Registration's tables: people, their entries in trades, photos, check-ins, the record of
earlier first prizes, and uploaded import batches.

Composite unique keys and indexes are created by the migration `…_registration_keys.py` (SQLite
cannot add constraints to a table; a unique index means the same on both databases):
  entry (person, trade)              — never the same trade twice
  entry (competition, person, slot)  — at most `max_trades_per_person` entries a competition:
                                       slots run 1..limit, so a second entry over the limit has
                                       no free slot and the database refuses it
  check_in (entry, session)          — checked in once per session
and by `…_entry_trade_status_session.py`:
  entry (trade, status, session)     — a trade's entries by status (the draw's presence reads
                                       the approved ones and their sessions from it alone)
"""

from __future__ import annotations

import enum

from piccolo.columns import (
    JSON,
    Bytea,
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

from competition.tables import Competition, CompetitionSession, Delegation, Trade, User


class EntryStatus(enum.StrEnum):
    submitted = "submitted"  # 已提交, waiting for the delegation's first review
    delegation_approved = "delegation_approved"  # 初审通过, waiting for the organizer
    approved = "approved"  # 终审通过: admitted, ticket issued
    rejected = "rejected"  # 退回, with a reason; may be corrected and resubmitted
    revoked = "revoked"  # 取消资格 by the organizer, with a reason; final


class EntrySource(enum.StrEnum):
    self_service = "self"  # the contestant registered online
    delegation_import = "import"  # a delegation's (or the organizer's) batch import


class Person(Table):  # 参赛人员: one human, across competitions, keyed by the resident ID
    id_number = Varchar(length=18, unique=True)
    name = Varchar(length=50)
    gender = Varchar(length=6)  # derived from the ID number
    birth_date = Date()  # derived from the ID number
    phone = Varchar(length=20, default="")
    employer = Varchar(length=100, default="")  # 工作单位
    job = Varchar(length=50, default="")  # 岗位/工种
    skill_level = SmallInt(null=True, default=None)  # 职业技能等级 5..1, None = none
    years_of_service = SmallInt(default=0)  # 工龄
    # Who may change the record (registration/people.py): the person's own account once it
    # claimed the record, else the delegation that entered it, else only an organizer.
    # The account of a person who registered (or claimed the record) online.
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None, unique=True)
    # The delegation that first entered the person (by import or form); the same delegation
    # code in a later competition counts as the same owner. Not indexed: nothing looks persons
    # up by it (claims reach the person by its key), and a 200,000-row import pays for every
    # index it writes.
    owner_delegation = ForeignKey(Delegation, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ClaimStatus(enum.StrEnum):
    pending = "pending"  # waiting for the owning delegation (or an organizer) to confirm
    confirmed = "confirmed"
    refused = "refused"


class PersonClaim(Table):  # 认领: an account asks to take over a record a delegation made
    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    status = Varchar(length=12, choices=ClaimStatus, default=ClaimStatus.pending.value)
    # "phone": the account's mobile number matched the one on file; "delegation"/"organizer":
    # confirmed by a person of that role.
    proof = Varchar(length=12, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
    decided_by = Integer(null=True, default=None)


class Photo(Table):  # 照片: re-encoded on upload, stored in the database so every worker sees it
    person = ForeignKey(Person, on_delete=OnDelete.cascade, null=False, unique=True)
    content = Bytea()
    mime = Varchar(length=20, default="image/jpeg")
    sha256 = Varchar(length=64)
    width = SmallInt()
    height = SmallInt()
    uploaded_at = Timestamptz(default=TimestamptzNow())


class Entry(Table):  # 报名: a person in a trade of a competition, for a delegation
    # No single-column indexes on competition, person, delegation or trade: the composite keys
    # and indexes (module docstring) start with them, and every index costs each of 200,000
    # imported rows.
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False)
    person = ForeignKey(Person, on_delete=OnDelete.restrict, null=False)
    delegation = ForeignKey(Delegation, on_delete=OnDelete.restrict, null=False)
    group_name = Varchar(length=20, default="")  # 组别, e.g. 职工组; "" when the trade has none
    slot = SmallInt()
    status = Varchar(length=24, choices=EntryStatus, default=EntryStatus.submitted.value)
    source = Varchar(length=8, choices=EntrySource, default=EntrySource.self_service.value)
    # The last reason given when the entry was rejected or revoked, shown to the contestant.
    review_note = Text(default="")
    rejected_by = Varchar(length=20, default="")  # "delegation" / "organizer"
    # The practical session the contestant sits (场次); assigned at final approval.
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.set_null, null=True, default=None)
    ticket_number = Varchar(length=40, null=True, default=None, unique=True)  # 准考证号
    # Raised whenever a ticket is reissued, so an older printout no longer passes check-in.
    ticket_version = SmallInt(default=0)
    submitted_at = Timestamptz(default=TimestamptzNow())
    reviewed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CheckIn(Table):  # 检录
    # unique: (entry, session), which also serves every lookup by entry.
    entry = ForeignKey(Entry, on_delete=OnDelete.cascade, null=False)
    session = ForeignKey(CompetitionSession, on_delete=OnDelete.restrict, null=False)
    checked_in_at = Timestamptz(default=TimestamptzNow())
    checked_in_by = Integer(null=True, default=None)
    # Sent by the scanning page with each request; a retried request finds its own nonce.
    nonce = Varchar(length=64, unique=True)


class AwardHistory(
    Table
):  # 往届获奖记录: who won what before, for the "no second first prize" rule
    id_number = Varchar(length=18, index=True)
    name = Varchar(length=50, default="")
    trade_name = Varchar(length=100)
    award = Varchar(length=10)  # first / second / third
    year = Integer()
    competition_name = Varchar(length=200, default="")


class ImportBatch(Table):  # 导入批次: an uploaded file between its dry run and the decision
    token = Varchar(length=64, unique=True)
    competition = ForeignKey(Competition, on_delete=OnDelete.cascade, null=False)
    # None: an organizer's import for every delegation.
    delegation = ForeignKey(Delegation, on_delete=OnDelete.cascade, null=True, default=None)
    user_id = Integer(null=True, default=None)
    filename = Varchar(length=200, default="")
    content = Bytea()
    # The dry run's plan (registration/imports/plan.py), so the decision needs no second read
    # and check of the file; emptied with the content once the batch is decided.
    plan = Bytea(default=b"")
    status = Varchar(length=12, default="checked")  # checked / imported / discarded
    summary = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())
