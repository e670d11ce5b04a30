"""The command line as a user meets it: one clear line and a non-zero exit for every user error."""

import json

import pytest

from conftest import REPO, run_cli

GOOD = """name: t
description: test
dataset: {{path: items.jsonl}}
fields: {{question: q, gold: a}}
prompt: {{template: '{{question}}'}}
grader: {grader}
"""


@pytest.fixture
def suite_dir(tmp_path):
    (tmp_path / "items.jsonl").write_text(json.dumps({"q": "2+2?", "a": "4"}) + "\n")
    return tmp_path


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("evalharness: error: ") and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("run", "grade", "report", "compare", "cache"):
        assert command in proc.stdout


def test_malformed_yaml(suite_dir):
    (suite_dir / "bad.yaml").write_text("name: t\nprompt: {template: 'x'\n")
    assert_one_line_error(run_cli("run", str(suite_dir / "bad.yaml"), "--base-url", "http://127.0.0.1:9/v1",
                                  "--model", "m"), "bad.yaml: not valid YAML at line")


def test_unknown_field(suite_dir):
    (suite_dir / "s.yaml").write_text(GOOD.format(grader="exact_match") + "temprature: 0\n")
    assert_one_line_error(run_cli("run", str(suite_dir / "s.yaml"), "--base-url", "http://127.0.0.1:9/v1",
                                  "--model", "m"), "s.yaml: suite.temprature: unknown field")


def test_unknown_grader(suite_dir):
    (suite_dir / "s.yaml").write_text(GOOD.format(grader="exactmatch"))
    assert_one_line_error(run_cli("run", str(suite_dir / "s.yaml"), "--base-url", "http://127.0.0.1:9/v1",
                                  "--model", "m", "--output-dir", str(suite_dir / "runs")),
                          "unknown grader 'exactmatch'")


def test_missing_dataset(tmp_path):
    proc = run_cli("run", str(REPO / "suites" / "gsm8k.yaml"), "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "m", "--output-dir", str(tmp_path), env={"EVALHARNESS_DATA_DIR": str(tmp_path),
                                                                       "HF_HUB_OFFLINE": "1",
                                                                       "HF_DATASETS_OFFLINE": "1"})
    assert_one_line_error(proc, "dataset not found; tried", "gsm8k/test.jsonl (missing)", "Hugging Face hub")


def test_missing_suite_file():
    assert_one_line_error(run_cli("run", "suites/nope.yaml"), "suite file not found: suites/nope.yaml")


def test_unknown_config_setting(tmp_path, suite_dir):
    (tmp_path / "p.yaml").write_text("base_url: http://x/v1\nmodle: m\n")
    (suite_dir / "s.yaml").write_text(GOOD.format(grader="exact_match"))
    assert_one_line_error(run_cli("run", str(suite_dir / "s.yaml"), "--config", str(tmp_path / "p.yaml")),
                          "p.yaml: modle: unknown setting")


def test_unreachable_endpoint_is_one_line_and_keeps_records(tmp_path, suite_dir):
    (suite_dir / "s.yaml").write_text(GOOD.format(grader="exact_match"))
    proc = run_cli("run", str(suite_dir / "s.yaml"), "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                   "--max-retries", "1", "--output-dir", str(tmp_path / "runs"), "--no-cache", "--no-report",
                   "--no-progress")
    assert_one_line_error(proc, "all 1 requests of t failed, e.g. connection error", "check --base-url")
    assert "errors 1" in proc.stdout
    run_dir = next((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "results.json").read_text())["errors"] == 1


def test_grade_exact_match(tmp_path):
    records = [{"gold": "18", "response": "The answer is 18."}, {"gold": "5", "pred": "#### 6"},
               {"gold": "7", "response": "$\\boxed{7}$"}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    proc = run_cli("grade", "exact_match", "--input", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "accuracy 0.6667 (2/3)" in proc.stdout
    graded = [json.loads(line) for line in (tmp_path / "in.graded.jsonl").read_text().splitlines()]
    assert [g["correct"] for g in graded] == [True, False, True]
    assert graded[1]["pred"] == "#### 6" and graded[1]["extracted"] == "6"


def test_grade_input_errors(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"response": "1"}\n')
    assert_one_line_error(run_cli("grade", "exact_match", "--input", str(path)), "in.jsonl:1: record needs a `gold`")
    path.write_text('{"gold": "1", "response": "1"}\nnot json\n')
    assert_one_line_error(run_cli("grade", "exact_match", "--input", str(path)), "in.jsonl:2: not valid JSON")
    assert_one_line_error(run_cli("grade", "nope", "--input", str(path)), "unknown grader 'nope'")


def test_cache_stats_and_clear(tmp_path):
    from evalharness.cache import ResponseCache
    from evalharness.chat import ChatResponse

    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "phi-4-mini", ChatResponse("x"))
    cache.close()
    stats = run_cli("cache", "stats", "--cache", str(path))
    assert stats.returncode == 0 and "1 responses" in stats.stdout and "phi-4-mini: 1" in stats.stdout
    cleared = run_cli("cache", "clear", "--cache", str(path))
    assert "removed 1 cached responses" in cleared.stdout
    assert "0 responses" in run_cli("cache", "stats", "--cache", str(path)).stdout


def test_grade_help_names_every_built_in_grader():
    from evalharness.cli.parser import GRADER_NAMES
    from evalharness.graders import GRADERS

    assert set(GRADER_NAMES) == set(GRADERS)
    proc = run_cli("grade", "--help")
    assert proc.returncode == 0 and all(name in proc.stdout for name in GRADERS)
