"""Certificate numbers (证书编号): `QH16-7K3M-9Q2XR`.

- the competition's code, readable (which competition issued it);
- eight characters of a keyed hash — HMAC-SHA256 of the competition, the entry and what the
  certificate is for, under the installation's secret — so numbers follow no sequence an outsider
  could walk (40 bits: one guess in about 18 million hits any of 60,000 numbers) and the same
  certificate always gets the same number, however often a batch is run again;
- one check character (Luhn mod 32), which catches every single mistyped character and all but
  one kind of swap of two neighbours (0 and Z): the verification page tells a typo from an
  unknown number.

The characters are Crockford's base 32 (no I, L, O, U): typed numbers are read leniently — lower
case, spaces, "O" for 0, "I" or "L" for 1.
"""

from __future__ import annotations

import hashlib
import hmac
import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
BODY_LENGTH = 8
_SHAPE = re.compile(r"^([A-Z0-9]{1,32})-([0-9A-Z]{4})-([0-9A-Z]{4})([0-9A-Z])$")


def check_character(body: str) -> str:
    """Luhn mod 32 over `body` (characters of ALPHABET)."""
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def _body(secret: str, subject: str, attempt: int) -> str:
    digest = hmac.new(
        secret.encode(), f"certificate:{subject}:{attempt}".encode(), hashlib.sha256
    ).digest()
    value = int.from_bytes(digest[:5], "big")  # 40 bits = 8 characters
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(BODY_LENGTH)))


def make_number(prefix: str, secret: str, subject: str, attempt: int = 0) -> str:
    """The number of the certificate `subject` names (e.g. "12:3456:award"). `attempt` > 0 only
    when the first number is already taken (about once in 18 million)."""
    body = _body(secret, subject, attempt)
    return f"{clean_prefix(prefix)}-{body[:4]}-{body[4:]}{check_character(body)}"


def clean_prefix(code: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9]", "", code.upper())
    return cleaned[:32] or "JX"


def normalise(typed: str) -> str:
    """A number as someone typed it, in its printed form where it can be (else upper-cased)."""
    text = re.sub(r"[\s\u3000]+", "", typed or "").upper().replace("—", "-").replace("_", "-")
    prefix, sep, rest = text.partition("-")
    if not sep:
        return text
    rest = rest.replace("-", "").translate(_TYPED)
    if len(rest) != BODY_LENGTH + 1:
        return f"{prefix}-{rest}"
    return f"{prefix}-{rest[:4]}-{rest[4:]}"


def well_formed(number: str) -> bool:
    """The shape and the check character are right (it may still not exist)."""
    match = _SHAPE.match(number)
    if match is None:
        return False
    body = match.group(2) + match.group(3)
    if any(c not in _VALUE for c in body + match.group(4)):
        return False
    return check_character(body) == match.group(4)
