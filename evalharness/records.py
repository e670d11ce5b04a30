"""Run records on disk: a run directory with config.yaml, samples.jsonl and results.json (docs/records.md).

`RunWriter` creates the directory, writes the resolved config first, appends each sample the moment it is
graded (flushed, so a crash or Ctrl-C keeps every result obtained), and writes results.json last.
`aggregate` turns the per-sample facts into the results' numbers; it is pure (no I/O) and cheap.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from evalharness import __version__
from evalharness.errors import UserError
from evalharness.stats import bootstrap_ci, latency_summary, pass_at_k, wilson_ci


@dataclass
class SampleFacts:
    """What aggregation needs from one sample (kept in memory instead of the whole record)."""

    item_id: str
    sample: int
    correct: bool
    error: bool
    cached: bool
    attempts: int
    latency_s: float | None
    prompt_tokens: int
    completion_tokens: int
    meta: dict[str, Any] = field(default_factory=dict)
    grades: dict[str, bool] = field(default_factory=dict)


def make_run_id(suite: str, model: str | None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", (model or "model").split("/")[-1]).strip("-").lower()
    return f"{stamp}-{suite}-{slug or 'model'}"


class RunWriter:
    def __init__(self, output_dir: Path, run_id: str):
        run_dir = output_dir / run_id
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = output_dir / f"{run_id}-{suffix}"
        try:
            run_dir.mkdir(parents=True)
        except OSError as exc:
            raise UserError(f"cannot create run directory {run_dir}: {exc.strerror}; pass --output-dir DIR") \
                from None
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self._samples: TextIO = open(run_dir / "samples.jsonl", "a", encoding="utf-8")

    def write_config(self, config: dict[str, Any]) -> None:
        import yaml

        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
        (self.run_dir / "config.yaml").write_text(text, encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        self._samples.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._samples.flush()

    def write_results(self, results: dict[str, Any]) -> None:
        self._samples.close()
        tmp = self.run_dir / "results.json.tmp"
        tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.run_dir / "results.json")


def aggregate(facts: list[SampleFacts], *, metrics: tuple[str, ...], breakdown: tuple[str, ...],
              extra_graders: tuple[str, ...] = ()) -> dict[str, Any]:
    """Metrics, breakdowns, latency and token totals from the samples (errors count as incorrect)."""
    latencies = [f.latency_s for f in facts if f.latency_s is not None and not f.error]
    out: dict[str, Any] = {
        "n": len(facts),
        "items": len({f.item_id for f in facts}),
        "errors": sum(f.error for f in facts),
        "cached": sum(f.cached for f in facts),
        "metrics": {name: metric_value(facts, name) for name in metrics},
        "latency_s": latency_summary(latencies),
        "tokens": {"prompt": sum(f.prompt_tokens for f in facts),
                   "completion": sum(f.completion_tokens for f in facts)},
    }
    for grader in extra_graders:
        correct = sum(f.grades.get(grader, False) for f in facts)
        out["metrics"][f"accuracy[{grader}]"] = _proportion(correct, len(facts))
    if breakdown:
        out["breakdown"] = {key: _breakdown(facts, key) for key in breakdown}
    return out


def metric_value(facts: list[SampleFacts], metric: str) -> dict[str, Any]:
    if metric == "accuracy":
        return _proportion(sum(f.correct for f in facts), len(facts))
    k = int(metric.split("@", 1)[1])
    per_item: dict[str, list[bool]] = defaultdict(list)
    for f in facts:
        per_item[f.item_id].append(f.correct)
    scores = [pass_at_k(len(v), sum(v), k) for v in per_item.values() if len(v) >= k]
    if not scores:
        return {"value": 0.0, "ci95": [0.0, 0.0], "tasks": 0}
    if all(len(v) == 1 for v in per_item.values()):
        result = _proportion(sum(scores), len(scores))
    else:
        # several samples per task: per-task estimates are not 0/1, so Wilson does not apply (numpy is
        # imported only on this path; single-sample runs stay numpy-free)
        result = {"value": sum(scores) / len(scores), "ci95": list(bootstrap_ci(scores))}
    result["tasks"] = len(scores)
    return result


def _proportion(successes: float, n: int) -> dict[str, Any]:
    value = successes / n if n else 0.0
    return {"value": value, "ci95": list(wilson_ci(successes, n))}


def _breakdown(facts: list[SampleFacts], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for f in facts:
        groups[str(f.meta.get(key))].append(f.correct)
    return {name: {"accuracy": sum(v) / len(v), "n": len(v)} for name, v in sorted(groups.items())}


def base_results(run_id: str, suite: str, provider: dict[str, Any], grader: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "suite": suite,
        "model": provider.get("model"),
        "base_url": provider.get("base_url"),
        "provider": provider.get("provider"),
        "grader": grader,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "evalharness_version": __version__,
    }
