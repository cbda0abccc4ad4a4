"""Signed admission-ticket tokens (准考证二维码).

The QR code carries `JX1.<payload>.<signature>`, both parts base64url. The payload is
`competition|entry|ticket version|ticket number`; the signature is Ed25519 over `JX1.<payload>`.
A scanner holding only the public key (shown at /tickets/public-key) can tell a genuine ticket
from a forged one without reaching the database; check-in then asks the database whether the
ticket is still valid (not revoked, not superseded by a reissued version).

The Ed25519 key is derived from JIANGXIN_SECRET with HKDF, so every worker signs with the same
key and nothing else has to be stored or backed up.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from competition.config import get_settings
from competition.errors import ValidationFailed

PREFIX = "JX1"


@dataclass(frozen=True)
class TicketClaim:
    competition_id: int
    entry_id: int
    version: int
    ticket_number: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _private_key(secret: str) -> Ed25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"jiangxin-ticket-signing",
        info=b"ed25519 seed v1",
    ).derive(secret.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    return _private_key(get_settings().secret)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(claim: TicketClaim) -> str:
    payload = _b64(
        f"{claim.competition_id}|{claim.entry_id}|{claim.version}|{claim.ticket_number}".encode()
    )
    signed = f"{PREFIX}.{payload}"
    return f"{signed}.{_b64(signing_key().sign(signed.encode()))}"


def _bad() -> ValidationFailed:
    return ValidationFailed(
        "This QR code is not a genuine admission ticket of this system.", code="ticket_forged"
    )


def verify(token: str, key: Ed25519PublicKey | None = None) -> TicketClaim:
    """The claim of a genuine token; raises ValidationFailed(code="ticket_forged") otherwise."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise _bad()
    try:
        signature = _unb64(parts[2])
        (key or public_key()).verify(signature, f"{parts[0]}.{parts[1]}".encode())
        competition, entry, version, number = _unb64(parts[1]).decode().split("|", 3)
        return TicketClaim(int(competition), int(entry), int(version), number)
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        raise _bad() from None
