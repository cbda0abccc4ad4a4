"""Where each field of a certificate goes (证书版式): the default design, and the organizer's
own positions over an uploaded background.

Positions are in millimetres from the top-left corner of an A4 landscape sheet (297 × 210 mm),
the way one measures a printed template with a ruler; sizes in points. A field's `width` is
the box its text wraps in (the body) or is centred in (the heading, the name).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from competition.i18n import N_, Msg

PAGE_WIDTH_MM = 297.0
PAGE_HEIGHT_MM = 210.0


@dataclass(frozen=True)
class Place:
    x: float  # mm from the left (the left edge of the box; its right edge when align="right")
    y: float  # mm from the top, to the text's baseline (the QR code's top edge)
    size: float  # font size in points (the QR code's side in mm)
    width: float = 0.0  # mm; 0: the text's own width
    align: str = "left"  # left / centre / right


FIELDS: dict[str, Msg] = {
    "heading": N_("Heading"),
    "name": N_("Holder's name"),
    "body": N_("Text"),
    "issuer": N_("Issuer"),
    "date": N_("Date"),
    "number": N_("Certificate number"),
    "qr": N_("QR code"),
}

DEFAULT_PLACES: dict[str, Place] = {
    "heading": Place(x=28.5, y=58, size=44, width=240, align="centre"),
    "name": Place(x=48, y=88, size=22),
    "body": Place(x=58, y=104, size=20, width=196),
    "issuer": Place(x=262, y=162, size=16, align="right"),
    "date": Place(x=262, y=173, size=16, align="right"),
    "number": Place(x=30, y=186, size=10),
    "qr": Place(x=30, y=146, size=28),
}

LIMITS = {"x": (0.0, PAGE_WIDTH_MM), "y": (0.0, PAGE_HEIGHT_MM), "size": (4.0, 96.0),
          "width": (0.0, PAGE_WIDTH_MM)}  # fmt: skip
ALIGNMENTS = ("left", "centre", "right")


def places_from_json(stored: dict[str, Any] | None) -> dict[str, Place]:
    """The defaults with what the organizer moved over them; unknown or broken entries are
    ignored (a layout never stops a batch)."""
    places = dict(DEFAULT_PLACES)
    for field, value in (stored or {}).items():
        if field not in places or not isinstance(value, dict):
            continue
        changes: dict[str, Any] = {}
        for key, (low, high) in LIMITS.items():
            raw = value.get(key)
            if isinstance(raw, int | float) and low <= raw <= high:
                changes[key] = float(raw)
        if value.get("align") in ALIGNMENTS:
            changes["align"] = value["align"]
        places[field] = replace(places[field], **changes)
    return places


def places_to_json(places: dict[str, Place]) -> dict[str, Any]:
    return {field: asdict(place) for field, place in places.items()}


@dataclass(frozen=True)
class Design:
    """Everything a page needs besides its certificate: picklable, for the rendering processes."""

    heading: str
    issuer: str
    date_text: str  # e.g. 二〇二六年十二月三日
    places: dict[str, Place]
    background: bytes = b""  # PNG or JPEG; empty: the default frame


_DIGITS = "〇一二三四五六七八九"


def chinese_date(year: int, month: int, day: int) -> str:
    """2026-12-03 → 二〇二六年十二月三日 (the way certificates write dates)."""

    def number(n: int) -> str:
        if n < 10:
            return _DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")

    return f"{''.join(_DIGITS[int(d)] for d in str(year))}年{number(month)}月{number(day)}日"
