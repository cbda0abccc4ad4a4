"""What a dry run found (the plan), and how it is kept with its ImportBatch until the decision.

A plan has two halves. The file half — each row checked on its own (`check.py`): the rows that
passed (`candidates`) and the problems of the others (`file_errors`) — depends only on the file
and on the competition's settings (trades, their rules, delegations, earlier prizes), whose
`fingerprint` it records. The database half — the candidates against each other and against
the people and entries already stored (`resolve.py`) — is what the database may change between
the dry run and the decision, so the commit runs it again; the file half is kept, compactly
(msgpack, deflated), and is only redone if the fingerprint no longer matches.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from competition.audit import to_jsonable
from competition.i18n import N_, Msg
from competition.spreadsheets import RowProblem
from registration.imports.format import COLUMN
from registration.schemas import TradeRules

PERSON_FIELDS = ("name", "phone", "employer", "job", "skill_level", "years_of_service")
STORED_VERSION = 3


class Candidate(msgspec.Struct, array_like=True, gc=False):
    """A row that passed every check that needs no database. A msgspec struct: 200,000 of
    them are made, kept with the batch and read back, at C speed and outside the cyclic
    garbage collector (they hold no containers)."""

    row: int
    id_number: str
    name: str
    gender: str
    birth_date: dt.date
    phone: str
    employer: str
    job: str
    skill_level: int | None
    years: int
    trade_id: int
    delegation_id: int
    group: str

    def person_values(self) -> tuple:
        return (self.name, self.phone, self.employer, self.job, self.skill_level, self.years)


@dataclass
class Change:
    """An existing entry (or its person) the file changes."""

    candidate: Candidate
    entry: dict[str, Any]  # the stored entry (resolve.ENTRY_KEYS)
    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def person_fields(self) -> set[str]:
        return {k for k in self.new if k in PERSON_FIELDS}

    @property
    def entry_changed(self) -> bool:
        return "delegation" in self.new or "group" in self.new


@dataclass
class Counts:
    rows: int = 0
    valid: int = 0
    errors: int = 0  # rows with at least one problem
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class QuotaLine:
    """One delegation × trade the file touches: its candidates and the places left."""

    delegation_id: int
    trade_id: int
    delegation: str
    trade: str
    trade_en: str
    candidates: int  # valid rows of the file
    cap: int | None  # None: unlimited
    free: int | None  # places left; None: unlimited

    @property
    def over(self) -> bool:
        return self.free is not None and self.candidates > self.free


@dataclass
class Context:
    """The competition as the checks see it."""

    competition_id: int
    limit: int  # trades a person may enter
    delegation_id: int | None  # the delegation the rows are for; None: the file says, row by row
    rules: dict[int, TradeRules]
    trade_keys: dict[str, int]
    delegations: dict[int, dict[str, Any]]
    delegation_keys: dict[str, int]
    winners: set[tuple[str, str]]
    trade_names_en: dict[int, str] = field(default_factory=dict)
    fingerprint: str = ""
    # Who imports: an organizer may change any record (also when importing for one
    # delegation); a delegation admin only its own.
    organizer: bool = True


@dataclass
class Plan:
    """What importing the file's valid rows would do, and the problems of the others."""

    competition_id: int
    delegation_id: int | None
    kind: str  # of the file: xlsx / csv
    encoding: str
    sheet: str
    header_row: int  # Excel row number of the header
    headers: dict[str, str]  # column key → header as written in the file
    fingerprint: str  # of the Context the file half was checked against
    rows: int  # data rows of the file
    candidates: list[Candidate] = field(default_factory=list)
    file_errors: dict[int, list[RowProblem]] = field(default_factory=dict)
    # Every problem by row: the file's and those found against the database.
    errors: dict[int, list[RowProblem]] = field(default_factory=dict)
    new: list[Candidate] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)  # row → slot of a new entry
    changes: list[Change] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # rows already as stored
    person_ids: dict[str, int] = field(default_factory=dict)  # ID number → person id
    # ID number → the person's values in the database (PERSON_FIELDS order), for persons
    # already there
    stored_persons: dict[str, tuple] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    trade_codes: dict[int, str] = field(default_factory=dict)
    quota_lines: list[QuotaLine] = field(default_factory=list)
    # For the CLI's report: every data row's Excel number and normalised ID number.
    numbers: list[int] = field(default_factory=list)
    id_numbers: list[str] = field(default_factory=list)

    def column_header(self, key: str) -> str:
        return self.headers.get(key) or (COLUMN[key].header if key in COLUMN else "")

    def verdicts(self) -> dict[int, str]:
        """Row → new / updated / unchanged / refused."""
        out = {c.row: "new" for c in self.new}
        out.update((change.candidate.row, "updated") for change in self.changes)
        out.update((row, "unchanged") for row in self.unchanged)
        out.update((row, "refused") for row in self.errors)
        return out


# ---------------------------------------------------------------------------- messages as data


def encode_message(value: Any) -> Any:
    """A message with its parameters as plain data, translated again when it is shown."""
    if isinstance(value, Msg):
        return {"msgid": str(value), "params": encode_message(getattr(value, "params", {}))}
    if isinstance(value, dict):
        return {str(k): encode_message(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_message(v) for v in value]
    return to_jsonable(value)


def decode_message(value: Any) -> Any:
    if isinstance(value, dict) and "msgid" in value:
        return N_(value["msgid"], **decode_message(value.get("params", {})))
    if isinstance(value, dict):
        return {k: decode_message(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_message(v) for v in value]
    return value


def _encode_problems(errors: dict[int, list[RowProblem]]) -> list[list[Any]]:
    return [
        [p.row, p.column, encode_message(p.message), p.code]
        for row in sorted(errors)
        for p in errors[row]
    ]


def _decode_problems(items: list[list[Any]]) -> dict[int, list[RowProblem]]:
    out: dict[int, list[RowProblem]] = {}
    for row, column, message, code in items:
        out.setdefault(row, []).append(RowProblem(row, column, decode_message(message), code))
    return out


# ---------------------------------------------------------------------------- storing a plan


class _Stored(msgspec.Struct, array_like=True):
    version: int
    competition_id: int
    delegation_id: int | None
    kind: str
    encoding: str
    sheet: str
    header_row: int
    headers: dict[str, str]
    fingerprint: str
    rows: int
    file_errors: list[list[Any]]
    errors: list[list[Any]]  # as the dry run found them, for the report
    # The candidates column by column (Candidate's fields in order). A column of repeated
    # values (trades, groups, employers, birth dates) is kept as its distinct values and an
    # index per row, so that reading it back makes each value once: 200,000 candidates then
    # hold some 70 MB less.
    columns: list[Any]


_FIELDS = Candidate.__struct_fields__


def _pack(values: list[Any]) -> Any:
    distinct = set(values)
    if len(distinct) * 2 > len(values):
        return values
    uniques = list(distinct)
    index = {v: i for i, v in enumerate(uniques)}
    return {"uniques": uniques, "index": [index[v] for v in values]}


def _unpack(column: Any) -> list[Any]:
    if isinstance(column, dict):
        uniques = column["uniques"]
        return [uniques[i] for i in column["index"]]
    return column


def encode_plan(plan: Plan) -> bytes:
    """The file half of a dry run's plan (and its problems), for its ImportBatch."""
    columns = [_pack([getattr(c, name) for c in plan.candidates]) for name in _FIELDS]
    stored = _Stored(
        STORED_VERSION, plan.competition_id, plan.delegation_id, plan.kind, plan.encoding,
        plan.sheet, plan.header_row, plan.headers, plan.fingerprint, plan.rows,
        _encode_problems(plan.file_errors), _encode_problems(plan.errors), columns,
    )  # fmt: skip
    return zlib.compress(msgspec.msgpack.encode(stored), 1)


def decode_plan(blob: bytes) -> Plan | None:
    """The plan `encode_plan` kept; None for a batch kept before plans were (or an unknown
    version): the caller checks its file again."""
    if not blob:
        return None
    try:
        stored = msgspec.msgpack.decode(zlib.decompress(blob), type=_Stored)
    except (zlib.error, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if stored.version != STORED_VERSION or len(stored.columns) != len(_FIELDS):
        return None
    columns = [_unpack(column) for column in stored.columns]
    birth = _FIELDS.index("birth_date")
    # Dates travel as ISO text; each distinct one is made once.
    days = {text: dt.date.fromisoformat(text) for text in set(columns[birth])}
    columns[birth] = [days[text] for text in columns[birth]]
    return Plan(
        competition_id=stored.competition_id,
        delegation_id=stored.delegation_id,
        kind=stored.kind,
        encoding=stored.encoding,
        sheet=stored.sheet,
        header_row=stored.header_row,
        headers=stored.headers,
        fingerprint=stored.fingerprint,
        rows=stored.rows,
        candidates=list(map(Candidate, *columns)),
        file_errors=_decode_problems(stored.file_errors),
        errors=_decode_problems(stored.errors),
    )
