"""Certificates (证书): issued for every award, title and promotion of a trade whose results are
final, revoked with a reason, reissued under the same number as a new version, and verified by
anyone from the number printed (or the QR code) on the paper.

A certificate keeps what it printed (holder, honour, trade, group, delegation): the verification
page shows the certificate as issued, whatever later happens to the person's record, and each
version's text is kept in `CertificateRevision`. Issuing again is harmless: a certificate that
exists keeps its number and its text, and only the missing ones are made.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from competition import audit, db
from competition.audit import Actor
from competition.clock import local_time, local_today, now
from competition.config import get_settings
from competition.errors import Conflict, NotFound, PhaseError, ValidationFailed
from competition.i18n import render
from competition.results.certificates import numbers
from competition.results.certificates.layout import Design, chinese_date, places_from_json
from competition.results.certificates.pdf import Page
from competition.results.exports import export_language
from competition.results.publication import mask_name
from competition.results.standings import AWARD_NAMES, TradeStandings, trade_standings
from competition.results.tables import (
    Certificate,
    CertificateKind,
    CertificateLayout,
    CertificateRevision,
    CertificateStatus,
)
from competition.schemas import SKILL_LEVELS
from competition.stages import STAGE_LABELS, Stage
from competition.tables import Competition, Trade

ISSUED_STAGES = frozenset({Stage.final})
REASON_MAX = 500


@dataclass(frozen=True)
class Honour:  # one certificate a trade's final results call for
    entry_id: int
    kind: CertificateKind
    honour: str
    holder_name: str
    delegation_name: str
    group_name: str
    place: int | None
    total: int | None


def honours_of(trade: TradeStandings) -> list[Honour]:
    """Every award, title and promotion of the trade's present entries, best place first."""
    out = []
    with export_language():
        for group in trade.groups:
            for row in group.rows:
                if not row.present:
                    continue
                made = []
                if row.award:
                    made.append((CertificateKind.award, AWARD_NAMES[row.award]))
                if row.title:
                    made.append((CertificateKind.title, row.title))
                if row.promotion in SKILL_LEVELS:
                    made.append((CertificateKind.promotion, render(SKILL_LEVELS[row.promotion])))
                for kind, honour in made:
                    out.append(Honour(row.entry_id, kind, honour, row.name, row.delegation,
                                      row.group, row.place, row.total))  # fmt: skip
    return out


def body_text(kind: str, competition: str, trade: str, group: str, honour: str) -> str:
    """The certificate's sentence, in the words Chinese certificates use."""
    where = f"在{competition}{trade}{f'（{group}）' if group else ''}比赛中"
    if kind == CertificateKind.title:
        return f"{where}成绩优异，被授予“{honour}”荣誉称号。特发此证。"
    if kind == CertificateKind.promotion:
        return f"{where}成绩优异，晋升为{honour}。特发此证。"
    return f"{where}荣获{honour}。特发此证，以资鼓励。"


async def _trade(trade_id: int) -> dict[str, Any]:
    row = (
        await Trade.select(
            Trade.id, Trade.code, Trade.name, Trade.stage, Trade.competition,
            Trade.competition.code.as_alias("competition_code"),
        )
        .where(Trade.id == trade_id)
        .first()
    )  # fmt: skip
    if row is None:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return row


@dataclass(frozen=True)
class Issued:
    trade_id: int
    made: int  # new certificates
    kept: int  # already there, unchanged


def _number_rows(
    competition_id: int, prefix: str, honours: Sequence[Honour], taken: set[str]
) -> list[str]:
    secret = get_settings().secret
    out = []
    for h in honours:
        attempt = 0
        while True:
            number = numbers.make_number(
                prefix, secret, f"{competition_id}:{h.entry_id}:{h.kind.value}", attempt
            )
            if number not in taken:
                break
            attempt += 1
        taken.add(number)
        out.append(number)
    return out


async def taken_numbers(prefix: str) -> set[str]:
    """Every number already given under this prefix (one read for a whole batch: looking each
    new number up instead cost PostgreSQL a scan per chunk of a table growing inside the
    batch's transactions — 63 s for 60,000 certificates, bench/certificates.py)."""
    head = numbers.clean_prefix(prefix) + "-"
    rows = await db.fetch_rows("SELECT number FROM certificate WHERE number LIKE ?", head + "%")
    return {r[0] for r in rows if r[0].startswith(head)}


async def issue_trade(trade_id: int, *, actor: Actor, taken: set[str] | None = None) -> Issued:
    """Make the certificates the trade's final results call for (those not made yet). `taken`:
    the numbers already given under the competition's prefix (`taken_numbers`), kept up to date
    here, when a batch issues many trades."""
    trade = await _trade(trade_id)
    if Stage(trade["stage"]) not in ISSUED_STAGES:
        raise PhaseError(
            "Certificates are issued once the trade's results are final; it is in the stage "
            "“{stage}”.",
            code="certificates_before_final",
            stage=STAGE_LABELS[Stage(trade["stage"])],
        )
    standings = await trade_standings(trade_id)
    honours = honours_of(standings)
    if taken is None:
        taken = await taken_numbers(trade["competition_code"])
    async with db.transaction():
        # Two batches over the same trade take turns (the second finds the first's rows).
        if db.is_postgres():
            await db.fetch_rows("SELECT id FROM trade WHERE id = ? FOR UPDATE", trade_id)
        existing = {
            (r["entry"], r["kind"])
            for r in await Certificate.select(Certificate.entry, Certificate.kind).where(
                Certificate.trade == trade_id
            )
        }
        wanted = [h for h in honours if (h.entry_id, h.kind.value) not in existing]
        if not wanted:
            return Issued(trade_id, 0, len(existing))
        # Numbers are keyed hashes: two may meet (about once in 18 million); such a number is
        # made again with the next attempt.
        candidates = _number_rows(trade["competition"], trade["competition_code"], wanted,
                                  set(taken))  # fmt: skip
        moment = now()
        rows = [
            (number, trade["competition"], trade_id, h.entry_id, h.kind.value, h.honour,
             h.holder_name, h.delegation_name, standings.name, h.group_name, h.place, h.total,
             CertificateStatus.valid.value, 1, moment, actor.user_id, "")
            for number, h in zip(candidates, wanted, strict=True)
        ]  # fmt: skip
        await db.copy_records(
            "certificate",
            ["number", "competition", "trade", "entry", "kind", "honour", "holder_name",
             "delegation_name", "trade_name", "group_name", "place", "total", "status",
             "version", "issued_at", "issued_by", "revoke_reason"],
            rows,
        )  # fmt: skip
        ids = {
            r[1]: r[0]
            for r in await db.fetch_rows(
                "SELECT id, number FROM certificate WHERE trade = ?", trade_id
            )
        }
        printed = [_printed_of(h.holder_name, h.honour, standings.name, h.group_name,
                               h.delegation_name) for h in wanted]  # fmt: skip
        await db.copy_records(
            "certificate_revision",
            ["certificate", "version", "issued_at", "issued_by", "reason", "printed"],
            [(ids[n], 1, moment, actor.user_id, "", json.dumps(p, ensure_ascii=False))
             for n, p in zip(candidates, printed, strict=True)],
        )  # fmt: skip
        await audit.record_many(
            [{"action": "certificate.issue", "object_id": n,
              "new": {"entry": h.entry_id, "kind": h.kind.value, "honour": h.honour}}
             for n, h in zip(candidates, wanted, strict=True)],
            actor=actor, object_type="certificate", competition_id=trade["competition"],
        )  # fmt: skip
    taken.update(candidates)
    return Issued(trade_id, len(wanted), len(existing))


def _printed_of(holder: str, honour: str, trade: str, group: str, delegation: str) -> dict:
    return {"holder": holder, "honour": honour, "trade": trade, "group": group,
            "delegation": delegation}  # fmt: skip


async def issuable_trades(competition_id: int) -> list[int]:
    """The competition's trades whose results are final, in the trades' order."""
    rows = await (
        Trade.select(Trade.id)
        .where(
            (Trade.competition == competition_id)
            & Trade.stage.is_in([s.value for s in ISSUED_STAGES])
        )
        .order_by(Trade.sort_order)
        .order_by(Trade.code)
    )
    return [r["id"] for r in rows]


# ---------------------------------------------------------------------------- one certificate


@dataclass(frozen=True)
class CertificateView:
    id: int
    number: str
    competition_id: int
    competition_name: str
    trade_id: int
    entry_id: int
    kind: str
    honour: str
    holder_name: str
    delegation_name: str
    trade_name: str
    group_name: str
    place: int | None
    total: int | None
    status: str
    version: int
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str

    @property
    def valid(self) -> bool:
        return self.status == CertificateStatus.valid

    @property
    def masked_name(self) -> str:
        return mask_name(self.holder_name)

    @property
    def body(self) -> str:
        return body_text(self.kind, self.competition_name, self.trade_name, self.group_name,
                         self.honour)  # fmt: skip


_VIEW_COLUMNS = (
    Certificate.id, Certificate.number, Certificate.competition,
    Certificate.competition.name.as_alias("competition_name"), Certificate.trade,
    Certificate.entry, Certificate.kind, Certificate.honour, Certificate.holder_name,
    Certificate.delegation_name, Certificate.trade_name, Certificate.group_name,
    Certificate.place, Certificate.total, Certificate.status, Certificate.version,
    Certificate.issued_at, Certificate.revoked_at, Certificate.revoke_reason,
)  # fmt: skip


def _view(row: dict[str, Any]) -> CertificateView:
    return CertificateView(
        id=row["id"], number=row["number"], competition_id=row["competition"],
        competition_name=row["competition_name"], trade_id=row["trade"], entry_id=row["entry"],
        kind=row["kind"], honour=row["honour"], holder_name=row["holder_name"],
        delegation_name=row["delegation_name"], trade_name=row["trade_name"],
        group_name=row["group_name"], place=row["place"], total=row["total"],
        status=row["status"], version=row["version"], issued_at=row["issued_at"],
        revoked_at=row["revoked_at"], revoke_reason=row["revoke_reason"],
    )  # fmt: skip


async def find(number: str) -> CertificateView | None:
    """The certificate with this number as printed (typed leniently), or None."""
    number = numbers.normalise(number)
    if not numbers.well_formed(number):
        return None
    row = await Certificate.select(*_VIEW_COLUMNS).where(Certificate.number == number).first()
    return _view(row) if row else None


async def get(number: str) -> CertificateView:
    found = await find(number)
    if found is None:
        raise NotFound("There is no certificate with this number.", code="certificate_not_found")
    return found


async def of_entries(entry_ids: Iterable[int]) -> list[CertificateView]:
    ids = list(entry_ids)
    if not ids:
        return []
    rows = await (
        Certificate.select(*_VIEW_COLUMNS)
        .where(Certificate.entry.is_in(ids))
        .order_by(Certificate.trade)
        .order_by(Certificate.id)
    )
    return [_view(r) for r in rows]


async def of_trade(trade_id: int, *, only_valid: bool = False) -> list[CertificateView]:
    query = Certificate.select(*_VIEW_COLUMNS).where(Certificate.trade == trade_id)
    if only_valid:
        query = query.where(Certificate.status == CertificateStatus.valid.value)
    rows = await query.order_by(Certificate.place).order_by(Certificate.id)
    return [_view(r) for r in rows]


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Give the reason: it is kept with the certificate.", code="reason_required"
        )
    return reason[:REASON_MAX]


async def revoke(number: str, *, reason: str, actor: Actor) -> CertificateView:
    """撤销: the verification page then says revoked, with the date (not the reason)."""
    reason = _reason(reason)
    found = await get(number)
    async with db.transaction():
        changed = (
            await Certificate.update(
                {
                    Certificate.status: CertificateStatus.revoked.value,
                    Certificate.revoked_at: now(),
                    Certificate.revoked_by: actor.user_id,
                    Certificate.revoke_reason: reason,
                }
            )
            .where(
                (Certificate.id == found.id) & (Certificate.status == CertificateStatus.valid.value)
            )
            .returning(Certificate.id)
        )
        if not changed:
            raise Conflict("The certificate is already revoked.", code="already_revoked")
        await audit.record(
            "certificate.revoke", actor=actor, object_type="certificate", object_id=found.number,
            competition_id=found.competition_id, old={"status": "valid"},
            new={"status": "revoked"}, reason=reason,
        )  # fmt: skip
    return await get(number)


async def reissue(number: str, *, reason: str, actor: Actor) -> CertificateView:
    """补发/换发: the same number, the next version, printed from the person's record as it is
    now (e.g. a name corrected after issue); a revoked certificate becomes valid again."""
    reason = _reason(reason)
    found = await get(number)
    standings = await trade_standings(found.trade_id)
    if standings.stage not in ISSUED_STAGES:
        raise PhaseError(
            "Certificates are issued once the trade's results are final; it is in the stage "
            "“{stage}”.",
            code="certificates_before_final",
            stage=STAGE_LABELS[standings.stage],
        )
    current = next(
        (h for h in honours_of(standings)
         if h.entry_id == found.entry_id and h.kind.value == found.kind),
        None,
    )  # fmt: skip
    if current is None:
        raise Conflict(
            "The final results no longer call for this certificate; revoke it instead.",
            code="certificate_not_due",
        )
    version = found.version + 1
    printed = _printed_of(current.holder_name, current.honour, standings.name,
                          current.group_name, current.delegation_name)  # fmt: skip
    async with db.transaction():
        await Certificate.update(
            {
                Certificate.version: version,
                Certificate.status: CertificateStatus.valid.value,
                Certificate.honour: current.honour,
                Certificate.holder_name: current.holder_name,
                Certificate.delegation_name: current.delegation_name,
                Certificate.trade_name: standings.name,
                Certificate.group_name: current.group_name,
                Certificate.place: current.place,
                Certificate.total: current.total,
                Certificate.issued_at: now(),
                Certificate.issued_by: actor.user_id,
                Certificate.revoked_at: None,
                Certificate.revoked_by: None,
                Certificate.revoke_reason: "",
            }
        ).where(Certificate.id == found.id)
        await CertificateRevision.insert(
            CertificateRevision(
                certificate=found.id,
                version=version,
                issued_by=actor.user_id,
                reason=reason,
                printed=printed,
            )
        )
        await audit.record(
            "certificate.reissue", actor=actor, object_type="certificate",
            object_id=found.number, competition_id=found.competition_id,
            old={"version": found.version, "status": found.status, "holder": found.holder_name},
            new={"version": version, "status": "valid", "holder": current.holder_name},
            reason=reason,
        )  # fmt: skip
    return await get(number)


async def revisions(certificate_id: int) -> list[dict[str, Any]]:
    rows = await (
        CertificateRevision.select()
        .where(CertificateRevision.certificate == certificate_id)
        .order_by(CertificateRevision.version)
    )
    for row in rows:
        if isinstance(row["printed"], str):
            row["printed"] = json.loads(row["printed"])
    return rows


# ---------------------------------------------------------------------------- printing


async def design_of(competition_id: int, *, with_background: bool = True) -> Design:
    competition = (
        await Competition.select(Competition.name, Competition.organizer_name)
        .where(Competition.id == competition_id)
        .first()
    )
    if competition is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    columns = [c for c in CertificateLayout._meta.columns
               if with_background or c._meta.name != "background"]  # fmt: skip
    layout = (
        await CertificateLayout.select(*columns)
        .where(CertificateLayout.competition == competition_id)
        .first()
    )
    layout = layout or {}
    day = layout.get("issued_on") or local_today()
    positions = layout.get("positions")
    if isinstance(positions, str):
        positions = json.loads(positions)
    return Design(
        heading=layout.get("heading") or "荣誉证书",
        issuer=(
            layout.get("issuer") or competition["organizer_name"] or f"{competition['name']}组委会"
        ),
        date_text=chinese_date(day.year, day.month, day.day),
        places=places_from_json(positions),
        background=bytes(layout.get("background") or b""),
    )


def verification_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/certificates/{number}"


def pages_of(certificates: Sequence[CertificateView], base_url: str) -> list[Page]:
    return [
        Page(number=c.number, holder=c.holder_name, body=c.body,
             url=verification_url(base_url, c.number))
        for c in certificates
        if c.valid
    ]  # fmt: skip


def issued_date(view: CertificateView) -> str:
    local = local_time(view.issued_at)
    return local.date().isoformat() if local else ""
