"""The one way from a code to a person (scoring/draw/codes.py): refused to everyone but the
encryption role and the supervisor of the competition, logged on every read, and the only
place in the code base that joins a draw slot to a person."""

from __future__ import annotations

import re

import pytest

from competition.accounts import Grant, Identity
from competition.audit import Actor
from competition.config import REPO_ROOT
from competition.errors import PermissionDenied
from competition.tables import AuditLog, Role
from scoring.draw import codes, service
from scoring.stages import set_checkin_closed
from tests.scoring.test_draw_service import ready

ACTOR = Actor(user_id=None, name="test")


def identity(role: Role, competition_id: int | None) -> Identity:
    return Identity(user_id=1, username=role.value, display_name=role.value,
                    grants=(Grant(role=role, competition_id=competition_id),))  # fmt: skip


async def test_reveal_is_for_the_encryption_role_and_the_supervisor_and_always_logged(demo_full):
    cid = demo_full.competition_id
    trade, entries = await ready(cid, "T087")
    await set_checkin_closed(cid, [trade], True, actor=ACTOR)
    await service.run_draw(cid, trade, actor=ACTOR, second_layer=True)
    for role, scope in ((Role.organizer, None), (Role.judge, cid), (Role.chief_judge, cid),
                        (Role.encryption, cid + 1)):  # fmt: skip
        with pytest.raises(PermissionDenied):
            await codes.reveal(cid, trade, identity=identity(role, scope), purpose="test")
    assert await AuditLog.count().where(AuditLog.action == "codes.revealed") == 0
    rows = await codes.reveal(cid, trade, identity=identity(Role.encryption, cid), purpose="page")
    assert sorted(r.ticket_number for r in rows) == sorted(e["ticket_number"] for e in entries)
    assert all(r.judge_code.startswith("J") and r.id_masked.count("*") == 10 for r in rows)
    await codes.reveal(cid, trade, identity=identity(Role.supervisor, None), purpose="export")
    log = await AuditLog.select(AuditLog.new, AuditLog.object_id).where(
        AuditLog.action == "codes.revealed"
    )  # fmt: skip
    assert len(log) == 2 and all(r["object_id"] == str(trade) for r in log)


def test_nothing_else_joins_a_draw_slot_to_a_person():
    """Only codes.py reads who holds a slot — the name, ID number, phone or ticket number
    behind it — in Python or SQL. (Recusal may read a slot's delegation and employer: they
    name nobody.)"""
    pattern = re.compile(
        r"DrawSlot\.entry\.(person\.(name|id_number|phone)|ticket_number)"
        r"|draw_slot\b[^;]*\bJOIN\s+person\b",
        re.I | re.S,
    )
    offenders = []
    for package in ("competition", "registration", "scoring"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            if path == REPO_ROOT / "scoring" / "draw" / "codes.py":
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []
    assert pattern.search((REPO_ROOT / "scoring" / "draw" / "codes.py").read_text())
