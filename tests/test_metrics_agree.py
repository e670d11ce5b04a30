"""One metrics module: results.json, the report and compare give the same number for every metric of a run
with an extra grader, pass@k and a breakdown (they used to disagree: the report showed the primary grader's
accuracy under the extra grader's name)."""

import json
from pathlib import Path

import pytest

from conftest import run_cli
from evalharness.reports.compare import compare_sets, load_sets
from evalharness.reports.rundir import load_run
from evalharness.reports.summary import summarize

ROWS = [{"q": f"q{i}", "a": "0.5" if i % 2 else str(i), "level": f"Level {i % 3 + 1}"} for i in range(24)]


def reply(i: int, right: bool) -> str:
    if not right:
        return "The answer is 1234."
    return "The answer is \\frac{1}{2}." if i % 2 else f"The answer is {i}."  # exact_match misses 1/2 vs 0.5


@pytest.fixture
def suite(tmp_path) -> Path:
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    path = tmp_path / "mix.yaml"
    path.write_text("name: mix\ndescription: mixed\ndataset: {path: items.jsonl}\n"
                    "fields: {question: q, gold: a, level: level}\nprompt: {template: '{question}'}\n"
                    "generation: {temperature: 0.7, seed: 1, n: 2}\n"
                    "grader: exact_match\ngraders: [math_equiv]\nmetrics: [accuracy, pass@1, pass@2]\n"
                    "breakdown: [level]\n")
    return path


def run(tmp_path, suite, server, right: set[int], name: str) -> Path:
    server.configure({"replies": {r["q"]: reply(i, i in right) for i, r in enumerate(ROWS)}})
    proc = run_cli("run", str(suite), "--base-url", server.base_url, "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / name), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_results_report_and_compare_agree_on_every_metric(tmp_path, suite, stub_server):
    run_a = run(tmp_path, suite, stub_server, set(range(0, 24, 1)) - {3, 4, 5, 8}, "a")
    run_b = run(tmp_path, suite, stub_server, set(range(0, 24, 2)), "b")
    res = json.loads((run_a / "results.json").read_text())
    metrics = res["metrics"]
    assert set(metrics) == {"accuracy", "pass@1", "pass@2", "accuracy[math_equiv]"}
    assert metrics["accuracy[math_equiv]"]["value"] == 20 / 24
    assert metrics["accuracy"]["value"] == 10 / 24  # the 10 right answers with an integer gold
    assert metrics["pass@2"]["tasks"] == 24 and res["n"] == 48

    summary = summarize(load_run(run_a))
    assert [m.name for m in summary.metrics] == list(metrics)
    for m in summary.metrics:
        assert m.value == metrics[m.name]["value"], m.name
        assert list(m.ci95) == metrics[m.name]["ci95"], m.name
    for row in summary.breakdowns["level"]:
        stored = res["breakdown"]["level"][row.group]
        assert (row.value, list(row.ci95), row.n) == (stored["accuracy"], stored["ci95"], stored["items"])
    html = (run_a / "report.html").read_text()
    assert "accuracy[math_equiv]" in html and "83.3%" in html  # 20/24 as the report prints it

    comparisons, _ = compare_sets(load_sets([run_a, run_b]))
    for c in comparisons:
        assert c.base_value == pytest.approx(metrics[c.metric]["value"]), c.metric
    other = json.loads((run_b / "results.json").read_text())["metrics"]
    extra = next(c for c in comparisons if c.metric == "accuracy[math_equiv]")
    assert extra.other_value == pytest.approx(other["accuracy[math_equiv]"]["value"]) == 12 / 24
