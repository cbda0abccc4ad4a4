"""Files handed to the browser to save: the name it is saved under and no caching."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response


def content_disposition(filename: str, fallback: str) -> str:
    """`filename` as the saved name (RFC 5987, so Chinese names survive), `fallback` an ASCII
    name for clients that do not read `filename*`."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def attachment(content: bytes, filename: str, fallback: str, media_type: str) -> Response:
    """Not cached: such files hold personal data."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": content_disposition(filename, fallback),
            "cache-control": "no-store",
        },
    )
