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
- `failure_reasons`: why completions were wrong, counted by the primary grader's `details["reason"]` (a
  short category a grader may give, e.g. `wrong_value`; `request_failed` for a failed request,
  `unspecified` for a wrong verdict without one), most frequent first; `failure_reasons_by_subset` per
  subset in a family. Present only when some grader gave a reason.

- Over the endpoint's context (`error_kind: over_context`, see context_window.py): such samples are left
  out of every accuracy and of `errors` (they say nothing about the model), and counted in `over_context`
  with `context_limit` (the smallest limit the endpoint stated or truncated to; None if none did).
- Generated runs with a `grid` also get `long_context` (cells, accuracy by length, effective length,
  prefill speed), computed by `long_context.py` from this tally.

`Tally` takes records one at a time and keeps only per-item scores, so a 50,000-sample run never holds
its records in memory. Pure Python except the bootstrap paths, which import numpy.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from evalharness import stats
from evalharness.context_window import OVER_CONTEXT
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
    grid: GridSpec | None = None  # a generated run's length x depth grid (long_context)
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
                   grid=GridSpec.from_results(results.get("long_context")),
                   presentations=int(orders.get("presentations") or 0))


@dataclass(frozen=True)
class GridSpec:
    """A generated run's grid as metrics needs it: lengths (tokens), depths (percent), the threshold (a
    fraction) that defines the effective length."""

    lengths: tuple[int, ...]
    depths: tuple[float, ...]
    threshold: float = 0.856

    @classmethod
    def from_results(cls, section: Any) -> "GridSpec | None":
        if not isinstance(section, dict) or not section.get("lengths"):
            return None
        return cls(tuple(int(x) for x in section["lengths"]), tuple(float(x) for x in section.get("depths") or ()),
                   float(section.get("threshold", 0.856)))


@dataclass(slots=True)
class _ItemTally:
    subset: str | None
    meta: dict[str, Any]
    verdicts: list[bool] = field(default_factory=list)
    extra: dict[str, list[bool]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # of its answered samples (compare pairs items)
    completion_tokens: int = 0
    with_tokens: int = 0  # samples that reported completion tokens


class Tally:
    """Accumulates records (`add`) and produces the results' numbers (`results`)."""

    def __init__(self, spec: MetricSpec):
        self.spec = spec
        self.items: dict[str, _ItemTally] = {}
        self.n = self.errors = self.cached = self.unextracted = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.cached_prompt_tokens = self.cached_completion_tokens = 0
        self.latencies: list[float] = []
        self.reasons: dict[str | None, Counter] = defaultdict(Counter)  # subset -> failure reason -> count
        self.over_context_meta: list[dict[str, Any]] = []  # meta of samples over the endpoint's context
        self.timings: list[tuple[Any, int, float | None, float | None]] = []  # length, prompt tokens, ttft, latency
        self.orders = _OrderTally() if spec.presentations else None

    def add(self, record: SampleRecord) -> None:
        self.n += 1
        self.cached += bool(record.cached)
        self.prompt_tokens += record.prompt_tokens or 0
        self.completion_tokens += record.completion_tokens or 0
        if record.cached:
            self.cached_prompt_tokens += record.prompt_tokens or 0
            self.cached_completion_tokens += record.completion_tokens or 0
        if record.error_kind == OVER_CONTEXT:
            self.over_context_meta.append({**record.meta, "subset": record.subset})
            return
        self.errors += bool(record.error)
        self.unextracted += record.extracted is None and not record.error
        if self.orders is not None:
            self.orders.add(record)
        if record.latency_s is not None and not record.error:
            self.latencies.append(record.latency_s)
            if "length_tokens" in record.meta:
                self.timings.append((record.meta["length_tokens"], record.prompt_tokens or 0, record.ttft_s,
                                     record.latency_s))
        item = self.items.get(record.id)
        if item is None:
            item = self.items[record.id] = _ItemTally(record.subset, record.meta)
        item.verdicts.append(record.grade_correct())
        if record.latency_s is not None and not record.error:
            item.latencies.append(record.latency_s)
        if record.completion_tokens is not None:
            item.completion_tokens += record.completion_tokens
            item.with_tokens += 1
        if not record.grade_correct():
            self.reasons[record.subset][failure_reason(record)] += 1
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
            "over_context": len(self.over_context_meta),
            "context_limit": self.context_limit(),
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
        reasons = self.failure_reasons()
        if reasons:
            out["failure_reasons"] = reasons
            if self.spec.subsets:
                out["failure_reasons_by_subset"] = {name: self.failure_reasons(name) for name in self.spec.subsets}
        if self.spec.grid is not None:
            from evalharness.long_context import summarize

            out["long_context"] = summarize(self)
        if self.orders is not None:
            out["choice_order"] = self.orders.results(self.spec.presentations, self.items.values())
        return out

    def context_limit(self) -> int | None:
        """The smallest context limit an over-context sample's endpoint stated (or truncated to)."""
        limits = [m["context_limit"] for m in self.over_context_meta if isinstance(m.get("context_limit"), int)]
        return min(limits) if limits else None

    def cost(self, prompt_per_mtok: float | None, completion_per_mtok: float | None,
             currency: str = "USD") -> dict[str, Any] | None:
        """What the run's tokens cost at the endpoint's prices (per million tokens), and what the answers
        served from the cache would have cost again (`saved_by_cache`). None when no price is known."""
        if prompt_per_mtok is None and completion_per_mtok is None:
            return None
        p, c = (prompt_per_mtok or 0.0) / 1e6, (completion_per_mtok or 0.0) / 1e6
        paid_prompt = self.prompt_tokens - self.cached_prompt_tokens
        paid_completion = self.completion_tokens - self.cached_completion_tokens
        return {"currency": currency, "prompt": round(paid_prompt * p, 6), "completion": round(paid_completion * c, 6),
                "total": round(paid_prompt * p + paid_completion * c, 6),
                "saved_by_cache": round(self.cached_prompt_tokens * p + self.cached_completion_tokens * c, 6),
                "price_per_mtok": {"prompt": prompt_per_mtok, "completion": completion_per_mtok}}

    def failure_reasons(self, subset: str | None = None) -> dict[str, int]:
        """Wrong completions by reason (all, or one subset's), most frequent first; {} when no grader gave
        reasons."""
        if not any(reason not in (REQUEST_FAILED, UNSPECIFIED) for c in self.reasons.values() for reason in c):
            return {}
        counts = sum(self.reasons.values(), Counter()) if subset is None else self.reasons.get(subset, Counter())
        return dict(counts.most_common())

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


REQUEST_FAILED, UNSPECIFIED = "request_failed", "unspecified"


def failure_reason(record: SampleRecord) -> str:
    """Why a wrong completion is wrong: the primary grader's `details["reason"]` (graders that can tell
    set it; the primary grader's entry is the first of `grades`), `request_failed` for a failed request."""
    if record.error:
        return REQUEST_FAILED
    primary = next(iter(record.grades.values()), None) if record.grades else None
    details = primary.get("details") if isinstance(primary, dict) else None
    reason = details.get("reason") if isinstance(details, dict) else None
    return str(reason) if reason else UNSPECIFIED


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
