"""String normalisation of a final answer, and the in-process fast path for plain numbers.

`normalize` rewrites notation that does not change the value, so that most equal pairs become equal
strings without sympy: `\\dfrac`/`\\tfrac` -> `\\frac`, `\\frac12` -> `\\frac{1}{2}`, `\\left`/`\\right` and
`\\!` `\\,` `\\;` spacing dropped, `\\text{}`/`\\mathrm{}` unwrapped and trailing unit words dropped, `^\\circ`,
`\\%`, `\\$` and thousands separators dropped, relation spellings unified, `x = 5` and `x \\in S` reduced to
their right-hand side, a lone multiple-choice letter `\\text{(C)}` -> `C`, trailing punctuation removed.
`plain_number` parses integers, decimals and simple fractions exactly (Fraction) so numeric pairs are
decided here too. Pure functions, no sympy, safe from any thread.
"""

from __future__ import annotations

import re
from fractions import Fraction

_TEXT_CMDS = r"text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|operatorname|textsf|texttt|hbox"
_FUNCTION_WORDS = frozenset("sin cos tan cot sec csc log ln exp sqrt pi arcsin arccos arctan".split())
_UNIT_TAIL = re.compile(r"^(.*?[\d})\]a-zA-Z])\s+((?:[a-zA-Z]{2,}\.?(?:\s*\^\s*\{?\d\}?)?(?:\s+|$))+)$")
_REPLACEMENTS = [
    (re.compile(r"\\[dtc]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|middle)(?![a-zA-Z])\s*\.?"), ""),
    (re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits)(?![a-zA-Z])"), ""),
    (re.compile(r"(?<!\\)\\(?:(?:!|,|;|:|>)(?![a-zA-Z])|q?quad)|(?<!\\)\\ |~"), " "),  # `\\quadx` too
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"\\(sin|cos|tan|cot|sec|csc)\s*\(?\s*(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*\)?"),
     r"\\\1(\2\\pi/180)"),  # \sin 60^\circ is sin of 60 degrees
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree(?![a-zA-Z])"), ""),
    (re.compile(r"\\%|%"), ""),
    (re.compile(r"\\\$|\$"), ""),
    (re.compile(r"\\(?:le|leqslant|leq)(?![a-zA-Z])|<=|=<|≤"), r" \\leq "),
    (re.compile(r"\\(?:ge|geqslant|geq)(?![a-zA-Z])|>=|=>|≥"), r" \\geq "),
    (re.compile(r"\\(?:ne|neq)(?![a-zA-Z])|!=|≠"), r" \\neq "),
    (re.compile(r"\\lt(?![a-zA-Z])"), " < "),
    (re.compile(r"\\gt(?![a-zA-Z])"), " > "),
    (re.compile(r"\\(?:varnothing|emptyset)(?![a-zA-Z])|\\\{\s*\\\}"), r"\\emptyset"),
    (re.compile(r"\\(?:bmatrix|Bmatrix)"), "pmatrix"),
    (re.compile(r"\\begin\{(?:bmatrix|Bmatrix|matrix)\}"), r"\\begin{pmatrix}"),
    (re.compile(r"\\end\{(?:bmatrix|Bmatrix|matrix)\}"), r"\\end{pmatrix}"),
    (re.compile(r"\\begin\{array\}\{[^}]*\}"), r"\\begin{pmatrix}"),
    (re.compile(r"\\end\{array\}"), r"\\end{pmatrix}"),
    (re.compile(r"\\(?:dots|ldots|cdots)(?![a-zA-Z])"), "..."),
    (re.compile(r"\\infinity|\binfinity\b|∞|(?<![a-zA-Z\\])oo(?![a-zA-Z])"), r"\\infty"),
    (re.compile(r"√"), r"\\sqrt"),
    (re.compile(r"π"), r"\\pi"),
    (re.compile(r"−|–"), "-"),
    (re.compile(r"\\cdot\s*\\cdot"), r"\\cdot"),
]
# `\\frac43`, `\\frac4{x}`, `\\frac{4}3`: at least one argument without braces (the full form is left alone,
# so a short form nested inside a full one is still found).
_FRAC_SHORT = re.compile(r"\\frac\s*([\da-zA-Z])\s*([\da-zA-Z]|\{[^{}]*\})|\\frac\s*(\{[^{}]*\})\s*([\da-zA-Z])")
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\d+|[a-zA-Z])")


def normalize(answer: str, reduce_assignment: bool = True) -> str:  # noqa: C901 (a flat list of rewrites)
    """A canonical spelling of `answer` (see the module docstring); spaces are kept for the parser.

    `reduce_assignment=False` keeps `y = 2x + 3` whole, for comparing against a gold that is an equation.
    """
    s = _strip_delimiters(restore_escapes(answer or ""))
    if "\\begin{" not in s:
        s = re.sub(r"\\\\(?=[a-zA-Z])", r"\\", s)  # `\\frac` written with an escaped backslash
    s = re.sub(r"^\*\*(.+)\*\*$", r"\1", s)  # markdown bold **73**
    s = re.sub(r"(\d),\s*\\!\s*(\d)", r"\1,\2", s)  # 10,\!000
    s = _unwrap_braces(s)
    for pattern, replacement in _REPLACEMENTS:
        s = pattern.sub(replacement, s)
    s = _unwrap_text(s)
    s = _FRAC_SHORT.sub(lambda m: r"\frac{%s}{%s}" % tuple(_ungroup(g) for g in m.groups() if g is not None), s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"(?:\s|^)(?:and|or)(?:\s|$)|(?<=[\d)\]}])\s*(?:or|and)(?![a-z])\s*", ", ", s).strip(" ,")
    s = _semicolons(_bare_matrix(s))
    s = re.sub(r"(?<![\d.(\[,])([1-9]\d{0,2})((?:,\d{3})+)(?![\d)\]])", lambda m: m.group(1) + m.group(2).replace(",", ""), s)
    s = re.sub(r"^([+-]?\d+) (\d+)/(\d+)$", r"\1\\frac{\2}{\3}", s)  # mixed number 4 4/9
    s = re.sub(r"^(-?\d+(?:\.\d+)?)[eE]([+-]?\d{1,3})$", r"\1 \\times 10^{\2}", s)  # 6.72e-5
    if re.fullmatch(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?", s):
        s = s.replace(" ", "")
    s = re.sub(r"(?<![\d}])\.(\d)", r"0.\1", s)
    s = _strip_trailing(s)
    s = re.sub(r"^(\d+)_\{(\d+)\}$", r"\1_\2", s)  # 204_{5} -> 204_5
    if reduce_assignment:
        from evalharness.graders.math.labels import values

        s = values(s)
    s = ", ".join(_drop_unit_words(part) for part in split_top_level(s)) if "," in s else _drop_unit_words(s)
    return _choice_letter(s)


def key(normalized: str) -> str:
    """The whitespace-free form used for exact string comparison."""
    return re.sub(r"\s+", "", normalized)


def _strip_delimiters(s: str) -> str:
    s = s.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    return s


_ESCAPES = {"\x0c": "\\f", "\x07": "\\a", "\x08": "\\b", "\x0b": "\\v"}


def restore_escapes(s: str) -> str:
    """`\\frac` that became a form feed + `rac` (a non-raw Python string): restore the backslash command.
    Tabs are left alone (they are also ordinary whitespace); `\\r` only before a letter (`\\right`)."""
    if not any(ch in s for ch in "\x0c\x07\x08\x0b\r"):
        return s
    for char, command in _ESCAPES.items():
        s = s.replace(char, command)
    return re.sub(r"\r(?=[a-z])", r"\\r", s)


def _bare_matrix(s: str) -> str:
    """`(\\begin{pmatrix}...\\end{pmatrix})` -> the matrix; an empty last row (`\\\\ \\end`) dropped."""
    s = re.sub(r"\\\\\s*\\end\{pmatrix\}", r"\\end{pmatrix}", s)
    match = re.fullmatch(r"\(\s*(\\begin\{pmatrix\}.*\\end\{pmatrix\})\s*\)", s, re.DOTALL)
    return match.group(1) if match and "\\begin{pmatrix}" not in match.group(1)[1:] else s


def _semicolons(s: str) -> str:
    """`;` as a separator: inside brackets a comma (`(0;-2;6)`); at the top level a comma when the list has
    none (`-12; -11; -10`), else it separates groups, each a tuple (`p=5,q=2; p=7,q=2`)."""
    if ";" not in s:
        return s
    s = _inside_brackets(s, ";", ",")
    groups = [group.strip() for group in split_top_level(s, ";")]
    if len(groups) == 1:
        return s
    if not any(len(split_top_level(group)) > 1 for group in groups):
        return ", ".join(groups)
    return ", ".join(f"({group})" if len(split_top_level(group)) > 1 else group for group in groups)


def _inside_brackets(s: str, old: str, new: str) -> str:
    out, depth = [], 0
    for ch in s:
        depth += ch in "([{"
        depth -= ch in ")]}"
        out.append(new if ch == old and depth > 0 else ch)
    return "".join(out)


def _unwrap_braces(s: str) -> str:
    """`{1,3}` (a TeX group, not a set) -> `1,3`."""
    while s.startswith("{") and s.endswith("}") and _closing_brace(s) == len(s) - 1:
        s = s[1:-1].strip()
    return s


def _closing_brace(s: str) -> int:
    depth = 0
    for i, ch in enumerate(s):
        depth += (ch == "{") - (ch == "}")
        if depth == 0:
            return i
    return -1


def _ungroup(token: str) -> str:
    return token[1:-1] if token.startswith("{") else token


def _unwrap_text(s: str) -> str:
    """`\\text{ and }` -> `,`; other text commands -> their content (spaced, so words stay words)."""
    s = re.sub(r"\\(?:%s)\s*\{\s*(?:and|or)\s*\}" % _TEXT_CMDS, ", ", s)
    for _ in range(3):
        s = re.sub(r"\\(?:%s)\s*\{([^{}]*)\}" % _TEXT_CMDS, r" \1 ", s)
    return s


def _strip_trailing(s: str) -> str:
    """Sentence punctuation after the answer ("5." or "(1,2),"), but not an ellipsis."""
    while s and s[-1] in ".,;:\\" and not s.endswith("..."):  # not "!": 5! is a factorial
        s = s[:-1].rstrip()
    return s


def split_top_level(s: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside any (), [], {} nesting (brackets of an interval like `[0,1)` count too)."""
    parts, depth, current = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part] or [""]


def _drop_unit_words(s: str) -> str:
    """`15 cm^2` -> `15`, `125 miles` -> `125`; an answer that is only words (`Evelyn`) is kept."""
    match = _UNIT_TAIL.match(s)
    if not match:
        return s
    words = re.findall(r"[a-zA-Z]{2,}", match.group(2))
    if any(word in _FUNCTION_WORDS for word in words) or not re.search(r"[\d})\]]", match.group(1)):
        return s
    return match.group(1).strip()


def _choice_letter(s: str) -> str:
    """`(C)`, `\\text{(C)}`, `C)` -> `C`: a multiple-choice answer compares as its letter."""
    match = re.fullmatch(r"\(\s*([A-Ea-e])\s*\)|([A-E])\s*\)?", s.strip())
    if match:
        return (match.group(1) or match.group(2)).upper()
    match = re.match(r"\(?([A-E])[.):]\s+\S", s.strip())  # "C. x = 42": the option letter, then its text
    return match.group(1) if match else s


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
_FRACTION = re.compile(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}|(-?\d+)\s*/\s*(-?\d+)")
_MIXED = re.compile(r"(-?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}")


def plain_number(s: str) -> Fraction | None:
    """The exact value of an integer, decimal, `a/b`, `\\frac{a}{b}` or mixed number `1\\frac{4}{5}`."""
    s = s.strip().replace(" ", "")
    if len(s) > 60:
        return None
    try:
        if _NUMBER.fullmatch(s):
            return Fraction(s)
        match = _FRACTION.fullmatch(s)
        if match:
            sign, num, den = (match.group(1), match.group(2), match.group(3)) if match.group(2) else (
                "", match.group(4), match.group(5))
            value = Fraction(int(num), int(den))
            return -value if sign else value
        match = _MIXED.fullmatch(s)
        if match:
            value = int(match.group(2)) + Fraction(int(match.group(3)), int(match.group(4)))
            return -value if match.group(1) else value
    except (ValueError, ZeroDivisionError):
        return None
    return None
