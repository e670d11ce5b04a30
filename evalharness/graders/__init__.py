"""Graders: pure functions from (response, gold, item) to a verdict.

A suite names its grader (`grader: exact_match` or `grader: {name: math_equiv, ...options}`); so does
`evalharness grade NAME`. `make_grader` imports the grader's module only when it is asked for, so sympy and
the sandbox cost nothing to runs that don't use them. Add a grader by writing one module with a `Grader`
subclass and one line in `GRADERS`.
"""

from __future__ import annotations

import importlib
from typing import Any

from evalharness.errors import UserError
from evalharness.graders.base import Grade, Grader

GRADERS: dict[str, str] = {
    "exact_match": "evalharness.graders.exact_match:ExactMatch",
    "math_equiv": "evalharness.graders.math.equiv:MathEquiv",
    "code_exec": "evalharness.graders.code.exec:CodeExec",
}

__all__ = ["GRADERS", "Grade", "Grader", "make_grader"]


def make_grader(name: str, options: dict[str, Any] | None = None) -> Grader:
    """Build the grader called `name` with suite/CLI `options`; unknown names are a user error."""
    target = GRADERS.get(name)
    if target is None:
        known = ", ".join(sorted(GRADERS))
        raise UserError(f"unknown grader {name!r}; known graders: {known}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**(options or {}))
