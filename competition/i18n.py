"""Translations: zh-CN by default, English second.

Message ids are English. The catalogs are `locale/<locale>/LC_MESSAGES/*.po`; they are compiled
in memory when the process starts (a few milliseconds), so no `.mo` is committed and nothing has
to be built before the app can speak Chinese.

The current locale lives in a context variable set per request by `LocaleMiddleware`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from competition.config import REPO_ROOT

LOCALE_DIR = REPO_ROOT / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
LOCALE_COOKIE = "lang"
# The names under which msgids appear in Python code, for extraction (Makefile, tests).
EXTRACT_KEYWORDS = (
    "_",
    "gettext",
    "ngettext:1,2",
    "N_",
    "DomainError",
    "ValidationFailed",
    "NotFound",
    "Conflict",
    "PermissionDenied",
    "PhaseError",
    "TooManyAttempts",
    "_fail:2",
    "_invalid",
    "_refuse",
    "RowError:3",
)

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


class Msg(str):
    """A msgid kept untranslated until it is shown (e.g. a parameter of a domain error), with
    the parameters of its own placeholders."""

    params: dict[str, Any]


def N_(message: str, **params: Any) -> Msg:  # the usual name for "mark for translation"
    msg = Msg(message)
    msg.params = params
    return msg


@cache
def _translations(locale: str) -> NullTranslations:
    """All catalogs of a locale merged into one: each package (or area of one) keeps its own
    `locale/<locale>/LC_MESSAGES/<area>.po`, so work on one part never edits another's file."""
    merged: NullTranslations = NullTranslations()
    for po_path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        translations = Translations(fp=buffer)
        if isinstance(merged, Translations):
            merged.merge(translations)
        else:
            merged = translations
    return merged


def normalise_locale(value: str | None) -> str:
    if not value:
        return DEFAULT_LOCALE
    value = value.replace("-", "_")
    for locale in LOCALES:
        if value.lower() == locale.lower() or value.lower().split("_")[0] == locale.lower()[:2]:
            return locale
    return DEFAULT_LOCALE


# Test runs record every msgid shown in Chinese without a translation (see tests/conftest.py).
_missing: set[str] | None = None


def start_recording_missing() -> None:
    global _missing
    _missing = set()


def recorded_missing() -> set[str]:
    return set(_missing or ())


def gettext(message: str, **params: Any) -> str:
    translations = _translations(current_locale.get())
    text = translations.gettext(message)
    if (
        _missing is not None
        and current_locale.get() != "en"
        and message
        and (message not in getattr(translations, "_catalog", {}))
    ):
        _missing.add(message)
    if params:
        text = text.format(**{k: _render_param(v) for k, v in params.items()})
    return text


_ = gettext


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = _translations(current_locale.get()).ngettext(singular, plural, n)
    return text.format(n=n, **{k: _render_param(v) for k, v in params.items()})


def render(message: Msg | str) -> str:
    """A msgid (with the parameters a Msg carries) in the current language."""
    return gettext(message, **getattr(message, "params", {}))


def _render_param(value: Any) -> Any:
    if isinstance(value, Msg):
        return render(value)
    if isinstance(value, list | tuple):
        return join_list([render(v) if isinstance(v, Msg) else str(v) for v in value])
    return value


def join_list(items: Iterable[str]) -> str:
    """Labels joined as a list (焊工、电工); whole sentences simply follow each other."""
    items = list(items)
    zh = current_locale.get() == "zh_CN"
    if items and all(i.rstrip()[-1:] in "。.！!？?" for i in items):
        return ("" if zh else " ").join(items)
    return ("、" if zh else ", ").join(items)


def translate_error(error: Any) -> str:
    """The message of a DomainError in the current language."""
    return gettext(error.message, **error.params)


def translate_field_errors(error: Any) -> dict[str, str]:
    """Field name → message of a DomainError, for showing next to each input."""
    return {
        name: render(message)
        if getattr(message, "params", None)
        else gettext(message, **error.params)
        for name, message in error.field_errors.items()
    }
