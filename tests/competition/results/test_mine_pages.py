"""A contestant's own results page and a delegation's (我的成绩) over real HTTP: nothing before
publication, then the line with its score detail; an appeal (申诉) filed for one's own entry or
one's delegation's, refused for anyone else's, refused twice while one waits, refused once
the window has closed — each with a message and the text kept."""

from __future__ import annotations

import datetime as dt

from competition import clock
from competition.results import publication
from competition.results.tables import Appeal, AppealStatus, Publication
from competition.tables import Delegation, Role
from registration.tables import Entry, EntryStatus, Person
from tests.competition.results.builders import locked_trade
from tests.page_text import main, text, zh
from tests.support import PASSWORD, login, make_user, post_form

APPEAL = "第二项测量值与实际不符，请复核。"


async def _contestant_of(trade_id: int, *, rank: int = 0) -> dict:
    """An approved entry of the trade, its person given a contestant account (the demo's
    contestant is in another trade)."""
    version = await publication.board_version(trade_id)
    if version is not None:
        appealed = {a["entry"] for a in await Appeal.select(Appeal.entry)}  # the demo's one
        ranked = sorted(
            (r for r in version.rows if r.present and r.entry_id not in appealed),
            key=lambda r: r.place,
        )
        entry_id = ranked[rank].entry_id
    else:
        entry_id = (
            await Entry.select(Entry.id)
            .where((Entry.trade == trade_id) & (Entry.status == EntryStatus.approved))
            .order_by(Entry.id)
            .first()
        )["id"]
    entry = (
        await Entry.select(Entry.id, Entry.person, Entry.delegation)
        .where(Entry.id == entry_id)
        .first()
    )
    username = f"contestant-{entry_id}"
    user_id = await make_user(username, Role.contestant)
    await Person.update({Person.user: user_id}).where(Person.id == entry["person"])
    return {**entry, "username": username}


async def test_before_publication_the_page_says_not_yet(demo_marks, client):
    trade = await locked_trade()
    mine = await _contestant_of(trade.trade_id)
    await login(client, mine["username"], PASSWORD)
    page = await client.get("/me/results")
    assert page.status_code == 200
    assert zh("The results of this trade are not published yet.") in text(main(page.text))
    assert 'name="entry_id"' not in page.text
    refused = await post_form(client, "/me/appeals", {"entry_id": mine["id"], "text": APPEAL})
    assert refused.status_code == 409
    assert APPEAL in refused.text
    assert not await Appeal.exists().where(Appeal.entry == mine["id"])


async def test_a_contestant_sees_the_line_and_appeals_once(demo_results, client):
    trade = await locked_trade()
    mine = await _contestant_of(trade.trade_id, rank=1)
    await login(client, mine["username"], PASSWORD)
    home = await client.get("/me")
    assert 'href="/me/results"' in home.text
    page = await client.get("/me/results")
    version = await publication.board_version(trade.trade_id)
    line = next(r for r in version.rows if r.entry_id == mine["id"])
    section = main(page.text).split(f'id="entry-{mine["id"]}"')[1].split("</section>")[0]
    assert f'<div class="figure">{line.place}</div>' in section
    assert 'class="score-detail"' in section and zh("Score detail by criterion") in section
    assert f'name="entry_id" value="{mine["id"]}"' in section

    # Someone else's entry: refused, nothing stored.
    other = next(r for r in version.rows if r.entry_id != mine["id"])
    refused = await post_form(client, "/me/appeals", {"entry_id": other.entry_id, "text": APPEAL})
    assert refused.status_code == 403
    assert zh("You cannot appeal about this entry.") in text(refused.text)
    empty = await post_form(client, "/me/appeals", {"entry_id": mine["id"], "text": "  "})
    assert empty.status_code == 422

    done = await post_form(client, "/me/appeals", {"entry_id": mine["id"], "text": APPEAL})
    assert done.status_code == 303 and done.headers["location"] == "/me/results?done=appealed"
    filed = await Appeal.select().where(Appeal.entry == mine["id"])
    assert [(a["status"], a["filed_as"], a["text"]) for a in filed] == [
        (AppealStatus.filed, Role.contestant, APPEAL)
    ]
    shown = await client.get(done.headers["location"])
    assert 'id="appeal-done"' in shown.text and APPEAL in text(
        shown.text.split('id="my-appeals"')[1]
    )
    again = await post_form(client, "/me/appeals", {"entry_id": mine["id"], "text": "再次申诉"})
    assert again.status_code == 409
    assert zh("An appeal about this entry is already waiting for a ruling.") in text(again.text)
    assert "再次申诉" in again.text  # the text is kept in the form


async def test_no_appeal_after_the_window(demo_results, client):
    trade = await locked_trade()
    mine = await _contestant_of(trade.trade_id, rank=2)
    await Publication.update(
        {Publication.appeals_close_at: clock.now() - dt.timedelta(minutes=1)}
    ).where(Publication.trade == trade.trade_id)
    await login(client, mine["username"], PASSWORD)
    page = await client.get("/me/results")
    assert 'name="entry_id"' not in page.text
    late = await post_form(client, "/me/appeals", {"entry_id": mine["id"], "text": APPEAL})
    assert late.status_code == 409
    assert not await Appeal.exists().where(Appeal.entry == mine["id"])


async def test_a_delegation_sees_its_people_and_appeals_for_them(demo_results, client):
    trade = await locked_trade()
    xining = (
        await Delegation.select(Delegation.id)
        .where((Delegation.competition == trade.competition_id) & (Delegation.code == "XN"))
        .first()
    )
    ours = await Entry.select(Entry.id, Entry.person.name).where(
        (Entry.trade == trade.trade_id) & (Entry.delegation == xining["id"])
        & (Entry.status == EntryStatus.approved)
    )  # fmt: skip
    await login(client, "xining")
    page = await client.get("/delegation/results")
    assert page.status_code == 200
    body = text(main(page.text))
    assert ours and all(e["person.name"] in body for e in ours)
    # The demo's appeal, waiting: a second one for the same contestant is refused.
    assert 'id="my-appeals"' in page.text
    (waiting,) = await Appeal.select(Appeal.entry).where(Appeal.delegation == xining["id"])
    again = await post_form(
        client, "/delegation/appeals", {"entry_id": waiting["entry"], "text": APPEAL}
    )
    assert again.status_code == 409

    # Another delegation's admin: its own contestant yes, 西宁's no.
    mine = await _contestant_of(trade.trade_id)
    admin = "delegation-admin-results"
    await make_user(admin, Role.delegation_admin, delegation_id=mine["delegation"])
    await login(client, admin, PASSWORD)
    refused = await post_form(
        client, "/delegation/appeals", {"entry_id": waiting["entry"], "text": APPEAL}
    )
    assert refused.status_code == 403
    done = await post_form(client, "/delegation/appeals", {"entry_id": mine["id"], "text": APPEAL})
    assert (
        done.status_code == 303 and done.headers["location"] == "/delegation/results?done=appealed"
    )
    filed = await Appeal.select(Appeal.filed_as, Appeal.delegation).where(
        Appeal.entry == mine["id"]
    )
    assert filed == [{"filed_as": Role.delegation_admin, "delegation": mine["delegation"]}]
