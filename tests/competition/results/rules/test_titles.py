"""Titles and promotions as place bands."""

from competition.results.rules.titles import PlaceBand, assign

BANDS = [
    PlaceBand("省技术能手", 1, 3, 6000),
    PlaceBand("优秀选手", 4, 6, 7000, ("职工组",)),
]
ORDERED = [(1, 1, 9000), (2, 2, 8000), (3, 2, 8000), (4, 4, 7500), (5, 5, 6500), (6, 6, 5900)]


def test_the_first_matching_band_shared_by_the_tied():
    assert assign(ORDERED, "职工组", BANDS) == {1: "省技术能手", 2: "省技术能手",
                                                3: "省技术能手", 4: "优秀选手"}  # fmt: skip


def test_a_band_limited_to_a_group():
    assert assign(ORDERED, "学生组", BANDS) == {1: "省技术能手", 2: "省技术能手", 3: "省技术能手"}


def test_the_minimum_total():
    assert assign([(1, 1, 5999)], "", [PlaceBand("能手", 1, 3, 6000)]) == {}
