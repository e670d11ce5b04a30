"""The grader contract.

`Grader.grade(response, gold, item)` returns a `Grade`:
- `response`: the model's whole answer text (or a bare prediction, for `evalharness grade`).
- `gold`: the reference answer as the suite's field mapping produced it.
- `item`: every mapped field of the dataset item (e.g. `test`, `entry_point`, `prompt` for code), read-only.

`grade` must be thread-safe and must never raise on hostile model output: garbage in, `correct=False` out.
A grader that blocks (sympy in a worker process, a sandboxed program) sets `blocking = True`; the runner then
calls it from worker threads so grading overlaps with requests. `grade_many` grades a batch (the `grade`
command uses it); the default runs `grade` on a thread pool. `close` releases pools.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass
class Grade:
    """A verdict. `extracted` is what the grader compared (final answer, or the code it ran); `details`
    holds grader-specific facts for the record (e.g. code verdict, stderr tail, isolation level)."""

    correct: bool
    extracted: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Grader:
    name: str = "grader"
    blocking: bool = False
    max_workers: int = 4

    def grade(self, response: str, gold: Any, item: dict[str, Any]) -> Grade:
        raise NotImplementedError

    def grade_many(self, rows: Iterable[tuple[str, Any, dict[str, Any]]]) -> list[Grade]:
        rows = list(rows)
        if not self.blocking or len(rows) < 2:
            return [self.grade(*row) for row in rows]
        with ThreadPoolExecutor(self.max_workers) as pool:
            return list(pool.map(lambda row: self.grade(*row), rows))

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        """Facts about how grading ran, stored in results.json (e.g. sandbox isolation level)."""
        return {"grader": self.name}
