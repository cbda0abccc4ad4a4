"""Contestant photos: checked by content (never by file name), re-encoded as a small JPEG.

Re-encoding strips EXIF (GPS positions from phones) and anything hidden after the image data,
and bounds what is stored: about 30–60 KB a photo.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from competition.errors import ValidationFailed

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb claims far more
MIN_WIDTH, MIN_HEIGHT = 150, 200
STORED_SIZE = (480, 640)  # 3:4, ID-photo proportions
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes
    mime: str
    sha256: str
    width: int
    height: int


def _refuse(message: str, code: str, **params) -> ValidationFailed:
    return ValidationFailed(message, code=code, field_errors={"photo": message}, **params)


def process_photo(data: bytes) -> ProcessedPhoto:
    if not data:
        raise _refuse("Choose a photo to upload.", "photo_missing")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(
            "The photo is larger than {mb} MB; choose a smaller one.",
            "photo_too_large",
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if probe.width * probe.height > MAX_PIXELS:
                    raise _refuse("The photo has too many pixels.", "photo_too_many_pixels")
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except ValidationFailed:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise _refuse("The file is not a JPEG, PNG or WebP photo.", "photo_not_image") from None
    if kind not in ACCEPTED_FORMATS:
        raise _refuse("The file is not a JPEG, PNG or WebP photo.", "photo_not_image")
    image = ImageOps.exif_transpose(image)
    if image.width < MIN_WIDTH or image.height < MIN_HEIGHT:
        raise _refuse(
            "The photo must be at least {w}×{h} pixels.",
            "photo_too_small",
            w=MIN_WIDTH,
            h=MIN_HEIGHT,
        )
    image = (
        ImageOps.fit(
            image.convert("RGB"),
            STORED_SIZE,
            method=Image.Resampling.LANCZOS,
            centering=(0.5, 0.35),
        )
        if _far_from_3_4(image)
        else image.convert("RGB")
    )
    image.thumbnail(STORED_SIZE, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, optimize=True)
    content = buffer.getvalue()
    return ProcessedPhoto(
        content=content,
        mime="image/jpeg",
        sha256=hashlib.sha256(content).hexdigest(),
        width=image.width,
        height=image.height,
    )


def _far_from_3_4(image: Image.Image) -> bool:
    """Crop to 3:4 only when the picture is clearly another shape (a landscape phone shot)."""
    ratio = image.width / image.height
    return not 0.6 <= ratio <= 0.9
