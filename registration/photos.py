"""Contestant photos: checked by content (never by file name), re-encoded as a small JPEG.

Re-encoding strips EXIF (GPS positions from phones) and anything hidden after the image data,
and bounds what is stored: about 30–60 KB a photo.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps

from competition.errors import ValidationFailed

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# The header says a picture's size before anything is decoded: a decompression bomb (a few KB
# claiming 20000×20000 pixels) or a picture of absurd proportions is refused there, in constant
# memory. The limits keep the decoder's memory below about 100 MB a photo (measured:
# tests/registration/test_photo_limits.py):
# - a JPEG decodes at a fraction of its size (`draft`): a 50-megapixel phone camera's full
#   resolution (8160×6120) passes;
# - a progressive JPEG keeps every coefficient in memory whatever the scale, PNG decodes at full
#   size: 16.8 million pixels (4096×4096);
# - WebP decodes at full size with copies: 4.2 million pixels (2048×2048).
MAX_SIDE = 10_000
# The largest picture of each kind, as a shape; its area is the limit of the pixel count.
LARGEST = {
    "JPEG": (8160, 6120),
    "progressive": (4096, 4096),
    "PNG": (4096, 4096),
    "WEBP": (2048, 2048),
}
MIN_WIDTH, MIN_HEIGHT = 150, 200
STORED_SIZE = (480, 640)  # 3:4, ID-photo proportions
# Decoding a JPEG stops at the smallest scale (1/2, 1/4, 1/8) still at least this large.
DECODE_BOX = (2 * STORED_SIZE[1], 2 * STORED_SIZE[1])
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# EXIF orientations that turn the picture by 90°: width and height swap.
_TURNED = {5, 6, 7, 8}


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes
    mime: str
    sha256: str
    width: int
    height: int


def _refuse(message: str, code: str, **params) -> ValidationFailed:
    return ValidationFailed(message, code=code, field_errors={"photo": message}, **params)


def _too_many_pixels(kind: str) -> ValidationFailed:
    width, height = LARGEST[kind]
    shape = f"{width}×{height}"
    return _refuse(
        "The photo has too many pixels: a picture of this kind may have up to {limit} pixels "
        "(and {side} pixels a side). Make it smaller and upload it again.",
        "photo_too_many_pixels",
        limit=shape,
        side=MAX_SIDE,
    )


def _not_an_image() -> ValidationFailed:
    return _refuse("The file is not a JPEG, PNG or WebP photo.", "photo_not_image")


def _check_size(probe: Image.Image) -> None:
    """Refuses by the header alone, before a pixel is decoded."""
    width, height = probe.size
    kind = "progressive" if probe.info.get("progressive") else str(probe.format)
    largest = LARGEST[kind]
    if width > MAX_SIDE or height > MAX_SIDE or width * height > largest[0] * largest[1]:
        raise _too_many_pixels(kind)


def _check_min_size(image: Image.Image) -> None:
    width, height = image.size
    if image.getexif().get(ExifTags.Base.Orientation) in _TURNED:
        width, height = height, width
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise _refuse(
            "The photo must be at least {w}×{h} pixels.",
            "photo_too_small",
            w=MIN_WIDTH,
            h=MIN_HEIGHT,
        )


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard (a warning past 89 million pixels) as an error; ours
            # refuses long before, so this only backs it up.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                _check_size(probe)
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            _check_min_size(image)
            if image.format == "JPEG":
                image.draft("RGB", DECODE_BOX)
            image.load()
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels("JPEG") from None
    except Exception:
        raise _not_an_image() from None
    # Shrink first: turning and converting then work on a small copy.
    image.thumbnail(DECODE_BOX, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def process_photo(data: bytes) -> ProcessedPhoto:
    if not data:
        raise _refuse("Choose a photo to upload.", "photo_missing")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(
            "The photo is larger than {mb} MB; choose a smaller one.",
            "photo_too_large",
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
    image = ImageOps.exif_transpose(_decode(data))
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
