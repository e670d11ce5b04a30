"""Nothing lost, nothing paid twice: a run killed with SIGKILL at any point and continued with --resume asks
no answered item again, records no sample twice, and ends with the results of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from test_run_http import GSM8K, gsm8k_replies

ITEMS = 120
CORRECT = {i for i in range(ITEMS) if i % 4 != 1}  # 90 of 120


def base_args(tmp_path, server) -> list[str]:
    return ["run", str(GSM8K), "--base-url", server.base_url, "--model", "phi-4-mini", "--limit", str(ITEMS),
            "--concurrency", "8", "--cache", str(tmp_path / "cache.sqlite"), "--output-dir", str(tmp_path / "runs"),
            "--no-report", "--no-progress"]


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "evalharness", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_samples(runs: Path, count: int, proc: subprocess.Popen, limit_s: float = 120) -> Path | None:
    """Poll until the run's samples.jsonl holds `count` lines (or its config.yaml exists, for 0)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        dirs = list(runs.glob("*/config.yaml")) if runs.is_dir() else []
        if dirs:
            samples = dirs[0].parent / "samples.jsonl"
            lines = samples.read_bytes().count(b"\n") if samples.exists() else 0
            if lines >= count:
                return dirs[0].parent
        time.sleep(0.005)
    return next((p.parent for p in runs.glob("*/config.yaml")), None)


def finished_results(run_dir: Path) -> tuple[dict, list[dict]]:
    results = json.loads((run_dir / "results.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return results, rows


def cached_answers(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


@pytest.mark.parametrize("kill_after", [0, 1, 40, 90])
def test_sigkill_then_resume_loses_nothing_and_pays_nothing_twice(tmp_path, stub_server, shared_data, kill_after):
    stub_server.configure({"latency_s": 0.1, "replies": gsm8k_replies(ITEMS, CORRECT)})
    proc = start(base_args(tmp_path, stub_server))
    run_dir = wait_for_samples(tmp_path / "runs", kill_after, proc)
    proc.kill()
    proc.wait()
    assert run_dir is not None
    sent_before = stub_server.settled()["answered"]  # answers still being written to the dead process count
    received_before = cached_answers(tmp_path / "cache.sqlite")
    recorded = {json.loads(line)["id"] for line in (run_dir / "samples.jsonl").read_text().splitlines()
                if line.endswith("}")}
    assert received_before >= len(recorded)  # every recorded sample's answer was in the cache first

    listing = run_cli("runs", str(tmp_path / "runs"))
    assert "unfinished" in listing.stdout and f"--resume {run_dir}" in listing.stdout

    again = run_cli(*base_args(tmp_path, stub_server), "--resume", str(run_dir))
    assert again.returncode == 0, again.stderr
    results, rows = finished_results(run_dir)
    stats = stub_server.stats()
    assert stats["answered"] == ITEMS
    # asked again: only the answers that were on the wire when the process died (never received, so never
    # paid for in any sense the harness could keep); nothing that had arrived
    assert stats["answered_twice"] == sent_before - received_before <= 8
    keys = [(r["id"], r["sample"]) for r in rows]
    assert len(keys) == len(set(keys)) == ITEMS  # no sample recorded twice
    assert results["n"] == ITEMS and results["errors"] == 0 and results["aborted"] is None
    assert results["metrics"]["accuracy"]["value"] == len(CORRECT) / ITEMS
    assert {r["index"] for r in rows if r["correct"]} == CORRECT
    assert "finished" in run_cli("runs", str(tmp_path / "runs")).stdout


def test_resume_alone_reads_suite_and_endpoint_from_the_run(tmp_path, stub_server, shared_data):
    stub_server.configure({"latency_s": 0.1, "replies": gsm8k_replies(ITEMS, CORRECT)})
    proc = start(base_args(tmp_path, stub_server))
    run_dir = wait_for_samples(tmp_path / "runs", 30, proc)
    proc.kill()
    proc.wait()
    fresh = run_cli(*base_args(tmp_path, stub_server)[:-2], "--no-progress", "--no-report")
    assert fresh.returncode == 0 and f"add --resume {run_dir}" in fresh.stderr  # says how to continue it
    resumed = run_cli("run", "--resume", str(run_dir), "--no-report", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    results, rows = finished_results(run_dir)
    assert results["n"] == ITEMS and results["metrics"]["accuracy"]["value"] == len(CORRECT) / ITEMS
    assert results["resumed"] >= 30 and results["requests"] == 0  # the fresh run had cached the rest


@pytest.mark.parametrize("change, what", [
    (["--model", "other-model"], "the model or endpoint identity"),
    (["--set", "generation.max_tokens=7"], "the generation settings"),
    (["--limit", "10"], "the suite (or --limit/--data)"),
])
def test_resume_refuses_other_settings(tmp_path, stub_server, shared_data, change, what):
    stub_server.configure({"replies": gsm8k_replies(5, {0})})
    args = base_args(tmp_path, stub_server)
    args[args.index("--limit") + 1] = "5"
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    for flag, value in zip(change[::2], change[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    proc = run_cli(*args, "--resume", str(run_dir))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert f"--resume {run_dir}: {what} differ" in proc.stderr


def test_a_failed_sample_is_asked_again_on_resume(tmp_path, stub_server, shared_data):
    stub_server.configure({"replies": gsm8k_replies(10, set(range(10))), "fail_first": 1, "fail_status": 400})
    args = base_args(tmp_path, stub_server)
    args[args.index("--limit") + 1] = "10"
    first = run_cli(*args)
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    assert json.loads((run_dir / "results.json").read_text())["errors"] == 10  # a 400 fails the sample at once
    assert "unfinished" in run_cli("runs", str(tmp_path / "runs"), "--unfinished").stdout
    again = run_cli(*args, "--resume", str(run_dir))
    assert again.returncode == 0, again.stderr
    results, rows = finished_results(run_dir)
    assert results["errors"] == 0 and results["metrics"]["accuracy"]["value"] == 1.0 and len(rows) == 10
