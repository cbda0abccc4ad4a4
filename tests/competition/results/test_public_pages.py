"""The public notice board (成绩公示) over real HTTP, signed out: nothing of a trade before it
is published, then its version with the names masked — never a full name, ticket or ID number —
and an earlier version only if it was on the board."""

from __future__ import annotations

import re

from competition.results import publication
from registration.tables import Entry, EntryStatus
from tests.competition.results.builders import TRADE, actor, locked_trade
from tests.page_text import en, main, text, zh


async def test_a_trade_not_published_is_not_on_the_board(demo_marks, client):
    trade = await locked_trade()
    board = await client.get(f"/competitions/{trade.competition_id}/results")
    assert board.status_code == 200
    assert f"/results/{trade.trade_id}" not in board.text
    assert zh("No results have been published yet.") in text(main(board.text))
    hidden = await client.get(f"/competitions/{trade.competition_id}/results/{trade.trade_id}")
    assert hidden.status_code == 404
    assert zh("These results are not published.") in text(hidden.text)
    assert (await client.get("/competitions/999999/results")).status_code == 404


async def test_the_board_shows_the_published_version_with_masked_names(demo_results, client):
    trade = await locked_trade()
    cid = trade.competition_id
    home = await client.get(f"/competitions/{cid}")
    assert f'href="/competitions/{cid}/results"' in home.text
    board = await client.get(f"/competitions/{cid}/results")
    assert (
        board.status_code == 200 and f"/competitions/{cid}/results/{trade.trade_id}" in board.text
    )

    page = await client.get(f"/competitions/{cid}/results/{trade.trade_id}")
    assert page.status_code == 200
    version = await publication.board_version(trade.trade_id)
    body = text(main(page.text))
    assert zh("Version {n}", n=1) in body
    people = await Entry.select(
        Entry.person.name, Entry.person.id_number, Entry.ticket_number
    ).where((Entry.trade == trade.trade_id) & (Entry.status == EntryStatus.approved))
    assert people
    for person in people:
        assert person["person.name"] not in body
        assert person["person.id_number"] not in page.text
        assert person["ticket_number"] not in page.text
    winner = min((r for r in version.rows if r.present), key=lambda r: r.place)
    assert winner.name in body and "*" in winner.name
    table = main(page.text).split('id="board-group-1"')[1].split("</table>")[0]
    assert re.search(rf"<td[^>]*>{winner.place}</td>", table)
    # The appeal window is still open: the board says how to appeal.
    assert version.appeals_open() and zh("The appeal window has closed.") not in body

    # A version that was never on the board is not shown; nor a trade of another competition.
    assert (await client.get(f"{page.url.path}?version=2")).status_code == 404
    other = await client.get(f"/competitions/{cid + 1}/results/{trade.trade_id}")
    assert other.status_code == 404
    client.cookies.set("lang", "en")
    english = await client.get(page.url.path)
    assert en("Results notice board") in english.text


async def test_a_withdrawn_version_leaves_the_board(demo_results, client):
    trade = await locked_trade(TRADE)
    await publication.withdraw(trade.trade_id, actor=await actor("organizer"), reason="核分有误")
    page = await client.get(f"/competitions/{trade.competition_id}/results/{trade.trade_id}")
    assert page.status_code == 404
    board = await client.get(f"/competitions/{trade.competition_id}/results")
    assert f"/results/{trade.trade_id}" not in board.text
