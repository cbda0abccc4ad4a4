"""The competition dashboard and the hall board with the demo as `make demo` leaves it: every
figure equal to a count made here with its own query; charts drawn on the server with the table
behind each; the hall board public, refreshing itself, naming no one."""

from __future__ import annotations

from collections import Counter

from competition.results import dashboard
from competition.results.exports import named_trades
from competition.stages import Stage
from competition.tables import CompetitionSession, Trade
from registration.tables import CheckIn, Entry, Person
from scoring import scores
from scoring.sheets import chief
from scoring.tables import ScoreSheet
from tests.support import login


async def test_the_dashboards_figures_equal_the_counts(demo_results, client):
    cid = demo_results.competition_id
    sessions = await dashboard.check_in_by_session(cid)
    assert sessions
    for s in sessions:
        checked = {r["entry"] for r in await CheckIn.select(CheckIn.entry).where(
            CheckIn.session == s.id)}  # fmt: skip
        seated = await Entry.count().where((Entry.session == s.id) & (Entry.status == "approved"))
        assert (s.checked_in, s.expected) == (len(checked), seated), s.code
    assert any(s.checked_in for s in sessions)

    trades = await dashboard.scoring_by_trade(cid)
    assert len(trades) == await Trade.count().where(Trade.competition == cid)
    for t in trades:
        sheets = await ScoreSheet.select(ScoreSheet.status).where(ScoreSheet.session.trade == t.id)
        assert t.sheets == len(sheets)
        assert t.sheets_signed == sum(1 for s in sheets if s["status"] in ("signed", "verified"))
        if t.stage in (Stage.competing, Stage.marks_complete):
            progress = await chief.progress(t.id)
            assert (t.cells_entered, t.cells_expected) == (
                progress["cells_entered"], progress["cells_expected"])  # fmt: skip
            assert t.flags == len(progress["flags"])
    assert any(t.flags for t in trades) and any(t.cells_expected for t in trades)

    with_totals = await dashboard.trades_with_totals(cid)
    assert with_totals
    for trade_id, _code, _name in with_totals:
        spread = await dashboard.distribution(trade_id)
        weighted = [t.weighted for t in await scores.totals_of_trade(trade_id)
                    if t.weighted is not None]  # fmt: skip
        assert sum(n for _label, n in spread.bins) == spread.count == len(weighted)
        assert spread.highest == max(weighted) and spread.lowest == min(weighted)

    awards = await dashboard.awards_by(cid)
    firsts = Counter(r.delegation for t in await named_trades(cid) for r in t.rows
                     if r.present and r.award == 1)  # fmt: skip
    assert {row[0]: row[1] for row in awards["delegation"] if row[1]} == dict(firsts)

    await login(client, "organizer")
    page = await client.get(f"/org/competitions/{cid}/progress")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 5 and page.text.count('class="chart-table"') >= 5
    busiest = max(sessions, key=lambda s: s.checked_in)
    assert f"{busiest.code} {busiest.name}" in page.text
    chosen = await client.get(f"/org/competitions/{cid}/progress?trade={with_totals[-1][0]}")
    assert chosen.status_code == 200 and with_totals[-1][2] in chosen.text
    await login(client, "judge")
    assert (await client.get(f"/org/competitions/{cid}/progress")).status_code == 403


async def test_the_hall_board_is_public_large_and_names_no_one(demo_results, client):
    cid = demo_results.competition_id
    board = await client.get(f"/competitions/{cid}/board")
    assert board.status_code == 200
    assert '<meta http-equiv="refresh" content="30">' in board.text
    locked = await Trade.count().where(
        (Trade.competition == cid)
        & Trade.stage.is_in(["locked", "decrypted", "published", "final"])
    )
    published = await Trade.count().where(
        (Trade.competition == cid) & Trade.stage.is_in(["published", "final"])
    )
    assert f'id="trades-locked">{locked}<' in board.text
    assert f'id="trades-published">{published}<' in board.text
    names = [p["name"] for p in await Person.select(Person.name).limit(50)]
    assert not any(name in board.text for name in names)
    data = await dashboard.hall_board(cid)
    running = await CompetitionSession.count().where(CompetitionSession.trade.competition == cid)
    assert len(data.running) <= running
    assert f'id="sessions-running">{len(data.running)}<' in board.text
