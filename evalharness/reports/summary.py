"""What a report says about one run: metric values with 95% intervals, per-item scores, breakdowns,
latency and throughput, errors and retries. Everything is recomputed from samples.jsonl (the record of
truth), so a report of an interrupted run still agrees with its samples.

Per-item score for `accuracy`: the share of the item's samples graded correct (0/1 with one sample).
For `pass@k`: the unbiased estimator from the item's n samples and c correct (`stats.pass_at_k`); items with
fewer than k samples are left out and counted in `MetricValue.skipped`. Intervals: Wilson when every
per-item score is 0 or 1, else a percentile bootstrap over items.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evalharness import stats
from evalharness.reports.rundir import Run, Sample

MAX_GROUPS = 60  # a breakdown field with more distinct values than this is an id, not a category
_PASS_AT = re.compile(r"^pass@(\d+)$")


@dataclass
class MetricValue:
    name: str
    value: float
    ci95: tuple[float, float]
    items: int
    method: str  # "Wilson" or "bootstrap"
    skipped: int = 0


@dataclass
class GroupRow:
    group: str
    n: int
    value: float
    ci95: tuple[float, float]


@dataclass
class RunSummary:
    run: Run
    metrics: list[MetricValue]
    item_scores: dict[str, dict[str, float]]  # metric name -> item id -> score
    breakdowns: dict[str, list[GroupRow]]  # meta field -> one row per value (primary metric)
    latencies: list[float]
    latency: dict[str, float]
    tokens_per_s: list[float]
    counts: dict[str, int]
    error_kinds: list[tuple[str, int]] = field(default_factory=list)
    finish_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def primary(self) -> MetricValue:
        return self.metrics[0]


def item_scores(run: Run, metric: str) -> dict[str, float]:
    """Per-item score for one metric (see the module docstring); item ids in first-seen order."""
    match = _PASS_AT.match(metric)
    k = int(match.group(1)) if match else 0
    scores: dict[str, float] = {}
    for item_id, samples in run.by_item().items():
        n = len(samples)
        c = sum(1 for s in samples if s.correct)
        if k:
            if n >= k:
                scores[item_id] = stats.pass_at_k(n, c, k)
        else:
            scores[item_id] = c / n
    return scores


def is_binary(values) -> bool:
    return all(v == 0.0 or v == 1.0 for v in values)


def interval(values: list[float]) -> tuple[tuple[float, float], str]:
    """95% interval for the mean of per-item scores: Wilson for 0/1 scores, bootstrap otherwise."""
    if is_binary(values):
        return stats.wilson_ci(sum(values), len(values)), "Wilson"
    return stats.bootstrap_ci(values), "bootstrap"


def summarize(run: Run) -> RunSummary:
    all_items = len(run.by_item())
    metrics, scores = [], {}
    for name in run.metric_names:
        per_item = item_scores(run, name)
        values = list(per_item.values())
        ci, method = interval(values)
        value = sum(values) / len(values) if values else 0.0
        metrics.append(MetricValue(name, value, ci, len(values), method, all_items - len(values)))
        scores[name] = per_item
    latencies = sorted(s.latency_s for s in run.samples if s.latency_s is not None and not s.error)
    return RunSummary(
        run=run,
        metrics=metrics,
        item_scores=scores,
        breakdowns=breakdowns(run, scores[metrics[0].name]),
        latencies=latencies,
        latency=stats.latency_summary(latencies),
        tokens_per_s=[tps for s in run.samples if (tps := _tokens_per_s(s)) is not None],
        counts=_counts(run),
        error_kinds=Counter(_error_kind(s.error) for s in run.samples if s.error).most_common(8),
        finish_reasons=Counter(s.finish_reason or "none" for s in run.samples if not s.error).most_common(6),
    )


def breakdowns(run: Run, scores: dict[str, float]) -> dict[str, list[GroupRow]]:
    """Primary-metric value per group of each breakdown field (results.json's keys, else the items' meta)."""
    metas: dict[str, dict[str, Any]] = {}
    for s in run.samples:
        metas.setdefault(s.id, s.meta)
    keys = list((run.results.get("breakdown") or {}).keys())
    if not keys:
        keys = sorted({k for meta in metas.values() for k in meta})
    out: dict[str, list[GroupRow]] = {}
    for key in keys:
        groups: dict[str, list[float]] = {}
        for item_id, score in scores.items():
            value = metas.get(item_id, {}).get(key)
            if value is not None:
                groups.setdefault(str(value), []).append(score)
        if 1 < len(groups) <= MAX_GROUPS or (len(groups) == 1 and key in (run.results.get("breakdown") or {})):
            rows = []
            for name in sorted(groups, key=_natural):
                vals = groups[name]
                ci, _ = interval(vals)
                rows.append(GroupRow(name, len(vals), sum(vals) / len(vals), ci))
            out[key] = rows
    return out


def _tokens_per_s(s: Sample) -> float | None:
    if s.error or s.cached or not s.completion_tokens or not s.latency_s or s.latency_s <= 0:
        return None
    return s.completion_tokens / s.latency_s


def _counts(run: Run) -> dict[str, int]:
    samples = run.samples
    return {
        "samples": len(samples),
        "items": len(run.by_item()),
        "correct": sum(1 for s in samples if s.correct),
        "errors": sum(1 for s in samples if s.error),
        "retries": sum(max(0, s.attempts - 1) for s in samples),
        "cached": sum(1 for s in samples if s.cached),
        "truncated": sum(1 for s in samples if s.finish_reason == "length"),
        "completion_tokens": sum(s.completion_tokens or 0 for s in samples),
        "prompt_tokens": sum(s.prompt_tokens or 0 for s in samples),
    }


def _error_kind(error: str) -> str:
    """Group errors by their wording without numbers/ids, so 'HTTP 503 after 3 tries' variants count once."""
    return re.sub(r"\d+(\.\d+)?", "N", error)[:100]


def _natural(text: str) -> tuple:
    """Sort key putting 'Level 2' before 'Level 10'."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text))
