"""The awards list, medal table and score detail files beyond the rankings: the medal table's
order on a hand-counted example (and its medal columns only with a WorldSkills view), sheet
names unique as Excel compares them, totals and scores as numbers in the xlsx and exact text
in the CSV, and the downloads as the supervisor sees them (ID numbers masked)."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd

from competition.results import exports
from competition.results.standings import GroupStandings, ResultRow, TradeStandings
from competition.schemas import AwardRules
from competition.stages import Stage
from competition.tables import Trade
from competition.web.templating import hundredths
from tests.competition.results.builders import decrypted_trade, locked_trade
from tests.support import login


def _trade(code: str, industry: str, rows: list[tuple[str, int | None, str]]) -> TradeStandings:
    """A decrypted trade of one group from (delegation, award, medal) rows; award None with
    delegation "absent" stands for an absent contestant."""
    results = [
        ResultRow(entry_id=i, group="", present=delegation != "absent", code=f"{code}{i:02d}",
                  delegation=delegation, award=award, medal=medal)
        for i, (delegation, award, medal) in enumerate(rows)
    ]  # fmt: skip
    return TradeStandings(
        trade_id=len(code), competition_id=1, code=code, name="工种", industry_id=1,
        industry=industry, stage=Stage.published, rules=AwardRules(), chain=(), events=(),
        groups=[GroupStandings(name="", competed=len(rows), targets=(0, 0, 0), rows=results)],
    )  # fmt: skip


def test_the_medal_table_counts_per_delegation_and_industry_by_first_then_second_then_third():
    fitting = _trade("T1", "人社", [
        ("A", 1, ""), ("A", 3, ""), ("B", 1, ""), ("B", 2, ""), ("B", 2, ""),
        ("C", 2, ""), ("C", 2, ""), ("C", 3, ""), ("absent", None, ""), ("D", None, ""),
    ])  # fmt: skip
    welding = _trade(
        "T2", "住建", [("E", 1, "gold"), ("E", 1, "silver"), ("A", None, "excellence")]
    )
    trades = [fitting, welding]
    # name, 一等奖, 二等奖, 三等奖, 获奖总数, gold, silver, bronze, excellence (by hand)
    assert exports.medal_table(trades, "delegation") == [
        ["E", 2, 0, 0, 2, 1, 1, 0, 0],
        ["B", 1, 2, 0, 3, 0, 0, 0, 0],
        ["A", 1, 0, 1, 2, 0, 0, 0, 1],
        ["C", 0, 2, 1, 3, 0, 0, 0, 0],
        ["D", 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert exports.medal_table(trades, "industry") == [
        ["人社", 2, 4, 2, 8, 0, 0, 0, 0],
        ["住建", 2, 0, 0, 2, 1, 1, 0, 1],
    ]


def test_sheet_names_stay_unique_as_excel_compares_them():
    long = "数控铣床加工中心操作调整工技能竞赛项目"
    trades = [
        _trade("T01", "人社", []),
        _trade("t01", "人社", []),
        _trade("T02", "人社", []),
        _trade("T02", "人社", []),
    ]
    trades[0].name = trades[1].name = "钳工"
    trades[2].name = trades[3].name = long * 2
    names = exports._sheet_names(trades, "汇总")
    assert names[0] == "T01 钳工" and names[1] == "t01 钳工~2"
    assert all(len(n) <= 31 for n in names) and names[3].endswith("~2")
    assert len({n.casefold() for n in [*names, "汇总"]}) == 5


async def test_the_awards_list_and_detail_carry_numbers_and_the_csv_exact_text(demo_marks):
    trade = await decrypted_trade()
    standings = await exports.trade_standings(trade.trade_id)
    awarded = {r.entry_id: r for r in standings.rows if r.award or r.title or r.promotion}
    assert awarded

    content = await exports.export_awards(trade.competition_id)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header = [c.value for c in sheet[1]]
    assert header == ["工种", "组别", "名次", "姓名", "推荐单位", "奖项", "称号", "晋升", "总成绩"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    expected = sorted((r.place, r.name, r.total) for r in awarded.values())
    assert sorted((place, name, round(total * 100)) for _, _, place, name, *_, total in rows) == (
        expected
    )
    assert all(sheet.cell(row=r, column=9).number_format == "0.00" for r in range(2, 4))

    data = await exports.export_awards(trade.competition_id, fmt="csv", encoding="gb18030")
    frame = pd.read_csv(io.BytesIO(data), encoding="gb18030", dtype=str)
    assert sorted(frame["总成绩"]) == sorted(hundredths(r.total) for r in awarded.values())

    detail = openpyxl.load_workbook(io.BytesIO(await exports.export_detail(trade.trade_id))).active
    head = [c.value for c in detail[1]]
    assert head[:2] == ["加密号", "姓名"] and head[5:] == ["满分", "得分", "裁判评分等级"]
    first = next(detail.iter_rows(min_row=2, values_only=True))
    assert isinstance(first[5], int | float) and 0 <= first[6] <= first[5]


async def test_the_medal_columns_appear_with_a_worldskills_view(demo_marks):
    trade = await decrypted_trade()
    plain = pd.read_csv(io.BytesIO(await exports.export_medals(trade.competition_id, fmt="csv")),
                        encoding="utf-8-sig")  # fmt: skip
    assert list(plain.columns) == ["推荐单位", "一等奖", "二等奖", "三等奖", "获奖总数"]

    row = await Trade.select(Trade.awards).where(Trade.id == trade.trade_id).first()
    awards = row["awards"] if isinstance(row["awards"], dict) else json.loads(row["awards"] or "{}")
    awards = {**awards, "worldskills_view": True}
    await Trade.update({Trade.awards: awards}).where(Trade.id == trade.trade_id)
    standings = await exports.trade_standings(trade.trade_id)
    assert standings.rules.worldskills_view
    content = await exports.export_medals(trade.competition_id, by="industry")
    industry = pd.read_excel(io.BytesIO(content), sheet_name="按行业", engine="openpyxl")
    assert list(industry.columns)[-4:] == ["金牌", "银牌", "铜牌", "优胜奖"]
    assert industry["金牌"].sum() == sum(1 for r in standings.rows if r.medal == "gold")


async def test_the_supervisor_downloads_with_masked_id_numbers(demo_marks, client):
    trade = await locked_trade()
    base = f"/supervisor/competitions/{trade.competition_id}/results"
    await login(client, "supervisor")
    refused = await client.get(f"{base}/{trade.trade_id}/detail.xlsx")
    assert refused.status_code == 409
    await decrypted_trade()
    csv = await client.get(f"{base}/export.csv?trade={trade.trade_id}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    ids = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str)["身份证号"]
    assert ids.notna().any() and all(len(v) == 18 and "*" in v for v in ids.dropna())
    for path in ("awards.xlsx", "awards.csv", "medals.xlsx", "medals.csv?table=industry",
                 f"{trade.trade_id}/detail.xlsx"):  # fmt: skip
        assert (await client.get(f"{base}/{path}")).status_code == 200, path

    await login(client, "organizer")
    org = await client.get(
        f"/org/competitions/{trade.competition_id}/results/export.csv?trade={trade.trade_id}"
    )
    full = pd.read_csv(io.BytesIO(org.content), encoding="utf-8-sig", dtype=str)["身份证号"]
    assert all(len(v) == 18 and "*" not in v for v in full.dropna())
    assert (await client.get(f"{base}/export.xlsx")).status_code == 403
