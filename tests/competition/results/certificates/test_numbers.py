"""Certificate numbers: their shape, the check character against typing mistakes, lenient
reading of a typed number, the same number for the same certificate, none shared over 60,000."""

from __future__ import annotations

from competition.results.certificates import numbers

SECRET = "s" * 40


def test_a_number_reads_as_the_competition_and_a_keyed_part_with_its_check_character():
    number = numbers.make_number("qh16", SECRET, "1:2:award")
    prefix, first, rest = number.split("-")
    assert prefix == "QH16" and len(first) == 4 and len(rest) == 5
    assert numbers.well_formed(number)
    # The same certificate, the same number; another entry or kind, another.
    assert numbers.make_number("QH16", SECRET, "1:2:award") == number
    assert numbers.make_number("QH16", SECRET, "1:2:title") != number
    assert numbers.make_number("QH16", SECRET, "1:3:award") != number
    # Another installation's secret makes other numbers: the part cannot be computed outside.
    assert numbers.make_number("QH16", "t" * 40, "1:2:award") != number


def test_the_check_character_catches_one_wrong_character_and_neighbours_swapped():
    number = numbers.make_number("QH16", SECRET, "7:77:award")
    body = number.split("-", 1)[1].replace("-", "")
    head, check = body[:8], body[8]
    for i in range(8):
        for char in numbers.ALPHABET:
            if char != head[i]:
                assert numbers.check_character(head[:i] + char + head[i + 1 :]) != check
    for i in range(7):
        swapped = head[:i] + head[i + 1] + head[i] + head[i + 2 :]
        if swapped != head and {head[i], head[i + 1]} != {"0", "Z"}:
            assert numbers.check_character(swapped) != check
    typo = f"QH16-{head[:3]}{'1' if head[3] != '1' else '2'}-{head[4:]}{check}"
    assert not numbers.well_formed(typo)


def test_a_typed_number_is_read_leniently():
    number = numbers.make_number("QH16", SECRET, "1:2:award")
    prefix, rest = number.split("-", 1)
    # Lower case, spaces, O for 0 and l for 1 in the keyed part (the prefix is the code as is).
    typed = f" {prefix.lower()} - {rest.lower().replace('0', 'o').replace('1', 'l')} "
    assert numbers.normalise(typed) == number
    assert numbers.normalise(number.replace("-", "")) != number  # the prefix needs its hyphen
    assert not numbers.well_formed("QH16-ABCD")
    assert not numbers.well_formed("")


def test_no_two_of_sixty_thousand_certificates_share_a_number():
    made = {numbers.make_number("QH16", SECRET, f"1:{entry}:award") for entry in range(60_000)}
    assert len(made) == 60_000
    assert all(numbers.well_formed(n) for n in list(made)[:1000])
