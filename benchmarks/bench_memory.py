"""Peak memory of `run`, `report` and `compare` on a large run (default 50,000 GSM8K-style 8-shot samples).

The items are GSM8K test questions, each repeated with a numbered suffix so every prompt (and cache key)
is distinct; the server (tests/openai_stub_server.py, no latency) answers everything. Prints the peak RSS
of each whole process (os.wait4), its wall time, and the sizes of samples.jsonl, the cache and report.html.
Target (issue 13): run, report and compare each <= 300 MB.

    python benchmarks/bench_memory.py [--samples 50000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import SHARED_DATA, StubServer  # noqa: E402


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str, str, int]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "evalharness", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    # read the pipes (stdout is small; stderr too with --no-progress), then collect the child's own rusage
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, out.decode(), err.decode(), proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=64)
    opts = parser.parse_args()
    questions = [json.loads(line) for line in (SHARED_DATA / "gsm8k" / "test.jsonl").read_text().splitlines()]
    env = {**os.environ, "EVALHARNESS_DATA_DIR": str(SHARED_DATA), "PYTHONPATH": str(REPO)}
    server = StubServer({"default_reply": "Adding it up gives 18. #### 18"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            with (tmp / "items.jsonl").open("w") as fh:
                for i in range(opts.samples):
                    q = questions[i % len(questions)]
                    fh.write(json.dumps({"question": f"{q['question']} (copy {i})", "answer": q["answer"]}) + "\n")
            suite = (REPO / "suites" / "gsm8k.yaml").read_text().replace("local: gsm8k/test.jsonl",
                                                                        f"path: {tmp / 'items.jsonl'}")
            (tmp / "big.yaml").write_text(suite)
            common = ["--base-url", server.base_url, "--model", "m", "--concurrency", str(opts.concurrency),
                      "--output-dir", str(tmp / "runs"), "--cache", str(tmp / "cache.sqlite"), "--no-report",
                      "--no-progress"]
            rows = []
            peak, wall, out, err, code = run_measured(["run", str(tmp / "big.yaml"), *common], env)
            if code != 0:
                sys.exit(f"run failed: {err[-500:]}")
            run_a = Path(out.strip().splitlines()[-1])
            rows.append(("run (all requests)", peak, wall))
            peak, wall, out, err, code = run_measured(["run", str(tmp / "big.yaml"), *common], env)
            run_b = Path(out.strip().splitlines()[-1])
            rows.append(("run (all cached)", peak, wall))
            peak, wall, out, err, code = run_measured(["report", str(run_a)], env)
            if code != 0:
                sys.exit(f"report failed: {err[-500:]}")
            rows.append(("report", peak, wall))
            peak, wall, out, err, code = run_measured(["compare", str(run_a), str(run_b), "--out", str(tmp / "cmp")],
                                                      env)
            if code != 0:
                sys.exit(f"compare failed: {err[-500:]}")
            rows.append(("compare", peak, wall))
            sizes = {"samples.jsonl": run_a / "samples.jsonl", "cache.sqlite": tmp / "cache.sqlite",
                     "report.html": run_a / "report.html"}
            print(f"{opts.samples} samples, GSM8K 8-shot prompts, concurrency {opts.concurrency}")
            for name, peak, wall in rows:
                print(f"{name:<22} peak RSS {peak:7.1f} MB   wall {wall:6.1f} s")
            for name, path in sizes.items():
                size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
                print(f"{name:<22} {size:7.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
