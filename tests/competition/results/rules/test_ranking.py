"""Places with the tie-break chain, against hand-worked tables and against the rule's first,
plain form (a tuple key) on generated groups full of ties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.results.rules.ranking import TIE_BREAKERS, Contender, ordered, rank

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


def _reference(contenders, chain):
    """The rule as first written: a tuple key per contender, ties by key."""
    used = []
    for item in chain:
        if item == "shared":
            break
        used.append(item)

    def key(c):
        parts = [-(c.total or 0)]
        for item in used:
            value = c.completion_seconds if item == "completion_time" else getattr(c, item)
            if item == "completion_time":
                parts.append(1 << 62 if value is None else value)
            else:
                parts.append(1 << 62 if value is None else -value)
        return tuple(parts)

    keyed = sorted(contenders, key=lambda c: (key(c), c.key))
    out, previous, place = [], None, 0
    for position, c in enumerate(keyed, start=1):
        if key(c) != previous:
            place, previous = position, key(c)
        out.append((c.key, place))
    return out


scores = st.one_of(st.none(), st.integers(min_value=0, max_value=12))
contenders = st.lists(
    st.builds(C, key=st.integers(min_value=0, max_value=2**64 - 1),
              total=st.one_of(st.none(), st.integers(min_value=0, max_value=10)),
              practical=scores, theory=scores, oral=scores,
              completion_seconds=st.one_of(st.none(), st.integers(min_value=0, max_value=5))),
    max_size=40, unique_by=lambda c: c.key,
)  # fmt: skip
chains = st.lists(st.sampled_from(TIE_BREAKERS), max_size=5)


@given(contenders, chains)
def test_the_packed_sort_places_as_the_tuple_key_does(contenders, chain):
    # Few distinct values, so ties on every part of the chain are common.
    assert [(c.key, p) for c, p in ordered(contenders, chain)] == _reference(contenders, chain)


@pytest.mark.parametrize("key", [-1, 2**64])
def test_a_key_outside_an_id_s_range_is_refused(key):
    with pytest.raises(ValueError):
        ordered([C(key, 100)], ())
