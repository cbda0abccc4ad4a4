"""The scoring pages in real headless Chromium against uvicorn on the test database
(tests/browser_support.py): a judge signing in with the QR badge (裁判证) on a shared tablet,
the organizer closing check-in of ticked trades on the trade-stages page (工种进度), and one
trade's panel page (裁判组) working under the Content-Security-Policy.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from competition import clock
from competition.audit import SYSTEM
from competition.demo.loader import DEMO_PASSWORD
from competition.tables import Trade
from competition.web.middleware import SESSION_COOKIE
from scoring.demo.panels import load_demo_panels
from scoring.panels import badges
from scoring.tables import Judge, JudgeBadge, PanelMember, SessionJudge
from tests.support import qr_in_pdf

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
TABLET_PORTRAIT = {"width": 800, "height": 1280}
TABLET_LANDSCAPE = {"width": 1280, "height": 800}
TABLET = {"viewport": TABLET_PORTRAIT, "is_mobile": True, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PROBLEMS = ("error", "warning")  # console message types that fail a page
MIN_TOUCH_PX = 44  # the smallest comfortable touch target (Apple HIG, WCAG 2.5.5)
# Recorded from before the first page script runs (as in tests/test_security_browser.py).
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


async def _new_page(context: BrowserContext) -> Page:
    await context.add_init_script(WATCH_VIOLATIONS)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


async def _organizer(browser, base: str, **context) -> Page:
    page = await _new_page(await browser.new_context(**context))
    await page.goto(f"{base}/login")
    await page.fill("#username", "organizer")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{base}/org")
    return page


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width, page.viewport_size)


async def _violations(page: Page) -> list[str]:
    return await page.evaluate("window.__violations")


async def _session_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in await context.cookies() if c["name"] == SESSION_COOKIE), None)


async def _trade_id(cid: int, code: str) -> int:
    row = (
        await Trade.select(Trade.id)
        .where((Trade.competition == cid) & (Trade.code == code))
        .first()
    )
    return row["id"]


async def _judge_id(cid: int, username: str) -> int:
    row = (
        await Judge.select(Judge.id)
        .where((Judge.competition == cid) & (Judge.user.username == username))
        .first()
    )
    return row["id"]


async def _badge_token(cid: int, username: str) -> str:
    [issued] = await badges.issue_badges(cid, [await _judge_id(cid, username)], actor=SYSTEM)
    return issued.token


# ---------------------------------------------------------------------------- badge sign-in


async def _tap_sign_in(page: Page, name: str) -> None:
    """The badge page's one big button: a touch target, tapped."""
    button = page.get_by_role("button", name=f"以{name}的身份登录")
    await expect(button).to_be_visible()
    box = await button.bounding_box()
    assert box and box["height"] >= MIN_TOUCH_PX, box
    form = await page.locator("form[action^='/badge/']").bounding_box()
    assert form and box["width"] >= form["width"] - 1, (box, form)  # spans the card
    await _no_sideways_scroll(page)
    await button.tap()


async def test_a_judge_signs_in_on_a_tablet_with_the_printed_badge_then_the_chief_takes_over(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    await load_demo_panels(cid)
    judge_id = await _judge_id(cid, "judge")

    # The organizer prints the badge on the judge's page; its QR code is the sign-in URL.
    organizer = await _organizer(browser, live_server, accept_downloads=True, **DESKTOP)
    await organizer.goto(f"{live_server}/org/competitions/{cid}/judges/{judge_id}")
    async with organizer.expect_download() as download_info:
        await organizer.get_by_role("button", name="打印新裁判证").click()
    download = await download_info.value
    with open(await download.path(), "rb") as pdf:
        url = qr_in_pdf(pdf.read())
    assert re.fullmatch(rf"{re.escape(live_server)}/badge/[\w-]{{30,}}", url), url
    await organizer.reload()
    await expect(organizer.locator("#badge-status")).to_contain_text("有效")
    await organizer.context.close()

    tablet = await browser.new_context(**TABLET)
    page = await _new_page(tablet)
    await page.goto(url)
    await expect(page.locator("h1")).to_have_text("裁判证")
    assert await _session_cookie(tablet) is None  # opening the badge signs nobody in
    await _tap_sign_in(page, "马建国")
    await expect(page).to_have_url(f"{live_server}/judge")
    card = page.locator(".trade-card")
    await expect(card).to_have_count(1)
    await expect(card.locator("h2")).to_contain_text("焊工")
    await expect(card.locator("h2")).to_contain_text("T001")
    await expect(card.locator(".badge.phase")).to_have_text("未抽签")
    await expect(card).to_contain_text("您在裁判组中的职务: 裁判员")
    await _no_sideways_scroll(page)
    judge_session = await _session_cookie(tablet)
    assert judge_session

    # Turned to landscape, the same tablet is handed to the chief judge, badge in hand.
    await page.set_viewport_size(TABLET_LANDSCAPE)
    await _no_sideways_scroll(page)
    await page.goto(f"{live_server}/badge/{await _badge_token(cid, 'chief')}")
    await _tap_sign_in(page, "王志刚")
    await expect(page).to_have_url(f"{live_server}/judge")
    await expect(page.locator("h1")).to_contain_text("王志刚")
    await expect(card.locator("h2")).to_contain_text("焊工")
    await expect(card).to_contain_text("您在裁判组中的职务: 裁判长")
    await _no_sideways_scroll(page)
    chief_session = await _session_cookie(tablet)
    assert chief_session and chief_session != judge_session
    await page.goto(f"{live_server}/chief")
    await expect(page.locator(".trade-card h2")).to_contain_text("焊工")
    await expect(page.locator(".trade-card .badge.phase")).to_have_text("未抽签")
    await _no_sideways_scroll(page)
    assert await _violations(page) == []

    # The judge who used the tablet before is signed out, not merely hidden.
    other = await browser.new_context(**TABLET)
    await other.add_cookies([{"name": SESSION_COOKIE, "value": judge_session, "url": live_server}])
    stale = await _new_page(other)
    await stale.goto(f"{live_server}/judge")
    await expect(stale).to_have_url(re.compile(r"/login"))
    await other.close()
    await tablet.close()


async def test_an_expired_or_revoked_badge_is_refused_in_chinese_and_signs_nobody_in(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    await load_demo_panels(cid)
    tablet = await browser.new_context(**TABLET)
    page = await _new_page(tablet)

    # Revoked by the organizer.
    token = await _badge_token(cid, "judge2")
    await badges.revoke_badges(cid, await _judge_id(cid, "judge2"), actor=SYSTEM)
    response = await page.goto(f"{live_server}/badge/{token}")
    assert response.status == 410
    await expect(page.locator("#badge-error")).to_have_text(
        "此裁判证已作废。请向组委会申领新证，或使用密码登录。"
    )
    await expect(page.locator("form[action^='/badge/'] button")).to_have_count(0)
    await expect(page.get_by_role("link", name="使用密码登录")).to_be_visible()
    await _no_sideways_scroll(page)

    # Expired while the judge held the page open: the tap is checked again and refused.
    token = await _badge_token(cid, "judge3")
    await page.goto(f"{live_server}/badge/{token}")
    button = page.get_by_role("button", name="以才让多杰的身份登录")
    await expect(button).to_be_visible()
    await JudgeBadge.update({JudgeBadge.expires_at: clock.now() - dt.timedelta(minutes=1)}).where(
        JudgeBadge.token_hash == badges.token_hash(token)
    )
    await button.tap()
    await expect(page.locator("#badge-error")).to_have_text(
        "此裁判证已过期。请向组委会申领新证，或使用密码登录。"
    )
    await expect(page).to_have_url(f"{live_server}/badge/{token}")
    response = await page.reload()
    assert response.status == 410
    await expect(page.locator("#badge-error")).to_contain_text("此裁判证已过期")

    assert await _session_cookie(tablet) is None
    await page.goto(f"{live_server}/judge")
    await expect(page).to_have_url(re.compile(r"/login"))
    assert await _violations(page) == []
    await tablet.close()


# ---------------------------------------------------------------------------- trade stages


async def _ticks(page: Page) -> list[bool]:
    return await page.locator("#trade-stages tbody input[name=trade]").evaluate_all(
        "boxes => boxes.map(b => b.checked)"
    )


async def test_the_organizer_ticks_all_keeps_two_and_closes_their_check_in(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    url = f"{live_server}/org/competitions/{cid}/trade-stages"
    page = await _organizer(browser, live_server, **DESKTOP)
    await page.goto(url)
    rows = page.locator("#trade-stages tbody tr[data-trade]")
    total = await rows.count()
    assert total > 2
    assert not any(await _ticks(page))

    await page.locator("#pick-all").check()
    assert await _ticks(page) == [True] * total
    kept = ["T001", "T002"]
    codes = await rows.evaluate_all("rows => rows.map(r => r.dataset.trade)")
    others = [c for c in codes if c not in kept]
    # A few by the mouse; the other hundred by the same click from the page (seconds saved).
    for code in others[:3]:
        await page.locator(f"tr[data-trade='{code}'] input[name=trade]").uncheck()
    await page.evaluate(
        "codes => codes.forEach(c => document.querySelector(`tr[data-trade=${c}] input`).click())",
        others[3:],
    )
    assert sum(await _ticks(page)) == 2
    await page.get_by_role("button", name="结束检录", exact=True).click()

    await expect(page.locator("#stage-outcome")).to_have_text("结束检录：2 个工种。")
    closed = {
        r["code"]: r["checkin_closed_at"]
        for r in await Trade.select(Trade.code, Trade.checkin_closed_at).where(
            (Trade.competition == cid) & Trade.checkin_closed_at.is_not_null()
        )
    }
    assert sorted(closed) == kept
    for code in kept:
        shown = clock.format_datetime(closed[code])
        await expect(page.locator(f"tr[data-trade={code}] td").nth(3)).to_have_text(
            f"已于 {shown} 结束"
        )
    await expect(page.locator("tr[data-trade=T003] td").nth(3)).not_to_contain_text("已于")
    # The page keeps what was ticked, for a second action on the same trades.
    assert sum(await _ticks(page)) == 2
    assert await _violations(page) == []
    await page.context.close()

    # On a phone the table turns into cards: every trade's tick and the buttons within reach.
    phone = await _organizer(browser, live_server, **PHONE)
    await phone.goto(url)
    await _no_sideways_scroll(phone)
    await expect(phone.locator("#trade-stages thead th").nth(1)).to_be_hidden()
    # The head's tick-all box stays on a phone, with its words to tap.
    words = phone.locator("#trade-stages thead label").get_by_text("勾选本页全部")
    await expect(words).to_be_visible()
    await words.tap()
    await expect(phone.locator("#pick-all")).to_be_checked()
    assert all(await _ticks(phone))
    await words.tap()
    assert not any(await _ticks(phone))
    card = phone.locator("tr[data-trade=T001]")
    await expect(card.locator("td").nth(3)).to_contain_text("已于")
    label = (
        await card.locator("td").nth(1).evaluate("td => getComputedStyle(td, '::before').content")
    )
    assert label == '"工种"', label  # each value says what it is
    # The sticky bar of actions leaves most of the screen to the trades.
    bar = await phone.locator(".bulk-bar").bounding_box()
    assert bar and bar["height"] <= PHONE["viewport"]["height"] / 4, bar
    # A tick is hit a finger's width around its small box: the tap lands off the box itself.
    for code in ("T001", "T003"):
        tick = phone.locator(f"tr[data-trade={code}] input[name=trade]")
        hit = phone.locator(f"tr[data-trade={code}] td.pick label")
        await hit.evaluate("label => label.scrollIntoView({block: 'center'})")
        area, small = await hit.bounding_box(), await tick.bounding_box()
        assert area["width"] >= MIN_TOUCH_PX and area["height"] >= MIN_TOUCH_PX, area
        x, y = area["x"] + 3, area["y"] + 3
        assert not (small["x"] <= x <= small["x"] + small["width"]), (area, small)
        await phone.touchscreen.tap(x, y)
        await expect(tick).to_be_checked()
    reopen = phone.get_by_role("button", name="重新开放检录")
    await reopen.scroll_into_view_if_needed()
    box = await reopen.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    await reopen.tap()
    outcome = phone.locator("#stage-outcome")
    await expect(outcome).to_contain_text("重新开放检录：1 个工种。")
    await expect(outcome.locator("ul.refused li")).to_have_text(
        re.compile(r"^T003 .+: 该工种的检录已经开放。$")
    )
    await _no_sideways_scroll(phone)
    reopened = await Trade.select(Trade.code).where(
        (Trade.competition == cid) & Trade.checkin_closed_at.is_not_null()
    )
    assert reopened == [{"code": "T002"}]
    assert await _violations(phone) == []
    await phone.context.close()


# ---------------------------------------------------------------------------- panel page


async def test_the_panel_page_of_the_welders_works_under_the_policy_and_keeps_its_changes(
    demo_mutable, live_server, browser
):
    cid = demo_mutable.competition_id
    await load_demo_panels(cid)
    welder = await _trade_id(cid, "T001")
    url = f"{live_server}/org/competitions/{cid}/panels/{welder}"
    page = await _organizer(browser, live_server, **DESKTOP)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in PROBLEMS else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(f"{live_server}/org/competitions/{cid}/panels")
    await page.get_by_role("link", name="T001 焊工").click()
    await expect(page).to_have_url(url)
    await expect(page.locator("h1")).to_have_text("裁判组 · T001 焊工")
    members = page.locator("#members tr.member")
    before = await members.count()
    assert before == await PanelMember.count().where(PanelMember.trade == welder)

    # Add a judge of another trade's panel.
    candidate = (
        await Judge.select(Judge.id, Judge.name)
        .where((Judge.competition == cid) & (Judge.user.username == "demo-judge-t002-1"))
        .first()
    )
    await page.select_option("#f-judge", str(candidate["id"]))
    await page.get_by_role("button", name="加入裁判组").click()
    await expect(page).to_have_url(f"{url}?done=saved")
    await expect(page.locator(".notice.ok")).to_have_text("已保存。")
    await expect(members).to_have_count(before + 1)
    added = members.filter(has_text=candidate["name"])
    await expect(added).to_have_count(1)
    await expect(page.locator(f"#f-judge option[value='{candidate['id']}']")).to_have_count(0)

    # Split the panel: the new member, given every practical session, keeps only the first.
    form = page.locator(f"form:has(input[name=judge][value='{candidate['id']}'])").filter(
        has=page.get_by_role("button", name="保存场次")
    )
    boxes = form.locator("input[name=session]")
    given = await boxes.evaluate_all("bs => bs.filter(b => b.checked).map(b => +b.value)")
    assert len(given) >= 2, given
    first = given[0]
    for session_id in given[1:]:
        await form.locator(f"input[name=session][value='{session_id}']").uncheck()
    await form.get_by_role("button", name="保存场次").click()
    await expect(page).to_have_url(f"{url}?done=saved")
    await expect(page.locator(".notice.ok")).to_have_text("已保存。")
    checked = await boxes.evaluate_all("bs => bs.filter(b => b.checked).map(b => +b.value)")
    assert checked == [first]
    stored = await SessionJudge.select(SessionJudge.session).where(
        (SessionJudge.judge == candidate["id"]) & (SessionJudge.session.trade == welder)
    )
    assert stored == [{"session": first}]

    assert problems == []
    assert await _violations(page) == []
    await page.context.close()
