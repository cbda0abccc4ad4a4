"""Admission tickets (real PDF, QR decoded back, signature verified) and check-in."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import uuid

import pypdf
import pytest

from competition import audit, db, services
from competition.audit import SYSTEM, Actor
from competition.errors import PermissionDenied, ValidationFailed
from competition.tables import AuditLog, CompetitionSession
from registration import checkin, checkin_lookup, review, tickets, tokens
from registration.tables import CheckIn, Entry
from tests.registration.helpers import ids, new_id, register
from tests.support import qr_in_pdf

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


async def _approved(cid: int, **kwargs) -> int:
    return await _approved_in(cid, "T001", **kwargs)


async def _approved_in(cid: int, trade_code: str, **kwargs) -> int:
    entry_id = await register(cid, trade_code, **kwargs)
    _trade, xn = await ids(cid, trade_code, "XN")
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


# ---------------------------------------------------------------------------- canonical tokens


def _twin(text: str) -> str:
    """The same text with its last character's lowest bit flipped: for a length whose last
    character carries unused bits, base64 decoding drops that bit and reads the same bytes."""
    last = B64URL.index(text[-1])
    return text[:-1] + B64URL[last ^ 1]


def _unpadded_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refused(token: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        tokens.verify(token)
    assert caught.value.code == "ticket_forged", token


async def test_ticket_tokens_accept_only_canonical_base64url(demo_mutable):
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid)
    token = await _token(entry_id)
    prefix, payload, signature = token.split(".")
    assert tokens.verify(token).entry_id == entry_id
    # 64 signature bytes are 86 characters, 516 bits for 512: the last character carries 4
    # bits that decoding ignores, so its twin reads as the very same signature…
    assert len(signature) == 86
    twin = _twin(signature)
    assert twin != signature and _unpadded_decode(twin) == _unpadded_decode(signature)
    # …and is refused all the same, like every other spelling the signer never writes.
    for spelling in (
        f"{prefix}.{payload}.{twin}",
        f"{prefix}.{payload}.{signature}==",  # padding
        f"{prefix}.{payload}==.{signature}",
        f"{prefix}.{payload}.{signature[:40]} {signature[40:]}",  # whitespace inside
        f"{prefix}.{payload}.{signature[:40]}\n{signature[40:]}",
        f"{prefix}.{payload[:6]}\t{payload[6:]}.{signature}",
        f"{prefix}.{payload}.{signature[:-1]}",  # a character short
        f"{prefix}.{payload}.{signature}A",
    ):
        _refused(spelling)
    # Leading and trailing whitespace is what a scanner gun adds (the Enter key): that passes.
    assert tokens.verify(f"  {token}\n") == tokens.verify(token)

    # At the desk the twin is refused and checks no one in.
    await _at_checkin(cid)
    result = await checkin.redeem_ticket(
        f"{prefix}.{payload}.{twin}", await _own_session(entry_id), uuid.uuid4().hex, actor=SYSTEM
    )
    assert result.outcome == "refused" and result.entry_id is None
    assert await CheckIn.count() == 0


def test_the_standard_alphabet_and_non_canonical_payloads_are_refused():
    # Signatures are random-looking: sign tickets until one has a '-' or '_' in its signature,
    # whose '+' or '/' spelling the standard decoder would read as the same bytes.
    for n in range(200):
        token = tokens.sign(tokens.TicketClaim(1, 7, 1, f"QH16-T001-{n:04d}"))
        prefix, payload, signature = token.split(".")
        if "-" in signature or "_" in signature:
            break
    standard = signature.replace("-", "+").replace("_", "/")
    assert base64.b64decode(standard + "==") == _unpadded_decode(signature)
    _refused(f"{prefix}.{payload}.{standard}")

    # A payload spelled differently is signed differently, so a forger would have to sign it:
    # even a correctly signed non-canonical payload is refused, by the decoder.
    claim_text = "1|7|1|X-12"  # 10 bytes: 14 characters, the last with 2 unused bits
    payload = tokens._b64(claim_text.encode())
    assert len(payload) == 14
    signed = f"{tokens.PREFIX}.{_twin(payload)}"
    forged = f"{signed}.{tokens._b64(tokens.signing_key().sign(signed.encode()))}"
    assert _unpadded_decode(_twin(payload)) == claim_text.encode()
    _refused(forged)


# ---------------------------------------------------------------------------- nonces

REUSED = (
    "This scan id was already used for another ticket; nothing was checked in. "
    "Scan the ticket again."
)


async def _two_at_checkin(cid: int) -> tuple[tuple[int, str, int], tuple[int, str, int]]:
    """Two approved contestants of 焊工 (entry, token, own session), check-in open."""
    first, second = await _approved(cid, name="才让多杰"), await _approved(cid, name="李海燕")
    ready = [(e, await _token(e), await _own_session(e)) for e in (first, second)]
    await _at_checkin(cid)
    return ready[0], ready[1]


async def _theory_session() -> int:
    """The 焊工 theory session, which every contestant of the trade sits."""
    return (
        await CompetitionSession.select(CompetitionSession.id)
        .where(CompetitionSession.code == "T001-TH")
        .first()
    )["id"]


async def test_a_nonce_replayed_with_another_ticket_or_session_is_refused(demo_mutable):
    cid = demo_mutable.competition_id
    (first, first_token, practical), (second, second_token, _s) = await _two_at_checkin(cid)
    theory = await _theory_session()
    nonce = uuid.uuid4().hex
    checked = await checkin.redeem_ticket(first_token, theory, nonce, actor=SYSTEM)
    assert checked.outcome == "checked_in" and checked.name == "才让多杰"

    # The same nonce with another genuine ticket: refused, and nothing of the first ticket's
    # contestant in the answer.
    other = await checkin.redeem_ticket(second_token, theory, nonce, actor=SYSTEM)
    assert other.outcome == "refused" and str(other.message) == REUSED
    assert other.entry_id is None and other.name == "" and not other.has_photo
    # With the same ticket at another session (the contestant's own practical one).
    elsewhere = await checkin.redeem_ticket(first_token, practical, nonce, actor=SYSTEM)
    assert elsewhere.outcome == "refused" and str(elsewhere.message) == REUSED
    # By another account (another desk replaying what it saw): refused too.
    replayed = await checkin.redeem_ticket(
        first_token, theory, nonce, actor=Actor(user_id=999, name="another desk")
    )
    assert replayed.outcome == "refused" and str(replayed.message) == REUSED
    assert replayed.entry_id is None
    # With a forged token: not genuine, and still no contestant.
    forged = await checkin.redeem_ticket("JX1.AAAA.BBBB", theory, nonce, actor=SYSTEM)
    assert forged.outcome == "refused" and forged.entry_id is None and forged.name == ""
    assert str(forged.message) == "This QR code is not a genuine admission ticket of this system."
    # The same scan retried: the first answer.
    retry = await checkin.redeem_ticket(first_token, theory, nonce, actor=SYSTEM)
    assert retry.outcome == "checked_in" and retry.checked_in_at == checked.checked_in_at
    assert retry.entry_id == first

    rows = await CheckIn.select(CheckIn.entry, CheckIn.nonce).order_by(CheckIn.id)
    assert rows == [{"entry": first, "nonce": nonce}]
    # None of this checked the second contestant in, and a fresh scan admits them.
    fresh = await checkin.redeem_ticket(second_token, theory, uuid.uuid4().hex, actor=SYSTEM)
    assert fresh.outcome == "checked_in" and fresh.entry_id == second


async def test_desks_racing_with_one_nonce_check_in_one_ticket_and_refuse_the_other(demo_mutable):
    """Two tickets sent at the same moment with the same nonce (a forged replay racing the
    genuine scan), and retries of one scan in flight together: on both databases one row for
    the nonce, the retries all answered from it, the other ticket refused."""
    cid = demo_mutable.competition_id
    (first, first_token, _p), (second, second_token, _s) = await _two_at_checkin(cid)
    session = await _theory_session()
    nonce = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(
            checkin.redeem_ticket(token, session, nonce, actor=SYSTEM)
            for token in [first_token, second_token, first_token, second_token, first_token]
        )
    )
    by_entry = {}
    for token, answer in zip(
        [first_token, second_token, first_token, second_token, first_token], answers, strict=True
    ):
        by_entry.setdefault(tokens.verify(token).entry_id, []).append(answer)
    rows = await CheckIn.select(CheckIn.entry, CheckIn.nonce)
    assert len(rows) == 1 and rows[0]["nonce"] == nonce
    winner = rows[0]["entry"]
    loser = second if winner == first else first
    assert {a.outcome for a in by_entry[winner]} == {"checked_in"}
    assert len({a.checked_in_at for a in by_entry[winner]}) == 1
    assert {a.outcome for a in by_entry[loser]} == {"refused"}
    assert all(str(a.message) == REUSED and a.entry_id is None for a in by_entry[loser])
    assert await AuditLog.count().where(AuditLog.action == "entry.check_in") == 1


# ---------------------------------------------------------------------------- lookup


async def test_a_contestant_found_by_lookup_is_checked_in_with_the_same_rules(demo_mutable):
    cid = demo_mutable.competition_id
    number = new_id()
    entry_id = await _approved(cid, id_number=number, name="才让多杰")
    revoked = await _approved(cid, name="马建华")
    session_id = await _own_session(entry_id)
    await review.revoke_entry(cid, revoked, "替考", actor=SYSTEM)
    electrician = await _approved_in(cid, "T002", name="才让卓玛")
    await _at_checkin(cid)
    session = await checkin.session_info(session_id)

    async def find(text: str) -> list[int]:
        return [hit.entry_id for hit in (await checkin_lookup.find_contestants(session, text)).hits]

    assert await find(number[-4:]) == [entry_id]
    assert await find(number[-6:].lower()) == [entry_id]
    assert await find("QH16-T001-0001") == [entry_id]
    assert await find("qh16-t001-0001") == [entry_id]
    assert await find("T001-0001") == [entry_id]
    assert await find("才让") == [entry_id]  # not 才让卓玛: she is in another trade
    assert electrician not in await find("卓玛")
    assert await find("马建华") == [revoked]
    assert await find("%%") == [] and await find("__") == []  # typed, not wildcards
    hit = (await checkin_lookup.find_contestants(session, "才让多杰")).hits[0]
    assert hit.id_number == number[:4] + "*" * 10 + number[-4:] and number not in repr(hit)
    assert hit.ticket_number == "QH16-T001-0001" and hit.delegation == "西宁市总工会"
    assert hit.trade == "焊工" and hit.has_photo and hit.checked_in_at is None
    for short in ("123", "才", "  "):
        with pytest.raises(ValidationFailed) as caught:
            await checkin_lookup.find_contestants(session, short)
        assert caught.value.code == "lookup_query"

    nonce = uuid.uuid4().hex
    result = await checkin.check_in_entry(entry_id, session_id, nonce, actor=SYSTEM)
    assert result.outcome == "checked_in" and result.name == "才让多杰"
    again = await checkin.check_in_entry(entry_id, session_id, nonce, actor=SYSTEM)
    assert again.outcome == "checked_in" and again.checked_in_at == result.checked_in_at
    scanned = await checkin.redeem_ticket(
        await _token(entry_id), session_id, uuid.uuid4().hex, actor=SYSTEM
    )
    assert scanned.outcome == "already" and scanned.checked_in_at == result.checked_in_at
    hit = (await checkin_lookup.find_contestants(session, number[-4:])).hits[0]
    assert hit.checked_in_at == result.checked_in_at

    refused = await checkin.check_in_entry(revoked, session_id, uuid.uuid4().hex, actor=SYSTEM)
    assert refused.outcome == "refused" and refused.message.params["reason"] == "替考"
    wrong_trade = await checkin.check_in_entry(
        electrician, session_id, uuid.uuid4().hex, actor=SYSTEM
    )
    assert wrong_trade.outcome == "refused" and wrong_trade.trade == "电工"
    missing = await checkin.check_in_entry(999_999, session_id, uuid.uuid4().hex, actor=SYSTEM)
    assert missing.outcome == "refused" and missing.entry_id is None

    audits = (
        await AuditLog.select(AuditLog.object_id, AuditLog.new)
        .where(AuditLog.action == "entry.check_in")
        .output(load_json=True)
    )
    assert audits == [{"object_id": str(entry_id), "new": {"session": session_id, "by": "lookup"}}]


async def test_the_audit_record_of_a_check_in_is_the_row_audit_record_writes(demo_mutable):
    """The check-in writes its audit row in SQL of its own (one statement on PostgreSQL); it
    must stay the row competition.audit.record would write for the same change."""
    cid = demo_mutable.competition_id
    entry_id = await _approved(cid)
    token, session_id = await _token(entry_id), await _own_session(entry_id)
    await _at_checkin(cid)
    actor = Actor(user_id=7, name="desk-7")
    before = dt.datetime.now(dt.UTC)
    result = await checkin.redeem_ticket(token, session_id, uuid.uuid4().hex, actor=actor)
    assert result.outcome == "checked_in"
    async with db.transaction():
        await audit.record(
            "entry.check_in",
            actor=actor,
            object_type="entry",
            object_id=entry_id,
            competition_id=cid,
            new={"session": session_id, "by": "ticket"},
        )
    rows = (
        await AuditLog.select()
        .where(AuditLog.action == "entry.check_in")
        .order_by(AuditLog.id)
        .output(load_json=True)
    )
    assert len(rows) == 2
    ours, reference = ({k: v for k, v in r.items() if k not in ("id", "at")} for r in rows)
    assert ours == reference
    assert ours["new"] == {"session": session_id, "by": "ticket"} and ours["old"] is None
    assert before <= rows[0]["at"] <= rows[1]["at"]
    assert rows[0]["at"] == result.checked_in_at
