"""GB 11643-1999 resident ID numbers: every rule with hand-checked numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from competition.errors import ValidationFailed
from competition.i18n import translate_error
from registration import idcard

# Hand-computed: 11010519491231002 → weighted sum 167, 167 mod 11 = 2 → check "X".
KNOWN_X = "11010519491231002X"


def test_weights_and_check_characters_follow_the_standard():
    assert idcard.WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    assert idcard.CHECK_CHARS == "10X98765432"
    total = sum(int(c) * w for c, w in zip("11010519491231002", idcard.WEIGHTS, strict=True))
    assert total == 167 and total % 11 == 2
    assert idcard.check_character("11010519491231002") == "X"


def test_valid_number_gives_birth_date_and_gender():
    parsed = idcard.parse(KNOWN_X, today=dt.date(2026, 1, 1))
    assert parsed.number == KNOWN_X
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.gender == "female"  # 17th digit 2 is even
    man = idcard.compose("630102", dt.date(1990, 5, 17), 123)
    assert idcard.parse(man).gender == "male"


def test_lowercase_x_full_width_digits_and_spaces_are_normalised():
    assert idcard.parse(" 110105 19491231 002x ").number == KNOWN_X
    full_width = "１１０１０５１９４９１２３１００２ｘ"
    assert idcard.parse(full_width).number == KNOWN_X


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_missing"),
        ("11010519491231002", "id_lost_x"),  # Excel dropped the final X
        ("6.30102E+17", "id_scientific"),  # Excel turned it into a number
        ("110105491231002", "id_old_15"),  # first-generation 15-digit card
        ("1101051949123100", "id_length"),
        ("11010519491231A02X", "id_digits"),
        ("110105194912310021", "id_checksum"),  # right length, wrong check digit
        ("110105194902300026", "id_birth_date"),  # 30 February
        ("110105209901010016", "id_birth_future"),
    ],
)
def test_each_wrong_part_is_named(raw, code):
    with pytest.raises(ValidationFailed) as caught:
        idcard.parse(raw, today=dt.date(2026, 11, 25))
    assert caught.value.code == code
    assert caught.value.field_errors == {"id_number": caught.value.message}


def test_checksum_message_names_the_expected_character_in_chinese():
    with pytest.raises(ValidationFailed) as caught:
        idcard.parse("110105194912310021")
    message = translate_error(caught.value)
    assert "X" in message and "校验" in message


def test_mask_keeps_four_and_four():
    assert idcard.mask("63010219900101123X") == "6301**********123X"


def test_age_counts_birthdays():
    birth = dt.date(2000, 4, 20)
    assert idcard.age_on(birth, dt.date(2027, 4, 19)) == 26
    assert idcard.age_on(birth, dt.date(2027, 4, 20)) == 27
