"""Judge badges (裁判证): a printed card whose QR code opens /badge/{token} on a tablet, where
one tap signs the judge in.

The token is random (`secrets`), only its SHA-256 is stored, so a database copy signs nobody in;
it expires (by default at the end of the competition's last day) and can be revoked. Issuing a
new badge revokes the judge's older ones: the last card printed is the one that works.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from competition import accounts, audit, clock
from competition.audit import Actor
from competition.db import transaction
from competition.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from competition.i18n import N_, gettext
from competition.pdfs import font, qr_png
from competition.tables import Competition, User
from scoring.panels.register import QUALIFICATION_LABELS
from scoring.tables import Judge, JudgeBadge, PanelMember, Qualification

DEFAULT_DAYS = 7  # when the competition has no end date
MAX_DAYS = 60
CHINA = dt.timezone(dt.timedelta(hours=8))


class BadgeGone(DomainError):
    """An expired or revoked badge: it existed, it no longer signs anyone in."""

    status_code = 410
    default_code = "badge_gone"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def default_expiry(competition_id: int) -> dt.datetime:
    """The end of the competition's last day (China time), or DEFAULT_DAYS from now."""
    row = (
        await Competition.select(Competition.ends_on)
        .where(Competition.id == competition_id)
        .first()
    )
    now = clock.now()
    if row and row["ends_on"]:
        end = dt.datetime.combine(row["ends_on"], dt.time(23, 59, 59), CHINA)
        if end > now:
            return end
    return now + dt.timedelta(days=DEFAULT_DAYS)


@dataclass(frozen=True)
class IssuedBadge:
    judge_id: int
    token: str
    expires_at: dt.datetime
    name: str
    qualification: str
    trades: list[str]


async def issue_badges(
    competition_id: int,
    judge_ids: list[int],
    *,
    actor: Actor,
    days: int | None = None,
) -> list[IssuedBadge]:
    """New badges for judges of the competition, revoking their earlier ones. `days`: valid
    that many days from now instead of until the competition's end."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValidationFailed("A badge is valid for 1 to {n} days.", code="badge_days", n=MAX_DAYS)
    now = clock.now()
    expires = now + dt.timedelta(days=days) if days else await default_expiry(competition_id)
    issued = []
    async with transaction():
        judges = await Judge.select(Judge.id, Judge.name, Judge.qualification).where(
            (Judge.competition == competition_id) & Judge.id.is_in(judge_ids or [-1])
        )
        if not judges:
            raise NotFound("The judge was not found.", code="judge_not_found")
        trades: dict[int, list[str]] = {}
        for m in (
            await PanelMember.select(
                PanelMember.judge, PanelMember.trade.name, PanelMember.is_chief
            )
            .where(PanelMember.judge.is_in([j["id"] for j in judges]))
            .order_by(PanelMember.trade.code)
        ):
            trades.setdefault(m["judge"], []).append(m["trade.name"])
        for judge in judges:
            await JudgeBadge.update({JudgeBadge.revoked_at: now}).where(
                (JudgeBadge.judge == judge["id"]) & JudgeBadge.revoked_at.is_null()
            )
            token = secrets.token_urlsafe(32)
            await JudgeBadge.insert(
                JudgeBadge(
                    judge=judge["id"],
                    token_hash=token_hash(token),
                    expires_at=expires,
                    created_by=actor.user_id,
                )
            )
            issued.append(
                IssuedBadge(
                    judge["id"],
                    token,
                    expires,
                    judge["name"],
                    judge["qualification"],
                    trades.get(judge["id"], []),
                )
            )
        await audit.record_many(
            [
                {
                    "action": "judge_badge.issue",
                    "object_id": b.judge_id,
                    "new": {"expires_at": b.expires_at, "name": b.name},
                }
                for b in issued
            ],
            actor=actor,
            object_type="judge",
            competition_id=competition_id,
        )
    return issued


async def revoke_badges(competition_id: int, judge_id: int, *, actor: Actor) -> int:
    now = clock.now()
    async with transaction():
        if not await Judge.exists().where(
            (Judge.id == judge_id) & (Judge.competition == competition_id)
        ):
            raise NotFound("The judge was not found.", code="judge_not_found")
        active = await JudgeBadge.select(JudgeBadge.id).where(
            (JudgeBadge.judge == judge_id) & JudgeBadge.revoked_at.is_null()
        )
        if active:
            await JudgeBadge.update({JudgeBadge.revoked_at: now}).where(
                JudgeBadge.id.is_in([b["id"] for b in active])
            )
            await audit.record(
                "judge_badge.revoke",
                actor=actor,
                object_type="judge",
                object_id=judge_id,
                competition_id=competition_id,
                old={"badges": len(active)},
            )
    return len(active)


async def badge_status(judge_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each judge's latest badge: issued and expiry, and whether it still works."""
    now = clock.now()
    result: dict[int, dict[str, Any]] = {}
    if not judge_ids:
        return result
    for row in (
        await JudgeBadge.select(
            JudgeBadge.judge, JudgeBadge.created_at, JudgeBadge.expires_at, JudgeBadge.revoked_at
        )
        .where(JudgeBadge.judge.is_in(judge_ids))
        .order_by(JudgeBadge.id)
    ):
        row["valid"] = row["revoked_at"] is None and row["expires_at"] > now
        result[row["judge"]] = row
    return result


@dataclass(frozen=True)
class BadgeHolder:
    badge_id: int
    judge_id: int
    user_id: int
    competition_id: int
    name: str


async def badge_holder(token: str) -> BadgeHolder:
    """Whom a badge signs in, or why not: unknown (404), expired or revoked (410), account
    deactivated (403)."""
    if not token or len(token) > 100:
        raise NotFound("This badge is not known.", code="badge_unknown")
    row = (
        await JudgeBadge.select(
            JudgeBadge.id,
            JudgeBadge.expires_at,
            JudgeBadge.revoked_at,
            JudgeBadge.judge,
            JudgeBadge.judge.name,
            JudgeBadge.judge.user,
            JudgeBadge.judge.competition,
            JudgeBadge.judge.user.is_active,
        )
        .where(JudgeBadge.token_hash == token_hash(token))
        .first()
    )
    if row is None:
        raise NotFound("This badge is not known.", code="badge_unknown")
    if row["revoked_at"] is not None:
        raise BadgeGone(
            N_(
                "This badge has been revoked. Ask the organizer for a new one, or sign in with "
                "your password."
            ),
            code="badge_revoked",
        )
    if row["expires_at"] <= clock.now():
        raise BadgeGone(
            N_(
                "This badge has expired. Ask the organizer for a new one, or sign in with your "
                "password."
            ),
            code="badge_expired",
        )
    if not row["judge.user.is_active"]:
        raise PermissionDenied("This account has been deactivated.", code="account_inactive")
    return BadgeHolder(
        row["id"], row["judge"], row["judge.user"], row["judge.competition"], row["judge.name"]
    )


async def sign_in_by_badge(token: str) -> str:
    """A session token for the badge's judge (checked again at the tap), audited."""
    holder = await badge_holder(token)
    async with transaction():
        session = await accounts.start_session(holder.user_id)
        await User.update({User.last_login_at: clock.now()}).where(User.id == holder.user_id)
        await audit.record(
            "judge_badge.sign_in",
            actor=Actor(user_id=holder.user_id, name=holder.name),
            object_type="judge",
            object_id=holder.judge_id,
            competition_id=holder.competition_id,
            new={"badge": holder.badge_id},
        )
    return session


# ---------------------------------------------------------------------------- the card


def badge_pdf(competition_name: str, badges: list[IssuedBadge], base_url: str) -> bytes:
    """One A6-sized card a badge, four to an A4 page, each with the QR of its sign-in URL."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(gettext("Judge badges"))
    face = font()
    width, height = A4
    card_w, card_h = width / 2, height / 2
    for index, badge in enumerate(badges):
        if index and index % 4 == 0:
            pdf.showPage()
        col, row = index % 2, (index % 4) // 2
        x, y = col * card_w, height - (row + 1) * card_h
        pdf.setDash(2, 3)
        pdf.rect(x + 4 * mm, y + 4 * mm, card_w - 8 * mm, card_h - 8 * mm)
        pdf.setDash()
        left, top = x + 12 * mm, y + card_h - 16 * mm
        pdf.setFont(face, 10)
        pdf.drawString(left, top, competition_name[:40])
        pdf.setFont(face, 14)
        pdf.drawString(left, top - 9 * mm, gettext("Judge badge"))
        pdf.setFont(face, 22)
        pdf.drawString(left, top - 21 * mm, badge.name)
        pdf.setFont(face, 11)
        qualification = QUALIFICATION_LABELS.get(Qualification(badge.qualification))
        pdf.drawString(left, top - 30 * mm, gettext(qualification) if qualification else "")
        trades = "、".join(badge.trades) or gettext("No trade assigned yet")
        pdf.drawString(left, top - 37 * mm, f"{gettext('Trade')}: {trades}"[:44])
        qr_size = 60 * mm
        url = f"{base_url.rstrip('/')}/badge/{badge.token}"
        pdf.drawImage(
            ImageReader(io.BytesIO(qr_png(url, box_size=6))),
            x + (card_w - qr_size) / 2,
            y + 18 * mm,
            qr_size,
            qr_size,
        )
        pdf.setFont(face, 8)
        expires = badge.expires_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        pdf.drawString(left, y + 11 * mm, gettext("Valid until {at}", at=expires))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
