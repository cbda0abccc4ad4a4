"""The results' own tables: the published versions of a trade's results, and the appeals
against them. Rankings are not stored: they are worked out from the totals whenever asked
(`competition/results/standings.py`), and what was shown to the public is kept, version by
version, in `Publication.rows`."""

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

from competition.tables import Competition, Delegation, Trade
from registration.tables import Entry


class PublicationStatus(enum.StrEnum):
    notice = "notice"  # 公示中: on the public page, appeals may be filed
    superseded = "superseded"  # replaced by a later version (a correction after an appeal)
    withdrawn = "withdrawn"  # taken down by the organizer (the trade went back to "decrypted")
    final = "final"  # 最终结果: the notice period ended; frozen


class Publication(Table, tablename="result_publication"):  # 成绩公示: one published version
    # unique: (trade, version)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    version = SmallInt()
    status = Varchar(length=12, choices=PublicationStatus, default=PublicationStatus.notice.value)
    published_at = Timestamptz(default=TimestamptzNow())
    published_by = Integer(null=True, default=None)
    notice_ends_at = Timestamptz()
    # Appeals are accepted until then (the competition's appeal window after publication).
    appeals_close_at = Timestamptz()
    note = Text(default="")  # why this version (e.g. the appeal that corrected it)
    # The rows as published, best first: what the public page of this version shows, names
    # already masked (competition/results/publication.py, `PublishedRow`).
    rows = JSON(default=[])
    settings = JSON(default={})  # the award rules and tie-break chain the rows were made with
    ended_at = Timestamptz(null=True, default=None)  # superseded, withdrawn or made final


class AppealStatus(enum.StrEnum):
    filed = "filed"  # 待裁决
    upheld = "upheld"  # 申诉成立: the score is corrected through the locked-change path
    dismissed = "dismissed"  # 驳回


class Appeal(Table):  # 申诉: by a contestant or their delegation, within the trade's window
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, index=True)
    delegation = ForeignKey(Delegation, on_delete=OnDelete.restrict, null=False)
    publication_version = SmallInt()
    filed_by = Integer()  # the user
    filed_as = Varchar(length=20)  # contestant / delegation_admin
    text = Text()
    status = Varchar(length=10, choices=AppealStatus, default=AppealStatus.filed.value)
    ruling = Text(default="")
    ruled_by = Integer(null=True, default=None)
    ruled_at = Timestamptz(null=True, default=None)
    filed_at = Timestamptz(default=TimestamptzNow())


class CertificateKind(enum.StrEnum):
    award = "award"  # 一/二/三等奖
    title = "title"  # 荣誉称号, e.g. 省技术能手
    promotion = "promotion"  # 晋升技能等级, e.g. 高级技师


class CertificateStatus(enum.StrEnum):
    valid = "valid"  # 有效
    revoked = "revoked"  # 已撤销: the verification page says so, with the date and no reason


class Certificate(Table):  # 证书: one award, title or promotion of one entry
    # unique: (entry, kind)
    number = Varchar(length=48, unique=True)  # competition/results/certificates/numbers.py
    competition = ForeignKey(Competition, on_delete=OnDelete.restrict, null=False, index=True)
    trade = ForeignKey(Trade, on_delete=OnDelete.restrict, null=False, index=True)
    entry = ForeignKey(Entry, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=12, choices=CertificateKind)
    # What it certifies and to whom, as printed on its current version: the results behind it
    # are final, and a later change of a person's record must not rewrite a certificate
    # silently (a reissue prints the record as it is then).
    honour = Varchar(length=100)  # 一等奖 / 省技术能手 / 高级技师
    holder_name = Varchar(length=100)
    delegation_name = Varchar(length=200, default="")
    trade_name = Varchar(length=100)
    group_name = Varchar(length=50, default="")
    place = Integer(null=True, default=None)
    total = Integer(null=True, default=None)  # hundredths
    status = Varchar(length=10, choices=CertificateStatus, default=CertificateStatus.valid.value)
    version = SmallInt(default=1)  # a reissue keeps the number and counts up
    issued_at = Timestamptz(default=TimestamptzNow())
    issued_by = Integer(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = Integer(null=True, default=None)
    revoke_reason = Text(default="")


class CertificateRevision(Table):  # 证书版本: what each version of a certificate printed
    certificate = ForeignKey(Certificate, on_delete=OnDelete.cascade, null=False, index=True)
    version = SmallInt()
    issued_at = Timestamptz(default=TimestamptzNow())
    issued_by = Integer(null=True, default=None)
    reason = Text(default="")  # empty for the first issue
    printed = JSON(default={})  # holder, honour, trade, group, delegation of that version


class CertificateLayout(Table):  # 证书版式: one per competition; none means the default design
    competition = ForeignKey(Competition, on_delete=OnDelete.cascade, null=False, unique=True)
    heading = Varchar(length=40, default="荣誉证书")
    issuer = Varchar(length=200, default="")  # printed under the text (the organizer by default)
    issued_on = Date(null=True, default=None)  # the date printed; None: the day it is made
    # An A4 landscape picture behind the text (PNG or JPEG, checked on upload); the default frame
    # is drawn only without one.
    background = Bytea(default=b"")
    background_type = Varchar(length=20, default="")
    # Field → {"x": mm from the left, "y": mm from the top, "size": points, "width": mm}
    # (competition/results/certificates/layout.py holds the defaults).
    positions = JSON(default={})
    updated_at = Timestamptz(default=TimestamptzNow())
