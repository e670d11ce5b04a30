"""Statistics for results and comparisons.

Everything a run needs at its end (Wilson interval, percentiles, unbiased pass@k) is pure Python so that a
run never pays numpy/scipy import time; heavier tests (McNemar, bootstrap) import numpy/scipy inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

Z95 = 1.959963984540054


def wilson_ci(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; well-behaved at 0, 1 and small n (unlike Wald)."""
    if n <= 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of already sorted values; q in [0, 100]."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """mean, p50, p90, p99 of latencies in seconds (zeros when there are none)."""
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return {
        "mean": mean,
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
    }


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), for n samples, c correct."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


# --- Comparison statistics (numpy/scipy imported inside: only reports and `compare` pay for them) ---

BOOTSTRAP_DRAWS = 5000
_BOOTSTRAP_CHUNK = 4_000_000  # resampled values per chunk: bounds memory at ~32 MB whatever n is


def _resampled_means(values, n_boot: int, seed: int):
    """Means of `n_boot` resamples (with replacement) of a 1-D array, drawn in memory-bounded chunks.

    Resampling indices (not values) lets the paired bootstrap reuse the same draws for both runs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(values)
    per_chunk = max(1, _BOOTSTRAP_CHUNK // max(n, 1))
    out = np.empty(n_boot)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = values[idx].mean(axis=1)
    return out


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of `values` (e.g. per-task pass@k estimates).

    Used where Wilson does not apply (scores that are not 0/1). Seeded, so a report is reproducible."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return (0.0, 0.0)
    means = _resampled_means(arr, n_boot, seed)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return (float(lo), float(hi))


def stratified_bootstrap_ci(groups: Sequence[Sequence[float]], level: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS,
                            seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of group means (a macro average), resampling items
    within each group. A group of 0/1 scores is resampled exactly as a binomial draw (same distribution,
    no n x draws matrix), so 57 MMLU subjects cost milliseconds."""
    import numpy as np

    groups = [g for g in groups if len(g)]
    if not groups:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    total = np.zeros(n_boot)
    for i, values in enumerate(groups):
        arr = np.asarray(values, dtype=float)
        if np.all((arr == 0) | (arr == 1)):
            total += rng.binomial(arr.size, arr.mean(), n_boot) / arr.size
        else:
            total += _resampled_means(arr, n_boot, seed + 1 + i)
    total /= len(groups)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(total, [tail, 100 - tail])
    return (float(lo), float(hi))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs.

    `b` = items right in run A and wrong in run B, `c` = wrong in A and right in B. Under the null each
    discordant item is equally likely to go either way, so min(b, c) ~ Binomial(b + c, 1/2); p is twice the
    lower tail, capped at 1 (the convention of statsmodels' `mcnemar(exact=True)`). Concordant items carry
    no information about the difference and do not enter."""
    from scipy.stats import binom

    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(b, c), n, 0.5)))


@dataclass
class PairedDelta:
    """Mean of B minus mean of A over paired items, with a percentile-bootstrap interval and p-value."""

    delta: float
    ci95: tuple[float, float]
    p_value: float


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS, seed: int = 0,
    strata: Sequence[Any] | None = None,
) -> PairedDelta:
    """Paired bootstrap of mean(b) - mean(a): items are resampled together, so per-item difficulty cancels.

    With `strata` (e.g. each item's subset), the statistic is the mean over strata of the per-stratum mean
    difference (a macro average) and items are resampled within their stratum. The p-value is two-sided:
    twice the share of resampled deltas on the far side of zero from the observed delta, with the +1
    correction so it is never exactly 0 (a bootstrap cannot prove p = 0)."""
    import numpy as np

    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples differ in length: {xa.size} vs {xb.size}")
    if xa.size == 0:
        return PairedDelta(0.0, (0.0, 0.0), 1.0)
    diff = xb - xa
    groups = [diff] if strata is None else [diff[[i for i, s in enumerate(strata) if s == key]]
                                            for key in dict.fromkeys(strata)]
    delta = float(np.mean([g.mean() for g in groups]))
    if not diff.any():
        return PairedDelta(0.0, (0.0, 0.0), 1.0)
    means = np.mean([_resampled_means(g, n_boot, seed + k) for k, g in enumerate(groups)], axis=0)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    below = int((means <= 0).sum())
    above = int((means >= 0).sum())
    p = min(1.0, 2 * (min(below, above) + 1) / (n_boot + 1))
    return PairedDelta(delta, (float(lo), float(hi)), p)


def paired_proportion_ci(b: int, c: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wald interval for the difference of two paired proportions, (c - b) / n.

    Var = (b + c - (c - b)^2 / n) / n^2 (Agresti, Categorical Data Analysis, 10.1.1). Clipped to [-1, 1]."""
    if n <= 0:
        return (0.0, 0.0)
    d = (c - b) / n
    var = max(0.0, (b + c) - (c - b) ** 2 / n) / (n * n)
    half = z * math.sqrt(var)
    return (max(-1.0, d - half), min(1.0, d + half))
