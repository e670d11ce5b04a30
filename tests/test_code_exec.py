"""The code_exec grader on real benchmark data: canonical solutions pass, broken variants fail, and
pass@1 over responses in varied fence styles equals the true fraction exactly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from evalharness.errors import UserError
from evalharness.graders.code.exec import CodeExec, exception_name, verdict
from evalharness.graders.code.extract import prompt_preamble
from evalharness.sandbox import RunResult

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
needs_data = pytest.mark.skipif(not (DATA / "humaneval").exists(), reason="../shared/data not present")

# Wraps a correct function so that every result is wrong (bool flipped, numbers shifted, sequences grown).
BREAK = '''
def _evalharness_break(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1.5
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, (list, tuple)):
        return type(value)(list(value) + [None])
    if isinstance(value, dict):
        return {{**value, "?": None}}
    return 0 if value is None else None

_evalharness_original = {name}
def {name}(*args, **kwargs):
    return _evalharness_break(_evalharness_original(*args, **kwargs))
'''


def _signature(task: dict) -> str:
    """The entry point's `def` line(s) from the prompt, without its docstring."""
    stub = task["prompt"][len(prompt_preamble(task["prompt"], task["entry_point"])):]
    return stub[: stub.index(":\n", stub.index(f"def {task['entry_point']}")) + 2]


def load_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def grader():
    g = CodeExec(timeout_s=30)
    assert g.describe()["isolation"] == "full"
    yield g
    g.close()


@pytest.fixture(scope="module")
def humaneval():
    return load_jsonl_gz(DATA / "humaneval" / "HumanEval.jsonl.gz")


def fenced(code: str) -> str:
    return f"Here is the solution.\n```python\n{code}\n```\n"


@needs_data
def test_humaneval_canonical_all_pass(grader, humaneval):
    grades = grader.grade_many([(fenced(t["prompt"] + t["canonical_solution"]), None, t) for t in humaneval])
    failed = [(t["task_id"], g.details) for t, g in zip(humaneval, grades) if not g.correct]
    assert len(humaneval) == 164 and failed == []


@needs_data
def test_humaneval_canonical_body_only_pass(grader, humaneval):
    grades = grader.grade_many([(t["canonical_solution"], None, t) for t in humaneval])
    assert [t["task_id"] for t, g in zip(humaneval, grades) if not g.correct] == []


@needs_data
def test_humaneval_broken_variants_all_fail(grader, humaneval):
    rows = [(fenced(t["prompt"] + t["canonical_solution"] + BREAK.format(name=t["entry_point"])), None, t)
            for t in humaneval]
    grades = grader.grade_many(rows)
    assert [t["task_id"] for t, g in zip(humaneval, grades) if g.correct] == []
    assert all(g.details["status"] in ("failed", "error") for g in grades)


@needs_data
def test_pass_at_1_equals_true_fraction_across_fence_styles(grader, humaneval):
    styles = [
        lambda t, code: f"```python\n{code}\n```",
        lambda t, code: f"Sure! Here it is:\n\n```py\n{code}\n```\n\nThis works because of reasons.",
        lambda t, code: f"```\n{code}\n```",
        lambda t, code: f"~~~python\n{code}\n~~~",
        lambda t, code: f"The answer:\n\n{code}\n\nHope this helps.",
        lambda t, code: f"```python\nimport math\n```\nThen:\n```python\n{code}\n```\nTest:\n```python\n"
                        f"print({t['entry_point']})\n```",
        lambda t, code: f"```python\n{code}",  # cut at max_tokens before the closing fence
        lambda t, code: f"```python\n{code[len(t['prompt']):]}\n```",  # only the body, fenced
        lambda t, code: code[len(t["prompt"]):],  # only the body, raw completion style
        lambda t, code: "```python\n" + code.replace(t["prompt"], prompt_preamble(t["prompt"], t["entry_point"])
                                                      + _signature(t)) + "\n```",  # no docstring
    ]
    rows, truth = [], []
    for i, t in enumerate(humaneval):
        correct = i % 3 != 1
        code = t["prompt"] + t["canonical_solution"]
        if not correct:
            code += BREAK.format(name=t["entry_point"])
        rows.append((styles[i % len(styles)](t, code), None, t))
        truth.append(correct)
    grades = grader.grade_many(rows)
    wrong = [(t["task_id"], g.details) for t, g, ok in zip(humaneval, grades, truth) if g.correct != ok]
    assert wrong == []
    assert sum(g.correct for g in grades) / len(grades) == sum(truth) / len(truth)


@needs_data
def test_mbpp_sanitized_reference_code_all_pass(grader):
    tasks = json.loads((DATA / "mbpp" / "sanitized-mbpp.json").read_text())
    grades = grader.grade_many([(fenced(t["code"]), None, t) for t in tasks])
    failed = [(t["task_id"], g.details) for t, g in zip(tasks, grades) if not g.correct]
    assert len(tasks) == 427 and failed == []


@needs_data
def test_mbpp_broken_variants_all_fail(grader):
    tasks = json.loads((DATA / "mbpp" / "sanitized-mbpp.json").read_text())
    from evalharness.graders.code.programs import mbpp_entry_point

    rows = [(fenced(t["code"] + BREAK.format(name=mbpp_entry_point(t["test_list"]))), None, t) for t in tasks]
    assert [t["task_id"] for t, g in zip(tasks, grader.grade_many(rows)) if g.correct] == []


@needs_data
def test_humaneval_plus_canonical_all_pass(grader):
    tasks = load_jsonl_gz(DATA / "humaneval" / "HumanEvalPlus-v0.1.10.jsonl.gz")
    grades = grader.grade_many([(fenced(t["prompt"] + t["canonical_solution"]), None, t) for t in tasks])
    failed = [(t["task_id"], g.details) for t, g in zip(tasks, grades) if not g.correct]
    assert len(tasks) == 164 and failed == []


@needs_data
def test_humaneval_plus_catches_what_base_tests_miss(grader):
    """HumanEval/0 with a solution that only checks adjacent pairs in input order passes the base
    asserts of some tasks but not the plus inputs; here: a solution wrong only for long inputs."""
    task = next(t for t in load_jsonl_gz(DATA / "humaneval" / "HumanEvalPlus-v0.1.10.jsonl.gz")
                if t["task_id"] == "HumanEval/0")
    sloppy = task["prompt"] + task["canonical_solution"] + BREAK.format(name="has_close_elements").replace(
        "return _evalharness_break(", "return (lambda r: r if len(args[0]) < 7 else not r)(")
    grade = grader.grade_text(fenced(sloppy), None, task)
    assert not grade.correct and grade.details["status"] == "failed"
    base = {k: task[k] for k in ("prompt", "test", "entry_point")}
    assert grader.grade_text(fenced(sloppy), None, base).correct  # the base tests alone are fooled


def test_statuses(grader):
    item = {"prompt": "def f(x):\n", "entry_point": "f", "test": "def check(c):\n    assert c(1) == 2\n"}
    cases = {
        "def f(x):\n    return 2": "passed",
        "def f(x):\n    return 3": "failed",
        "def f(x):\n    return {}[x]": "error",
        "def f(x):\n    return bytearray(1 << 34)": "killed",
        "def f(x):\n    while True: pass": "timeout",
        "def f(x):\n    import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)": "killed",
    }
    fast = CodeExec(timeout_s=1, memory_mb=256, workers=1)
    try:
        for code, status in cases.items():
            grade = fast.grade_text(fenced(code), None, item)
            assert grade.details["status"] == status, (code, grade.details)
            assert grade.correct == (status == "passed")
            assert grade.extracted and "def f" in grade.extracted
        assert fast.grade_text("no code here", None, item).details["exception"] == "NoCode"
        assert fast.grade_text(fenced("def f(x):\n    return {}[x]"), None, item).details["exception"] == "KeyError"
    finally:
        fast.close()


def test_verdict_needs_marker_and_exit_zero():
    assert verdict(RunResult(exit_code=0, stdout="M\n"), "M") == ("passed", None)
    assert verdict(RunResult(exit_code=0, stdout=""), "M")[0] == "error"
    assert verdict(RunResult(exit_code=1, stdout="M\n"), "M")[0] == "error"
    assert verdict(RunResult(timed_out=True, signal=9), "M")[0] == "timeout"
    assert verdict(RunResult(signal=25), "M") == ("killed", "SIGXFSZ")
    assert exception_name("Traceback (most recent call last):\n  File x\nValueError: bad") == "ValueError"


def test_refuses_without_isolation_unless_allowed(monkeypatch):
    import evalharness.sandbox.pool as pool

    original = pool.candidate_configs
    monkeypatch.setattr(pool, "candidate_configs", lambda *a: original(*a)[-1:])
    with pytest.raises(UserError, match="--allow-unsafe-exec"):
        CodeExec(workers=1)
    unsafe = CodeExec(workers=1, allow_unsafe_exec=True)
    try:
        assert unsafe.describe()["isolation"] == "none"
        item = {"prompt": "def f():\n", "entry_point": "f", "test": "def check(c):\n    assert c() == 1\n"}
        assert unsafe.grade_text(fenced("def f():\n    return 1"), None, item).correct
    finally:
        unsafe.close()
