"""Sign-in throttling over HTTP: waits that grow per address and username, a warning before they
begin, and never a lock that keeps the right password out from another address.

The clock is moved forward (competition.clock.now) instead of waiting; each browser comes from
an address of its own (the ASGI client address, which is what uvicorn passes on when no proxy
is trusted: tests/test_serving.py checks that part)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from competition import clock, throttle
from competition.i18n import N_, gettext
from competition.tables import LoginThrottle, Role, User, UserSession
from competition.web.middleware import SESSION_COOKIE
from tests.support import PASSWORD, as_browser, make_user


def zh(message: str, **params) -> str:
    text = gettext(message, **params)  # zh_CN is the default locale
    assert text != message.format(**params), f"no Chinese translation for {message!r}"
    return text


def seconds(n: int):
    return N_("{n} seconds", n=n)


def minutes(n: int):
    return N_("1 minute") if n == 1 else N_("{n} minutes", n=n)


WRONG = zh("Wrong username or password.")


def left(n: int, wait) -> str:
    if n == 1:
        return zh(
            "Wrong username or password. 1 attempt left before you must wait {wait}.", wait=wait
        )
    return zh(
        "Wrong username or password. {left} attempts left before you must wait {wait}.",
        left=n,
        wait=wait,
    )


def wait_next(wait) -> str:
    return zh("Wrong username or password. Wait {wait} before the next try.", wait=wait)


def refused(wait) -> str:
    return zh("Too many failed sign-ins. Try again in {wait}.", wait=wait)


class Clock:
    """competition.clock.now, standing still until the test moves it forward (so a wait shown
    right after a failure is the whole wait, however slow the machine)."""

    def __init__(self) -> None:
        self.current = dt.datetime.now(dt.UTC)

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)

    def now(self) -> dt.datetime:
        return self.current


@pytest.fixture
def moved_clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
async def browsers(app):
    """browsers(address) -> an HTTP client whose requests come from that address."""
    opened: list[httpx.AsyncClient] = []

    def open_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        browser = as_browser(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        opened.append(browser)
        return browser

    yield open_from
    for browser in opened:
        await browser.aclose()


async def sign_in(browser: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    if "csrftoken" not in browser.cookies:
        assert (await browser.get("/login")).status_code == 200
    return await browser.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "_csrf_token": browser.cookies["csrftoken"],
        },
    )


async def assert_wrong(browser, username: str, message: str) -> None:
    response = await sign_in(browser, username, "not-the-password")
    assert response.status_code == 400, response.text
    assert message in response.text
    assert f'value="{username}"' in response.text


async def assert_refused(browser, username: str, wait, password: str = PASSWORD) -> None:
    response = await sign_in(browser, username, password)
    assert response.status_code == 429
    assert refused(wait) in response.text
    assert SESSION_COOKIE not in browser.cookies


async def test_the_last_free_tries_warn_and_then_each_wait_doubles_up_to_a_cap(
    empty_db, browsers, moved_clock
):
    assert throttle.PAIR_FREE == 5
    assert throttle.FIRST_WAIT.total_seconds() == 30
    await make_user("ma.xiaoyan", Role.organizer)
    office = browsers("10.0.0.1")
    await assert_wrong(office, "ma.xiaoyan", WRONG)
    await assert_wrong(office, "ma.xiaoyan", WRONG)
    await assert_wrong(office, "ma.xiaoyan", left(2, seconds(30)))
    await assert_wrong(office, "ma.xiaoyan", left(1, seconds(30)))
    await assert_wrong(office, "ma.xiaoyan", wait_next(seconds(30)))

    # While the wait lasts even the right password is refused, and the refusal costs nothing.
    for _ in range(3):
        await assert_refused(office, "ma.xiaoyan", seconds(30))
    assert await UserSession.count() == 0

    # Each further failure doubles the wait: 1, 2, 4, 8 minutes, then 15 at most.
    previous = 0.5
    for wait in (1, 2, 4, 8, 15, 15):
        moved_clock.advance(minutes=previous - 0.1)
        await assert_refused(office, "ma.xiaoyan", seconds(6))
        moved_clock.advance(minutes=0.1)
        await assert_wrong(office, "ma.xiaoyan", wait_next(minutes(wait)))
        await assert_refused(office, "ma.xiaoyan", minutes(wait))
        previous = wait

    # Once the wait is over the right password signs in, and the failures are forgotten.
    moved_clock.advance(minutes=15, seconds=1)
    response = await sign_in(office, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/org"
    await office.post("/logout", data={"_csrf_token": office.cookies["csrftoken"]})
    await assert_wrong(office, "ma.xiaoyan", WRONG)


async def test_hammering_a_username_from_elsewhere_never_keeps_its_owner_out(
    empty_db, browsers, moved_clock
):
    await make_user("ma.xiaoyan", Role.organizer)
    attacker = browsers("203.0.113.9")
    for _ in range(throttle.PAIR_FREE):
        await sign_in(attacker, "ma.xiaoyan", "guess")
    await assert_refused(attacker, "ma.xiaoyan", seconds(30))
    # The same username from many other addresses, enough to mark it as under attack.
    for n in range(throttle.USER_UNDER_ATTACK):
        bot = browsers(f"198.51.100.{n + 1}")
        assert (await sign_in(bot, "ma.xiaoyan", "guess")).status_code == 400

    # The organizer at her office: the right password gets in at once, first try.
    office = browsers("10.0.0.1")
    response = await sign_in(office, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 303
    assert (await office.get("/org")).status_code == 200

    # The attacker's own address still waits; a username under attack gives every other
    # address only PAIR_FREE_UNDER_ATTACK free tries before its waits begin.
    await assert_refused(attacker, "ma.xiaoyan", seconds(30))
    assert throttle.PAIR_FREE_UNDER_ATTACK == 2
    newcomer = browsers("192.0.2.77")
    await assert_wrong(newcomer, "ma.xiaoyan", left(1, seconds(30)))
    await assert_wrong(newcomer, "ma.xiaoyan", wait_next(seconds(30)))
    await assert_refused(newcomer, "ma.xiaoyan", seconds(30))

    # Even an hour of hammering leaves the office a way in.
    moved_clock.advance(hours=1)
    for _ in range(throttle.PAIR_FREE + 3):
        await sign_in(attacker, "ma.xiaoyan", "guess")
        moved_clock.advance(minutes=16)
    office_again = browsers("10.0.0.1")
    assert (await sign_in(office_again, "ma.xiaoyan", PASSWORD)).status_code == 303


async def test_one_address_trying_many_usernames_waits_for_all_of_them(
    empty_db, browsers, moved_clock
):
    assert throttle.ADDRESS_FREE == 50
    await make_user("ma.xiaoyan", Role.organizer)
    sprayer = browsers("203.0.113.50")
    for n in range(throttle.ADDRESS_FREE - 1):
        assert (await sign_in(sprayer, f"user{n:03d}", "guess")).status_code == 400
    await assert_wrong(sprayer, "user999", wait_next(seconds(30)))
    # A real account from that address waits too, from any other address it does not.
    await assert_refused(sprayer, "ma.xiaoyan", seconds(30))
    assert (await sign_in(browsers("10.0.0.1"), "ma.xiaoyan", PASSWORD)).status_code == 303
    moved_clock.advance(seconds=31)
    assert (await sign_in(sprayer, "ma.xiaoyan", PASSWORD)).status_code == 303


async def test_a_burst_of_simultaneous_tries_gets_only_the_free_ones(empty_db, browsers):
    """Each try is counted before its password is checked, so tries sent at the same moment
    cannot all pass the check while the first hashes are being computed."""
    await make_user("ma.xiaoyan", Role.organizer)
    burst = browsers("203.0.113.7")
    assert (await burst.get("/login")).status_code == 200
    responses = await asyncio.gather(
        *(sign_in(burst, "ma.xiaoyan", f"guess-{n}") for n in range(12))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [400] * throttle.PAIR_FREE + [429] * (12 - throttle.PAIR_FREE)


async def test_successful_sign_ins_do_not_count_and_the_table_names_no_one(
    empty_db, browsers, moved_clock
):
    await make_user("ma.xiaoyan", Role.organizer)
    hall = browsers("10.20.30.40")
    for _ in range(3):
        await sign_in(hall, "zhao.typo", "guess")
    for _ in range(3):
        assert (await sign_in(hall, "ma.xiaoyan", PASSWORD)).status_code == 303
        hall.cookies.delete(SESSION_COOKIE)
    rows = await LoginThrottle.select()
    by_key = {r["key_hash"]: r for r in rows}
    assert by_key[throttle.key("address", "10.20.30.40")]["failures"] == 3
    # The username that signed in has no count left: from this address, nor of its own.
    user_rows = [by_key.get(throttle._user_key(n)) for n in ("zhao.typo", "ma.xiaoyan")]
    assert user_rows[0]["failures"] == 3
    assert user_rows[1] is None or user_rows[1]["failures"] == 0
    # Keyed hashes only: neither the address nor a username is stored.
    stored = repr(rows)
    for secret in ("10.20.30.40", "zhao.typo", "ma.xiaoyan"):
        assert secret not in stored


async def test_counts_are_forgotten_an_hour_after_the_first_failure(
    empty_db, browsers, moved_clock
):
    await make_user("ma.xiaoyan", Role.organizer)
    office = browsers("10.0.0.1")
    for _ in range(3):
        await sign_in(office, "ma.xiaoyan", "guess")
    await assert_wrong(office, "ma.xiaoyan", left(1, seconds(30)))
    moved_clock.advance(hours=1, seconds=1)
    await assert_wrong(office, "ma.xiaoyan", WRONG)
    await assert_wrong(office, "ma.xiaoyan", WRONG)
    await assert_wrong(office, "ma.xiaoyan", left(2, seconds(30)))


async def test_unknown_and_deactivated_usernames_are_answered_like_a_wrong_password(
    empty_db, browsers, moved_clock
):
    user_id = await make_user("ma.xiaoyan", Role.organizer)
    await User.update({User.is_active: False}).where(User.id == user_id)
    for username, password in (("nobody.here", "guess"), ("ma.xiaoyan", PASSWORD)):
        browser = browsers("10.0.0.9" if username == "nobody.here" else "10.0.0.8")
        await assert_wrong(browser, username, WRONG)
        for _ in range(throttle.PAIR_FREE - 2):
            await sign_in(browser, username, password)
        await assert_wrong(browser, username, wait_next(seconds(30)))
        await assert_refused(browser, username, seconds(30), password=password)
    assert await UserSession.count() == 0


async def test_the_english_page_says_the_same(empty_db, browsers, moved_clock):
    await make_user("ma.xiaoyan", Role.organizer)
    browser = browsers("10.0.0.1")
    browser.cookies.set("lang", "en")
    for _ in range(2):
        await sign_in(browser, "ma.xiaoyan", "guess")
    response = await sign_in(browser, "ma.xiaoyan", "guess")
    assert "Wrong username or password. 2 attempts left before you must wait 30 seconds." in (
        response.text
    )
    await sign_in(browser, "ma.xiaoyan", "guess")
    response = await sign_in(browser, "ma.xiaoyan", "guess")
    assert "Wait 30 seconds before the next try." in response.text
    response = await sign_in(browser, "ma.xiaoyan", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 30 seconds." in response.text


async def test_counts_nobody_needs_are_purged_and_waits_in_force_are_kept(
    empty_db, browsers, moved_clock
):
    guesser = browsers("203.0.113.1")
    for n in range(3):
        await sign_in(guesser, f"made.up.{n}", "guess")
    moved_clock.advance(minutes=61)
    await sign_in(guesser, "made.up.9", "guess")  # counts of this hour (the address's restarts)
    now = clock.now()
    long_wait = "w" * 64  # a window that is over, with a wait still in force
    await LoginThrottle.insert(
        LoginThrottle(
            key_hash=long_wait,
            failures=12,
            window_started_at=now - dt.timedelta(hours=2),
            locked_until=now + dt.timedelta(minutes=5),
        )
    )
    # Each made-up username of the last hour left two counts: its own and with this address.
    assert await throttle.purge_stale() == 6
    kept = {r["key_hash"] for r in await LoginThrottle.select(LoginThrottle.key_hash)}
    assert kept == {
        long_wait,
        throttle.key("address", "203.0.113.1"),
        throttle._user_key("made.up.9"),
        throttle._pair_key("made.up.9", "203.0.113.1"),
    }


async def test_simultaneous_right_passwords_from_one_address_never_deadlock(empty_db, browsers):
    """A refund (the right password) touches the same rows as the tries counted around it, in
    the same order: on PostgreSQL a refund taking them in another order deadlocked and answered
    500 (16 sign-ins of one organizer from one hall's address)."""
    await make_user("ma.xiaoyan", Role.organizer)
    hall = [browsers("198.51.100.9") for _ in range(16)]
    for browser in hall:
        assert (await browser.get("/login")).status_code == 200
    for _round in range(3):
        responses = await asyncio.gather(*(sign_in(b, "ma.xiaoyan", PASSWORD) for b in hall))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {303, 429}, statuses
        assert statuses.count(303) >= throttle.PAIR_FREE
        for browser in hall:
            browser.cookies.delete(SESSION_COOKIE)
