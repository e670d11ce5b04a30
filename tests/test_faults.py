"""Shared endpoints misbehave: injected 429/5xx with Retry-After, dropped connections, hung replicas, broken
bodies and streams, exhausted quotas, rate limits. Every answer still arrives exactly once or the sample
says why it failed; the run never stalls; accuracy is exactly the truth."""

import json
import time
from pathlib import Path

import pytest

from conftest import StubServer, run_cli
from test_run_http import GSM8K, gsm8k_replies

ITEMS = 90
CORRECT = {i for i in range(ITEMS) if i % 3}  # 60 of 90


@pytest.fixture
def replicas():
    servers = [StubServer({}) for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


def run(tmp_path, urls, *extra, items=ITEMS):
    args = ["run", str(GSM8K), "--model", "phi-4-mini", "--limit", str(items), "--output-dir", str(tmp_path / "runs"),
            "--cache", str(tmp_path / "cache.sqlite"), "--no-report", "--no-progress"]
    for url in urls:
        args += ["--base-url", url]
    return run_cli(*args, *extra, timeout=300)


def outcome(proc) -> tuple[dict, list[dict]]:
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return json.loads((run_dir / "results.json").read_text()), rows


def test_faults_on_three_replicas_one_hung_lose_nothing(tmp_path, replicas, shared_data):
    replies = gsm8k_replies(ITEMS, CORRECT)
    faults = {"rate": {"429": 0.1, "503": 0.1, "drop": 0.05}, "retry_after": 1}
    replicas[0].configure({"replies": replies, "latency_s": 0.02, "faults": {**faults, "seed": 1}})
    replicas[1].configure({"replies": replies, "latency_s": 0.02, "faults": {**faults, "seed": 2, "retry_after": "date"}})
    replicas[2].configure({"replies": replies, "hang": True})
    proc = run(tmp_path, [s.base_url for s in replicas], "--concurrency", "8", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    results, rows = outcome(proc)
    assert results["errors"] == 0 and results["n"] == ITEMS
    assert results["metrics"]["accuracy"]["value"] == len(CORRECT) / ITEMS
    assert {r["index"] for r in rows if r["correct"]} == CORRECT
    stats = [s.stats() for s in replicas]
    assert sum(s["answered"] for s in stats) == ITEMS and sum(s["answered_twice"] for s in stats) == 0
    assert stats[0]["by_status"].get("429") and stats[0]["by_status"].get("dropped")  # faults really happened
    hung = results["replicas"][replicas[2].base_url]
    assert hung["ejections"] >= 1 and stats[2]["answered"] == 0  # taken out, the run finished without it
    assert results["replicas"][replicas[0].base_url]["requests"] > 0


@pytest.mark.parametrize("fault", ["empty", "malformed", "truncate", "stall"])
def test_broken_bodies_and_streams_are_retried(tmp_path, stub_server, shared_data, fault):
    stub_server.configure({"replies": gsm8k_replies(30, CORRECT), "faults": {"seed": 3, "rate": {fault: 0.3}}})
    profile = tmp_path / "p.yaml"
    profile.write_text(f"base_url: {stub_server.base_url}\nmodel: phi-4-mini\nmax_retries: 12\ntimeout_s: 2\n"
                       "options: {stream: true}\n")
    proc = run_cli("run", str(GSM8K), "--config", str(profile), "--limit", "30", "--output-dir", str(tmp_path / "runs"),
                   "--no-cache", "--no-report", "--no-progress", timeout=300)
    assert proc.returncode == 0, proc.stderr
    results, rows = outcome(proc)
    assert results["errors"] == 0 and results["retries"] > 0
    assert results["metrics"]["accuracy"]["value"] == len(CORRECT & set(range(30))) / 30


def test_a_hung_single_endpoint_fails_samples_with_their_cause_not_the_run(tmp_path, stub_server, shared_data):
    stub_server.configure({"hang": True})
    started = time.monotonic()
    proc = run(tmp_path, [stub_server.base_url], "--timeout", "1", "--max-retries", "1", "--concurrency", "4",
               items=4)
    assert time.monotonic() - started < 100  # 4 samples x 2 attempts x 1 s, whatever the machine
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "all 4 requests of gsm8k failed" in proc.stderr and "2 attempts" in proc.stderr
    results, rows = outcome(proc)
    assert all(r["error"] and "no answer" in r["error"] or "timed out" in r["error"] for r in rows)


def test_quota_exhausted_stops_with_one_line_and_resume_finishes(tmp_path, stub_server, shared_data):
    stub_server.configure({"replies": gsm8k_replies(40, CORRECT), "quota_after": 15})
    proc = run(tmp_path, [stub_server.base_url], "--concurrency", "1", items=40)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "asks to wait 3600 s" in proc.stderr and "--resume" in proc.stderr
    results, rows = outcome(proc)
    assert results["aborted"] and results["n"] == 15 and results["errors"] == 0
    stub_server.configure({"replies": gsm8k_replies(40, CORRECT)})  # the quota came back
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    again = run(tmp_path, [stub_server.base_url], "--concurrency", "1", "--resume", str(run_dir), items=40)
    assert again.returncode == 0, again.stderr
    results, rows = outcome(again)
    assert results["n"] == 40 and stub_server.stats()["answered"] == 25
    assert results["metrics"]["accuracy"]["value"] == len(CORRECT & set(range(40))) / 40


def test_adaptive_window_backs_off_a_server_at_capacity(tmp_path, stub_server, shared_data):
    stub_server.configure({"replies": gsm8k_replies(60, CORRECT), "latency_s": 0.05, "capacity": 4})
    proc = run(tmp_path, [stub_server.base_url], "--concurrency", "32", "--max-retries", "20", items=60)
    assert proc.returncode == 0, proc.stderr
    results, _ = outcome(proc)
    assert results["errors"] == 0 and results["window_min"] <= 16  # halved from 32 at least once
    assert results["metrics"]["accuracy"]["value"] == len(CORRECT & set(range(60))) / 60


def test_requests_per_minute_is_respected(tmp_path, stub_server, shared_data):
    stub_server.configure({"replies": gsm8k_replies(30, CORRECT)})
    profile = tmp_path / "p.yaml"
    profile.write_text(f"base_url: {stub_server.base_url}\nmodel: phi-4-mini\nrequests_per_minute: 120\n")
    proc = run_cli("run", str(GSM8K), "--config", str(profile), "--limit", "30", "--output-dir", str(tmp_path / "runs"),
                   "--no-cache", "--no-report", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    stats = stub_server.stats()
    # a bucket of 10 s (20 requests) at 2 per second: the last 10 requests need at least 5 s
    assert stats["last_request_at"] - stats["first_request_at"] >= 4.5
