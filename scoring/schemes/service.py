"""Marking schemes stored, read and versioned.

A trade has versions of its scheme; the current one is what marks are given under. Before the
trade competes (stages `BEFORE_COMPETING`) a new scheme replaces the current version in place
when no mark was given under it, and supersedes it (a new version; the old one kept, with
`superseded_at`, for the marks given under it) when one was. Once the trade competes, its
scheme no longer changes. Every change is one transaction with its audit record: a bad file or
form stores nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio

from competition import audit, db
from competition.audit import Actor
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, Msg
from competition.spreadsheets import RowProblem, RowsRejected
from competition.stages import BEFORE_COMPETING, STAGE_LABELS, Stage, require_stage
from competition.tables import Trade
from scoring import stages
from scoring.schemes import rules, sheet
from scoring.schemes.rules import AspectDraft, CriterionDraft, Deduction, SchemeDraft
from scoring.tables import Aspect, AspectKind, Criterion, Mark, MarkingScheme

CHANGE_ACTION = N_("Change the marking scheme")
AUDIT_COLUMNS = ["at", "actor_id", "actor_name", "competition_id", "action", "object_type",
                 "object_id", "old", "new", "reason"]  # fmt: skip


class SchemeRejected(ValidationFailed):
    """The scheme (from the form) has problems; nothing was stored."""

    def __init__(self, problems: list[rules.SchemeProblem]):
        super().__init__(
            N_("Problems found: {n}. Nothing was saved; fix them and save again.",
               n=len(problems)),
            code="scheme_rejected",
        )  # fmt: skip
        self.problems = problems


class SchemeFileRejected(RowsRejected):
    """Some rows of the file have problems; nothing was stored. `read` keeps the sheet as read,
    for the report workbook."""

    default_code = "scheme_file_rejected"

    def __init__(self, problems: list[RowProblem], read: sheet.ReadSheet | None):
        super().__init__(problems)
        self.read = read


# ---------------------------------------------------------------------------- reading


@dataclass
class SchemeView:
    id: int
    trade_id: int
    version: int
    is_current: bool
    total: int
    source: str
    created_at: Any
    superseded_at: Any
    criteria: list[dict[str, Any]] = field(default_factory=list)  # each with its "aspects"

    @property
    def aspects(self) -> list[dict[str, Any]]:
        return [a for c in self.criteria for a in c["aspects"]]

    def draft(self) -> SchemeDraft:
        return SchemeDraft(
            criteria=[CriterionDraft(c["code"], c["name"]) for c in self.criteria],
            aspects=[
                AspectDraft(
                    criterion=c["code"],
                    code=a["code"],
                    description=a["description"],
                    kind=a["kind"],
                    max_hundredths=a["max_hundredths"],
                    judges_needed=a["judges_needed"],
                    needs_verification=bool(a["needs_verification"]),
                    deductions=[Deduction(d["label"], d["hundredths"]) for d in a["deductions"]],
                    descriptors=list(a["descriptors"]),
                )
                for c in self.criteria
                for a in c["aspects"]
            ],
        )


async def scheme_view(scheme_id: int) -> SchemeView:
    row = await MarkingScheme.select().where(MarkingScheme.id == scheme_id).first()
    if row is None:
        raise NotFound("The marking scheme was not found.", code="scheme_not_found")
    criteria = (
        await Criterion.select()
        .where(Criterion.scheme == scheme_id)
        .order_by(Criterion.sort_order)
        .order_by(Criterion.id)
    )
    aspects = (
        await Aspect.select()
        .where(Aspect.scheme == scheme_id)
        .order_by(Aspect.sort_order)
        .order_by(Aspect.id)
    )
    by_criterion: dict[int, list[dict[str, Any]]] = {}
    for aspect in aspects:
        aspect["deductions"] = db.json_value(aspect["deductions"], [])
        aspect["descriptors"] = db.json_value(aspect["descriptors"], [])
        by_criterion.setdefault(aspect["criterion"], []).append(aspect)
    for criterion in criteria:
        criterion["aspects"] = by_criterion.get(criterion["id"], [])
        criterion["total"] = sum(a["max_hundredths"] for a in criterion["aspects"])
    return SchemeView(
        id=row["id"],
        trade_id=row["trade"],
        version=row["version"],
        is_current=bool(row["is_current"]),
        total=row["total_hundredths"],
        source=row["source"],
        created_at=row["created_at"],
        superseded_at=row["superseded_at"],
        criteria=criteria,
    )


async def current_scheme(trade_id: int) -> SchemeView | None:
    row = (
        await MarkingScheme.select(MarkingScheme.id)
        .where((MarkingScheme.trade == trade_id) & (MarkingScheme.is_current == True))  # noqa: E712
        .first()
    )
    return await scheme_view(row["id"]) if row else None


async def versions(trade_id: int) -> list[dict[str, Any]]:
    return (
        await MarkingScheme.select()
        .where(MarkingScheme.trade == trade_id)
        .order_by(MarkingScheme.version, ascending=False)
    )


async def scheme_statuses(competition_id: int) -> list[dict[str, Any]]:
    """Every trade of the competition with its stage and its current scheme's figures."""
    trades = await stages.trades_of(competition_id)
    schemes = await MarkingScheme.select(
        MarkingScheme.id, MarkingScheme.trade, MarkingScheme.version,
        MarkingScheme.total_hundredths, MarkingScheme.source,
    ).where(
        (MarkingScheme.trade.competition == competition_id)
        & (MarkingScheme.is_current == True)  # noqa: E712
    )  # fmt: skip
    kinds = await Aspect.select(Aspect.scheme, Aspect.kind).where(
        (Aspect.scheme.trade.competition == competition_id) & (Aspect.scheme.is_current == True)  # noqa: E712
    )
    counts = Counter((r["scheme"], r["kind"]) for r in kinds)
    by_trade = {s["trade"]: s for s in schemes}
    out = []
    for trade in trades:
        scheme = by_trade.get(trade.trade_id)
        item: dict[str, Any] = {
            "id": trade.trade_id,
            "code": trade.code,
            "name": trade.name,
            "stage": trade.stage,
            "stage_label": STAGE_LABELS[trade.stage],
            "editable": trade.stage in BEFORE_COMPETING,
            "scheme": None,
        }
        if scheme:
            judgement = counts.get((scheme["id"], AspectKind.judgement.value), 0)
            measurement = counts.get((scheme["id"], AspectKind.measurement.value), 0)
            item["scheme"] = {
                "version": scheme["version"],
                "total": scheme["total_hundredths"],
                "source": scheme["source"],
                "aspects": judgement + measurement,
                "judgement": judgement,
                "measurement": measurement,
            }
        out.append(item)
    return out


# ---------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Change:
    trade_id: int
    trade_code: str
    version: int
    how: str  # created / replaced / superseded


@dataclass
class _Write:
    trade_id: int
    trade_code: str
    competition_id: int
    draft: SchemeDraft
    current: dict[str, Any] | None  # the current scheme row
    marks_under_current: bool


def _sql_time(value: dt.datetime) -> Any:
    return value if db.is_postgres() else str(value.astimezone(dt.UTC))


async def _write(items: list[_Write], *, actor: Actor, source: str, action: str) -> list[Change]:
    """Store each trade's draft (checked already) in the caller's transaction, in a handful of
    statements whatever the number of trades."""
    now = dt.datetime.now(dt.UTC)
    stamp = _sql_time(now)
    changes: list[Change] = []
    in_place = [i for i in items if i.current is not None and not i.marks_under_current]
    superseded = [i for i in items if i.current is not None and i.marks_under_current]
    fresh = [i for i in items if i.current is None or i.marks_under_current]
    kept_ids = [i.current["id"] for i in in_place if i.current]
    for start in range(0, len(kept_ids), 500):
        chunk = kept_ids[start : start + 500]
        await Criterion.delete().where(Criterion.scheme.is_in(chunk))
    if superseded:
        await db.execute_many(
            "UPDATE marking_scheme SET is_current = ?, superseded_at = ? WHERE id = ?",
            [(False, stamp, i.current["id"]) for i in superseded if i.current],
        )
    await db.execute_many(
        "UPDATE marking_scheme SET total_hundredths = ?, source = ?, created_at = ?, "
        "created_by = ? WHERE id = ?",
        [(i.draft.total, source, stamp, actor.user_id, i.current["id"])
         for i in in_place if i.current],
    )  # fmt: skip
    scheme_ids = dict(
        zip((id(i) for i in fresh), await db.new_ids("marking_scheme", len(fresh)), strict=True)
    )
    version_of: dict[int, int] = {}
    for item in fresh:
        version_of[id(item)] = (item.current["version"] + 1) if item.current else 1
    for item in in_place:
        assert item.current is not None
        scheme_ids[id(item)] = item.current["id"]
        version_of[id(item)] = item.current["version"]
    await db.copy_records(
        "marking_scheme",
        ["id", "trade", "version", "is_current", "total_hundredths", "source", "created_at",
         "created_by"],
        [(scheme_ids[id(i)], i.trade_id, version_of[id(i)], True, i.draft.total, source, stamp,
          actor.user_id) for i in fresh],
    )  # fmt: skip
    criterion_rows, aspect_rows = [], []
    criterion_ids = await db.new_ids("criterion", sum(len(i.draft.criteria) for i in items))
    next_id = iter(criterion_ids)
    for item in items:
        scheme_id = scheme_ids[id(item)]
        ids = {}
        for order, criterion in enumerate(item.draft.criteria):
            ids[criterion.code] = cid = next(next_id)
            criterion_rows.append((cid, scheme_id, criterion.code, criterion.name, order))
        for order, a in enumerate(item.draft.aspects):
            aspect_rows.append((
                scheme_id, ids[a.criterion], a.code, a.description, a.kind, a.max_hundredths,
                a.judges_needed, a.needs_verification,
                json.dumps([d.as_json() for d in a.deductions], ensure_ascii=False),
                json.dumps(a.descriptors, ensure_ascii=False), order,
            ))  # fmt: skip
    await db.copy_records(
        "criterion", ["id", "scheme", "code", "name", "sort_order"], criterion_rows
    )
    await db.copy_records(
        "aspect",
        ["scheme", "criterion", "code", "description", "kind", "max_hundredths",
         "judges_needed", "needs_verification", "deductions", "descriptors", "sort_order"],
        aspect_rows,
    )  # fmt: skip
    audit_rows = []
    for item in items:
        how = (
            "created" if item.current is None
            else "superseded" if item.marks_under_current else "replaced"
        )  # fmt: skip
        version = version_of[id(item)]
        changes.append(Change(item.trade_id, item.trade_code, version, how))
        old = (
            {"version": item.current["version"], "total": item.current["total_hundredths"]}
            if item.current else None
        )  # fmt: skip
        new = {
            "trade": item.trade_code,
            "version": version,
            "how": how,
            "total": item.draft.total,
            "criteria": len(item.draft.criteria),
            "aspects": [a.code for a in item.draft.aspects],
        }
        audit_rows.append((
            stamp, actor.user_id, actor.name, item.competition_id, action, "trade",
            str(item.trade_id), json.dumps(old, ensure_ascii=False) if old else None,
            json.dumps(new, ensure_ascii=False), source,
        ))  # fmt: skip
    await db.copy_records("audit_log", AUDIT_COLUMNS, audit_rows)
    return changes


async def _current_rows(trade_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(trade_ids), 500):
        chunk = trade_ids[start : start + 500]
        for row in await MarkingScheme.select().where(
            MarkingScheme.trade.is_in(chunk) & (MarkingScheme.is_current == True)  # noqa: E712
        ):
            rows[row["trade"]] = row
    return rows


async def _marked_schemes(scheme_ids: list[int]) -> set[int]:
    marked: set[int] = set()
    for start in range(0, len(scheme_ids), 500):
        chunk = scheme_ids[start : start + 500]
        rows = await Mark.select(Mark.aspect.scheme).where(Mark.aspect.scheme.is_in(chunk))
        marked.update(r["aspect.scheme"] for r in rows)
    return marked


async def _plan(trades: list[tuple[int, str, int]], drafts: list[SchemeDraft]) -> list[_Write]:
    """`trades`: (trade id, code, competition id), one for each draft."""
    current = await _current_rows([t[0] for t in trades])
    marked = await _marked_schemes([r["id"] for r in current.values()])
    return [
        _Write(trade_id, code, competition_id, draft, current.get(trade_id),
               trade_id in current and current[trade_id]["id"] in marked)
        for (trade_id, code, competition_id), draft in zip(trades, drafts, strict=True)
    ]  # fmt: skip


async def save_scheme(
    competition_id: int, trade_id: int, draft: SchemeDraft, *, actor: Actor
) -> Change:
    """The organizer's form: check the whole scheme, then store it (replace or supersede)."""
    problems = rules.check_scheme(draft)
    if problems:
        raise SchemeRejected(problems)
    async with db.transaction():
        state = await stages.trade_for_action(trade_id, lock="UPDATE")
        if state.competition_id != competition_id:
            raise NotFound("The trade was not found.", code="trade_not_found")
        require_stage(state.stage, BEFORE_COMPETING, CHANGE_ACTION)
        items = await _plan([(trade_id, state.code, competition_id)], [draft])
        (change,) = await _write(items, actor=actor, source="form", action="scheme.edit")
    return change


# ---------------------------------------------------------------------------- the import


@dataclass
class FileCheck:
    read: sheet.ReadSheet
    trades: list[tuple[int, str, int]]  # (trade id, code, competition id), in file order
    drafts: list[SchemeDraft]
    problems: list[RowProblem]

    @property
    def aspects(self) -> int:
        return sum(len(d.aspects) for d in self.drafts)


def _stage_refusal(code: str, stage: Stage) -> Msg:
    return N_(
        "The trade {code} is in the stage “{stage}”: its marking scheme can no longer change.",
        code=code,
        stage=STAGE_LABELS[stage],
    )


async def check_file(competition_id: int, data: bytes) -> FileCheck:
    """The dry run: read every row, check every trade's scheme and stage; writes nothing."""
    from competition import spreadsheets as kit

    table = await anyio.to_thread.run_sync(
        lambda: kit.read_table(data, sheet.LIMITS, sheets=(sheet.SHEET,))
    )
    read = sheet.read_rows(table)
    problems = list(read.problems)
    rows = await Trade.select(Trade.id, Trade.code, Trade.stage).where(
        Trade.competition == competition_id
    )
    known = {r["code"].upper(): r for r in rows}
    trades, drafts = [], []
    for code, trade_rows in read.trades.items():
        trade = known.get(code.upper())
        column = read.grid.header("trade_code")
        if trade is None:
            problems.extend(
                RowProblem(a.row, column, N_("The competition has no trade with the code {code}.",
                                             code=code), "unknown_trade")
                for a in trade_rows.draft.aspects
            )  # fmt: skip
            continue
        stage = Stage(trade["stage"])
        if stage not in BEFORE_COMPETING:
            problems.append(
                RowProblem(trade_rows.first_row, column, _stage_refusal(code, stage),
                           "wrong_stage")
            )  # fmt: skip
        problems.extend(
            sheet.scheme_problems(read, trade_rows, rules.check_scheme(trade_rows.draft))
        )
        trades.append((trade["id"], trade["code"], competition_id))
        drafts.append(trade_rows.draft)
    problems = _unique(problems)
    problems.sort(key=lambda p: p.row or 0)
    return FileCheck(read, trades, drafts, problems)


def _unique(problems: list[RowProblem]) -> list[RowProblem]:
    """One problem a cell: a row's own problem (an unreadable mark) is not repeated by the
    scheme's check of the same cell."""
    seen, out = set(), []
    for problem in problems:
        key = (problem.row, problem.column) if problem.code != "total_not_100" else id(problem)
        if key in seen:
            continue
        seen.add(key)
        out.append(problem)
    return out


@dataclass
class ImportResult:
    rows: int
    trades: int
    aspects: int
    committed: bool
    changes: list[Change] = field(default_factory=list)


async def import_schemes(
    competition_id: int, data: bytes, *, actor: Actor, commit: bool, filename: str = ""
) -> ImportResult:
    """Check the file; with `commit`, store every trade's scheme in one transaction. Any
    problem (`SchemeFileRejected`) stores nothing."""
    checked = await check_file(competition_id, data)
    if checked.problems:
        raise SchemeFileRejected(checked.problems, checked.read)
    result = ImportResult(checked.read.rows, len(checked.trades), checked.aspects, commit)
    if not commit:
        return result
    async with db.transaction():
        # The stages again, locked: a trade may have started since the dry run.
        for trade_id, code, _ in checked.trades:
            state = await stages.trade_for_action(trade_id, lock="UPDATE")
            if state.stage not in BEFORE_COMPETING:
                raise SchemeFileRejected(
                    [RowProblem(checked.read.trades[_code_in_file(checked, code)].first_row,
                                checked.read.grid.header("trade_code"),
                                _stage_refusal(code, state.stage), "wrong_stage")],
                    checked.read,
                )  # fmt: skip
        items = await _plan(checked.trades, checked.drafts)
        result.changes = await _write(items, actor=actor, source="import", action="scheme.import")
        await audit.record(
            "scheme.import_file",
            actor=actor,
            object_type="competition",
            object_id=competition_id,
            competition_id=competition_id,
            new={"file": filename[:200], "rows": result.rows, "trades": [t[1] for t in
                 checked.trades]},
        )  # fmt: skip
    return result


def _code_in_file(checked: FileCheck, code: str) -> str:
    return next(c for c in checked.read.trades if c.upper() == code.upper())


async def store_drafts(
    trades: list[tuple[int, str, int]], drafts: list[SchemeDraft], *, actor: Actor, source: str
) -> list[Change]:
    """Schemes built by code (the demo), checked by the same rules; inside a transaction."""
    for draft in drafts:
        problems = rules.check_scheme(draft)
        if problems:
            raise SchemeRejected(problems)
    items = await _plan(trades, drafts)
    return await _write(items, actor=actor, source=source, action=f"scheme.{source}")
