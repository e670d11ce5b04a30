"""Benchmark a long-context grid: the default needle grid (1K-128K tokens x 11 depths = 88 prompts)
against the stub server, measuring the whole `evalharness run` process.

Prints, for a cold run (prompts fitted to the server's token count, every cell sent, report written) and a
cached re-run: peak resident memory of the run process (its own `ru_maxrss`, read at its exit, report
included), wall time, chat requests the server saw; then the sizes of the cache file and of samples.jsonl.
The stub counts a word as a token (in `usage` and in its vLLM-style /tokenize), so a "128K" prompt here
holds ~131K words (~750 KB, more than a real tokenizer's ~550 KB: a pessimistic case). Its oracle mode
answers with the needle's value in every cell up to 32K tokens, so the effective length must be 32768.

    python benchmarks/bench_long_context.py [--no-tokenize] [--latency 0.02] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import SHARED_DATA, StubServer  # noqa: E402

RSS_LIMIT_MB = 400
# Runs the command line in this process and reports its peak RSS when it is done (report included).
RUNNER = ("import resource, sys\nfrom evalharness.cli import main\ncode = main(sys.argv[1:])\n"
          "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
          "sys.exit(code)")


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, int, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rss_kb = next(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return wall, rss_kb, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-tokenize", action="store_true", help="the server has no tokenize endpoint (usage)")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    opts = parser.parse_args()
    env = {**os.environ, "EVALHARNESS_DATA_DIR": str(SHARED_DATA), "PYTHONPATH": str(REPO)}
    config = {"latency_s": opts.latency, "tokenize": not opts.no_tokenize and "vllm",
              "oracle": {"pattern": r"magic number for \S+ is (\d+)\.", "find": [[40000, 0, 1]]}}
    server = StubServer(config)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-c", RUNNER, "run", str(REPO / "suites" / "needle.yaml"), "--base-url",
                   server.base_url, "--model", "m", "--concurrency", str(opts.concurrency), "--output-dir", tmp,
                   "--cache", f"{tmp}/cache.sqlite", "--no-progress"]
            rows = []
            for label in ("cold", "cached"):
                server.configure(config)
                wall, rss_kb, proc = run_once(cmd, env)
                run_dir = Path(proc.stdout.strip().splitlines()[-1])
                results = json.loads((run_dir / "results.json").read_text())
                rows.append((label, wall, rss_kb, server.stats()["requests"], results, run_dir))
            for label, wall, rss_kb, requests, results, _ in rows:
                lc = results["long_context"]
                print(f"{label:>6}: peak RSS {rss_kb / 1024:6.1f} MB  wall {wall:6.1f} s  chat requests {requests:3d}"
                      f"  samples {results['n']}  effective length {lc['effective_length']}"
                      f"  counted by {lc['count_method']}")
            cold = rows[0]
            cache = Path(tmp) / "cache.sqlite"
            cache_bytes = sum(p.stat().st_size for p in cache.parent.glob(cache.name + "*"))
            with sqlite3.connect(cache) as db:
                entries = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            samples_bytes = (cold[5] / "samples.jsonl").stat().st_size
            print(f"cache {cache_bytes / 1e6:.2f} MB ({entries} responses keyed by hash, no prompts; length "
                  f"measurements included)  samples.jsonl {samples_bytes / 1e6:.1f} MB (full prompts)")
            worst = max(row[2] for row in rows) / 1024
            verdict = "within" if worst <= RSS_LIMIT_MB else "OVER"
            print(f"peak RSS {worst:.1f} MB: {verdict} the {RSS_LIMIT_MB} MB bound")
            if cold[4]["long_context"]["effective_length"] != 32768:
                sys.exit("the effective length is not 32768: the grid did not score the oracle's cells")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
