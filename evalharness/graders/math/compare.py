"""Sympy equivalence of two normalised answers. Runs inside a worker process (see math_pool).

`equivalent(gold, pred)` parses both (LaTeX via latex2sympy2_extended, plain text via a restricted sympy
parser) and compares by shape:
- numbers and expressions: structural, then numeric (complex-aware, relative 1e-6; a gold given to >= 2
  decimals accepts a pred that rounds to it), then at random points for free symbols, then `simplify`;
- tuples, intervals (order and open/closed ends matter), a 2-tuple and an open interval are the same text;
- sets and bare lists `2, 3` (order does not matter), except a bare list against a tuple (order matters);
- `a \\pm b` is the list of both values;
- equations (equal up to a non-zero factor), inequalities (up to a positive factor, flips allowed), a
  univariate inequality against an interval;
- matrices element-wise, after evaluating products and sums.
Anything that will not parse is compared as text. Power towers are detected before evaluation and
compared structurally only, so `9^{9^{9^{9}}}` costs nothing; the pool's timeout is the last resort.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy
from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                        standard_transformations)

from evalharness.graders.math.guard import too_big as _too_big
from evalharness.graders.math.normalize import decimals_of, split_top_level
from evalharness.graders.math.numeric import to_python

_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)
_PLAIN_NAMES = {"sqrt": sympy.sqrt, "pi": sympy.pi, "oo": sympy.oo, "inf": sympy.oo, "sin": sympy.sin,
                "cos": sympy.cos, "tan": sympy.tan, "log": sympy.log, "ln": sympy.log, "exp": sympy.exp,
                "e": sympy.E, "I": sympy.I, "i": sympy.I}
_SIMPLE_NAMES = {"sqrt": sympy.sqrt, "pi": sympy.pi, "e": sympy.E, "i": sympy.I}
_PLAIN_OK = re.compile(r"[0-9a-zA-Z+\-*/^().\s]*")


_MATRIX_TYPES = (sympy.MatrixBase, sympy.MatrixExpr)
_CALCULUS = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Limit, sympy.Derivative)


class BareList(tuple):
    """Comma-separated answers written without brackets: `2, 3`."""


def equivalent(gold: str, pred: str) -> bool:
    """True when the normalised answers `gold` and `pred` denote the same mathematical object."""
    if gold.replace(" ", "") == pred.replace(" ", ""):
        return True
    g, p = parse_answer(gold), parse_answer(pred)
    if g is None or p is None:
        return False
    return _same(g, p, decimals_of(gold))


@lru_cache(maxsize=4096)
def parse_answer(s: str):
    """A sympy object, a BareList of them, or the lower-cased text when nothing parses."""
    parts = split_top_level(s)
    if len(parts) == 1 and len(_split_pm(parts[0])) == 2:
        parts = _split_pm(parts[0])
    if len(parts) > 1:
        return BareList(_parse_item(part) for part in parts)
    return _parse_item(parts[0])


def _parse_simple(s: str):
    """Numbers, fractions, roots, pi, i and single-letter variables without the (slow) LaTeX grammar."""
    python = to_python(s, symbols=True)
    if python is None or re.fullmatch(r"[a-zA-Z]{3,}", s.strip()):
        return None
    try:
        return parse_expr(python, local_dict=dict(_SIMPLE_NAMES), evaluate=False)
    except Exception:
        return None


def _split_pm(s: str) -> list[str]:
    pieces = re.split(r"\\(?:pm|mp)(?![a-zA-Z])|±", s)
    if len(pieces) != 2 or not pieces[1].strip():
        return [s]
    head = pieces[0].strip() or "0"
    return [f"{head} + ({pieces[1]})", f"{head} - ({pieces[1]})"]


def _parse_item(s: str):
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    s = s.strip()
    if not s:
        return None
    fast = _parse_simple(s)
    if fast is not None:
        return fast
    if re.fullmatch(r"[A-Za-z][A-Za-z ]{2,}", s) or re.fullmatch(r"\d+_\{?\d+\}?", s) or re.search(r"\d:\d", s):
        return s.lower().replace("{", "").replace("}", "")  # words, a numeral in a base, a time
    try:
        parsed = latex2sympy(s, normalization_config=NormalizationConfig(basic_latex=True, units=True,
                                                                         malformed_operators=True, nits=True,
                                                                         boxed="none"))
        return _imaginary_unit(parsed)
    except Exception:
        pass
    if _PLAIN_OK.fullmatch(s) and len(s) < 400:
        try:
            return parse_expr(s.replace("^", "**"), local_dict=dict(_PLAIN_NAMES), transformations=_TRANSFORMS,
                              evaluate=False)
        except Exception:
            pass
    return s.lower()


def _imaginary_unit(parsed):
    """MATH writes the imaginary unit as a plain `i`; the LaTeX parser reads it as a symbol."""
    i = sympy.Symbol("i")
    try:
        if isinstance(parsed, sympy.Basic) and i in parsed.free_symbols:
            return parsed.subs(i, sympy.I)
    except Exception:
        pass
    return parsed


def _same(g, p, gold_decimals: int | None) -> bool:
    if isinstance(g, str) or isinstance(p, str):
        return isinstance(g, str) and isinstance(p, str) and g.replace(" ", "") == p.replace(" ", "")
    if isinstance(g, BareList) or isinstance(p, BareList):
        return _same_lists(g, p, gold_decimals)
    if isinstance(g, _MATRIX_TYPES) or isinstance(p, _MATRIX_TYPES):
        return _same_matrices(g, p)
    if isinstance(g, (sympy.Tuple, sympy.Interval)) and isinstance(p, (sympy.Tuple, sympy.Interval)):
        return _same_ordered(g, p, gold_decimals)
    if isinstance(g, sympy.Set) or isinstance(p, sympy.Set):
        return _same_sets(g, p, gold_decimals)
    if isinstance(g, (sympy.Rel, sympy.And)) or isinstance(p, (sympy.Rel, sympy.And)):
        return _same_relations(g, p, gold_decimals)
    if isinstance(g, sympy.Expr) and isinstance(p, sympy.Expr):
        return expr_equal(g, p, gold_decimals)
    return g == p


def _same_lists(g, p, gold_decimals) -> bool:
    """Bare lists match sets and other bare lists in any order, tuples in order."""
    g, p = _open_pair_as_tuple(g), _open_pair_as_tuple(p)
    gs = list(g.args) if isinstance(g, (sympy.Tuple, sympy.FiniteSet)) else list(g) if isinstance(g, tuple) else [g]
    ps = list(p.args) if isinstance(p, (sympy.Tuple, sympy.FiniteSet)) else list(p) if isinstance(p, tuple) else [p]
    if isinstance(g, sympy.FiniteSet) or isinstance(p, sympy.FiniteSet):
        gs, ps = _dedupe(gs), _dedupe(ps)
    if len(gs) != len(ps):
        return False
    if isinstance(g, sympy.Tuple) or isinstance(p, sympy.Tuple):
        return all(_same(a, b, gold_decimals) for a, b in zip(gs, ps))
    return _matching(gs, ps, gold_decimals)


def _open_pair_as_tuple(x):
    """`(1,3)` parses as an open interval; against a list it is the ordered pair it is written as."""
    if isinstance(x, sympy.Interval) and x.left_open and x.right_open:
        return sympy.Tuple(x.start, x.end)
    return x


def _dedupe(items: list) -> list:
    out = []
    for item in items:
        if not any(item == seen for seen in out):
            out.append(item)
    return out


def _matching(gs: list, ps: list, gold_decimals) -> bool:
    """Every gold element pairs with a distinct pred element (greedy is enough for answer lists)."""
    left = list(ps)
    for a in gs:
        for i, b in enumerate(left):
            if _same(a, b, gold_decimals):
                del left[i]
                break
        else:
            return False
    return True


def _same_ordered(g, p, gold_decimals) -> bool:
    """Tuples element-wise; intervals by ends and openness; `(a, b)` doubles as an open interval."""
    def ends(x):
        if isinstance(x, sympy.Interval):
            return [x.start, x.end], (bool(x.left_open), bool(x.right_open))
        return list(x.args), (True, True) if len(x.args) == 2 else None

    (ge, gopen), (pe, popen) = ends(g), ends(p)
    if len(ge) != len(pe) or (isinstance(g, sympy.Interval) or isinstance(p, sympy.Interval)) and gopen != popen:
        return False
    return all(_same(a, b, gold_decimals) for a, b in zip(ge, pe))


def _same_sets(g, p, gold_decimals) -> bool:
    if isinstance(g, (sympy.Rel, sympy.And)) or isinstance(p, (sympy.Rel, sympy.And)):
        return _relation_vs_set(g, p)
    if isinstance(g, sympy.FiniteSet) and isinstance(p, (sympy.FiniteSet, sympy.Tuple)):
        return _same_lists(g, p, gold_decimals)
    if isinstance(p, sympy.FiniteSet) and isinstance(g, sympy.Tuple):
        return _same_lists(g, p, gold_decimals)
    if type(g) is not type(p):
        g, p = _evaluated(g), _evaluated(p)  # Complement(Reals, {0}) -> a union of two open intervals
        if type(g) is not type(p):
            return _safe_bool(lambda: g == p)
    if isinstance(g, sympy.Interval):
        return _same_ordered(g, p, gold_decimals)
    if isinstance(g, sympy.Union):
        return len(g.args) == len(p.args) and _matching(list(g.args), list(p.args), gold_decimals)
    return _safe_bool(lambda: g == p)


def _evaluated(x):
    try:
        return x.func(*x.args) if isinstance(x, (sympy.Complement, sympy.Intersection, sympy.Union)) else x
    except Exception:
        return x


def _relation_vs_set(g, p) -> bool:
    rel, other = (g, p) if isinstance(g, (sympy.Rel, sympy.And)) else (p, g)
    if not isinstance(other, sympy.Set) or len(rel.free_symbols) != 1:
        return False
    return _safe_bool(lambda: rel.as_set() == other)


def _same_relations(g, p, gold_decimals) -> bool:
    if isinstance(g, sympy.Set) or isinstance(p, sympy.Set):
        return _relation_vs_set(g, p)
    if isinstance(g, sympy.Eq) and isinstance(p, sympy.Eq):
        if g.lhs == p.lhs and isinstance(g.lhs, sympy.Symbol) and expr_equal(g.rhs, p.rhs, gold_decimals):
            return True
        return _proportional(g.lhs - g.rhs, p.lhs - p.rhs, positive=False)
    if isinstance(g, sympy.Eq) != isinstance(p, sympy.Eq):
        return False
    if isinstance(g, sympy.And) or isinstance(p, sympy.And):
        if len(g.free_symbols) == 1 and g.free_symbols == p.free_symbols:
            return _safe_bool(lambda: g.as_set() == p.as_set())
        return g == p
    if not isinstance(g, sympy.Rel) or not isinstance(p, sympy.Rel):
        return False
    (gd, gstrict), (pd, pstrict) = _as_less(g), _as_less(p)
    if gstrict is None or gstrict != pstrict:
        return False
    return _proportional(gd, pd, positive=True)


def _as_less(rel):
    """`a < b` -> (a - b, strict); `a > b` flips. `!=` keeps the difference with strictness "ne"."""
    if isinstance(rel, (sympy.StrictLessThan, sympy.StrictGreaterThan)):
        strict = True
    elif isinstance(rel, (sympy.LessThan, sympy.GreaterThan)):
        strict = False
    elif isinstance(rel, sympy.Ne):
        return rel.lhs - rel.rhs, "ne"
    else:
        return None, None
    diff = rel.lhs - rel.rhs
    return (diff if isinstance(rel, (sympy.StrictLessThan, sympy.LessThan)) else -diff), strict


def _proportional(a, b, positive: bool) -> bool:
    """a == c*b for a constant c (c > 0 when `positive`): at random points, else by simplification."""
    if _too_big(a) or _too_big(b):
        return a == b
    ratio = a / b
    points = _INT_POINTS if ratio.has(*_CALCULUS) else None
    values = _values_at_points(ratio, a.free_symbols | b.free_symbols, points) if b != 0 else []
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
    if value == 0 or not _finite(value):
        return False
    return not positive or (abs(value.imag) < 1e-9 and value.real > 0)


def _same_matrices(g, p) -> bool:
    g, p = _as_matrix(g), _as_matrix(p)
    if g is None or p is None or g.shape != p.shape:
        return False
    return all(expr_equal(a, b, None) for a, b in zip(g, p))


def _as_matrix(x):
    try:
        if isinstance(x, sympy.Tuple):
            return sympy.Matrix(list(x.args))
        if isinstance(x, sympy.MatrixBase):
            return sympy.Matrix(x)
        value = x.doit() if hasattr(x, "doit") else x
        return sympy.Matrix(value) if isinstance(value, sympy.MatrixBase) else None
    except Exception:
        return None


def expr_equal(a, b, gold_decimals: int | None) -> bool:
    """Two scalar expressions: structural, numeric, at random points, then symbolic simplification."""
    if not isinstance(a, sympy.Expr) or not isinstance(b, sympy.Expr):
        return _safe_bool(lambda: a == b)
    if a == b or sympy.srepr(a) == sympy.srepr(b):  # srepr: same tree, symbols with different assumptions
        return True
    if _too_big(a) or _too_big(b):
        return False
    symbols = a.free_symbols | b.free_symbols
    if symbols and (a.has(*_CALCULUS) or b.has(*_CALCULUS)):
        # A symbolic sum/product: evaluate at small integer points (finite sums), never at real ones.
        values_a, values_b = _values_at_points(a, symbols, _INT_POINTS), _values_at_points(b, symbols, _INT_POINTS)
        if values_a and len(values_a) == len(values_b):
            return all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for x, y in zip(values_a, values_b))
        return _safe_bool(lambda: sympy.simplify(a - b) == 0)
    if not symbols:
        return _numbers_equal(a, b, gold_decimals)
    if a.free_symbols != b.free_symbols:
        return _safe_bool(lambda: sympy.simplify(a - b) == 0)
    values_a = _values_at_points(a, symbols)
    values_b = _values_at_points(b, symbols)
    if values_a and len(values_a) == len(values_b):
        if any(abs(x - y) > 1e-7 * max(1.0, abs(x), abs(y)) for x, y in zip(values_a, values_b)):
            return False
        return True
    return _safe_bool(lambda: sympy.simplify(a - b) == 0)


def _finite(z: complex) -> bool:
    return abs(z.real) < float("inf") and abs(z.imag) < float("inf") and z == z


def _numbers_equal(a, b, gold_decimals: int | None) -> bool:
    """Exact when both are rational (2^{100} against its digits), else 1e-6 relative at 30 digits."""
    if a.is_rational and b.is_rational:
        return _safe_bool(lambda: (a.doit() - b.doit()) == 0)  # sizes were checked by too_big
    try:
        x, y = complex(sympy.N(a, 30)), complex(sympy.N(b, 30))
    except Exception:
        return _safe_bool(lambda: sympy.simplify(a - b) == 0)
    if x == y:
        return all(map(_finite, (x, y)))
    if not _finite(x) or not _finite(y):
        return False
    if abs(x - y) <= 1e-6 * max(abs(x), abs(y)) or abs(x - y) < 1e-12:
        return True
    if gold_decimals is not None and gold_decimals >= 2 and abs(x.imag) < 1e-12 and abs(y.imag) < 1e-12:
        return round(y.real, gold_decimals) == round(x.real, gold_decimals)
    return False


_POINTS = [
    [0.7132, 1.3219, 2.1173, 0.4481, 1.8867, 0.9374],
    [1.2653, 0.5172, 1.6389, 2.4411, 0.8123, 1.1597],
    [2.0311, 1.7443, 0.6257, 1.0938, 2.2765, 0.3821],
]


_INT_POINTS = [[3, 5, 2, 7, 4, 6], [4, 2, 6, 3, 5, 7], [6, 3, 5, 2, 7, 4]]


def _values_at_points(expr, symbols, points=None) -> list[complex]:
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


def _safe_bool(thunk) -> bool:
    try:
        return bool(thunk())
    except Exception:
        return False

