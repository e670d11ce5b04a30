"""Every number about a run, computed in one place from its sample records: results.json, the report and
`compare` all call this module, so they cannot disagree.

Definitions (n = completions, an item has one or more completions):
- `accuracy`: correct completions / n (a failed request counts as wrong). `accuracy[G]`: the same with extra
  grader G's verdicts. `pass@k`: the mean over items with >= k completions of the unbiased estimator.
- 95% intervals: Wilson when every per-item score is 0 or 1 (one completion per item), else a seeded
  percentile bootstrap over items (per-item scores are then fractions; completions of one item are not
  independent).
- `breakdown.<field>.<value>`: `accuracy` (primary verdicts), `n` (completions), `items`, `ci95`.
- `unextracted`: completions whose request succeeded but in which the primary grader found no answer
  (extracted None): counted among the wrong answers, and shown apart so a format problem is not read as
  a knowledge problem.
- `choice_order` (suites with `shuffle_choices: N`, where sample p of an item is its p-th option order):
  accuracy per presentation and per gold letter, how often each letter was chosen, and the share of items
  right in every order (position bias shows as accuracy that follows the letter, not the item).
- Families (`subsets`): `breakdown.subset.<name>` per subset; `<metric>_micro` pools every item,
  `<metric>_macro` is the mean of the subsets' values (each subset weighs the same; its interval is a
  stratified bootstrap that resamples items within each subset); `<metric>` itself is the suite's
  `aggregate` (the one its model-card figure uses).

`Tally` takes records one at a time and keeps only per-item scores, so a 50,000-sample run never holds
its records in memory. Pure Python except the bootstrap paths, which import numpy.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from evalharness import stats
from evalharness.records import SampleRecord

_PASS_AT = re.compile(r"^pass@(\d+)$")
_METRIC = re.compile(r"^(?P<base>accuracy|pass@\d+)(?:\[(?P<grader>[^\]]+)\])?(?:_(?P<avg>macro|micro))?$")


@dataclass(frozen=True)
class MetricSpec:
    """Which numbers a run reports: its metrics, extra graders, breakdown fields and subsets."""

    metrics: tuple[str, ...] = ("accuracy",)
    extra_graders: tuple[str, ...] = ()
    breakdown: tuple[str, ...] = ()
    subsets: tuple[str, ...] = ()
    aggregate: str = "micro"
    presentations: int = 0  # shuffle_choices: an item's samples are its option orders

    @classmethod
    def from_results(cls, results: dict[str, Any]) -> "MetricSpec":
        """The spec a finished run used, read back from its results.json (older files included)."""
        names = list((results.get("metrics") or {}).keys()) or ["accuracy"]
        base = tuple(n for n in names if _METRIC.match(n) and not _METRIC.match(n).group("grader")
                     and not _METRIC.match(n).group("avg"))
        graders = tuple(dict.fromkeys(m.group("grader") for n in names if (m := _METRIC.match(n)) and m.group("grader")))
        family = results.get("family") or {}
        breakdown = tuple(k for k in (results.get("breakdown") or {}) if k != "subset" or not family)
        orders = results.get("choice_order") or {}
        return cls(metrics=base or ("accuracy",), extra_graders=graders, breakdown=breakdown,
                   subsets=tuple(family.get("subsets") or ()), aggregate=family.get("aggregate", "micro"),
                   presentations=int(orders.get("presentations") or 0))


@dataclass
class _ItemTally:
    subset: str | None
    meta: dict[str, Any]
    verdicts: list[bool] = field(default_factory=list)
    extra: dict[str, list[bool]] = field(default_factory=dict)


class Tally:
    """Accumulates records (`add`) and produces the results' numbers (`results`)."""

    def __init__(self, spec: MetricSpec):
        self.spec = spec
        self.items: dict[str, _ItemTally] = {}
        self.n = self.errors = self.cached = self.unextracted = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.latencies: list[float] = []
        self.orders = _OrderTally() if spec.presentations else None

    def add(self, record: SampleRecord) -> None:
        self.n += 1
        self.errors += bool(record.error)
        self.unextracted += record.extracted is None and not record.error
        if self.orders is not None:
            self.orders.add(record)
        self.cached += bool(record.cached)
        self.prompt_tokens += record.prompt_tokens or 0
        self.completion_tokens += record.completion_tokens or 0
        if record.latency_s is not None and not record.error:
            self.latencies.append(record.latency_s)
        item = self.items.get(record.id)
        if item is None:
            item = self.items[record.id] = _ItemTally(record.subset, record.meta)
        item.verdicts.append(record.grade_correct())
        for grader in self.spec.extra_graders:
            item.extra.setdefault(grader, []).append(record.grade_correct(grader))

    def add_all(self, records: Iterable[SampleRecord]) -> "Tally":
        for record in records:
            self.add(record)
        return self

    # ---- per-item scores --------------------------------------------------------------------------------

    def item_scores(self, metric: str = "accuracy") -> dict[str, float]:
        """Score of each item for `metric` (`accuracy`, `pass@k`, `accuracy[G]`, with `_macro`/`_micro`),
        in first-seen order; items with fewer than k completions are left out of pass@k."""
        match = _METRIC.match(metric)
        if match is None:
            raise ValueError(f"unknown metric {metric!r}")
        grader = match.group("grader")
        k = int(match.group("base")[5:]) if match.group("base").startswith("pass@") else 0
        scores: dict[str, float] = {}
        for item_id, item in self.items.items():
            verdicts = item.extra.get(grader, []) if grader else item.verdicts
            n, c = len(verdicts), sum(verdicts)
            if k:
                if n >= k:
                    scores[item_id] = stats.pass_at_k(n, c, k)
            elif n:
                scores[item_id] = c / n
        return scores

    def item_subsets(self) -> dict[str, str | None]:
        return {item_id: item.subset for item_id, item in self.items.items()}

    # ---- results ----------------------------------------------------------------------------------------

    def results(self) -> dict[str, Any]:
        """results.json's numbers: n, items, errors, cached, metrics, latency_s, tokens, breakdown."""
        out: dict[str, Any] = {
            "n": self.n,
            "items": len(self.items),
            "errors": self.errors,
            "unextracted": self.unextracted,
            "cached": self.cached,
            "metrics": {},
            "latency_s": stats.latency_summary(self.latencies),
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
        }
        for name in self.spec.metrics:
            out["metrics"][name] = self.metric(name)
            if self.spec.subsets:
                out["metrics"][f"{name}_macro"] = self.metric(f"{name}_macro")
                out["metrics"][f"{name}_micro"] = self.metric(f"{name}_micro")
        for grader in self.spec.extra_graders:
            out["metrics"][f"accuracy[{grader}]"] = self.metric(f"accuracy[{grader}]")
        breakdown = {key: self.breakdown(key) for key in self.spec.breakdown}
        if self.spec.subsets:
            breakdown["subset"] = self.breakdown("subset")
        if breakdown:
            out["breakdown"] = breakdown
        if self.orders is not None:
            out["choice_order"] = self.orders.results(self.spec.presentations, self.items.values())
        return out

    def metric(self, name: str) -> dict[str, Any]:
        """`{value, ci95}` (plus `tasks` for pass@k, `method` and `items`) for one metric name."""
        match = _METRIC.match(name)
        if match is None:
            raise ValueError(f"unknown metric {name!r}")
        average = match.group("avg") or (self.spec.aggregate if self.spec.subsets else "micro")
        plain = name.removesuffix("_macro").removesuffix("_micro")
        scores = self.item_scores(plain)
        if average == "macro" and self.spec.subsets:
            result = self._macro(scores)
        elif plain == "accuracy" or match.group("grader"):
            result = self._pooled(plain, scores)
        else:
            result = _mean_with_interval(list(scores.values()))
        if match.group("base").startswith("pass@"):
            result["tasks"] = len(scores)
        return result

    def _pooled(self, metric: str, scores: dict[str, float]) -> dict[str, Any]:
        """Accuracy over completions: correct / n, interval over items."""
        grader = _METRIC.match(metric).group("grader")
        verdicts = [v for item in self.items.values() for v in (item.extra.get(grader, []) if grader else item.verdicts)]
        value = sum(verdicts) / len(verdicts) if verdicts else 0.0
        result = _mean_with_interval(list(scores.values()))
        result["value"] = value
        return result

    def _macro(self, scores: dict[str, float]) -> dict[str, Any]:
        groups: dict[str, list[float]] = defaultdict(list)
        for item_id, score in scores.items():
            groups[str(self.items[item_id].subset)].append(score)
        if not groups:
            return {"value": 0.0, "ci95": [0.0, 0.0], "method": "stratified bootstrap", "items": 0}
        value = sum(sum(v) / len(v) for v in groups.values()) / len(groups)
        lo, hi = stats.stratified_bootstrap_ci(list(groups.values()))
        return {"value": value, "ci95": [lo, hi], "method": "stratified bootstrap", "items": len(scores),
                "subsets": len(groups)}

    def breakdown(self, key: str) -> dict[str, dict[str, Any]]:
        """Primary accuracy per value of item field `key` (the subset for `subset`), groups in natural order."""
        groups: dict[str, list[str]] = defaultdict(list)
        for item_id, item in self.items.items():
            value = item.subset if key == "subset" and item.subset is not None else item.meta.get(key)
            groups[str(value)].append(item_id)
        out = {}
        for name in sorted(groups, key=natural_key):
            members = [self.items[i] for i in groups[name]]
            verdicts = [v for m in members for v in m.verdicts]
            interval = _mean_with_interval([sum(m.verdicts) / len(m.verdicts) for m in members if m.verdicts])
            out[name] = {"accuracy": sum(verdicts) / len(verdicts) if verdicts else 0.0, "n": len(verdicts),
                         "items": len(members), "ci95": interval["ci95"]}
        return out


class _OrderTally:
    """Counts for `choice_order`: verdicts per presentation (the record's sample) and per gold letter, and
    the letters chosen."""

    def __init__(self) -> None:
        self.by_presentation: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self.by_gold: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.chosen: dict[str, int] = defaultdict(int)

    def add(self, record: SampleRecord) -> None:
        correct = record.grade_correct()
        gold = record.gold if isinstance(record.gold, str) else "several"
        for counts in (self.by_presentation[record.sample], self.by_gold[gold]):
            counts[0] += correct
            counts[1] += 1
        if not record.error:
            self.chosen[record.extracted if isinstance(record.extracted, str) else "none"] += 1

    def results(self, presentations: int, items: Iterable[_ItemTally]) -> dict[str, Any]:
        complete = [item for item in items if len(item.verdicts) >= presentations]
        return {
            "presentations": presentations,
            "accuracy_by_presentation": {str(p): c / n for p, (c, n) in sorted(self.by_presentation.items())},
            "accuracy_by_gold_letter": {g: c / n for g, (c, n) in sorted(self.by_gold.items())},
            "chosen_letters": dict(sorted(self.chosen.items())),
            "all_orders_correct": sum(all(i.verdicts) for i in complete) / len(complete) if complete else 0.0,
            "items_all_orders": len(complete),
        }


def average_of(metric: str, spec: MetricSpec) -> str:
    """`macro` or `micro`: how `metric`'s value averages a family's items (always micro otherwise)."""
    match = _METRIC.match(metric)
    if not spec.subsets or match is None:
        return "micro"
    return match.group("avg") or spec.aggregate


def macro_mean(scores: list[float], strata: list[Any]) -> float:
    """Mean over strata of each stratum's mean score."""
    groups: dict[Any, list[float]] = defaultdict(list)
    for score, stratum in zip(scores, strata):
        groups[stratum].append(score)
    return sum(sum(v) / len(v) for v in groups.values()) / len(groups) if groups else 0.0


def _mean_with_interval(values: list[float]) -> dict[str, Any]:
    """Mean of per-item scores with its 95% interval: Wilson for 0/1 scores, else a bootstrap."""
    if not values:
        return {"value": 0.0, "ci95": [0.0, 0.0], "method": "Wilson", "items": 0}
    value = sum(values) / len(values)
    if all(v == 0.0 or v == 1.0 for v in values):
        return {"value": value, "ci95": list(stats.wilson_ci(sum(values), len(values))), "method": "Wilson",
                "items": len(values)}
    return {"value": value, "ci95": list(stats.bootstrap_ci(values)), "method": "bootstrap", "items": len(values)}


def natural_key(text: str) -> tuple:
    """Sort key putting 'Level 2' before 'Level 10'."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", text))


def tally(records: Iterable[SampleRecord], spec: MetricSpec) -> Tally:
    return Tally(spec).add_all(records)
