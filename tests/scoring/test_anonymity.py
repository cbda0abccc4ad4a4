"""Anonymity (加密) end to end: before decryption, nothing a judge or a chief judge can open, and
no score sheet or draw export the organizer prints, shows a drawn contestant's name, ticket
number or ID number — only codes. The test walks every link from the judges' home pages (and
the organizer's draw and score-sheet pages), reads pages, PDFs and workbooks as they are
served, and looks for every drawn contestant's particulars in them.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urljoin, urlsplit

import httpx
from openpyxl import load_workbook
from pypdf import PdfReader

from registration.tables import Entry
from scoring.tables import Draw, DrawSlot, Judge
from tests.support import login

LINK = re.compile(r"""(?:href|src|action)="([^"#]+)""")
# Pages that change data, sign out or only repeat static files are not followed.
SKIPPED = ("/logout", "/static/", "/lang/", "/schema")
# The organizer's attendance list names who is present before the draw: that is its job.
ORGANIZER_SKIPPED = ("/attendance",)
MAX_PAGES = 250


def _readable(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "")
    if "pdf" in kind:
        reader = PdfReader(io.BytesIO(response.content))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    if "spreadsheet" in kind:
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            " ".join("" if cell is None else str(cell) for cell in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return response.text


async def _walk(
    client: httpx.AsyncClient,
    starts: list[str],
    inside: tuple[str, ...],
    skipped: tuple[str, ...] = (),
):
    """(url, text) of every page reachable from `starts` by GET links whose path starts with
    one of `inside`."""
    seen: set[str] = set()
    queue = list(starts)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = await client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code != 200:
            continue
        text = _readable(response)
        yield url, text
        if "html" not in response.headers.get("content-type", ""):
            continue
        for link in LINK.findall(text):
            target = urljoin(url, link.replace("&amp;", "&"))
            path = urlsplit(target).path
            if urlsplit(target).netloc not in ("", "testserver"):
                continue
            if path.startswith(SKIPPED) or not path.startswith(inside):
                continue
            if any(part in path for part in skipped):
                continue
            queue.append(path + (f"?{urlsplit(target).query}" if urlsplit(target).query else ""))


async def _secrets(competition_id: int) -> dict[str, str]:
    """Every drawn contestant's name, ticket number and ID number, and every draw's seed → what
    it is; names a judge also bears (a judge sees their own name) are left out."""
    rows = await DrawSlot.select(
        DrawSlot.entry.person.name,
        DrawSlot.entry.person.id_number,
        DrawSlot.entry.ticket_number,
    ).where(DrawSlot.trade.competition == competition_id)
    assert rows, "the demo has no draw to check"
    judges = {r["name"] for r in await Judge.select(Judge.name)}
    found: dict[str, str] = {}
    for r in rows:
        if r["entry.person.name"] not in judges and len(r["entry.person.name"]) >= 2:
            found[r["entry.person.name"]] = "name"
        found[r["entry.person.id_number"]] = "ID number"
        # The last digits of an ID number alone identify nobody; the whole number does.
        if r["entry.ticket_number"]:
            found[r["entry.ticket_number"]] = "ticket number"
    # With a draw's seed and the entries, the codes could be worked out again.
    for draw in await Draw.select(Draw.seed):
        found[draw["seed"]] = "draw seed"
    return found


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [f"{kind} {value}" for value, kind in secrets.items() if value in text]


async def test_judges_and_chief_judges_see_only_codes(demo_scoring, client):
    secrets = await _secrets(demo_scoring.competition_id)
    for username, home in (("judge", "/judge"), ("chief", "/chief")):
        client.cookies.clear()
        await login(client, username)
        pages = 0
        async for url, text in _walk(client, [home], ("/judge", "/chief", "/api/judge")):
            pages += 1
            assert not _leaks(text, secrets), (username, url, _leaks(text, secrets)[:5])
            # The home pages count the codes the judge will score: the draw is there.
            if url == home:
                assert "焊工" in text
        assert pages >= 1


async def test_the_organizers_score_sheets_and_draw_pages_show_only_codes(demo_scoring, client):
    cid = demo_scoring.competition_id
    secrets = await _secrets(cid)
    await login(client, "organizer")
    base = f"/org/competitions/{cid}"
    drawn = await DrawSlot.select(DrawSlot.trade, DrawSlot.session).where(
        DrawSlot.trade.competition == cid
    )
    trade_ids = sorted({r["trade"] for r in drawn})
    assert await Entry.count().where(Entry.trade.is_in(trade_ids)) > 0
    seen = []
    # The drawn trades' draw pages and schemes, and whatever they link to: exports, printouts.
    starts = [f"{base}/draw/{t}" for t in trade_ids] + [
        f"{base}/trades/{t}/scheme" for t in trade_ids
    ]
    inside = (
        *(f"{base}/draw/{t}" for t in trade_ids),
        *(f"{base}/trades/{t}/" for t in trade_ids),
        f"{base}/sessions/",
    )
    async for url, text in _walk(client, starts, inside, ORGANIZER_SKIPPED):
        seen.append(url)
        assert not _leaks(text, secrets), (url, _leaks(text, secrets)[:5])
    # The draw pages, their codes export and the printed score sheets were all read.
    assert any(url.endswith("/codes.xlsx") for url in seen), "\n".join(seen)
    assert any(url.endswith("/score-sheet.pdf") for url in seen), "\n".join(seen)
    assert any("/scheme.pdf" in url for url in seen), "\n".join(seen)
