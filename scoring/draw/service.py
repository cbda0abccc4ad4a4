"""Running and verifying a trade's draw (抽签).

`run_draw` reads the trade FOR UPDATE, moves it to "drawn" (the stage machine refuses while
check-in is open, outside the check-in and draw phase, or when the trade has drawn already),
takes who is present, runs the pure algorithm (scoring/draw/algorithm.py) and writes the Draw
with its seed, algorithm and inputs and every DrawSlot in bulk — all in one transaction with an
audit record "draw.run". `verify_draw` runs the algorithm again from the stored seed and inputs
and compares every stored slot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from competition import audit
from competition.audit import Actor
from competition.db import copy_records, fetch_rows, is_integrity_error, is_postgres, transaction
from competition.errors import Conflict, NotFound, ValidationFailed
from competition.stages import Mover, Stage
from competition.tables import EventKind
from scoring.draw import algorithm
from scoring.draw.algorithm import DrawImpossible, SessionIn
from scoring.draw.attendance import ABSENT, PRESENT, presence
from scoring.stages import move_in_transaction, trade_for_action
from scoring.tables import Draw, DrawSlot

SLOT_COLUMNS = ["draw", "trade", "entry", "session", "station", "code", "judge_code", "position"]


def _natural(code: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))


_SESSIONS_SQL = (
    "SELECT id, code, name, venue FROM competition_session "
    "WHERE trade = ? AND event = ? ORDER BY starts_at, code, id"
)


async def practical_sessions(trade_id: int) -> list[dict[str, Any]]:
    """The trade's practical sessions in time order, each with its venue's stations in their
    natural order (A2 before A10)."""
    sessions = [
        {"id": i, "code": code, "name": name, "venue": venue}
        for i, code, name, venue in await fetch_rows(
            _SESSIONS_SQL, trade_id, EventKind.practical.value
        )
    ]
    venues = sorted({s["venue"] for s in sessions})
    stations: dict[int, list[dict[str, Any]]] = {v: [] for v in venues}
    if venues:
        marks = ", ".join("?" for _ in venues)
        for station, venue, code in await fetch_rows(
            f"SELECT id, venue, code FROM station WHERE venue IN ({marks})",  # noqa: S608
            *venues,
        ):
            stations[venue].append({"id": station, "code": code})
    for venue_stations in stations.values():
        venue_stations.sort(key=lambda r: (_natural(r["code"]), r["id"]))
    for s in sessions:
        s["stations"] = stations[s["venue"]]
    return sessions


def _refusal(exc: DrawImpossible, sessions: list[dict[str, Any]]) -> ValidationFailed:
    params = dict(exc.params)
    if "session" in params:
        names = {s["id"]: f"{s['code']} {s['name']}" for s in sessions}
        params["session"] = names.get(params["session"], params["session"])
    return ValidationFailed(exc.reason, code="draw_impossible", **params)


@dataclass
class DrawResult:
    draw_id: int
    seed: str
    algorithm: str
    present: int
    absent: int
    sessions: list[dict[str, Any]] = field(default_factory=list)


async def run_draw(
    competition_id: int,
    trade_id: int,
    *,
    actor: Actor,
    second_layer: bool = False,
    seed: str | None = None,
) -> DrawResult:
    """Draw the trade: every present contestant gets a session, a station and a code."""
    seed = seed or algorithm.new_seed()
    async with transaction():
        state = await trade_for_action(trade_id, lock="UPDATE")
        if state.competition_id != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
        if await Draw.exists().where(Draw.trade == trade_id):
            raise Conflict("The trade has been drawn already.", code="draw_exists")
        await move_in_transaction(state, Stage.drawn, actor=actor, mover=Mover.draw)
        rows = await presence(trade_id, closed=True)
        present = [(r.entry_id, r.session_id) for r in rows if r.status == PRESENT]
        absent = [r.entry_id for r in rows if r.status == ABSENT]
        if not present:
            raise ValidationFailed(
                "No contestant is present: there is nobody to draw.", code="nobody_present"
            )
        sessions = await practical_sessions(trade_id)
        inputs = [SessionIn(s["id"], tuple(st["id"] for st in s["stations"])) for s in sessions]
        try:
            slots = algorithm.run(seed, present, inputs, second_layer=second_layer)
        except DrawImpossible as exc:
            raise _refusal(exc, sessions) from exc
        per_session = {s["id"]: 0 for s in sessions}
        for slot in slots:
            per_session[slot.session_id] += 1
        summary = {
            "approved": len(rows),
            "present": len(present),
            "absent": len(absent),
            "absent_entries": absent,
            "sessions": [
                {
                    "id": s["id"],
                    "code": s["code"],
                    "name": s["name"],
                    "stations": len(s["stations"]),
                    "drawn": per_session[s["id"]],
                }
                for s in sessions
            ],
        }
        draw = Draw(
            trade=trade_id,
            seed=seed,
            algorithm=algorithm.ALGORITHM,
            second_layer=second_layer,
            inputs=json.dumps(algorithm.inputs_json(present, inputs)),
            summary=json.dumps(summary),
            created_by=actor.user_id,
        )
        try:
            await draw.save()
        except Exception as exc:
            if is_integrity_error(exc):
                raise Conflict("The trade has been drawn already.", code="draw_exists") from exc
            raise
        # A Slot is (entry, session, station, code, judge code, position): SLOT_COLUMNS after
        # the draw and the trade. Read `draw.id` once (a Piccolo column descriptor each time).
        head = (draw.id, trade_id)
        values = [head + slot for slot in slots]
        await _hold_stations(inputs)
        # COPY on PostgreSQL, chunked executemany on SQLite, on this transaction's connection.
        await copy_records("draw_slot", SLOT_COLUMNS, values)
        await audit.record(
            "draw.run",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=competition_id,
            new={
                "seed": seed,
                "algorithm": algorithm.ALGORITHM,
                "second_layer": second_layer,
                "present": len(present),
                "absent": len(absent),
                "sessions": len(sessions),
            },
        )
    return DrawResult(
        draw.id, seed, algorithm.ALGORITHM, len(present), len(absent), summary["sessions"]
    )


async def _hold_stations(sessions: list[SessionIn]) -> None:
    """PostgreSQL checks a slot's references for the whole draw instead of a foreign-key trigger
    a row (migration `…2026_12_07t14_40_00_000000_draw_slot_keys`, with the figures). The
    trade's row is held FOR UPDATE, which a delete of one of its entries or sessions waits for;
    the stations belong to a venue, so the draw locks them here as a foreign key would, and
    they must all still exist. SQLite keeps its foreign keys (and one writer)."""
    if not is_postgres():
        return
    stations = sorted({station for s in sessions for station in s.stations})
    rows = await fetch_rows(
        "SELECT count(*) FROM (SELECT 1 FROM station WHERE id = ANY(?::integer[]) "
        "FOR KEY SHARE) AS held",
        stations,
    )
    if rows[0][0] != len(stations):
        raise Conflict(
            "The trade's stations changed during the draw; draw again.",
            code="draw_inputs_changed",
        )


async def draw_of(trade_id: int) -> dict[str, Any] | None:
    row = await Draw.select().where(Draw.trade == trade_id).first()
    if row is None:
        return None
    for key in ("inputs", "summary"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


@dataclass
class VerifyReport:
    trade_id: int
    seed: str
    algorithm: str
    slots: int  # stored
    identical: int
    mismatches: list[dict[str, Any]]

    @property
    def reproduced(self) -> bool:
        return not self.mismatches and self.identical == self.slots


async def verify_draw(competition_id: int, trade_id: int, *, actor: Actor) -> VerifyReport:
    """Re-run the trade's draw from its stored seed and inputs and compare every slot."""
    draw = await draw_of(trade_id)
    state = await trade_for_action(trade_id)
    if draw is None or state.competition_id != competition_id:
        raise NotFound("The trade has not been drawn.", code="draw_not_found")
    entries, sessions = algorithm.inputs_from_json(draw["inputs"])
    expected = {
        s.entry_id: s
        for s in algorithm.run(
            draw["seed"],
            entries,
            sessions,
            second_layer=draw["second_layer"],
            algorithm=draw["algorithm"],
        )
    }
    stored = await DrawSlot.select(
        DrawSlot.entry,
        DrawSlot.session,
        DrawSlot.station,
        DrawSlot.code,
        DrawSlot.judge_code,
        DrawSlot.position,
    ).where(DrawSlot.draw == draw["id"])
    mismatches: list[dict[str, Any]] = []
    identical = 0
    for row in stored:
        want = expected.pop(row["entry"], None)
        got = (row["session"], row["station"], row["code"], row["judge_code"], row["position"])
        if want is None:
            mismatches.append({"position": row["position"], "problem": "unexpected"})
            continue
        if got == (want.session_id, want.station_id, want.code, want.judge_code, want.position):
            identical += 1
        else:
            mismatches.append({"position": want.position, "problem": "different"})
    for slot in expected.values():
        mismatches.append({"position": slot.position, "problem": "missing"})
    mismatches.sort(key=lambda m: m["position"])
    report = VerifyReport(
        trade_id, draw["seed"], draw["algorithm"], len(stored), identical, mismatches
    )
    async with transaction():
        await audit.record(
            "draw.verified",
            actor=actor,
            object_type="trade",
            object_id=trade_id,
            competition_id=competition_id,
            new={
                "reproduced": report.reproduced,
                "slots": report.slots,
                "identical": identical,
                "mismatches": len(mismatches),
            },
        )
    return report


async def slot_list(trade_id: int) -> list[dict[str, Any]]:
    """The drawn slots as codes only — session, station and code, no person: what the organizer
    and the hall may see before decryption."""
    rows = await DrawSlot.select(
        DrawSlot.position,
        DrawSlot.session.code.as_alias("session_code"),
        DrawSlot.session.name.as_alias("session_name"),
        DrawSlot.session.starts_at.as_alias("starts_at"),
        DrawSlot.station.code.as_alias("station_code"),
        DrawSlot.code,
    ).where(DrawSlot.trade == trade_id)
    rows.sort(key=lambda r: (r["starts_at"], r["session_code"], _natural(r["station_code"])))
    return rows
