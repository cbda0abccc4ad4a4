"""No personal data in the logs: every log record the app writes during the whole test run is
kept, and at the end it is searched for resident ID numbers (18 characters with a right check
character) and mobile phone numbers. One found fails the run, with the logger and a masked copy
of the line.

Left out: the test clients' own loggers (httpx logs the URLs the tests request, which the server
never logs with their query strings) and the processes the tests start (served apart; their
access logs are checked by tests/test_serving.py).
"""

from __future__ import annotations

import logging
import re

from registration.idcard import check_character, mask

CLIENT_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3", "requests", "schemathesis", "hypothesis")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


class _Keeper(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_LOGGERS):
            return
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format: its template, then
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + str(record.exc_info[1])
        ids = [m.group(1).upper() for m in ID_NUMBER.finditer(text)]
        ids = [n for n in ids if check_character(n[:17]) == n[17]]
        phones = [m.group(1) for m in PHONE.finditer(text)]
        if not ids and not phones:
            return
        shown = text[:160]
        for number in ids:
            shown = re.sub(re.escape(number), mask(number), shown, flags=re.IGNORECASE)
        for phone in phones:
            shown = shown.replace(phone, phone[:3] + "****" + phone[-4:])
        what = ", ".join([*(f"ID number {mask(n)}" for n in ids),
                          *(f"phone {p[:3]}****{p[-4:]}" for p in phones)])  # fmt: skip
        self.found.append(f"{record.name}: {what} in {shown!r}")


KEEPER = _Keeper()


def start() -> None:
    """Attach the keeper to the root logger (again, if a test's logging set-up dropped it: a
    `dictConfig` replaces the root's handlers)."""
    root = logging.getLogger()
    if KEEPER not in root.handlers:
        root.addHandler(KEEPER)


def findings() -> list[str]:
    return list(dict.fromkeys(KEEPER.found))
