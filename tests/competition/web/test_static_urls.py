"""Pages name their scripts and styles with the hash of the file's content (`static_url`): the
URL a page gives serves exactly that content, and a changed file gets a new URL; a file not
found is not cached."""

from __future__ import annotations

import hashlib
import os
import re

from competition.web import templating


async def test_a_page_names_each_script_by_its_content(demo, client):
    page = await client.get("/login")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(u.startswith("/static/js/app.js?v=") for u in urls), urls
    assert any(u.startswith("/static/css/app.css?v=") for u in urls), urls
    for url in urls:
        version = url.partition("?v=")[2]
        assert re.fullmatch(r"[0-9a-f]{12}", version), url
        served = await client.get(url)
        assert served.status_code == 200, url
        assert hashlib.sha256(served.content).hexdigest()[:12] == version, url
        assert "max-age=3600" in served.headers["cache-control"]


async def test_a_static_file_not_found_is_not_kept_in_a_cache(demo, client):
    missing = await client.get("/static/js/not-deployed-yet.js")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


def test_a_changed_file_gets_a_new_url(tmp_path, monkeypatch):
    monkeypatch.setattr(templating, "STATIC_DIR", tmp_path)
    script = tmp_path / "js" / "example.js"
    script.parent.mkdir()
    script.write_text("var a = 1;\n")
    first = templating.static_url("js/example.js")
    assert first == templating.static_url("js/example.js")
    before = script.stat().st_mtime_ns
    script.write_text("var a = 2;\n")
    # An edit within the clock's tick keeps the time: the next tick, as any later edit has.
    os.utime(script, ns=(before + 10**9, before + 10**9))
    second = templating.static_url("js/example.js")
    assert first != second and second.startswith("/static/js/example.js?v=")
