"""Admission tickets (准考证): the data on one, and the PDF with photo and signed QR code."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from competition.clock import format_datetime
from competition.errors import NotFound, PermissionDenied
from competition.pdfs import font as _font
from competition.pdfs import qr_png
from competition.tables import CompetitionSession, EventKind
from registration import tokens
from registration.idcard import mask
from registration.tables import Entry, EntryStatus, Photo

EVENT_NAMES = {
    EventKind.theory: "理论知识",
    EventKind.practical: "操作技能",
    EventKind.oral: "答辩",
}


@dataclass(frozen=True)
class SessionLine:
    event: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    venue: str
    address: str


@dataclass(frozen=True)
class Ticket:
    entry_id: int
    competition_name: str
    ticket_number: str
    name: str
    gender: str
    id_number_masked: str
    delegation: str
    employer: str
    trade: str
    group_name: str
    sessions: list[SessionLine]
    photo: bytes | None
    token: str


def sits(event: str, session_id: int, assigned: int | None) -> bool:
    """Everyone sits every theory and oral session of the trade; of the practical ones, their
    own once final approval assigned it (until then each is still possible)."""
    return event != EventKind.practical or assigned in (None, session_id)


async def schedules(entries: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Entry id → the sessions (场次) its contestant sits, by start: each with event, name,
    times, venue and address, and `tentative` for a practical session not assigned yet.
    `entries` need `id`, `trade` and `session`; one query for all of them."""
    trade_ids = sorted({e["trade"] for e in entries})
    rows = (
        await CompetitionSession.select(
            CompetitionSession.id,
            CompetitionSession.trade,
            CompetitionSession.event,
            CompetitionSession.name,
            CompetitionSession.starts_at,
            CompetitionSession.ends_at,
            CompetitionSession.venue.name,
            CompetitionSession.venue.address,
        )
        .where(CompetitionSession.trade.is_in(trade_ids or [0]))
        .order_by(CompetitionSession.starts_at)
    )
    by_trade: dict[int, list[dict[str, Any]]] = {t: [] for t in trade_ids}
    for r in rows:
        by_trade[r["trade"]].append(r)
    return {
        e["id"]: [
            dict(s, tentative=s["event"] == EventKind.practical and e["session"] is None)
            for s in by_trade[e["trade"]]
            if sits(s["event"], s["id"], e["session"])
        ]
        for e in entries
    }


async def load_ticket(entry_id: int) -> Ticket:
    """Everything printed on an approved entry's ticket; refuses any other entry."""
    row = (
        await Entry.select(
            Entry.id,
            Entry.status,
            Entry.competition,
            Entry.trade,
            Entry.session,
            Entry.ticket_number,
            Entry.ticket_version,
            Entry.group_name,
            Entry.person,
            Entry.person.name,
            Entry.person.gender,
            Entry.person.id_number,
            Entry.person.employer,
            Entry.trade.name,
            Entry.delegation.name,
            Entry.competition.name,
        )
        .where(Entry.id == entry_id)
        .first()
    )
    if row is None:
        raise NotFound("The entry was not found.", code="entry_not_found")
    if row["status"] != EntryStatus.approved or not row["ticket_number"]:
        raise PermissionDenied(
            "The admission ticket is available once the entry is approved.",
            code="ticket_not_available",
        )
    mine = (await schedules([row]))[row["id"]]
    photo = await Photo.select(Photo.content).where(Photo.person == row["person"]).first()
    return Ticket(
        entry_id=row["id"],
        competition_name=row["competition.name"],
        ticket_number=row["ticket_number"],
        name=row["person.name"],
        gender="男" if row["person.gender"] == "male" else "女",
        id_number_masked=mask(row["person.id_number"]),
        delegation=row["delegation.name"],
        employer=row["person.employer"],
        trade=row["trade.name"],
        group_name=row["group_name"],
        sessions=[
            SessionLine(
                event=EVENT_NAMES[EventKind(s["event"])],
                name=s["name"],
                starts_at=s["starts_at"],
                ends_at=s["ends_at"],
                venue=s["venue.name"],
                address=s["venue.address"],
            )
            for s in mine
        ],
        photo=photo["content"] if photo else None,
        token=tokens.sign(
            tokens.TicketClaim(
                competition_id=row["competition"],
                entry_id=row["id"],
                version=row["ticket_version"],
                ticket_number=row["ticket_number"],
            )
        ),
    )


def render_ticket_pdf(ticket: Ticket) -> bytes:
    """An A5 page: title, photo, particulars, schedule, QR code and the rules of the day."""
    font = _font()
    buffer = io.BytesIO()
    width, height = A5
    pdf = canvas.Canvas(buffer, pagesize=A5)
    pdf.setTitle(f"准考证 {ticket.ticket_number}")
    pdf.setAuthor("Jiangxin")
    margin = 12 * mm

    pdf.setFont(font, 12)
    pdf.drawCentredString(width / 2, height - margin - 4 * mm, ticket.competition_name)
    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, height - margin - 14 * mm, "准 考 证")
    pdf.setLineWidth(0.8)
    pdf.line(margin, height - margin - 18 * mm, width - margin, height - margin - 18 * mm)

    # Photo, 30 × 40 mm, top right.
    photo_w, photo_h = 30 * mm, 40 * mm
    photo_x, photo_y = width - margin - photo_w, height - margin - 22 * mm - photo_h
    if ticket.photo:
        pdf.drawImage(
            ImageReader(io.BytesIO(ticket.photo)),
            photo_x,
            photo_y,
            photo_w,
            photo_h,
            preserveAspectRatio=True,
            anchor="c",
        )
    else:
        pdf.setFont(font, 9)
        pdf.drawCentredString(photo_x + photo_w / 2, photo_y + photo_h / 2, "照片待补")
    pdf.rect(photo_x, photo_y, photo_w, photo_h)

    lines = [
        ("准考证号", ticket.ticket_number),
        ("姓　　名", ticket.name),
        ("性　　别", ticket.gender),
        ("身份证号", ticket.id_number_masked),
        ("推荐单位", ticket.delegation),
        ("工作单位", ticket.employer),
        ("参赛工种", ticket.trade + (f"（{ticket.group_name}）" if ticket.group_name else "")),
    ]
    y = height - margin - 28 * mm
    for label, value in lines:
        pdf.setFont(font, 10)
        pdf.drawString(margin, y, label + "：")
        pdf.setFont(font, 11)
        pdf.drawString(margin + 20 * mm, y, _fit(value, font, 11, photo_x - margin - 22 * mm))
        y -= 7 * mm

    y -= 2 * mm
    pdf.setFont(font, 11)
    pdf.drawString(margin, y, "比赛安排")
    y -= 6 * mm
    for session in ticket.sessions:
        pdf.setFont(font, 9)
        when = f"{format_datetime(session.starts_at)}–{format_datetime(session.ends_at, '%H:%M')}"
        pdf.drawString(margin, y, f"{session.event} · {session.name} · {when}")
        y -= 4.5 * mm
        pdf.drawString(
            margin + 4 * mm,
            y,
            _fit(f"{session.venue}　{session.address}", font, 9, width - 2 * margin - 4 * mm),
        )
        y -= 6 * mm

    # QR code, bottom right; the rules of the day beside it.
    qr_size = 38 * mm
    qr_x, qr_y = width - margin - qr_size, margin + 4 * mm
    pdf.drawImage(ImageReader(io.BytesIO(qr_png(ticket.token))), qr_x, qr_y, qr_size, qr_size)
    pdf.setFont(font, 7)
    pdf.drawCentredString(qr_x + qr_size / 2, qr_y - 3 * mm, "检录时出示此码")
    rules = [
        "考生须知：",
        "1. 凭本准考证和居民身份证原件参加检录，证件不全者不得入场。",
        "2. 请于每场比赛开始前 30 分钟到达赛场，迟到 15 分钟不得入场。",
        "3. 入场后按抽签确定的工位参赛，服从裁判员和工作人员安排。",
        "4. 本准考证的二维码经电子签名，涂改、复制他人证件无效。",
    ]
    text_y = qr_y + qr_size - 3 * mm
    for rule in rules:
        pdf.drawString(margin, text_y, _fit(rule, font, 7, qr_x - margin - 3 * mm))
        text_y -= 4 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _fit(text: str, font: str, size: float, max_width: float) -> str:
    """Shorten with an ellipsis when a value would run into the photo or the QR code."""
    if pdfmetrics.stringWidth(text, font, size) <= max_width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > max_width:
        text = text[:-1]
    return text + "…"
