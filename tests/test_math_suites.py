"""The MATH suites end to end: `evalharness run suites/math500.yaml` against the stub server on 127.0.0.1."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from conftest import REPO, run_cli
from evalharness.datasets import load_items
from evalharness.prompts import build_messages, load_exemplars
from evalharness.suite import load_suite

MATH500 = REPO / "suites" / "math500.yaml"
MATH = REPO / "suites" / "math.yaml"


def test_math500_run_grades_boxed_answers_and_breaks_down_by_subject_and_level(tmp_path, stub_server, shared_data):
    suite = load_suite(MATH500)
    items = load_items(suite.dataset, suite.fields, limit=60)
    exemplars = load_exemplars(suite)
    replies, correct = {}, set()
    for item in items:
        prompt = build_messages(suite, item, exemplars)[-1]["content"]
        assert "\\boxed{}" in prompt and item.fields["problem"] in prompt
        if item.index % 3:
            # a right answer written differently from the gold, inside a chain of thought
            gold = item.gold.replace("\\frac", "\\dfrac")
            replies[prompt] = f"Let me work through it.\n\nTherefore, the answer is $\\boxed{{{gold}}}$."
            correct.add(item.index)
        else:
            replies[prompt] = "I worked it out: the answer is $\\boxed{\\frac{1}{2024}}$."
    stub_server.configure({"latency_s": 0.0, "replies": replies})
    proc = run_cli("run", str(MATH500), "--base-url", stub_server.base_url, "--model", "phi-4-mini", "--limit", "60",
                   "--output-dir", str(tmp_path / "runs"), "--no-cache", "--no-report", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((run_dir / "results.json").read_text())
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert {s["index"] for s in samples if s["correct"]} == correct
    assert results["metrics"]["accuracy"]["value"] == len(correct) / 60
    by_subject = results["breakdown"]["subject"]
    assert Counter({k: v["n"] for k, v in by_subject.items()}) == Counter(item.fields["subject"] for item in items)
    assert set(results["breakdown"]["level"]) <= {"1", "2", "3", "4", "5"}
    assert sum(v["n"] for v in results["breakdown"]["level"].values()) == 60


def test_full_math_suite_maps_gold_subject_and_level(shared_data):
    suite = load_suite(MATH)
    items = load_items(suite.dataset, suite.fields)
    assert len(items) == 5000
    assert Counter(item.fields["subject"] for item in items)["Counting & Probability"] == 474
    assert Counter(item.fields["level"] for item in items) == {"1": 437, "2": 894, "3": 1131, "4": 1214, "5": 1324}
    first = items[0]
    assert first.gold and "\\boxed" not in first.gold and first.gold in first.fields["solution"]
