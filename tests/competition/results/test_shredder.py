"""The end of a competition's personal data: refused before the final results and within the
retention period, the plan shown first, a typed confirmation, then the photos, phone numbers,
uncertified ID numbers and import files gone from every table — while certificates still verify
and results still show."""

from __future__ import annotations

import datetime as dt

from competition.errors import PhaseError
from competition.results import shredder
from competition.results.certificates import service as certificates
from competition.results.tables import Certificate, Publication
from competition.tables import AuditLog, Competition, Trade
from piccolo_app import APP_CONFIG
from registration.tables import Entry, ImportBatch, Person, Photo
from tests.competition.results.builders import actor, competition_phase, final_trade
from tests.support import csrf_token, login

# 往届获奖记录 records earlier prizes by ID number for the "no second first prize" rule: a prize,
# kept like a certificate.
KEPT_TABLES = {"award_history"}


async def _every_value() -> str:
    """Every row of every table as text (bytes as Latin-1), to search for what must be gone."""
    parts = []
    for table in APP_CONFIG.table_classes:
        if table._meta.tablename in KEPT_TABLES:
            continue
        for row in await table.select():
            for value in row.values():
                if isinstance(value, bytes | bytearray | memoryview):
                    parts.append(bytes(value).decode("latin-1"))
                else:
                    parts.append(str(value))
    return "\n".join(parts)


async def test_the_personal_data_goes_and_the_certificates_still_verify(demo_marks, client):
    trade = await final_trade()
    organizer = await actor("organizer")
    await certificates.issue_trade(trade.trade_id, actor=organizer)
    cid = trade.competition_id
    page_url = f"/org/competitions/{cid}/shredder"
    await login(client, "organizer")

    # Not before every trade with entries is final, and the competition's results are final.
    assert not (await shredder.plan(cid)).allowed
    with_entries = {r["trade"] for r in await Entry.select(Entry.trade).where(
        Entry.competition == cid).distinct()}  # fmt: skip
    await Trade.update({Trade.stage: "final"}).where(Trade.id.is_in(list(with_entries)))
    await competition_phase(cid, "final")
    # Within the retention period: refused, with the date it ends.
    before = await shredder.plan(cid)
    assert before.final_at is not None and not before.allowed
    try:
        await shredder.shred(cid, confirmation="QH16", actor=organizer)
        raise AssertionError("shredded within the retention period")
    except PhaseError as exc:
        assert exc.code == "shred_in_retention"
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=181)
    await Publication.update({Publication.ended_at: long_ago}).where(
        Publication.trade == trade.trade_id
    )

    plan = await shredder.plan(cid)
    assert plan.allowed and plan.people > 0 and plan.id_numbers_kept > 0
    people = await Person.select().where(
        Person.id.is_in([r["person"] for r in await Entry.select(Entry.person).where(
            Entry.competition == cid)])
    )  # fmt: skip
    certified = {r["entry.person"] for r in await Certificate.select(Certificate.entry.person)}
    gone_ids = [p["id_number"] for p in people if p["id"] not in certified]
    kept_ids = [p["id_number"] for p in people if p["id"] in certified]
    phones = [p["phone"] for p in people if p["phone"]]
    assert gone_ids and kept_ids and phones
    assert plan.phones == len(phones) and plan.id_numbers_masked == len(gone_ids)
    shown = await client.get(page_url)
    assert shown.status_code == 200 and 'id="shred-form"' in shown.text
    assert f"{plan.id_numbers_masked:,}" in shown.text

    # A wrong confirmation changes nothing.
    token = await csrf_token(client)
    wrong = await client.post(page_url, data={"_csrf_token": token, "confirmation": "NOPE"})
    assert wrong.status_code == 422
    assert await Person.count().where(Person.id_number == gone_ids[0]) == 1

    done = await client.post(page_url, data={"_csrf_token": token, "confirmation": "qh16"})
    assert done.status_code == 303, done.text
    everything = await _every_value()
    assert not [n for n in gone_ids if n in everything]
    assert not [p for p in phones if p in everything]
    assert await Photo.count() == 0 and await ImportBatch.count().where(
        ImportBatch.competition == cid) == 0  # fmt: skip
    # People with a certificate keep their number; the results and certificates still work.
    for kept in kept_ids:
        assert await Person.count().where(Person.id_number == kept) == 1
    number = (await Certificate.select(Certificate.number).first())["number"]
    verify = await client.get(f"/certificates/{number}")
    assert verify.status_code == 200 and "证书有效" in verify.text
    board = await client.get(f"/competitions/{cid}/results")
    assert board.status_code == 200
    shredded = await Competition.select(Competition.shredded_at).where(Competition.id == cid)
    assert shredded[0]["shredded_at"] is not None
    assert await AuditLog.count().where(AuditLog.action == "competition.shred") == 1
    # Once only.
    again = await client.post(page_url, data={"_csrf_token": token, "confirmation": "QH16"})
    assert again.status_code == 409


async def test_the_retention_period_is_the_organizers_to_set(demo_marks, client):
    trade = await final_trade()
    await login(client, "organizer")
    url = f"/org/competitions/{trade.competition_id}/shredder/retention"
    token = await csrf_token(client)
    assert (await client.post(url, data={"_csrf_token": token, "retention_days": "30"})
            ).status_code == 303  # fmt: skip
    assert (await shredder.plan(trade.competition_id)).retention_days == 30
    bad = await client.post(url, data={"_csrf_token": token, "retention_days": "99999"})
    assert bad.status_code == 422
    await login(client, "supervisor")
    page = await client.get(f"/org/competitions/{trade.competition_id}/shredder")
    assert page.status_code == 403
