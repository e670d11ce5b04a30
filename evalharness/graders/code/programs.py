"""Test programs for code tasks: candidate code + the task's tests + a completion marker.

Three task kinds, told apart by the item's fields:
- HumanEval (`prompt`, `test`, `entry_point`): candidate, then `test` (defines `check`), then
  `check(entry_point)`.
- HumanEval+ (also `plus_input`, `base_input`, `atol`, and `canonical_solution`): as HumanEval, then every
  base and plus input is run through the reference solution (its own namespace, deep-copied arguments)
  and the candidate, and outputs are compared the way EvalPlus does: exact equality, else for floats
  |out - exp| <= atol + 1e-7 |exp| (atol at least 1e-6 for float outputs) with equal types and lengths,
  and for `find_zero` |poly(xs, out)| <= atol.
- MBPP (`test_list`, optional `test_imports`, `test_setup_code`): test imports, candidate, setup code, asserts.
The last line prints a random per-run marker: a pass needs exit code 0 and that marker, so a program that
exits early with status 0 (sys.exit(0), os._exit(0)) does not pass.
"""

from __future__ import annotations

import json
import re
from typing import Any

# written straight to fd 1 so that a candidate that rebinds print or sys.stdout cannot hide a real pass
MARKER_LINE = """import os as _evalharness_os, sys as _evalharness_sys
try:
    _evalharness_sys.stdout.flush()
except Exception:
    pass
_evalharness_os.write(1, %(marker)r)"""

BUILTIN_CALLS = {"set", "sorted", "abs", "round", "len", "str", "list", "tuple", "int", "float", "dict", "all",
                 "any", "sum", "max", "min", "isclose", "math", "frozenset", "bool", "type", "isinstance", "not"}

PLUS_CHECK = '''
def _evalharness_plus():
    import copy, json
    ref_ns = {}
    exec(compile(_EVALHARNESS_REFERENCE, "reference.py", "exec"), ref_ns)
    reference, candidate = ref_ns[%(entry)r], globals()[%(entry)r]
    atol = %(atol)r

    def is_floats(x):
        if isinstance(x, float):
            return True
        return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(i, float) for i in x)

    def close(a, b, tol):
        if isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
        return abs(a - b) <= tol + 1e-07 * abs(b)

    for i, inp in enumerate(json.loads(_EVALHARNESS_INPUTS)):
        expected = reference(*copy.deepcopy(inp))
        out = candidate(*copy.deepcopy(inp))
        if %(entry)r == "find_zero":
            assert abs(ref_ns["poly"](*inp, out)) <= atol, "plus input %%d: poly(xs, x) != 0" %% i
            continue
        tol = 1e-6 if atol == 0 and is_floats(expected) else atol
        if out == expected:
            continue
        assert tol != 0, "plus input %%d: wrong output" %% i
        assert type(out) == type(expected), "plus input %%d: wrong output type" %% i
        assert close(out, expected, tol), "plus input %%d: wrong output" %% i


_evalharness_plus()
'''


def task_kind(item: dict[str, Any]) -> str:
    if item.get("test_list"):
        return "mbpp"
    if item.get("plus_input") is not None and item.get("canonical_solution"):
        return "humaneval_plus"
    if item.get("test") and item.get("entry_point"):
        return "humaneval"
    raise ValueError("code task needs `test` and `entry_point` (HumanEval) or `test_list` (MBPP) fields")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value]


def mbpp_entry_point(test_list: list[str]) -> str | None:
    """The function the MBPP asserts call: the first called name that is not a builtin (else the first
    called name at all: task 126 defines its own `sum`)."""
    calls = [name for test in test_list for name in re.findall(r"(?<![.\w])([A-Za-z_]\w*)\s*\(", test)]
    calls = [name for name in calls if name not in ("assert", "not")]
    return next((name for name in calls if name not in BUILTIN_CALLS), calls[0] if calls else None)


def entry_point(item: dict[str, Any]) -> str | None:
    if task_kind(item) == "mbpp":
        return mbpp_entry_point(_as_list(item.get("test_list")))
    return item.get("entry_point")


def build(candidate: str, item: dict[str, Any], marker: str) -> str:
    """The whole program to run for `candidate` (already assembled with the prompt when needed)."""
    kind = task_kind(item)
    if kind == "mbpp":
        imports = "\n".join(_as_list(item.get("test_imports")))
        setup = "\n".join(_as_list(item.get("test_setup_code")))
        tests = "\n".join(_as_list(item.get("test_list")))
        parts = [imports, candidate, imports, setup, tests]
    else:
        parts = [candidate, item["test"], f"check({item['entry_point']})"]
        if kind == "humaneval_plus":
            inputs = list(item.get("base_input") or []) + list(item.get("plus_input") or [])
            reference = item["prompt"] + item["canonical_solution"]
            parts += [f"_EVALHARNESS_REFERENCE = {reference!r}", f"_EVALHARNESS_INPUTS = {json.dumps(inputs)!r}",
                      PLUS_CHECK % {"entry": item["entry_point"], "atol": float(item.get("atol") or 0)}]
    parts.append(MARKER_LINE % {"marker": (marker + "\n").encode()})
    return "\n\n".join(p for p in parts if p) + "\n"
