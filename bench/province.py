"""A synthetic province (省赛), deterministic from its seed: the rehearsal directory (README,
"Rehearsal") of a competition of 200,000 contestants × scale, which `jiangxin rehearse` and
bench/pipeline.py replay through the product's own imports.

    .venv/bin/python bench/province.py DIR [--scale 1.0] [--seed 16]

The structure is the demo's (competition/demo: 23 industries, 102 trades with their real names,
29 delegations), so the names and rules are those an organizer knows. At scale 1:

- trade sizes drawn between ~600 and ~6,000 (a few trades are large, as 电工 and 焊工 are), every
  delegation entering about the same share of each trade (the quota is that share);
- one venue of 100 stations a trade, its practical sessions three a day (sessions of 100);
- realistic names (common surnames, one- or two-character given names), valid resident ID
  numbers (Qinghai region codes, birth dates that meet the trades' age rules, the check digit),
  phone numbers, employers, skill levels and years of service that meet the trades' rules;
- a marking scheme a trade from four archetypes: 3 Measurement aspects (10 marks each) and 9
  Judgement aspects (70 marks, a descriptor for each of the four levels);
- 3 judges a trade (5 in every tenth trade), the first the chief judge;
- 2 % absent at sign-in; marks for everyone present — 3 Measurement values and 9 × judges
  Judgement levels: ~6.3 million; theory scores (and oral defence scores in the trades that
  have that event); completion times; a penalty for 2.5 %;
  1 % of contestants given the same marks, theory and time as the one before them (ties that
  the tie-break must settle, and some it cannot).

Rows are written as they are generated (the marks file is ~250 MB at scale 1, never in memory).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from registration.idcard import compose  # noqa: E402

DEMO = REPO_ROOT / "competition" / "demo"
CONTESTANTS = 200_000
STATIONS = 100
LEVELS = ("未完成", "基本完成", "较好完成", "完美完成")
SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
            "蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万"
            "段雷钱汤尹黎易常武乔贺赖龚文")  # fmt: skip
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红文斌海燕立新永春梅玉兵辉鹏宇"
         "浩然晓东雪琳慧婷欣怡子涵博文俊杰思远嘉豪天佑雨萱梓轩")  # fmt: skip
REGIONS = ("630102", "630103", "630104", "630105", "630121", "630202", "630223", "632221",
           "632321", "632521", "632621", "632701", "632801", "632802")  # fmt: skip
EMPLOYER_KINDS = ("有限公司", "集团", "职业技术学院", "技师学院", "股份有限公司", "工程局",
                  "电力公司")  # fmt: skip
EMPLOYER_PLACES = ("西宁", "海东", "格尔木", "德令哈", "玉树", "共和", "同仁", "门源", "湟中",
                   "大通")  # fmt: skip
EMPLOYER_TRADES = ("盐湖化工", "光伏", "电力", "建设", "机械", "交通", "餐饮", "牧业", "水电",
                   "铝业", "通信", "汽车", "纺织", "医药", "旅游", "物流")  # fmt: skip
REGISTRATION_COLUMNS = ["姓名", "身份证号", "手机号", "工作单位", "岗位", "职业技能等级", "工龄",
                        "工种", "组别", "推荐单位"]  # fmt: skip
JOBS = ("技术员", "操作工", "维修工", "班组长", "技师", "教师", "学生")

# (criterion code, name) → aspects (code, description, type, max, judges: None = the trade's).
ARCHETYPES = (
    (("A", "测量精度"), ("B", "工艺规范"), ("C", "安全文明")),
    (("A", "尺寸与性能"), ("B", "操作过程"), ("C", "职业素养")),
    (("A", "成品检测"), ("B", "制作技艺"), ("C", "卫生与安全")),
    (("A", "功能测试"), ("B", "方案与调试"), ("C", "规范与文档")),
)
JUDGEMENT_MAXES = (8, 8, 8, 8, 8, 8, 8, 7, 7)  # 70 marks over 9 aspects; 3 × 10 are measured


@dataclass
class Trade:
    code: str
    row: dict[str, str]
    size: int
    judges: int
    groups: list[str]
    min_age: int
    max_age: int


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
    return rng.choice(SURNAMES) + given


def _employer(rng: random.Random) -> str:
    return rng.choice(EMPLOYER_PLACES) + rng.choice(EMPLOYER_TRADES) + rng.choice(EMPLOYER_KINDS)


def _sizes(rng: random.Random, trades: int, total: int) -> list[int]:
    weights = [rng.uniform(0.3, 3.0) for _ in range(trades)]
    for index in rng.sample(range(trades), max(1, trades // 20)):
        weights[index] *= 3  # a few trades the whole province enters
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    for index in range(total - sum(sizes)):
        sizes[index % trades] += 1
    return sizes


class _Writer:
    """One CSV file of the directory, written row by row."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.handle = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(header)
        self.rows = 0

    def row(self, values: list) -> None:
        self.writer.writerow(values)
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


def write_province(directory: Path, scale: float = 1.0, seed: int = 16) -> dict[str, int]:
    """Write the directory; returns the counts of what it holds."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    total = max(1, round(CONTESTANTS * scale))
    demo_trades = _rows(DEMO / "trades.csv")
    delegations = _rows(DEMO / "delegations.csv")
    sizes = _sizes(rng, len(demo_trades), total)
    trades: list[Trade] = []
    for index, (row, size) in enumerate(zip(demo_trades, sizes, strict=True)):
        groups = [g for g in row["groups"].split("|") if g]
        trades.append(Trade(row["code"], row, size, 5 if index % 10 == 9 else 3, groups,
                            int(row["min_age"] or 16), int(row["max_age"] or 60)))  # fmt: skip

    with (DEMO / "competition.csv").open(encoding="utf-8") as handle:
        competition = next(csv.DictReader(handle))
    start = dt.date(2027, 5, 10)
    sessions_needed = max(math.ceil(t.size / STATIONS) for t in trades)
    competition.update(starts_on=start.isoformat(),
                       ends_on=(start + dt.timedelta(days=sessions_needed // 3 + 2)).isoformat(),
                       age_cutoff=start.isoformat(), max_trades_per_person="1")  # fmt: skip
    out = _Writer(directory / "competition.csv", list(competition))
    out.row(list(competition.values()))
    out.close()
    (directory / "industries.csv").write_bytes((DEMO / "industries.csv").read_bytes())
    (directory / "delegations.csv").write_bytes((DEMO / "delegations.csv").read_bytes())

    out = _Writer(directory / "trades.csv", [*demo_trades[0], "titles", "promotions"])
    for trade in trades:
        row = dict(trade.row)
        row.update(
            quota_per_delegation=str(math.ceil(trade.size / len(delegations))),
            max_entries=str(trade.size),
            min_skill_level="",
            min_years_service="0",
            titles="省技术能手:3",
            promotions="1:1-3",
        )
        out.row(list(row.values()))
    out.close()

    out = _Writer(directory / "venues.csv",
                  ["code", "name", "address", "station_count", "station_prefix"])  # fmt: skip
    for trade in trades:
        out.row([f"V{trade.code}", f"{trade.row['name']}实训基地", "西宁市城北区生物园区",
                 str(STATIONS), "S"])  # fmt: skip
    out.close()
    tz = dt.timezone(dt.timedelta(hours=8))
    out = _Writer(
        directory / "sessions.csv",
        ["trade_code", "event", "venue_code", "code", "name", "starts_at", "ends_at"],
    )
    sessions = 0
    for trade in trades:
        for n in range(math.ceil(trade.size / STATIONS)):
            day = start + dt.timedelta(days=1 + n // 3)
            begins = dt.datetime(day.year, day.month, day.day, 8 + 5 * (n % 3), tzinfo=tz)
            out.row([trade.code, "practical", f"V{trade.code}", f"{trade.code}-P{n + 1}",
                     f"{trade.row['name']} 第{n + 1}场", begins.isoformat(),
                     (begins + dt.timedelta(hours=4)).isoformat()])  # fmt: skip
            sessions += 1
    out.close()

    out = _Writer(directory / "schemes.csv", [
        "工种代码", "模块代码", "模块名称", "评分项代码", "评分项描述", "类型", "分值", "裁判人数",
        "需复核", "扣分项", "评价0分", "评价1分", "评价2分", "评价3分"])  # fmt: skip
    for index, trade in enumerate(trades):
        criteria = ARCHETYPES[index % len(ARCHETYPES)]
        (a, a_name), (b, b_name), (c, c_name) = criteria
        for k in range(1, 4):
            out.row([trade.code, a, a_name, f"{a}{k}", f"{a_name}第{k}项", "测量", "10", "", "",
                     "", "", "", "", ""])  # fmt: skip
        for k, top in enumerate(JUDGEMENT_MAXES, start=1):
            code, name = (b, b_name) if k <= 6 else (c, c_name)
            number = k if k <= 6 else k - 6
            out.row([trade.code, code, name, f"{code}{number}", f"{name}第{number}项", "评价",
                     str(top), str(trade.judges), "", "", *LEVELS])  # fmt: skip
    out.close()

    judges = _Writer(directory / "judges.csv", [
        "姓名", "工作单位", "推荐单位", "裁判资格", "手机号", "身份证号", "执裁工种", "裁判长",
        "用户名"])  # fmt: skip
    for t, trade in enumerate(trades):
        for k in range(1, trade.judges + 1):
            judges.row([_name(rng), f"青海省{trade.row['name']}行业协会{k}", "",
                        "国家级" if k == 1 else "省级", f"137{t * 10 + k:08d}", "", trade.code,
                        "是" if k == 1 else "否", f"judge-{trade.code.lower()}-{k}"])  # fmt: skip
    judges.close()

    files = {
        "registrations": _Writer(directory / "registrations.csv", REGISTRATION_COLUMNS),
        "signin": _Writer(directory / "signin.csv", ["身份证号", "到场", "原因"]),
        "marks": _Writer(directory / "marks.csv", ["身份证号", "评分项", "裁判", "分数"]),
        "theory": _Writer(directory / "theory.csv", ["身份证号", "成绩", "项目"]),
        "penalties": _Writer(directory / "penalties.csv", ["身份证号", "分值", "类型", "原因"]),
        "times": _Writer(directory / "times.csv", ["身份证号", "用时"]),
    }
    registrations, signin, marks = files["registrations"], files["signin"], files["marks"]
    sequence = 0
    born_seen: set[str] = set()
    for index, trade in enumerate(trades):
        judge_names = [f"judge-{trade.code.lower()}-{k}" for k in range(1, trade.judges + 1)]
        measured_codes, judged_codes = _aspect_codes(index)
        oral = "oral:" in trade.row["events"]
        previous: tuple | None = None
        for i in range(trade.size):
            sequence += 1
            while True:  # an age the trade allows on the cut-off day, a number no one else has
                age = rng.randint(trade.min_age + 1, min(trade.max_age, 58))
                born = start - dt.timedelta(days=age * 365 + rng.randint(0, 300))
                number = compose(rng.choice(REGIONS), born, rng.randint(1, 999))
                if number not in born_seen:
                    born_seen.add(number)
                    break
            group = ""
            if trade.groups:
                group = trade.groups[-1] if len(trade.groups) > 1 and rng.random() < 0.2 else \
                    trade.groups[0]  # fmt: skip
            delegation = delegations[i % len(delegations)]["code"]
            registrations.row([_name(rng), number, f"1{rng.choice('3589')}{sequence:09d}",
                               _employer(rng), rng.choice(JOBS), str(rng.randint(2, 5)),
                               str(rng.randint(1, max(1, age - 18))), trade.code, group,
                               delegation])  # fmt: skip
            absent = rng.random() < 0.02
            signin.row([number, "缺考" if absent else "到场", "因故缺考" if absent else ""])
            if absent:
                continue
            if previous is not None and rng.random() < 0.01:
                measured, judged, theory_score, oral_score, seconds = previous  # a tie
                if rng.random() < 0.5:
                    seconds = rng.randint(9000, 14400)  # the tie-break settles it
            else:
                measured = [f"{rng.randint(500, 1000) / 100:.2f}" for _ in range(3)]
                judged = [[rng.choice((1, 2, 2, 2, 3, 3)) for _ in judge_names]
                          for _ in JUDGEMENT_MAXES]  # fmt: skip
                theory_score = f"{rng.randint(5000, 9800) / 100:.2f}"
                oral_score = f"{rng.randint(6000, 9500) / 100:.2f}"
                seconds = rng.randint(9000, 14400)
            previous = (measured, judged, theory_score, oral_score, seconds)
            for aspect, value in zip(measured_codes, measured, strict=True):
                marks.row([number, aspect, "", value])
            for aspect, levels in zip(judged_codes, judged, strict=True):
                for judge, level in zip(judge_names, levels, strict=True):
                    marks.row([number, aspect, judge, str(level)])
            files["theory"].row([number, theory_score, "理论"])
            if oral:
                files["theory"].row([number, oral_score, "答辩"])
            files["times"].row([number, str(seconds)])
            draw = rng.random()
            if draw < 0.02:
                files["penalties"].row([number, "-2", "安全违规", "未按规定佩戴防护用品"])
            elif draw < 0.025:
                files["penalties"].row([number, "-1", "超时", "超时3分钟"])
    counts = {name: writer.rows for name, writer in files.items()}
    for writer in files.values():
        writer.close()
    counts.update(trades=len(trades), delegations=len(delegations), sessions=sessions,
                  judges=judges.rows)  # fmt: skip
    return counts


def _aspect_codes(index: int) -> tuple[list[str], list[str]]:
    """The aspect codes of the `index`-th trade's scheme: Measurement, then Judgement."""
    (a, _), (b, _), (c, _) = ARCHETYPES[index % len(ARCHETYPES)]
    judged = [f"{b}{k}" if k <= 6 else f"{c}{k - 6}" for k in range(1, len(JUDGEMENT_MAXES) + 1)]
    return [f"{a}{k}" for k in range(1, 4)], judged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = write_province(args.directory, args.scale, args.seed)
    print(f"{args.directory}: {counts} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
