"""A photo kept across a failed submit (保留已选照片), so that a form error elsewhere never makes a
contestant choose the photo again.

A browser cannot put a chosen file back into a file input, so the processed photo (the small
re-encoded JPEG of registration/photos.py, ~30–60 KB) goes back with the form: as a `data:`
preview and a hidden field, with a token that binds it to the account and to a short expiry
(HMAC with the app's secret). Submitted again, a photo whose token checks is used as it is —
it was checked and processed already; any other is ignored, and the form asks for a photo as
if none had been chosen. Nothing is stored on the server and no personal data goes into a URL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from competition.config import get_settings
from registration.photos import ProcessedPhoto

KEEP_FOR = dt.timedelta(hours=2)
# Far above what photos.process_photo writes (480×640 JPEG); a bigger field is not ours.
MAX_KEPT_BYTES = 512 * 1024
FIELD = "kept_photo"  # the form fields: the photo, and its proof of origin
PROOF_FIELD = "kept_photo_token"


@dataclass(frozen=True)
class KeptPhoto:
    data: str  # base64 of the processed JPEG: the preview's data URL and the hidden field
    token: str  # "<expiry>.<width>.<height>.<mac>"


def _mac(user_id: int, expires: int, width: int, height: int, sha256: str) -> str:
    key = hashlib.sha256(b"kept-photo:" + get_settings().secret.encode()).digest()
    message = f"{user_id}:{expires}:{width}:{height}:{sha256}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def keep(photo: ProcessedPhoto, user_id: int, *, now: dt.datetime | None = None) -> KeptPhoto:
    expires = int(((now or _now()) + KEEP_FOR).timestamp())
    mac = _mac(user_id, expires, photo.width, photo.height, photo.sha256)
    return KeptPhoto(
        data=base64.b64encode(photo.content).decode("ascii"),
        token=f"{expires}.{photo.width}.{photo.height}.{mac}",
    )


def restore(
    data: str, token: str, user_id: int, *, now: dt.datetime | None = None
) -> ProcessedPhoto | None:
    """The kept photo if its token is this account's and not expired, else None."""
    if not data or not token or len(data) > MAX_KEPT_BYTES * 4 // 3 + 4:
        return None
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    expires, width, height = (int(p) for p in parts[:3])
    if expires < (now or _now()).timestamp():
        return None
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    sha256 = hashlib.sha256(content).hexdigest()
    if not hmac.compare_digest(parts[3], _mac(user_id, expires, width, height, sha256)):
        return None
    return ProcessedPhoto(
        content=content, mime="image/jpeg", sha256=sha256, width=width, height=height
    )
