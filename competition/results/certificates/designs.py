"""The organizer's certificate design (证书版式): heading, issuer, the printed date, field
positions and an optional background picture, one per competition.

A background is checked by content and re-encoded: JPEG or PNG, at most 8 MB, its pixel count
read from the header before anything is decoded (a decompression bomb is refused in constant
memory), then drawn at 300 dpi for A4 landscape (3508 × 2480) as a JPEG — which also drops
anything hidden in the file.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any

from PIL import Image

from competition import audit, db
from competition.audit import Actor
from competition.clock import now
from competition.errors import ValidationFailed
from competition.i18n import N_
from competition.results.certificates.layout import (
    ALIGNMENTS,
    FIELDS,
    LIMITS,
    Place,
    places_from_json,
    places_to_json,
)
from competition.results.tables import CertificateLayout

MAX_BACKGROUND_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
PRINT_SIZE = (3508, 2480)  # A4 landscape at 300 dpi
HEADING_MAX = 40
ISSUER_MAX = 200


def _refuse(message: str, code: str, field: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(message, code=code, field_errors={field: message}, **params)


def checked_background(data: bytes) -> bytes:
    """The picture as the JPEG the certificates print, or a clear refusal."""
    if len(data) > MAX_BACKGROUND_BYTES:
        raise _refuse("The picture is larger than {mb} MB; choose a smaller one.",
                      "background_too_large", "background",
                      mb=MAX_BACKGROUND_BYTES // (1024 * 1024))  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as probe:
                width, height = probe.size
                if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                    raise _refuse(
                        "The picture has too many pixels (at most {limit} million).",
                        "background_too_many_pixels", "background", limit=MAX_PIXELS // 10**6,
                    )  # fmt: skip
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
            if image.format == "JPEG":
                image.draft("RGB", PRINT_SIZE)
            image.load()
    except ValidationFailed:
        raise
    except Exception:
        raise _refuse("The file is not a JPEG or PNG picture.", "background_not_image",
                      "background") from None  # fmt: skip
    if image.width < image.height:
        raise _refuse("The picture must be landscape (wider than tall), like the certificate.",
                      "background_portrait", "background")  # fmt: skip
    picture = image.convert("RGB").resize(PRINT_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def parse_places(fields: dict[str, str]) -> dict[str, Place]:
    """`x_name`, `y_name`, `size_name`, `width_name`, `align_name` from the layout form."""
    stored: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        value: dict[str, Any] = {}
        for key, (low, high) in LIMITS.items():
            raw = fields.get(f"{key}_{field}", "").replace(",", ".").strip()
            if raw == "":
                continue
            try:
                number = float(raw)
            except ValueError:
                number = float("nan")
            if not low <= number <= high:
                errors[f"{key}_{field}"] = N_("Outside the sheet.")
                continue
            value[key] = number
        align = fields.get(f"align_{field}", "")
        if align in ALIGNMENTS:
            value["align"] = align
        stored[field] = value
    if errors:
        raise ValidationFailed(
            "Some positions are outside the sheet; see the marked fields.",
            code="layout_out_of_range",
            field_errors=errors,
        )
    return places_from_json(stored)


async def save_design(
    competition_id: int,
    *,
    heading: str,
    issuer: str,
    issued_on: dt.date | None,
    places: dict[str, Place],
    background: bytes | None,
    remove_background: bool,
    actor: Actor,
) -> None:
    """`background` None keeps the one there (unless `remove_background`)."""
    heading = heading.strip()[:HEADING_MAX]
    issuer = issuer.strip()[:ISSUER_MAX]
    values: dict[Any, Any] = {
        CertificateLayout.heading: heading or "荣誉证书",
        CertificateLayout.issuer: issuer,
        CertificateLayout.issued_on: issued_on,
        CertificateLayout.positions: places_to_json(places),
        CertificateLayout.updated_at: now(),
    }
    if background is not None:
        values[CertificateLayout.background] = checked_background(background)
        values[CertificateLayout.background_type] = "image/jpeg"
    elif remove_background:
        values[CertificateLayout.background] = b""
        values[CertificateLayout.background_type] = ""
    async with db.transaction():
        exists = await CertificateLayout.exists().where(
            CertificateLayout.competition == competition_id
        )
        if not exists:
            await CertificateLayout.insert(CertificateLayout(competition=competition_id))
        await CertificateLayout.update(values).where(
            CertificateLayout.competition == competition_id
        )
        await audit.record(
            "certificate.layout", actor=actor, object_type="competition",
            object_id=competition_id, competition_id=competition_id,
            new={"heading": heading, "issuer": issuer, "issued_on": issued_on,
                 "background": "new" if background is not None
                 else ("removed" if remove_background else "kept")},
        )  # fmt: skip


async def stored_layout(competition_id: int) -> dict[str, Any]:
    row = await (
        CertificateLayout.select(
            CertificateLayout.heading, CertificateLayout.issuer, CertificateLayout.issued_on,
            CertificateLayout.positions, CertificateLayout.background_type,
        )
        .where(CertificateLayout.competition == competition_id)
        .first()
    )  # fmt: skip
    return row or {}
