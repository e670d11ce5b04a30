"""What a report says about one run: metric values with 95% intervals, per-item scores, breakdowns,
latency and throughput, errors and retries. Every number comes from `metrics.Tally` over samples.jsonl
(the record of truth), the same code that wrote results.json, so the two agree; a report of an
interrupted run still agrees with its samples. Definitions are in metrics.py.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from evalharness import stats
from evalharness.context_window import OVER_CONTEXT
from evalharness.reports.rundir import Run, Sample

MAX_GROUPS = 60  # a breakdown field with more distinct values than this is an id, not a category
_PASS_AT = re.compile(r"^pass@(\d+)$")
_PLAIN = re.compile(r"_(?:macro|micro)$")


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
    failure_reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # "all" or subset -> reason -> n

    @property
    def primary(self) -> MetricValue:
        return self.metrics[0]


def item_scores(run: Run, metric: str) -> dict[str, float]:
    """Per-item score for one metric (see metrics.py); item ids in first-seen order."""
    return run.tally.item_scores(_PLAIN.sub("", metric))


def is_binary(values) -> bool:
    return all(v == 0.0 or v == 1.0 for v in values)


def summarize(run: Run) -> RunSummary:
    tally = run.tally
    all_items = len(tally.items)
    metrics, scores = [], {}
    for name in run.metric_names:
        try:
            value = tally.metric(name)
        except ValueError:  # a metric this version does not know: shown as results.json has it
            continue
        items = value.get("items", 0)
        skipped = all_items - items if _PASS_AT.match(_PLAIN.sub("", name)) else 0
        metrics.append(MetricValue(name, value["value"], tuple(value["ci95"]), items, value["method"], skipped))
        scores[name] = item_scores(run, name)
    if not metrics:
        value = tally.metric("accuracy")
        metrics.append(MetricValue("accuracy", value["value"], tuple(value["ci95"]), value["items"], value["method"]))
        scores["accuracy"] = item_scores(run, "accuracy")
    latencies = sorted(tally.latencies)
    return RunSummary(
        run=run,
        metrics=metrics,
        item_scores=scores,
        breakdowns=breakdowns(run),
        latencies=latencies,
        latency=stats.latency_summary(latencies),
        tokens_per_s=[tps for s in run.samples if (tps := _tokens_per_s(s)) is not None],
        counts=_counts(run),
        error_kinds=Counter(_error_kind(s.error) for s in run.samples if s.error).most_common(8),
        finish_reasons=Counter(s.finish_reason or "none" for s in run.samples if not s.error).most_common(6),
        failure_reasons=_failure_reasons(run),
    )


def _failure_reasons(run: Run) -> dict[str, dict[str, int]]:
    """Why answers were wrong (metrics.Tally.failure_reasons): all of them, then per subset of a family."""
    overall = run.tally.failure_reasons()
    if not overall:
        return {}
    return {"all": overall, **{subset: run.tally.failure_reasons(subset) for subset in run.spec.subsets}}


def breakdowns(run: Run) -> dict[str, list[GroupRow]]:
    """Primary accuracy per group of each breakdown field (the subsets first, for a family)."""
    declared_keys = list(run.spec.breakdown)
    if not declared_keys and not run.results.get("breakdown"):  # an older run: group by what samples carry
        declared_keys = sorted({k for s in run.samples for k in s.meta if k != "subset"})
    keys = (["subset"] if run.spec.subsets else []) + declared_keys
    declared = set(run.results.get("breakdown") or {})
    out: dict[str, list[GroupRow]] = {}
    for key in keys:
        groups = run.tally.breakdown(key)
        groups.pop("None", None)
        if 1 < len(groups) <= MAX_GROUPS or (len(groups) == 1 and key in declared) or key == "subset":
            out[key] = [GroupRow(name, g["items"], g["accuracy"], tuple(g["ci95"])) for name, g in groups.items()]
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
        "errors": sum(1 for s in samples if s.error and s.error_kind != OVER_CONTEXT),
        "over_context": sum(1 for s in samples if s.error_kind == OVER_CONTEXT),
        "unextracted": sum(1 for s in samples if s.extracted is None and not s.error),
        "retries": sum(max(0, s.attempts - 1) for s in samples),
        "cached": sum(1 for s in samples if s.cached),
        "truncated": sum(1 for s in samples if s.finish_reason == "length"),
        "completion_tokens": sum(s.completion_tokens or 0 for s in samples),
        "prompt_tokens": sum(s.prompt_tokens or 0 for s in samples),
    }


def _error_kind(error: str) -> str:
    """Group errors by their wording without numbers/ids, so 'HTTP 503 after 3 tries' variants count once."""
    return re.sub(r"\d+(\.\d+)?", "N", error)[:100]
