"""The code suites agree with the grader: loaded with the real suite loader and data mapping, every prompt
renders, and items mapped as the suite says grade their reference code as passed."""

from __future__ import annotations

import gzip
import json

import pytest

from conftest import REPO
from evalharness.datasets import load_items
from evalharness.graders.code.exec import CodeExec
from evalharness.prompts import build_messages, load_exemplars
from evalharness.suite import load_suite

SUITES = {"humaneval": 164, "humaneval_sampled": 164, "humaneval_plus": 164, "mbpp": 427}


@pytest.fixture(scope="module")
def grader():
    g = CodeExec(timeout_s=30, workers=2)
    yield g
    g.close()


def references(shared_data, name: str) -> dict[str, str]:
    """item id -> reference code (HumanEval: prompt + canonical solution; MBPP: code)."""
    if name == "mbpp":
        tasks = json.loads((shared_data / "mbpp" / "sanitized-mbpp.json").read_text())
        return {str(t["task_id"]): t["code"] for t in tasks}
    file = "HumanEvalPlus-v0.1.10.jsonl.gz" if name == "humaneval_plus" else "HumanEval.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(shared_data / "humaneval" / file, "rt")]
    return {r["task_id"]: r["prompt"] + r["canonical_solution"] for r in rows}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_loads_renders_and_grades_reference_code(name, grader, shared_data):
    suite = load_suite(REPO / "suites" / f"{name}.yaml")
    assert suite.grader.name == "code_exec" and suite.metrics[0] == "pass@1"
    items = load_items(suite.dataset, suite.fields)
    assert len(items) == SUITES[name]
    for item in items[:3]:
        user = build_messages(suite, item, load_exemplars(suite))[-1]["content"]
        assert "```python" in user and "{" + "prompt}" not in user and "{tests}" not in user
    if name == "mbpp":
        assert items[0].fields["tests"] == "\n".join(items[0].fields["test_list"])
    code = references(shared_data, name)
    sample = items[::20]
    grades = grader.grade_many([(f"```python\n{code[item.id]}\n```", item.gold, item.fields) for item in sample])
    assert [g.details for g in grades if not g.correct] == []
