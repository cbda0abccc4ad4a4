"""The demo's judges and panels (裁判): the four demo judge accounts (`judge`, `judge2`, `judge3`,
`chief`) become the register entries of 焊工 (T001), with `chief` its chief judge, and generated
judges fill the panels of several more trades. In every panel one judge shares an employer and
one a delegation with an admitted contestant, so the recusal list has something to show.

Deterministic and idempotent: a judge already in the register, a member already on the panel,
is left as it is; trades past their draw are left alone.
"""

from __future__ import annotations

import anyio

from competition.audit import SYSTEM
from competition.db import transaction
from competition.demo.loader import DEMO_PASSWORD
from competition.passwords import hash_password
from competition.stages import BEFORE_COMPETING, Stage
from competition.tables import Delegation, Trade, User
from registration.tables import Entry, EntryStatus
from scoring.panels import assignment, register
from scoring.panels.register import JudgeIn
from scoring.tables import Judge, PanelMember

# The demo accounts of users.csv: (username, name, employer, delegation code, qualification).
DEMO_ACCOUNTS = [
    ("chief", "王志刚", "青海送变电工程有限公司", "GWQH", "national"),
    ("judge", "马建国", "青海重型机床有限责任公司", "JXYJ", "provincial"),
    ("judge2", "李卫东", "西宁特殊钢股份有限公司", "XNTG", "provincial"),
    ("judge3", "才让多杰", "青海交通职业技术学院", "JSJC", "city"),
]
PANEL_TRADES = ["T001", "T002", "T087", "T003", "T004", "T005"]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ["建华", "志强", "海燕", "国庆", "永红", "文斌", "晓东", "玉兰", "德明", "春生", "秀英",
         "长青", "立新", "学军", "桂芳", "振宇", "红梅", "宏伟", "小平", "世杰"]  # fmt: skip
EMPLOYERS = [
    "青海省职业技能鉴定指导中心",
    "青海建筑职业技术学院",
    "青海大学机械工程学院",
    "青海柴达木职业技术学院",
    "中铁二十一局集团有限公司",
    "青海省特种设备检验检测院",
    "西宁城市职业技术学院",
    "青海华鼎实业股份有限公司",
    "青海省餐饮烹饪行业协会",
    "青海卫生职业技术学院",
]
QUALIFICATIONS = ["national", "provincial", "provincial", "city", "expert"]
GENERATED_PER_TRADE = 4


async def _contestant_facts(trade_id: int) -> list[dict]:
    return (
        await Entry.select(Entry.delegation, Entry.person.employer)
        .where((Entry.trade == trade_id) & (Entry.status == EntryStatus.approved.value))
        .order_by(Entry.id)
    )


async def load_demo_panels(competition_id: int) -> int:
    """Register entries, panels and chief judges of the demo; returns the records written."""
    trades = {
        t["code"]: t
        for t in await Trade.select(Trade.id, Trade.code, Trade.stage).where(
            (Trade.competition == competition_id) & Trade.code.is_in(PANEL_TRADES)
        )
    }
    delegations = {
        d["code"]: d["id"]
        for d in await Delegation.select(Delegation.id, Delegation.code).where(
            Delegation.competition == competition_id
        )
    }
    known = {
        r["user.username"]: r["id"]
        for r in await Judge.select(Judge.id, Judge.user.username).where(
            Judge.competition == competition_id
        )
    }
    existing_users = {r["username"] for r in await User.select(User.username)}
    password_hash = await anyio.to_thread.run_sync(hash_password, DEMO_PASSWORD)
    written = 0

    async def judge_id(data: JudgeIn) -> int:
        nonlocal written
        if data.username in known:
            return known[data.username]
        created = await register.add_judge_in_transaction(
            competition_id, data, actor=SYSTEM, password_hash=password_hash, source="demo"
        )
        known[data.username] = created.judge_id
        written += 1 + created.new_account
        return created.judge_id

    async with transaction():
        for index, code in enumerate(PANEL_TRADES):
            trade = trades.get(code)
            if trade is None or Stage(trade["stage"]) not in BEFORE_COMPETING:
                continue
            members: list[tuple[int, bool]] = []
            if code == "T001":
                for username, name, employer, delegation, qualification in DEMO_ACCOUNTS:
                    if username not in existing_users:
                        continue
                    data = JudgeIn(name, employer, delegations.get(delegation), qualification,
                                   "", "", username)  # fmt: skip
                    members.append((await judge_id(data), username == "chief"))
            facts = await _contestant_facts(trade["id"])
            for n in range(GENERATED_PER_TRADE + (code != "T001")):
                seed = index * 7 + n
                name = SURNAMES[seed % len(SURNAMES)] + GIVEN[(seed * 3 + index) % len(GIVEN)]
                employer = EMPLOYERS[seed % len(EMPLOYERS)]
                delegation = None
                # Two of each panel share something with a contestant: recusal shows.
                if n == 1 and facts:
                    employer = facts[0]["person.employer"]
                if n == 2 and len(facts) > 1:
                    delegation = facts[1]["delegation"]
                data = JudgeIn(
                    name=name,
                    employer=employer,
                    delegation_id=delegation,
                    qualification=QUALIFICATIONS[seed % len(QUALIFICATIONS)],
                    phone=f"139{index:02d}{n:02d}{(seed * 7919) % 10000:04d}",
                    username=f"demo-judge-{code.lower()}-{n + 1}",
                )
                members.append((await judge_id(data), code != "T001" and n == 0))
            on_panel = {
                r["judge"]
                for r in await PanelMember.select(PanelMember.judge).where(
                    PanelMember.trade == trade["id"]
                )
            }
            for member, chief in members:
                if member in on_panel:
                    continue
                await assignment.add_member_in_transaction(
                    competition_id, trade["id"], member, actor=SYSTEM, chief=chief
                )
                written += 1
    return written
