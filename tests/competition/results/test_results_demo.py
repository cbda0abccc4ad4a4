"""The demo's results (`make demo`): 装配钳工 on the notice board with an appeal waiting, and
拉面师 walked from "marks complete" to published results through the pages, each step by the
demo account of its role."""

from __future__ import annotations

from competition.results import appeals, publication
from competition.stages import Stage
from competition.tables import Trade
from scoring.review import service as review
from scoring.tables import PanelMember
from tests.support import login, post_form


async def _trade(code: str) -> dict:
    return (
        await Trade.select(Trade.id, Trade.competition, Trade.stage)
        .where(Trade.code == code)
        .first()
    )


async def test_the_demo_has_published_results_with_an_appeal(demo_results):
    published = await _trade("T003")
    assert published["stage"] == Stage.published
    version = await publication.board_version(published["id"])
    # 9 competed: floor(0.9) = 0 first prizes, floor(2.7) = 2 in the first two bands.
    assert version.version == 1 and [r.award for r in version.rows if r.award] == [2, 2, 3, 3, 3]
    waiting = await appeals.appeals_of_trade(published["id"])
    assert [a.status for a in waiting] == ["filed"]
    assert (await _trade("T087"))["stage"] == Stage.marks_complete


async def test_a_trade_walked_to_published_results_in_the_pages(demo_results, client):
    trade = await _trade("T087")
    tid, cid = trade["id"], trade["competition"]
    chief = (
        await PanelMember.select(PanelMember.judge.user.username)
        .where(
            (PanelMember.trade == tid) & (PanelMember.is_chief == True)  # noqa: E712
        )
        .first()
    )

    await login(client, chief["judge.user.username"])
    locked = await post_form(client, f"/chief/trades/{tid}/lock", {"confirm": "1"})
    assert locked.status_code == 303, locked.text[:500]

    await login(client, "encryption")
    decrypted = await post_form(client, f"/encryption/competitions/{cid}/decryption/{tid}")
    assert decrypted.status_code == 303

    await login(client, "supervisor")
    base = f"/supervisor/competitions/{cid}/review/{tid}"
    assert (await post_form(client, f"{base}/sample")).status_code == 303
    sample = await review.sample_view(tid)
    for check in sample.checks:
        done = await post_form(
            client, f"{base}/checks", {"slot": str(check["slot"]), "outcome": "ok"}
        )
        assert done.status_code == 303

    await login(client, "organizer")
    url = f"/org/competitions/{cid}/results/{tid}"
    published = await post_form(client, f"{url}/publish", {"notice_hours": "72", "note": ""})
    assert published.status_code == 303
    page = await client.get(published.headers["location"])
    assert page.status_code == 200 and 'id="results-versions"' in page.text
    assert (await _trade("T087"))["stage"] == Stage.published
