"""Printed marking schemes and blank score sheets (评分表), for the paper fallback every hall
keeps. The score sheet shows codes only: the contestants' anonymous codes (the second layer
where the draw added one) — never a name, ticket or ID number. Before the draw it has one
empty row a station instead.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from competition.pdfs import font
from scoring.schemes.rules import KIND_LABELS, marks_text
from scoring.schemes.service import SchemeView

ASPECTS_A_PAGE = 10  # columns of marks a landscape page holds
ROWS_A_PAGE = 20
BLANK_ROWS = 10  # a session without stations still gets rows to write codes in


def _styles() -> dict[str, ParagraphStyle]:
    name = font()
    return {
        "title": ParagraphStyle("title", fontName=name, fontSize=16, leading=22, spaceAfter=6),
        "head": ParagraphStyle("head", fontName=name, fontSize=12, leading=16, spaceBefore=8),
        "text": ParagraphStyle("text", fontName=name, fontSize=9, leading=12),
        "small": ParagraphStyle("small", fontName=name, fontSize=8, leading=10),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _grid(extra: list[tuple] | None = None) -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font()),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF1F5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *(extra or []),
        ]
    )


def scheme_pdf(trade: dict[str, Any], scheme: SchemeView, labels: dict[str, str]) -> bytes:
    """The scheme as printed for judges and contestants; `labels`: the words of the page
    (translated by the caller)."""
    s = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"{trade['code']} {trade['name']} {labels['title']}")  # fmt: skip
    story: list[Any] = [
        Paragraph(_escape(f"{trade['code']} {trade['name']} · {labels['title']}"), s["title"]),
        Paragraph(_escape(labels["summary"]), s["text"]),
    ]
    for criterion in scheme.criteria:
        story.append(
            Paragraph(_escape(f"{criterion['code']} {criterion['name']}（"
                              f"{marks_text(criterion['total'])}）"), s["head"])
        )  # fmt: skip
        rows: list[list[Any]] = [[Paragraph(_escape(h), s["small"]) for h in labels["columns"]]]
        for a in criterion["aspects"]:
            if a["kind"] == "judgement":
                detail = "<br/>".join(
                    _escape(f"{level}：{text}") for level, text in enumerate(a["descriptors"])
                )
            else:
                detail = "<br/>".join(
                    _escape(f"{d['label']}：−{marks_text(d['hundredths'])}")
                    for d in a["deductions"]
                ) or _escape(labels["full_or_zero"])
            rows.append([
                Paragraph(_escape(a["code"]), s["text"]),
                Paragraph(_escape(a["description"]), s["text"]),
                Paragraph(_escape(labels["kinds"][a["kind"]]), s["text"]),
                Paragraph(marks_text(a["max_hundredths"]), s["text"]),
                Paragraph(str(a["judges_needed"]) + ("，" + _escape(labels["verify"])
                          if a["needs_verification"] else ""), s["text"]),
                Paragraph(detail, s["small"]),
            ])  # fmt: skip
        table = Table(rows, colWidths=[14 * mm, 58 * mm, 14 * mm, 14 * mm, 18 * mm, 62 * mm],
                      repeatRows=1)  # fmt: skip
        table.setStyle(_grid())
        story.append(table)
    doc.build(story)
    return buffer.getvalue()


def score_sheet_pdf(
    trade: dict[str, Any],
    session: dict[str, Any],
    scheme: SchemeView,
    codes: list[str],
    stations: list[str],
    judges: list[str],
    labels: dict[str, str],
) -> bytes:
    """Blank score sheets of one session: for each judge (one unnamed sheet when none is
    assigned yet) the codes × the aspects, ten aspects a page. `codes` empty: before the
    draw, one empty row a station."""
    s = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"{trade['code']} {session['code']}")  # fmt: skip
    aspects = scheme.aspects
    chunks = [aspects[i : i + ASPECTS_A_PAGE] for i in range(0, len(aspects), ASPECTS_A_PAGE)]
    if codes:
        lines = [(c, "") for c in codes]
    else:
        lines = [("", st) for st in stations] or [("", "")] * BLANK_ROWS
    pages = [lines[i : i + ROWS_A_PAGE] for i in range(0, len(lines), ROWS_A_PAGE)] or [[]]
    story: list[Any] = []
    first = True
    for judge in judges or [""]:
        for part, chunk in enumerate(chunks, start=1):
            for block in pages:
                if not first:
                    story.append(PageBreak())
                first = False
                title = (f"{trade['code']} {trade['name']} · {session['code']} {session['name']}"
                         f" · {labels['title']}")  # fmt: skip
                story.append(Paragraph(_escape(title), s["title"]))
                meta = labels["meta"]
                if len(chunks) > 1:
                    meta += f"（{part}/{len(chunks)}）"
                story.append(Paragraph(_escape(meta), s["text"]))
                story.append(
                    Paragraph(_escape(f"{labels['judge']}：{judge or '________________'}"),
                              s["text"])
                )  # fmt: skip
                story.append(Spacer(1, 3 * mm))
                head = [labels["code"]] + ([] if codes else [labels["station"]])
                header = [Paragraph(_escape(h), s["small"]) for h in head] + [
                    Paragraph(_escape(a["code"]) + "<br/>" + ("0–3" if a["kind"] == "judgement"
                              else "≤" + marks_text(a["max_hundredths"])), s["small"])
                    for a in chunk
                ]  # fmt: skip
                header.append(Paragraph(_escape(labels["note"]), s["small"]))
                rows = [header]
                for code, station in block:
                    row = [code] + ([] if codes else [station])
                    rows.append(row + [""] * (len(chunk) + 1))
                lead = [26 * mm] + ([] if codes else [22 * mm])
                width = (273 * mm - sum(lead) - 30 * mm) / max(len(chunk), 1)
                table = Table(rows, colWidths=[*lead, *([width] * len(chunk)), 30 * mm],
                              rowHeights=[None] + [9 * mm] * len(block), repeatRows=1)  # fmt: skip
                table.setStyle(_grid([("FONTSIZE", (0, 1), (-1, -1), 11)]))
                story.append(table)
                story.append(Spacer(1, 4 * mm))
                story.append(Paragraph(_escape(labels["sign"]), s["text"]))
    doc.build(story)
    return buffer.getvalue()


def kind_labels(translate) -> dict[str, str]:
    return {kind: translate(label) for kind, label in KIND_LABELS.items()}
