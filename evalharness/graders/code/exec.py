"""`code_exec`: run the model's code against the task's tests in the sandbox.

Verdict (`Grade.details["status"]`): `passed` (exit code 0 and the per-run marker printed after the tests),
`failed` (an AssertionError: a test did not hold), `error` (another exception, named in `exception`; or no
code found, or the program exited before the tests finished), `timeout` (wall or CPU limit), `killed`
(a signal, e.g. SIGXFSZ for the file-size limit, or MemoryError under the address-space limit).
`stderr_tail` keeps the end of stderr. `Grade.extracted` is the candidate code that ran (tests excluded).
The sandbox is started in the constructor (strongest isolation available); with no isolation at all the
constructor raises UserError unless `allow_unsafe_exec=True`.
"""

from __future__ import annotations

import re
import secrets
import signal
from typing import Annotated, Any

import msgspec

from evalharness.graders.code import programs as code_programs
from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions
from evalharness.graders.code.extract import extract_code, extract_program
from evalharness.sandbox import Limits, RunResult, open_sandbox

EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
STDERR_TAIL = 2000
SETUP_FAILED = 125  # worker.py: the child could not confine itself, so the program never ran


def exception_name(stderr_end: str) -> str | None:
    """The exception type on the last line of a traceback ("ValueError: ..." -> "ValueError")."""
    if "Traceback (most recent call last)" not in stderr_end and "Error" not in stderr_end:
        return None
    for line in reversed(stderr_end.strip().splitlines()):
        match = EXCEPTION_LINE.match(line.strip())
        if match and not line.startswith(" "):
            return match.group(1).rsplit(".", 1)[-1]
    return None


def verdict(result: RunResult, marker: str) -> tuple[str, str | None]:
    """(status, exception) for a finished run."""
    if result.error or (result.exit_code == SETUP_FAILED and "sandbox setup failed" in result.stderr_end):
        return "error", "SandboxError"
    if result.timed_out or result.signal == signal.SIGXCPU:
        return "timeout", None
    if result.signal:
        name = signal.Signals(result.signal).name if result.signal in signal.valid_signals() else str(result.signal)
        return "killed", name
    exc = exception_name(result.stderr_end)
    if result.exit_code == 0 and marker in result.stdout_end:
        return "passed", None
    if exc == "AssertionError":
        return "failed", exc
    if exc == "MemoryError":
        return "killed", exc
    if exc:
        return "error", exc
    if result.exit_code == 0:
        return "error", "exited before the tests finished"
    return "error", f"exit code {result.exit_code}"


class CodeExecOptions(GraderOptions):
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    memory_mb: Annotated[int, msgspec.Meta(ge=16)] = 2048
    file_mb: Annotated[int, msgspec.Meta(ge=1)] = 16
    allow_unsafe_exec: bool = False
    workers: Annotated[int, msgspec.Meta(ge=1)] | None = None
    python: str | None = None


class CodeExec(Grader):
    name = "code_exec"
    Options = CodeExecOptions
    blocking = True
    needs_gold = False  # the tests are the reference: records for `evalharness grade` need no `gold`

    def setup(self) -> None:
        o = self.options
        self.limits = Limits(timeout_s=float(o.timeout_s), memory_mb=int(o.memory_mb), file_mb=int(o.file_mb))
        self.sandbox = open_sandbox(workers=o.workers, allow_unsafe=o.allow_unsafe_exec, python=o.python)
        self.max_workers = getattr(self.sandbox, "size", 2) + 2

    def candidate(self, response: str, item: dict[str, Any]) -> str:
        """The code to test: extracted from the response, assembled with the prompt for HumanEval tasks."""
        entry = code_programs.entry_point(item)
        if code_programs.task_kind(item) == "mbpp":
            return extract_code(response or "", entry)
        return extract_program(response or "", item.get("prompt"), entry)

    def grade(self, exchange: Exchange) -> Grade:
        item = exchange.fields
        try:
            code = self.candidate(exchange.text, item)
        except ValueError as exc:
            return Grade(False, None, {"status": "error", "exception": "BadItem", "stderr_tail": str(exc)})
        if not code.strip():
            return Grade(False, "", {"status": "error", "exception": "NoCode", "stderr_tail": ""})
        marker = "EVALHARNESS-DONE-" + secrets.token_hex(12)
        result = self.sandbox.run(code_programs.build(code, item, marker), self.limits)
        status, exc = verdict(result, marker)
        tail = result.error or result.stderr_end[-STDERR_TAIL:]
        details = {"status": status, "exception": exc, "stderr_tail": tail, "wall_s": round(result.wall_s, 4)}
        return Grade(status == "passed", code, details)

    def describe(self) -> dict[str, Any]:
        return {"grader": self.name, **self.sandbox.describe(), "timeout_s": self.limits.timeout_s,
                "memory_mb": self.limits.memory_mb, "file_mb": self.limits.file_mb}

    def close(self) -> None:
        self.sandbox.close()
