"""Reading what a page shows, for tests that assert a page's content: messages in either
language (and really translated), the page's main part as text, one element by its id."""

from __future__ import annotations

import html
import re
from typing import Any

from competition.i18n import current_locale, gettext, ngettext

CJK = re.compile(r"[\u4e00-\u9fff]")
_TAG = re.compile(r"<[^>]+>")


def zh(message: str, **params: Any) -> str:
    """A message as a zh-CN page shows it; it must really be Chinese."""
    text = _in("zh_CN", gettext, message, **params)
    assert CJK.search(text), f"no Chinese translation for {message!r}"
    return text


def zh_plural(singular: str, plural: str, n: int, **params: Any) -> str:
    text = _in("zh_CN", ngettext, singular, plural, n, **params)
    assert CJK.search(text), f"no Chinese translation for {singular!r}"
    return text


def en(message: str, **params: Any) -> str:
    return _in("en", gettext, message, **params)


def en_plural(singular: str, plural: str, n: int, **params: Any) -> str:
    return _in("en", ngettext, singular, plural, n, **params)


def in_chinese(function, *args, **params) -> str:
    """What `function` (e.g. translate_error) gives on a zh-CN page."""
    return _in("zh_CN", function, *args, **params)


def _in(locale: str, function, *args, **params) -> str:
    token = current_locale.set(locale)
    try:
        return function(*args, **params)
    finally:
        current_locale.reset(token)


def main(page_html: str) -> str:
    """The page's <main>, without the top bar and footer every page shares."""
    match = re.search(r"<main[^>]*>(.*)</main>", page_html, re.S)
    assert match, "no <main> in the page"
    return match.group(1)


def text(fragment: str) -> str:
    """Markup as the words a reader sees, whitespace folded."""
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def element(page_html: str, element_id: str, tag: str = r"\w+") -> str:
    """The markup of the element with this id (up to its first closing tag of the same name
    at any depth is not tracked: give a tag that does not nest, e.g. section, details, li)."""
    match = re.search(
        rf'<({tag})\b[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page_html, re.S
    )
    assert match, f"no element #{element_id}"
    return match.group(0)
