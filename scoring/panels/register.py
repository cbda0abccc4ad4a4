"""The judge register (裁判库) of one competition: who may judge, with what they bring to recusal
(delegation, employer) and an account to sign in with.

A judge is always a user: a new one gets an account (a generated password shown once to the
organizer, or, from an import, sign-in by QR badge only until a password is set on the accounts
page), an existing username is linked as it is (the demo's judges). Everyone in the register
holds a Role.judge grant reaching the competition; `assignment.py` keeps the chief judge's
trade-scoped Role.chief_judge grant in step with the panel.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

import anyio

from competition import accounts, audit
from competition.accounts import USERNAME_PATTERN
from competition.audit import Actor
from competition.db import transaction
from competition.errors import Conflict, NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.passwords import hash_password
from competition.tables import Competition, Delegation, Role, RoleGrant, User
from registration import idcard
from registration.entries import NAME
from registration.queries import name_like
from scoring.panels.recusal import employer_key
from scoring.tables import Judge, Mark, PanelMember, Qualification

PAGE_SIZE = 50
PHONE = re.compile(r"^[0-9+\- ]{5,20}$")
# The hash of an account that signs in by badge only: no password ever matches it.
BADGE_ONLY_HASH = "!badge-only"

QUALIFICATION_LABELS: dict[Qualification, Msg] = {
    Qualification.national: N_("National judge"),
    Qualification.provincial: N_("Provincial judge"),
    Qualification.city: N_("City judge"),
    Qualification.expert: N_("Industry expert"),
}
# What people type in a form or a file for each grade.
QUALIFICATION_WORDS: dict[str, Qualification] = {
    "国家级": Qualification.national,
    "国家级裁判": Qualification.national,
    "国家级裁判员": Qualification.national,
    "省级": Qualification.provincial,
    "省级裁判": Qualification.provincial,
    "省级裁判员": Qualification.provincial,
    "市级": Qualification.city,
    "市级裁判": Qualification.city,
    "市级裁判员": Qualification.city,
    "行业专家": Qualification.expert,
    "专家": Qualification.expert,
    **{q.value: q for q in Qualification},
}


def parse_qualification(text: str) -> Qualification | None:
    return QUALIFICATION_WORDS.get(text.strip().replace(" ", "").lower())


@dataclass(frozen=True)
class JudgeIn:
    name: str
    employer: str = ""
    delegation_id: int | None = None
    qualification: str = Qualification.provincial.value
    phone: str = ""
    id_number: str = ""
    username: str = ""  # new judges only; empty: generated


@dataclass(frozen=True)
class CreatedJudge:
    judge_id: int
    user_id: int
    username: str
    new_account: bool  # False: an existing account was linked
    password: str | None = None  # the generated one, shown once


def check_judge(data: JudgeIn) -> JudgeIn:
    """The cleaned input, or ValidationFailed naming each field's problem."""
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not NAME.match(name) or any(c.isdigit() for c in name):
        errors["name"] = N_("Enter the name as on the ID card.")
    employer = " ".join(data.employer.split())
    if len(employer) > 100:
        errors["employer"] = N_("At most 100 characters.")
    if data.qualification not in Qualification.__members__:
        errors["qualification"] = N_("Choose the judge's qualification.")
    phone = data.phone.strip()
    if phone and not PHONE.match(phone):
        errors["phone"] = N_("Enter a phone number of 5 to 20 digits.")
    number = ""
    if data.id_number.strip():
        try:
            number = idcard.parse(data.id_number).number
        except ValidationFailed as exc:
            errors["id_number"] = N_(exc.message, **exc.params)
    username = data.username.strip()
    if username and not USERNAME_PATTERN.match(username):
        errors["username"] = N_("A username has 3 to 64 letters, digits or . _ @ -")
    if errors:
        raise ValidationFailed(
            "Check the marked fields.", code="judge_invalid", field_errors=errors
        )
    return replace(
        data, name=name, employer=employer, phone=phone, id_number=number, username=username
    )


def new_password() -> str:
    """Three groups of four letters and digits, easy to read out and type on a tablet."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


async def _check_delegation(competition_id: int, delegation_id: int | None) -> None:
    if delegation_id is None:
        return
    if not await Delegation.exists().where(
        (Delegation.id == delegation_id) & (Delegation.competition == competition_id)
    ):
        raise ValidationFailed(
            "Choose a delegation of this competition.",
            code="delegation_not_found",
            field_errors={"delegation": "Choose a delegation of this competition."},
        )


async def _check_id_free(competition_id: int, id_number: str, judge_id: int | None) -> None:
    if not id_number:
        return
    query = Judge.select(Judge.id).where(
        (Judge.competition == competition_id) & (Judge.id_number == id_number)
    )
    if judge_id is not None:
        query = query.where(Judge.id != judge_id)
    if await query.first():
        raise Conflict(
            "A judge with this ID number is already in the register.",
            code="judge_duplicate_id",
            field_errors={"id_number": "A judge with this ID number is already in the register."},
        )


async def ensure_judge_grant(user_id: int, competition_id: int) -> bool:
    """The Role.judge grant that reaches the competition (any scoped to it will do)."""
    if await RoleGrant.exists().where(
        (RoleGrant.user == user_id)
        & (RoleGrant.role == Role.judge.value)
        & (RoleGrant.competition == competition_id)
    ):
        return False
    await RoleGrant.insert(
        RoleGrant(user=user_id, role=Role.judge.value, competition=competition_id)
    )
    return True


async def generated_usernames(competition_id: int, n: int) -> list[str]:
    """n free usernames "<competition code>-j0001", … for new judge accounts."""
    if n == 0:
        return []
    row = await Competition.select(Competition.code).where(Competition.id == competition_id).first()
    prefix = re.sub(r"[^a-z0-9]", "", (row["code"] if row else "").lower())[:20] or "c"
    taken = {
        r["username"]
        for r in await User.select(User.username).where(User.username.like(f"{prefix}-j%"))
    }
    names: list[str] = []
    number = len(taken)
    while len(names) < n:
        number += 1
        if f"{prefix}-j{number:04d}" not in taken:
            names.append(f"{prefix}-j{number:04d}")
    return names


def audit_view(data: JudgeIn | dict[str, Any]) -> dict[str, Any]:
    values = data if isinstance(data, dict) else data.__dict__
    return {
        "name": values["name"],
        "employer": values["employer"],
        "delegation": values.get("delegation_id", values.get("delegation")),
        "qualification": values["qualification"],
        "phone": "***" if values["phone"] else "",
        "id_number": idcard.mask(values["id_number"]) if values["id_number"] else "",
    }


async def add_judge_in_transaction(
    competition_id: int,
    data: JudgeIn,
    *,
    actor: Actor,
    password_hash: str | None,
    source: str = "form",
) -> CreatedJudge:
    """Add a checked judge inside the caller's transaction. `password_hash` for a new account
    (None: badge only); an existing username is linked without touching its password."""
    await _check_delegation(competition_id, data.delegation_id)
    await _check_id_free(competition_id, data.id_number, None)
    username = data.username or (await generated_usernames(competition_id, 1))[0]
    user = await User.select(User.id).where(User.username == username).first()
    created = user is None
    if created:
        new_user = User(
            username=username,
            display_name=data.name,
            password_hash=password_hash or BADGE_ONLY_HASH,
            phone=data.phone,
        )
        await new_user.save()
        user_id = new_user.id
        await audit.record(
            "user.create",
            actor=actor,
            object_type="user",
            object_id=user_id,
            new={"username": username, "roles": [Role.judge.value], "source": "judge_register"},
        )
    else:
        user_id = user["id"]
        if await Judge.exists().where(
            (Judge.competition == competition_id) & (Judge.user == user_id)
        ):
            raise Conflict(
                "The account {username} is already a judge of this competition.",
                code="judge_duplicate_user",
                username=username,
            )
    judge = Judge(
        competition=competition_id,
        user=user_id,
        name=data.name,
        employer=data.employer,
        employer_key=employer_key(data.employer),
        delegation=data.delegation_id,
        qualification=data.qualification,
        phone=data.phone,
        id_number=data.id_number,
    )
    await judge.save()
    if await ensure_judge_grant(user_id, competition_id):
        await audit.record(
            "user.grant.add",
            actor=actor,
            object_type="user",
            object_id=user_id,
            competition_id=competition_id,
            new={"username": username, "role": Role.judge.value, "competition": competition_id},
        )
    await audit.record(
        "judge.create",
        actor=actor,
        object_type="judge",
        object_id=judge.id,
        competition_id=competition_id,
        new={**audit_view(data), "username": username, "source": source},
    )
    return CreatedJudge(judge.id, user_id, username, created)


async def create_judge(competition_id: int, data: JudgeIn, *, actor: Actor) -> CreatedJudge:
    """A judge by the form: a new account gets a generated password, returned to show once."""
    data = check_judge(data)
    password = new_password()
    accounts.check_new_password(password, data.username)
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with transaction():
        created = await add_judge_in_transaction(
            competition_id, data, actor=actor, password_hash=password_hash
        )
    return replace(created, password=password) if created.new_account else created


async def get_judge(competition_id: int, judge_id: int) -> dict[str, Any]:
    row = (
        await Judge.select(
            Judge.all_columns(), Judge.user.username, Judge.delegation.name, Judge.delegation.code
        )
        .where((Judge.id == judge_id) & (Judge.competition == competition_id))
        .first()
    )
    if row is None:
        raise NotFound("The judge was not found.", code="judge_not_found")
    row["id_masked"] = idcard.mask(row["id_number"]) if row["id_number"] else ""
    return row


async def update_judge(competition_id: int, judge_id: int, data: JudgeIn, *, actor: Actor) -> None:
    data = check_judge(replace(data, username=""))
    async with transaction():
        current = await get_judge(competition_id, judge_id)
        await _check_delegation(competition_id, data.delegation_id)
        # An empty ID field keeps the number on record: the page shows it masked only.
        id_number = data.id_number or current["id_number"]
        await _check_id_free(competition_id, id_number, judge_id)
        new = {
            "name": data.name,
            "employer": data.employer,
            "employer_key": employer_key(data.employer),
            "delegation": data.delegation_id,
            "qualification": data.qualification,
            "phone": data.phone,
            "id_number": id_number,
        }
        old, changed = audit.changed_fields(current, new)
        if not changed:
            return
        await Judge.update({getattr(Judge, k): v for k, v in new.items()}).where(
            Judge.id == judge_id
        )
        for values in (old, changed):
            if "id_number" in values:
                values["id_number"] = idcard.mask(values["id_number"] or "")
            if "phone" in values:
                values["phone"] = "***" if values["phone"] else ""
        await audit.record(
            "judge.update",
            actor=actor,
            object_type="judge",
            object_id=judge_id,
            competition_id=competition_id,
            old=old,
            new=changed,
        )


@dataclass
class JudgePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


async def list_judges(
    competition_id: int, *, search: str = "", page: int = 1, page_size: int = PAGE_SIZE
) -> JudgePage:
    """The register, by name, with each judge's trades and masked ID number."""
    search = " ".join(search.split())[:50].replace("%", "").replace("_", "")
    query = Judge.select(
        Judge.id,
        Judge.name,
        Judge.employer,
        Judge.qualification,
        Judge.phone,
        Judge.id_number,
        Judge.user.username,
        Judge.delegation.name,
    ).where(Judge.competition == competition_id)
    count = Judge.count().where(Judge.competition == competition_id)
    if search:
        condition = (
            name_like(Judge.name, search)
            | name_like(Judge.employer, search)
            | name_like(Judge.user.username, search)
        )
        query, count = query.where(condition), count.where(condition)
    total = await count
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = (
        await query.order_by(Judge.name)
        .order_by(Judge.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    ids = [r["id"] for r in rows]
    trades: dict[int, list[str]] = {}
    if ids:
        for m in (
            await PanelMember.select(
                PanelMember.judge, PanelMember.trade.code, PanelMember.is_chief
            )
            .where(PanelMember.judge.is_in(ids))
            .order_by(PanelMember.trade.code)
        ):
            label = m["trade.code"] + ("★" if m["is_chief"] else "")
            trades.setdefault(m["judge"], []).append(label)
    for row in rows:
        row["id_masked"] = idcard.mask(row.pop("id_number")) if row["id_number"] else ""
        row["trades"] = trades.get(row["id"], [])
    return JudgePage(rows=rows, total=total, page=page, pages=pages)


async def judge_of_user(competition_id: int, user_id: int) -> dict[str, Any] | None:
    return (
        await Judge.select()
        .where((Judge.competition == competition_id) & (Judge.user == user_id))
        .first()
    )


async def remove_judge(competition_id: int, judge_id: int, *, actor: Actor) -> None:
    """Take a judge out of the register: only once off every panel and without a mark. Their
    account stays (it may work elsewhere); the judge grant of this competition goes."""
    async with transaction():
        judge = await get_judge(competition_id, judge_id)
        if await PanelMember.exists().where(PanelMember.judge == judge_id):
            raise Conflict("Remove the judge from their panels first.", code="judge_on_panel")
        if await Mark.exists().where(Mark.judge == judge_id):
            raise Conflict("The judge has given marks and stays in the register.",
                           code="judge_has_marks")  # fmt: skip
        await Judge.delete().where(Judge.id == judge_id)
        await RoleGrant.delete().where(
            (RoleGrant.user == judge["user"])
            & (RoleGrant.role == Role.judge.value)
            & (RoleGrant.competition == competition_id)
            & RoleGrant.trade.is_null()
        )
        await audit.record(
            "judge.delete",
            actor=actor,
            object_type="judge",
            object_id=judge_id,
            competition_id=competition_id,
            old={**audit_view(judge), "username": judge["user.username"]},
        )
