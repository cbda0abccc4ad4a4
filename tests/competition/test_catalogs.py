"""The zh_CN catalogs: complete, consistent with each other, and with the same placeholders."""

from __future__ import annotations

import re
from collections import defaultdict

from babel.messages.pofile import read_po

from competition.i18n import LOCALE_DIR
from competition.i18n_catalogs import PACKAGES, extract

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _catalogs():
    for path in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            yield path.name, read_po(f, locale="zh_CN")


def _translations() -> dict:
    found: dict = defaultdict(dict)
    for name, catalog in _catalogs():
        for message in catalog:
            if (
                message.id
                and message.string
                and (not isinstance(message.string, tuple) or all(message.string))
            ):
                found[message.id][name] = message.string
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    translated = _translations()
    missing = sorted(
        {
            f"{where}: {msgid!r}"
            for package in PACKAGES
            for msgid, where in extract(package)
            if msgid not in translated
        }
    )
    assert not missing, "untranslated:\n" + "\n".join(missing)


def test_no_message_is_translated_two_ways():
    conflicts = [
        f"{msgid!r}: {by_file}"
        for msgid, by_file in _translations().items()
        if len(set(map(str, by_file.values()))) > 1
    ]
    assert not conflicts, "\n".join(conflicts)


def test_translations_use_only_known_placeholders():
    """An unknown {name} in a translation would crash str.format at run time. (Leaving one out
    is allowed: 工作表“行业” says the sheet's label already.)"""
    wrong = []
    for msgid, by_file in _translations().items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = next(iter(by_file.values()))
        strings = strings if isinstance(strings, tuple) else (strings,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - expected:
                wrong.append(f"{msgid!r} → {string!r}")
    assert not wrong, "\n".join(wrong)


def test_a_message_moving_to_another_package_keeps_its_translation(tmp_path, monkeypatch):
    """`make messages` drops a msgid from the catalog of the package that no longer uses it
    and adds it to the one that now does, with the translation it had."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from competition import i18n_catalogs

    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    old = Catalog(locale="zh_CN")
    old.add("Moved here", "搬过来了")
    with (folder / "competition.po").open("wb") as f:
        write_po(f, old)
    monkeypatch.setattr(i18n_catalogs, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n_catalogs, "PACKAGES", {"competition": [], "registration": []})
    uses = {"competition": [], "registration": [("Moved here", "registration/x.py:1")]}
    monkeypatch.setattr(i18n_catalogs, "extract", lambda package: iter(uses[package]))
    i18n_catalogs.main()
    with (folder / "registration.po").open("rb") as f:
        moved = read_po(f, locale="zh_CN")
    with (folder / "competition.po").open("rb") as f:
        left = read_po(f, locale="zh_CN")
    assert moved["Moved here"].string == "搬过来了"
    assert "Moved here" not in left
