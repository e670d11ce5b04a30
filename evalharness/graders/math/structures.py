"""Equality of answers that are not a single expression: lists, sets, tuples, intervals, matrices, relations.

Rules (gold always first; `Rules` carries the grader options):
- A single tuple is ordered: `(1,2)` is not `(2,1)`; a bare list against a tuple is read as that tuple.
- Sets `\\{...\\}` and `a \\pm b` are unordered and ignore repeats.
- A list of tuples (`(1,2), (2,1)`) is a solution set: any order, repeats ignored.
- A bare list of values (`2, 3, 5`), with `list_order`:
  `auto` (default): in the gold's order, or in any order when the prediction lists its values sorted
  (either direction; two values always are) - solution lists are written sorted, while `10, 4, -2`
  against `4, 10, -2` is a different assignment of values; `any`: any order; `written`: in order.
- Intervals by ends and open/closed; `(a, b)` doubles as an open interval and as an ordered pair.
- Relations: equations up to a non-zero factor, inequalities up to a positive one (flips allowed).
- A relation in one unknown (`-2 \\le x \\le 7`, `0 < f(x) < 1`, `|z| \\ge 1`, `x < 2` or `x > 5`) against a
  set compares its solution set over the reals with the set. With `set_relation: false` a gold written
  as a set accepts only sets (a gold relation still accepts its solution set).
- Matrices element-wise, after evaluating sums and products.
"""

from __future__ import annotations

import sympy
from sympy.core.function import AppliedUndef

from evalharness.graders.math.expressions import Context, expr_equal, proportional, safe_bool

_MATRIX_TYPES = (sympy.MatrixBase, sympy.MatrixExpr)
_RELATIONS = (sympy.Rel, sympy.And)


class BareList(tuple):
    """Comma-separated answers written without brackets: `2, 3`."""


class PlusMinus(BareList):
    """The two values of `a \\pm b`: a set, never ordered."""


def same(g, p, ctx: Context) -> bool:
    """True when parsed answers `g` (gold) and `p` denote the same object."""
    if isinstance(g, str) or isinstance(p, str):
        return isinstance(g, str) and isinstance(p, str) and g.replace(" ", "") == p.replace(" ", "")
    if isinstance(g, BareList) or isinstance(p, BareList):
        return _same_lists(g, p, ctx)
    if isinstance(g, _MATRIX_TYPES) or isinstance(p, _MATRIX_TYPES):
        return _same_matrices(g, p, ctx)
    if isinstance(g, (sympy.Tuple, sympy.Interval)) and isinstance(p, (sympy.Tuple, sympy.Interval)):
        return _same_ordered(g, p, ctx)
    if isinstance(g, sympy.Set) or isinstance(p, sympy.Set):
        return _same_sets(g, p, ctx)
    if isinstance(g, _RELATIONS) or isinstance(p, _RELATIONS):
        return _same_relations(g, p, ctx)
    if isinstance(g, sympy.Expr) and isinstance(p, sympy.Expr):
        return expr_equal(g, p, ctx)
    return g == p


def _same_lists(g, p, ctx: Context) -> bool:
    """Lists against lists, sets, tuples and single values (see the module docstring for the order rule)."""
    if _all_relations(g) or _all_relations(p):
        return _relations_vs_set(g, p, ctx)  # `x < 2, x > 5` (written with "or") against a union
    g, p = _open_pair_as_tuple(g), _open_pair_as_tuple(p)
    gs, ps = _elements(g), _elements(p)
    if isinstance(g, sympy.Tuple) or isinstance(p, sympy.Tuple):
        return len(gs) == len(ps) and all(same(a, b, ctx) for a, b in zip(gs, ps))
    unordered = (isinstance(g, (sympy.FiniteSet, PlusMinus)) or isinstance(p, (sympy.FiniteSet, PlusMinus))
                 or ctx.rules.list_order == "any")
    if ctx.rules.list_order == "auto" and not unordered:
        if all(isinstance(x, (sympy.Tuple, sympy.Interval)) for x in gs + ps):
            unordered = True  # a list of tuples is a solution set
        elif len(gs) == len(ps) and all(same(a, b, ctx) for a, b in zip(gs, ps)):
            return True
        else:
            unordered = _sorted_values(ps)
    if not unordered:
        return len(gs) == len(ps) and all(same(a, b, ctx) for a, b in zip(gs, ps))
    gs, ps = _dedupe(gs), _dedupe(ps)
    return len(gs) == len(ps) and _matching(gs, ps, ctx)


def _elements(x) -> list:
    if isinstance(x, (sympy.Tuple, sympy.FiniteSet)):
        return list(x.args)
    return list(x) if isinstance(x, tuple) else [x]


def _sorted_values(items: list) -> bool:
    """Real numbers listed in increasing or decreasing order (two distinct values always are)."""
    try:
        values = [complex(sympy.N(x, 20)) for x in items]
    except Exception:
        return False
    if len(values) <= 2:
        return True
    if any(abs(v.imag) > 1e-12 for v in values):
        return False
    reals = [v.real for v in values]
    return all(a < b for a, b in zip(reals, reals[1:])) or all(a > b for a, b in zip(reals, reals[1:]))


def _open_pair_as_tuple(x):
    """`(1,3)` parses as an open interval; against a list it is the ordered pair it is written as."""
    if isinstance(x, sympy.Interval) and x.left_open and x.right_open:
        return sympy.Tuple(x.start, x.end)
    if isinstance(x, BareList):
        return type(x)(_open_pair_as_tuple(item) for item in x)
    return x


def _dedupe(items: list) -> list:
    out = []
    for item in items:
        if not any(safe_bool(lambda: item == seen) for seen in out):
            out.append(item)
    return out


def _matching(gs: list, ps: list, ctx: Context) -> bool:
    """Every gold element pairs with a distinct pred element (greedy is enough for answer lists)."""
    left = list(ps)
    for a in gs:
        for i, b in enumerate(left):
            if same(a, b, ctx):
                del left[i]
                break
        else:
            return False
    return True


def _same_ordered(g, p, ctx: Context) -> bool:
    """Tuples element-wise; intervals by ends and openness; `(a, b)` doubles as an open interval."""
    def ends(x):
        if isinstance(x, sympy.Interval):
            return [x.start, x.end], (bool(x.left_open), bool(x.right_open))
        return list(x.args), (True, True) if len(x.args) == 2 else None

    (ge, gopen), (pe, popen) = ends(g), ends(p)
    if len(ge) != len(pe) or (isinstance(g, sympy.Interval) or isinstance(p, sympy.Interval)) and gopen != popen:
        return False
    return all(same(a, b, ctx) for a, b in zip(ge, pe))


def _same_sets(g, p, ctx: Context) -> bool:
    if isinstance(g, _RELATIONS) or isinstance(p, _RELATIONS):
        return _relations_vs_set(g, p, ctx)
    if isinstance(g, sympy.FiniteSet) and isinstance(p, (sympy.FiniteSet, sympy.Tuple)):
        return _same_lists(g, p, ctx)
    if isinstance(p, sympy.FiniteSet) and isinstance(g, sympy.Tuple):
        return _same_lists(g, p, ctx)
    if type(g) is not type(p):
        g, p = _evaluated(g), _evaluated(p)  # Complement(Reals, {0}) -> a union of two open intervals
        if type(g) is not type(p):
            return safe_bool(lambda: g == p)
    if isinstance(g, sympy.Interval):
        return _same_ordered(g, p, ctx)
    if isinstance(g, sympy.Union):
        return len(g.args) == len(p.args) and _matching(list(g.args), list(p.args), ctx)
    return safe_bool(lambda: g == p)


def _evaluated(x):
    try:
        return x.func(*x.args) if isinstance(x, (sympy.Complement, sympy.Intersection, sympy.Union)) else x
    except Exception:
        return x


def _all_relations(x) -> bool:
    return isinstance(x, BareList) and len(x) > 1 and all(isinstance(item, _RELATIONS) for item in x)


def _relations_vs_set(g, p, ctx: Context) -> bool:
    """A relation (or relations joined by "or") in one unknown against a set: same solution set."""
    gold_is_relation = isinstance(g, _RELATIONS) or _all_relations(g)
    pred_is_relation = isinstance(p, _RELATIONS) or _all_relations(p)
    if gold_is_relation and pred_is_relation:
        if not isinstance(g, BareList) and not isinstance(p, BareList):
            return _same_relations(g, p, ctx)
        gold_set, pred_set = _solution_set(g), _solution_set(p)
        return gold_set is not None and safe_bool(lambda: gold_set == pred_set)
    if pred_is_relation and not ctx.rules.set_relation:
        return False  # the gold is a set and the rules ask for a set
    rel, other = (g, p) if gold_is_relation else (p, g)
    if not isinstance(other, (sympy.Set, sympy.Tuple)):
        return False
    if isinstance(other, sympy.Tuple) and len(other.args) == 2:
        other = sympy.Interval.open(*other.args)  # `(0, 1)` written for an open interval
    solutions = _solution_set(rel)
    return solutions is not None and safe_bool(lambda: solutions == other)


def _solution_set(rel):
    """The real solutions of a relation (or an "or" list of them) in its one unknown; None if not one."""
    if isinstance(rel, BareList):
        parts = [_solution_set(item) for item in rel]
        if any(part is None for part in parts):
            return None
        return safe_value(lambda: sympy.Union(*parts))
    unknowns = rel.atoms(AppliedUndef)
    if len(unknowns) == 1:  # `0 < f(x) < 1` is about the value f(x)
        rel = rel.xreplace({unknowns.pop(): sympy.Symbol("_value")})
    if len(rel.free_symbols) != 1:
        return None
    (symbol,) = rel.free_symbols
    real = sympy.Symbol("_real", real=True)
    return safe_value(lambda: rel.xreplace({symbol: real}).as_set())


def safe_value(thunk):
    try:
        return thunk()
    except Exception:
        return None


def _same_relations(g, p, ctx: Context) -> bool:
    if isinstance(g, sympy.Set) or isinstance(p, sympy.Set):
        return _relations_vs_set(g, p, ctx)
    if isinstance(g, sympy.Eq) and isinstance(p, sympy.Eq):
        if g.lhs == p.lhs and isinstance(g.lhs, sympy.Symbol) and expr_equal(g.rhs, p.rhs, ctx):
            return True
        return proportional(g.lhs - g.rhs, p.lhs - p.rhs, positive=False)
    if isinstance(g, sympy.Eq) != isinstance(p, sympy.Eq):
        return False
    if isinstance(g, sympy.And) or isinstance(p, sympy.And):
        if len(g.free_symbols) == 1 and g.free_symbols == p.free_symbols:
            return safe_bool(lambda: g.as_set() == p.as_set())
        return g == p
    if not isinstance(g, sympy.Rel) or not isinstance(p, sympy.Rel):
        return False
    (gd, gstrict), (pd, pstrict) = _as_less(g), _as_less(p)
    if gstrict is None or gstrict != pstrict:
        return False
    return proportional(gd, pd, positive=True)


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


def _same_matrices(g, p, ctx: Context) -> bool:
    g, p = _as_matrix(g), _as_matrix(p)
    if g is None or p is None or g.shape != p.shape:
        return False
    return all(expr_equal(a, b, ctx) for a, b in zip(g, p))


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
