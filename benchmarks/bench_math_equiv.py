"""Benchmark of the math_equiv grader: accuracy, throughput, slowest case, hostile input.

Run: python benchmarks/bench_math_equiv.py
Prints
- accuracy on the labelled set tests/data/math_equiv_cases.jsonl, overall and by tag (answer family);
- worker start-up time, then pairs/s with the workers up (parse caches empty) on the labelled set and on
  MATH-500 style pairs (each gold against its own worked solution, a re-written equal form, and the next
  item's gold); the target is >= 200 pairs/s on 2 cores;
- the slowest pair;
- the slowest hostile input (target: every one answered "not equal" within 2 s).
Reads ../shared/data/math/math500_test.jsonl (skipped with a note if absent).
"""

from __future__ import annotations

import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalharness.graders import make_grader  # noqa: E402

CASES = REPO / "tests" / "data" / "math_equiv_cases.jsonl"
MATH500 = REPO / ".." / "shared" / "data" / "math" / "math500_test.jsonl"


def rewrite(gold: str, index: int) -> str:
    """An equal answer written differently, the way models vary notation."""
    kind = index % 4
    if kind == 0:
        return gold.replace("\\frac", "\\dfrac").replace(",", ", ")
    if kind == 1:
        return f"Putting it together, the answer is $\\boxed{{{gold}}}$."
    if kind == 2 and "=" not in gold and "\\in" not in gold:
        return f"x = {gold}"
    return gold.replace("(", "\\left(").replace(")", "\\right)") + "."


def math500_pairs() -> list[tuple[str, str]]:
    """Each gold against its worked solution, a re-written equal form, and the next item's gold."""
    rows = [json.loads(line) for line in MATH500.read_text().splitlines()]
    pairs = []
    for i, row in enumerate(rows):
        gold = row["answer"]
        pairs.append((row["solution"], gold))
        pairs.append((rewrite(gold, i), gold))
        pairs.append((rows[(i + 1) % len(rows)]["answer"], gold))
    return pairs


def math500_sympy_pairs() -> list[tuple[str, str]]:
    """The hard case: every single-expression gold against an equal form only sympy can confirm."""
    rows = [json.loads(line) for line in MATH500.read_text().splitlines()]
    golds = [row["answer"] for row in rows]
    return [(f"\\frac{{2({gold})}}{{2}}", gold) for gold in golds
            if not any(mark in gold for mark in (",", "=", "\\text", "\\mbox", "\\begin", "<", "\\le", "\\ge", "_", "\\pm", "\\$"))]


def hostile() -> list[tuple[str, str]]:
    rng = random.Random(7)
    garbage = "".join(rng.choice("ab{}()[]$\\^_019 ,.=+-*/\n") for _ in range(200_000))
    return [(r"9^{9^{9^{9}}}", "5"), ("+".join(["x"] * 5000), "5"), (garbage, "5"), ("\\boxed{" * 50_000, "5"),
            (r"2^{2^{20}}", "5"), (r"\sum_{k=1}^{10^{9}} k", "5"), (r"e^{e^{e^{e^{e^{10}}}}}", "5"),
            (r"\binom{10^{9}}{10^{5}}", "5"), (r"\frac{x^{200}-1}{x-1}", "x"), ("1," * 100_000, "5")]


def timed_grades(grader, pairs, threads: int = 8):
    def one(pair):
        start = time.perf_counter()
        grade = grader.grade_text(pair[0], pair[1], {})
        return grade, time.perf_counter() - start

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, pairs))


def warm_grader():
    """A grader whose workers are up (start-up is reported separately), with empty parse caches."""
    grader = make_grader("math_equiv", {})
    start = time.perf_counter()
    grader.grade_text(r"\sec^2 y", r"\tan^2 y + 1", {})
    startup = time.perf_counter() - start
    timed_grades(grader, [(f"x + {i}", f"{i} + x") for i in range(8)])  # every worker up
    return grader, startup


def main() -> None:
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    grader, startup = warm_grader()
    print(f"worker start-up (first sympy verdict): {startup:.2f} s")
    start = time.perf_counter()
    results = timed_grades(grader, [(case["pred"], case["gold"]) for case in cases])
    elapsed = time.perf_counter() - start
    agree = sum(grade.correct == case["equal"] for (grade, _), case in zip(results, cases))
    share = sum(grade.details.get("method") == "sympy" for grade, _ in results) / len(results)
    print(f"labelled set: accuracy {agree / len(cases):.4f} ({agree}/{len(cases)}); {len(cases) / elapsed:.0f} pairs/s "
          f"({share:.0%} needed sympy)")
    families = {}
    for (grade, _), case in zip(results, cases):
        right, total = families.get(case["tag"], (0, 0))
        families[case["tag"]] = (right + (grade.correct == case["equal"]), total + 1)
    print("  by tag: " + ", ".join(f"{tag} {right}/{total}" for tag, (right, total) in sorted(families.items())))
    grader.close()
    grader, _ = warm_grader()  # fresh workers: the slowest case is timed with cold parse caches
    sequential = timed_grades(grader, [(case["pred"], case["gold"]) for case in cases], threads=1)
    slowest = [(seconds, case["gold"], case["pred"]) for (_, seconds), case in zip(sequential, cases)]
    grader.close()

    if MATH500.is_file():
        pairs = math500_pairs()
        grader, _ = warm_grader()
        start = time.perf_counter()
        results = timed_grades(grader, pairs)
        elapsed = time.perf_counter() - start
        share = sum(grade.details.get("method") == "sympy" for grade, _ in results) / len(results)
        equal = sum(grade.correct for grade, _ in results)
        print(f"MATH-500 style pairs: {len(pairs)} pairs ({equal} equal), {len(pairs) / elapsed:.0f} pairs/s "
              f"({share:.0%} needed sympy; target >= 200 pairs/s on 2 cores)")
        grader.close()
        grader, _ = warm_grader()
        sequential = timed_grades(grader, pairs, threads=1)
        slowest += [(seconds, gold, response) for (_, seconds), (response, gold) in zip(sequential, pairs)]
        grader.close()
        hard = math500_sympy_pairs()
        grader, _ = warm_grader()
        start = time.perf_counter()
        results = timed_grades(grader, hard)
        elapsed = time.perf_counter() - start
        equal = sum(grade.correct for grade, _ in results)
        share = sum(grade.details.get("method") == "sympy" for grade, _ in results) / len(results)
        print(f"MATH-500 golds vs \\frac{{2(gold)}}{{2}}: {len(hard)} pairs ({equal} equal), {len(hard) / elapsed:.0f} pairs/s "
              f"({share:.0%} needed sympy)")
        grader.close()
    else:
        print(f"MATH-500 pairs: skipped ({MATH500} not found)")
    seconds, gold, pred = max(slowest)
    print(f"slowest pair (graded alone, no queueing): {seconds:.3f} s  gold={gold!r} pred={pred[-80:]!r}")

    grader, _ = warm_grader()
    hostile_results = timed_grades(grader, hostile())
    worst = max(seconds for _, seconds in hostile_results)
    all_false = not any(grade.correct for grade, _ in hostile_results)
    print(f"hostile inputs: {len(hostile_results)} concurrent, all not-equal: {all_false}, slowest {worst:.2f} s "
          f"(target < 2 s); worker timeouts: {grader.describe()['timeouts']}")
    grader.close()


if __name__ == "__main__":
    main()
