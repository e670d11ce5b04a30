"""Numbers as people write them, in any script and locale, read as one canonical decimal string.

`find_numerals(text)` returns every number written in `text` as `(start, canonical)`, where canonical is
plain ASCII (`-1234.5`, `18`) that `decimal.Decimal` reads exactly. What it understands, and why:

- digits of any script (`\\d` is Unicode-aware): full-width `１８`, Bengali `১৮`, Telugu `౧౮`, Thai `๑๘`,
  Devanagari, Arabic-Indic. Multilingual answers (MGSM) use them when models write natively.
- grouping separators `,` `.` `'`, the no-break, narrow no-break and thin spaces, and a plain space, but
  only between groups of exactly three digits with one separator used throughout (`1,234,567`,
  `1.234.567`, `1 234 567`, `1 234`); the other of `.`/`,` after the groups is the decimal mark
  (`1.234,5`, `1,234.5`).
- a single `,` or `.` followed by exactly three digits (`2,125`, `5.600`) is a thousands separator in
  every language: MGSM's answers are integers, English writes `2,125` and German `2.125` for the same
  number, and a three-decimal answer to a grade-school problem is far rarer than either. A leading zero
  (`0,125`) or any other digit count (`12,50`, `3.5`) makes it a decimal mark.
- a sign only when it is not an operator: `-50`, `−50` (U+2212), but `16-3` is 16 and 3.
- a trailing sentence period is not a decimal point (`18.` is 18); LaTeX's `70{,}000` and `70\\,000` group.

Pure functions; no locale database, so the same text always reads the same way.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = ",.'\u00a0\u202f\u2009 "
_GROUPED = rf"\d{{1,3}}(?P<sep>[{_SEPARATORS}])\d{{3}}(?:(?P=sep)\d{{3}})*(?:[.,]\d+)?"
_PLAIN = r"\d+(?:[.,]\d+)?"
NUMERAL_RE = re.compile(
    rf"(?P<sign>(?<![\w)\].])[-\u2212+])?(?<![\d.,])(?P<body>{_GROUPED}|{_PLAIN})(?!\d)(?![.,]\d)"
)


def to_ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script replaced by its ASCII digit."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)


def canonical(body: str, negative: bool = False) -> str | None:
    """The canonical decimal string of one number as written (see the module docstring), or None."""
    body = to_ascii_digits(body)
    grouped = re.fullmatch(rf"(\d{{1,3}})([{_SEPARATORS}])(\d{{3}}(?:\2\d{{3}})*)(?:([.,])(\d+))?", body)
    if grouped and not grouped.group(1).startswith("0") and grouped.group(4) != grouped.group(2):
        integer = grouped.group(1) + grouped.group(3).replace(grouped.group(2), "")
        decimals = grouped.group(5) or ""
    else:
        plain = re.fullmatch(r"(\d+)(?:[.,](\d+))?", body)
        if plain is None:
            return None
        integer, decimals = plain.group(1), plain.group(2) or ""
    integer = integer.lstrip("0") or "0"
    text = f"{integer}.{decimals}" if decimals else integer
    return f"-{text}" if negative and text.strip("0.") else text


def find_numerals(text: str) -> list[tuple[int, str]]:
    """Every number in `text` as (start offset, canonical decimal string), in order."""
    found = []
    text = (text or "").replace("{,}", ",").replace("\\,", "\u2009")  # LaTeX: 70{,}000, 70\,000
    for match in NUMERAL_RE.finditer(text):
        sign = match.group("sign")
        value = canonical(match.group("body"), negative=bool(sign) and sign in "-\u2212")
        if value is not None:
            found.append((match.start(), value))
    return found


def first_numeral(text: str) -> str | None:
    found = find_numerals(text)
    return found[0][1] if found else None


def last_numeral(text: str) -> str | None:
    found = find_numerals(text)
    return found[-1][1] if found else None
