"""Keep the translation catalogs in step with the code: `make messages` (or
`python -m competition.i18n_catalogs`) extracts every msgid of each package and adds the new ones
to `locale/zh_CN/LC_MESSAGES/<package>.po` with an empty translation, for a translator to fill
(or with the translation it had in another catalog, when a message moved between packages).
An area of a package may keep its own catalog (`<package>-<area>.po`); a msgid translated there
is not repeated in the package's catalog. All catalogs of a locale are merged at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from competition.config import REPO_ROOT
from competition.i18n import EXTRACT_KEYWORDS, LOCALE_DIR

# Package → the folders whose msgids its catalog holds. The core also owns the shared layout
# templates at the top of templates/.
PACKAGES: dict[str, list[tuple[str, str]]] = {
    "competition": [
        ("competition", "python"),
        ("templates/competition", "jinja2"),
        ("templates/public", "jinja2"),
        ("templates", "jinja2-top"),
    ],
    "registration": [("registration", "python"), ("templates/registration", "jinja2")],
    "scoring": [("scoring", "python"), ("templates/scoring", "jinja2")],
}
TRANSLATED_LOCALES = ("zh_CN",)


def _keywords() -> dict[str, tuple | None]:
    keywords: dict[str, tuple | None] = {}
    for spec in EXTRACT_KEYWORDS:
        name, _, args = spec.partition(":")
        keywords[name] = tuple(int(a) for a in args.split(",")) if args else None
    return keywords


def extract(package: str) -> Iterator[tuple[str | tuple[str, ...], str]]:
    """(msgid, "file:line") for every message of a package; plurals as (singular, plural)."""
    keywords = _keywords()
    for folder, kind in PACKAGES[package]:
        path = REPO_ROOT / folder
        if not path.exists():
            continue
        if kind == "python":
            method_map = [("**.py", "python")]
        elif kind == "jinja2":
            method_map = [("**.html", "jinja2")]
        else:  # only the files directly in templates/, not its sub-folders
            method_map = [("*.html", "jinja2")]
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(path),
            method_map,
            keywords=keywords,
            strip_comment_tags=True,
        ):
            if kind == "jinja2-top" and "/" in filename:
                continue
            if message and (not isinstance(message, tuple) or message[0]):
                # A plural message stays a (singular, plural) pair, as catalogs key it.
                yield message, f"{folder}/{filename}:{lineno}"


def catalog_path(locale: str, package: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{package}.po"


def update_catalog(locale: str, package: str, known: dict | None = None) -> tuple[int, int]:
    """Add new msgids, drop vanished ones; returns (added, removed). A msgid new to this
    catalog takes its translation from `known` (every catalog's, read before any was changed),
    so a message that moved from one package to another keeps its translation."""
    known = known if known is not None else translations(locale)
    path = catalog_path(locale, package)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale)
    else:
        catalog = Catalog(locale=locale, project="jiangxin", charset="utf-8", fuzzy=False)
    # A msgid already translated in an area catalog (e.g. competition-import.po) stays there.
    elsewhere = _translated_elsewhere(locale, path)
    found = {msgid for msgid, _where in extract(package)} - elsewhere
    if not found and not path.exists():
        return 0, 0
    added = 0
    for msgid in sorted(found):
        if msgid not in catalog:
            catalog.add(msgid, known.get(msgid, ""))
            added += 1
    removed = [m.id for m in catalog if m.id and m.id not in found]
    for msgid in removed:
        del catalog[msgid]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        # No source locations: line numbers would churn the file on every unrelated edit.
        write_po(f, catalog, width=0, sort_output=True, include_previous=False, no_location=True)
    return added, len(removed)


def translations(locale: str) -> dict:
    """Every translated msgid of the locale's catalogs, with its translation."""
    found: dict = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for m in read_po(f, locale=locale):
                if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string):
                    found.setdefault(m.id, m.string)
    return found


def _translated_elsewhere(locale: str, own: Path) -> set:
    translated: set = set()
    for other in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        if other == own:
            continue
        with other.open("rb") as f:
            translated.update(
                m.id
                for m in read_po(f, locale=locale)
                if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
            )
    return translated


def main() -> int:
    for locale in TRANSLATED_LOCALES:
        known = translations(locale)
        for package in PACKAGES:
            added, removed = update_catalog(locale, package, known)
            print(f"{locale}/{package}.po: {added} new, {removed} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
