"""The batch import's fast screen says exactly what the registration core says.

At 200,000 rows the import checks IDs for a whole column at once and the other fields without
building an EntryIn (registration/imports/check.py); a row the screen doubts goes through the
core (`idcard.parse`, `entries.check_fields`, `entries.check_eligible`). These tests hold the
two to the same verdict — and the same values — on rows built around every boundary.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from competition import spreadsheets as kit
from competition.errors import ValidationFailed
from competition.schemas import Eligibility
from competition.spreadsheets import Table
from registration import entries, idcard, imports
from registration.imports.plan import Context
from registration.schemas import EntryIn, TradeRules
from tests.registration.test_bulk_import_files import HEADER

TODAY = dt.date.today()
CUTOFF = dt.date(2027, 4, 19)
WELDER = TradeRules(
    id=1, competition_id=1, code="T001", name="焊工", groups=("职工组", "学生组"),
    eligibility=Eligibility(min_age=16, max_age=60, min_skill_level=5, min_years_service=0),
    cutoff=CUTOFF, max_entries=None,
)  # fmt: skip
PROGRAMMER = TradeRules(
    id=2, competition_id=1, code="T058", name="计算机程序设计员", groups=(),
    eligibility=Eligibility(min_age=18, max_age=35, min_skill_level=3, min_years_service=2),
    cutoff=CUTOFF, max_entries=None,
)  # fmt: skip
OPEN = TradeRules(
    id=3, competition_id=1, code="T047", name="快递员", groups=(),
    eligibility=Eligibility(bar_previous_first_prize=False), cutoff=CUTOFF, max_entries=None,
)  # fmt: skip
TRADES = {t.id: t for t in (WELDER, PROGRAMMER, OPEN)}


def _years_before(day: dt.date, years: int, shift: int = 0) -> dt.date:
    try:
        born = day.replace(year=day.year - years)
    except ValueError:  # 29 February
        born = day.replace(year=day.year - years, day=28)
    return born + dt.timedelta(days=shift)


def _ids() -> list[str]:
    """Valid numbers around every boundary, and each broken in the ways people break them."""
    births = [
        dt.date(1900, 1, 1), dt.date(1988, 2, 29), dt.date(2000, 2, 29), dt.date(1999, 12, 31),
        TODAY,
        _years_before(CUTOFF, 16), _years_before(CUTOFF, 16, 1), _years_before(CUTOFF, 61, 1),
        _years_before(CUTOFF, 61), _years_before(CUTOFF, 36, 1), _years_before(CUTOFF, 18),
    ]  # fmt: skip
    valid = [
        idcard.compose(region, birth, sequence)
        for region in ("630102", "632801")
        for birth in births
        for sequence in (1, 2, 58, 999)
    ]
    broken = []
    for number in valid[::5]:
        broken += [
            number[:17], number[:15], number + "1", number[:17] + "Y", number.lower(),
            number[:16] + str((int(number[16]) + 1) % 10) + number[17],
            number[:6] + "18991231" + number[14:], number[:6] + "19900230" + number[14:],
            number[:6] + "19901301" + number[14:], number[:6] + "20991231" + number[14:],
            number[:10] + "00" + number[12:], "６３" + number[2:], number[:9] + " " + number[9:],
            number.replace(number[3], "A", 1), f"{int(number[:17]) / 10:.5E}",
        ]  # fmt: skip
    # Impossible birth dates behind a correct check character.
    for first17 in ("63010218991231001", "63010220991231001", "63010219900230001",
                    "63010219901301001", "63010219900100001", "63010219000229001"):  # fmt: skip
        broken.append(first17 + idcard.check_character(first17))
    tomorrow = TODAY + dt.timedelta(days=1)
    broken.append(idcard.compose("630102", tomorrow, 1))
    # A wrong check character: each possible one.
    broken += [valid[0][:17] + c for c in "0123456789X" if c != valid[0][17]]
    return valid + broken + [""]


def test_the_id_screen_accepts_exactly_what_idcard_parse_accepts():
    numbers = [kit.clean_code_column([raw])[0] for raw in _ids()]
    screened, births = idcard.screen_many(numbers, TODAY)
    assert screened.sum() > 50 and (~screened).sum() > 50
    for number, ok, birth in zip(numbers, screened.tolist(), births.tolist(), strict=True):
        try:
            parsed = idcard.parse(number, today=TODAY)
        except ValidationFailed:
            assert not ok, number
        else:
            assert ok, number
            assert birth == int(parsed.birth_date.strftime("%Y%m%d"))


def _context(winner: str) -> Context:
    keys = {t.code: t.id for t in TRADES.values()} | {t.name: t.id for t in TRADES.values()}
    return Context(
        competition_id=1,
        limit=1,
        delegation_id=None,
        rules=TRADES,
        trade_keys=keys,
        delegations={7: {"id": 7, "code": "XN", "name": "西宁市总工会"}},
        delegation_keys={"XN": 7},
        winners={(winner, "焊工"), (winner, "快递员")},
    )


def _rows(winner: str) -> list[list[str]]:
    """Rows crossing the field variants that sit on either side of each rule."""
    people = [
        idcard.compose("630102", _years_before(CUTOFF, age, shift), 11 + 2 * n)
        for n, (age, shift) in enumerate(
            [(16, 0), (16, 1), (18, 0), (18, 1), (35, 0), (36, 1), (60, 0), (61, 0), (61, 1)]
        )
    ] + [winner, idcard.compose("632801", _years_before(TODAY, 20), 35)]
    names = ["马建华", "才让·多杰", "Li Wei", "王", "马2华", "-马建华", "马" * 50, "马" * 51]
    phones = ["13900971234", "+8613900971234", "0971-1234567", "1390097123", "139 0097 1234"]
    employers = ["青海某公司", "", "厂" * 100, "厂" * 101]
    jobs = ["", "焊" * 50, "焊" * 51]
    levels = ["", "5", "3", "1", "二级/技师", "初级工"]
    years = ["0", "2", "6", "50", "51"]
    groups = ["职工组", "", "学生组 "]
    trades = ["T001", "计算机程序设计员", "T047"]
    rows = [list(HEADER)]
    combos = itertools.product(people, names, phones, employers, jobs, levels, years, groups,
                               trades)  # fmt: skip
    # Every variant of every field at least once, with its neighbours varying too.
    for i, combo in enumerate(combos):
        if i % 97 == 0:
            person, name, phone, employer, job, level, year, group, trade = combo
            rows.append([name, person, phone, employer, job, level, year, trade, group, "XN"])
    return rows


def _core(cells: list[str], winners: set[tuple[str, str]]) -> dict | None:
    """What the registration core says of a row: its values, or None if refused."""
    name, number, phone, employer, job, level, years, trade_key, group, _d = (
        kit.clean(c) for c in cells
    )
    trade = next(t for t in TRADES.values() if trade_key in (t.code, t.name))
    data = EntryIn(
        name=name, id_number=number, phone=phone, employer=employer, job=job,
        skill_level=kit.parse_skill_level(level), years_of_service=int(years),
        delegation_id=7, trade_id=trade.id, group_name=group,
    )  # fmt: skip
    try:
        fields, resident = entries.check_fields(data, trade)
        entries.check_eligible(trade, resident, fields, (resident.number, trade.name) in winners)
    except ValidationFailed:
        return None
    if any(kit.looks_like_formula(value) for value in (name, employer, job, group)):
        return None  # the kit's rule on top: no text a spreadsheet would run
    return {
        "id_number": resident.number, "name": fields["name"], "gender": resident.gender,
        "birth_date": resident.birth_date, "phone": fields["phone"],
        "employer": fields["employer"], "job": fields["job"],
        "skill_level": fields["skill_level"], "years": fields["years_of_service"],
        "trade_id": trade.id, "group": fields["group_name"],
    }  # fmt: skip


@pytest.mark.parametrize("winner_index", [0, 1])
def test_the_row_screen_gives_the_core_verdict_and_values(winner_index):
    winner = idcard.compose("632722", dt.date(1990, 1, 1), 21 + winner_index * 2)
    rows = _rows(winner)
    plan = imports.check_rows(
        Table(kind="csv", encoding="utf-8", sheet="", rows=rows), _context(winner)
    )
    accepted = {c.row: c for c in plan.candidates}
    assert len(accepted) > 20 and len(plan.file_errors) > 200
    for index, cells in enumerate(rows[1:], start=2):
        expected = _core(cells, {(winner, "焊工"), (winner, "快递员")})
        if expected is None:
            assert index in plan.file_errors and index not in accepted, cells
        else:
            candidate = accepted.get(index)
            assert candidate is not None, (cells, plan.file_errors.get(index))
            assert {k: getattr(candidate, k) for k in expected} == expected, cells


def test_cleaning_a_whole_column_equals_cleaning_each_cell():
    rng = random.Random(7)
    pieces = [" ", "  ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "\ufeff", "\x1c", "a", "Z",
              "马", "１", "Ｘ", "x", "·", "-"]  # fmt: skip
    cells = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))) for _ in range(5000)]
    assert kit.clean_column(cells) == [kit.clean(c) for c in cells]
    assert kit.clean_code_column(cells) == [kit.clean_code(c) for c in cells]
    # A column of few distinct values is cleaned once per value, alike.
    few = [rng.choice(cells[:20]) for _ in range(5000)]
    assert kit.clean_column(few) == [kit.clean(c) for c in few]
    # A cell holding the separator the column is joined with is still handled.
    odd = ["a\x00b", " c "]
    assert kit.clean_column(odd) == [kit.clean(c) for c in odd]
    # An ID number is what idcard.normalise makes of it, without zero-width characters.
    assert kit.clean_code_column(cells) == [
        idcard.normalise(c.replace("\u200b", "").replace("\ufeff", "")) for c in cells
    ]
