"""One competition from the first registration to a verified certificate, in real headless
Chromium against uvicorn on the test database (tests/browser_support.py), each step done on the
pages by the person whose step it is:

a contestant signs up and registers on a phone and downloads the admission ticket (the PDF holds
the ticket number, its QR code the signed token); the delegation imports an xlsx of its people
and reads the report; the delegation passes first review and the organizer final review; the
organizer moves the competition on; the check-in desk scans the ticket's QR payload; the organizer
closes check-in and runs the draw, then starts the trade; the judge marks the sheet on a tablet,
the network is cut and restored, every mark reaches the database once, and the judge signs; the
chief judge locks; the encryption officer decrypts; the supervisor re-checks the review sample;
the organizer publishes; the contestant appeals on the phone and the supervisor dismisses the
appeal; the organizer makes the results final and prints the certificates (a background job the
test's worker runs); the certificate's QR code opens its verification page on a phone.

Set up through services, because it is the structure the lifecycle runs in (tested on its own
pages elsewhere): the competition (one trade, 焊工, two delegations, one practical session), the
staff accounts, the marking scheme and the judges' panel (the judge marks the session; the chief
judge is on the panel for no session, so marks nothing and locks). Also through services: the
end of the notice period (the clock moved, `Publication.notice_ends_at`) and the background
worker (`run_queued_jobs`, as `jiangxin serve` runs one beside itself).

Every step's screenshot is saved under JIANGXIN_SCREENSHOTS, or test-artifacts/e2e/ (ignored by
git; `make e2e-screenshots` picks the README's pictures from there).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pypdfium2
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page, expect

from competition import accounts, services
from competition.audit import SYSTEM
from competition.config import REPO_ROOT
from competition.demo.loader import load_structure
from competition.passwords import hash_password
from competition.phases import PHASE_LABELS, Phase
from competition.results.tables import Appeal, Certificate, Publication
from competition.tables import CompetitionSession, Role, Trade
from registration.tables import CheckIn, Entry
from scoring.panels import assignment, register
from scoring.panels.register import JudgeIn
from scoring.schemes import service as schemes
from scoring.tables import DrawSlot, Mark, MarkChange, ScoreSheet
from tests.competition.jobs.test_jobs import run_queued_jobs
from tests.page_text import zh
from tests.registration.helpers import new_id
from tests.registration.test_bulk_import_files import row, xlsx_bytes
from tests.scoring.test_sheets_browser import ALL_SAVED, CUT_NETWORK, NETWORK_CUT_FLAG
from tests.support import PASSWORD, qr_in_pdf

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
UPLOAD_TIMEOUT_MS = 20_000  # the tablet's queue retries within 15 s; "online" sends at once
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 820, "height": 1180}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1024, "height": 768}}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
SHOTS = Path(os.environ.get("JIANGXIN_SCREENSHOTS") or ARTIFACTS)

COMPETITION = "青海省第十七届职工职业技能大赛"
TRADE = "焊工"
DELEGATION = "西宁市总工会"
CONTESTANT = "王小明"
MOBILE = "13712345678"
IMPORTED = ("马秀兰", "冶生福")

STRUCTURE = {
    "competition.csv": [
        "code,name,name_en,edition,year,organizer_name,starts_on,ends_on,max_trades_per_person,"
        "appeal_window_minutes,age_cutoff",
        f"E2E,{COMPETITION},Qinghai 17th Workers' Vocational Skills Competition,17,2027,"
        "青海省总工会,2027-05-10,2027-05-12,1,120,2027-05-10",
    ],
    "industries.csv": ["code,name,name_en,sort_order", "ZBZZ,装备制造,Equipment Manufacturing,1"],
    "trades.csv": [
        "code,industry_code,name,name_en,groups,events,min_age,max_age,min_skill_level,"
        "min_years_service,quota_per_delegation,max_entries,awards,min_award_score,judge_rule",
        f"T001,ZBZZ,{TRADE},Welder,,practical:100,16,60,,0,5,20,count:1|1|1,60,mean",
    ],
    "delegations.csv": [
        "code,name,kind,contact_name,contact_phone,sort_order",
        f"XN,{DELEGATION},city,马晓燕,13900971001,1",
        "HD,海东市总工会,city,韩文斌,13900971002,2",
    ],
    "venues.csv": [
        "code,name,address,station_count,station_prefix",
        "QHGZ,青海高等职业技术学院,青海省海东市乐都区七里店高职园区1号,12,A",
    ],
    "sessions.csv": [
        "trade_code,event,venue_code,code,name,starts_at,ends_at",
        "T001,practical,QHGZ,T001-P1,操作技能 第1场,2027-05-11T08:30:00+08:00,"
        "2027-05-11T12:30:00+08:00",
    ],
}
# Four aspects totalling 100, each scored by one judge: two Measurement, two Judgement (0–3).
SCHEME = [
    "工种代码,模块代码,模块名称,评分项代码,评分项描述,类型,分值,裁判人数,需复核,扣分项,"
    "评价0分,评价1分,评价2分,评价3分",
    "T001,A,安全文明生产,A1,劳动防护用品穿戴齐全，焊前检查到位,测量,10,1,,每缺一件:2,,,,",
    "T001,B,板对接焊缝,B1,焊缝余高与宽度符合图纸,测量,40,1,,每处超差:5,,,,",
    "T001,B,板对接焊缝,B2,焊缝外观成形,评价,30,1,,,成形差,成形基本均匀,成形均匀,成形美观",
    "T001,C,焊接工艺,C1,焊接参数选择与记录,评价,20,1,,,未记录,记录不全,记录完整,记录规范",
]
# What the judge gives each contestant (aspect code → value typed or level tapped) and the total
# it makes: Judgement levels are shares of the maximum (2 of 3 of 30 = 20.00).
MARKS = {
    CONTESTANT: ({"A1": "10", "B1": "40", "B2": 3, "C1": 3}, "100.00"),
    IMPORTED[0]: ({"A1": "10", "B1": "35", "B2": 2, "C1": 2}, "78.33"),
    IMPORTED[1]: ({"A1": "8", "B1": "30", "B2": 1, "C1": 2}, "61.33"),
}
STAFF = [  # username, display name, role, scope
    ("organizer", "大赛组委会办公室", Role.organizer, None),
    ("xining", "西宁市总工会（马晓燕）", Role.delegation_admin, "XN"),
    ("clerk", "张丽（检录员）", Role.checkin_clerk, "QHGZ"),
    ("encryption", "孙立新（加密组）", Role.encryption, None),
    ("supervisor", "赵敏（监督仲裁组）", Role.supervisor, None),
]
JUDGES = [("judge", "马建国", False), ("chief", "王志刚", True)]  # username, name, chief


@dataclass
class Run:
    base: str
    browser: Browser
    competition_id: int
    trade_id: int
    session_id: int
    shots: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    contestant_entry: int = 0
    ticket_number: str = ""
    ticket_token: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def org(self) -> str:
        return f"{self.base}/org/competitions/{self.competition_id}"

    def step(self, name: str) -> None:
        now = time.monotonic()
        self.timings.append((name, now - self.started))
        self.started = now

    def _next(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.shots.append(f"{len(self.shots) + 1:02d}-{name}.png")
        return SHOTS / self.shots[-1]

    async def shot(self, page: Page, name: str) -> None:
        """The whole page as the user sees it now, saved as the next step's picture."""
        # From the top: a sticky part scrolled along would cover what is under it.
        await page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
        await page.screenshot(path=str(self._next(name)), full_page=True)

    def picture(self, pdf: pypdfium2.PdfDocument, name: str) -> None:
        """The first page of a PDF the step produced, rendered as a browser would show it."""
        pdf[0].render(scale=2).to_pil().save(self._next(name))

    async def page(self, context: dict, username: str | None = None, **extra) -> Page:
        """A new browser (context) of this size, signed in as `username` if given."""
        browser_context = await self.browser.new_context(
            **context, **extra, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        await browser_context.add_init_script(CUT_NETWORK)
        page = await browser_context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        # The pages ask "are you sure?" (form[data-confirm]) before a move: the user says yes.
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        if username:
            await sign_in(page, self.base, username)
        return page


def portrait() -> bytes:
    """A passport-style photo (a silhouette on a light blue ground), for the screenshots."""
    image = Image.new("RGB", (480, 640), (205, 224, 243))
    draw = ImageDraw.Draw(image)
    draw.ellipse((70, 400, 410, 820), fill=(52, 64, 84))  # shoulders
    draw.rectangle((205, 330, 275, 430), fill=(222, 190, 160))  # neck
    draw.ellipse((150, 130, 330, 350), fill=(232, 200, 170))  # face
    draw.chord((140, 105, 340, 300), 180, 360, fill=(30, 30, 34))  # hair
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("form.stacked button[type=submit]")
    await expect(page).not_to_have_url(re.compile(r"/login"))


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width, page.viewport_size)


# ---------------------------------------------------------------------------- the structure


async def build_structure(directory: Path) -> tuple[int, int, int]:
    """The competition, its accounts, scheme and panel (no page does this for a test); returns
    the competition's, the trade's and the practical session's ids."""
    for name, lines in STRUCTURE.items():
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    competition_id, _ = await load_structure(directory, actor=SYSTEM, reason="end-to-end test")
    await services.advance_phase(competition_id, Phase.registration, SYSTEM, reason="e2e")
    for username, name, role, scope in STAFF:
        grant = await accounts.resolve_grant(
            role,
            competition_code="E2E" if role not in (Role.organizer, Role.supervisor) else None,
            delegation_code=scope if role == Role.delegation_admin else None,
            venue_code=scope if role == Role.checkin_clerk else None,
        )
        await accounts.create_user(username, name, PASSWORD, actor=SYSTEM, grants=[grant])
    await schemes.import_schemes(
        competition_id, ("\n".join(SCHEME) + "\n").encode(), actor=SYSTEM, commit=True,
        filename="schemes.csv",
    )  # fmt: skip
    trade = await Trade.select(Trade.id).where(Trade.competition == competition_id).first()
    session = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.trade == trade["id"])
        .first()
    )
    password_hash = await anyio.to_thread.run_sync(hash_password, PASSWORD)
    # The judge marks the session; the chief judge watches over it and locks, marking none.
    for username, name, chief in JUDGES:
        created = await register.add_judge_in_transaction(
            competition_id, JudgeIn(name, "青海省技师学院", username=username), actor=SYSTEM,
            password_hash=password_hash,
        )  # fmt: skip
        await assignment.add_member_in_transaction(
            competition_id, trade["id"], created.judge_id, actor=SYSTEM, chief=chief,
            session_ids=[] if chief else [session["id"]],
        )  # fmt: skip
    return competition_id, trade["id"], session["id"]


# ---------------------------------------------------------------------------- registration


async def contestant_registers(run: Run) -> Page:
    phone = await run.page(PHONE, accept_downloads=True)
    await phone.goto(f"{run.base}/login")
    await phone.locator("a[href='/signup']").tap()
    await expect(phone).to_have_url(f"{run.base}/signup")
    await phone.fill("#f-mobile", MOBILE)
    await phone.fill("#f-name", CONTESTANT)
    await phone.fill("#f-password", PASSWORD)
    await phone.fill("#f-password_confirmation", PASSWORD)
    await phone.locator("form.stacked button[type=submit]").tap()
    await expect(phone).to_have_url(f"{run.base}/me/entries/new")

    await expect(phone.locator("#f-name")).to_have_value(CONTESTANT)
    await phone.fill("#f-trade-search", "焊")
    await phone.select_option("#f-trade_id", label=TRADE)
    await expect(phone.locator("#trade-rules")).to_contain_text(TRADE)
    number = new_id()
    await phone.fill("#f-id_number", number)
    await expect(phone.locator("#age-check")).to_contain_text("1990-05-17")
    await phone.fill("#f-employer", "青海省某某机械有限公司")
    await phone.fill("#f-job", "焊工")
    await phone.select_option("#f-skill_level", "4")
    await phone.fill("#f-years_of_service", "6")
    await phone.select_option("#f-delegation_id", label=DELEGATION)
    await phone.set_input_files(
        "#f-photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": portrait()}]
    )
    await expect(phone.locator("#photo-preview")).to_be_visible()
    await no_sideways_scroll(phone)
    await run.shot(phone, "contestant-registers-on-a-phone")
    await phone.locator("#entry-form button[type=submit]").tap()
    await phone.wait_for_url(f"{run.base}/me/entries?done=submitted*")
    entry = await Entry.select(Entry.id, Entry.status).where(Entry.person.id_number == number)
    assert [e["status"] for e in entry] == ["submitted"]
    run.contestant_entry = entry[0]["id"]
    card = phone.locator(f"#entry-{run.contestant_entry}")
    await expect(card.locator("[data-status]")).to_have_text(zh("Waiting for first review"))
    await run.shot(phone, "contestant-waits-for-review")
    run.step("contestant signs up and registers (phone)")
    return phone


async def delegation_imports_and_reviews(run: Run, tmp_path: Path) -> None:
    numbers = [new_id(dt.date(1988, 3, 9)), new_id(dt.date(1992, 11, 2), male=False)]
    rows = [
        row(name=name, id_number=number, trade="T001", group="", delegation="XN")
        for name, number in zip(IMPORTED, numbers, strict=True)
    ]
    rows.append(row(name="韩永福", trade="T404", group="", delegation="XN"))  # no such trade
    upload = tmp_path / "西宁市报名表.xlsx"
    upload.write_bytes(xlsx_bytes(rows))

    page = await run.page(DESKTOP, "xining")
    await page.goto(f"{run.base}/delegation/import")
    await page.set_input_files("#f-file", str(upload))
    await page.get_by_role("button", name=zh("Check the file")).click()
    await expect(page.locator("h1")).to_contain_text(upload.name)
    problems = page.locator("section[aria-labelledby=problems-title] tbody tr")
    await expect(problems).to_have_count(1)
    await expect(problems.first).to_contain_text("T404")
    await run.shot(page, "delegation-import-report")
    assert await Entry.count().where(Entry.person.id_number.is_in(numbers)) == 0
    await page.get_by_role("button", name=zh("Import the valid rows")).click()
    await expect(page.locator("h1")).to_have_text(zh("Imported"))
    assert await Entry.count().where(Entry.person.id_number.is_in(numbers)) == 2
    run.step("delegation imports an xlsx")

    # First review (初审): the delegation ticks its three entries and passes them.
    await page.goto(f"{run.base}/delegation/entries")
    await page.locator("#pick-all").check()
    await page.get_by_role("button", name=zh("Pass first review")).click()
    await expect(page.get_by_role("status")).to_contain_text(zh("Approved: {n}.", n=3))
    await run.shot(page, "delegation-first-review")
    await page.context.close()
    run.step("delegation passes first review")


async def organizer_approves(run: Run) -> Page:
    page = await run.page(DESKTOP, "organizer")
    await page.goto(f"{run.org}/entries?status=delegation_approved")
    await expect(page.locator("tbody input[name=entry]")).to_have_count(3)
    await page.locator("#pick-all").check()
    await page.get_by_role("button", name=zh("Approve (final review)")).click()
    await expect(page.get_by_role("status")).to_contain_text(zh("Approved: {n}.", n=3))
    statuses = await Entry.select(Entry.status).where(Entry.competition == run.competition_id)
    assert [s["status"] for s in statuses] == ["approved"] * 3
    await page.goto(f"{run.org}/entries")
    await run.shot(page, "organizer-final-review")
    run.step("organizer approves (final review)")
    return page


async def contestant_downloads_the_ticket(run: Run, phone: Page) -> None:
    await phone.goto(f"{run.base}/me/entries")
    ticket = phone.locator(f"#ticket-{run.contestant_entry}")
    await expect(ticket).not_to_have_text("—")
    run.ticket_number = (await ticket.text_content() or "").strip()
    stored = await Entry.select(Entry.ticket_number).where(Entry.id == run.contestant_entry)
    assert stored == [{"ticket_number": run.ticket_number}]
    await no_sideways_scroll(phone)
    await run.shot(phone, "contestant-ticket-ready")
    # The PDF opens in the phone's viewer (it is sent inline); the viewer's page is not the
    # file, so the same address is fetched again with the phone's cookies, as "save" does.
    link = phone.get_by_role("link", name=zh("Download admission ticket (PDF)"))
    async with phone.expect_response(re.compile(r"/ticket\.pdf$")) as answered:
        await link.tap()
    response = await answered.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    saved = await phone.context.request.get(response.url)
    pdf = await saved.body()
    document = pypdfium2.PdfDocument(pdf)
    text = document[0].get_textpage().get_text_range()
    assert run.ticket_number in text and CONTESTANT in text, text
    run.picture(document, "admission-ticket")
    document.close()
    run.ticket_token = qr_in_pdf(pdf)
    # The signed token (JX1.<payload>.<signature>, base64url) names the ticket it belongs to.
    version, payload, _signature = run.ticket_token.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert version == "JX1" and decoded.endswith(f"|{run.ticket_number}"), decoded
    run.step("contestant downloads the ticket (phone)")


async def move_phase(page: Page, run: Run, target: Phase) -> None:
    await page.goto(run.org)
    form = page.locator(f"#move-{target.value}")
    reason = form.locator("input[name=reason]")
    if await reason.count():
        await reason.fill("端到端测试：按计划进入下一阶段")
    await form.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{run.org}?done=phase")
    current = page.locator("ol.phase-track li[aria-current=step]")
    await expect(current).to_have_text(zh(PHASE_LABELS[target]))


# ---------------------------------------------------------------------------- check-in, draw


async def desk_checks_in(run: Run) -> None:
    page = await run.page(DESK, "clerk")
    await expect(page).to_have_url(f"{run.base}/desk")
    await page.locator(f'a[href="/desk/sessions/{run.session_id}"]').click()
    box = page.locator("#scan-input")
    await expect(box).to_be_focused()
    # The scanner gun types the QR code's payload (read from the downloaded PDF) and Enter.
    await page.keyboard.type(run.ticket_token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#scan-result")).to_have_attribute("data-outcome", "checked_in")
    await expect(page.locator("#result-name")).to_have_text(CONTESTANT)
    await expect(page.locator("#result-ticket")).to_have_text(run.ticket_number)
    await run.shot(page, "check-in-desk-scans-the-ticket")
    # The two imported contestants have no ticket in hand: found by name, one tap each.
    for name in IMPORTED:
        await page.locator("#lookup-input").fill(name)
        await page.locator("#lookup-input").press("Enter")
        hit = page.locator("#lookup-results li")
        await expect(hit).to_have_count(1)
        await expect(hit.locator(".hit-name")).to_have_text(name)
        await hit.get_by_role("button", name=zh("Check in")).click()
        await expect(page.locator("#result-name")).to_have_text(name)
    await expect(page.locator("#count-checked")).to_have_text("3")
    assert await CheckIn.count().where(CheckIn.entry.competition == run.competition_id) == 3
    await page.context.close()
    run.step("check-in desk scans the ticket")


async def organizer_draws_and_starts(run: Run, page: Page) -> None:
    draw = f"{run.org}/draw/{run.trade_id}"
    await page.goto(f"{draw}/attendance")
    await page.get_by_role("button", name=zh("Close check-in")).click()
    await expect(page).to_have_url(f"{draw}/attendance?done=closed")
    await page.goto(draw)
    await page.locator("#run-draw button[type=submit]").click()
    await expect(page.locator("#draw-done")).to_be_visible()
    await expect(page.locator("#draw-codes tbody tr")).to_have_count(3)
    await run.shot(page, "organizer-runs-the-draw")
    assert await DrawSlot.count().where(DrawSlot.session.trade == run.trade_id) == 3
    run.step("organizer closes check-in and draws")

    await move_phase(page, run, Phase.competing)
    await page.goto(f"{run.org}/trade-stages")
    await page.locator("tr[data-trade=T001] input[name=trade]").check()
    await page.get_by_role("button", name=zh("Start competing"), exact=True).click()
    await expect(page.locator("#stage-outcome")).to_contain_text(zh("Start competing"))
    stage = await Trade.select(Trade.stage).where(Trade.id == run.trade_id).first()
    assert stage["stage"] == "competing"
    run.step("organizer starts the trade")


# ---------------------------------------------------------------------------- marking


async def _codes_by_name(trade_id: int) -> dict[str, tuple[int, str]]:
    """Which slot is whom: the test's knowledge, never the judge's (who sees codes only)."""
    rows = await DrawSlot.select(DrawSlot.id, DrawSlot.code, DrawSlot.entry.person.name).where(
        DrawSlot.session.trade == trade_id
    )
    return {r["entry.person.name"]: (r["id"], r["code"]) for r in rows}


async def _network(page: Page, *, offline: bool) -> None:
    """The hall's Wi-Fi gone (or back): the browser's offline mode, and the page's fetch cut
    (a page its service worker controls is not reached by the offline mode: see CUT_NETWORK)."""
    if offline:
        await page.context.set_offline(True)
        await page.evaluate(f"localStorage.setItem('{NETWORK_CUT_FLAG}', '1')")
    else:
        await page.evaluate(f"localStorage.removeItem('{NETWORK_CUT_FLAG}')")
        await page.context.set_offline(False)


async def _give(page: Page, slot: int, aspect: dict, value) -> None:
    cell = page.locator(f'[data-cell="{slot}:{aspect["id"]}"]')
    if isinstance(value, int):  # a Judgement level, tapped
        await cell.locator(f'.sheet-level[data-level="{value}"]').tap()
    else:  # a Measurement mark, typed
        box = cell.locator("input.sheet-input")
        await box.tap()
        await box.fill(value)
        await box.press("Enter")


async def judge_marks_offline_and_signs(run: Run) -> None:
    tablet = await run.page(TABLET, "judge")
    await expect(tablet).to_have_url(f"{run.base}/judge")
    answered: list[tuple[str, int]] = []  # (the mark's client id, status) of every answer
    tablet.on(
        "response",
        lambda r: (
            answered.append((r.request.post_data_json["client_id"], r.status))
            if r.url.endswith("/api/judge/marks")
            else None
        ),
    )
    await tablet.get_by_role("link", name=zh("Open the sheet")).tap()
    await expect(tablet.locator("#sheet-queue")).to_have_text(ALL_SAVED)
    sheet = json.loads(await tablet.locator("#sheet-data").text_content())
    sheet_id = int(re.fullmatch(rf"{re.escape(run.base)}/judge/sheets/(\d+)", tablet.url).group(1))
    aspects = {a["code"]: a for a in sheet["aspects"]}
    slots = await _codes_by_name(run.trade_id)
    assert {c["code"] for c in sheet["contestants"]} == {code for _s, code in slots.values()}
    assert CONTESTANT not in await tablet.locator("main").inner_text()  # codes only
    # Portrait: one contestant at a time, their code's chip tapped to go to the next.
    await expect(tablet.locator('.sheet-view[data-view="one"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    await no_sideways_scroll(tablet)

    async def mark(name: str) -> None:
        slot = slots[name][0]
        await tablet.locator(f'.sheet-chip[data-slot="{slot}"]').tap()
        await expect(tablet.locator("#sheet-card")).to_have_attribute("data-slot", str(slot))
        for code, value in MARKS[name][0].items():
            await _give(tablet, slot, aspects[code], value)
        await expect(tablet.locator("#sheet-card .sheet-total-value")).to_have_text(MARKS[name][1])

    first, *others = list(MARKS)
    await mark(first)  # online: each mark is saved as it is given
    await expect(tablet.locator("#sheet-queue")).to_have_text(ALL_SAVED)
    assert len(await Mark.select(Mark.id).where(Mark.sheet == sheet_id)) == 4

    # The hall's network goes: the marks wait on the tablet, which says how many.
    await tablet.wait_for_function(
        """async () => {
          const registration = await navigator.serviceWorker.getRegistration("/judge/");
          return !!(registration && registration.active);
        }"""
    )
    await _network(tablet, offline=True)
    for name in others:
        await mark(name)
    waiting = zh("{n} marks waiting to upload", n=8)
    await expect(tablet.locator("#sheet-queue")).to_have_text(waiting)
    await expect(tablet.locator("#sheet-net")).to_be_visible()
    await run.shot(tablet, "judge-offline-marks-waiting")
    assert len(await Mark.select(Mark.id).where(Mark.sheet == sheet_id)) == 4

    # It comes back: the queue drains, and every mark is stored once.
    await _network(tablet, offline=False)
    await expect(tablet.locator("#sheet-queue")).to_have_text(ALL_SAVED, timeout=UPLOAD_TIMEOUT_MS)
    await expect(tablet.locator("#sheet-net")).to_be_hidden()
    for name, (given, _total) in MARKS.items():
        slot = slots[name][0]
        stored = {
            r["aspect"]: r["value_hundredths"]
            for r in await Mark.select(Mark.aspect, Mark.value_hundredths).where(
                (Mark.sheet == sheet_id) & (Mark.slot == slot)
            )
        }
        expected = {
            aspects[code]["id"]: (value if isinstance(value, int) else int(value)) * 100
            for code, value in given.items()
        }
        assert stored == expected, (name, stored, expected)
    changes = await MarkChange.select(MarkChange.mark).where(MarkChange.mark.sheet == sheet_id)
    assert len(changes) == 12 and len({c["mark"] for c in changes}) == 12
    assert {status for _id, status in answered} == {200}, answered
    assert len({client_id for client_id, _status in answered}) == 12
    await run.shot(tablet, "judge-back-online-all-saved")
    run.step("judge marks the sheet, offline and back (tablet)")

    await tablet.locator("#sheet-finish").tap()
    await expect(tablet.locator("#sheet-summary .sheet-summary-one")).to_have_count(3)
    await expect(tablet.locator("#sheet-sign")).to_be_enabled()
    await tablet.locator("#sheet-sign").tap()
    await expect(tablet.locator("#sheet-banner")).to_be_visible()
    row = await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.id == sheet_id).first()
    assert row["status"] == "signed"
    stage = await Trade.select(Trade.stage).where(Trade.id == run.trade_id).first()
    assert stage["stage"] == "marks_complete"
    await tablet.context.close()
    run.step("judge signs the sheet")


async def chief_locks(run: Run) -> None:
    tablet = await run.page(TABLET, "chief")
    await tablet.goto(f"{run.base}/chief/trades/{run.trade_id}")
    lock = tablet.locator("#lock")
    await lock.locator("input[name=confirm]").check()
    await lock.locator("button[type=submit]").tap()
    await expect(lock).to_contain_text(zh("The marks are locked. A change now needs a reason, "
                                         "and it is recorded."))  # fmt: skip
    await run.shot(tablet, "chief-judge-locks")
    stage = await Trade.select(Trade.stage).where(Trade.id == run.trade_id).first()
    assert stage["stage"] == "locked"
    await tablet.context.close()
    run.step("chief judge locks (tablet)")


# ---------------------------------------------------------------------------- results


async def results_are_published(run: Run, organizer: Page) -> Page:
    await move_phase(organizer, run, Phase.locked)

    officer = await run.page(DESKTOP, "encryption")
    await officer.goto(f"{run.base}/encryption/competitions/{run.competition_id}/decryption")
    await officer.get_by_role("button", name=zh("Decrypt")).click()
    await expect(officer.get_by_role("button", name=zh("Decrypt"))).to_have_count(0)
    await officer.context.close()
    run.step("encryption officer decrypts")

    supervisor = await run.page(DESKTOP, "supervisor")
    review = f"{run.base}/supervisor/competitions/{run.competition_id}/review/{run.trade_id}"
    await supervisor.goto(review)
    await supervisor.get_by_role("button", name=zh("Draw the review sample")).click()
    checks = supervisor.locator("#review-checks tbody tr")
    await expect(checks).to_have_count(3)  # all of the top 10
    for n in range(3):
        form = supervisor.locator("#review-checks form.check-form").first
        await form.locator("input[value=ok]").check()
        await form.get_by_role("button", name=zh("Record")).click()
        await expect(supervisor.locator("#review-checks form.check-form")).to_have_count(2 - n)
    await expect(supervisor.locator("#review-publication")).to_contain_text(zh("Review finished"))
    run.step("supervisor re-checks the review sample")

    await organizer.goto(f"{run.org}/results/{run.trade_id}")
    await organizer.get_by_role("button", name=zh("Publish")).click()
    await expect(organizer.locator("#results-done")).to_have_text(zh("Published."))
    version = await Publication.select(Publication.version).where(Publication.trade == run.trade_id)
    assert version == [{"version": 1}]
    await run.shot(organizer, "organizer-publishes-the-results")
    await move_phase(organizer, run, Phase.published)
    run.step("organizer publishes")
    return supervisor


async def appeal_is_ruled(run: Run, phone: Page, supervisor: Page) -> None:
    await phone.goto(f"{run.base}/me/results")
    await expect(phone.locator("main")).to_contain_text("100.00")
    await phone.locator("form.appeal-form textarea[name=text]").fill(
        "实操成绩中焊缝余高一项的记录与我现场测量的结果不一致，请求复核。"
    )
    await phone.get_by_role("button", name=zh("File the appeal")).tap()
    await expect(phone.locator("main")).to_contain_text(zh("Waiting for a ruling"))
    await no_sideways_scroll(phone)
    await run.shot(phone, "contestant-files-an-appeal")
    run.step("contestant appeals (phone)")

    await supervisor.goto(f"{run.base}/supervisor/competitions/{run.competition_id}/appeals")
    form = supervisor.locator("form.ruling-form")
    await form.locator("input[value=dismissed]").check()
    await form.locator("input[name=ruling]").fill(
        "经调阅评分表与复核记录，原评分无误，维持原成绩。"
    )
    await form.get_by_role("button", name=zh("Give the ruling")).click()
    await expect(supervisor.locator("main")).to_contain_text(zh("Dismissed"))
    await run.shot(supervisor, "supervisor-rules-on-the-appeal")
    ruled = await Appeal.select(Appeal.status).where(Appeal.entry == run.contestant_entry)
    assert ruled == [{"status": "dismissed"}]
    await supervisor.context.close()
    await phone.goto(f"{run.base}/me/results")  # the contestant reads the ruling
    await expect(phone.locator("main")).to_contain_text("原评分无误，维持原成绩")
    run.step("supervisor rules on the appeal")


async def certificates_are_verified(run: Run, organizer: Page, phone: Page) -> None:
    # The notice period (at least an hour) passes: the clock is moved, not waited for.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await Publication.update({Publication.notice_ends_at: past}).where(
        Publication.trade == run.trade_id
    )
    await organizer.goto(f"{run.org}/results/{run.trade_id}")
    await organizer.get_by_role("button", name=zh("Make final")).click()
    await expect(organizer.locator("#results-done")).to_have_text(zh("Final."))
    stage = await Trade.select(Trade.stage).where(Trade.id == run.trade_id).first()
    assert stage["stage"] == "final"
    run.step("organizer makes the results final")

    await organizer.goto(f"{run.org}/certificates")
    await (
        organizer.locator(f"#trade-{run.trade_id}")
        .get_by_role("button", name=zh("Issue and print (PDF)"))
        .click()
    )
    await expect(organizer).to_have_url(re.compile(r"/jobs/\d+$"))
    await expect(organizer.locator("#job-state")).to_have_text(zh("Queued"))
    await run_queued_jobs()  # the worker beside `jiangxin serve`, here in the test's process
    link = organizer.locator(".job-files a").first
    await expect(link).to_be_visible()
    await run.shot(organizer, "certificates-printed")
    async with organizer.expect_download() as waiting:
        await link.click()
    pdf = Path(await (await waiting.value).path()).read_bytes()
    document = pypdfium2.PdfDocument(pdf)
    issued = await Certificate.select(
        Certificate.entry, Certificate.kind, Certificate.number, Certificate.honour
    ).where(Certificate.trade == run.trade_id)
    kinds: dict[int, set[str]] = {}
    for certificate in issued:
        kinds.setdefault(certificate["entry"], set()).add(certificate["kind"])
    # Each of the three: a prize (count 1/1/1), 青海省技术能手 (top 3) and a promotion.
    assert len(kinds) == 3 and all(k == {"award", "title", "promotion"} for k in kinds.values())
    assert len(document) == len(issued)
    run.picture(document, "certificate")
    document.close()
    url = qr_in_pdf(pdf)
    number = url.rsplit("/", 1)[1]
    assert url == f"{run.base}/certificates/{number}", url
    # The first page is the first placed: the contestant who registered on the phone.
    [mine] = [c for c in issued if c["number"] == number]
    assert mine["entry"] == run.contestant_entry, mine
    honour = mine["honour"]
    run.step("organizer prints the certificates (background job)")

    await phone.goto(url)
    await expect(phone.locator("#verdict")).to_contain_text(zh("Valid certificate"))
    await expect(phone.locator("#certificate-number")).to_have_text(number)
    await expect(phone.locator("#certificate-honour")).to_contain_text(honour)
    await expect(phone.locator("#certificate-holder")).to_contain_text(CONTESTANT[0])
    await no_sideways_scroll(phone)
    await run.shot(phone, "certificate-verified-on-a-phone")
    run.step("the certificate's QR code opens its verification (phone)")


# ---------------------------------------------------------------------------- the test


async def test_one_competition_from_registration_to_a_verified_certificate(
    empty_db, live_server, browser, tmp_path
):
    started = time.monotonic()
    if SHOTS == ARTIFACTS:  # this test's own folder: the last run's pictures go
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
    competition_id, trade_id, session_id = await build_structure(tmp_path)
    run = Run(live_server, browser, competition_id, trade_id, session_id, started=started)
    run.step("structure (services)")

    try:
        await _lifecycle(run, tmp_path)
    finally:
        print("\n".join(f"{seconds:6.2f} s  {name}" for name, seconds in run.timings))
    assert run.script_errors == []


async def _lifecycle(run: Run, tmp_path: Path) -> None:
    phone = await contestant_registers(run)
    await delegation_imports_and_reviews(run, tmp_path)
    organizer = await organizer_approves(run)
    await contestant_downloads_the_ticket(run, phone)
    await move_phase(organizer, run, Phase.review)
    await move_phase(organizer, run, Phase.draw)
    run.step("organizer closes registration and review")

    await desk_checks_in(run)
    await organizer_draws_and_starts(run, organizer)
    await judge_marks_offline_and_signs(run)
    await chief_locks(run)
    supervisor = await results_are_published(run, organizer)
    await appeal_is_ruled(run, phone, supervisor)
    await certificates_are_verified(run, organizer, phone)

    await phone.context.close()
    await organizer.context.close()
