"""Benchmark the run pipeline: 1,000 GSM8K items (8-shot prompts) against a 50 ms server at concurrency 64.

Prints the whole-process wall time of `evalharness run`, its start-up time (process launch until the first
request reaches the server), efficiency = ideal / (wall - start-up) with ideal = 1000 x 0.05 / 64 s, the
wall time of a fully cached re-run, and the time of `evalharness --help`.
The server (tests/openai_stub_server.py) runs in its own process on 127.0.0.1 and answers every item
correctly in one of four styles, so accuracy must come out exactly 1.0.

    python benchmarks/bench_run.py [--items 1000] [--latency 0.05] [--concurrency 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import SHARED_DATA, StubServer  # noqa: E402

from evalharness.datasets import load_items  # noqa: E402
from evalharness.prompts import build_messages, load_exemplars  # noqa: E402
from evalharness.suite import load_suite  # noqa: E402

STYLES = ("#### {}", "The answer is {}.", "So the total is $\\boxed{{{}}}$.", "**Answer:** {}")


def replies_for(suite_path: Path, items: int) -> dict[str, str]:
    suite = load_suite(suite_path)
    rows = load_items(suite.dataset, suite.fields, limit=items)
    exemplars = load_exemplars(suite)
    return {build_messages(suite, item, exemplars)[-1]["content"]: STYLES[i % 4].format(item.gold)
            for i, item in enumerate(rows)}


def timed_run(args: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    started = time.time()
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    return started, time.time() - started, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    env = {**os.environ, "EVALHARNESS_DATA_DIR": str(SHARED_DATA), "PYTHONPATH": str(REPO)}
    os.environ.update(env)
    suite = REPO / "suites" / "gsm8k.yaml"
    server = StubServer({"latency_s": opts.latency, "replies": replies_for(suite, opts.items)})
    ideal = opts.items * opts.latency / opts.concurrency
    cold, startups, cached = [], [], []
    try:
        for _ in range(opts.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                cmd = [sys.executable, "-m", "evalharness", "run", str(suite), "--base-url", server.base_url,
                       "--model", "phi-4-mini", "--limit", str(opts.items), "--concurrency",
                       str(opts.concurrency), "--output-dir", tmp, "--cache", f"{tmp}/cache.sqlite",
                       "--no-report", "--no-progress"]
                server.configure({"latency_s": opts.latency, "replies": replies_for(suite, opts.items)})
                launched, wall, proc = timed_run(cmd, env)
                stats = server.stats()
                if proc.returncode != 0 or stats["requests"] != opts.items:
                    sys.exit(f"run failed: {proc.returncode} {stats} {proc.stderr[-500:]}")
                if "accuracy     1.0000" not in proc.stdout:
                    sys.exit(f"accuracy is not exactly 1.0:\n{proc.stdout}")
                cold.append(wall)
                startups.append(stats["first_request_at"] - launched)
                server.configure({"latency_s": opts.latency})
                _, wall_cached, proc = timed_run(cmd, env)
                if proc.returncode != 0 or server.stats()["requests"] != 0:
                    sys.exit(f"cached re-run sent requests or failed: {proc.stderr[-500:]}")
                cached.append(wall_cached)
        helps = [timed_run([sys.executable, "-m", "evalharness", "--help"], env)[1] for _ in range(5)]
    finally:
        server.stop()
    wall, startup = statistics.median(cold), statistics.median(startups)
    print(f"items {opts.items}, server latency {opts.latency * 1000:.0f} ms, concurrency {opts.concurrency}, "
          f"median of {opts.repeat}")
    print(f"whole process wall   {wall:.3f} s   (runs: {', '.join(f'{w:.3f}' for w in cold)})")
    print(f"start-up             {startup:.3f} s   (launch -> first request)")
    print(f"ideal                {ideal:.3f} s")
    print(f"efficiency           {ideal / (wall - startup):.1%}   ideal / (wall - start-up)")
    print(f"cached re-run wall   {statistics.median(cached):.3f} s   (0 requests sent)")
    print(f"evalharness --help   {statistics.median(helps):.3f} s")


if __name__ == "__main__":
    main()
