"""Domain errors: raised by services, turned into a page or JSON by the web layer.

A message is an English msgid with `{named}` placeholders; it is translated at the edge in the
user's language, so services never need to know who is asking.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field_errors: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = params
        # field name -> msgid, for re-rendering a form next to the right input.
        self.field_errors = field_errors or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ValidationFailed(DomainError):
    status_code = 422
    default_code = "validation_failed"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class PermissionDenied(DomainError):
    status_code = 403
    default_code = "forbidden"


class PhaseError(DomainError):
    """An action that does not belong to the competition's current phase."""

    status_code = 409
    default_code = "wrong_phase"


class TooManyAttempts(DomainError):
    status_code = 429
    default_code = "too_many_attempts"
