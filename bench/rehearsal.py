"""The rehearsal end to end: a generated competition directory replayed by the real
`jiangxin rehearse` command, step by step, next to pandas reading the same files and ranking
them in the same run.

    .venv/bin/python bench/rehearsal.py [--trades 20] [--per-trade 100] [--postgres URL]

1. writes a directory in the README's rehearsal format (seed 14): the trades (two Measurement
   aspects and one Judgement aspect of three judges each), 10 delegations, the registrations,
   3 judges a trade, a sign-in with 2 % absent, marks, theory scores, a penalty for one
   contestant in 50, completion times;
2. runs `jiangxin rehearse DIR --competition BENCH` on a fresh SQLite file (and PostgreSQL
   database with --postgres), timing each step from the command's progress lines;
3. ceiling: pandas reads the same CSV files, sums the practical marks per contestant, weighs
   in the theory score and ranks each trade (`groupby.rank`).

Figures go to the terminal and to bench/results/rehearsal-<engine>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
sys.path.insert(0, str(REPO_ROOT))

from bench.support import admin  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌海燕立新"
LEVELS = ["未完成", "基本完成", "较好完成", "完美完成"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _write(path: Path, rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def write_directory(directory: Path, trades: int, per_trade: int, seed: int = 14) -> int:
    """The competition's files; returns the number of contestants."""
    from registration.idcard import compose

    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    codes = [f"B{n:03d}" for n in range(1, trades + 1)]
    delegations = [f"D{n:02d}" for n in range(1, 11)]
    quota = per_trade // len(delegations) + 1
    _write(directory / "competition.csv", [
        ["code", "name", "name_en", "edition", "year", "organizer_name", "starts_on", "ends_on",
         "max_trades_per_person", "appeal_window_minutes", "age_cutoff"],
        ["BENCH", "基准彩排赛", "Bench rehearsal", "1", "2027", "省总工会", "2027-05-10",
         "2027-05-30", "1", "120", "2027-05-10"],
    ])  # fmt: skip
    _write(
        directory / "industries.csv",
        [["code", "name", "name_en", "sort_order"], ["ZZ", "装备制造", "Manufacturing", "1"]],
    )
    _write(directory / "trades.csv", [
        ["code", "industry_code", "name", "name_en", "groups", "events", "min_age", "max_age",
         "min_skill_level", "min_years_service", "quota_per_delegation", "max_entries", "awards",
         "min_award_score", "judge_rule", "titles", "promotions"],
        *[[c, "ZZ", f"工种{c}", c, "", "theory:30|practical:70", "16", "60", "", "0", str(quota),
           str(per_trade + 10), "ratio:10|20|30", "60", "trimmed_mean", "省技术能手:3", "1:1-3"]
          for c in codes],
    ])  # fmt: skip
    _write(directory / "delegations.csv",
           [["code", "name", "kind", "contact_name", "contact_phone", "sort_order"],
            *[[d, f"第{d[1:]}市总工会", "city", "王敏", f"139000000{i:02d}", str(i)]
              for i, d in enumerate(delegations, start=1)]])  # fmt: skip
    _write(directory / "venues.csv", [["code", "name", "address", "station_count",
                                       "station_prefix"], ["V1", "实训基地", "学院路1号",
                                                           str(per_trade), "S"]])  # fmt: skip
    start = dt.datetime(2027, 5, 11, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    _write(directory / "sessions.csv", [
        ["trade_code", "event", "venue_code", "code", "name", "starts_at", "ends_at"],
        *[[c, "practical", "V1", f"{c}-P1", f"{c} 实操", (start + dt.timedelta(hours=5 * i))
           .isoformat(), (start + dt.timedelta(hours=5 * i + 4)).isoformat()]
          for i, c in enumerate(codes)],
    ])  # fmt: skip
    head = ["工种代码", "模块代码", "模块名称", "评分项代码", "评分项描述", "类型", "分值",
            "裁判人数", "需复核", "扣分项", "评价0分", "评价1分", "评价2分", "评价3分"]  # fmt: skip
    schemes = [head]
    for c in codes:
        schemes += [[c, "A", "精度", "A1", "尺寸", "测量", "40", "", "", "", "", "", "", ""],
                    [c, "A", "精度", "A2", "公差", "测量", "30", "", "", "", "", "", "", ""],
                    [c, "B", "工艺", "B1", "工艺", "评价", "30", "3", "", "", *LEVELS]]  # fmt: skip
    _write(directory / "schemes.csv", schemes)
    judges = [["姓名", "工作单位", "推荐单位", "裁判资格", "手机号", "身份证号", "执裁工种",
               "裁判长", "用户名"]]  # fmt: skip
    for t, c in enumerate(codes):
        for k in range(1, 4):
            judges.append([_name(rng), f"技师学院{t}-{k}", "", "省级", f"137{t * 10 + k:08d}",
                           "", c, "是" if k == 1 else "否", f"bench-{c.lower()}-{k}"])  # fmt: skip
    _write(directory / "judges.csv", judges)
    registrations = [["姓名", "身份证号", "手机号", "工作单位", "岗位", "职业技能等级", "工龄",
                      "工种", "组别", "推荐单位"]]  # fmt: skip
    signin, marks = [["身份证号", "到场", "原因"]], [["身份证号", "评分项", "裁判", "分数"]]
    theory, times = [["身份证号", "成绩", "项目"]], [["身份证号", "用时"]]
    penalties = [["身份证号", "分值", "类型", "原因"]]
    n = 0
    for c in codes:
        for i in range(per_trade):
            n += 1
            number = compose("630102", dt.date(1970, 1, 1) + dt.timedelta(days=n * 3), n % 999)
            delegation = delegations[i % len(delegations)]
            registrations.append([_name(rng), number, f"158{n:08d}", f"企业{n % 97}", "技术员",
                                  "3", "8", c, "", delegation])  # fmt: skip
            absent = rng.random() < 0.02
            signin.append([number, "缺考" if absent else "到场", "因故缺考" if absent else ""])
            if absent:
                continue
            marks.append([number, "A1", "", f"{rng.randint(2000, 4000) / 100:.2f}"])
            marks.append([number, "A2", "", f"{rng.randint(1500, 3000) / 100:.2f}"])
            for k in range(1, 4):
                marks.append([number, "B1", f"bench-{c.lower()}-{k}", str(rng.randint(1, 3))])
            theory.append([number, f"{rng.randint(5000, 9800) / 100:.2f}", "理论"])
            times.append([number, f"{rng.randint(9000, 14400)}"])
            if rng.random() < 0.02:
                penalties.append([number, "-2", "安全违规", "未戴护目镜"])
    for name, rows in (("registrations.csv", registrations), ("signin.csv", signin),
                       ("marks.csv", marks), ("theory.csv", theory),
                       ("penalties.csv", penalties), ("times.csv", times)):  # fmt: skip
        _write(directory / name, rows)
    return n


def ceiling(directory: Path) -> dict[str, float]:
    """pandas over the same files: the practical marks summed, the theory weighed in, ranked."""
    import pandas as pd

    started = time.perf_counter()
    frames = {name: pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("registrations", "marks", "theory", "penalties")}  # fmt: skip
    read = time.perf_counter() - started
    started = time.perf_counter()
    marks = frames["marks"]
    value = pd.to_numeric(marks["分数"])
    judged = marks["裁判"] != ""
    marks = marks.assign(score=value.where(~judged, value * 30 / 3 / 3))
    practical = marks.groupby("身份证号")["score"].sum()
    theory = frames["theory"].set_index("身份证号")["成绩"].astype(float)
    people = frames["registrations"].set_index("身份证号")
    table = pd.DataFrame({"practical": practical, "theory": theory}).join(people["工种"])
    table["total"] = (table["practical"] * 0.7 + table["theory"] * 0.3).round(2)
    table["place"] = table.groupby("工种")["total"].rank(method="min", ascending=False)
    return {"read": read, "rank": time.perf_counter() - started, "rows": len(table)}


def run(directory: Path, database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT),
           "JIANGXIN_SECRET": "bench-rehearsal-" + "x" * 40}  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "competition.cli", "rehearse", str(directory), "--competition",
         "BENCH", "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    steps, last = [], started
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("  ") and ": " in line and "[forwards]" not in line:
            now = time.perf_counter()
            steps.append((line.strip(), round(now - last, 2)))
            last = now
            print(f"    {line.strip():<32} {now - started:7.1f} s", flush=True)
    output = process.stdout.read() if process.stdout else ""
    code = process.wait()
    if code != 0:
        raise SystemExit(f"rehearse failed ({code}): {output} {steps}")
    return {"seconds": round(time.perf_counter() - started, 2), "steps": steps,
            "summary": output.strip()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=20)
    parser.add_argument("--per-trade", type=int, default=100)
    parser.add_argument("--postgres", help="postgresql://… of a server to make a database on")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jiangxin-rehearsal-"))
    directory = work / "files"
    contestants = write_directory(directory, args.trades, args.per_trade)
    print(f"{contestants:,} contestants in {args.trades} trades written to {directory}")
    top = ceiling(directory)
    engines = [("sqlite", f"sqlite:///{work}/bench.sqlite3")]
    if args.postgres:
        name = "jiangxin_bench_rehearsal"
        asyncio.run(admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(admin(args.postgres, f'CREATE DATABASE "{name}"'))
        engines.append(("postgres", urlunparse(urlparse(args.postgres)._replace(path=f"/{name}"))))
    RESULTS.mkdir(exist_ok=True)
    for engine, url in engines:
        print(f"{engine}:")
        (directory / "results.csv").unlink(missing_ok=True)
        figures = run(directory, url)
        ratio = figures["seconds"] / (top["read"] + top["rank"])
        print(f"  rehearsal {figures['seconds']:.1f} s; ceiling (pandas read + rank) "
              f"{top['read'] + top['rank']:.2f} s; ratio {ratio:.0f}×")  # fmt: skip
        (RESULTS / f"rehearsal-{engine}.json").write_text(json.dumps(
            {"contestants": contestants, "trades": args.trades, "rehearsal": figures,
             "ceiling": top, "ratio": ratio}, ensure_ascii=False, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
