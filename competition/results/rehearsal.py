"""The rehearsal (彩排): a whole competition replayed from a directory of CSV files — last year's
data, or a test's — through the product's own imports, from the structure to the results file.

`jiangxin rehearse DIR --competition CODE` creates the competition CODE (it must not exist) and
runs, in order: the structure (competition/demo/loader.py's files: competition, industries,
trades with their result settings, delegations and their quotas, venues and stations, sessions),
registrations (both review levels pass every valid row), marking schemes, judges and panels,
sign-in, the draw of every trade, marks (the sheets signed), theory and oral scores, penalties,
completion times, the lock by each chief judge, decryption, and the ranking with its awards, which
it writes as the results export (`exports.export_results`). The README's "Rehearsal" section
documents the files.

Last year's files cannot know this year's tickets or draw codes, so the score files name each
contestant by 身份证号 (ID number); the rehearsal writes the ticket number (准考证号) or the code
(加密号) in its place before the import reads the file. A file may name them by ticket or code
already. A problem in any file stops the rehearsal with the file, row and message; what the
earlier steps stored stays in the (rehearsal's own) competition for a look in the pages.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from competition import services
from competition import spreadsheets as kit
from competition.audit import Actor
from competition.db import transaction
from competition.errors import DomainError, ValidationFailed
from competition.i18n import N_, Msg, render, translate_error
from competition.phases import FORWARD, PHASE_LABELS, Phase
from competition.results import exports, publication
from competition.results.standings import competition_standings
from competition.stages import Mover, Stage
from competition.tables import Competition, Trade
from registration import idcard, review
from registration.imports import batches
from registration.imports.format import read_upload
from registration.schemas import ReviewOutcome
from registration.tables import Entry, EntryStatus
from scoring import stages, totals
from scoring.draw import codes, service, signin_sheet
from scoring.imports import marks, penalties, theory, times
from scoring.panels import sheet as judges_sheet
from scoring.schemes import service as schemes
from scoring.sheets import lock
from scoring.sheets.roster import ensure_sheets
from scoring.tables import PanelMember

ACTOR = Actor(user_id=None, name="rehearsal")
REASON = "rehearsal"
ID_COLUMN = "身份证号"
TICKET_COLUMN = "准考证号"
CODE_COLUMN = "加密号"
SHOWN_PROBLEMS = 10
# The rows of one file of marks, of sign-in: at most the import's limit.
MARK_FILE_ROWS = kit.LIMITS["marks"].max_rows
SIGNIN_FILE_ROWS = kit.LIMITS["signin"].max_rows

# The files, in the order the rehearsal reads them. Optional ones may be missing.
STRUCTURE = ("competition.csv", "industries.csv", "trades.csv", "delegations.csv",
             "venues.csv", "sessions.csv")  # fmt: skip
REGISTRATIONS = "registrations.csv"
SCHEMES = "schemes.csv"
JUDGES = "judges.csv"
SIGNIN = "signin.csv"  # optional: without it every approved contestant is present
MARKS = "marks.csv"
THEORY = "theory.csv"  # optional, like the three below
PENALTIES = "penalties.csv"
TIMES = "times.csv"


# The optional score files: the import that reads each, and what names the contestant in it.
SCORE_FILES = {THEORY: (theory, TICKET_COLUMN), PENALTIES: (penalties, CODE_COLUMN),
               TIMES: (times, CODE_COLUMN)}  # fmt: skip


class RehearsalFailed(ValidationFailed):
    default_code = "rehearsal_failed"


@dataclass
class Rehearsal:
    competition_id: int = 0
    steps: list[tuple[str, int]] = field(default_factory=list)  # (step, records)
    trades: int = 0
    ranked: int = 0
    output: Path | None = None


def _fail(step: str, message: str | Msg) -> RehearsalFailed:
    """The rehearsal's one error: where it stopped (a file or a step) and why."""
    return RehearsalFailed("The rehearsal stopped at {step}: {reason}", step=step,
                           reason=message)  # fmt: skip


def _problems_text(problems: list, filename: str) -> str:
    lines = [f"{filename} row {p.row}: {p.labelled()}" for p in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"… {len(problems) - SHOWN_PROBLEMS} more")
    return "; ".join(lines)


def _csv(rows: list[list[str]]) -> bytes:
    """A file for an import, as written: not `kit.csv_bytes`, whose guard against formulas
    would turn a penalty of -2 into the text '-2."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise _fail(path.name, N_("The file is empty."))
    return [h.strip() for h in rows[0]], rows[1:]


class People:
    """This run's entries by ID number: their tickets, and their codes once drawn."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[int, int, str]]] = {}  # id → [(entry, trade, ticket)]
        self.codes: dict[int, str] = {}  # entry → code
        self.trade_codes: dict[int, str] = {}  # trade id → trade code

    async def load(self, competition_id: int) -> None:
        self.entries = {}
        rows = await Entry.select(
            Entry.id, Entry.trade, Entry.ticket_number, Entry.person.id_number
        ).where(
            (Entry.competition == competition_id) & (Entry.status == EntryStatus.approved)
        )  # fmt: skip
        for r in rows:
            self.entries.setdefault(r["person.id_number"], []).append(
                (r["id"], r["trade"], r["ticket_number"] or "")
            )
        trades = await Trade.select(Trade.id, Trade.code).where(Trade.competition == competition_id)
        self.trade_codes = {t["id"]: t["code"] for t in trades}
        drawn = await codes.codes_by_entry(list(self.trade_codes))
        self.codes = {entry: code for entry, (_trade, code) in drawn.items()}

    def rewrite(self, path: Path, target: str) -> bytes:
        """The file with its 身份证号 column replaced by `target` (准考证号 or 加密号) and a
        工种 column added where a person is in several trades; as it is without 身份证号."""
        header, rows = _read_csv(path)
        if ID_COLUMN not in header:
            return path.read_bytes()
        mapped = self._mapper(path.name, header, target)
        out = [mapped.header]
        out += [mapped.line(n, row) for n, row in enumerate(rows, start=2)]
        return _csv(out)

    def rewrite_chunks(
        self, path: Path, target: str, rows_per_file: int
    ) -> Iterator[tuple[bytes, int]]:
        """`rewrite` read as a stream and cut into files of at most `rows_per_file` rows, each
        with the header; yields (file, bytes of `path` read so far). Never the whole file in
        memory: a province's marks file is ~250 MB."""
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise _fail(path.name, N_("The file is empty."))
            if ID_COLUMN not in header:
                chunk: list[list[str]] = []
                mapped = None
            else:
                mapped = self._mapper(path.name, header, target)
            out_header = mapped.header if mapped is not None else header
            chunk = []
            for n, row in enumerate(reader, start=2):
                if not any(c.strip() for c in row):
                    continue
                chunk.append(mapped.line(n, row) if mapped is not None else row)
                if len(chunk) == rows_per_file:
                    yield _csv([out_header, *chunk]), raw.tell()
                    chunk = []
            if chunk:
                yield _csv([out_header, *chunk]), raw.tell()

    def _mapper(self, filename: str, header: list[str], target: str) -> _RowMapper:
        return _RowMapper(self, filename, header, target)


class _RowMapper:
    """One file's rows with the ID number replaced (`People.rewrite`)."""

    def __init__(self, people: People, filename: str, header: list[str], target: str) -> None:
        self.people, self.filename, self.width, self.target = people, filename, len(header), target
        self.at = header.index(ID_COLUMN)
        self.trade_at = header.index("工种") if "工种" in header else None
        self.header = [target if i == self.at else h for i, h in enumerate(header)]
        if self.trade_at is None:
            self.header.append("工种")

    def line(self, n: int, row: list[str]) -> list[str]:
        people, at, trade_at = self.people, self.at, self.trade_at
        row = row + [""] * (self.width - len(row))
        number = idcard.normalise(row[at])
        held = people.entries.get(number, [])
        if trade_at is not None and row[trade_at].strip():
            wanted = row[trade_at].strip().upper()
            held = [h for h in held if people.trade_codes.get(h[1], "").upper() == wanted]
        if len(held) != 1:
            shown = idcard.mask(number)
            raise _fail(self.filename, N_(
                "Row {row}: no approved entry has the ID number {number}.", row=n, number=shown
            ) if not held else N_(
                "Row {row}: the ID number {number} is entered in several trades; add a 工种 "
                "column.", row=n, number=shown,
            ))  # fmt: skip
        entry_id, trade_id, ticket = held[0]
        value = ticket if self.target == TICKET_COLUMN else people.codes.get(entry_id, "")
        if not value:
            raise _fail(self.filename, N_(
                "Row {row}: the contestant with the ID number {number} was not drawn (absent "
                "at sign-in?).", row=n, number=idcard.mask(number),
            ))  # fmt: skip
        line = [value if i == at else c for i, c in enumerate(row)]
        if trade_at is None:
            line.append(people.trade_codes[trade_id])
        return line


async def _import(step: str, module: Any, competition_id: int, data: bytes, **commit: Any) -> int:
    """One score-kit file through its module's read_plan → commit, as its page runs it."""
    plan = await module.read_plan(competition_id, data)
    if plan.problems:
        raise _fail(step, _problems_text(plan.problems, step))
    try:
        if module is not judges_sheet:  # the judge list keeps no file name
            commit["filename"] = step
        result = await module.commit(competition_id, plan, actor=ACTOR, **commit)
    except kit.RowsRejected as exc:
        raise _fail(step, _problems_text(exc.problems, step)) from exc
    except DomainError as exc:
        raise _fail(step, translate_error(exc)) from exc
    return result.rows


async def _advance(competition_id: int, target: Phase) -> None:
    row = await Competition.select(Competition.phase).where(Competition.id == competition_id)
    phase = Phase(row[0]["phase"])
    order = list(Phase)
    while order.index(phase) < order.index(target):
        phase = FORWARD[phase]
        try:
            await services.advance_phase(competition_id, phase, ACTOR, reason=REASON)
        except DomainError as exc:
            raise _fail(render(PHASE_LABELS[phase]), translate_error(exc)) from exc


def _all_done(outcome: ReviewOutcome) -> ReviewOutcome:
    """Every entry of the file passes review, or the rehearsal stops with the first reason (a
    quota full, a trade's limit)."""
    if outcome.refused:
        _entry, why = outcome.refused[0]
        raise _fail(REGISTRATIONS, N_(
            "{n} entries were refused at review, the first because: {reason}",
            n=len(outcome.refused), reason=why,
        ))  # fmt: skip
    return outcome


def _seed(code: str, trade_code: str) -> str:
    """The draw's seed from the codes: the same directory draws the same way every time."""
    return hashlib.sha256(f"rehearsal|{code}|{trade_code}".encode()).hexdigest()[:32]


Step = tuple[str, Callable[[], Awaitable[int]]]


class RehearsalRun:
    """One rehearsal's steps in order, each a coroutine returning how many records it stored:
    `rehearse` runs them, bench/pipeline.py times them one by one."""

    def __init__(
        self, directory: Path, code: str, *, output: Path | None = None, fmt: str = "csv",
        detail: Callable[[str, float], None] = lambda _step, _share: None,
    ) -> None:  # fmt: skip
        self.directory, self.code, self.fmt = directory, code, fmt
        self.output = output or directory / f"results.{fmt}"
        self.detail = detail  # (step, share of the step done) for the long steps
        self.done = Rehearsal()
        self.people = People()
        self.with_entries: list[int] = []
        self.registration_data = b""
        self.registration_plan: Any = None

    @property
    def competition_id(self) -> int:
        return self.done.competition_id

    def steps(self) -> list[Step]:
        steps: list[Step] = [
            ("structure", self.structure),
            ("registrations: check", self.check_registrations),
            ("registrations: import", self.import_registrations),
            ("review", self.review),
            ("schemes", self.schemes),
            ("judges", self.judges),
            ("sign-in", self.signin),
            ("draw", self.draw),
            ("marks", self.marks),
        ]
        for name in (THEORY, PENALTIES, TIMES):
            if (self.directory / name).is_file():
                steps.append((name.removesuffix(".csv"), self._score_file(name)))
        steps += [
            ("totals", self.totals),
            ("lock", self.lock),
            ("decryption", self.decrypt),
            ("ranking", self.rank),
            (f"results.{self.fmt}", self.results_file),
        ]
        return steps

    async def check(self) -> None:
        """What must hold before the first step: the files, a new competition code."""
        missing = [n for n in (*STRUCTURE, REGISTRATIONS, SCHEMES, JUDGES, MARKS)
                   if not (self.directory / n).is_file()]  # fmt: skip
        if missing:
            raise _fail(str(self.directory),
                        N_("These files are missing: {files}.", files=missing))  # fmt: skip
        if await Competition.exists().where(Competition.code == self.code):
            raise _fail("--competition", N_(
                "The competition {code} exists already: rehearse under a new competition code.",
                code=self.code,
            ))  # fmt: skip

    async def structure(self) -> int:
        from competition.demo.loader import load_structure

        try:
            competition_id, written = await load_structure(
                self.directory, code=self.code, actor=ACTOR, reason=REASON
            )
        except DomainError as exc:
            raise _fail("trades.csv", translate_error(exc)) from exc
        except (KeyError, ValueError) as exc:  # a column missing, a number that is not one
            message = N_("A value cannot be read: {value}", value=str(exc))
            raise _fail(", ".join(STRUCTURE), message) from exc
        self.done.competition_id = competition_id
        await _advance(competition_id, Phase.registration)
        return written

    async def check_registrations(self) -> int:
        """The import's dry run: every row checked and resolved, nothing stored."""
        self.registration_data = (self.directory / REGISTRATIONS).read_bytes()
        table = read_upload(self.registration_data)
        plan = await batches.evaluate(self.competition_id, table)
        if plan.errors:
            problems = [p for _row, found in sorted(plan.errors.items()) for p in found]
            raise _fail(REGISTRATIONS, _problems_text(problems, REGISTRATIONS))
        self.registration_plan = plan
        return sum(1 for row in table.rows[1:] if any(c.strip() for c in row))

    async def import_registrations(self) -> int:
        async with transaction():
            await batches.commit(
                self.registration_plan, self.registration_data,
                competition_id=self.competition_id, delegation_id=None, actor=ACTOR,
            )  # fmt: skip
        self.registration_plan, self.registration_data = None, b""
        return await Entry.count().where(
            (Entry.competition == self.competition_id)
            & (Entry.status == EntryStatus.submitted)
        )  # fmt: skip

    async def review(self) -> int:
        """Both review levels (初审, 终审) pass every entry the file brought."""
        competition_id = self.competition_id
        waiting = await Entry.select(Entry.id, Entry.delegation).where(
            (Entry.competition == competition_id) & (Entry.status == EntryStatus.submitted)
        )
        by_delegation: dict[int, list[int]] = {}
        for row in waiting:
            by_delegation.setdefault(row["delegation"], []).append(row["id"])
        for delegation_id, ids in sorted(by_delegation.items()):
            _all_done(await review.review_by_delegation(
                competition_id, delegation_id, ids, True, actor=ACTOR
            ))  # fmt: skip
        passed = [r["id"] for r in await Entry.select(Entry.id).where(
            (Entry.competition == competition_id)
            & (Entry.status == EntryStatus.delegation_approved)
        )]  # fmt: skip
        if not passed:
            return 0
        outcome = _all_done(
            await review.review_by_organizer(competition_id, passed, True, actor=ACTOR)
        )
        return len(outcome.done)

    async def schemes(self) -> int:
        try:
            result = await schemes.import_schemes(
                self.competition_id, (self.directory / SCHEMES).read_bytes(), actor=ACTOR,
                commit=True, filename=SCHEMES,
            )  # fmt: skip
        except kit.RowsRejected as exc:
            raise _fail(SCHEMES, _problems_text(exc.problems, SCHEMES)) from exc
        return result.aspects

    async def judges(self) -> int:
        data = (self.directory / JUDGES).read_bytes()
        return await _import(JUDGES, judges_sheet, self.competition_id, data)

    async def signin(self) -> int:
        competition_id = self.competition_id
        await _advance(competition_id, Phase.draw)
        people = self.people
        await people.load(competition_id)
        trades = sorted(people.trade_codes.items(), key=lambda t: t[1])
        entered = {trade for held in people.entries.values() for _e, trade, _t in held}
        self.with_entries = [tid for tid, _c in trades if tid in entered]
        if (self.directory / SIGNIN).is_file():
            files = (data for data, _read in people.rewrite_chunks(
                self.directory / SIGNIN, TICKET_COLUMN, SIGNIN_FILE_ROWS
            ))  # fmt: skip
        else:
            tickets = [t for held in people.entries.values() for _e, _tr, t in held]
            files = (
                _csv(
                    [
                        [TICKET_COLUMN, "到场"],
                        *([t, "到场"] for t in tickets[at : at + SIGNIN_FILE_ROWS]),
                    ]
                )
                for at in range(0, len(tickets), SIGNIN_FILE_ROWS)
            )
        rows = 0
        for data in files:  # a sign-in sheet is a session's: a province's is many files
            rows += await _import(SIGNIN, signin_sheet, competition_id, data)
        await stages.set_checkin_closed(competition_id, self.with_entries, True, actor=ACTOR)
        return rows

    async def draw(self) -> int:
        present = 0
        for n, trade_id in enumerate(self.with_entries, start=1):
            try:
                drawn = await service.run_draw(
                    self.competition_id, trade_id, actor=ACTOR,
                    seed=_seed(self.code, self.people.trade_codes[trade_id]),
                )  # fmt: skip
            except DomainError as exc:
                raise _fail(self.people.trade_codes[trade_id], translate_error(exc)) from exc
            present += drawn.present
            self.detail("draw", n / len(self.with_entries))
        return present

    async def marks(self) -> int:
        """The paper marks, a file of at most the import's row limit at a time (a province's
        6 million marks are many sheets keyed in over days, never one upload)."""
        await _advance(self.competition_id, Phase.competing)
        for trade_id in self.with_entries:  # each trade starts, as the organizer starts it
            await stages.move_trade(trade_id, Stage.competing, actor=ACTOR, mover=Mover.organizer)
            await ensure_sheets(trade_id, Stage.competing)
        await self.people.load(self.competition_id)
        path = self.directory / MARKS
        size = max(1, path.stat().st_size)
        rows = 0
        for data, read in self.people.rewrite_chunks(path, CODE_COLUMN, MARK_FILE_ROWS):
            rows += await _import(MARKS, marks, self.competition_id, data, sign=True,
                                  recompute=False)  # fmt: skip
            self.detail("marks", read / size)
        return rows

    def _score_file(self, name: str) -> Callable[[], Awaitable[int]]:
        module, target = SCORE_FILES[name]

        async def run() -> int:
            data = self.people.rewrite(self.directory / name, target)
            return await _import(name, module, self.competition_id, data, recompute=False)

        return run

    async def totals(self) -> int:
        """Once for the whole competition, after every score file (each import would
        recompute its trades' totals after its own commit)."""
        return await totals.recompute_competition(self.competition_id)

    async def lock(self) -> int:
        for trade_id in self.with_entries:
            trade_code = self.people.trade_codes[trade_id]
            try:
                await lock.lock_trade(trade_id, actor=await _chief(trade_id, trade_code))
            except DomainError as exc:
                raise _fail(trade_code, translate_error(exc)) from exc
        return len(self.with_entries)

    async def decrypt(self) -> int:
        for trade_id in self.with_entries:
            try:
                await publication.decrypt_trade(trade_id, actor=ACTOR)
            except DomainError as exc:
                raise _fail(self.people.trade_codes[trade_id], translate_error(exc)) from exc
        self.done.trades = len(self.with_entries)
        return len(self.with_entries)

    async def rank(self) -> int:
        standings = await competition_standings(self.competition_id, self.with_entries)
        self.done.ranked = sum(1 for t in standings for r in t.rows if r.present)
        return self.done.ranked

    async def results_file(self) -> int:
        content = await exports.export_results(self.competition_id, fmt=self.fmt)
        self.done.output = self.output
        self.output.write_bytes(content)
        return len(content)


async def rehearse(
    directory: Path, code: str, *, output: Path | None = None, fmt: str = "csv",
    progress: Callable[[str], None] = lambda _line: None,
) -> Rehearsal:  # fmt: skip
    """Run the rehearsal of `directory` as the new competition `code`; returns what it did."""
    run = RehearsalRun(directory, code, output=output, fmt=fmt)
    await run.check()
    for name, step in run.steps():
        records = await step()
        run.done.steps.append((name, records))
        progress(f"{name}: {records:,}")
    return run.done


async def _chief(trade_id: int, trade_code: str) -> Actor:
    row = await (
        PanelMember.select(PanelMember.judge.user, PanelMember.judge.user.username)
        .where((PanelMember.trade == trade_id) & (PanelMember.is_chief == True))  # noqa: E712
        .first()
    )
    if row is None:
        raise _fail(JUDGES, N_("The trade {code} has no chief judge (裁判长).", code=trade_code))
    return Actor(user_id=row["judge.user"], name=row["judge.user.username"])


async def trade_stages(competition_id: int) -> dict[str, Stage]:
    """Each trade's stage by code, for the command's summary and the tests."""
    rows = await Trade.select(Trade.code, Trade.stage).where(Trade.competition == competition_id)
    return {r["code"]: Stage(r["stage"]) for r in rows}
