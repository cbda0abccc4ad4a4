"""The judge list as an xlsx or CSV file (裁判名单), through the spreadsheet-import kit.

Columns: 姓名, 工作单位, 推荐单位 (code or name), 裁判资格 (国家级/省级/市级/行业专家), 手机号,
身份证号 (optional, checked like a contestant's), 执裁工种 (trade codes, several split by 、 , ;
or spaces), 裁判长 (是/否: chief judge of the trade, which then must be the only one), 用户名
(optional: an existing account is linked, a new one is created with it; empty: generated).

Every row is checked first; one bad row stores nothing (the page and the CLI list every
problem, the report workbook repeats the rows with an 错误 column). Imported accounts sign in
by QR badge until the organizer sets a password on the accounts page: hashing a thousand
passwords nobody reads would only slow the import down.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio

from competition import audit, clock
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.db import copy_records, is_postgres, new_ids, transaction
from competition.errors import Conflict, ValidationFailed
from competition.i18n import N_, Msg
from competition.spreadsheets import CODE, Column, RowProblem, RowsRejected
from competition.stages import BEFORE_COMPETING, STAGE_LABELS, Stage
from competition.tables import Delegation, Role, RoleGrant, Trade, User
from scoring.panels import assignment, register
from scoring.panels.recusal import employer_key
from scoring.panels.register import JudgeIn, parse_qualification
from scoring.tables import Judge, PanelMember, SessionJudge

LIMITS = kit.LIMITS["judges"]
LOOKUP_CHUNK = 500  # values of one IN (…), under SQLite's old limit of 999 variables
SHEET = "裁判名单"
YES = {"是", "y", "yes", "true", "1", "√", "✓", "裁判长"}
NO = {"", "否", "n", "no", "false", "0"}

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("裁判姓名", "name"), N_("Full name"), True),
    Column("employer", "工作单位", ("单位", "employer"), N_("Employer")),
    Column("delegation", "推荐单位", ("代表队", "推荐单位代码", "delegation"),
           N_("Delegation: its code or its name")),
    Column("qualification", "裁判资格", ("裁判等级", "资格", "qualification"),
           N_("国家级, 省级, 市级 or 行业专家"), True),
    Column("phone", "手机号", ("手机", "联系电话", "phone"), N_("Phone"), spaceless=True),
    Column("id_number", "身份证号", ("身份证号码", "身份证", "idnumber"),
           N_("Optional; checked like a contestant's"), kind=CODE, spaceless=True),
    Column("trades", "执裁工种", ("工种代码", "工种", "trades"),
           N_("Trade codes, several separated by 、"), kind=CODE),
    Column("chief", "裁判长", ("是否裁判长", "chief"), N_("是 for the chief judge of the trade")),
    Column("username", "用户名", ("账号", "username"),
           N_("Optional: an existing account is linked; empty: one is made"), kind=CODE),
)  # fmt: skip


class JudgesRejected(RowsRejected):
    default_code = "judges_rejected"


@dataclass(frozen=True)
class Planned:
    row: int
    judge: JudgeIn
    trade_ids: tuple[int, ...]
    chief: bool


@dataclass
class Plan:
    table: kit.Table
    header_row: int
    judges: list[Planned] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def assignments(self) -> int:
        return sum(len(p.trade_ids) for p in self.judges)


@dataclass
class ImportResult:
    rows: int
    created: int  # new accounts
    linked: int  # existing accounts linked
    assignments: int
    usernames: list[tuple[str, str]]  # (name, username) of every imported judge


def _split_codes(text: str) -> list[str]:
    return [c for c in re.split(r"[、,，;；/\s]+", text) if c]


async def plan_import(competition_id: int, table: kit.Table) -> Plan:
    """Check every row against the file and the database; nothing is written."""
    grid = kit.Grid(table, COLUMNS, min_columns=2)
    if grid.empty or not grid.indices:
        raise kit.no_rows()
    missing = grid.missing()
    if missing:
        raise kit.missing_columns(missing)
    plan = Plan(table, grid.header_row)
    refused = grid.problems()
    trades = {
        r["code"].upper(): r
        for r in await Trade.select(Trade.id, Trade.code, Trade.stage).where(
            Trade.competition == competition_id
        )
    }
    delegations: dict[str, int] = {}
    for d in await Delegation.select(Delegation.id, Delegation.code, Delegation.name).where(
        Delegation.competition == competition_id
    ):
        delegations[d["code"].upper()] = d["id"]
        delegations[d["name"]] = d["id"]
    register_ids = {
        r["id_number"]
        for r in await Judge.select(Judge.id_number).where(
            (Judge.competition == competition_id) & (Judge.id_number != "")
        )
    }
    judge_users = {
        r["user.username"]
        for r in await Judge.select(Judge.user.username).where(Judge.competition == competition_id)
    }
    chiefs = {
        r["trade"]: r["judge.name"]
        for r in await PanelMember.select(PanelMember.trade, PanelMember.judge.name).where(
            (PanelMember.trade.competition == competition_id) & (PanelMember.is_chief == True)  # noqa: E712
        )
    }
    id_seen: Counter[str] = Counter()
    user_seen: Counter[str] = Counter()
    chief_seen: dict[int, int] = {}
    for index, number in enumerate(grid.numbers):
        found = list(refused.get(index, ()))
        taken = {p.column for p in found}

        def problem(
            key: str, message: Msg, code: str, found=found, taken=taken, number=number
        ) -> None:
            if grid.header(key) not in taken:
                found.append(RowProblem(number, grid.header(key), message, code))

        def cell(key: str, index: int = index) -> str:
            return grid.cell(index, key) if grid.has(key) else ""

        qualification = parse_qualification(cell("qualification"))
        if qualification is None:
            message = N_("The qualification must be 国家级, 省级, 市级 or 行业专家.")
            problem("qualification", message, "unknown_qualification")
        delegation_id = None
        if cell("delegation"):
            delegation_id = delegations.get(cell("delegation").upper()) or delegations.get(
                cell("delegation")
            )
            if delegation_id is None:
                text = cell("delegation")
                message = N_("No delegation has the code or name {value}.", value=text)
                problem("delegation", message, "delegation_not_found")
        data = JudgeIn(
            name=cell("name"),
            employer=cell("employer"),
            delegation_id=delegation_id,
            qualification=qualification.value if qualification else "provincial",
            phone=cell("phone"),
            id_number=cell("id_number"),
            username=cell("username"),
        )
        try:
            data = register.check_judge(data)
        except ValidationFailed as exc:
            for key, message in exc.field_errors.items():
                params = getattr(message, "params", {})
                problem(key, N_(message, **params), "invalid_" + key)
        if data.id_number:
            id_seen[data.id_number] += 1
            if id_seen[data.id_number] > 1:
                problem("id_number", N_("This ID number is on an earlier row of the file."),
                        "duplicate_in_file")  # fmt: skip
            elif data.id_number in register_ids:
                problem("id_number", N_("A judge with this ID number is already in the register."),
                        "judge_duplicate_id")  # fmt: skip
        if data.username:
            user_seen[data.username] += 1
            if user_seen[data.username] > 1:
                problem("username", N_("This username is on an earlier row of the file."),
                        "duplicate_in_file")  # fmt: skip
            elif data.username in judge_users:
                problem("username", N_("The account {username} is already a judge of this "
                                       "competition.", username=data.username),
                        "judge_duplicate_user")  # fmt: skip
        trade_ids: list[int] = []
        for code in _split_codes(cell("trades").upper()):
            trade = trades.get(code)
            if trade is None:
                problem("trades", N_("No trade has the code {value}.", value=code),
                        "trade_not_found")  # fmt: skip
            elif Stage(trade["stage"]) not in BEFORE_COMPETING:
                problem("trades", N_("The trade {code} is in the stage “{stage}”: its panel "
                                     "can no longer change.", code=code,
                                     stage=STAGE_LABELS[Stage(trade["stage"])]),
                        "wrong_stage")  # fmt: skip
            elif trade["id"] not in trade_ids:
                trade_ids.append(trade["id"])
        chief_text = cell("chief").replace(" ", "").lower()
        chief = chief_text in YES
        if chief_text not in YES | NO:
            problem("chief", N_("Write 是 or 否."), "invalid_chief")
        if chief and len(trade_ids) != 1:
            problem("chief", N_("A chief judge is named with exactly one trade."),
                    "chief_needs_one_trade")  # fmt: skip
        elif chief:
            trade_id = trade_ids[0]
            if trade_id in chiefs:
                problem("chief", N_("The trade already has a chief judge, {name}.",
                                    name=chiefs[trade_id]), "second_chief_judge")  # fmt: skip
            elif trade_id in chief_seen:
                problem("chief", N_("Row {row} already names the chief judge of this trade.",
                                    row=chief_seen[trade_id]), "second_chief_judge")  # fmt: skip
            else:
                chief_seen[trade_id] = number
        if found:
            plan.problems.extend(found)
            continue
        plan.judges.append(Planned(number, data, tuple(trade_ids), chief))
    return plan


async def read_plan(competition_id: int, data: bytes) -> Plan:
    table = await anyio.to_thread.run_sync(kit.read_table, data, LIMITS)
    return await plan_import(competition_id, table)


def report(plan: Plan) -> bytes:
    return kit.report_workbook(
        [kit.ReportSheet(SHEET, plan.table.rows, plan.header_row)], plan.problems, listing=True
    )


def _stamp(value: dt.datetime) -> Any:
    return value if is_postgres() else str(value.astimezone(dt.UTC))


async def _chunked(select, column, values: list) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        rows.extend(await select().where(column.is_in(values[start : start + LOOKUP_CHUNK])))
    return rows


async def _recheck(competition_id: int, plan: Plan) -> dict[str, int]:
    """What may have changed since the plan was made, checked again inside the transaction:
    the trades' stages, ID numbers and accounts already in the register, chief judges. Returns
    the existing accounts the file names."""
    for trade_id in sorted({t for p in plan.judges for t in p.trade_ids}):
        await assignment.lock_trade_for_panel(competition_id, trade_id)
    names = sorted({p.judge.username for p in plan.judges if p.judge.username})
    users = {
        r["username"]: r["id"]
        for r in await _chunked(lambda: User.select(User.id, User.username), User.username, names)
    }
    numbers = sorted({p.judge.id_number for p in plan.judges if p.judge.id_number})
    taken = await _chunked(
        lambda: Judge.select(Judge.id).where(Judge.competition == competition_id),
        Judge.id_number,
        numbers,
    )
    if taken:
        raise Conflict(
            "A judge with this ID number is already in the register.", code="judge_duplicate_id"
        )
    if users and await _chunked(
        lambda: Judge.select(Judge.id).where(Judge.competition == competition_id),
        Judge.user,
        sorted(users.values()),
    ):
        raise Conflict(
            "The account {username} is already a judge of this competition.",
            code="judge_duplicate_user",
            username="",
        )
    chief_trades = sorted({p.trade_ids[0] for p in plan.judges if p.chief})
    if chief_trades and await PanelMember.exists().where(
        PanelMember.trade.is_in(chief_trades) & (PanelMember.is_chief == True)  # noqa: E712
    ):
        raise Conflict("The trade already has a chief judge.", code="second_chief_judge", name="")
    return users


async def commit(competition_id: int, plan: Plan, *, actor: Actor) -> ImportResult:
    """Store a plan without problems in one transaction (all or nothing), in bulk: a thousand
    judges are a handful of statements, not tens of thousands."""
    if plan.problems:
        raise JudgesRejected(plan.problems)
    now = clock.now()
    stamp = _stamp(now)
    async with transaction():
        users = await _recheck(competition_id, plan)
        generated = iter(
            await register.generated_usernames(
                competition_id, sum(not p.judge.username for p in plan.judges)
            )
        )
        usernames = [p.judge.username or next(generated) for p in plan.judges]
        fresh = [(p, u) for p, u in zip(plan.judges, usernames, strict=True) if u not in users]
        for (_planned, username), user_id in zip(
            fresh, await new_ids(User._meta.tablename, len(fresh)), strict=True
        ):
            users[username] = user_id
        await copy_records(
            User._meta.tablename,
            ["id", "username", "display_name", "password_hash", "phone", "is_active",
             "preferred_locale", "created_at"],
            [(users[u], u, p.judge.name, register.BADGE_ONLY_HASH, p.judge.phone, True, "", stamp)
             for p, u in fresh],
        )  # fmt: skip
        judge_ids = await new_ids(Judge._meta.tablename, len(plan.judges))
        await copy_records(
            Judge._meta.tablename,
            ["id", "competition", "user", "name", "employer", "employer_key", "delegation",
             "qualification", "phone", "id_number", "created_at"],
            [(j, competition_id, users[u], p.judge.name, p.judge.employer,
              employer_key(p.judge.employer), p.judge.delegation_id, p.judge.qualification,
              p.judge.phone, p.judge.id_number, stamp)
             for j, p, u in zip(judge_ids, plan.judges, usernames, strict=True)],
        )  # fmt: skip
        linked = sorted(users[u] for u in usernames if u not in {f[1] for f in fresh})
        granted = {
            r["user"]
            for r in await _chunked(
                lambda: RoleGrant.select(RoleGrant.user).where(
                    (RoleGrant.role == Role.judge.value) & (RoleGrant.competition == competition_id)
                ),
                RoleGrant.user,
                linked,
            )
        }
        grants = [
            (users[u], Role.judge.value, competition_id, None, stamp)
            for u in usernames
            if users[u] not in granted
        ]
        sessions = await assignment.judged_sessions_of(
            sorted({t for p in plan.judges for t in p.trade_ids})
        )
        members, seats, chiefs = [], [], []
        for judge_id, planned, username in zip(judge_ids, plan.judges, usernames, strict=True):
            for trade_id in planned.trade_ids:
                members.append((trade_id, judge_id, planned.chief, stamp))
                seats.extend((s, judge_id) for s in sessions.get(trade_id, []))
                if planned.chief:
                    chiefs.append((users[username], Role.chief_judge.value, competition_id,
                                   trade_id, stamp))  # fmt: skip
        if chiefs:
            # An account linked from the file may hold the trade's chief grant already.
            held = {
                (r["user"], r["trade"])
                for r in await RoleGrant.select(RoleGrant.user, RoleGrant.trade).where(
                    (RoleGrant.role == Role.chief_judge.value)
                    & RoleGrant.trade.is_in(sorted({c[3] for c in chiefs}))
                )
            }
            chiefs = [c for c in chiefs if (c[0], c[3]) not in held]
        await copy_records(
            RoleGrant._meta.tablename,
            ["user", "role", "competition", "trade", "created_at"],
            [*grants, *chiefs],
        )
        await copy_records(
            PanelMember._meta.tablename, ["trade", "judge", "is_chief", "created_at"], members
        )
        await copy_records(SessionJudge._meta.tablename, ["session", "judge"], seats)
        await _audit(competition_id, plan, judge_ids, usernames, fresh, members, actor=actor)
    return ImportResult(
        len(plan.judges),
        len(fresh),
        len(plan.judges) - len(fresh),
        len(members),
        list(zip([p.judge.name for p in plan.judges], usernames, strict=True)),
    )


async def _audit(
    competition_id: int,
    plan: Plan,
    judge_ids: list[int],
    usernames: list[str],
    fresh: list[tuple[Planned, str]],
    members: list[tuple],
    *,
    actor: Actor,
) -> None:
    await audit.record_many(
        [{"action": "user.create", "object_id": u,
          "new": {"username": u, "roles": [Role.judge.value], "source": "judge_import"}}
         for _p, u in fresh],
        actor=actor, object_type="user", competition_id=competition_id,
    )  # fmt: skip
    await audit.record_many(
        [{"action": "judge.create", "object_id": j,
          "new": {**register.audit_view(p.judge), "username": u, "source": "import"}}
         for j, p, u in zip(judge_ids, plan.judges, usernames, strict=True)],
        actor=actor, object_type="judge", competition_id=competition_id,
    )  # fmt: skip
    await audit.record_many(
        [{"action": "panel.chief" if chief else "panel.add", "object_id": trade,
          "new": {"judge": judge, "chief": chief, "source": "import"}}
         for trade, judge, chief, _stamp in members],
        actor=actor, object_type="trade", competition_id=competition_id,
    )  # fmt: skip


def template() -> bytes:
    writer = kit.TemplateWriter()
    writer.data_sheet(
        SHEET,
        COLUMNS,
        examples=[
            {"name": "王志刚", "employer": "青海送变电工程有限公司", "delegation": "XN",
             "qualification": "国家级", "phone": "13800971234", "trades": "T001",
             "chief": "是"},
            {"name": "李卫东", "employer": "西部矿业股份有限公司", "delegation": "HX",
             "qualification": "省级", "phone": "13909781234", "trades": "T001、T002",
             "chief": "否"},
        ],
        choices={"qualification": ["国家级", "省级", "市级", "行业专家"], "chief": ["是", "否"]},
        rows=5_000,
    )  # fmt: skip
    return writer.close()
