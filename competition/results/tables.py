"""The results' own tables: the published versions of a trade's results, and the appeals
against them. Rankings are not stored: they are worked out from the totals whenever asked
(`competition/results/standings.py`), and what was shown to the public is kept, version by
version, in `Publication.rows`."""

from __future__ import annotations

import enum

from piccolo.columns import JSON, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from competition.tables import Delegation, Trade
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
