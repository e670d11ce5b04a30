"""When a decimal answer equals an exact value: written out exactly, or rounded to the places it states.

The rule (math-verify's, made explicit and tied to the digits written, never a relative tolerance):
- two exact values (integers, fractions, terminating decimals) are equal only when they are the same
  number, so `1000001` is not `1000000` and `250.4` is not `250`;
- a *predicted* decimal with k places equals an exact gold (a fraction, a root, pi; not a decimal) when
  the gold's value rounded to k places is that decimal and the decimal states at least `min_digits`
  significant digits (default 2): `0.3333` = 1/3, `2.6667` = 8/3, `1.4142` = sqrt 2, `0.67` = 2/3 and
  `4.67` = 14/3 (the exact value rounded to the digits given), but `0.3` is not 1/3 (one digit cannot
  tell a rounded answer from a guess) and `0.6666` is not 2/3 (rounding, not truncation); against a
  decimal gold the prediction must give at least the gold's places (`16386.2` is not `16386.17`);
- a *gold* decimal with k places is itself a rounded answer: a prediction whose value rounds to it is
  equal (`33.3` accepts 100/3, `0.29` accepts `0.290243`); when the prediction is also a decimal the gold
  must state at least 2 places, so `12.49` is not `12.5` and `2.45` is not `2.5`;
- an integer never rounds: `3` is not `2.6667`, nor `2.9999` the integer `3`.
Pure functions over Fractions (exact) and floats/complex at 30 digits from the sympy side.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction

DEFAULT_MIN_DIGITS = 2
_DECIMAL = re.compile(r"[-+]?(\d*)\.(\d+)")


def places_of(literal: str) -> int | None:
    """Decimal places a literal states (`2.6667` -> 4, `.5` -> 1); None for integers and non-numbers."""
    match = _DECIMAL.fullmatch(literal.strip())
    return len(match.group(2)) if match else None


def significant_digits(literal: str) -> int:
    """Significant digits written in a decimal literal (`0.0833` -> 3, `16386.17` -> 7)."""
    digits = re.sub(r"\D", "", literal).lstrip("0")
    return len(digits)


def rounds_to(value, decimal: Fraction, places: int) -> bool:
    """True when `value` (a Fraction, float or Decimal-able number) rounded half-up to `places` is `decimal`."""
    with localcontext() as ctx:
        ctx.prec = 60
        try:
            exact = _decimal(value)
            rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        except (InvalidOperation, ValueError, ArithmeticError):
            return False
        return Fraction(rounded) == decimal


def _decimal(value) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def rounded_equal(gold_value, gold_literal: str | None, pred_value, pred_literal: str | None,
                  min_digits: int | None = DEFAULT_MIN_DIGITS) -> bool:
    """The rounding half of the rule (see the module docstring); exact equality is the caller's first test.

    `*_literal` is the side's text when it is a plain decimal (None otherwise); `*_value` its value
    (Fraction when exact, else a float or a decimal string with enough digits)."""
    gold_places = places_of(gold_literal) if gold_literal else None
    pred_places = places_of(pred_literal) if pred_literal else None
    if min_digits is not None and pred_places is not None and significant_digits(pred_literal) >= min_digits:
        if gold_places is None and rounds_to(gold_value, Fraction(pred_literal), pred_places):
            return True
    if min_digits is not None and gold_places is not None and (pred_places is None or pred_places > gold_places):
        if (pred_places is None or gold_places >= 2) and rounds_to(pred_value, Fraction(gold_literal), gold_places):
            return True
    return False
