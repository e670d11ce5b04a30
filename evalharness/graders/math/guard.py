"""Guards that keep sympy from evaluating numbers too large to exist: power towers, huge factorials.

`too_big(expr)` estimates, from the expression tree alone, an upper bound on the number of digits of any
value sympy would compute; above _MAX_DIGITS the comparison stays structural. This is what makes
`9^{9^{9^{9}}}`, `\\binom{10^9}{10^5}` or `e^{e^{e^{e^{e^{10}}}}}` cost microseconds instead of hanging a worker.
"""

from __future__ import annotations

import sympy

_MAX_DIGITS = 2000  # a value with more digits than this is never evaluated
# Functions whose value (or evaluation cost) explodes with their arguments: guarded like power towers.
_GROWING = (sympy.factorial, sympy.factorial2, sympy.binomial, sympy.gamma, sympy.subfactorial, sympy.Sum,
            sympy.Product, sympy.Integral, sympy.Limit, sympy.RisingFactorial, sympy.FallingFactorial)


def too_big(expr) -> bool:
    """True when some power in `expr` would have more than _MAX_DIGITS digits (power towers)."""
    try:
        return _log10_size(expr) > _MAX_DIGITS
    except Exception:
        return True


def _log10_size(expr) -> float:
    """A rough upper bound on log10 |value| of `expr` once evaluated (symbols count as small)."""
    if isinstance(expr, sympy.Pow):
        if isinstance(expr.base, sympy.Integer) and expr.base != 0 and expr.exp.is_number and expr.exp.is_negative:
            # 1/6, 10^{-3}: at most 1 in size, but its denominator must still be small enough to compute
            denominator = _log10_size(sympy.Pow(expr.base, -expr.exp, evaluate=False))
            return 0.1 if denominator <= _MAX_DIGITS else float("inf")
        base, exp = _log10_size(expr.base), _log10_size(expr.exp)
        if exp > 6:
            return float("inf") if base > 0.01 else 0.0
        return base * (10**exp) if base > 0.01 else 0.0
    if isinstance(expr, sympy.exp):
        inner = _log10_size(expr.args[0])
        return float("inf") if inner > 6 else 0.4343 * 10**inner
    if isinstance(expr, sympy.Integer):
        return 0.30103 * abs(int(expr)).bit_length()
    if isinstance(expr, sympy.Rational):  # p/q: at most log10 |p| - log10 q (+ a margin); 1/2 is small
        return max(0.0, 0.30103 * (abs(int(expr.p)).bit_length() - int(expr.q).bit_length() + 1)) + 0.1
    if isinstance(expr, _GROWING):
        if getattr(expr, "free_symbols", None):
            return 2.0  # symbolic: compared, never expanded to a number
        inner = max(_log10_size(arg) for arg in expr.args)
        return float("inf") if inner > 4 else 10**inner * max(inner, 1.0)
    if not expr.args:
        return 1.0
    sizes = [_log10_size(arg) for arg in expr.args]
    return sum(sizes) if isinstance(expr, sympy.Mul) else max(sizes) + 1
