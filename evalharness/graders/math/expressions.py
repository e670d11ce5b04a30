"""Equality of two scalar sympy expressions, and the rules a comparison runs under. Worker-side (imports sympy).

- Numbers: exact when both are rational (decimals written in the answer are read exactly, `0.1` is 1/10),
  else equal to 40 digits; a decimal that is the other side rounded to the places it states is equal by
  the rounding rule in `rounding.py` (`2.6667` = 8/3, `33.3` gold = 100/3), never by a loose tolerance.
- Expressions with free symbols: compared at fixed random points (1e-7 relative), symbolic sums and
  products at small integer points, and `simplify(a - b) == 0` when evaluation is not possible.
- `proportional(a, b)`: a == c*b for a constant c (equations up to a factor, inequalities up to a positive one).
Power towers and other huge values are refused before evaluation (`guard.too_big`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from evalharness.graders.math.guard import too_big
from evalharness.graders.math.rounding import DEFAULT_MIN_DIGITS, rounded_equal

CALCULUS = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Limit, sympy.Derivative)
_DECIMAL_LITERAL = re.compile(r"(?<![\d.])\d*\.\d+")


@dataclass(frozen=True)
class Rules:
    """The grader options that change verdicts (see MathEquivOptions)."""

    list_order: str = "auto"  # auto | any | written: how bare lists of values compare
    set_relation: bool = True  # a set gold accepts a relation with that solution set (and the reverse)
    min_digits: int | None = DEFAULT_MIN_DIGITS  # significant digits a rounded decimal pred must state

    @classmethod
    def of(cls, rules: dict | None) -> "Rules":
        return cls(**rules) if rules else cls()


@dataclass
class Context:
    """One comparison: the rules, and the decimal literals each side wrote (exact value -> text)."""

    rules: Rules = field(default_factory=Rules)
    gold_decimals: dict = field(default_factory=dict)
    pred_decimals: dict = field(default_factory=dict)


def decimal_literals(text: str) -> dict:
    """`{Rational: literal}` for each decimal written in `text` (`2.6667` -> {26667/10000: "2.6667"})."""
    return {sympy.Rational(lit): lit for lit in _DECIMAL_LITERAL.findall(text)[:50]}


def exact_decimals(expr, literals: dict):
    """`expr` with every float that came from a written decimal replaced by that decimal's exact value."""
    if not literals or not hasattr(expr, "atoms"):
        return expr
    try:
        floats = expr.atoms(sympy.Float)
    except Exception:
        return expr
    mapping = {}
    for f in floats:
        for value in literals:
            if abs(float(abs(f)) - float(value)) <= 1e-15 * max(1.0, float(value)):
                mapping[f] = value if f >= 0 else -value
                break
    return expr.xreplace(mapping) if mapping else expr


def expr_equal(a, b, ctx: Context) -> bool:
    """Two scalar expressions (`a` from the gold): structural, numeric, at random points, then `simplify`."""
    if not isinstance(a, sympy.Expr) or not isinstance(b, sympy.Expr):
        return safe_bool(lambda: a == b)
    if a == b or sympy.srepr(a) == sympy.srepr(b):  # srepr: same tree, symbols with different assumptions
        return True
    if too_big(a) or too_big(b):
        return False
    symbols = a.free_symbols | b.free_symbols
    if symbols and (a.has(*CALCULUS) or b.has(*CALCULUS)):
        # A symbolic sum/product: evaluate at small integer points (finite sums), never at real ones.
        values_a, values_b = values_at_points(a, symbols, INT_POINTS), values_at_points(b, symbols, INT_POINTS)
        if values_a and len(values_a) == len(values_b):
            return all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for x, y in zip(values_a, values_b))
        return safe_bool(lambda: sympy.simplify(a - b) == 0)
    if not symbols:
        return numbers_equal(a, b, ctx)
    if a.free_symbols != b.free_symbols:
        return safe_bool(lambda: sympy.simplify(a - b) == 0)
    values_a = values_at_points(a, symbols)
    values_b = values_at_points(b, symbols)
    if values_a and len(values_a) == len(values_b):
        return all(abs(x - y) <= 1e-7 * max(1.0, abs(x), abs(y)) for x, y in zip(values_a, values_b))
    return safe_bool(lambda: sympy.simplify(a - b) == 0)


def numbers_equal(a, b, ctx: Context) -> bool:
    """Two constants (`a` from the gold): exact for rationals, 40 digits otherwise, or the rounding rule."""
    if a.is_rational and b.is_rational:
        if safe_bool(lambda: (a.doit() - b.doit()) == 0):  # sizes were checked by too_big
            return True
        if not (_literal(a, ctx.gold_decimals) or _literal(b, ctx.pred_decimals)):
            return False  # two exact rationals that differ; only a written decimal may be a rounding
    try:
        x, y = complex(sympy.N(a, 40)), complex(sympy.N(b, 40))
    except Exception:
        return safe_bool(lambda: sympy.simplify(a - b) == 0)
    if not finite(x) or not finite(y):
        return False
    if abs(x - y) <= 1e-20 * max(1.0, abs(x), abs(y)):
        return True
    if abs(x.imag) > 1e-30 or abs(y.imag) > 1e-30:
        return False
    gold_literal, pred_literal = _literal(a, ctx.gold_decimals), _literal(b, ctx.pred_decimals)
    if gold_literal is None and pred_literal is None:
        return False
    return rounded_equal(_exact(a), gold_literal, _exact(b), pred_literal, ctx.rules.min_digits)


def _literal(x, literals: dict) -> str | None:
    """The decimal text `x` was written as (with its sign), when it is a written decimal."""
    if not x.is_Rational:
        return None
    text = literals.get(abs(x))
    return None if text is None else ("-" + text if x < 0 else text)


def _exact(x):
    """A Fraction for rationals, else a 40-digit decimal string (what rounding compares)."""
    if x.is_Rational:
        return Fraction(int(x.p), int(x.q))
    return str(sympy.re(sympy.N(x, 40)))


def proportional(a, b, positive: bool) -> bool:
    """a == c*b for a constant c (c > 0 when `positive`): at random points, else by simplification."""
    if too_big(a) or too_big(b):
        return a == b
    ratio = a / b
    points = INT_POINTS if ratio.has(*CALCULUS) else None
    values = values_at_points(ratio, a.free_symbols | b.free_symbols, points) if b != 0 else []
    if values:
        if any(abs(v - values[0]) > 1e-8 * max(1.0, abs(values[0])) for v in values):
            return False
        return _constant_ok(values[0], positive)
    if points:
        return False
    try:
        ratio = sympy.simplify(ratio)
        if not ratio.free_symbols and ratio.is_number:
            return _constant_ok(complex(ratio.evalf()), positive)
    except Exception:
        pass
    return False


def _constant_ok(value: complex, positive: bool) -> bool:
    if value == 0 or not finite(value):
        return False
    return not positive or (abs(value.imag) < 1e-9 and value.real > 0)


_POINTS = [
    [0.7132, 1.3219, 2.1173, 0.4481, 1.8867, 0.9374],
    [1.2653, 0.5172, 1.6389, 2.4411, 0.8123, 1.1597],
    [2.0311, 1.7443, 0.6257, 1.0938, 2.2765, 0.3821],
]
INT_POINTS = [[3, 5, 2, 7, 4, 6], [4, 2, 6, 3, 5, 7], [6, 3, 5, 2, 7, 4]]


def values_at_points(expr, symbols, points=None) -> list[complex]:
    """`expr` at fixed, once-drawn random positive points (the same for both sides: verdicts are reproducible)."""
    ordered = sorted(symbols, key=lambda s: s.name)
    out = []
    integers = points is not None
    for point in points or _POINTS:
        subs = {sym: (sympy.Integer(point[i % len(point)] + i // len(point)) if integers
                      else sympy.Float(point[i % len(point)] + 0.01 * (i // len(point)))) for i, sym in enumerate(ordered)}
        try:
            value = expr.subs(subs)
            value = complex(sympy.N(value.doit() if integers else value, 20))
        except Exception:
            return []
        if value != value or abs(value) == float("inf"):
            return []
        out.append(value)
    return out


def finite(z: complex) -> bool:
    return abs(z.real) < float("inf") and abs(z.imag) < float("inf") and z == z


def safe_bool(thunk) -> bool:
    try:
        return bool(thunk())
    except Exception:
        return False
