"""A background job's row and the files it made."""

from __future__ import annotations

import enum

from piccolo.columns import JSON, Bytea, ForeignKey, Integer, SmallInt, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from competition.tables import Competition


class JobState(enum.StrEnum):
    queued = "queued"  # 排队中
    running = "running"  # 进行中
    done = "done"  # 已完成
    failed = "failed"  # 失败: `error` says why, in the reader's language


class BackgroundJob(Table, tablename="background_job"):  # 后台任务
    kind = Varchar(length=64)  # a name registered in `competition.jobs.kinds`
    # The queue's key for it: a worker runs the row only with this key, so a queue entry left
    # from a database that was since reset (row ids start again) runs nothing.
    queue_key = Varchar(length=64, default="")
    competition = ForeignKey(Competition, on_delete=OnDelete.cascade, null=True, index=True)
    requested_by = Integer(null=True, default=None)  # the user; a plain id, like the audit trail
    params = JSON(default={})
    state = Varchar(length=10, choices=JobState, default=JobState.queued.value)
    done = Integer(default=0)
    total = Integer(default=0)
    step = Varchar(length=200, default="")  # what it is doing now: a msgid
    attempts = SmallInt(default=0)
    error_code = Varchar(length=64, default="")
    # The failure as a msgid with its parameters ({"message": …, "params": {…}}), translated when
    # shown.
    error = JSON(null=True, default=None)
    summary = JSON(default={})  # what the handler reports it made (counts), for the page
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    # The last sign of life of the worker running it: a running job whose heartbeat stops is
    # shown as stalled until the queue's sweep runs it again.
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class JobFile(Table):  # 任务文件: what a finished job made, kept in the database so any web
    # worker on any machine can hand it out
    job = ForeignKey(BackgroundJob, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=200)  # the name it is saved under (may be Chinese)
    ascii_name = Varchar(length=200)
    media_type = Varchar(length=100)
    size = Integer()
    content = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())
