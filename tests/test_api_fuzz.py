"""The JSON API fuzzed by schemathesis from the app's own OpenAPI schema, against a real server
over a real database with the demo loaded, signed in as every role and as no one: whatever the
generated path, query and body, no answer is a server error.

CI runs a few examples an operation (`JIANGXIN_FUZZ_EXAMPLES`, default 5); `make fuzz` runs
many more.
"""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from competition.demo.loader import DEMO_PASSWORD

EXAMPLES = int(os.environ.get("JIANGXIN_FUZZ_EXAMPLES", "5"))
# One demo account a role (tests/test_route_guards.py DEMO_USERS), and no one.
WHO = ("anonymous", "organizer", "xining", "judge", "chief", "supervisor", "contestant",
       "clerk", "encryption")  # fmt: skip
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def sessions(demo_mutable, live_server) -> dict[str, tuple[requests.Session, str]]:
    """A signed-in browser-like session for each role (and an anonymous one), with its CSRF
    token and the site's origin, as the pages' scripts send them."""
    out = {}
    for who in WHO:
        session = requests.Session()
        session.headers["origin"] = live_server
        session.get(f"{live_server}/login", timeout=10)
        token = session.cookies.get("csrftoken", "")
        if who != "anonymous":
            signed = session.post(
                f"{live_server}/login",
                data={"username": who, "password": DEMO_PASSWORD, "_csrf_token": token},
                allow_redirects=False,
                timeout=10,
            )
            assert signed.status_code == 303, (who, signed.status_code)
        out[who] = (session, token)
    return out


def test_no_generated_request_is_a_server_error(sessions, live_server):
    # schemathesis' own pytest plugin (`from_fixture`) does not run under pytest 9: each
    # operation's cases come from its hypothesis strategy here instead.
    schema = schemathesis.openapi.from_url(f"{live_server}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    tried: list[str] = []
    calls = [0]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def fuzz(case) -> None:
            for who, (session, token) in sessions.items():
                headers = {"x-csrftoken": token} if case.method.upper() in UNSAFE else {}
                response = case.call(base_url=live_server, session=session, headers=headers,
                                     timeout=30)  # fmt: skip
                calls[0] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} as {who}: {response.status_code} "
                    f"{response.text[:300]}"
                )
                case.validate_response(response, checks=[not_a_server_error])

        fuzz()
        tried.append(f"{operation.method.upper()} {operation.path}")
    assert len(tried) == len(operations)
    assert calls[0] >= len(operations) * len(WHO)
