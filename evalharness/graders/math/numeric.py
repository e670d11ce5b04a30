"""A float evaluator for closed-form constants (`2\\sqrt{5}`, `\\frac{\\pi}{6}`, `6 - 5i`), without sympy.

The grader uses it only to *reject*: when two answers evaluate to clearly different numbers they cannot be
equal, so the pair never needs a sympy worker. Equal-looking values still go to sympy for an exact verdict.
The evaluator accepts numbers, `+ - * /`, `^` with small exponents, `\\frac`, `\\sqrt`, `\\sqrt[n]`, `\\pi`,
`\\cdot`, `\\times`, `i`, parentheses and implicit multiplication; anything else yields None. It walks a
parsed AST (never `eval`) and refuses large exponents, so hostile input cannot make it slow.
"""

from __future__ import annotations

import ast
import cmath
import math
import re

_FRAC = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_ROOT = re.compile(r"\\sqrt\s*\[([^\[\]{}]*)\]\s*\{([^{}]*)\}")
_POWER = re.compile(r"\^\s*\{([^{}]*)\}")
_TOKEN = re.compile(r"\s*(\d+\.?\d*|\.\d+|sqrt|pi|i|\*\*|[-+*/()])")
_SYMBOL_TOKEN = re.compile(r"\s*(\d+\.?\d*|\.\d+|sqrt|pi|[a-zA-Z]|\*\*|[-+*/()])")
_MAX_EXPONENT = 400


def approx_value(latex: str) -> complex | None:
    """The value of a closed-form constant as a complex float, or None when it is not one."""
    expression = to_python(latex)
    if expression is None:
        return None
    try:
        value = _eval(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError, MemoryError):
        return None
    return value if cmath.isfinite(value) else None


def to_python(latex: str, symbols: bool = False) -> str | None:
    """Simple LaTeX as a Python expression over pi, i, sqrt (and single-letter symbols, lower-cased, when
    `symbols`): `2\\sqrt{5}` -> `2 * sqrt ( 5 )`. None for anything outside that small language."""
    if len(latex) > 200:
        return None
    s = latex.replace("\\cdot", "*").replace("\\times", "*").replace("\\pi", " pi ")
    for _ in range(6):
        before = s
        s = _ROOT.sub(r"((\2)**(1/(\1)))", s)
        s = _FRAC.sub(r"((\1)/(\2))", s)
        s = _SQRT.sub(r"sqrt(\1)", s)
        s = _POWER.sub(r"**(\1)", s)
        if s == before:
            break
    s = re.sub(r"\^\s*(\d|[a-zA-Z])", r"**\1", s).replace("{", "(").replace("}", ")")
    if "\\" in s or "^" in s:
        return None
    tokens = _tokens(s, _SYMBOL_TOKEN if symbols else _TOKEN)
    if not tokens:
        return None
    return " ".join(token.lower() if len(token) == 1 and token.isalpha() else token for token in tokens)


def _tokens(s: str, pattern: re.Pattern) -> list[str] | None:
    """Tokens with `*` inserted for implicit multiplication (`2 sqrt(5)`, `3 pi`, `)(`)."""
    out: list[str] = []
    pos = 0
    while pos < len(s):
        match = pattern.match(s, pos)
        if match is None:
            return None if s[pos:].strip() else out
        token = match.group(1)
        if out and _ends_operand(out[-1]) and _starts_operand(token):
            out.append("*")
        out.append(token)
        pos = match.end()
    return out


def _ends_operand(token: str) -> bool:
    return token == ")" or token == "pi" or token[0].isalnum() and token != "sqrt" or token[0] == "."


def _starts_operand(token: str) -> bool:
    return token == "(" or token[0].isalnum() or token[0] == "."


def _eval(node) -> complex:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return complex(node.value)
    if isinstance(node, ast.Name) and node.id in ("pi", "i"):
        return complex(math.pi) if node.id == "pi" else 1j
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return 0j - value if isinstance(node.op, ast.USub) else value  # 0j - x keeps +0 imaginary parts
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt" and len(node.args) == 1:
        return cmath.sqrt(_eval(node.args[0]))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        if isinstance(node.op, ast.Pow):
            if abs(right) > _MAX_EXPONENT or abs(left) > 1e100:
                raise OverflowError("exponent too large")
            if right.imag == 0 and right.real == int(right.real) and left.imag == 0:
                return complex(left.real ** int(right.real))
            return left**right
    raise ValueError("not a closed-form constant")
