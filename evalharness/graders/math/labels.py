"""Labelled answers: `AB = 4, CD = 5`, `|PQ| = 3`, `V_1 : V_2 = 2:5`, `\\frac{a}{b} = \\frac{1}{\\sqrt{6}}`,
`x_1 = 2, x_2 = -5`, `(p, q) = (3, 2)`, `x \\in [1, 2]`, `x = 5+5+1 = 11`, `x \\approx 11`.

A label names what a value is; the value is what is graded. The rules (`resolve`, on normalised text):
- A part `NAME = value` is the value; chains keep the last side (`x = 5+5+1 = 11` -> `11`), `NAME \\in S` is
  S, `value \\approx 0.33` keeps the exact value. A name is a short word or letter with subscripts/primes
  or an argument list (`a_{37}`, `f(x)`, `Area`), `|AB|`, `\\angle A`, a ratio `A:B` or quotient of names,
  or a tuple of names `(p, q)`. `7 = 11a + c` or `2x + z = 1` are equations, not labels.
- A label on the first part only covers the list (`a = 4, -8, -10` is the list 4, -8, -10).
- Several different names are an ordered tuple in the gold's order (`AB = 4, CD = 5` is `(4, 5)`, so the
  bare answer `4, 5` matches and `5, 4` does not); when the prediction labels the same names in another
  order it is reordered (`n = 8, m = 3` equals `m = 3, n = 8`). Names that share a base (`x_1, x_2` or
  `x, x`) are a list of values (roots), compared like any bare list.
- Both sides labelled with different names is "not equal" (`x = 2` is not `y = 2`).
- A parenthesised group of assignments is one tuple (`(p=5, q=2), (p=7, q=2)` is `(5,2), (7,2)`).
"""

from __future__ import annotations

import re

from evalharness.graders.math.normalize import split_top_level

_WORD = r"(?:[A-Za-z]{1,12}|\\(?!frac|sqrt|sin|cos|tan|log|ln|exp|cdot|times|left|right|pm|infty)[a-zA-Z]+)"
_ATOM = _WORD + r"(?:_(?:\{[^{}=]{1,20}\}|[\w,]+))?'*(?:\^\{?\*\}?)?(?:\([a-zA-Z, ]*\))?"
_NAME = re.compile(
    r"\s*(?:(?:m\s*)?\\angle\s*{a}|\\overline\{{{a}\}}|\\?\|\s*{a}\s*\\?\||{a}(?:\s*:\s*{a})+|\\frac\{{{a}\}}\{{{a}\}}"
    r"|{a}\s*/\s*{a}|\(\s*{a}(?:\s*,\s*{a})*\s*\)|{a}(?:\s+[A-Za-z]{{2,12}}){{0,3}})\s*".format(a=_ATOM)
)
_APPROX = re.compile(r"\\approx(?![a-zA-Z])|≈")


def is_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))


def split_label(part: str) -> tuple[str | None, str]:
    """(name, value) of one answer part; name None when the part is not labelled."""
    approx = [piece.strip() for piece in _APPROX.split(part)]
    if len(approx) > 1:  # `x = 1/3 \approx 0.33` -> `x = 1/3`; `x \approx 11` -> `11`
        if is_name(approx[0]):
            return _canonical(approx[0]), approx[-1]
        part = approx[0]
    member = re.match(r"^\s*(.+?)\s*\\in\s+(.+)$", part)
    if member and is_name(member.group(1)):
        return _canonical(member.group(1)), member.group(2).strip()
    if "=" not in part or re.search(r"\\(?:leq|geq|neq)|<|>", part):
        return None, part
    sides = split_top_level(part, "=")
    if len(sides) < 2 or not sides[-1]:
        return None, part
    if is_name(sides[0]):
        return _canonical(sides[0]), sides[-1]
    if is_name(sides[-2]):
        return _canonical(sides[-2]), sides[-1]
    if not any(_has_variable(side) for side in sides):
        return None, sides[-1]  # a worked computation `\frac{1}{2} + \frac{11}{18} = \frac{10}{9}`
    return None, part


def values(answer: str) -> str:
    """`answer` with every label dropped (what `normalize` returns by default)."""
    return ", ".join(value for _, value in _parts(answer))


def resolve(gold: str, pred: str) -> tuple[str, str] | None:
    """The two answers with labels resolved (see the module docstring); None when the labels disagree."""
    g, p = _parts(gold), _parts(pred)
    gold_names, pred_names = [name for name, _ in g], [name for name, _ in p]
    if all(gold_names) and all(pred_names):
        if _bases(gold_names) == _bases(pred_names) and len(set(_bases(gold_names))) == 1:
            return _join(g, ordered=False), _join(p, ordered=False)
        if sorted(gold_names) != sorted(pred_names):
            return None
        if len(set(gold_names)) == len(gold_names):  # distinct names: put the prediction in the gold's order
            by_name = dict(p)
            p = [(name, by_name[name]) for name in gold_names]
    return _join(g, ordered=True), _join(p, ordered=True)


def _parts(answer: str) -> list[tuple[str | None, str]]:
    """Labelled parts; a leading label carries over to the unlabelled values after it."""
    out, carried = [], None
    for part in split_top_level(answer):
        group = _assignment_group(part)
        name, value = group if group else split_label(part)
        if name is None and carried is not None and not group:
            name = carried
        carried = name if name is not None else carried
        out.append((name, value))
    return out


def _assignment_group(part: str) -> tuple[str, str] | None:
    """`(p=5, q=2)` -> ("(p,q)", "(5, 2)"): a parenthesised group of assignments is one tuple."""
    if not (part.startswith("(") and part.endswith(")")) or "=" not in part:
        return None
    inner = [split_label(piece) for piece in split_top_level(part[1:-1])]
    if len(inner) < 2 or not all(name for name, _ in inner):
        return None
    return "(" + ",".join(name for name, _ in inner) + ")", "(" + ", ".join(value for _, value in inner) + ")"


def _join(parts: list[tuple[str | None, str]], ordered: bool) -> str:
    names = [name for name, _ in parts if name]
    text = ", ".join(value for _, value in parts)
    if ordered and len(parts) > 1 and len(set(names)) == len(parts) and len(set(_bases(names))) > 1:
        return "(" + text + ")"  # distinct quantities: an ordered tuple
    return text


def _bases(names: list[str]) -> list[str]:
    return [re.sub(r"_.*$", "", name) for name in names]


def _canonical(name: str) -> str:
    """The name as compared: no spaces or braces, and no argument list (`W(n)` and `W(x)` are one function)."""
    name = re.sub(r"[\s{}]|\\left|\\right", "", name).replace("\\|", "|")
    return re.sub(r"(?<=[A-Za-z'])\([a-zA-Z,]*\)$", "", name) if not name.startswith("(") else name


def _has_variable(s: str) -> bool:
    return bool(re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", s)))
