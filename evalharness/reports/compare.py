"""`evalharness compare RUN_A RUN_B [RUN_C ...]`: paired comparison of later runs against the first.

Items are paired by (suite, id) and compared only on the items both runs have (the output says when the
item sets differ). Per suite and metric: delta = later - first with a 95% interval and a paired test:
- every per-item score 0/1 (accuracy, one sample): McNemar's exact test on the discordant items, delta
  interval from the paired-proportion Wald formula;
- otherwise (pass@k, several samples per item): paired bootstrap over items (delta interval and p-value).
Flips are the items that went right→wrong and wrong→right (for non-0/1 scores: score went down / up).
`--fail-if-worse`: exit code 1 when some later run is worse with p < alpha on a suite-level metric.
Families add one row per subset (shown, not gated: 57 MMLU subjects at alpha 0.05 would trip by chance) and
compare macro averages with a paired bootstrap stratified by subset.
Each argument may also be a folder of run directories (one per suite), compared suite by suite.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from evalharness import stats
from evalharness.errors import UserError
from evalharness.reports.rundir import Run, Sample, expand_run_dirs, load_run
from evalharness.metrics import average_of, macro_mean
from evalharness.reports.summary import is_binary, item_scores

MAX_FLIPS_SHOWN = 200  # per direction and comparison in compare.html; the table counts all of them


@dataclass
class Comparison:
    suite: str
    metric: str
    base: Run
    other: Run
    base_label: str
    other_label: str
    shared: list[str]
    base_value: float
    other_value: float
    delta: float
    ci95: tuple[float, float]
    p_value: float
    test: str
    worse: list[str] = field(default_factory=list)  # item ids right→wrong (or score down)
    better: list[str] = field(default_factory=list)  # item ids wrong→right (or score up)
    latency: dict[str, float] = field(default_factory=dict)  # base_p50, base_p90, other_p50, other_p90
    tokens: tuple[float, float] = (0.0, 0.0)  # mean completion tokens per sample: base, other
    subset: str | None = None  # a family's per-subset row (shown, but not part of --fail-if-worse)

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha and self.delta != 0

    def verdict(self, alpha: float) -> str:
        if not self.significant(alpha):
            return "no significant change"
        return "WORSE" if self.delta < 0 else "better"


@dataclass
class RunSet:
    label: str
    path: Path
    runs: dict[str, Run]  # suite -> run


def load_sets(paths: list[Path]) -> list[RunSet]:
    if len(paths) < 2:
        raise UserError("compare needs at least two run directories: evalharness compare RUN_A RUN_B")
    sets = []
    for i, path in enumerate(paths):
        runs: dict[str, Run] = {}
        for run_dir in expand_run_dirs([Path(path)]):
            run = load_run(run_dir)
            if run.suite in runs:
                raise UserError(f"{path}: holds two runs of suite {run.suite!r}; pass the run directories themselves")
            runs[run.suite] = run
        sets.append(RunSet(chr(ord("A") + i) if i < 26 else f"R{i}", Path(path), runs))
    return sets


def compare_sets(sets: list[RunSet]) -> tuple[list[Comparison], list[str]]:
    """Every later set against the first, suite by suite and metric by metric; plus notes for the reader."""
    base = sets[0]
    comparisons, notes = [], []
    for other in sets[1:]:
        for suite, base_run in base.runs.items():
            run = other.runs.get(suite)
            if run is None:
                notes.append(f"{suite}: not in run {other.label}, skipped")
                continue
            for metric in base_run.metric_names:
                if metric not in run.metric_names and not metric == "accuracy":
                    notes.append(f"{suite}: run {other.label} has no {metric}, skipped")
                    continue
                comparisons.append(compare_pair(base_run, run, metric, base.label, other.label, notes))
            for subset in base_run.spec.subsets:
                if subset in run.spec.subsets:
                    comparisons.append(compare_pair(base_run, run, "accuracy", base.label, other.label, notes,
                                                    subset=subset))
        for suite in other.runs.keys() - base.runs.keys():
            notes.append(f"{suite}: only in run {other.label}, nothing to compare against")
    return comparisons, notes


def compare_pair(base: Run, other: Run, metric: str, base_label: str, other_label: str, notes: list[str],
                 subset: str | None = None) -> Comparison:
    """One metric of one suite (or of one subset of a family), later run against the first, on shared items.
    A macro average (a family's `accuracy_macro`, or its headline when the suite averages by subset) is
    compared with a paired bootstrap stratified by subset, so each subset weighs what it weighs in the
    figure."""
    a_scores, b_scores = item_scores(base, metric), item_scores(other, metric)
    if subset is not None:
        in_subset = base.tally.item_subsets()
        a_scores = {i: v for i, v in a_scores.items() if in_subset.get(i) == subset}
    shared = [i for i in a_scores if i in b_scores]
    if len(shared) != len(a_scores) or len(shared) != len(b_scores):
        notes.append(f"{base.suite} {metric}: item sets differ, compared on the {len(shared)} shared items "
                     f"({base_label} has {len(a_scores)}, {other_label} has {len(b_scores)})")
    if not shared:
        raise UserError(f"{base.suite}: runs {base_label} and {other_label} share no item ids; are they the same suite?")
    for label, run in ((base_label, base), (other_label, other)):
        failed = run.tally.errors
        if failed and metric == base.metric_names[0]:
            notes.append(f"{run.suite}: run {label} has {failed} failed request(s), counted as wrong answers")
    a = [a_scores[i] for i in shared]
    b = [b_scores[i] for i in shared]
    worse = [i for i, x, y in zip(shared, a, b) if y < x]
    better = [i for i, x, y in zip(shared, a, b) if y > x]
    n = len(shared)
    base_value, other_value = sum(a) / n, sum(b) / n
    if subset is None and average_of(metric, base.spec) == "macro":
        subsets = base.tally.item_subsets()
        strata = [subsets.get(i) for i in shared]
        result = stats.paired_bootstrap(a, b, strata=strata)
        base_value, other_value = macro_mean(a, strata), macro_mean(b, strata)
        delta, ci, p, test = other_value - base_value, result.ci95, result.p_value, "stratified bootstrap"
    elif is_binary(a) and is_binary(b):
        delta = (len(better) - len(worse)) / n
        ci = stats.paired_proportion_ci(len(worse), len(better), n)
        p, test = stats.mcnemar_exact(len(worse), len(better)), "McNemar exact"
    else:
        result = stats.paired_bootstrap(a, b)
        delta, ci, p, test = result.delta, result.ci95, result.p_value, "paired bootstrap"
    keep = set(shared)
    suite = base.suite if subset is None else f"{base.suite}/{subset}"
    return Comparison(
        suite=suite, metric=metric, base=base, other=other, base_label=base_label, other_label=other_label,
        shared=shared, base_value=base_value, other_value=other_value, delta=delta, ci95=ci, p_value=p, test=test,
        worse=worse, better=better, latency=_latency(base, other, keep), tokens=(_tokens(base, keep), _tokens(other, keep)),
        subset=subset,
    )


def _latency(base: Run, other: Run, keep: set[str]) -> dict[str, float]:
    out = {}
    for name, run in (("base", base), ("other", other)):
        items = run.tally.items
        values = sorted(latency for i in keep if i in items for latency in items[i].latencies)
        out[f"{name}_p50"] = stats.percentile(values, 50)
        out[f"{name}_p90"] = stats.percentile(values, 90)
    return out


def _tokens(run: Run, keep: set[str]) -> float:
    items = [run.tally.items[i] for i in keep if i in run.tally.items]
    counted = sum(item.with_tokens for item in items)
    return sum(item.completion_tokens for item in items) / counted if counted else 0.0


def compare_runs(run_dirs: list[Path], out_dir: Path | None, fail_if_worse: bool, alpha: float) -> int:
    """Print the comparison table, write compare.html and plots, return the exit code."""
    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be between 0 and 1 (e.g. 0.05), got {alpha}")
    sets = load_sets([Path(p) for p in run_dirs])
    comparisons, notes = compare_sets(sets)
    if not comparisons:
        raise UserError("no suite appears in both the first run and a later one; nothing to compare")
    from evalharness.reports.compare_view import terminal_table, write_compare_html
    from evalharness.reports.report import default_out_dir

    print(terminal_table(sets, comparisons, notes, alpha))
    target = write_compare_html(sets, comparisons, notes, alpha, Path(out_dir) if out_dir else default_out_dir("compare"))
    print(f"\ncompare.html: {target}")
    worse = [c for c in comparisons if c.significant(alpha) and c.delta < 0 and c.subset is None]
    if fail_if_worse and worse:
        names = ", ".join(f"{c.suite} {c.metric} (run {c.other_label}, p={c.p_value:.3g})" for c in worse)
        print(f"FAIL: significantly worse than run {sets[0].label} at alpha={alpha}: {names}")
        return 1
    return 0


def relative_link(target: Path, start: Path) -> str | None:
    """Link from compare.html to a run's report.html (if one exists), usable from the same machine."""
    if not target.is_file():
        return None
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # different drives on Windows
        return target.resolve().as_uri()


def question(samples: list[Sample]) -> str:
    for m in reversed(samples[0].messages if samples else []):
        if isinstance(m, dict) and m.get("role") == "user":
            return str(m.get("content", ""))
    return ""
