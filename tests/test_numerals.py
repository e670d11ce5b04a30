"""Numbers in any script and locale (evalharness/numerals.py): every rule of the module docstring."""

import pytest

from evalharness.numerals import canonical, find_numerals, first_numeral, last_numeral, to_ascii_digits


@pytest.mark.parametrize("text, expected", [
    ("18", "18"),
    ("18.", "18"),                       # a sentence's full stop is no decimal point
    ("$18.00", "18.00"),
    ("2,125", "2125"),                   # English thousands
    ("2.125", "2125"),                   # German/Spanish thousands: MGSM answers are integers
    ("114,200", "114200"),
    ("1,234,567", "1234567"),
    ("1.234.567", "1234567"),
    ("1 234 567", "1234567"),            # French/Russian with plain spaces
    ("70\u202f000", "70000"),            # narrow no-break space
    ("70\u00a0000", "70000"),            # no-break space
    ("1\u2009200", "1200"),              # thin space
    ("1'234", "1234"),                   # Swiss
    ("1,234.5", "1234.5"),
    ("1.234,5", "1234.5"),
    ("12,50", "12.50"),                  # a decimal comma with two digits
    ("3.5", "3.5"),
    ("0,125", "0.125"),                  # a leading zero is never a thousands group
    ("1,2345", "1.2345"),                # not a three-digit group: a decimal mark
    ("007", "7"),
    ("-50", "-50"),
    ("\u221250", "-50"),                 # Unicode minus
    ("-0", "0"),
    ("１８", "18"),                       # full-width
    ("১৮", "18"),                         # Bengali
    ("౧౮", "18"),                         # Telugu
    ("๑๘", "18"),                         # Thai
    ("१८", "18"),                         # Devanagari
    ("٢١٢٥", "2125"),                     # Arabic-Indic
])
def test_one_number(text, expected):
    assert [value for _, value in find_numerals(text)] == [expected]


def test_operators_are_not_signs_and_offsets_are_kept():
    assert find_numerals("16-3-4=9") == [(0, "16"), (3, "3"), (5, "4"), (7, "9")]
    assert [v for _, v in find_numerals("16 - 3 - 4 = 9, 9 × 2 = 18.")] == ["16", "3", "4", "9", "9", "2", "18"]
    assert [v for _, v in find_numerals("x = -3 and (−1 + 2)")] == ["-3", "-1", "2"]


def test_numbers_inside_native_text():
    assert first_numeral("জেনেটের হাঁসগুলি প্রতিদিন ১৬টি করে ডিম") == "16"
    assert last_numeral("答えは１８個です。") == "18"
    assert last_numeral("คำตอบคือ ๑๘ ดอลลาร์") == "18"
    assert last_numeral("Sie verdient 2.125 € im Monat, nicht 2,5") == "2.5"
    assert find_numerals("no digits here") == [] and last_numeral("") is None


def test_canonical_and_digits():
    assert canonical("1.234,5") == "1234.5" and canonical("12a") is None
    assert to_ascii_digits("১২৩ and 456") == "123 and 456" and to_ascii_digits("plain") == "plain"
