"""Time as people at the competition read it: stored in UTC, shown in the local zone."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

# Competitions run on local time; timestamps are stored in UTC and shown in this zone.
DISPLAY_TIMEZONE = ZoneInfo(os.environ.get("JIANGXIN_TIMEZONE", "Asia/Shanghai"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_today() -> dt.date:
    """Today where the competition is: a deadline day ends at midnight local time."""
    return now().astimezone(DISPLAY_TIMEZONE).date()


def local_time(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(DISPLAY_TIMEZONE)


def format_datetime(value: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    local = local_time(value)
    return local.strftime(pattern) if local else ""


def format_date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""
