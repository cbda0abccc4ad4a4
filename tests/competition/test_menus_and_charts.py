"""The menus packages extend (one item registered into a named group) and the server-drawn
charts (inline SVG: escaped, proportional, accessible)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from competition.web import charts, menus
from competition.web.menus import MenuItem

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def menu(app, monkeypatch):
    """A copy of the organizer's menu (as the assembled app registered it) to extend."""
    groups = [menus.MenuGroup(g.key, g.label, list(g.items)) for g in menus.COMPETITION_MENU]
    monkeypatch.setattr(menus, "COMPETITION_MENU", groups)
    return groups


def test_a_package_adds_an_item_to_a_named_group(menu):
    results = menus.menu_group(menus.RESULTS)
    results.items[:] = []  # as if the results package had registered nothing yet
    assert [g.key for g in menus.shown_groups()] == ["setup", "registration", "checkin", "scoring"]
    scoring = list(menus.menu_group(menus.SCORING).items)
    menus.add_competition_menu_item(MenuItem("marks", "/marks", "Marks"), menus.RESULTS)
    menus.add_competition_menu_item(MenuItem("marks", "/elsewhere", "Again"), menus.SCORING)
    assert [g.key for g in menus.shown_groups()] == [
        "setup", "registration", "checkin", "scoring", "results",
    ]  # fmt: skip
    assert menus.menu_group(menus.RESULTS).items == [MenuItem("marks", "/marks", "Marks")]
    # A key is unique over the whole menu: the second item is not added.
    assert menus.menu_group(menus.SCORING).items == scoring
    assert menus.group_of("marks") == "results"
    assert menus.group_of("quota-usage") == "registration"
    assert menus.group_of("not-in-the-menu") == "setup"
    # Without a group an item still shows, under "More", last.
    menus.add_competition_menu_item(MenuItem("misc", "/misc", "Misc"))
    assert menus.shown_groups()[-1].key == menus.MORE
    with pytest.raises(KeyError):
        menus.add_competition_menu_item(MenuItem("x", "/x", "X"), "no-such-group")


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - markup the test itself just drew


def test_a_bar_chart_is_an_accessible_image_with_bars_in_proportion():
    svg = _parse(
        charts.bar_chart(
            [("西宁市总工会", 120), ("海东<市>", 60), ("海北", 0)], title="各推荐单位", desc="说明"
        )
    )
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert svg.find(f"{SVG}title").text == "各推荐单位"
    assert svg.find(f"{SVG}desc").text == "说明"
    bars = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert bars[0] == pytest.approx(2 * bars[1]) and bars[2] == 0
    tooltips = [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g")]
    assert tooltips == ["西宁市总工会: 120", "海东<市>: 60", "海北: 0"]  # escaped, then parsed
    # The drawing scales with its box: a width in units, no fixed pixel size.
    assert svg.get("viewBox").startswith("0 0 400 ") and svg.get("width") is None


def test_a_stacked_chart_has_a_legend_parts_and_the_total():
    series = [charts.Series("待初审", "#111111"), charts.Series("已通过", "#222222")]
    svg = _parse(charts.stacked_bar_chart([("焊工", [3, 1]), ("电工", [0, 4])], series, title="t"))
    legend = [t.text for t in svg.iter(f"{SVG}text")][:2]
    assert legend == ["待初审", "已通过"]
    groups = list(svg.iter(f"{SVG}g"))
    assert groups[0].find(f"{SVG}title").text == "焊工: 4 (待初审 3、已通过 1)"
    welder = [r for r in groups[0].iter(f"{SVG}rect")]
    assert [r.get("fill") for r in welder] == ["#111111", "#222222"]
    assert float(welder[0].get("width")) == pytest.approx(3 * float(welder[1].get("width")))
    assert [t.text for t in groups[1].iter(f"{SVG}text")] == ["电工", "4"]


def test_a_long_label_is_cut_but_kept_whole_in_its_title():
    label = "省直属机关工会代表队（含省属企业）"
    svg = _parse(charts.bar_chart([(label, 5)], title="t"))
    shown = next(svg.iter(f"{SVG}text")).text
    assert shown.endswith("…") and len(shown) < len(label)
    assert next(svg.iter(f"{SVG}g")).find(f"{SVG}title").text == f"{label}: 5"


def test_a_column_chart_labels_a_few_days_and_an_empty_chart_says_so():
    days = [(f"03-{d:02d}", d) for d in range(1, 31)]
    svg = _parse(charts.column_chart(days, title="每日报名"))
    labels = [t.text for t in svg.iter(f"{SVG}text") if re.fullmatch(r"03-\d\d", t.text or "")]
    assert labels[0] == "03-01" and labels[-1] == "03-30" and 5 <= len(labels) <= 8
    assert len(list(svg.iter(f"{SVG}rect"))) == 30
    empty = _parse(charts.column_chart([], title="每日报名", empty="暂无数据"))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["暂无数据"]
    assert empty.find(f"{SVG}desc").text == "暂无数据"
