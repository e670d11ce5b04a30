"""Graders: pure functions from one exchange to a verdict (contract in `graders/base.py`).

A suite names its grader (`grader: exact_match` or `grader: {name: math_equiv, ...options}`); so does
`evalharness grade NAME`. Built-ins are listed in `GRADERS` by short name; any other grader is named by
where it lives (`path/to/file.py:Class` or `package.module:Class`, see `registry.py`), so a new grader is
one file. A grader's module is imported when a suite naming it loads (to check its options, before any
request); heavy libraries (sympy, the sandbox's workers) start only when grading starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalharness import registry
from evalharness.extract import Extractor
from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions
from evalharness.schema import convert

GRADERS: dict[str, str] = {
    "exact_match": "evalharness.graders.exact_match:ExactMatch",
    "math_equiv": "evalharness.graders.math.equiv:MathEquiv",
    "code_exec": "evalharness.graders.code.exec:CodeExec",
    "bbh_match": "evalharness.graders.bbh:BBHMatch",
    "tool_call_ast": "evalharness.graders.tools.grader:ToolCallAST",
    "string_match_all": "evalharness.graders.string_match:StringMatchAll",    # RULER: every reference found
    "string_match_part": "evalharness.graders.string_match:StringMatchPart",  # RULER: any reference found
    "choice": "evalharness.graders.choice:Choice",
}

__all__ = ["GRADERS", "Exchange", "Grade", "Grader", "GraderOptions", "grader_class", "make_grader", "check_options"]


def grader_class(name: str, base_dir: Path | None = None) -> type[Grader]:
    return registry.resolve(name, GRADERS, kind="grader", base_dir=base_dir)


def check_options(name: str, options: dict[str, Any], *, source: str, path: str,
                  base_dir: Path | None = None) -> GraderOptions:
    """Validate a grader's options against its `Options` schema: `source: path.field: expected ...`."""
    cls = grader_class(name, base_dir)
    return convert(options, cls.Options, source=source, root=path, prefix=path + ".")


def make_grader(name: str, options: dict[str, Any] | GraderOptions | None = None, *,
                extractor: Extractor | None = None, base_dir: Path | None = None,
                source: str | None = None) -> Grader:
    """Build the grader called `name` with suite/CLI `options`; unknown names and options are user errors."""
    cls = grader_class(name, base_dir)
    if not isinstance(options, GraderOptions):
        options = convert(options or {}, cls.Options, source=source or f"grader {name}", root="options",
                          prefix="options")
    return cls(options, extractor=extractor)
