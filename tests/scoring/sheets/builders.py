"""A competing trade with its score sheets, built from the demo (`demo_scoring`): 焊工 (T001),
drawn in the demo, its competition moved on to "competing" and the trade started. The demo
accounts `judge`, `judge2`, `judge3` and `chief` (its chief judge) are on its panel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from competition.audit import SYSTEM, Actor
from competition.stages import Mover, Stage
from competition.tables import Competition, Trade, User
from scoring import stages
from scoring.rules.values import format_hundredths
from scoring.sheets import marks, signing
from scoring.sheets.marks import MarkIn, scheme_aspects, sheet_facts
from scoring.sheets.roster import ensure_sheets
from scoring.tables import Judge, ScoreSheet

TRADE = "T001"


@dataclass
class Competing:
    competition_id: int
    trade_id: int
    sheets: dict[str, list[int]] = field(default_factory=dict)  # username → sheet ids

    async def actor(self, username: str) -> Actor:
        user = await User.select(User.id).where(User.username == username).first()
        return Actor(user_id=user["id"], name=username)

    async def sheet(self, username: str, index: int = 0):
        return await sheet_facts(self.sheets[username][index])

    async def cells(self, username: str, index: int = 0):
        """(slot, aspect facts) of every cell of the user's sheet, in a stable order."""
        facts = await self.sheet(username, index)
        aspects = await scheme_aspects(facts.scheme_id)
        return [(slot, a) for slot in sorted(facts.slots) for a in aspects.values()]

    async def fill(self, username: str, index: int = 0, *, level: int = 2) -> int:
        """Every cell of the sheet given a value (Judgement `level`, Measurement full marks)."""
        actor = await self.actor(username)
        facts = await self.sheet(username, index)
        count = 0
        for slot, aspect in await self.cells(username, index):
            value = str(level) if aspect.is_judgement else str(aspect.max_hundredths // 100)
            outcome = await marks.put_mark(
                MarkIn(str(uuid.uuid4()), facts.id, slot, aspect.id, value, base_version=0),
                actor=actor,
            )
            count += outcome.result == "saved"
        return count

    async def complete(self) -> None:
        """Every sheet filled and signed, and verified by another judge where asked for: the
        trade's marks are then complete."""
        usernames = sorted(self.sheets)
        for username, ids in self.sheets.items():
            for index, sheet_id in enumerate(ids):
                await self.fill(username, index)
                await signing.sign_sheet(sheet_id, actor=await self.actor(username))
                needs = (
                    await ScoreSheet.select(ScoreSheet.needs_verification)
                    .where(ScoreSheet.id == sheet_id)
                    .first()
                )
                if needs["needs_verification"]:
                    facts = await sheet_facts(sheet_id)
                    readings = {
                        cell: format_hundredths(row["value_hundredths"])
                        for cell, row in (await signing.entered_cells(facts)).items()
                    }
                    other = next(u for u in usernames if u != username)
                    assert not await signing.verify_sheet(
                        sheet_id, readings, actor=await self.actor(other)
                    )


async def competing_trade(code: str = TRADE) -> Competing:
    trade = await Trade.select(Trade.id, Trade.competition).where(Trade.code == code).first()
    await Competition.update({Competition.phase: "competing"}).where(
        Competition.id == trade["competition"]
    )
    await stages.move_trade(trade["id"], Stage.competing, actor=SYSTEM, mover=Mover.organizer)
    await ensure_sheets(trade["id"], Stage.competing)
    built = Competing(trade["competition"], trade["id"])
    for row in (
        await ScoreSheet.select(ScoreSheet.id, ScoreSheet.judge.user.username)
        .where(ScoreSheet.trade == trade["id"])
        .order_by(ScoreSheet.id)
    ):
        built.sheets.setdefault(row["judge.user.username"], []).append(row["id"])
    return built


async def judge_id(username: str) -> int:
    row = await Judge.select(Judge.id).where(Judge.user.username == username).first()
    return row["id"]
