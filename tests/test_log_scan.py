"""The log scan of the whole run (tests/log_scan.py) catches what it is for: a resident ID
number or a mobile number in a log record fails the run; an 18-digit number that is no ID (its
check character is wrong) and the test clients' own URL logs do not."""

from __future__ import annotations

import datetime as dt
import logging

from registration.idcard import compose
from tests import log_scan


def test_an_id_or_phone_number_in_a_log_record_is_found_and_masked():
    number = compose("630102", dt.date(1990, 5, 17), 123)
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    before = list(log_scan.KEEPER.found)
    try:
        logging.getLogger("competition.example").warning("looked up %s and 13912345678", number)
        logging.getLogger("competition.example").warning("order %s", wrong_check)
        logging.getLogger("httpx").warning("GET /search?q=%s", number)
        new = log_scan.KEEPER.found[len(before) :]
        assert len(new) == 1, new  # one record: the ID and the phone; not the wrong check
        assert number not in new[0] and "13912345678" not in new[0]
        assert "competition.example" in new[0] and "139****5678" in new[0]
    finally:
        log_scan.KEEPER.found[:] = before  # the example is not a leak of the run
