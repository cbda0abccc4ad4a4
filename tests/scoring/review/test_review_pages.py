"""The supervisors' review pages (scoring/controllers/review.py) over real HTTP: the list of
trades with their sample's state, drawing the sample (the seed shown), the entries by code only
— never a name — with their totals and why each was sampled, a re-check recorded per entry (an
error needs a note, the form comes back as typed), the error rate, and the full re-check."""

from __future__ import annotations

import re

from competition.tables import AuditLog
from scoring.review import service
from scoring.rules.values import format_hundredths
from scoring.tables import ReviewCheck, ReviewSample
from tests.page_text import main, text, zh
from tests.scoring.review.builders import reviewed_trade
from tests.support import login, post_form


def descending(n: int) -> list[int]:
    return [9000 - 50 * k for k in range(n)]


def rows_of(page: str) -> dict[str, str]:
    """code → the row's markup, from the table of entries to re-check."""
    table = page.split('id="review-checks"', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'<tr id="check-\d+" data-code="([^"]+)"(.*?)</tr>', table, re.S))


async def test_the_supervisor_draws_the_sample_and_records_each_re_check(demo_mutable, client):
    built = await reviewed_trade(descending(30))
    await login(client, "supervisor")
    base = f"/supervisor/competitions/{built.competition_id}/review"

    listing = await client.get(base)
    assert listing.status_code == 200
    row = re.search(r'<tr data-trade="T010">(.*?)</tr>', listing.text, re.S).group(1)
    assert f'href="{base}/{built.trade_id}"' in row
    assert zh("Draw the review sample") in text(row)

    url = f"{base}/{built.trade_id}"
    before = await client.get(url)
    assert before.status_code == 200 and f'action="{url}/sample"' in before.text
    assert zh("The review sample (复核) has not been drawn: the supervisors re-check a sample of "
              "the results before publication.") in text(before.text)  # fmt: skip
    assert 'name="_csrf_token"' in before.text

    drawn = await post_form(client, f"{url}/sample")
    assert drawn.status_code == 303 and drawn.headers["location"] == f"{url}?done=drawn"
    sample = await ReviewSample.select().where(ReviewSample.trade == built.trade_id).first()
    page = (await client.get(drawn.headers["location"])).text
    assert zh("The review sample has been drawn.") in page
    assert f'<code id="review-seed">{sample["seed"]}</code>' in page
    rows = rows_of(page)
    # 10 top + ceil(0.15 × 20) = 3 drawn at random, by code, with their totals.
    assert len(rows) == 13
    reasons = [re.search(r'data-reason="(\w+)"', r).group(1) for r in rows.values()]
    assert reasons == ["top"] * 10 + ["random"] * 3
    first = built.slots[0]
    assert format_hundredths(9000) in text(rows[built.codes[first]])
    assert zh("Top 10") in text(rows[built.codes[first]])
    # Codes only: no contestant's name anywhere on the page.
    assert not any(name in page for name in built.names)
    assert f'action="{url}/sample"' not in page  # drawn once

    # An error without a note: refused, and the form comes back with what was chosen.
    slot = built.slots[3]
    refused = await post_form(
        client, f"{url}/checks", {"slot": str(slot), "outcome": "error", "note": ""}
    )
    assert refused.status_code == 422
    assert zh("Say what the error was: the note is needed with an error.") in refused.text
    mine = rows_of(refused.text)[built.codes[slot]]
    assert re.search(r'value="error"\s+checked', mine)
    assert await ReviewCheck.count().where(ReviewCheck.outcome != "") == 0

    saved = await post_form(
        client, f"{url}/checks", {"slot": str(slot), "outcome": "error", "note": "B3 扣分漏记"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{url}?done=checked#check-{slot}"
    page = (await client.get(saved.headers["location"])).text
    row = text(rows_of(page)[built.codes[slot]])
    assert zh("Error found") in row and "B3 扣分漏记" in row
    assert "<form" not in rows_of(page)[built.codes[slot]]
    # 1 error in 1 check so far.
    assert re.search(r'id="review-rate">\s*100\.00 %', page)

    # A second recording of the same entry is refused; its outcome stays.
    again = await post_form(client, f"{url}/checks", {"slot": str(slot), "outcome": "ok"})
    assert again.status_code == 409
    assert zh("The re-check of {entry} has been recorded already.",
              entry=built.codes[slot]) in again.text  # fmt: skip

    # The other 12: all correct. 1 of 13 is 7.69 %: every other entry is now to be re-checked.
    sampled = [r["slot"] for r in await ReviewCheck.select(ReviewCheck.slot).where(
        ReviewCheck.outcome == "")]  # fmt: skip
    assert len(sampled) == 12
    locations = []
    for other in sorted(sampled):
        response = await post_form(client, f"{url}/checks", {"slot": str(other), "outcome": "ok"})
        assert response.status_code == 303
        locations.append(response.headers["location"])
    # The last sampled check decides the rule, not before.
    assert ["done=full" in loc for loc in locations] == [False] * 11 + [True]
    progress = locations[-1]
    assert "done=full" in progress
    page = (await client.get(progress)).text
    assert zh("The re-checks found errors in over {percent} % of the sample: every entry of the "
              "trade must now be re-checked.", percent=5) in page  # fmt: skip
    assert re.search(r'id="review-rate">\s*7\.69 %', page)
    rows = rows_of(page)
    assert len(rows) == 30
    full_rows = [r for r in rows.values() if 'data-reason="full"' in r]
    assert len(full_rows) == 17 and all(zh("Full re-check") in text(r) for r in full_rows)
    publication = text(page.split('id="review-publication"', 1)[1].split("</dd>", 1)[0])
    assert "17" in publication

    listing = await client.get(base)
    row = text(re.search(r'<tr data-trade="T010">(.*?)</tr>', listing.text, re.S).group(1))
    assert zh("Full re-check required") in row and "7.69 %" in row
    assert await AuditLog.count().where(AuditLog.action.like("review.%")) == 1 + 13 + 1


async def test_the_sample_waits_for_the_lock_and_other_roles_are_refused(
    demo_mutable, client, other_client
):
    from competition.stages import Stage

    built = await reviewed_trade(descending(12), stage=Stage.marks_complete)
    await login(client, "supervisor")
    url = f"/supervisor/competitions/{built.competition_id}/review/{built.trade_id}"
    page = await client.get(url)
    assert page.status_code == 200 and f'action="{url}/sample"' not in page.text
    refused = await post_form(client, f"{url}/sample")
    assert refused.status_code == 409
    assert await ReviewSample.count() == 0
    assert text(main(refused.text))

    await login(other_client, "organizer")
    assert (await other_client.get(url)).status_code == 403
    assert (await post_form(other_client, f"{url}/sample")).status_code == 403
    # Another competition's trade is not found under this one.
    wrong = f"/supervisor/competitions/{built.competition_id}/review/999999"
    assert (await client.get(wrong)).status_code == 404
    assert await service.sample_of(built.trade_id) is None
