"""Run directories for report/compare tests, written exactly as docs/records.md specifies.

`make_run_dir` writes config.yaml, samples.jsonl (completion order shuffled, like a concurrent run) and
results.json with the documented keys, from a per-sample verdict list, so tests control which items are
right in which run.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

from evalharness import stats

XSS_PAYLOADS = [
    "<script>window.__xss = 1; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\">",
    "</textarea><script>window.__xss = 3</script>",
    "</script><script>window.__xss = 4</script>",
    "<svg onload=\"window.__xss = 5\"></svg><a href=\"javascript:window.__xss=6\">x</a>",
]


def make_run_dir(
    parent: Path,
    correct: list[bool] | list[list[bool]],
    *,
    suite: str = "gsm8k",
    run_id: str | None = None,
    metrics: list[str] | None = None,
    seed: int = 0,
    ids: list[str] | None = None,
    meta: Callable[[int], dict[str, Any]] | None = None,
    response: Callable[[int, int, bool], str] | None = None,
    prompt: Callable[[int], str] | None = None,
    gold: Callable[[int], Any] | None = None,
    errors: dict[int, str] | None = None,
    latency_scale: float = 1.0,
    fewshot: int = 0,
) -> Path:
    """Write one run directory; `correct[i]` is item i's verdict (or list of verdicts, one per sample).

    `errors` maps item index -> error text for its first sample (response null, counted incorrect)."""
    rng = random.Random(seed)
    per_item = [c if isinstance(c, list) else [c] for c in correct]
    n_samples = len(per_item[0]) if per_item else 1
    ids = ids or [f"q{i:05d}" for i in range(len(per_item))]
    run_id = run_id or f"20261125-120000-{suite}-fake-{seed}"
    out = Path(parent) / run_id
    out.mkdir(parents=True)
    shots = [
        m
        for j in range(fewshot)
        for m in (
            {"role": "user", "content": f"Question: exemplar {j}: 2 + {j} = ?"},
            {"role": "assistant", "content": f"2 + {j} = {2 + j}. #### {2 + j}"},
        )
    ]
    rows = []
    for i, verdicts in enumerate(per_item):
        g = gold(i) if gold else str(i % 97)
        for k, ok in enumerate(verdicts):
            err = (errors or {}).get(i) if k == 0 else None
            ok = bool(ok) and not err
            latency = round(rng.lognormvariate(-0.7, 0.5) * latency_scale, 4)
            tokens = rng.randint(40, 400)
            text = response(i, k, ok) if response else f"Let me think step by step about item {i}. #### {g if ok else 'x'}"
            rows.append(
                {
                    "id": ids[i],
                    "index": i,
                    "sample": k,
                    "messages": [{"role": "system", "content": "Solve the problem."}, *shots,
                                 {"role": "user", "content": prompt(i) if prompt else f"Question: item {i}?"}],
                    "response": None if err else text,
                    "extracted": None if err else (str(g) if ok else "x"),
                    "gold": g,
                    "correct": ok,
                    "grades": {"exact_match": {"correct": ok, "extracted": None if err else str(g), "details": {}}},
                    "latency_s": None if err else latency,
                    "ttft_s": None,
                    "usage": {"prompt_tokens": 120, "completion_tokens": 0 if err else tokens},
                    "finish_reason": None if err else ("length" if tokens > 390 else "stop"),
                    "cached": False,
                    "attempts": 3 if err else (2 if rng.random() < 0.02 else 1),
                    "error": err,
                    "meta": meta(i) if meta else {},
                }
            )
    rng.shuffle(rows)
    (out / "config.yaml").write_text(f"suite:\n  name: {suite}\nprovider:\n  model: fake\n", encoding="utf-8")
    with (out / "samples.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    (out / "results.json").write_text(json.dumps(_results(rows, suite, run_id, metrics, n_samples, meta)), encoding="utf-8")
    return out


def _results(rows, suite, run_id, metrics, n_samples, meta) -> dict[str, Any]:
    n_ok = sum(r["correct"] for r in rows)
    lat = [r["latency_s"] for r in rows if r["latency_s"] is not None]
    metric_names = metrics or ["accuracy"]
    return {
        "run_id": run_id,
        "suite": suite,
        "model": "fake",
        "base_url": "http://127.0.0.1:9/v1",
        "provider": "openai",
        "n": len(rows),
        "items": len(rows) // n_samples,
        "samples_per_item": n_samples,
        "errors": sum(1 for r in rows if r["error"]),
        "cached": 0,
        "requests": sum(r["attempts"] for r in rows),
        "retries": sum(max(0, r["attempts"] - 1) for r in rows),
        "wall_s": 12.3,
        "metrics": {m: {"value": n_ok / len(rows), "ci95": list(stats.wilson_ci(n_ok, len(rows)))} for m in metric_names},
        "latency_s": stats.latency_summary(lat),
        "tokens": {"prompt": 120 * len(rows), "completion": sum(r["usage"]["completion_tokens"] for r in rows)},
        "breakdown": {k: {} for k in (meta(0) if meta else {})},
        "grader": {"grader": "exact_match"},
        "aborted": None,
        "created": "2026-11-25T12:00:00Z",
        "evalharness_version": "0.1.0",
    }


def verdicts(n: int, accuracy: float, seed: int = 0) -> list[bool]:
    """n verdicts with exactly round(n * accuracy) correct, in a seeded random order."""
    k = round(n * accuracy)
    out = [True] * k + [False] * (n - k)
    random.Random(seed).shuffle(out)
    return out
