"""Time `write_report` on a 5,000-sample run directory (target: under 10 s).

The run is synthetic but shaped like a real GSM8K 8-shot run: long shared few-shot prompts, ~600-character
chain-of-thought responses, a few errors and retries, MATH-like breakdown fields. Run:
    python benchmarks/bench_report.py [--samples 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from evalharness.reports import compare_runs, write_report  # noqa: E402
from reports_fixtures import make_run_dir, verdicts  # noqa: E402

SUBJECTS = ["Algebra", "Counting & Probability", "Geometry", "Intermediate Algebra", "Number Theory", "Prealgebra", "Precalculus"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        def response(i: int, k: int, ok: bool) -> str:
            return f"Let's work through problem {i} step by step. " * 12 + f"The answer is {i % 97 if ok else 0}. #### {i % 97}"

        run = make_run_dir(
            Path(tmp), verdicts(args.samples, 0.82, seed=1), fewshot=8, response=response,
            meta=lambda i: {"subject": SUBJECTS[i % 7], "level": f"Level {i % 5 + 1}"},
            errors={i: "HTTP 503 Service Unavailable after 3 attempts" for i in range(0, args.samples, 400)},
        )
        size = (run / "samples.jsonl").stat().st_size
        start = time.perf_counter()
        path = write_report([run])
        report_s = time.perf_counter() - start
        other = make_run_dir(Path(tmp), verdicts(args.samples, 0.80, seed=2), seed=2, fewshot=8, response=response)
        start = time.perf_counter()
        compare_runs([run, other], Path(tmp) / "cmp", fail_if_worse=False, alpha=0.05)
        compare_s = time.perf_counter() - start
        print(f"\nsamples: {args.samples}  samples.jsonl: {size / 1e6:.1f} MB")
        print(f"report: {report_s:.2f} s (target < 10 s)  report.html: {path.stat().st_size / 1e6:.1f} MB  "
              f"plots: {len(list((run / 'plots').iterdir()))}")
        print(f"compare: {compare_s:.2f} s")


if __name__ == "__main__":
    main()
