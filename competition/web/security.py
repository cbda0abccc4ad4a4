"""Security headers on every answer, and the origin check of every state-changing request.

Headers (a `before_send` hook, so they are on pages, JSON, static files, redirects and error
answers alike, also for a path no route matches):

- a Content-Security-Policy without inline scripts: scripts come from /static only, the data a
  page gives its script travels in `<script type="application/json">`; the templates use style
  attributes, so styles may be inline. Photos are same-origin; `blob:` and `data:` are the
  preview of a photo chosen for upload. The check-in desk's camera stream (a MediaStream on a
  `<video>`) and jsQR (loaded from /static) need nothing more; `Permissions-Policy` lets this
  origin, and no frame, use the camera;
- no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), `nosniff`, a same-origin
  referrer, HSTS when the cookies are Secure (the site is then served over HTTPS);
- `Cache-Control: no-store` on every answer but the static files found (unless a handler chose its
  own): pages, photos, tickets, exports and import reports carry personal data, and a shared
  computer's browser cache must not keep them.

Cross-site request forgery: besides the token (Litestar's CSRFConfig), a POST, PUT, PATCH or
DELETE must come from this site: its `Origin` header (or, when a browser sends none, its
`Referer`) names the origin the request was sent to (scheme and Host header; `https` too when
cookies are Secure, since a TLS proxy may forward plain HTTP) or one of the configured public
origins (`JIANGXIN_PUBLIC_ORIGIN`). Anything else, and a request with neither header, is refused
with the same 403 as a bad token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from competition.config import Settings
from competition.i18n import current_locale
from competition.web.errors import CSRF_FAILED, LOCALE_SCOPE_KEY

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATIC_PREFIX = "/static/"
HSTS_MAX_AGE = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "permissions-policy": PERMISSIONS_POLICY,
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.cookie_secure:
        headers["strict-transport-security"] = f"max-age={HSTS_MAX_AGE}"
    return headers


def headers_hook(settings: Settings):
    """The `before_send` hook that adds the headers to every answer's start."""
    fixed = security_headers(settings)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in fixed.items():
            if name not in headers:
                headers[name] = value
        static = scope.get("path", "").startswith(STATIC_PREFIX)
        # A static file missing (a 404 is cacheable by default) must not stay missing in a
        # browser's cache once it is deployed.
        if "cache-control" not in headers and (not static or message["status"] >= 400):
            headers["cache-control"] = "no-store"

    return before_send


# ---------------------------------------------------------------------------- origin check


def normal_origin(value: str | None) -> str | None:
    """`scheme://host[:port]` in lower case without a default port, or None if `value` names
    no http(s) origin (e.g. the `null` origin of a sandboxed frame or a file)."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def allowed_origins(scope: Scope, settings: Settings) -> set[str]:
    allowed = {o for o in map(normal_origin, settings.public_origins) if o}
    host = _header(scope, b"host")
    if host:
        schemes = {scope.get("scheme", "http")}
        if settings.cookie_secure:
            schemes.add("https")
        for scheme in schemes:
            origin = normal_origin(f"{scheme}://{host}")
            if origin:
                allowed.add(origin)
    return allowed


def comes_from_this_site(scope: Scope, settings: Settings) -> bool:
    origin = _header(scope, b"origin")
    if origin is None:
        referer = _header(scope, b"referer")
        if referer is None:
            return False
        origin = referer
    claimed = normal_origin(origin)
    return claimed is not None and claimed in allowed_origins(scope, settings)


def edge_middleware(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Inside the context middleware: records the user's language for error answers made after
    it returned (see competition.web.errors), and refuses a state-changing request from another
    site before its body is read."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[LOCALE_SCOPE_KEY] = current_locale.get()  # type: ignore[literal-required]
            if scope.get("method") in UNSAFE_METHODS and not comes_from_this_site(scope, settings):
                raise PermissionDeniedException(CSRF_FAILED)
        await app(scope, receive, send)

    return middleware
