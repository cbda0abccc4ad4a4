"""The results exports read back: the rankings xlsx (summary sheet, one sheet a trade, ID and
ticket numbers as text, no formula) and CSV (UTF-8 with a BOM, GB18030) equal to the standings;
codes only before decryption; the awards list and medal table; the downloads and their guard;
`jiangxin export results` in a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import openpyxl
import pandas as pd

from competition.results import exports
from competition.results.standings import trade_standings
from registration.tables import Entry, Person
from tests.competition.results.builders import decrypted_trade, locked_trade
from tests.support import login


def _by_ticket(frame: pd.DataFrame) -> dict[str, tuple]:
    """ticket → (place, total in hundredths, award) as the file says."""
    out = {}
    for _, r in frame.iterrows():
        if pd.isna(r["名次"]):  # the absent: not ranked
            continue
        place = int(r["名次"])
        award = r["奖项"] if isinstance(r["奖项"], str) else ""
        out[str(r["准考证号"])] = (place, round(float(r["总成绩"]) * 100), award)
    return out


async def test_the_rankings_xlsx_and_csv_equal_the_standings(demo_marks):
    trade = await decrypted_trade()
    # A name a spreadsheet would run stays text.
    first = (await trade_standings(trade.trade_id)).rows[0]
    entry = await Entry.select(Entry.person).where(Entry.id == first.entry_id).first()
    await Person.update({Person.name: "=1+1"}).where(Person.id == entry["person"])
    standings = await trade_standings(trade.trade_id)
    expected = {
        r.ticket_number: (r.place, r.total, r.award_name if r.present else "缺考")
        for r in standings.rows
        if r.present
    }

    content = await exports.export_results(trade.competition_id, full_id=True)
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames[0] == "汇总"
    sheet_name = next(n for n in book.sheetnames if n.startswith("T003"))
    sheet = book[sheet_name]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    id_col = header.index("身份证号") + 1
    ids = [sheet.cell(row=r, column=id_col) for r in range(2, sheet.max_row + 1)]
    assert all(c.data_type == "s" and len(c.value) == 18 for c in ids if c.value)
    names = [sheet.cell(row=r, column=header.index("姓名") + 1).value for r in range(2, 30)]
    assert "'=1+1" in names and all(c.data_type != "f" for row in sheet.iter_rows() for c in row)

    frame = pd.read_excel(
        io.BytesIO(content), sheet_name=sheet_name, dtype={"准考证号": str}, engine="openpyxl"
    )
    got = {k: v for k, v in _by_ticket(frame).items() if k in expected}
    assert got == expected
    summary = pd.read_excel(io.BytesIO(content), sheet_name="汇总", engine="openpyxl")
    row = summary[summary["工种代码"] == "T003"].iloc[0]
    assert int(row["参赛人数"]) == sum(1 for r in standings.rows if r.present)

    for encoding in ("utf-8", "gb18030"):
        data = await exports.export_results(
            trade.competition_id, trade_id=trade.trade_id, fmt="csv", encoding=encoding
        )
        assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig" if encoding == "utf-8"
                            else "gb18030", dtype={"准考证号": str})  # fmt: skip
        assert {k: v for k, v in _by_ticket(frame).items() if k in expected} == expected
        masked = frame["身份证号"].dropna().tolist()
        assert masked and all("*" in v for v in masked)


async def test_before_decryption_the_export_names_no_one(demo_marks):
    trade = await locked_trade()
    data = await exports.export_results(trade.competition_id, trade_id=trade.trade_id, fmt="csv")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    ranked = frame[frame["名次"].notna()]
    assert len(ranked) and ranked["加密号"].notna().all()
    assert frame[["姓名", "准考证号", "身份证号", "推荐单位"]].isna().all().all()
    refused = None
    try:
        await exports.export_detail(trade.trade_id)
    except Exception as exc:  # the detail names contestants
        refused = exc
    assert refused is not None and refused.code == "detail_encrypted"


async def test_awards_medals_and_detail(demo_marks):
    trade = await decrypted_trade()
    standings = await trade_standings(trade.trade_id)
    awards = pd.read_excel(
        io.BytesIO(await exports.export_awards(trade.competition_id)), engine="openpyxl"
    )
    awarded = [r for r in standings.rows if r.award or r.title or r.promotion]
    assert len(awards) == len(awarded) and set(awards["奖项"].dropna()) <= {
        "一等奖",
        "二等奖",
        "三等奖",
    }
    medals = pd.read_excel(io.BytesIO(await exports.export_medals(trade.competition_id)),
                           sheet_name=None, engine="openpyxl")  # fmt: skip
    by_delegation = next(iter(medals.values()))
    assert by_delegation["一等奖"].sum() == sum(1 for r in standings.rows if r.award == 1)
    detail = pd.read_excel(
        io.BytesIO(await exports.export_detail(trade.trade_id)), dtype=str, engine="openpyxl"
    )
    assert set(detail["加密号"]) == {r.code for r in standings.rows if r.present}


async def test_the_downloads_and_their_guard(demo_marks, client):
    trade = await decrypted_trade()
    base = f"/org/competitions/{trade.competition_id}/results"
    await login(client, "organizer")
    xlsx = await client.get(f"{base}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    gb = await client.get(f"{base}/export.csv?trade={trade.trade_id}&encoding=gb18030")
    assert gb.status_code == 200 and "gb18030" in gb.headers["content-type"]
    assert (await client.get(f"{base}/{trade.trade_id}/detail.xlsx")).status_code == 200
    await login(client, "judge")
    assert (await client.get(f"{base}/export.xlsx")).status_code == 403


async def test_the_export_command(demo_marks, tmp_path):
    trade = await decrypted_trade()
    out = tmp_path / "r.csv"
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "competition.cli", "export", "results", "--competition",
         "QH16", "--trade", trade.code, "--output", str(out)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert set(frame["工种代码"]) == {trade.code} and frame["名次"].notna().any()
