"""Every multiple-choice suite end to end against the stub server: replies in many answer styles (reasoning
that names other letters first, bold, boxed, option text, ...) built from the items the suite really
loads; the reported accuracy must equal the true fraction exactly, and replies naming no option must be
counted as `unextracted`, apart from wrong answers."""

import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from mc_replies import oracle

SUITES = REPO / "suites"


def run(tmp_path, server, suite, *extra):
    proc = run_cli("run", str(suite), "--base-url", server.base_url, "--model", "phi-4-mini", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"), "--no-report", "--no-progress", *extra)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return json.loads((run_dir / "results.json").read_text()), samples, proc.stdout


@pytest.mark.parametrize("name,limit", [
    ("arc_challenge", 40), ("mmlu_pro", 40), ("hellaswag", 30), ("winogrande", 30), ("piqa", 30),
    ("siqa", 30), ("boolq", 30), ("openbookqa", 30), ("truthfulqa", 30), ("gpqa", 30),
])
def test_suite_accuracy_is_the_true_fraction(tmp_path, stub_server, shared_data, name, limit):
    truth = oracle(SUITES / f"{name}.yaml", limit, right=lambda i: i % 3 != 1, garbage=lambda i: i % 7 == 5)
    stub_server.configure({"replies": truth.replies})
    results, samples, stdout = run(tmp_path, stub_server, SUITES / f"{name}.yaml", "--limit", str(limit))
    assert results["n"] == limit and results["errors"] == 0
    expected, unextracted = truth.accuracy(), truth.unextracted  # plain numbers in any failure message
    assert results["metrics"]["accuracy"]["value"] == expected  # exact, not approximately
    assert results["unextracted"] == unextracted > 0
    assert sum(s["extracted"] is None for s in samples) == unextracted
    assert f"no answer found {unextracted}" in stdout
    assert all(s["grades"]["choice"]["details"]["extraction"] in (None, "choice_letter") for s in samples)


def test_mmlu_subjects_and_both_averages(tmp_path, stub_server, shared_data):
    truth = oracle(SUITES / "mmlu.yaml", 3, right=lambda i: i % 4 != 2 and i % 11 != 3, garbage=lambda i: i % 13 == 0)
    stub_server.configure({"replies": truth.replies})
    results, samples, _ = run(tmp_path, stub_server, SUITES / "mmlu.yaml", "--limit", "3")
    subsets = results["breakdown"]["subset"]
    assert len(subsets) == 57 and results["n"] == 171
    for name, row in subsets.items():
        assert row["n"] == 3 and row["accuracy"] == truth.accuracy(name), name
    assert results["metrics"]["accuracy_micro"]["value"] == truth.accuracy()
    assert results["metrics"]["accuracy_macro"]["value"] == pytest.approx(truth.macro(), abs=1e-12)
    assert results["metrics"]["accuracy"]["value"] == results["metrics"]["accuracy_micro"]["value"]  # the card's
    assert results["family"]["aggregate"] == "micro" and results["unextracted"] == truth.unextracted
    first = samples[0]["messages"]
    assert len(first) == 11 and first[-2]["content"].startswith("Answer: ")  # 5 dev exemplars as turns


def test_shuffle_choices_exposes_position_bias(tmp_path, stub_server, shared_data):
    suite = SUITES / "arc_challenge.yaml"
    stub_server.configure({"default_reply": "After weighing (B) and (C), I pick the first one.\n\nAnswer: A"})
    results, samples, stdout = run(tmp_path, stub_server, suite, "--limit", "12", "--set", "shuffle_choices=4")
    orders = results["choice_order"]
    assert results["n"] == 48 and results["items"] == 12 and orders["presentations"] == 4
    assert orders["chosen_letters"] == {"A": 48}
    assert orders["accuracy_by_gold_letter"]["A"] == 1.0
    assert all(value == 0.0 for letter, value in orders["accuracy_by_gold_letter"].items() if letter != "A")
    assert orders["all_orders_correct"] == 0.0  # a letter-A answerer is right in one order of four
    assert results["metrics"]["accuracy"]["value"] == 12 / 48  # rotations put the gold once in every place
    run_dir = Path(stdout.strip().splitlines()[-1])
    assert run_cli("report", str(run_dir)).returncode == 0
    assert "answer position (4 option orders per item)" in (run_dir / "report.html").read_text()
    by_item = {}
    for s in samples:
        by_item.setdefault(s["id"], set()).add(s["gold"])
    assert all(len(golds) == 4 for golds in by_item.values())

    truth = oracle(suite, 12, right=lambda i: True, overrides=("shuffle_choices=4",))
    stub_server.configure({"replies": truth.replies})
    results, _, _ = run(tmp_path, stub_server, suite, "--limit", "12", "--set", "shuffle_choices=4")
    assert results["metrics"]["accuracy"]["value"] == 1.0 and results["choice_order"]["all_orders_correct"] == 1.0
    assert set(results["choice_order"]["accuracy_by_presentation"]) == {"0", "1", "2", "3"}
