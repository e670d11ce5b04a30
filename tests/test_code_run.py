"""End to end: `evalharness run` on the code suites against a real OpenAI-compatible server on 127.0.0.1
that answers correctly for a known subset and with broken code for the rest, in varied fence styles; and
`evalharness grade code_exec` on a JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, run_cli
from evalharness.datasets import load_items
from evalharness.graders.code.programs import mbpp_entry_point
from evalharness.prompts import build_messages, load_exemplars
from evalharness.suite import load_suite

STYLES = (
    "Here is the completed function:\n\n```python\n{code}\n```\n\nIt handles the edge cases.",
    "```py\n{code}\n```",
    "```\n{code}\n```",
    "Sure.\n\n{code}\n\nThis runs in linear time.",
    "First the imports:\n```python\nimport math\n```\nThen:\n```python\n{code}\n```\n"
    "Example:\n```python\nprint(1)\n```",
    "~~~python\n{code}\n~~~",
)


def broken(code: str, entry_point: str) -> str:
    """Wrong code: the function is redefined at the end of the answer to return None."""
    return f"{code}\n\n\ndef {entry_point}(*args, **kwargs):\n    return None\n"


def entry_of(item) -> str:
    return item.fields.get("entry_point") or mbpp_entry_point(item.fields["test_list"])


def replies_for(suite_path: Path, limit: int, correct: set[int], reference) -> dict[str, str]:
    suite = load_suite(suite_path)
    items = load_items(suite.dataset, suite.fields, limit=limit)
    replies = {}
    for item in items:
        question = build_messages(suite, item, load_exemplars(suite))[-1]["content"]
        code = reference(item)
        replies[question] = STYLES[item.index % len(STYLES)].format(
            code=code if item.index in correct else broken(code, entry_of(item)))
    return replies


def run_suite(tmp_path, server, suite: Path, *extra):
    proc = run_cli("run", str(suite), "--base-url", server.base_url, "--model", "phi-4-mini", "--output-dir",
                   str(tmp_path / "runs"), "--no-cache", "--no-report", "--concurrency", "8", *extra, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return json.loads((run_dir / "results.json").read_text()), samples


def test_humaneval_pass_at_1_is_the_true_fraction(tmp_path, stub_server, shared_data):
    rows = {json.loads(line)["task_id"]: json.loads(line) for line in
            __import__("gzip").open(shared_data / "humaneval" / "HumanEval.jsonl.gz", "rt")}
    correct = {i for i in range(164) if i % 5 in (0, 2, 3)}
    reference = lambda item: item.fields["prompt"] + rows[item.id]["canonical_solution"]  # noqa: E731
    stub_server.configure({"replies": replies_for(REPO / "suites" / "humaneval.yaml", 164, correct, reference)})
    results, samples = run_suite(tmp_path, stub_server, REPO / "suites" / "humaneval.yaml")
    assert results["metrics"]["pass@1"]["value"] == len(correct) / 164
    assert results["grader"]["grader"] == "code_exec" and results["grader"]["isolation"] == "full"
    assert {s["index"] for s in samples if s["correct"]} == correct
    statuses = {s["grades"]["code_exec"]["details"]["status"] for s in samples if not s["correct"]}
    assert statuses <= {"failed", "error"} and "failed" in statuses, statuses


def test_mbpp_pass_at_1_is_the_true_fraction(tmp_path, stub_server, shared_data):
    tasks = json.loads((shared_data / "mbpp" / "sanitized-mbpp.json").read_text())
    code_by_id = {str(t["task_id"]): t["code"] for t in tasks}
    correct = {i for i in range(80) if i % 4 != 1}
    stub_server.configure({"replies": replies_for(REPO / "suites" / "mbpp.yaml", 80, correct,
                                                  lambda item: code_by_id[item.id])})
    results, samples = run_suite(tmp_path, stub_server, REPO / "suites" / "mbpp.yaml", "--limit", "80")
    assert results["metrics"]["pass@1"]["value"] == len(correct) / 80
    assert {s["index"] for s in samples if s["correct"]} == correct


def test_grade_command_on_humaneval_records(tmp_path, shared_data):
    import gzip

    tasks = [json.loads(line) for line in gzip.open(shared_data / "humaneval" / "HumanEval.jsonl.gz", "rt")][:20]
    path = tmp_path / "answers.jsonl"
    with open(path, "w") as f:
        for i, t in enumerate(tasks):
            code = t["prompt"] + t["canonical_solution"]
            answer = code if i % 2 else broken(code, t["entry_point"])
            # `gold: null` only because cli.py's grade command still requires the key (code needs no gold)
            f.write(json.dumps({**t, "gold": None, "response": f"```python\n{answer}\n```"}) + "\n")
    proc = run_cli("grade", "code_exec", "--input", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "(10/20)" in proc.stdout
    graded = [json.loads(line) for line in (tmp_path / "answers.graded.jsonl").read_text().splitlines()]
    assert [g["correct"] for g in graded] == [bool(i % 2) for i in range(20)]
    assert all(g["grade_details"]["status"] in ("passed", "failed", "error") for g in graded)
