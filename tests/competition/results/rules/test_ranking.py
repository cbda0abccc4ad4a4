"""Places with the tie-break chain, against hand-worked tables."""

import pytest

from competition.results.rules.ranking import Contender, ordered, rank

C = Contender
CHAIN = ("practical", "theory", "completion_time", "shared")


@pytest.mark.parametrize(
    ("contenders", "chain", "places"),
    [
        # Competition ranking: 1, 2, 2, 4.
        ([C(1, 9000), C(2, 8500), C(3, 8500), C(4, 8000)], (), {1: 1, 2: 2, 3: 2, 4: 4}),
        # The practical score breaks the tie; theory the next one.
        (
            [C(1, 8500, 6000, 2500), C(2, 8500, 6100, 2400), C(3, 8500, 6000, 2600)],
            CHAIN,
            {2: 1, 3: 2, 1: 3},
        ),
        # Shorter time first; an unknown time after every known one.
        (
            [C(1, 8000, 5000, 3000, None, 3600), C(2, 8000, 5000, 3000, None, None),
             C(3, 8000, 5000, 3000, None, 3500)],
            CHAIN,
            {3: 1, 1: 2, 2: 3},
        ),
        # Still tied at the end of a chain that does not end in "shared": the place is shared.
        ([C(1, 8000, 5000), C(2, 8000, 5000), C(3, 7000)], ("practical",), {1: 1, 2: 1, 3: 3}),
        # "shared" ends the chain: the theory after it is ignored.
        ([C(1, 8000, 5000, 10), C(2, 8000, 5000, 20)], ("practical", "shared", "theory"),
         {1: 1, 2: 1}),
        # An unknown score sorts after every known one.
        ([C(1, 8000, None), C(2, 8000, 0)], ("practical",), {2: 1, 1: 2}),
        ([], CHAIN, {}),
    ],
)  # fmt: skip
def test_places(contenders, chain, places):
    assert rank(contenders, chain) == places


def test_shared_places_list_by_key():
    out = ordered([C(5, 8000), C(2, 8000), C(9, 9000)], ())
    assert [(c.key, p) for c, p in out] == [(9, 1), (2, 2), (5, 2)]


def test_an_unknown_tie_breaker_is_refused():
    with pytest.raises(ValueError):
        rank([C(1, 1)], ("height",))
