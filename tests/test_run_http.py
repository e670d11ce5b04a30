"""End to end: `evalharness run` against a real OpenAI-compatible server on 127.0.0.1 (tests/openai_stub_server.py)."""

import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from evalharness.datasets import load_items
from evalharness.prompts import build_messages, load_exemplars
from evalharness.suite import load_suite

GSM8K = REPO / "suites" / "gsm8k.yaml"
STYLES = ("#### {}", "The answer is {}.", "So the total is $\\boxed{{{}}}$.", "**Answer:** {}")
WRONG = ("#### {}", "The answer is {}.", "$\\boxed{{{}}}$", "**Answer:** {}")


def gsm8k_replies(limit: int, correct: set[int]) -> dict[str, str]:
    """Replies keyed by each item's exact last user message: right for `correct` indices, wrong otherwise."""
    suite = load_suite(GSM8K)
    items = load_items(suite.dataset, suite.fields, limit=limit)
    exemplars = load_exemplars(suite)
    replies = {}
    for item in items:
        question = build_messages(suite, item, exemplars)[-1]["content"]
        if item.index in correct:
            replies[question] = "Let me think. 3 + 4 = 7.\n" + STYLES[item.index % 4].format(item.gold)
        else:
            replies[question] = "Let me think.\n" + WRONG[item.index % 4].format(int(item.gold) + 1)
    return replies


def run(tmp_path, server, *extra, env=None):
    args = ["run", str(GSM8K), "--base-url", server.base_url, "--model", "phi-4-mini", "--output-dir",
            str(tmp_path / "runs"), "--cache", str(tmp_path / "cache.sqlite"), "--no-report", *extra]
    return run_cli(*args, env=env)


def results_of(proc) -> tuple[Path, dict, list[dict]]:
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return run_dir, json.loads((run_dir / "results.json").read_text()), samples


def test_accuracy_is_the_true_fraction_and_rerun_is_free(tmp_path, stub_server, shared_data):
    correct = {i for i in range(60) if i % 3 != 0}  # 40 of 60, across all four answer styles
    stub_server.configure({"latency_s": 0.01, "replies": gsm8k_replies(60, correct)})
    first = run(tmp_path, stub_server, "--limit", "60", "--concurrency", "8")
    assert first.returncode == 0, first.stderr
    run_dir, results, samples = results_of(first)
    assert results["metrics"]["accuracy"]["value"] == 40 / 60
    lo, hi = results["metrics"]["accuracy"]["ci95"]
    assert lo < 40 / 60 < hi
    assert (results["n"], results["errors"], results["cached"], stub_server.stats()["requests"]) == (60, 0, 0, 60)
    assert {s["index"] for s in samples if s["correct"]} == correct
    for key in ("run_id", "suite", "model", "base_url", "n", "errors", "cached", "wall_s", "latency_s", "tokens"):
        assert key in results
    assert set(results["latency_s"]) == {"mean", "p50", "p90", "p99"} and results["latency_s"]["p50"] >= 0.01
    assert results["tokens"]["prompt"] > 0 and results["tokens"]["completion"] > 0
    assert (run_dir / "config.yaml").is_file()
    sample = samples[0]
    for key in ("id", "messages", "response", "extracted", "gold", "correct", "latency_s", "usage", "cached",
                "attempts", "error"):
        assert key in sample
    assert len(sample["messages"]) == 17  # 8 exemplar pairs + the question

    stub_server.configure({"latency_s": 0.01})  # a server that would now answer everything wrong
    second = run(tmp_path, stub_server, "--limit", "60")
    assert second.returncode == 0, second.stderr
    _, again, samples2 = results_of(second)
    assert stub_server.stats()["requests"] == 0
    assert again["metrics"]["accuracy"]["value"] == 40 / 60 and again["cached"] == 60
    assert all(s["cached"] and s["attempts"] == 0 for s in samples2)
    by_id = {s["id"]: s["latency_s"] for s in samples}
    assert all(s["latency_s"] == by_id[s["id"]] for s in samples2)  # original latency kept


def test_sliding_window_keeps_concurrency_full(tmp_path, stub_server, shared_data):
    stub_server.configure({"latency_s": 0.05, "default_reply": "#### 1"})
    proc = run(tmp_path, stub_server, "--limit", "40", "--concurrency", "8", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert stub_server.stats()["max_inflight"] == 8


@pytest.mark.parametrize("fault", [
    {"fail_first": 2, "fail_status": 429, "retry_after": 0},
    {"fail_first": 1, "fail_status": 500},
    {"fail_first": 1, "fail_status": 503},
])
def test_transient_errors_are_retried(tmp_path, stub_server, shared_data, fault):
    stub_server.configure({"default_reply": "#### 1", **fault})
    proc = run(tmp_path, stub_server, "--limit", "10", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    _, results, samples = results_of(proc)
    assert results["errors"] == 0 and results["retries"] == 10 * fault["fail_first"]
    assert all(s["attempts"] == fault["fail_first"] + 1 for s in samples)


def test_dropped_connections_are_retried(tmp_path, stub_server, shared_data):
    stub_server.configure({"default_reply": "#### 1", "drop_every": 4})
    proc = run(tmp_path, stub_server, "--limit", "20", "--no-cache", "--concurrency", "4")
    assert proc.returncode == 0, proc.stderr
    _, results, _ = results_of(proc)
    assert results["errors"] == 0 and results["n"] == 20 and results["retries"] >= 4


def test_persistent_errors_mark_samples_and_are_not_cached(tmp_path, stub_server, shared_data):
    stub_server.configure({"always_status": 500})
    proc = run(tmp_path, stub_server, "--limit", "5", "--max-retries", "1", "--no-progress")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "all 5 requests of gsm8k failed, e.g. HTTP 500 from the endpoint" in proc.stderr
    _, results, samples = results_of(proc)
    assert results["errors"] == 5 and results["metrics"]["accuracy"]["value"] == 0
    assert all(s["error"] and "HTTP 500" in s["error"] and s["attempts"] == 2 for s in samples)
    stub_server.configure({"default_reply": "#### 1"})
    again = run(tmp_path, stub_server, "--limit", "5")
    assert stub_server.stats()["requests"] == 5  # the failures were not cached
    assert results_of(again)[1]["errors"] == 0


def test_bad_request_fails_the_sample_without_retry(tmp_path, stub_server, shared_data):
    stub_server.configure({"always_status": 400})
    proc = run(tmp_path, stub_server, "--limit", "3", "--no-cache")
    _, results, samples = results_of(proc)
    assert results["errors"] == 3 and stub_server.stats()["requests"] == 3
    assert "HTTP 400 from the endpoint: stub error 400" in samples[0]["error"]


def test_401_stops_at_once_with_one_line_and_keeps_no_secret(tmp_path, stub_server, shared_data):
    secret = "sk-test-very-secret-123"
    stub_server.configure({"require_key": "another-key", "default_reply": "#### 1"})
    proc = run(tmp_path, stub_server, "--limit", "30", "--concurrency", "2", env={"EVALHARNESS_API_KEY": secret})
    assert proc.returncode == 1
    assert stub_server.stats()["authorization_seen"] == f"Bearer {secret}"  # the key was really sent
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[-1].startswith("evalharness: error: the endpoint rejected the API key (HTTP 401)")
    assert "EVALHARNESS_API_KEY" in lines[-1] and "Traceback" not in proc.stderr
    assert stub_server.stats()["requests"] <= 2  # no retries, no further requests
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((run_dir / "results.json").read_text())
    assert "HTTP 401" in results["aborted"]
    for path in [*run_dir.iterdir(), *tmp_path.glob("cache.sqlite*")]:
        assert secret not in path.read_bytes().decode("latin-1"), path
    assert secret not in proc.stdout + proc.stderr


def test_several_samples_per_item_get_distinct_seeds(tmp_path, stub_server):
    data = tmp_path / "items.jsonl"
    data.write_text("\n".join(json.dumps({"q": f"q{i}", "a": "1"}) for i in range(3)))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: multi\ndescription: n>1\ndataset: {path: items.jsonl}\nfields: {question: q, gold: a}\n"
        "prompt: {template: '{question}'}\ngeneration: {temperature: 0.8, seed: 10, n: 4}\n"
        "grader: exact_match\nmetrics: [accuracy, pass@1, pass@4]\n")
    stub_server.configure({"contains": [["q0", "#### 1"], ["q1", "#### 2"]], "default_reply": "#### 3"})
    proc = run_cli("run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--output-dir",
                   str(tmp_path / "runs"), "--no-cache", "--no-report")
    assert proc.returncode == 0, proc.stderr
    _, results, samples = results_of(proc)
    assert sorted(stub_server.stats()["seeds"]) == sorted([10, 11, 12, 13] * 3)
    assert results["n"] == 12 and results["items"] == 3
    assert results["metrics"]["pass@4"]["value"] == pytest.approx(1 / 3)
    assert results["metrics"]["pass@1"]["value"] == pytest.approx(1 / 3)


def test_streaming_records_time_to_first_token(tmp_path, stub_server, shared_data):
    profile = tmp_path / "stream.yaml"
    profile.write_text(f"base_url: {stub_server.base_url}\nmodel: m\nstream: true\n")
    stub_server.configure({"default_reply": "Thinking hard. #### 42", "latency_s": 0.01})
    proc = run_cli("run", str(GSM8K), "--config", str(profile), "--limit", "3", "--output-dir",
                   str(tmp_path / "runs"), "--no-cache", "--no-report")
    assert proc.returncode == 0, proc.stderr
    _, _, samples = results_of(proc)
    assert all(s["response"] == "Thinking hard. #### 42" and s["extracted"] == "42" for s in samples)
    assert all(0 < s["ttft_s"] <= s["latency_s"] and s["usage"]["completion_tokens"] == 4 for s in samples)


def test_ctrl_c_keeps_every_result_obtained(tmp_path, stub_server, shared_data):
    import signal
    import subprocess
    import sys
    import time

    stub_server.configure({"latency_s": 0.2, "default_reply": "#### 18"})
    cmd = [sys.executable, "-m", "evalharness", "run", str(GSM8K), "--base-url", stub_server.base_url, "--model",
           "m", "--limit", "200", "--concurrency", "4", "--output-dir", str(tmp_path / "runs"), "--no-cache",
           "--no-report"]
    # SIGINT back to its default in the child: a test runner started in the background by a non-interactive
    # shell ignores SIGINT, its children inherit that, and Python then ignores Ctrl-C (this test once saw exit
    # 0 that way). And wait for the first sample instead of a fixed time, so a slow start cannot matter.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((tmp_path / "runs").glob("*/samples.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= 1:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "Traceback" not in err
    run_dir = next((tmp_path / "runs").iterdir())
    results = json.loads((run_dir / "results.json").read_text())
    samples = (run_dir / "samples.jsonl").read_text().splitlines()
    assert results["aborted"] == "interrupted by the user"
    assert 0 < results["n"] == len(samples) < 200


def test_several_suites_in_one_run(tmp_path, stub_server, shared_data):
    stub_server.configure({"default_reply": "#### 18"})
    quick = REPO / "suites" / "quickstart.yaml"
    proc = run_cli("run", str(GSM8K), str(quick), "--base-url", stub_server.base_url, "--model", "m", "--limit",
                   "3", "--output-dir", str(tmp_path / "runs"), "--no-cache", "--no-report")
    assert proc.returncode == 0, proc.stderr
    dirs = [Path(line) for line in proc.stdout.strip().splitlines()[-2:]]
    suites = [json.loads((d / "results.json").read_text())["suite"] for d in dirs]
    assert suites == ["gsm8k", "quickstart"]


def test_profile_extra_body_reaches_the_server(tmp_path, stub_server, shared_data):
    profile = tmp_path / "p.yaml"
    profile.write_text(f"base_url: {stub_server.base_url}\nmodel: m\nextra_body: {{top_k: 0, repeat_penalty: 1.0}}\n")
    stub_server.configure({"default_reply": "#### 18"})
    proc = run_cli("run", str(GSM8K), "--config", str(profile), "--limit", "1", "--output-dir",
                   str(tmp_path / "runs"), "--no-cache", "--no-report")
    assert proc.returncode == 0, proc.stderr
    params = stub_server.stats()["last_params"]
    assert params["top_k"] == 0 and params["repeat_penalty"] == 1.0 and params["temperature"] == 0.0
    assert params["model"] == "m" and params["max_tokens"] == 512
