"""Every page each role may open, on the full demo (contestants in every status), in both
languages: nothing fails to render, and English pages are in English."""

from __future__ import annotations

import pytest

from competition.tables import User
from registration.tables import Entry, Person
from tests.test_route_guards import (
    ANONYMOUS,
    WHO,
    build_rows,
    client_for,
    path_values,
)

LANGUAGES = {"zh_CN": 'lang="zh-CN"', "en": 'lang="en"'}


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("who", [w for w in WHO if w != ANONYMOUS])
async def test_every_page_renders_in_both_languages(demo_full, app, who, language):
    contestant = await User.select(User.id).where(User.username == "contestant").first()
    values = await path_values(demo_full.competition_id, user_id=contestant["id"])
    # The demo contestant's own approved entry: the contestant, their delegation (西宁) and the
    # organizer all reach it, so entry pages render with real data.
    person = await Person.select(Person.id).where(Person.user == contestant["id"]).first()
    entry = await Entry.select(Entry.id).where(Entry.person == person["id"]).first()
    values["entry_id"] = str(entry["id"])
    values["filename"] = f"{entry['id']}.jpg"
    rows = [r for r in build_rows(app, who, values, safe=True) if r.allowed]
    assert rows
    async with client_for(app, who) as client:
        client.cookies.set("lang", language)
        failures = []
        for row in rows:
            response = await client.request(row.method, row.url)
            kind = response.headers.get("content-type", "")
            if response.status_code >= 500:
                failures.append(f"{row.url}: {response.status_code}")
            elif response.status_code == 200 and kind.startswith("text/html") and (
                "<html" in response.text and LANGUAGES[language] not in response.text
            ):
                failures.append(f"{row.url}: not rendered in {language}")
    assert not failures, "\n".join(failures)

