"""Files handed to the browser to save: the name it is saved under and no caching."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response


def attachment(content: bytes, filename: str, fallback: str, media_type: str) -> Response:
    """`filename` as the saved name (RFC 5987, so Chinese names survive), `fallback` an ASCII
    name for clients that do not read `filename*`. Not cached: such files hold personal data."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
            ),
            "cache-control": "no-store",
        },
    )
