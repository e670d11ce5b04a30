"""The long-context numbers of a generated run (its length x depth grid), computed in one place from the
run's `metrics.Tally`: results.json's `long_context`, the report's heatmap and charts, and the command
line's summary all read this, so they agree.

- `cells`: one per (length, depth) of the grid, in grid order: `n` in-context samples, `correct`,
  `accuracy` (correct / n; None when no sample was in context), `over_context` (samples the endpoint
  could not take, left out). A family's cells pool its subsets.
- `by_length`: per length, `accuracy` with `ci95` (Wilson over samples; for a family whose `aggregate` is
  macro, the mean of the subsets' accuracies with a stratified bootstrap interval), `n`, `over_context`.
- `effective_length`: the largest grid length L such that every grid length up to and including L was
  measured in full (at least one sample, none over the endpoint's context) and has accuracy >=
  `threshold` (a fraction; RULER uses 85.6%). None when the shortest length already fails.
- `heatmap`: `accuracy[d][l]` for depth d and length l (the cells again, as a matrix; None = no data).
- `prefill`: per length, medians of the time to first token, prompt tokens per second (the endpoint's
  prompt tokens / ttft) and prompt tokens, over successful samples; ttft needs a streaming endpoint
  (`stream: true` in the profile's options) or the in-process provider; `streamed` says if any had one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from evalharness import stats

EPSILON = 1e-12


def _key(length: Any, depth: Any) -> tuple[int, float] | None:
    try:
        return int(length), float(depth)
    except (TypeError, ValueError):
        return None


def _depth_out(depth: float) -> int | float:
    return int(depth) if depth.is_integer() else depth


def summarize(tally: Any) -> dict[str, Any]:
    grid = tally.spec.grid
    lengths = list(grid.lengths)
    depths = [float(d) for d in grid.depths]
    counts: dict[tuple[int, float], list[int]] = defaultdict(lambda: [0, 0, 0])  # n, correct, over
    per_length: dict[int, list[tuple[str | None, float]]] = defaultdict(list)  # (subset, item score)
    methods: set[str] = set()
    for item in tally.items.values():
        key = _key(item.meta.get("length_tokens"), item.meta.get("depth"))
        if key is None or not item.verdicts:
            continue
        cell = counts[key]
        cell[0] += len(item.verdicts)
        cell[1] += sum(item.verdicts)
        per_length[key[0]].append((item.subset, sum(item.verdicts) / len(item.verdicts)))
        if item.meta.get("count_method"):
            methods.add(str(item.meta["count_method"]))
    for meta in tally.over_context_meta:
        key = _key(meta.get("length_tokens"), meta.get("depth"))
        if key is not None:
            counts[key][2] += 1
    lengths += sorted({k[0] for k in counts} - set(lengths))
    depths += sorted({k[1] for k in counts} - set(depths))
    cells = [_cell(length, depth, counts.get((length, depth), [0, 0, 0])) for length in lengths for depth in depths]
    by_length = {str(length): _length_row(length, counts, per_length, tally.spec) for length in lengths}
    return {
        "threshold": grid.threshold,
        "effective_length": effective_length(lengths, by_length, grid.threshold),
        "lengths": lengths,
        "depths": [_depth_out(d) for d in depths],
        "by_length": by_length,
        "cells": cells,
        "heatmap": {"lengths": lengths, "depths": [_depth_out(d) for d in depths],
                    "accuracy": [[c["accuracy"] for c in cells if c["depth"] == _depth_out(d)] for d in depths]},
        "prefill": prefill(tally.timings),
        "count_method": ", ".join(sorted(methods)) or None,
    }


def _cell(length: int, depth: float, count: list[int]) -> dict[str, Any]:
    n, correct, over = count
    return {"length": length, "depth": _depth_out(depth), "accuracy": correct / n if n else None, "n": n,
            "correct": correct, "over_context": over}


def _length_row(length: int, counts: dict, per_length: dict, spec: Any) -> dict[str, Any]:
    n = sum(c[0] for k, c in counts.items() if k[0] == length)
    correct = sum(c[1] for k, c in counts.items() if k[0] == length)
    over = sum(c[2] for k, c in counts.items() if k[0] == length)
    scores = per_length.get(length, [])
    row: dict[str, Any] = {"accuracy": correct / n if n else None, "ci95": None, "n": n, "items": len(scores),
                           "over_context": over}
    if not scores:
        return row
    if spec.subsets and spec.aggregate == "macro":
        groups: dict[str | None, list[float]] = defaultdict(list)
        for subset, score in scores:
            groups[subset].append(score)
        row["accuracy"] = sum(sum(g) / len(g) for g in groups.values()) / len(groups)
        row["ci95"] = list(stats.stratified_bootstrap_ci(list(groups.values())))
        row["method"] = "stratified bootstrap"
    elif all(score in (0.0, 1.0) for _, score in scores):
        row["ci95"] = list(stats.wilson_ci(sum(score for _, score in scores), len(scores)))
        row["method"] = "Wilson"
    else:
        row["ci95"] = list(stats.bootstrap_ci([score for _, score in scores]))
        row["method"] = "bootstrap"
    return row


def effective_length(lengths: list[int], by_length: dict[str, dict[str, Any]], threshold: float) -> int | None:
    """The longest length up to which every length was measured in full and stays >= threshold."""
    best = None
    for length in sorted(lengths):
        row = by_length[str(length)]
        if not row["n"] or row["over_context"] or row["accuracy"] is None or row["accuracy"] < threshold - EPSILON:
            break
        best = length
    return best


def prefill(timings: list[tuple[Any, int, float | None, float | None]]) -> dict[str, Any]:
    """Per length: medians of ttft, prompt tokens/s (prompt tokens / ttft), prompt tokens and latency."""
    groups: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for length, prompt_tokens, ttft, latency in timings:
        try:
            groups[int(length)].append((prompt_tokens, ttft, latency))
        except (TypeError, ValueError):
            continue
    rows = {}
    for length in sorted(groups):
        points = groups[length]
        ttfts = sorted(t for _, t, _ in points if t)
        speeds = sorted(p / t for p, t, _ in points if t and p)
        rows[str(length)] = {
            "n": len(points),
            "prompt_tokens": _median([float(p) for p, _, _ in points if p]),
            "ttft_s": _median(ttfts),
            "prompt_tokens_per_s": _median(speeds),
            "latency_s": _median(sorted(lat for _, _, lat in points if lat is not None)),
        }
    return {"streamed": any(row["ttft_s"] is not None for row in rows.values()), "by_length": rows}


def _median(values: list[float]) -> float | None:
    return stats.percentile(sorted(values), 50) if values else None
