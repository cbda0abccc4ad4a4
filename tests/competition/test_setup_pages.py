"""The organizer's structure pages: industries, trades, delegations, quotas, venues, sessions and
stations, driven over HTTP with the database and the audit trail checked afterwards."""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from competition import db, services, structure
from competition.audit import SYSTEM
from competition.i18n import N_, current_locale, gettext, ngettext
from competition.phases import Phase
from competition.schemas import (
    AwardRules,
    DelegationIn,
    Eligibility,
    IndustryIn,
    JudgeRule,
    PromotionBand,
    QuotaIn,
    StationIn,
    TitleRule,
    TradeEvent,
    TradeIn,
    VenueIn,
)
from competition.services import CompetitionIn
from competition.tables import (
    AuditLog,
    Competition,
    CompetitionSession,
    Delegation,
    DelegationKind,
    EventKind,
    Industry,
    Quota,
    Role,
    Station,
    Trade,
    Venue,
)
from tests.support import PASSWORD, login, make_user, post_form

CJK = re.compile(r"[\u4e00-\u9fff]")


def zh(message: str, **params: Any) -> str:
    """A message as the zh-CN page shows it; it must really be Chinese."""
    token = current_locale.set("zh_CN")
    try:
        text = gettext(message, **params)
    finally:
        current_locale.reset(token)
    assert CJK.search(text), f"no Chinese translation for {message!r}"
    return text


def zh_plural(singular: str, plural: str, n: int) -> str:
    token = current_locale.set("zh_CN")
    try:
        text = ngettext(singular, plural, n)
    finally:
        current_locale.reset(token)
    assert CJK.search(text), f"no Chinese translation for {singular!r}"
    return text


def shown(response) -> str:
    return html.unescape(response.text)


class FormValues(HTMLParser):
    """What a browser would submit from the form posting to `action`: inputs, checked boxes,
    selected options and textareas."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and name != "_csrf_token":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = a.get("value") or "on"
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_values(page_html: str, action: str) -> dict[str, str]:
    parser = FormValues(action)
    parser.feed(page_html)
    assert parser.values, f"no form posting to {action}"
    return parser.values


async def audit_rows(action: str) -> list[dict[str, Any]]:
    return (
        await AuditLog.select()
        .where(AuditLog.action == action)
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def org_audit_count() -> int:
    """Audit records written by the organizer of the `setup` fixture (not by its set-up)."""
    return await AuditLog.count().where(AuditLog.actor_name == "org1")


async def count(table) -> int:
    return await table.count()


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
async def setup(empty_db, client):
    """A competition in setup with a little structure, and its organizer signed in."""
    competition_id = await services.create_competition(
        CompetitionIn(code="T26", name="测试大赛", year=2026, age_cutoff=dt.date(2026, 5, 1)),
        SYSTEM,
    )
    await make_user("org1", Role.organizer)
    await structure.import_records(
        "industry", competition_id, [IndustryIn("ZB", "装备制造"), IndustryIn("NY", "能源")], SYSTEM
    )
    await structure.import_records(
        "trade",
        competition_id,
        [TradeIn("T1", "焊工", "ZB", groups=("职工组", "学生组")), TradeIn("T2", "电工", "ZB")],
        SYSTEM,
    )
    await structure.import_records(
        "delegation",
        competition_id,
        [
            DelegationIn("D1", "西宁市总工会", DelegationKind.city),
            DelegationIn("D2", "海东市总工会", DelegationKind.city),
            DelegationIn("D3", "省直属工会", DelegationKind.direct),
        ],
        SYSTEM,
    )
    await structure.import_records(
        "venue", competition_id, [VenueIn("V1", "青海高职"), VenueIn("V2", "交通职院")], SYSTEM
    )
    await login(client, "org1", PASSWORD)
    return competition_id


def base(competition_id: int, slug: str) -> str:
    return f"/org/competitions/{competition_id}/{slug}"


async def set_phase(competition_id: int, phase: Phase) -> None:
    await Competition.update({Competition.phase: phase.value}).where(
        Competition.id == competition_id
    )


# ---------------------------------------------------------------------------- industries


async def test_industry_create_edit_delete(setup, client):
    url = base(setup, "industries")
    response = await post_form(
        client,
        f"{url}/new",
        {"code": "YSYJ", "name": "有色冶金", "name_en": "Metallurgy", "sort_order": "4"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?done=created"
    row = await Industry.select().where(Industry.code == "YSYJ").first()
    assert row["name"] == "有色冶金" and row["name_en"] == "Metallurgy" and row["sort_order"] == 4
    created = await audit_rows("industry.create")
    assert created[-1]["object_id"] == str(row["id"]) and created[-1]["actor_name"] == "org1"

    listing = await client.get(url)
    assert listing.status_code == 200
    assert "有色冶金" in listing.text and zh("Industries") in listing.text
    edit = await client.get(f"{url}/{row['id']}/edit")
    assert edit.status_code == 200
    assert form_values(edit.text, f"{url}/{row['id']}/edit") == {
        "code": "YSYJ",
        "name": "有色冶金",
        "name_en": "Metallurgy",
        "sort_order": "4",
    }

    response = await post_form(
        client,
        f"{url}/{row['id']}/edit",
        {"code": "YSYJ", "name": "有色金属", "name_en": "Metallurgy", "sort_order": "4"},
    )
    assert response.status_code == 303 and response.headers["location"] == f"{url}?done=saved"
    assert (await Industry.select().where(Industry.id == row["id"]).first())["name"] == "有色金属"
    updated = (await audit_rows("industry.update"))[-1]
    assert updated["old"] == {"name": "有色冶金"} and updated["new"] == {"name": "有色金属"}

    response = await post_form(client, f"{url}/{row['id']}/delete")
    assert response.status_code == 303 and response.headers["location"] == f"{url}?done=deleted"
    assert not await Industry.exists().where(Industry.id == row["id"])
    deleted = (await audit_rows("industry.delete"))[-1]
    assert deleted["object_id"] == str(row["id"]) and deleted["old"]["code"] == "YSYJ"


async def test_duplicate_industry_code_is_refused_and_the_form_keeps_the_input(setup, client):
    url = base(setup, "industries")
    before = await count(Industry)
    response = await post_form(client, f"{url}/new", {"code": "ZB", "name": "另一个行业"})
    assert response.status_code == 409
    assert zh("The code is already used.") in shown(response)
    assert form_values(response.text, f"{url}/new")["name"] == "另一个行业"
    assert await count(Industry) == before
    assert await org_audit_count() == 0


async def test_deleting_an_industry_that_has_trades_is_a_conflict(setup, client):
    industry = await Industry.select().where(Industry.code == "ZB").first()
    response = await post_form(client, f"{base(setup, 'industries')}/{industry['id']}/delete")
    assert response.status_code == 409
    assert zh(
        "This {what} is still used by other records and cannot be deleted.",
        what=structure.KINDS["industry"].label,
    ) in shown(response)
    assert await Industry.exists().where(Industry.id == industry["id"])
    assert await audit_rows("industry.delete") == []


async def test_a_record_of_another_competition_is_not_found(setup, client):
    other = await services.create_competition(
        CompetitionIn(code="O1", name="别的", year=2026), SYSTEM
    )
    await structure.save_record("industry", other, IndustryIn("X", "其它"), SYSTEM)
    foreign = await Industry.select().where(Industry.competition == other).first()
    url = base(setup, "industries")
    assert (await client.get(f"{url}/{foreign['id']}/edit")).status_code == 404
    response = await post_form(client, f"{url}/{foreign['id']}/edit", {"code": "X", "name": "改"})
    assert response.status_code == 404
    assert (await post_form(client, f"{url}/{foreign['id']}/delete")).status_code == 404
    assert (await Industry.select().where(Industry.id == foreign["id"]).first())["name"] == "其它"


# ---------------------------------------------------------------------------- trades

FULL_TRADE = {
    "code": "T9",
    "name": "数控车工",
    "name_en": "CNC Turner",
    "industry_code": "NY",
    "groups": "职工组,学生组",
    "sort_order": "7",
    "max_entries": "60",
    "weight_theory": "25",
    "weight_practical": "55",
    "weight_oral": "20",
    "min_age": "18",
    "max_age": "35",
    "age_cutoff": "2026-06-30",
    "min_skill_level": "4",
    "min_years_service": "2",
    "award_mode": "count",
    "award_first": "1",
    "award_second": "2",
    "award_third": "5",
    "award_rounding": "half_up",
    "min_award_score": "65",
    "titles": "青海省技术能手:3\n青海省五一劳动奖章:1\n优秀选手:4-6 ≥70 @职工组",
    "promotions": "1:1-3\n2:4-10 @学生组,职工组",
    "worldskills_view": "1",
    "worldskills_scope": "group",
    "worldskills_spread": "mad",
    "tie_break_1": "completion_time",
    "tie_break_2": "practical",
    "tie_break_3": "shared",
    "tie_break_4": "",
    "tie_break_5": "",
    "judge_rule": "fig_tolerance",
    "judge_rule_version": "1",
    "judgement_tolerance": "2",
    "measurement_tolerance_percent": "15",
    "verify_sheets": "1",
}


async def test_trade_form_round_trips_every_setting(setup, client):
    url = base(setup, "trades")
    response = await post_form(client, f"{url}/new", FULL_TRADE)
    assert response.status_code == 303, shown(response)
    row = await Trade.select().where(Trade.code == "T9").output(load_json=True).first()
    industry = await Industry.select().where(Industry.code == "NY").first()
    assert row["industry"] == industry["id"]
    assert (row["name"], row["name_en"], row["sort_order"], row["max_entries"]) == (
        "数控车工",
        "CNC Turner",
        7,
        60,
    )
    assert row["groups"] == ["职工组", "学生组"]
    assert row["events"] == [
        {"key": "theory", "weight": 25},
        {"key": "practical", "weight": 55},
        {"key": "oral", "weight": 20},
    ]
    assert row["eligibility"] == {
        "min_age": 18,
        "max_age": 35,
        "age_cutoff": "2026-06-30",
        "min_skill_level": 4,
        "min_years_service": 2,
        "bar_previous_first_prize": False,
    }
    assert row["awards"] == {
        "mode": "count",
        "first": 1,
        "second": 2,
        "third": 5,
        "min_score": 65,
        "rounding": "half_up",
        "titles": [
            {"title": "青海省技术能手", "top": 3, "from_place": 1, "min_score": None, "groups": []},
            {
                "title": "青海省五一劳动奖章",
                "top": 1,
                "from_place": 1,
                "min_score": None,
                "groups": [],
            },
            {"title": "优秀选手", "top": 6, "from_place": 4, "min_score": 70, "groups": ["职工组"]},
        ],
        "promotions": [
            {"level": 1, "from_rank": 1, "to_rank": 3, "min_score": None, "groups": []},
            {
                "level": 2,
                "from_rank": 4,
                "to_rank": 10,
                "min_score": None,
                "groups": ["学生组", "职工组"],
            },
        ],
        "worldskills_view": True,
        "worldskills_scope": "group",
        "worldskills_spread": "mad",
    }
    assert row["tie_break"] == ["completion_time", "practical", "shared"]
    assert row["judge_rule"] == {
        "rule": "fig_tolerance",
        "version": 1,
        "judgement_tolerance": 2,
        "measurement_tolerance_percent": 15,
        "verify_sheets": True,
    }
    assert (await audit_rows("trade.create"))[-1]["new"]["code"] == "T9"

    edit_url = f"{url}/{row['id']}/edit"
    edit = await client.get(edit_url)
    assert edit.status_code == 200
    values = form_values(edit.text, edit_url)
    assert values == FULL_TRADE | {"groups": "职工组、学生组"}

    # Saving the form as shown changes nothing and writes no audit record.
    response = await post_form(client, edit_url, values)
    assert response.status_code == 303
    assert await audit_rows("trade.update") == []

    response = await post_form(
        client,
        edit_url,
        values
        | {
            "weight_oral": "",
            "weight_practical": "75",
            "min_skill_level": "",
            "bar_previous_first_prize": "1",
            "tie_break_3": "theory",
            "age_cutoff": "",
        },
    )
    assert response.status_code == 303
    row = await Trade.select().where(Trade.id == row["id"]).output(load_json=True).first()
    assert row["events"] == [{"key": "theory", "weight": 25}, {"key": "practical", "weight": 75}]
    assert row["eligibility"]["min_skill_level"] is None
    assert row["eligibility"]["age_cutoff"] is None
    assert row["eligibility"]["bar_previous_first_prize"] is True
    assert row["tie_break"] == ["completion_time", "practical", "theory"]
    update = (await audit_rows("trade.update"))[-1]
    assert set(update["new"]) == {"events", "eligibility", "tie_break"}

    listing = shown(await client.get(url))
    assert zh("Delete “{name}”? This cannot be undone.", name="T9 数控车工") in listing
    response = await post_form(client, f"{url}/{row['id']}/delete", {"industry": "NY", "q": ""})
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?industry=NY&done=deleted"
    assert not await Trade.exists().where(Trade.id == row["id"])
    deleted = (await audit_rows("trade.delete"))[-1]
    assert deleted["object_id"] == str(row["id"]) and deleted["old"]["code"] == "T9"


async def test_a_stored_trade_shows_its_settings(setup, client):
    """A trade written elsewhere (import, demo loader) opens with its own settings."""
    await structure.save_record(
        "trade",
        setup,
        TradeIn(
            "T7",
            "汽车维修工",
            "ZB",
            events=(TradeEvent(EventKind.practical, 100),),
            eligibility=Eligibility(min_age=None, max_age=22, min_skill_level=1),
            awards=AwardRules(
                titles=[TitleRule("技术能手", 2)], promotions=[PromotionBand(2, 1, 1)]
            ),
            tie_break=("theory",),
            judge_rule=JudgeRule(rule="mean", version=3, judgement_tolerance=0),
        ),
        SYSTEM,
    )
    trade = await Trade.select().where(Trade.code == "T7").first()
    url = f"{base(setup, 'trades')}/{trade['id']}/edit"
    values = form_values((await client.get(url)).text, url)
    assert values["weight_theory"] == "" and values["weight_practical"] == "100"
    assert values["min_age"] == "" and values["max_age"] == "22"
    assert values["min_skill_level"] == "1" and values["bar_previous_first_prize"] == "1"
    assert values["titles"] == "技术能手:2" and values["promotions"] == "2:1-1"
    assert values["award_mode"] == "ratio" and "worldskills_view" not in values
    assert values["tie_break_1"] == "theory" and values["tie_break_2"] == ""
    assert values["judge_rule"] == "mean" and values["judge_rule_version"] == "3"
    assert values["judgement_tolerance"] == "0"
    response = await post_form(client, url, values)
    assert response.status_code == 303
    assert await audit_rows("trade.update") == []


@pytest.mark.parametrize(
    ("changes", "status", "message", "params", "kept"),
    [
        (
            {"weight_theory": "40", "weight_practical": "70", "weight_oral": ""},
            422,
            "The event weights must add up to 100 percent (now {total}).",
            {"total": 110},
            ("weight_theory", "40"),
        ),
        (
            {"min_age": "40", "max_age": "30"},
            422,
            "The maximum age cannot be below the minimum age.",
            {},
            ("min_age", "40"),
        ),
        (
            {"industry_code": "NOPE"},
            422,
            "Unknown {what} code “{value}”.",
            {"what": N_("industry"), "value": "NOPE"},
            ("name", "数控车工"),
        ),
        (
            {"code": "T1"},
            409,
            "The code is already used.",
            {},
            ("code", "T1"),
        ),
        (
            {"tie_break_1": "practical", "tie_break_2": "practical"},
            422,
            "Each tie-breaker is one of the listed ones, used once.",
            {},
            ("tie_break_2", "practical"),
        ),
        (
            {"titles": "省技术能手 三名"},
            422,
            "Write one title a line as “title:N”, e.g. 省技术能手:3.",
            {},
            ("titles", "省技术能手 三名"),
        ),
        (
            {"judgement_tolerance": "4"},
            422,
            "The judgement tolerance is between 0 and 3.",
            {},
            ("judgement_tolerance", "4"),
        ),
    ],
)
async def test_bad_trade_input_is_refused_with_the_form_kept(
    setup, client, changes, status, message, params, kept
):
    url = base(setup, "trades")
    before = await count(Trade)
    response = await post_form(client, f"{url}/new", FULL_TRADE | changes)
    assert response.status_code == status
    assert zh(message, **params) in shown(response)
    values = form_values(response.text, f"{url}/new")
    assert values[kept[0]] == kept[1]
    assert await count(Trade) == before
    assert await org_audit_count() == 0


async def test_editing_a_trade_to_another_trades_code_is_refused(setup, client):
    trade = await Trade.select().where(Trade.code == "T2").first()
    url = f"{base(setup, 'trades')}/{trade['id']}/edit"
    values = form_values((await client.get(url)).text, url)
    response = await post_form(client, url, values | {"code": "T1", "name": "电工（改）"})
    assert response.status_code == 422
    assert zh("The code “{value}” is already used.", value="T1") in shown(response)
    assert form_values(response.text, url)["name"] == "电工（改）"
    assert (await Trade.select().where(Trade.id == trade["id"]).first())["code"] == "T2"


async def test_trade_list_filters_and_summarises(setup, client):
    await structure.import_records(
        "quota",
        setup,
        [QuotaIn("D1", "T1", 3), QuotaIn("D2", "T1", 2), QuotaIn("D1", "T2", 2)],
        SYSTEM,
    )
    url = base(setup, "trades")
    page = shown(await client.get(url))
    assert "焊工" in page and "电工" in page
    assert "职工组、学生组" in page
    assert zh("{low}–{high} per delegation", low=2, high=3) in page
    assert zh("{n} delegations · {total} places", n=2, total=5) in page
    assert zh("{cap} per delegation", cap=2) in page
    searched = shown(await client.get(url, params={"q": "焊"}))
    assert ">焊工<" in searched and ">电工<" not in searched
    by_code = shown(await client.get(url, params={"q": "t2"}))
    assert ">电工<" in by_code and ">焊工<" not in by_code
    other_industry = shown(await client.get(url, params={"industry": "NY"}))
    assert ">焊工<" not in other_industry and zh("No trades match.") in other_industry


# ---------------------------------------------------------------------------- delegations


async def test_delegation_create_edit_delete(setup, client):
    url = base(setup, "delegations")
    data = {
        "code": "HX",
        "name": "海西州总工会",
        "kind": "city",
        "contact_name": "赵建平",
        "contact_phone": "13900971008",
        "sort_order": "8",
    }
    response = await post_form(client, f"{url}/new", data)
    assert response.status_code == 303
    row = await Delegation.select().where(Delegation.code == "HX").first()
    assert (row["name"], row["kind"], row["contact_phone"]) == (
        "海西州总工会",
        "city",
        "13900971008",
    )
    assert (await audit_rows("delegation.create"))[-1]["object_id"] == str(row["id"])

    edit_url = f"{url}/{row['id']}/edit"
    assert form_values((await client.get(edit_url)).text, edit_url) == data
    response = await post_form(client, edit_url, data | {"kind": "industry_union"})
    assert response.status_code == 303
    assert (await audit_rows("delegation.update"))[-1]["new"] == {"kind": "industry_union"}

    listing = shown(await client.get(url))
    assert "海西州总工会" in listing
    assert zh("Provincial industry union") in listing

    response = await post_form(client, f"{url}/{row['id']}/delete")
    assert response.status_code == 303
    assert not await Delegation.exists().where(Delegation.id == row["id"])
    assert (await audit_rows("delegation.delete"))[-1]["object_id"] == str(row["id"])


async def test_duplicate_delegation_name_is_refused(setup, client):
    response = await post_form(
        client,
        f"{base(setup, 'delegations')}/new",
        {"code": "D9", "name": "西宁市总工会", "kind": "city"},
    )
    assert response.status_code == 422
    assert zh("The name “{value}” is already used.", value="西宁市总工会") in shown(response)
    assert not await Delegation.exists().where(Delegation.code == "D9")


# ---------------------------------------------------------------------------- quotas


async def test_quota_grid_saves_every_delegation_in_one_go(setup, client):
    url = base(setup, "quotas")
    trade = await Trade.select().where(Trade.code == "T1").first()
    ids = {r["code"]: r["id"] for r in await Delegation.select()}
    page = await client.get(url, params={"trade": "T1"})
    assert page.status_code == 200
    values = form_values(page.text, f"{url}/bulk")
    assert values == {"trade": "T1", **{f"cap_{i}": "" for i in ids.values()}}

    response = await post_form(
        client,
        f"{url}/bulk",
        {"trade": "T1", f"cap_{ids['D1']}": "3", f"cap_{ids['D2']}": "2", f"cap_{ids['D3']}": ""},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?trade=T1&done=saved"
    caps = {
        r["delegation"]: r["max_entries"]
        for r in await Quota.select().where(Quota.trade == trade["id"])
    }
    assert caps == {ids["D1"]: 3, ids["D2"]: 2}
    created = await audit_rows("quota.create")
    assert len(created) == 2 and {r["actor_name"] for r in created} == {"org1"}

    page = await client.get(url, params={"trade": "T1"})
    assert form_values(page.text, f"{url}/bulk")[f"cap_{ids['D1']}"] == "3"
    assert zh("Places in this trade") in shown(page)
    assert re.search(r'<div class="figure">5</div>', page.text)

    # A blank box leaves a quota as it is; a changed one is updated, all in one record each.
    response = await post_form(
        client,
        f"{url}/bulk",
        {"trade": "T1", f"cap_{ids['D1']}": "", f"cap_{ids['D2']}": "4", f"cap_{ids['D3']}": "1"},
    )
    assert response.status_code == 303
    caps = {
        r["delegation"]: r["max_entries"]
        for r in await Quota.select().where(Quota.trade == trade["id"])
    }
    assert caps == {ids["D1"]: 3, ids["D2"]: 4, ids["D3"]: 1}
    assert len(await audit_rows("quota.update")) == 1
    assert len(await audit_rows("quota.create")) == 3

    # Every delegation set to one number.
    response = await post_form(client, f"{url}/fill", {"trade": "T1", "fill": "2"})
    assert response.status_code == 303
    caps = [r["max_entries"] for r in await Quota.select().where(Quota.trade == trade["id"])]
    assert caps == [2, 2, 2]

    # Rows and places are named apart: three quota rows hold six places.
    overview = shown(await client.get(url))
    heading = re.search(r"<h1>(.*?)</h1>", overview, re.S).group(1)
    assert zh_plural("{n} quota row", "{n} quota rows", 3) in heading
    assert zh_plural("{n} place", "{n} places", 6) in heading


async def test_a_quota_can_be_left_unlimited(setup, client):
    """不限: the grid, the fill form and the single form each set a quota without a number; the
    pages show 不限 and count it apart from the places."""
    url = base(setup, "quotas")
    trade = await Trade.select().where(Trade.code == "T1").first()
    ids = {r["code"]: r["id"] for r in await Delegation.select()}
    response = await post_form(
        client,
        f"{url}/bulk",
        {
            "trade": "T1",
            f"cap_{ids['D1']}": "3",
            f"cap_{ids['D2']}_unlimited": "1",
            # The box wins over a number typed next to it.
            f"cap_{ids['D3']}": "7",
            f"cap_{ids['D3']}_unlimited": "1",
        },
    )
    assert response.status_code == 303
    caps = {
        r["delegation"]: r["max_entries"]
        for r in await Quota.select().where(Quota.trade == trade["id"])
    }
    assert caps == {ids["D1"]: 3, ids["D2"]: None, ids["D3"]: None}
    created = {r["object_id"]: r["new"] for r in await audit_rows("quota.create")}
    assert sorted(n["max_entries"] is None for n in created.values()) == [False, True, True]

    page = await client.get(url, params={"trade": "T1"})
    values = form_values(page.text, f"{url}/bulk")
    assert values[f"cap_{ids['D1']}"] == "3" and f"cap_{ids['D1']}_unlimited" not in values
    assert values[f"cap_{ids['D2']}_unlimited"] == "1" and values[f"cap_{ids['D2']}"] == ""
    cards = shown(page)
    assert re.search(
        r'<div class="figure">3</div><div class="label">' + zh("Places in this trade"), cards
    )
    assert zh_plural("{n} unlimited", "{n} unlimited", 2) in cards

    overview = shown(await client.get(url))
    row = re.search(r"<tr>\s*<td[^>]*><code>T1</code>.*?</tr>", overview, re.S).group(0)
    assert "3" in row and zh("unlimited") in row
    trades = shown(await client.get(base(setup, "trades")))
    assert zh_plural("{n} unlimited", "{n} unlimited", 2) in trades

    # Fill: every delegation of T2 unlimited; the single form: back to a number and unlimited.
    response = await post_form(client, f"{url}/fill", {"trade": "T2", "fill_unlimited": "1"})
    assert response.status_code == 303
    t2 = await Trade.select().where(Trade.code == "T2").first()
    assert {r["max_entries"] for r in await Quota.select().where(Quota.trade == t2["id"])} == {None}
    assert zh("Unlimited for every delegation") in shown(await client.get(base(setup, "trades")))
    quota = (
        await Quota.select()
        .where((Quota.trade == t2["id"]) & (Quota.delegation == ids["D1"]))
        .first()
    )
    edit_url = f"{url}/{quota['id']}/edit"
    assert form_values((await client.get(edit_url)).text, edit_url)["max_entries_unlimited"] == "1"
    response = await post_form(client, edit_url, {"max_entries": "2"})
    assert response.status_code == 303
    assert (await Quota.select().where(Quota.id == quota["id"]).first())["max_entries"] == 2
    response = await post_form(client, edit_url, {"max_entries": "", "max_entries_unlimited": "1"})
    assert response.status_code == 303
    assert (await Quota.select().where(Quota.id == quota["id"]).first())["max_entries"] is None
    # Neither a number nor 不限: the form says the field is required and keeps the rest.
    response = await post_form(client, edit_url, {"max_entries": ""})
    assert response.status_code == 422
    assert zh("This field is required.") in shown(response)


async def test_quota_grid_is_all_or_nothing(setup, client):
    url = base(setup, "quotas")
    ids = {r["code"]: r["id"] for r in await Delegation.select()}
    response = await post_form(
        client,
        f"{url}/bulk",
        {"trade": "T2", f"cap_{ids['D1']}": "2", f"cap_{ids['D2']}": "5000"},
    )
    assert response.status_code == 422
    page = shown(response)
    assert zh("A quota is between 0 and 1000.") in page
    assert (
        zh_plural(
            "Nothing was saved: {n} row has an error.",
            "Nothing was saved: {n} rows have errors.",
            1,
        )
        in page
    )
    values = form_values(response.text, f"{url}/bulk")
    assert values[f"cap_{ids['D1']}"] == "2" and values[f"cap_{ids['D2']}"] == "5000"
    assert await count(Quota) == 0
    assert await audit_rows("quota.create") == []

    response = await post_form(client, f"{url}/bulk", {"trade": "T2", f"cap_{ids['D3']}": "两"})
    assert response.status_code == 422
    assert zh("Enter a whole number.") in shown(response)
    response = await post_form(client, f"{url}/fill", {"trade": "T2", "fill": "-1"})
    assert response.status_code == 422
    assert await count(Quota) == 0
    response = await post_form(client, f"{url}/bulk", {"trade": "NOPE"})
    assert response.status_code == 404


async def test_single_quota_create_edit_delete(setup, client):
    url = base(setup, "quotas")
    response = await post_form(
        client, f"{url}/new", {"trade_code": "T2", "delegation_code": "D3", "max_entries": "2"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?trade=T2&done=created"
    quota = await Quota.select().first()
    assert quota["max_entries"] == 2

    response = await post_form(
        client, f"{url}/new", {"trade_code": "T2", "delegation_code": "D3", "max_entries": "5"}
    )
    assert response.status_code == 409
    assert zh("This delegation already has a quota for this trade.") in shown(response)

    edit_url = f"{url}/{quota['id']}/edit"
    edit = await client.get(edit_url)
    assert "电工" in edit.text and "省直属工会" in edit.text
    # The delegation and trade are the quota's identity: only the number changes.
    response = await post_form(
        client, edit_url, {"trade_code": "T1", "delegation_code": "D1", "max_entries": "4"}
    )
    assert response.status_code == 303
    row = await Quota.select().where(Quota.id == quota["id"]).first()
    assert (row["max_entries"], row["trade"], row["delegation"]) == (
        4,
        quota["trade"],
        quota["delegation"],
    )
    assert (await audit_rows("quota.update"))[-1]["new"] == {"max_entries": 4}

    response = await post_form(client, f"{url}/{quota['id']}/delete", {"trade": "T2"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?trade=T2&done=deleted"
    assert await count(Quota) == 0
    assert (await audit_rows("quota.delete"))[-1]["old"]["max_entries"] == 4


# ---------------------------------------------------------------------------- venues


async def test_venue_create_edit_delete(setup, client):
    url = base(setup, "venues")
    response = await post_form(
        client, f"{url}/new", {"code": "V3", "name": "建筑职院", "address": "西宁市城中区"}
    )
    assert response.status_code == 303
    row = await Venue.select().where(Venue.code == "V3").first()
    assert row["address"] == "西宁市城中区"
    edit_url = f"{url}/{row['id']}/edit"
    response = await post_form(
        client, edit_url, {"code": "V3B", "name": "建筑职院", "address": "西宁市城中区"}
    )
    assert response.status_code == 303
    assert (await audit_rows("venue.update"))[-1]["new"] == {"code": "V3B"}
    response = await post_form(client, f"{url}/{row['id']}/delete")
    assert response.status_code == 303
    assert not await Venue.exists().where(Venue.id == row["id"])
    assert len(await audit_rows("venue.delete")) == 1


async def test_a_venue_with_stations_cannot_be_deleted(setup, client):
    await structure.save_record("station", setup, StationIn("V1", "A01"), SYSTEM)
    venue = await Venue.select().where(Venue.code == "V1").first()
    response = await post_form(client, f"{base(setup, 'venues')}/{venue['id']}/delete")
    assert response.status_code == 409
    assert zh(
        "This {what} is still used by other records and cannot be deleted.",
        what=structure.KINDS["venue"].label,
    ) in shown(response)
    assert await Venue.exists().where(Venue.id == venue["id"])


# ---------------------------------------------------------------------------- sessions


async def test_session_times_are_local(setup, client):
    url = base(setup, "sessions")
    data = {
        "trade_code": "T1",
        "venue_code": "V1",
        "code": "T1-P1",
        "name": "操作技能 第1场",
        "event": "practical",
        "starts_at": "2026-05-02T08:30",
        "ends_at": "2026-05-02T12:00",
    }
    response = await post_form(client, f"{url}/new", data)
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?trade=T1&done=created"
    row = await CompetitionSession.select().where(CompetitionSession.code == "T1-P1").first()
    # Asia/Shanghai is UTC+8.
    assert row["starts_at"] == dt.datetime(2026, 5, 2, 0, 30, tzinfo=dt.UTC)
    assert row["ends_at"] == dt.datetime(2026, 5, 2, 4, 0, tzinfo=dt.UTC)
    assert (await audit_rows("session.create"))[-1]["object_id"] == str(row["id"])

    edit_url = f"{url}/{row['id']}/edit"
    assert form_values((await client.get(edit_url)).text, edit_url) == data
    listing = shown(await client.get(url, params={"trade": "T1"}))
    assert "2026-05-02 08:30 – 12:00" in listing and "操作技能 第1场" in listing
    assert "操作技能 第1场" not in shown(await client.get(url, params={"trade": "T2"}))
    assert "操作技能 第1场" not in shown(await client.get(url, params={"venue": "V2"}))

    response = await post_form(client, edit_url, data | {"venue_code": "V2", "event": "theory"})
    assert response.status_code == 303
    venue = await Venue.select().where(Venue.code == "V2").first()
    assert (await audit_rows("session.update"))[-1]["new"] == {
        "venue": venue["id"],
        "event": "theory",
    }

    response = await post_form(client, f"{url}/{row['id']}/delete", {"trade": "T1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?trade=T1&done=deleted"
    assert await count(CompetitionSession) == 0
    assert len(await audit_rows("session.delete")) == 1


async def test_a_session_that_ends_before_it_starts_is_refused(setup, client):
    url = base(setup, "sessions")
    data = {
        "trade_code": "T1",
        "venue_code": "V1",
        "code": "T1-P1",
        "name": "操作技能",
        "event": "practical",
        "starts_at": "2026-05-02T12:00",
        "ends_at": "2026-05-02T08:00",
    }
    response = await post_form(client, f"{url}/new", data)
    assert response.status_code == 422
    assert zh("A session must end after it starts.") in shown(response)
    assert form_values(response.text, f"{url}/new") == data
    assert await count(CompetitionSession) == 0

    response = await post_form(client, f"{url}/new", data | {"venue_code": "V9", "ends_at": ""})
    assert response.status_code == 422
    assert zh("This field is required.") in shown(response)
    response = await post_form(
        client, f"{url}/new", data | {"venue_code": "V9", "ends_at": "2026-05-02T18:00"}
    )
    assert response.status_code == 422
    assert zh("Unknown {what} code “{value}”.", what=N_("venue"), value="V9") in shown(response)
    assert await count(CompetitionSession) == 0


# ---------------------------------------------------------------------------- stations


async def test_station_create_edit_delete(setup, client):
    url = base(setup, "stations")
    response = await post_form(
        client, f"{url}/new", {"venue_code": "V1", "code": "A01", "label": "焊接1号位"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?venue=V1&done=created"
    row = await Station.select().where(Station.code == "A01").first()
    assert row["label"] == "焊接1号位"
    response = await post_form(
        client, f"{url}/new", {"venue_code": "V1", "code": "A01", "label": "重复"}
    )
    assert response.status_code == 409
    assert zh("The code is already used.") in shown(response)
    # The same code in another venue is another station.
    response = await post_form(client, f"{url}/new", {"venue_code": "V2", "code": "A01"})
    assert response.status_code == 303

    edit_url = f"{url}/{row['id']}/edit"
    response = await post_form(
        client, edit_url, {"venue_code": "V1", "code": "A01", "label": "焊接一号位"}
    )
    assert response.status_code == 303
    assert (await audit_rows("station.update"))[-1]["new"] == {"label": "焊接一号位"}
    response = await post_form(client, f"{url}/{row['id']}/delete", {"venue": "V1"})
    assert response.status_code == 303
    assert not await Station.exists().where(Station.id == row["id"])
    assert len(await audit_rows("station.delete")) == 1


async def test_generating_stations_for_a_venue(setup, client):
    url = base(setup, "stations")
    venue = await Venue.select().where(Venue.code == "V1").first()
    response = await post_form(
        client, f"{url}/generate", {"venue_code": "V1", "prefix": "A", "count": "40"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?venue=V1&done=created"
    codes = [
        r["code"]
        for r in await Station.select(Station.code)
        .where(Station.venue == venue["id"])
        .order_by(Station.code)
    ]
    assert codes == [f"A{n:02d}" for n in range(1, 41)]
    assert len(await audit_rows("station.create")) == 40

    # Again with more: only the new codes are added, existing labels are left alone.
    await Station.update({Station.label: "门口"}).where(Station.code == "A01")
    response = await post_form(
        client, f"{url}/generate", {"venue_code": "V1", "prefix": "A", "count": "42"}
    )
    assert response.status_code == 303
    assert await Station.count().where(Station.venue == venue["id"]) == 42
    assert len(await audit_rows("station.create")) == 42
    assert (await Station.select().where(Station.code == "A01").first())["label"] == "门口"
    listing = shown(await client.get(url, params={"venue": "V1"}))
    assert "A42" in listing

    response = await post_form(
        client, f"{url}/generate", {"venue_code": "V1", "prefix": "B#", "count": "3"}
    )
    assert response.status_code == 422
    assert zh("A code has 1 to 32 letters, digits or - _ .") in shown(response)
    response = await post_form(
        client, f"{url}/generate", {"venue_code": "V1", "prefix": "B", "count": "0"}
    )
    assert response.status_code == 422
    assert zh("The number is out of range.") in shown(response)
    assert await count(Station) == 42


# ---------------------------------------------------------------------------- phase


async def test_no_structure_changes_once_competing(setup, client):
    await set_phase(setup, Phase.competing)
    phase_message = zh(
        "“{action}” is not possible while the competition is in “{current}”.",
        action=N_("Changing the competition's structure"),
        current=N_("Competing and scoring"),
    )
    trade = await Trade.select().where(Trade.code == "T1").first()
    edit_url = f"{base(setup, 'trades')}/{trade['id']}/edit"
    edit = await client.get(edit_url)
    assert edit.status_code == 200
    assert zh(
        "The structure can no longer be changed: the competition is in “{phase}”.",
        phase=N_("Competing and scoring"),
    ) in shown(edit)
    values = form_values(edit.text, edit_url)
    response = await post_form(client, edit_url, values | {"name": "焊工（新）"})
    assert response.status_code == 409
    assert phase_message in shown(response)
    assert form_values(response.text, edit_url)["name"] == "焊工（新）"
    assert (await Trade.select().where(Trade.id == trade["id"]).first())["name"] == "焊工"

    response = await post_form(
        client, f"{base(setup, 'industries')}/new", {"code": "NEW", "name": "新行业"}
    )
    assert response.status_code == 409 and phase_message in shown(response)
    response = await post_form(client, f"{base(setup, 'trades')}/{trade['id']}/delete")
    assert response.status_code == 409 and phase_message in shown(response)
    assert await Trade.exists().where(Trade.id == trade["id"])
    delegation = await Delegation.select().where(Delegation.code == "D1").first()
    response = await post_form(
        client, f"{base(setup, 'quotas')}/bulk", {"trade": "T1", f"cap_{delegation['id']}": "2"}
    )
    assert response.status_code == 409 and phase_message in shown(response)
    response = await post_form(
        client, f"{base(setup, 'stations')}/generate", {"venue_code": "V1", "count": "3"}
    )
    assert response.status_code == 409
    assert await count(Quota) == 0 and await count(Station) == 0
    assert not await Industry.exists().where(Industry.code == "NEW")
    assert await org_audit_count() == 0


# ---------------------------------------------------------------------------- access

PAGES = ["industries", "trades", "delegations", "quotas", "venues", "sessions", "stations"]


async def test_an_organizer_of_another_competition_is_refused(setup, client, other_client):
    other = await services.create_competition(
        CompetitionIn(code="O2", name="别届", year=2026), SYSTEM
    )
    await make_user("org2", Role.organizer, competition_id=other)
    await login(other_client, "org2", PASSWORD)
    for slug in PAGES:
        response = await other_client.get(base(setup, slug))
        assert response.status_code == 403, slug
        assert (await other_client.get(f"{base(other, slug)}")).status_code == 200, slug
        response = await post_form(other_client, f"{base(setup, slug)}/new", {"code": "X"})
        assert response.status_code == 403, slug
    industry = await Industry.select().where(Industry.code == "NY").first()
    response = await post_form(other_client, f"{base(setup, 'industries')}/{industry['id']}/delete")
    assert response.status_code == 403
    assert await Industry.exists().where(Industry.id == industry["id"])


@pytest.mark.parametrize("username", ["xining", "judge"])
async def test_other_roles_are_refused(demo, client, username):
    await login(client, username)
    for slug in PAGES:
        url = base(demo.competition_id, slug)
        assert (await client.get(url)).status_code == 403, slug
        assert (await client.get(f"{url}/new")).status_code == 403, slug
        response = await post_form(client, f"{url}/new", {"code": "X", "name": "X"})
        assert response.status_code == 403, slug
    trade = await Trade.select().where(Trade.code == "T001").first()
    url = f"{base(demo.competition_id, 'trades')}/{trade['id']}"
    assert (await client.get(f"{url}/edit")).status_code == 403
    assert (await post_form(client, f"{url}/delete")).status_code == 403
    assert await Trade.exists().where(Trade.id == trade["id"])


async def test_anonymous_visitors_are_sent_to_sign_in(demo, client):
    for slug in PAGES:
        url = base(demo.competition_id, slug)
        response = await client.get(url)
        assert response.status_code == 303, slug
        assert response.headers["location"].startswith("/login?next=")


# ---------------------------------------------------------------------------- the demo


class QueryCounter:
    """Counts the statements the app sends, to prove a page does not query once per row."""

    def __init__(self, monkeypatch):
        self.count = 0
        engine_class = type(db.engine())
        original = engine_class.run_querystring

        async def counted(engine, *args, **kwargs):
            self.count += 1
            return await original(engine, *args, **kwargs)

        monkeypatch.setattr(engine_class, "run_querystring", counted)


async def test_demo_pages_render_with_a_fixed_number_of_queries(demo, client, monkeypatch):
    await login(client, "organizer")
    counter = QueryCounter(monkeypatch)
    cid = demo.competition_id
    trades = await Trade.count().where(Trade.competition == cid)
    delegations = await Delegation.count().where(Delegation.competition == cid)
    assert (trades, delegations) == (102, 29)
    checks = {
        "trades": ["焊工", "T001"],
        "quotas?trade=T001": ["西宁市总工会"],
        "quotas": ["T102"],
        "delegations": ["海西州总工会"],
        "industries": ["装备制造"],
        "venues": ["青海高等职业技术学院"],
        "sessions": ["T001-P1"],
        "sessions?trade=T001": ["T001-P2"],
        "stations?venue=QHGZ": ["A60"],
        "stations": ["A01"],
    }
    for path, expected in checks.items():
        counter.count = 0
        response = await client.get(f"/org/competitions/{cid}/{path}")
        assert response.status_code == 200, path
        for text in expected:
            assert text in response.text, (path, text)
        assert counter.count <= 12, (path, counter.count)
    grid = await client.get(f"/org/competitions/{cid}/quotas", params={"trade": "T001"})
    values = form_values(grid.text, f"/org/competitions/{cid}/quotas/bulk")
    assert len([k for k in values if k.startswith("cap_")]) == 29
    assert {v for k, v in values.items() if k.startswith("cap_")} == {"3"}
    assert zh("{n} delegations · {total} places", n=29, total=87) in shown(
        await client.get(f"/org/competitions/{cid}/trades", params={"q": "T001"})
    )

    trade = await Trade.select().where(Trade.code == "T001").first()
    counter.count = 0
    edit = await client.get(f"/org/competitions/{cid}/trades/{trade['id']}/edit")
    assert edit.status_code == 200 and counter.count <= 12
    values = form_values(edit.text, f"/org/competitions/{cid}/trades/{trade['id']}/edit")
    assert values["titles"] == "青海省技术能手:3" and values["promotions"] == "1:1-3\n2:4-10"


async def test_demo_quota_fill_for_a_trade_is_one_audited_import(demo_mutable, client):
    await login(client, "organizer")
    cid = demo_mutable.competition_id
    trade = await Trade.select().where(Trade.code == "T003").first()
    response = await post_form(
        client, f"/org/competitions/{cid}/quotas/fill", {"trade": "T003", "fill": "4"}
    )
    assert response.status_code == 303
    caps = {r["max_entries"] for r in await Quota.select().where(Quota.trade == trade["id"])}
    assert caps == {4}
    updates = await AuditLog.select().where(
        (AuditLog.action == "quota.update") & (AuditLog.actor_name == "organizer")
    )
    assert len(updates) == 29


async def test_the_setup_pages_speak_english_on_english_pages(demo, client):
    await login(client, "organizer")
    client.cookies.set("lang", "en")
    cid = demo.competition_id
    headings = {
        "industries": "Industries 23 in all",
        "trades": "Trades 102 of 102",
        "delegations": "Delegations 29 in all",
        "quotas": "Quotas 2958 quota rows · 6206 places",
        "venues": "Venues 10 in all",
    }
    for slug, heading in headings.items():
        page = (await client.get(base(cid, slug))).text
        h1 = " ".join(
            html.unescape(
                re.sub(r"<[^>]+>", " ", re.search(r"<h1>(.*?)</h1>", page, re.S)[1])
            ).split()
        )
        assert h1 == heading, slug
        assert not CJK.search(h1), slug
    quotas = (await client.get(base(cid, "quotas"), params={"trade": "T001"})).text
    assert "<h2><code>T001</code> Welder</h2>" in quotas
