"""A mark put on a score sheet: saved as it is entered, never lost, never doubled.

- **Idempotent on the client id.** Every change a tablet makes carries an id it generated; the
  change is stored with it (`mark_change.client_id` is unique). A retry of the same change —
  the queue resends until it hears an answer — is answered "repeat" with the mark as it is, and
  writes nothing. The same client id with another value or cell is refused.
- **Versioned.** A mark's version grows with each change; the tablet sends the version it last
  saw. When another tablet changed the mark since, the change is refused with the current
  value (409 `mark_conflict`) and the judge chooses — never a silent overwrite.
- **Checked like every other way in** (paper imports and locked changes use
  `set_mark_in_transaction` after their own checks): the value by the aspect's rule
  (`scoring/rules/judgement.py`, `measurement.py`), the cell on the judge's sheet (recusal
  included), the sheet not signed, the trade competing. A refused attempt writes nothing but an
  audit record (`mark.refused`).

The hot path (300 judges at once): a handful of plain statements on one connection
(`competition.db.fetch_dicts`), no Piccolo query building, the scheme's aspects cached per
process (a scheme never changes once its trade competes). On PostgreSQL the sheet and trade
rows are read FOR SHARE, so a signature or a lock (FOR UPDATE) waits for a mark being written,
and the mark row FOR UPDATE, so two tablets writing one mark queue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from competition import audit, clock, db
from competition.audit import Actor
from competition.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    PhaseError,
    ValidationFailed,
)
from competition.stages import Stage
from scoring.rules import judgement, measurement
from scoring.rules.values import MarkValueError, format_hundredths, shown
from scoring.tables import AspectKind, MarkChangeKind, SheetStatus

CLIENT_ID_MAX = 64
DEVICE_MAX = 64
# A retry of an insert that met a concurrent insert of the same new mark sees it the second time.
ATTEMPTS = 2
READ_ONLY = frozenset({SheetStatus.signed.value, SheetStatus.verified.value})


@dataclass(frozen=True)
class MarkIn:
    client_id: str
    sheet_id: int
    slot_id: int
    aspect_id: int
    value: str | int
    base_version: int = 0
    device: str = ""


@dataclass(frozen=True)
class AspectFacts:
    id: int
    code: str
    kind: str
    max_hundredths: int

    @property
    def is_judgement(self) -> bool:
        return self.kind == AspectKind.judgement.value


@dataclass(frozen=True)
class SheetFacts:
    id: int
    judge_id: int
    judge_user: int
    session_id: int
    trade_id: int
    scheme_id: int
    slots: frozenset[int]
    status: str
    stage: str
    competition_id: int


@dataclass(frozen=True)
class MarkState:
    slot: int
    aspect: int
    value_hundredths: int
    version: int
    entered_at: dt.datetime | None
    locked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "aspect": self.aspect,
            "value_hundredths": self.value_hundredths,
            "version": self.version,
            "entered_at": self.entered_at.isoformat() if self.entered_at else None,
            "locked": self.locked,
        }


@dataclass(frozen=True)
class MarkOutcome:
    result: str  # saved / unchanged / repeat
    mark: MarkState
    cells_entered: int
    cells_expected: int


class MarkConflict(Conflict):
    """Another tablet changed the mark since the version this one saw."""

    default_code = "mark_conflict"

    def __init__(self, current: dict[str, Any]) -> None:
        super().__init__(
            "This mark was changed on another tablet ({value}) since you saw it: choose which "
            "value stays.",
            code="mark_conflict",
            value=format_hundredths(current["value_hundredths"]),
        )
        self.current = current


# ---------------------------------------------------------------------------- facts


def json_list(value: Any) -> list:
    return list(db.json_value(value, []))


_ASPECTS: dict[int, dict[int, AspectFacts]] = {}


async def scheme_aspects(scheme_id: int) -> dict[int, AspectFacts]:
    """The scheme's aspects by id, read once per process: a scheme's aspects never change once
    a mark may be given under it (`scoring/schemes/service.py` refuses)."""
    found = _ASPECTS.get(scheme_id)
    if found is None:
        rows = await db.fetch_rows(
            "SELECT id, code, kind, max_hundredths FROM aspect WHERE scheme = ? ORDER BY "
            "sort_order, code",
            scheme_id,
        )
        found = {r[0]: AspectFacts(r[0], r[1], r[2], r[3]) for r in rows}
        if len(_ASPECTS) > 2000:
            _ASPECTS.clear()
        _ASPECTS[scheme_id] = found
    return found


def forget_cached_aspects() -> None:
    """For tests that build a scheme again under the same id."""
    _ASPECTS.clear()


_SHEET_SQL = (
    "SELECT s.id, s.judge, j.user AS judge_user, s.session, s.trade, s.scheme, s.slots, "
    "s.status, t.stage, t.competition FROM score_sheet s JOIN judge j ON j.id = s.judge "
    "JOIN trade t ON t.id = s.trade WHERE s.id = ?"
)


async def sheet_facts(sheet_id: int, *, lock: bool = False) -> SheetFacts:
    sql = _SHEET_SQL
    if lock and db.is_postgres() and db.in_transaction():
        sql += " FOR SHARE OF s, t"
    rows = await db.fetch_rows(sql, sheet_id)
    if not rows:
        raise NotFound("The score sheet was not found.", code="sheet_not_found")
    r = rows[0]
    return SheetFacts(
        id=r[0],
        judge_id=r[1],
        judge_user=r[2],
        session_id=r[3],
        trade_id=r[4],
        scheme_id=r[5],
        slots=frozenset(int(s) for s in json_list(r[6])),
        status=r[7],
        stage=r[8],
        competition_id=r[9],
    )


def parse_value(aspect: AspectFacts, value: str | int) -> int:
    """The value as typed, in hundredths, by the aspect's own rule."""
    try:
        if aspect.is_judgement:
            return judgement.parse_level(value)
        return measurement.parse_value(value, aspect.max_hundredths)
    except MarkValueError as exc:
        raise ValidationFailed(exc.message, code=exc.code, **exc.params) from exc


# ---------------------------------------------------------------------------- checks


def check_sheet_open(sheet: SheetFacts) -> None:
    if sheet.status in READ_ONLY:
        raise PhaseError(
            "The sheet is signed: its marks can no longer be changed here. Ask the chief judge "
            "to return it for a re-mark.",
            code="sheet_signed",
        )
    stage = Stage(sheet.stage)
    if stage in (Stage.locked, Stage.decrypted, Stage.published, Stage.final):
        raise PhaseError(
            "The trade's marks are locked: a change now needs the chief judge and a reason.",
            code="trade_locked",
        )
    if stage != Stage.competing:
        raise PhaseError(
            "Marks are given only while the trade is competing.", code="trade_not_competing"
        )


async def check_cell(sheet: SheetFacts, slot_id: int, aspect_id: int) -> AspectFacts:
    aspect = (await scheme_aspects(sheet.scheme_id)).get(aspect_id)
    if aspect is None:
        raise ValidationFailed("This aspect is not on your sheet.", code="aspect_not_on_sheet")
    if slot_id not in sheet.slots:
        same_session = await db.fetch_rows(
            "SELECT 1 FROM draw_slot WHERE id = ? AND session = ?", slot_id, sheet.session_id
        )
        if same_session:
            raise PermissionDenied(
                "You do not score this contestant (recusal: same delegation or employer).",
                code="contestant_recused",
            )
        raise ValidationFailed(
            "This contestant is not on your sheet.", code="contestant_not_on_sheet"
        )
    return aspect


def fixes_measurement(current: int | None, value: int, *, remarked: bool, signed: bool) -> bool:
    """A Measurement value is the panel's: once a sheet that holds it is signed (`signed`: a
    signed or verified sheet of the session other than this one holds the contestant), it is
    fixed — entering the value it has (`current`) again changes nothing and is not refused, and
    a cell the chief judge asked this sheet to mark again (`remarked`) may change."""
    if current is not None and current == value:
        return False
    return signed and not remarked


async def measurement_fixed(sheet: SheetFacts, slot_id: int, aspect_id: int, value: int) -> bool:
    """`fixes_measurement` for one cell, read from the database."""
    current = await current_mark(slot_id, aspect_id, None)
    if current is not None and current["value_hundredths"] == value:
        return False
    remarks = await db.fetch_rows("SELECT remarks FROM score_sheet WHERE id = ?", sheet.id)
    rows = await db.fetch_rows(
        "SELECT slots FROM score_sheet WHERE session = ? AND id <> ? AND status IN (?, ?)",
        sheet.session_id,
        sheet.id,
        SheetStatus.signed.value,
        SheetStatus.verified.value,
    )
    return fixes_measurement(
        current["value_hundredths"] if current is not None else None,
        value,
        remarked=(slot_id, aspect_id) in remarked_cells(remarks[0][0] if remarks else None),
        signed=any(slot_id in {int(s) for s in json_list(r[0])} for r in rows),
    )


def remarked_cells(remarks: Any) -> set[tuple[int, int]]:
    """The (slot, aspect) cells of a sheet's `remarks` column: those the chief judge asked to
    be marked again."""
    return {(r.get("slot"), r.get("aspect")) for r in json_list(remarks)}


# ---------------------------------------------------------------------------- writing


_CURRENT_SQL = (
    "SELECT m.id, m.value_hundredths, m.version, m.entered_at, m.device, m.entered_by, "
    "u.display_name AS entered_by_name FROM mark m LEFT JOIN app_user u ON "
    "u.id = m.entered_by WHERE m.slot = ? AND m.aspect = ? AND "
)
_OF_JUDGE = _CURRENT_SQL + "m.judge = ?"
_OF_PANEL = _CURRENT_SQL + "m.judge IS NULL"


async def current_mark(
    slot_id: int, aspect_id: int, judge_id: int | None, *, lock: bool = False
) -> dict[str, Any] | None:
    sql = _OF_JUDGE if judge_id is not None else _OF_PANEL
    args: tuple = (slot_id, aspect_id) + ((judge_id,) if judge_id is not None else ())
    if lock and db.is_postgres() and db.in_transaction():
        sql += " FOR UPDATE OF m"
    rows = await db.fetch_dicts(sql, *args)
    return rows[0] if rows else None


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


async def set_mark_in_transaction(
    *,
    trade_id: int,
    slot_id: int,
    aspect_id: int,
    judge_id: int | None,
    value_hundredths: int,
    client_id: str,
    actor: Actor,
    kind: MarkChangeKind = MarkChangeKind.tablet,
    sheet_id: int | None = None,
    base_version: int | None = None,
    device: str = "",
    reason: str = "",
) -> tuple[str, MarkState]:
    """Write one mark and its trail row inside the caller's transaction, after the caller's
    checks. `base_version` None: no version check (an import, a locked change by the chief).
    Returns ("saved" | "unchanged", the mark)."""
    existing = await current_mark(slot_id, aspect_id, judge_id, lock=True)
    now = clock.now()
    if existing is not None:
        if existing["value_hundredths"] == value_hundredths:
            return "unchanged", MarkState(
                slot_id,
                aspect_id,
                value_hundredths,
                existing["version"],
                _timestamp(existing["entered_at"]),
            )
        if base_version is not None and existing["version"] != base_version:
            raise MarkConflict(
                {
                    "value_hundredths": existing["value_hundredths"],
                    "version": existing["version"],
                    "entered_at": str(_timestamp(existing["entered_at"]).isoformat())
                    if existing["entered_at"]
                    else None,
                    "entered_by": existing["entered_by_name"] or "",
                    "device": existing["device"] or "",
                    # The one asking made that change (on `device`: its answer was lost).
                    "yours": existing["entered_by"] is not None
                    and existing["entered_by"] == actor.user_id,
                }
            )
        version = existing["version"] + 1
        await db.fetch_rows(
            "UPDATE mark SET value_hundredths = ?, version = ?, client_id = ?, device = ?, "
            "entered_at = ?, entered_by = ?, sheet = COALESCE(?, sheet) WHERE id = ?",
            value_hundredths,
            version,
            client_id,
            device,
            now,
            actor.user_id,
            sheet_id,
            existing["id"],
        )
        mark_id, old = existing["id"], existing["value_hundredths"]
    else:
        version = 1
        mark_id, old = None, None
    trail = (
        client_id,
        kind.value,
        old,
        value_hundredths,
        version,
        reason,
        device,
        actor.user_id,
        actor.name[:100],
        now,
    )
    if mark_id is None and db.is_postgres():
        # One round trip: the new mark and its trail row (a data-modifying WITH).
        await db.fetch_rows(
            "WITH m AS (INSERT INTO mark (slot, aspect, judge, sheet, value_hundredths, "
            "client_id, version, device, entered_at, entered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?) RETURNING id) INSERT INTO mark_change (mark, trade, client_id, kind, "
            "old_hundredths, new_hundredths, version, reason, device, actor_id, actor_name, at) "
            "SELECT m.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM m",
            slot_id,
            aspect_id,
            judge_id,
            sheet_id,
            value_hundredths,
            client_id,
            version,
            device,
            now,
            actor.user_id,
            trade_id,
            *trail,
        )
        return "saved", MarkState(slot_id, aspect_id, value_hundredths, version, now)
    if mark_id is None:
        rows = await db.fetch_rows(
            "INSERT INTO mark (slot, aspect, judge, sheet, value_hundredths, client_id, version, "
            "device, entered_at, entered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            slot_id,
            aspect_id,
            judge_id,
            sheet_id,
            value_hundredths,
            client_id,
            version,
            device,
            now,
            actor.user_id,
        )
        mark_id = rows[0][0]
    await db.fetch_rows(
        "INSERT INTO mark_change (mark, trade, client_id, kind, old_hundredths, new_hundredths, "
        "version, reason, device, actor_id, actor_name, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?)",
        mark_id,
        trade_id,
        *trail,
    )
    return "saved", MarkState(slot_id, aspect_id, value_hundredths, version, now)


async def applied_change(client_id: str) -> dict[str, Any] | None:
    """The change a client id already made, with its mark's cell."""
    rows = await db.fetch_dicts(
        "SELECT c.new_hundredths, m.slot, m.aspect, m.judge, m.value_hundredths, m.version, "
        "m.entered_at FROM mark_change c JOIN mark m ON m.id = c.mark WHERE c.client_id = ?",
        client_id,
    )
    return rows[0] if rows else None


async def cells_entered(sheet: SheetFacts) -> int:
    """Cells of the sheet with a value: the judge's own Judgement marks and the panel's
    Measurement values, on the sheet's slots. Counted by the database (index-only on
    `uq_mark_slot_aspect_judge` / `_panel`): one row back, however full the session is."""
    if not sheet.slots:
        return 0
    aspects = await scheme_aspects(sheet.scheme_id)
    judged = [a.id for a in aspects.values() if a.is_judgement]
    measured = [a.id for a in aspects.values() if not a.is_judgement]
    slots = sorted(sheet.slots)
    if db.is_postgres():
        rows = await db.fetch_rows(
            "SELECT (SELECT count(*) FROM mark WHERE slot = ANY(?::int[]) AND aspect = "
            "ANY(?::int[]) AND judge = ?) + (SELECT count(*) FROM mark WHERE slot = "
            "ANY(?::int[]) AND aspect = ANY(?::int[]) AND judge IS NULL)",
            slots,
            judged,
            sheet.judge_id,
            slots,
            measured,
        )
        return rows[0][0]
    count = 0
    # SQLite: IN lists, a session's slots at a time under its variable limit.
    for start in range(0, len(slots), 400):
        part = slots[start : start + 400]
        for ids, owner in ((judged, "judge = ?"), (measured, "judge IS NULL")):
            if not ids:
                continue
            args = [*part, *ids] + ([sheet.judge_id] if owner == "judge = ?" else [])
            rows = await db.fetch_rows(
                f"SELECT count(*) FROM mark WHERE slot IN ({','.join('?' * len(part))}) AND "  # noqa: S608
                f"aspect IN ({','.join('?' * len(ids))}) AND {owner}",
                *args,
            )
            count += rows[0][0]
    return count


async def cells_expected(sheet: SheetFacts) -> int:
    return len(sheet.slots) * len(await scheme_aspects(sheet.scheme_id))


def _check_client_id(client_id: str, device: str) -> None:
    if not client_id or len(client_id) > CLIENT_ID_MAX or not client_id.isascii():
        raise ValidationFailed(
            "Every mark needs a client id of at most {max} characters.",
            code="client_id_invalid",
            max=CLIENT_ID_MAX,
        )
    if len(device) > DEVICE_MAX:
        raise ValidationFailed(
            "The device id has at most {max} characters.", code="device_invalid", max=DEVICE_MAX
        )


async def _refused(exc: DomainError, mark: MarkIn, actor: Actor, sheet: SheetFacts | None):
    await audit.record(
        "mark.refused",
        actor=actor,
        object_type="score_sheet",
        object_id=mark.sheet_id,
        competition_id=sheet.competition_id if sheet else None,
        new={
            "code": exc.code,
            "slot": mark.slot_id,
            "aspect": mark.aspect_id,
            "value": shown(mark.value),
            "client_id": str(mark.client_id)[:CLIENT_ID_MAX],
            "device": str(mark.device)[:DEVICE_MAX],
        },
    )


async def put_mark(mark: MarkIn, *, actor: Actor) -> MarkOutcome:
    """A judge's mark from a tablet (or any API client): see the module docstring."""
    sheet: SheetFacts | None = None
    try:
        _check_client_id(mark.client_id, mark.device)
        for attempt in range(ATTEMPTS):
            try:
                async with db.transaction():
                    # The sheet is read once, locked (FOR SHARE), and every check runs on it.
                    sheet = await sheet_facts(mark.sheet_id, lock=True)
                    if sheet.judge_user != actor.user_id:
                        raise PermissionDenied(
                            "This is another judge's sheet.", code="not_your_sheet"
                        )
                    aspect = await check_cell(sheet, mark.slot_id, mark.aspect_id)
                    value = parse_value(aspect, mark.value)
                    judge_id = sheet.judge_id if aspect.is_judgement else None
                    done = await applied_change(mark.client_id)
                    if done is not None:
                        state = _repeat_state(done, mark, judge_id, value)
                        result = "repeat"
                    else:
                        check_sheet_open(sheet)
                        if not aspect.is_judgement and await measurement_fixed(
                            sheet, mark.slot_id, aspect.id, value
                        ):
                            raise PhaseError(
                                "Another judge of the panel has signed a sheet with this "
                                "value: ask the chief judge to return it before it changes.",
                                code="measurement_signed",
                            )
                        result, state = await set_mark_in_transaction(
                            trade_id=sheet.trade_id,
                            slot_id=mark.slot_id,
                            aspect_id=mark.aspect_id,
                            judge_id=judge_id,
                            value_hundredths=value,
                            client_id=mark.client_id,
                            actor=actor,
                            sheet_id=sheet.id,
                            base_version=mark.base_version,
                            device=mark.device,
                        )
                break
            except DomainError:
                raise
            except Exception as exc:
                if not db.is_integrity_error(exc) or attempt == ATTEMPTS - 1:
                    raise
                # The same new mark inserted by another tablet, or this very change by a
                # retry that arrived at the same moment: read again and answer from that.
                done = await applied_change(mark.client_id)
                if done is not None:
                    state = _repeat_state(done, mark, judge_id, value)
                    return MarkOutcome(
                        "repeat", state, await cells_entered(sheet), await cells_expected(sheet)
                    )
        return MarkOutcome(result, state, await cells_entered(sheet), await cells_expected(sheet))
    except MarkConflict:
        raise  # not a refusal: the judge chooses
    except DomainError as exc:
        await _refused(exc, mark, actor, sheet)
        raise


def _repeat_state(done: dict[str, Any], mark: MarkIn, judge_id: int | None, value: int):
    same = (
        done["slot"] == mark.slot_id
        and done["aspect"] == mark.aspect_id
        and done["judge"] == judge_id
        and done["new_hundredths"] == value
    )
    if not same:
        raise Conflict(
            "This client id was already used for another mark: a changed value needs a new "
            "client id.",
            code="client_id_reused",
        )
    return MarkState(
        done["slot"],
        done["aspect"],
        done["value_hundredths"],
        done["version"],
        _timestamp(done["entered_at"]),
    )
