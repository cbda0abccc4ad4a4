"""What the public competition page, the organizer's competition pages and each role's home
page show, in Chinese and in English."""

from __future__ import annotations

import datetime as dt
import re

from competition import services
from competition.audit import SYSTEM
from competition.clock import local_today
from competition.controllers.organizer import COMPETITION_FIELDS
from competition.phases import Phase
from competition.tables import Competition, Industry, Quota, Trade
from competition.web.menus import RESULTS, SCORING, menu_group
from tests.page_text import en, main, text, zh, zh_plural
from tests.registration.helpers import ids
from tests.support import login, post_form

NAME = "青海省第十六届职工职业技能大赛"
NAME_EN = "Qinghai 16th Workers' Vocational Skills Competition"


def _industries(page_html: str) -> list[tuple[bool, str, str]]:
    """(open, name, trade count text) of each folded industry."""
    return [
        (bool(opened.strip()), name, count)
        for opened, name, count in re.findall(
            r'<details class="industry"( open)?>\s*<summary><span class="industry-name">([^<]+)'
            r'</span> <span class="badge">([^<]+)</span>',
            page_html,
        )
    ]


# ---------------------------------------------------------------------------- public page


async def test_the_public_page_folds_trades_by_industry_with_a_call_to_register(client, demo):
    cid = demo.competition_id
    page = (await client.get(f"/competitions/{cid}")).text
    industries = _industries(page)
    assert len(industries) == await Industry.count().where(Industry.competition == cid) == 23
    assert not any(opened for opened, _n, _c in industries)  # folded until asked
    first = (
        await Industry.select()
        .where(Industry.competition == cid)
        .order_by(Industry.sort_order)
        .first()
    )
    in_first = await Trade.count().where(Trade.industry == first["id"])
    assert industries[0][1:] == (first["name"], zh_plural("{n} trade", "{n} trades", in_first))
    call = text(re.search(r'<section class="panel register-call open".*?</section>', page, re.S)[0])
    assert zh("Registration is open") in call and zh("Register now") in call
    assert re.search(r'<a class="btn btn-brand" href="/signup">', page)


async def test_searching_trades_works_without_script(client, demo):
    cid = demo.competition_id
    page = (await client.get(f"/competitions/{cid}", params={"q": "焊"})).text
    industries = _industries(page)
    assert industries and all(opened for opened, _n, _c in industries)
    names = re.findall(r'<td data-label="[^"]+">([^<]*焊[^<]*)</td>', page)
    assert "焊工" in names
    found = sum(
        1
        for t in await Trade.select(Trade.name).where(Trade.competition == cid)
        if "焊" in t["name"]
    )
    assert zh("{found} of {total} trades match “{q}”.", found=found, total=102, q="焊") in text(
        page
    )
    by_code = (await client.get(f"/competitions/{cid}", params={"q": "t001"})).text
    assert re.findall(r'<td data-label="[^"]+">(T\d+)</td>', by_code) == ["T001"]
    nothing = (await client.get(f"/competitions/{cid}", params={"q": "不存在的工种"})).text
    assert _industries(nothing) == []
    assert zh("No trade matches “{q}”.", q="不存在的工种") in text(nothing)


async def test_the_public_page_in_english_uses_english_names(client, demo):
    client.cookies.set("lang", "en")
    page = (await client.get(f"/competitions/{demo.competition_id}", params={"q": "weld"})).text
    assert NAME_EN in text(page)
    assert "Equipment Manufacturing" in text(page)
    assert re.findall(r'<td data-label="Trade">([^<]+)</td>', page)[0] == "Welder"
    assert "Registration is open" in page and "Register now" in page


async def test_the_call_to_register_follows_the_phase_and_the_visitor(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "contestant")
    page = (await client.get(f"/competitions/{cid}")).text
    assert f'href="/me/entries/new?competition={cid}"' in page
    await login(client, "organizer")
    assert zh("Register now") not in (await client.get(f"/competitions/{cid}")).text
    await services.advance_phase(cid, Phase.review, SYSTEM)
    closed = (await client.get(f"/competitions/{cid}")).text
    assert zh("Registration is closed") in closed and zh("Register now") not in closed


async def test_the_public_page_gives_the_deadline_and_closes_after_it(client, demo_mutable):
    cid = demo_mutable.competition_id
    today = local_today()
    await Competition.update({Competition.registration_closes_on: today}).where(
        Competition.id == cid
    )
    page = await client.get(f"/competitions/{cid}")
    assert zh("Registration closes on {date} (end of day).", date=today.isoformat()) in text(
        page.text
    )
    assert zh("Register now") in page.text
    yesterday = today - dt.timedelta(days=1)
    await Competition.update({Competition.registration_closes_on: yesterday}).where(
        Competition.id == cid
    )
    closed = await client.get(f"/competitions/{cid}")
    assert zh("Registration is closed") in closed.text and zh("Register now") not in closed.text
    assert zh(
        "Registration closed on {date}: new entries are no longer accepted.",
        date=yesterday.isoformat(),
    ) in text(closed.text)


async def test_the_competition_form_keeps_the_deadline_before_the_first_day(client, demo):
    cid = demo.competition_id
    await login(client, "organizer")
    competition = await Competition.select().where(Competition.id == cid).first()
    values = {k: "" if competition[k] is None else str(competition[k]) for k in COMPETITION_FIELDS}
    late = await post_form(
        client,
        f"/org/competitions/{cid}/edit",
        {**values, "registration_closes_on": str(competition["starts_on"])},
    )
    assert late.status_code == 422
    assert zh("Registration must close before the first day of the competition.") in text(late.text)
    deadline = competition["starts_on"] - dt.timedelta(days=20)
    saved = await post_form(
        client,
        f"/org/competitions/{cid}/edit",
        {**values, "registration_closes_on": deadline.isoformat()},
    )
    assert saved.status_code == 303
    stored = await Competition.select(Competition.registration_closes_on).where(
        Competition.id == cid
    )
    assert stored[0]["registration_closes_on"] == deadline
    form = (await client.get(f"/org/competitions/{cid}/edit")).text
    assert f'value="{deadline.isoformat()}"' in form


# ---------------------------------------------------------------------------- organizer


async def test_the_organizer_home_and_the_competition_form(client, demo):
    await login(client, "organizer")
    home = main((await client.get("/org")).text)
    assert NAME in home and zh("Registration open") in home
    assert f'href="/org/competitions/{demo.competition_id}"' in home
    form = main((await client.get(f"/org/competitions/{demo.competition_id}/edit")).text)
    assert 'value="QH16"' in form and f'value="{NAME}"' in form
    new = main((await client.get("/org/competitions/new")).text)
    assert 'name="code"' in new and 'value="120"' in new
    refused = await post_form(client, "/org/competitions/new", {"code": "X", "name": ""})
    assert refused.status_code == 422
    assert zh("This field is required.") in text(refused.text)


async def test_the_overview_counts_places_and_quota_rows_apart(client, demo):
    cid = demo.competition_id
    await login(client, "organizer")
    page = main((await client.get(f"/org/competitions/{cid}")).text)
    cards = text(page.split(zh("Structure"))[1].split(zh("Recent changes"))[0])
    assert f"6,206 {zh('Places in {n} quota rows', n='2,958')}" in cards
    assert f"102 {zh('Trades')}" in cards


async def test_the_grouped_menu_names_each_stage_and_marks_the_current_page(client, demo):
    cid = demo.competition_id
    await login(client, "organizer")
    page = (await client.get(f"/org/competitions/{cid}/quota-usage")).text
    nav = re.search(r'<nav class="compnav".*?</nav>', page, re.S)[0]
    groups = re.findall(r'<div class="compnav-group( current)?" data-group="(\w+)">', nav)
    assert [g for _c, g in groups] == ["setup", "registration", "checkin", "scoring", "results"]
    assert [g for current, g in groups if current] == ["registration"]
    tabs = re.findall(r'<ul class="compnav-tabs">(.*?)</ul>', nav, re.S)[0]
    assert text(tabs).split() == [
        zh("Setup"), zh("Registration"), zh("Check-in"), zh("Scoring"), zh("Results"),
    ]  # fmt: skip
    registration = nav.split('data-group="registration"')[1].split("</div>")[0]
    assert re.findall(r"<li><a [^>]*>([^<]+)</a></li>", registration) == [
        zh("Entries and review"),
        zh("Quota usage"),
        zh("Import registrations"),
        zh("Registration dashboard"),
        zh("Record claims"),
        zh("Earlier prizes"),
    ]
    assert re.search(r'href="[^"]+/quota-usage" aria-current="page"', registration)
    scoring = len(menu_group(SCORING).items)
    results = len(menu_group(RESULTS).items)
    assert scoring >= 1 and results >= 1
    assert len(re.findall(r'<li><a href="', nav)) == len(groups) + 10 + 6 + 1 + scoring + results
    client.cookies.set("lang", "en")
    english = (await client.get(f"/org/competitions/{cid}/dashboard")).text
    assert "Check-in desks" in english and ">Setup<" in english


# ---------------------------------------------------------------------------- role homes


async def test_each_role_home_shows_its_own_things(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "judge")
    judge = text(main((await client.get("/judge")).text))
    assert "焊工" in judge and "王志刚" in judge  # the trade and its chief judge on the panel
    await login(client, "chief")
    assert "焊工" in text(main((await client.get("/chief")).text))

    # The delegation's quotas: places and unlimited ones counted apart.
    electrician, xn = await ids(cid, "T002", "XN")
    await Quota.update({Quota.max_entries: None}).where(
        (Quota.delegation == xn) & (Quota.trade == electrician)
    )
    places = sum(
        q["max_entries"]
        for q in await Quota.select().where(Quota.delegation == xn)
        if q["max_entries"] is not None
    )
    await login(client, "xining")
    home = text(main((await client.get("/delegation")).text))
    assert "西宁市总工会" in home
    assert zh("{n} places in {m} trades", n=places, m=102) in home
    assert zh_plural("{n} unlimited", "{n} unlimited", 1) in home
    assert f"T002 电工 {zh('unlimited')}" in home

    await login(client, "contestant")
    contestant = text(main((await client.get("/me")).text))
    assert NAME in contestant and zh("My registrations") in contestant
    await login(client, "supervisor")
    supervisor = text(main((await client.get("/supervisor")).text))
    assert NAME in supervisor and zh("Audit trail") in supervisor
    client.cookies.set("lang", "en")
    assert en("Audit trail") in (await client.get("/supervisor")).text
