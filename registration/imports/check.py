"""Each row of a registration file on its own: the dry run's first half, no database.

Row rules are the registration core's: `idcard.parse`, `entries.check_fields` (every field
message) and `eligibility.refusals`. At 200,000 rows those cost ~30 µs a row, so rows go through
a screen first: the ID checksum and birth date for the whole column at once (numpy,
`idcard.screen_many`), then the other field rules with the core's own patterns and limits. A row
the screen doubts goes to the core functions, which produce the messages; the screen only ever
says "certainly fine" (tests/registration/test_bulk_import_rules.py holds the two to the same
verdicts).

One cell, one message: a cell the kit refused (a formula, text a spreadsheet would run) or a
value that cannot be read at all (工龄 "三年", an unknown level, trade or delegation) gets that
message alone — the rules that would need its value are not asked (no "needs 2 years of service"
after "三年" could not be read). An under-age row is refused for its age whatever else is wrong.
"""

from __future__ import annotations

import datetime as dt
from operator import attrgetter
from typing import Any

import numpy as np

from competition import spreadsheets as kit
from competition.errors import ValidationFailed
from competition.i18n import N_, Msg
from competition.spreadsheets import RowProblem
from registration import entries, idcard
from registration.eligibility import Applicant, refusals
from registration.imports.format import (
    COLUMNS,
    FIELD_COLUMN,
    read_skill_level,
    read_years,
    required_keys,
)
from registration.imports.format import grid as format_grid
from registration.imports.plan import Candidate, Context, Plan
from registration.schemas import EntryIn, TradeRules

_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}
# Eligibility refusals that need a column's value: not asked when the value could not be read.
_REFUSAL_NEEDS = {"skill_level": "skill_level", "years_of_service": "years"}
_REFUSAL_CODES = {
    "too_young": "too_young",
    "too_old": "too_old",
    "skill_level": "skill_too_low",
    "years_of_service": "too_few_years",
    "previous_first_prize": "previous_first_prize",
}
# Codes of the core's field messages, by import column.
_FIELD_CODES = {
    "name": "invalid_name",
    "phone": "invalid_phone",
    "employer": "invalid_employer",
    "job": "job_too_long",
    "skill_level": "unknown_skill_level",
    "years": "invalid_years",
    "group": "invalid_group",
    "trade": "unknown_trade",
    "delegation": "unknown_delegation",
}


def _date_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _as_msg(message: str, params: dict[str, Any]) -> Msg:
    if isinstance(message, Msg) and getattr(message, "params", None) is not None:
        return message
    return N_(message, **params)


class _Lookups:
    """Reading the columns whose values repeat (trades, delegations): each distinct value is
    looked up once, with the message for a value that cannot be used."""

    def __init__(self, context: Context):
        self.context = context

    def trade(self, value: str) -> tuple[TradeRules | None, Msg | None]:
        keys = self.context.trade_keys
        trade_id = keys.get(value.upper()) or keys.get(value)
        if trade_id is not None:
            return self.context.rules[trade_id], None
        if not value:
            return None, N_("The trade is required.")
        return None, N_(
            "Unknown trade “{value}”: use a code or name from the sheet “工种与推荐单位” of the "
            "template.",
            value=value,
        )

    def delegation(self, value: str) -> tuple[int | None, Msg | None]:
        context = self.context
        own = context.delegation_id
        if not value:
            return own, None if own is not None else N_("The delegation is required.")
        found = context.delegation_keys.get(value.upper()) or context.delegation_keys.get(value)
        if found is None:
            return None, N_(
                "Unknown delegation “{value}”: use a code or name from the sheet "
                "“工种与推荐单位” of the template.",
                value=value,
            )
        if own is not None and found != own:
            return None, N_(
                "Only rows of your own delegation ({own}) can be imported here.",
                own=context.delegations[own]["name"],
            )
        return found, None


def _screen(
    numbers: list[int],
    ids: list[str],
    names: list[str],
    phones: list[str],
    employers: list[str],
    jobs: list[str],
    groups: list[str],
    skills: list[tuple[int | None, Msg | None]],
    years: list[tuple[int, Msg | None]],
    trades: list[TradeRules | None],
    delegations: list[int | None],
    refused: dict[int, list[RowProblem]],
    context: Context,
    today: dt.date,
) -> tuple[list[Candidate], list[int]]:
    """The rows certainly fine — the conditions of `entries.check_fields` and
    `eligibility.refusals`, the numeric ones for the whole file at once (numpy), the rest row by
    row without building anything — as candidates, and the indices of the others (in order),
    which the core functions judge."""
    n = len(numbers)
    screened, birth_array = idcard.screen_many(ids, today)
    rules = list(context.rules.values())
    position = {t.id: k for k, t in enumerate(rules)}
    none = -(10**9)  # "no rule" (and "no level") in the integer arrays
    trade_index = np.fromiter(
        (position[t.id] if t is not None else -1 for t in trades), dtype=np.int64, count=n
    )
    known = (trade_index >= 0) & screened
    known &= np.fromiter((d is not None for d in delegations), dtype=bool, count=n)
    known &= np.fromiter((e is None for _v, e in skills), dtype=bool, count=n)
    known &= np.fromiter((e is None for _v, e in years), dtype=bool, count=n)
    if refused:
        known[list(refused)] = False
    skill = np.fromiter((none if v is None else v for v, _e in skills), dtype=np.int64, count=n)
    years_array = np.fromiter((v for v, _e in years), dtype=np.int64, count=n)

    def per_trade(values: list[int | None]) -> np.ndarray:
        table = np.array([none if v is None else v for v in values] + [none], dtype=np.int64)
        return table[trade_index]  # index -1: the sentinel, for rows already doubted

    cutoff = per_trade([_date_number(t.cutoff) for t in rules])
    min_age = per_trade([t.eligibility.min_age for t in rules])
    max_age = per_trade([t.eligibility.max_age for t in rules])
    min_skill = per_trade([t.eligibility.min_skill_level for t in rules])
    min_years = per_trade([t.eligibility.min_years_service for t in rules])
    age = (cutoff - birth_array) // 10000
    ok = known & (years_array >= 0) & (years_array <= 50)
    ok &= years_array <= (_date_number(today) - birth_array) // 10000 - 14
    ok &= (min_age == none) | (age >= min_age)
    ok &= (max_age == none) | (age <= max_age)
    ok &= (min_skill == none) | ((skill != none) & (skill <= min_skill))
    ok &= (min_years == none) | (years_array >= min_years)

    births = birth_array.tolist()
    winners = context.winners
    name_ok = entries.NAME.match
    phone_ok = entries.PHONE.match
    isdigit = str.isdigit
    dates: dict[int, dt.date] = {}
    candidates: list[Candidate] = []
    doubted = np.flatnonzero(~ok).tolist()
    for i in np.flatnonzero(ok).tolist():
        trade = trades[i]
        assert trade is not None
        name, employer, job, number = names[i], employers[i], jobs[i], ids[i]
        phone = phones[i].replace("+86", "")
        group = groups[i] if trade.groups else ""
        if (
            name_ok(name)
            and not any(map(isdigit, name))
            and phone_ok(phone)
            and employer
            and len(employer) <= 100
            and len(job) <= 50
            and (not trade.groups or group in trade.groups)
            and not (trade.eligibility.bar_previous_first_prize and (number, trade.name) in winners)
        ):
            birth = births[i]
            born = dates.get(birth)
            if born is None:
                born = dates[birth] = dt.date(birth // 10000, birth // 100 % 100, birth % 100)
            candidates.append(
                Candidate(
                    numbers[i], number, name, "male" if number[16] in "13579" else "female", born,
                    phone, employer, job, skills[i][0], years[i][0], trade.id, delegations[i],
                    group,
                )
            )  # fmt: skip
        else:
            doubted.append(i)
    doubted.sort()
    return candidates, doubted


def check_rows(table: kit.Table, context: Context) -> Plan:
    """Every row against the rules that need no database; raises FileRefused for a file
    without rows or without the columns it needs."""
    with kit.collecting_later():
        return _check_rows(table, context)


def _check_rows(table: kit.Table, context: Context) -> Plan:
    grid = format_grid(table)
    if grid.empty:
        raise kit.no_rows()
    missing = grid.missing(required_keys(context.delegation_id))
    if missing:
        raise kit.missing_columns(missing)
    plan = Plan(
        competition_id=context.competition_id,
        delegation_id=context.delegation_id,
        kind=table.kind,
        encoding=table.encoding,
        sheet=table.sheet,
        header_row=grid.header_row,
        headers=dict(grid.match.headers),
        fingerprint=context.fingerprint,
        rows=len(grid.indices),
        trade_codes={t.id: t.code for t in context.rules.values()},
    )
    numbers = grid.numbers
    names, phones, employers, jobs = (
        grid.column("name"),
        grid.column("phone"),
        grid.column("employer"),
        grid.column("job"),
    )
    levels, years_text, trades = (
        grid.column("skill_level"),
        grid.column("years"),
        grid.column("trade"),
    )
    groups, delegation_text = grid.column("group"), grid.column("delegation")
    ids = grid.column("id_number")
    plan.numbers, plan.id_numbers = numbers, ids
    refused = grid.problems()  # formula cells, text a spreadsheet would run
    today = dt.date.today()
    lookups = _Lookups(context)
    skill_of = {v: read_skill_level(v) for v in set(levels)}
    years_of = {v: read_years(v) for v in set(years_text)}
    trade_of = {v: lookups.trade(v) for v in set(trades)}
    delegation_of = {v: lookups.delegation(v) for v in set(delegation_text)}
    winners = context.winners
    candidates, doubted = _screen(
        numbers, ids, names, phones, employers, jobs, groups,
        [skill_of[v] for v in levels], [years_of[v] for v in years_text],
        [trade_of[v][0] for v in trades], [delegation_of[v][0] for v in delegation_text],
        refused, context, today,
    )  # fmt: skip
    header_key = {grid.header(c.key): c.key for c in COLUMNS}
    fast = len(candidates)

    # The rows the screen doubts: the core functions say what is wrong (or that nothing is).
    for i in doubted:
        name, employer, number = names[i], employers[i], ids[i]
        skill, skill_error = skill_of[levels[i]]
        years, years_error = years_of[years_text[i]]
        trade, trade_error = trade_of[trades[i]]
        delegation_id, delegation_error = delegation_of[delegation_text[i]]
        group = groups[i] if trade is not None and trade.groups else ""
        row = numbers[i]
        mine: dict[str, RowProblem] = {}
        for problem in refused.get(i, ()):
            mine.setdefault(header_key.get(problem.column, ""), problem)

        def note(key: str, message: Msg, code: str, row: int = row, mine=mine) -> None:
            if key not in mine:
                mine[key] = RowProblem(row, grid.header(key), message, code)

        for key, error in (
            ("skill_level", skill_error),
            ("years", years_error),
            ("trade", trade_error),
            ("delegation", delegation_error),
        ):
            if error is not None:
                note(key, error, _FIELD_CODES[key])
        resident = None
        try:
            resident = idcard.parse(number, today=today)
        except ValidationFailed as exc:
            note("id_number", _as_msg(exc.message, exc.params), exc.code)
        entry_in = EntryIn(
            name="" if "name" in mine else name,
            id_number=number,
            phone=phones[i],
            employer="" if "employer" in mine else employer,
            job="" if "job" in mine else jobs[i],
            skill_level=skill,
            years_of_service=years,
            delegation_id=delegation_id or 0,
            trade_id=trade.id if trade is not None else 0,
            group_name=group,
        )
        values = None
        try:
            values = entries.check_fields(entry_in, trade)
        except ValidationFailed as exc:
            for field_name, message in exc.field_errors.items():
                key = FIELD_COLUMN.get(field_name, "")
                note(key, _as_msg(message, exc.params), _FIELD_CODES.get(key, "invalid"))
        if resident is not None and trade is not None:
            won_before = (resident.number, trade.name) in winners
            applicant = Applicant(
                birth_date=resident.birth_date,
                skill_level=skill,
                years_of_service=years,
                won_first_prize_before=won_before,
            )
            for refusal in refusals(trade.eligibility, trade.cutoff, applicant):
                needs = _REFUSAL_NEEDS.get(refusal.code)
                if needs is not None and needs in mine:
                    continue  # the value could not be read: that is what the row is told
                key = f"trade:{refusal.code}"
                mine[key] = RowProblem(
                    row,
                    grid.header("trade"),
                    N_("Not eligible for “{trade}”: {reasons}", trade=trade.name,
                       reasons=[refusal.message]),
                    _REFUSAL_CODES.get(refusal.code, "not_eligible"),
                )  # fmt: skip
        if mine:
            plan.file_errors[row] = [
                mine[key] for key in sorted(mine, key=lambda k: _ORDER.get(k.split(":")[0], 99))
            ]
            continue
        assert values is not None and trade is not None and delegation_id is not None
        fields, resident = values
        candidates.append(
            Candidate(
                row, resident.number, fields["name"], resident.gender, resident.birth_date,
                fields["phone"], fields["employer"], fields["job"], fields["skill_level"],
                fields["years_of_service"], trade.id, delegation_id, fields["group_name"],
            )
        )  # fmt: skip
    grid.release()
    if len(candidates) > fast:  # the core accepted some doubted rows: back into file order
        candidates.sort(key=attrgetter("row"))
    plan.candidates = candidates
    return plan
