"""Sympy equivalence of two normalised answers. Runs inside a worker process (see pool.py).

`equivalent(gold, pred, rules)` parses both (LaTeX via latex2sympy2_extended, plain text via a restricted
sympy parser; decimals as written are read exactly) and compares by shape: expressions and numbers in
expressions.py (exact, or a decimal rounded to the places it states), everything else in structures.py
(lists, sets, tuples, intervals, relations, matrices). `rules` are the grader options that change
verdicts (`expressions.Rules`). Anything that will not parse is compared as text. Power towers are
detected before evaluation and compared structurally only, so `9^{9^{9^{9}}}` costs nothing; the pool's
timeout is the last resort.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy
from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                        standard_transformations)

from evalharness.graders.math.expressions import Context, Rules, decimal_literals, exact_decimals
from evalharness.graders.math.normalize import split_top_level
from evalharness.graders.math.numeric import to_python
from evalharness.graders.math.structures import BareList, PlusMinus, same

_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)
_PLAIN_NAMES = {"sqrt": sympy.sqrt, "pi": sympy.pi, "oo": sympy.oo, "inf": sympy.oo, "sin": sympy.sin,
                "cos": sympy.cos, "tan": sympy.tan, "log": sympy.log, "ln": sympy.log, "exp": sympy.exp,
                "e": sympy.E, "I": sympy.I, "i": sympy.I}
_SIMPLE_NAMES = {"sqrt": sympy.sqrt, "pi": sympy.pi, "e": sympy.E, "i": sympy.I}
_PLAIN_OK = re.compile(r"[0-9a-zA-Z+\-*/^().\s]*")


def equivalent(gold: str, pred: str, rules: dict | None = None) -> bool:
    """True when the normalised answers `gold` and `pred` denote the same mathematical object."""
    if gold.replace(" ", "") == pred.replace(" ", ""):
        return True
    g, p = parse_answer(gold), parse_answer(pred)
    if g is None or p is None:
        return False
    ctx = Context(Rules.of(rules), decimal_literals(gold), decimal_literals(pred))
    return same(_exact(g, ctx.gold_decimals), _exact(p, ctx.pred_decimals), ctx)


def _exact(parsed, literals: dict):
    if isinstance(parsed, BareList):
        return type(parsed)(_exact(item, literals) for item in parsed)
    return exact_decimals(parsed, literals)


@lru_cache(maxsize=4096)
def parse_answer(s: str):
    """A sympy object, a BareList of them, or the lower-cased text when nothing parses."""
    parts = split_top_level(s)
    expanded = [value for part in parts for value in _split_pm(part)]
    if len(expanded) > len(parts):  # `1 \pm \sqrt{19}`, `0, \pm 1`: a set of values
        return PlusMinus(_parse_item(part) for part in expanded)
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
        return s.lower().replace("{", "").replace("}", "")  # words, a numeral in a base, a time or ratio
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
