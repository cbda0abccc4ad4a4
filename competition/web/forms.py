"""Small helpers for reading HTML forms at the edge."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request

from competition.errors import ValidationFailed
from competition.i18n import N_
from competition.web.params import INT_MAX, INT_MIN, in_int_range


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as str → str, stripped; repeated keys keep the last value."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def parse_int(raw: str | None, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    """A whole number from text a user sent (a form field, a query value), or None when it is
    empty, not a number, or outside [minimum, maximum] (by default what an INTEGER column
    holds). The one way to turn such text into an int: `int()` alone lets 2**63 through to the
    database."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 24:  # more digits than any column holds, and int() stays cheap
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if in_int_range(value, minimum, maximum) else None


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never an absolute URL, never `//host` (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class FormReader:
    """Reads typed values from a form, collecting every error instead of stopping at one."""

    def __init__(self, data: dict[str, str]):
        self.data = data
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str:
        value = " ".join(self.data.get(name, "").split())
        if required and not value:
            self.errors[name] = N_("This field is required.")
        elif len(value) > max_length:
            self.errors[name] = N_("Too long.")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """Without bounds, the range of an INTEGER column: a number the database cannot store
        is the user's mistake (422 next to the field), never a server error."""
        raw = self.data.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = N_("This field is required.")
            return None
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = N_("Enter a whole number.")
            return None
        low = INT_MIN if minimum is None else minimum
        high = INT_MAX if maximum is None else maximum
        if not in_int_range(value, low, high):
            self.errors[name] = N_("The number is out of range.")
            return None
        return value

    def date(self, name: str, *, required: bool = False) -> dt.date | None:
        raw = self.data.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = N_("This field is required.")
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = N_("Enter a date as YYYY-MM-DD.")
            return None

    def datetime(self, name: str, tz: dt.tzinfo, *, required: bool = False) -> dt.datetime | None:
        raw = self.data.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = N_("This field is required.")
            return None
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = N_("Enter a date and time.")
            return None
        return value if value.tzinfo else value.replace(tzinfo=tz)

    def choice(self, name: str, choices: Any, *, required: bool = True) -> str | None:
        raw = self.data.get(name, "").strip()
        if not raw and not required:
            return None
        if raw not in {str(c) for c in choices}:
            self.errors[name] = N_("Choose one of the options.")
            return None
        return raw

    def flag(self, name: str) -> bool:
        return self.data.get(name, "") in {"1", "on", "true", "yes"}

    def check(self) -> None:
        if self.errors:
            first = next(iter(self.errors.values()))
            raise ValidationFailed(first, code="invalid_form", field_errors=dict(self.errors))
