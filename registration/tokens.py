"""Signed admission-ticket tokens (准考证二维码).

The QR code carries `JX1.<payload>.<signature>`, both parts canonical base64url (no padding, no
whitespace, the URL alphabet only, and unused low bits zero: the one spelling `sign` writes, so
no two texts pass for the same ticket). The payload is
`competition|entry|ticket version|ticket number`; the signature is Ed25519 over `JX1.<payload>`.
A scanner holding only the public key (shown at /tickets/public-key) can tell a genuine ticket
from a forged one without reaching the database; check-in then asks the database whether the
ticket is still valid (not revoked, not superseded by a reissued version).

The Ed25519 key is derived from JIANGXIN_SECRET with HKDF, so every worker signs with the same
key and nothing else has to be stored or backed up.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from competition.config import get_settings
from competition.errors import ValidationFailed

PREFIX = "JX1"
SIGNATURE_BYTES = 64  # Ed25519
_URL_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class TicketClaim:
    competition_id: int
    entry_id: int
    version: int
    ticket_number: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """The bytes of canonical base64url text; ValueError for any other spelling.

    Python's decoder skips characters outside the alphabet and ignores the bits after the last
    whole byte, so `...Q` and `...R` decode alike; re-encoding and comparing refuses those."""
    if not _URL_ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    # binascii.Error, raised for impossible lengths, is a ValueError too.
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


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


@cache
def _public_key(secret: str) -> Ed25519PublicKey:
    return _private_key(secret).public_key()


def public_key() -> Ed25519PublicKey:
    # Cached: every scan at a desk checks a signature with it.
    return _public_key(get_settings().secret)


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
        if len(signature) != SIGNATURE_BYTES:
            raise ValueError("not an Ed25519 signature")
        (key or public_key()).verify(signature, f"{parts[0]}.{parts[1]}".encode())
        competition, entry, version, number = _unb64(parts[1]).decode().split("|", 3)
        return TicketClaim(int(competition), int(entry), int(version), number)
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        raise _bad() from None
