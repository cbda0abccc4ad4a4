"""Choosing the language: the switch keeps the page's query (and only leads to this site), and a
first visit without a `lang` cookie follows the browser's Accept-Language."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from playwright.async_api import expect

from competition.demo.loader import DEMO_PASSWORD
from competition.web.middleware import locale_from_accept_language
from tests.support import login

LANG_LINK = re.compile(r'<a href="(/lang/(zh_CN|en)\?next=[^"]*)"')


def lang_links(page: str) -> dict[str, str]:
    return {code: html.unescape(href) for href, code in LANG_LINK.findall(page)}


def page_language(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


async def test_the_switch_keeps_the_page_and_its_query(demo, client):
    cid = demo.competition_id
    await login(client, "organizer")
    here = f"/org/competitions/{cid}/users?q=judge&role=judge&page_number=1"
    page = await client.get(here)
    assert page.status_code == 200 and page_language(page.text) == "zh-CN"
    links = lang_links(page.text)
    assert links["en"] == f"/lang/en?next={quote(here, safe='/')}"

    switched = await client.get(links["en"])
    assert switched.status_code == 303
    assert switched.headers["location"] == here
    assert client.cookies["lang"] == "en"
    english = await client.get(switched.headers["location"])
    assert page_language(english.text) == "en"
    # The search is still applied: the box holds it.
    assert 'name="q" value="judge"' in english.text
    assert lang_links(english.text)["zh_CN"] == f"/lang/zh_CN?next={quote(here, safe='/')}"

    back = await client.get(lang_links(english.text)["zh_CN"])
    assert back.headers["location"] == here
    assert page_language((await client.get(here)).text) == "zh-CN"


async def test_a_page_without_a_query_links_to_its_path(empty_db, client):
    page = await client.get("/login")
    assert lang_links(page.text) == {
        "zh_CN": "/lang/zh_CN?next=/login",
        "en": "/lang/en?next=/login",
    }


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/?q=1", "/\\evil.example", "", "javascript:alert(1)"],
)
async def test_the_switch_leads_only_to_paths_of_this_site(empty_db, client, target):
    response = await client.get("/lang/en", params={"next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("fr-FR,fr;q=0.9", "zh_CN"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("en;q=0.2, zh-CN;q=0.8", "zh_CN"),
        ("de, en;q=0.7, zh;q=0.7", "en"),
        ("en;q=0", "zh_CN"),
        ("*", "zh_CN"),
        ("en;q=abc", "zh_CN"),
        ("", "zh_CN"),
    ],
)
def test_accept_language_picks_the_preferred_of_our_languages(header, expected):
    assert locale_from_accept_language(header) == expected


async def test_a_first_visit_follows_accept_language_and_the_cookie_wins(empty_db, client):
    english = await client.get("/login", headers={"accept-language": "en-US,en;q=0.9"})
    assert page_language(english.text) == "en"
    assert "Sign in" in english.text
    assert "accept-language" in english.headers["vary"].lower()

    chinese = await client.get("/login", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert page_language(chinese.text) == "zh-CN"
    unknown = await client.get("/login", headers={"accept-language": "fr-FR"})
    assert page_language(unknown.text) == "zh-CN"
    assert page_language((await client.get("/login")).text) == "zh-CN"

    # A choice made with the switch outlives what the browser says.
    await client.get("/lang/zh_CN", params={"next": "/login"})
    chosen = await client.get("/login", headers={"accept-language": "en-US,en;q=0.9"})
    assert page_language(chosen.text) == "zh-CN"
    assert "accept-language" not in chosen.headers.get("vary", "").lower()

    # The API answers in the same language as the pages.
    client.cookies.delete("lang")
    api = await client.get("/api/me", headers={"accept-language": "en"})
    assert api.status_code == 401 and api.json()["message"] == "Please sign in first."


@pytest.mark.browser
async def test_in_a_browser_the_switch_stays_on_the_filtered_page(demo, live_server, browser):
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(5_000)
    # A first visit from an English browser is in English.
    await page.goto(f"{live_server}/login")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_role("link", name="中文").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await page.fill("#username", "organizer")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await expect(page).to_have_url(f"{live_server}/org")

    here = f"{live_server}/org/competitions/{demo.competition_id}/users?q=judge&role=judge"
    await page.goto(here)
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(here)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#f-q")).to_have_value("judge")
    await page.get_by_role("link", name="中文").click()
    await expect(page).to_have_url(here)
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await context.close()
