"""Test set-up shared by every package's tests.

DATABASE_URL is fixed here before anything imports a `tables` module (Piccolo binds tables to
the engine at import). Without DATABASE_URL the suite runs on a fresh SQLite file; with a
`postgresql://…` URL it runs on that database, whose public schema it wipes first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="jiangxin-tests-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/test.sqlite3")
os.environ["JIANGXIN_SECRET"] = "test-secret-" + "x" * 40
os.environ["JIANGXIN_COOKIE_SECURE"] = "0"

import pytest  # noqa: E402

from competition import i18n  # noqa: E402
from tests import log_scan  # noqa: E402

pytest_plugins = ["tests.fixtures", "tests.browser_support"]


def pytest_sessionstart(session: pytest.Session) -> None:
    i18n.start_recording_missing()
    log_scan.start()


def pytest_runtest_setup(item: pytest.Item) -> None:
    log_scan.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every message the suite showed in Chinese must have a translation: an English sentence
    leaking into the zh-CN interface fails the run."""
    missing = sorted(i18n.recorded_missing())
    if missing:
        lines = "\n".join(f"  msgid {m!r}" for m in missing)
        print(f"\n{len(missing)} messages were shown untranslated in zh_CN:\n{lines}")
        session.exitstatus = 1
    # No ID or phone number in any log record the app wrote during the run.
    leaks = log_scan.findings()
    if leaks:
        lines = "\n".join(f"  {leak}" for leak in leaks[:20])
        print(f"\n{len(leaks)} log records hold personal data:\n{lines}")
        session.exitstatus = 1
