"""Admission tickets (real PDF, QR decoded back, signature verified) and check-in."""

from __future__ import annotations

import io
import uuid

import pypdf
import pytest

from competition import services
from competition.audit import SYSTEM
from competition.errors import PermissionDenied
from competition.tables import CompetitionSession
from registration import checkin, review, tickets, tokens
from registration.tables import CheckIn, Entry
from tests.registration.helpers import ids, new_id, register
from tests.support import qr_in_pdf


async def _approved(cid: int, **kwargs) -> int:
    entry_id = await register(cid, **kwargs)
    _trade, xn = await ids(cid, "T001", "XN")
    await review.review_by_delegation(cid, xn, [entry_id], True, actor=SYSTEM)
    await review.review_by_organizer(cid, [entry_id], True, actor=SYSTEM)
    return entry_id


async def test_ticket_pdf_carries_a_verifiable_signed_qr(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await _approved(cid, id_number=number, name="才让多杰")
    pdf = tickets.render_ticket_pdf(await tickets.load_ticket(entry_id))
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "准" in text and "才让多杰" in text and "QH16-T001-0001" in text
    assert number not in text and number[:4] in text  # the ID number is masked
    claim = tokens.verify(qr_in_pdf(pdf))
    assert claim.entry_id == entry_id and claim.ticket_number == "QH16-T001-0001"
    assert claim.version == 1


def test_a_forged_or_altered_token_is_refused():
    claim = tokens.TicketClaim(competition_id=1, entry_id=7, version=1, ticket_number="X-1")
    token = tokens.sign(claim)
    assert tokens.verify(token) == claim
    prefix, _payload, signature = token.split(".")
    altered = tokens._b64(b"1|8|1|X-1")
    for bad in (f"{prefix}.{altered}.{signature}", token[:-2] + "AA", "hello", ""):
        with pytest.raises(Exception) as caught:
            tokens.verify(bad)
        assert getattr(caught.value, "code", "") == "ticket_forged"


async def test_no_ticket_before_approval(demo_mutable):
    entry_id = await register(demo_mutable.competition_id)
    with pytest.raises(PermissionDenied):
        await tickets.load_ticket(entry_id)


async def _at_checkin(cid: int) -> None:
    await services.advance_phase(cid, "review", SYSTEM)
    await services.advance_phase(cid, "draw", SYSTEM)


async def _token(entry_id: int) -> str:
    return (await tickets.load_ticket(entry_id)).token


async def _own_session(entry_id: int) -> int:
    return (await Entry.select(Entry.session).where(Entry.id == entry_id).first())["session"]


async def test_check_in_once_then_already_with_time_and_replay_is_idempotent(demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid)
    token = await _token(entry_id)
    session_id = await _own_session(entry_id)
    await _at_checkin(cid)
    nonce = uuid.uuid4().hex
    first = await checkin.redeem_ticket(token, session_id, nonce, actor=SYSTEM)
    assert first.outcome == "checked_in" and first.entry_id == entry_id and first.has_photo
    replay = await checkin.redeem_ticket(token, session_id, nonce, actor=SYSTEM)
    assert replay.outcome == "checked_in" and replay.checked_in_at == first.checked_in_at
    second = await checkin.redeem_ticket(token, session_id, uuid.uuid4().hex, actor=SYSTEM)
    assert second.outcome == "already" and second.checked_in_at == first.checked_in_at
    assert await CheckIn.count().where(CheckIn.entry == entry_id) == 1


async def test_revoked_changed_wrong_trade_and_wrong_session_are_refused(demo_mutable):
    cid = demo_mutable.competition_id
    revoked = await _approved(cid)
    revoked_token = await _token(revoked)
    revoked_session = await _own_session(revoked)
    other = await _approved(cid)
    other_token = await _token(other)
    own = await _own_session(other)
    wrong_practical = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(
            (CompetitionSession.trade == (await ids(cid, "T001", "XN"))[0])
            & (CompetitionSession.event == "practical")
            & (CompetitionSession.id != own)
        )
        .first()
    )["id"]
    other_trade_session = (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.code == "T002-TH")
        .first()
    )["id"]
    await review.revoke_entry(cid, revoked, "替考", actor=SYSTEM)
    await _at_checkin(cid)
    result = await checkin.redeem_ticket(
        revoked_token, revoked_session, uuid.uuid4().hex, actor=SYSTEM
    )
    assert result.outcome == "refused" and "替考" in result.message.params["reason"]
    wrong = await checkin.redeem_ticket(
        other_token, wrong_practical, uuid.uuid4().hex, actor=SYSTEM
    )
    assert wrong.outcome == "refused"
    elsewhere = await checkin.redeem_ticket(
        other_token, other_trade_session, uuid.uuid4().hex, actor=SYSTEM
    )
    assert elsewhere.outcome == "refused"
    assert await CheckIn.count() == 0


async def test_check_in_closed_before_the_draw_phase(demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid)
    result = await checkin.redeem_ticket(
        await _token(entry_id), await _own_session(entry_id), uuid.uuid4().hex, actor=SYSTEM
    )
    assert result.outcome == "refused"
    assert await CheckIn.count() == 0
