"""The registration dashboard and the quota matrix, for the organizer: what each shows, counted
by the one quota definition (registration/quotas.py), in both languages, small pages."""

from __future__ import annotations

import datetime as dt
import re

from piccolo.query.functions.aggregate import Count

from competition.audit import SYSTEM
from competition.clock import DISPLAY_TIMEZONE
from competition.tables import Delegation, Quota, Trade
from registration import dashboard, queries, review
from registration.tables import Entry
from tests.page_text import en, main, text, zh, zh_plural
from tests.registration.helpers import ids, register
from tests.support import login


def _url(cid: int, page: str) -> str:
    return f"/org/competitions/{cid}/{page}"


def cell(page_html: str, trade_id: int, delegation_id: int) -> tuple[str, str, str]:
    """(classes, "used/places", waiting) of one cell of the quota matrix."""
    match = re.search(
        rf'<td class="(q[^"]*)"><a href="[^"]*/entries\?trade={trade_id}&amp;delegation='
        rf'{delegation_id}&amp;status=all">([^<]*)</a>(?:<small>\+(\d+)</small>)?</td>',
        page_html,
    )
    assert match, f"no cell for trade {trade_id} × delegation {delegation_id}"
    return match.group(1), match.group(2), match.group(3) or ""


def columns(page_html: str) -> list[str]:
    """The trade codes heading the matrix's columns."""
    return re.findall(r'<th scope="col" class="num"><span class="code">(\w+)</span>', page_html)


def rows(page_html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page_html.split('class="matrix"')[1], re.S)
    return re.findall(r'<th scope="row">([^<]+)</th>', body.group(1))


async def _first_reviewed(cid: int, n: int, trade: str = "T001", delegation: str = "XN"):
    entry_ids = [await register(cid, trade, delegation) for _ in range(n)]
    _t, d = await ids(cid, trade, delegation)
    assert (await review.review_by_delegation(cid, d, entry_ids, True, actor=SYSTEM)).done
    return entry_ids


async def test_quota_matrix_uses_the_one_definition_of_a_place(client, demo_mutable):
    cid = demo_mutable.competition_id
    entry_ids = await _first_reviewed(cid, 3)
    await review.review_by_organizer(cid, entry_ids[:1], True, actor=SYSTEM)
    await register(cid, "T002")  # waiting for first review: a candidate, no place
    welder, xn = await ids(cid, "T001", "XN")
    electrician, _xn = await ids(cid, "T002", "XN")

    overview = await queries.quota_overview(cid, delegation_id=xn)
    row = next(r for r in overview.rows if r["trade"]["id"] == welder)
    assert (row["cap"], row["held"], row["approved"], row["waiting"]) == (3, 3, 1, 2)
    assert row["full"] and not row["over"] and row["free"] == 0

    await login(client, "organizer")
    response = await client.get(_url(cid, "quota-usage"))
    assert response.status_code == 200
    page = response.text
    assert cell(page, welder, xn) == ("q full", "3/3", "")
    assert cell(page, electrician, xn) == ("q", "0/3", "1")
    # Quota rows and places are two figures, each named (the demo: 2,958 rows, 6,206 places).
    cards = text(page.split('class="cards compact quota-totals"')[1].split("</div>\n</div>")[0])
    assert f"2,958 {zh('Quota rows (delegation × trade)')}" in cards
    assert f"6,206 {zh('Places')}" in cards
    assert f"3 {zh('Places used')}" in cards
    assert f"1 {zh('Waiting for first review (no place yet)')}" in cards
    # A page of the matrix: every delegation, ten trades, and small.
    assert len(columns(page)) == 10 and columns(page)[0] == "T001"
    assert len(rows(page)) == await Delegation.count().where(Delegation.competition == cid)
    assert zh("Trades {first}–{last} of {n}", first=1, last=10, n=102) in text(page)
    assert len(response.content) < 100_000
    # The total of the 西宁 row covers every trade, not only the ten on this page.
    xn_places = sum(r["max_entries"] for r in await Quota.select().where(Quota.delegation == xn))
    xn_row = re.search(r'<th scope="row">西宁市总工会</th>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="q total">([^<]+)</td>', xn_row) == [f"3/{xn_places:,}"]

    last = await client.get(_url(cid, "quota-usage"), params={"page_number": "11"})
    assert columns(last.text) == ["T101", "T102"]
    clamped = await client.get(_url(cid, "quota-usage"), params={"page_number": "99999"})
    assert columns(clamped.text) == ["T101", "T102"]


async def test_quota_matrix_filters_full_over_industry_and_delegation(client, demo_mutable):
    cid = demo_mutable.competition_id
    await _first_reviewed(cid, 3)
    welder, xn = await ids(cid, "T001", "XN")
    await login(client, "organizer")
    full = (await client.get(_url(cid, "quota-usage"), params={"only": "full"})).text
    assert columns(full) == ["T001"] and rows(full) == ["西宁市总工会"]
    over = (await client.get(_url(cid, "quota-usage"), params={"only": "over"})).text
    assert zh("No quotas match.") in over and "matrix" not in over

    # The organizer lowers the quota below what is held: the cell is over, and shows so.
    await Quota.update({Quota.max_entries: 2}).where(
        (Quota.delegation == xn) & (Quota.trade == welder)
    )
    over = (await client.get(_url(cid, "quota-usage"), params={"only": "over"})).text
    assert columns(over) == ["T001"] and cell(over, welder, xn) == ("q over", "3/2", "")

    trade = await Trade.select(Trade.industry).where(Trade.id == welder).first()
    in_industry = await Trade.select(Trade.code).where(Trade.industry == trade["industry"])
    by_industry = await client.get(
        _url(cid, "quota-usage"), params={"industry": str(trade["industry"])}
    )
    assert set(columns(by_industry.text)) <= {t["code"] for t in in_industry}
    assert "T001" in columns(by_industry.text)
    one = await client.get(_url(cid, "quota-usage"), params={"delegation": str(xn)})
    assert rows(one.text) == ["西宁市总工会"]
    # Filters that are not numbers are dropped, not a server error.
    odd = await client.get(
        _url(cid, "quota-usage"), params={"industry": "x", "only": "bogus", "page_number": "-3"}
    )
    assert odd.status_code == 200 and len(columns(odd.text)) == 10


async def test_unlimited_and_missing_quotas_in_the_matrix(client, demo_mutable):
    cid = demo_mutable.competition_id
    electrician, xn = await ids(cid, "T002", "XN")
    before = sum(r["max_entries"] for r in await Quota.select())
    # A pair holding places without any quota row (the row was removed after first review).
    await _first_reviewed(cid, 1, trade="T003")
    gas, _xn = await ids(cid, "T003", "XN")
    lost = await Quota.select().where(
        (Quota.delegation == xn) & (Quota.trade.is_in([electrician, gas]))
    )
    await Quota.delete().where((Quota.delegation == xn) & (Quota.trade == gas))
    await Quota.update({Quota.max_entries: None}).where(
        (Quota.delegation == xn) & (Quota.trade == electrician)
    )

    await login(client, "organizer")
    page = (await client.get(_url(cid, "quota-usage"))).text
    assert cell(page, electrician, xn) == ("q", f"0/{zh('unlimited')}", "")
    assert cell(page, gas, xn) == ("q over", "1/—", "")
    cards = text(page.split('class="cards compact quota-totals"')[1].split("</div>\n</div>")[0])
    assert zh_plural("{n} row unlimited", "{n} rows unlimited", 1) in cards
    assert f"2,957 {zh('Quota rows (delegation × trade)')}" in cards
    # The places no longer counted: the electricians' (now unlimited) and the removed row's.
    assert f"{before - sum(r['max_entries'] for r in lost):,} {zh('Places')}" in cards


async def test_quota_matrix_in_english_uses_english_trade_names(client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    page = (await client.get(_url(cid, "quota-usage"))).text
    assert '<html lang="en">' in page
    assert "<h1>Quota usage</h1>" in page
    assert "Welder" in page and "焊工" not in main(page).split("<thead>")[1].split("</thead>")[0]
    assert en("Quota rows (delegation × trade)") in page


# ---------------------------------------------------------------------------- dashboard


async def _by_status(cid: int, **where) -> dict[str, int]:
    query = Entry.select(Entry.status, Count(alias="n")).where(Entry.competition == cid)
    for column, value in where.items():
        query = query.where(getattr(Entry, column) == value)
    return {r["status"]: r["n"] for r in await query.group_by(Entry.status)}


async def test_dashboard_shows_every_review_level_by_delegation_trade_and_day(client, demo_full):
    cid = demo_full.competition_id
    expected = await _by_status(cid)
    assert sum(expected.values()) == 312
    await login(client, "organizer")
    response = await client.get(_url(cid, "dashboard"))
    assert response.status_code == 200
    page = response.text
    assert f"<h1>{zh('Registration dashboard')}</h1>" in page
    assert zh_plural("{n} entry in all", "{n} entries in all", 312) in page
    cards = re.findall(
        r'<a class="card level-(\w+)" href="([^"]+)"><div class="figure">([\d,]+)</div>', page
    )
    assert [(status, int(n)) for status, _href, n in cards] == [
        (s, expected.get(s, 0)) for s in dashboard.STATUSES
    ]
    assert cards[0][1] == f"/org/competitions/{cid}/entries?status=submitted"

    # Five charts, each an image with a title, each with its table one click away.
    charts = re.findall(
        r'<svg class="chart"[^>]*role="img"[^>]*>\s*<title id="[^"]+">([^<]+)', page
    )
    assert charts == [
        zh("Entries by review level"),
        zh("Registrations per day"),
        zh("Entries by delegation"),
        zh("Entries by industry"),
        zh("The {n} trades with most entries", n=15),
    ]
    assert page.count('<details class="chart-table"') == 5

    xn = (
        await Delegation.select()
        .where((Delegation.code == "XN") & (Delegation.competition == cid))
        .first()
    )
    xn_counts = await _by_status(cid, delegation=xn["id"])
    xn_row = re.search(
        rf'delegation={xn["id"]}&amp;status=all">西宁市总工会</a></td>(.*?)</tr>', page
    )
    figures = [
        int(n.replace(",", ""))
        for n in re.findall(r'class="num">(?:<strong>)?([\d,]+)', xn_row.group(1))
    ]
    assert figures == [xn_counts.get(s, 0) for s in dashboard.STATUSES] + [sum(xn_counts.values())]
    # In the chart, the delegation's bar says its total and its parts in its tooltip.
    assert re.search(rf"<g><title>西宁市总工会: {sum(xn_counts.values())} \(", page)

    welder = await Trade.select().where((Trade.code == "T001") & (Trade.competition == cid)).first()
    welder_counts = await _by_status(cid, trade=welder["id"])
    welder_row = re.search(
        rf'trade={welder["id"]}&amp;status=all">T001 焊工</a></td>(.*?)</tr>', page
    )
    assert int(re.findall(r"<strong>([\d,]+)</strong>", welder_row.group(1))[0]) == sum(
        welder_counts.values()
    )

    today = dt.datetime.now(dt.UTC).astimezone(DISPLAY_TIMEZONE).date()
    day_table = page.split('id="by-day-table"')[1].split("</details>")[0]
    assert re.search(
        rf"<td class=\"nowrap\">{today.isoformat()}</td><td class=\"num\">312</td>", day_table
    )


async def test_dashboard_in_english_and_for_an_empty_competition(client, demo):
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    page = (await client.get(_url(demo.competition_id, "dashboard"))).text
    assert "<h1>Registration dashboard</h1>" in page
    assert en("Entries by delegation") in page
    assert page.count(en("No entries yet.")) >= 5  # each chart says so instead of drawing bars


async def test_registrations_fold_into_local_days(demo_mutable):
    """Counted per UTC hour by the database and folded into the display zone's days: 23:30 and
    00:30 in Shanghai are two days, whatever the UTC date says; a day without entries is 0."""
    cid = demo_mutable.competition_id
    entry_ids = [await register(cid) for _ in range(3)]
    stamps = [
        dt.datetime(2027, 3, 1, 15, 30, tzinfo=dt.UTC),  # 23:30 on 1 March in Shanghai
        dt.datetime(2027, 3, 1, 16, 30, tzinfo=dt.UTC),  # 00:30 on 2 March
        dt.datetime(2027, 3, 3, 16, 30, tzinfo=dt.UTC),  # 00:30 on 4 March
    ]
    for entry_id, stamp in zip(entry_ids, stamps, strict=True):
        await Entry.update({Entry.created_at: stamp}).where(Entry.id == entry_id)
    days, before = await dashboard.registrations_by_day(cid)
    assert before == 0
    assert days == [
        (dt.date(2027, 3, 1), 1),
        (dt.date(2027, 3, 2), 1),
        (dt.date(2027, 3, 3), 0),
        (dt.date(2027, 3, 4), 1),
    ]
