"""The organizer's, the encryption role's and the supervisor's results pages over real HTTP:
codes only before decryption, decryption from its page, publication with its notice period,
a bad notice period refused with the form kept, the supervisor's ruling, versions compared."""

from __future__ import annotations

from competition.results import appeals, publication
from competition.results.tables import Appeal
from competition.tables import Role
from tests.competition.results.builders import actor, locked_trade, published_trade, reviewed
from tests.page_text import text, zh
from tests.support import login, post_form


async def test_codes_only_until_the_encryption_role_decrypts(demo_marks, client):
    trade = await locked_trade()
    await login(client, "organizer")
    url = f"/org/competitions/{trade.competition_id}/results/{trade.trade_id}"
    locked = await client.get(url)
    assert locked.status_code == 200
    assert 'id="results-encrypted"' in locked.text
    assert zh("Name") not in text(locked.text.split('id="group-1"')[1].split("</thead>")[0])

    await login(client, "encryption")
    page = f"/encryption/competitions/{trade.competition_id}/decryption"
    listing = await client.get(page)
    assert listing.status_code == 200 and f"{page}/{trade.trade_id}" in listing.text
    done = await post_form(client, f"{page}/{trade.trade_id}")
    assert done.status_code == 303
    again = await post_form(client, f"{page}/{trade.trade_id}")
    assert again.status_code == 409 and zh("The trade is already decrypted.") in text(again.text)

    await login(client, "organizer")
    decrypted = await client.get(url)
    assert 'id="results-encrypted"' not in decrypted.text
    assert 'id="results-publish"' in decrypted.text
    overview = await client.get(f"/org/competitions/{trade.competition_id}/results")
    assert overview.status_code == 200 and url in overview.text


async def test_publication_from_the_page(demo_marks, client):
    trade = await locked_trade()
    await publication.decrypt_trade(trade.trade_id, actor=await actor("encryption"))
    await reviewed(trade)
    await login(client, "organizer")
    url = f"/org/competitions/{trade.competition_id}/results/{trade.trade_id}"
    bad = await post_form(client, f"{url}/publish", {"notice_hours": "0", "note": "初版"})
    assert bad.status_code == 422
    assert zh("The notice period is between 1 and {max} hours.", max=720) in text(bad.text)
    assert 'value="初版"' in bad.text
    done = await post_form(client, f"{url}/publish", {"notice_hours": "48", "note": ""})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=published"
    page = await client.get(done.headers["location"])
    assert 'id="results-versions"' in page.text and 'id="results-final"' in page.text
    version = await publication.board_version(trade.trade_id)
    hours = (version.notice_ends_at - version.published_at).total_seconds() / 3600
    assert round(hours) == 48
    shown = await client.get(f"{url}/versions/1")
    assert shown.status_code == 200 and version.rows[0].name in shown.text


async def test_the_supervisor_rules_on_an_appeal(demo_marks, client):
    trade = await published_trade()
    entry = (await publication.board_version(trade.trade_id)).rows[0].entry_id
    appeal_id = await appeals.file_appeal(
        entry, "理论成绩有误", actor=await actor("xining"), filed_as=Role.delegation_admin
    )
    await login(client, "supervisor")
    base = f"/supervisor/competitions/{trade.competition_id}/appeals"
    listing = await client.get(base)
    assert listing.status_code == 200 and "理论成绩有误" in listing.text
    empty = await post_form(client, f"{base}/{appeal_id}/ruling", {"decision": "dismissed"})
    assert empty.status_code == 422
    ruled = await post_form(
        client, f"{base}/{appeal_id}/ruling", {"decision": "dismissed", "ruling": "经复核无误"}
    )
    assert ruled.status_code == 303
    row = await Appeal.select(Appeal.status, Appeal.ruling).where(Appeal.id == appeal_id).first()
    assert row == {"status": "dismissed", "ruling": "经复核无误"}
    twice = await post_form(
        client, f"{base}/{appeal_id}/ruling", {"decision": "upheld", "ruling": "x"}
    )
    assert twice.status_code == 409
    results = await client.get(
        f"/supervisor/competitions/{trade.competition_id}/results/{trade.trade_id}"
    )
    assert results.status_code == 200 and 'id="results-publish"' not in results.text
