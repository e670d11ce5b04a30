"""Suite families: `include:` defaults, `subsets:` with per-subset overrides, `{subset}` in paths, `vars`,
`dataset.filter`; per-subset results and macro/micro averages that results.json, the report and compare
all agree on; `--set` overrides validated like the file and recorded in config.yaml."""

import json
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from evalharness.errors import UserError
from evalharness.reports.compare import compare_sets, load_sets
from evalharness.reports.rundir import load_run
from evalharness.reports.summary import summarize
from evalharness.runner import RunOptions, load_suite_items
from evalharness.suite import load_suite

ALPHA = [{"q": f"alpha question {i}", "a": str(i), "kind": "keep"} for i in range(3)]
BETA = [{"q": f"beta question {i}", "a": str(i), "kind": "keep"} for i in range(5)]
BETA_DROPPED = [{"q": "beta dropped", "a": "0", "kind": "drop"}]


@pytest.fixture
def family(tmp_path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "alpha.jsonl").write_text("\n".join(json.dumps(r) for r in ALPHA) + "\n")
    (tmp_path / "data" / "beta.jsonl").write_text("\n".join(json.dumps(r) for r in BETA + BETA_DROPPED) + "\n")
    (tmp_path / "common.yaml").write_text(
        "description: shared defaults\n"
        "dataset: {path: 'data/{subset}.jsonl', filter: {kind: keep}}\n"
        "fields: {question: q, gold: a}\n"
        "prompt: {system: 'Topic: {topic}.', template: '{question}'}\n"
        "generation: {temperature: 0}\n"
        "grader: exact_match\n")
    suite = tmp_path / "fam.yaml"
    suite.write_text(
        "include: common.yaml\n"
        "name: fam\n"
        "aggregate: macro\n"
        "subsets:\n"
        "  alpha: {vars: {topic: first letters}}\n"
        "  beta: {vars: {topic: second letters}, generation: {max_tokens: 32}}\n"
        "breakdown: [topic]\n")
    return suite


def replies(correct: dict[str, set[int]]) -> dict[str, str]:
    out = {}
    for name, rows in (("alpha", ALPHA), ("beta", BETA)):
        for i, row in enumerate(rows):
            out[row["q"]] = f"The answer is {row['a'] if i in correct[name] else 99}."
    return out


def run(tmp_path, suite, server, *extra):
    proc = run_cli("run", str(suite), "--base-url", server.base_url, "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"), "--no-progress", *extra)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_family_loads_into_one_task_per_subset(family):
    suite = load_suite(family)
    assert suite.subsets == ("alpha", "beta") and [t.name for t in suite.tasks] == ["alpha", "beta"]
    assert suite.tasks[1].generation == {"temperature": 0.0, "max_tokens": 32}
    items = load_suite_items(suite, RunOptions())
    assert [i.id for i in items][:4] == ["alpha/0", "alpha/1", "alpha/2", "beta/0"]
    assert len(items) == 8  # beta's "drop" row filtered out
    assert items[3].fields["topic"] == "second letters" and items[3].subset == "beta"
    assert [i.index for i in items] == list(range(8))
    assert len(load_suite_items(suite, RunOptions(limit=2))) == 4  # --limit is per subset


def test_family_results_report_and_compare_agree(tmp_path, family, stub_server):
    stub_server.configure({"replies": replies({"alpha": {0, 1}, "beta": {3}})})
    run_a = run(tmp_path, family, stub_server)
    res = json.loads((run_a / "results.json").read_text())
    macro, micro = (2 / 3 + 1 / 5) / 2, 3 / 8
    assert res["metrics"]["accuracy"]["value"] == pytest.approx(macro)
    assert res["metrics"]["accuracy_macro"]["value"] == pytest.approx(macro)
    assert res["metrics"]["accuracy_micro"]["value"] == micro
    lo, hi = res["metrics"]["accuracy_macro"]["ci95"]
    assert lo < macro < hi
    assert res["breakdown"]["subset"]["alpha"]["accuracy"] == 2 / 3 and res["breakdown"]["subset"]["alpha"]["n"] == 3
    assert res["breakdown"]["subset"]["beta"]["accuracy"] == 1 / 5 and res["breakdown"]["subset"]["beta"]["n"] == 5
    assert set(res["breakdown"]["topic"]) == {"first letters", "second letters"}
    assert res["family"] == {"subsets": ["alpha", "beta"], "aggregate": "macro"}
    samples = [json.loads(x) for x in (run_a / "samples.jsonl").read_text().splitlines()]
    assert {s["subset"] for s in samples} == {"alpha", "beta"} and samples[0]["messages"][0]["role"] == "system"

    summary = summarize(load_run(run_a))
    for metric in summary.metrics:
        assert metric.value == pytest.approx(res["metrics"][metric.name]["value"])
        assert list(metric.ci95) == pytest.approx(res["metrics"][metric.name]["ci95"])
    rows = {r.group: r for r in summary.breakdowns["subset"]}
    assert rows["alpha"].value == 2 / 3 and list(rows["beta"].ci95) == res["breakdown"]["subset"]["beta"]["ci95"]
    assert "accuracy_macro" in (run_a / "report.html").read_text()

    stub_server.configure({"replies": replies({"alpha": {0, 1, 2}, "beta": {0, 1, 2, 3, 4}})})
    run_b = run(tmp_path, family, stub_server)
    comparisons, _ = compare_sets(load_sets([run_a, run_b]))
    by_key = {(c.suite, c.metric): c for c in comparisons}
    head = by_key[("fam", "accuracy")]
    assert head.base_value == pytest.approx(macro) and head.other_value == 1.0
    assert head.test == "stratified bootstrap" and head.delta == pytest.approx(1 - macro)
    assert by_key[("fam", "accuracy_micro")].base_value == micro
    assert by_key[("fam/beta", "accuracy")].base_value == 1 / 5 and len(by_key[("fam/beta", "accuracy")].better) == 4


def test_set_overrides_are_validated_and_recorded(tmp_path, family, stub_server):
    stub_server.configure({"replies": replies({"alpha": {0}, "beta": {0}})})
    run_dir = run(tmp_path, family, stub_server, "--set", "aggregate=micro", "--set", "generation.max_tokens=7")
    res = json.loads((run_dir / "results.json").read_text())
    assert res["metrics"]["accuracy"]["value"] == 2 / 8
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["overrides"] == ["aggregate=micro", "generation.max_tokens=7"]
    assert config["suite"]["generation"]["max_tokens"] == 7
    assert stub_server.stats()["last_params"]["max_tokens"] in (7, 32)  # beta's own max_tokens wins for beta
    bad = run_cli("run", str(family), "--base-url", stub_server.base_url, "--model", "m", "--set",
                  "generation.max_tokens=lots", "--output-dir", str(tmp_path / "runs2"))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "fam.yaml: subsets.alpha.generation.max_tokens: expected an integer, got 'lots'" in bad.stderr
    bad = run_cli("run", str(family), "--set", "nodots", "--output-dir", str(tmp_path / "runs2"))
    assert bad.returncode == 1 and "--set 'nodots': expected dotted.field=value" in bad.stderr


@pytest.mark.parametrize("body, expected", [
    ("subsets: {'bad name': {}}", "subsets.bad name: expected a name"),
    ("subsets: {alpha: {prompt: {template: 5}}}", "subsets.alpha.prompt.template: expected a string, got 5"),
    ("subsets: {alpha: {fields: {gold: {column: a, ops: [upper]}}}}", "subsets.alpha.fields.gold.ops[0]: expected one of"),
    ("subsets: []", "subsets: expected at least one subset name"),
    ("aggregate: median", "aggregate: expected one of 'macro', 'micro', got 'median'"),
])
def test_family_mistakes_name_the_subset_and_field(tmp_path, family, body, expected):
    text = family.read_text().split("subsets:")[0] + body + "\n"
    family.write_text(text)
    with pytest.raises(UserError) as err:
        load_suite(family)
    assert expected in str(err.value) and str(err.value).startswith(str(family))


def test_include_is_one_level(tmp_path, family):
    (tmp_path / "common.yaml").write_text((tmp_path / "common.yaml").read_text() + "include: other.yaml\n")
    with pytest.raises(UserError, match="an included file may not include another"):
        load_suite(family)
