"""Comparison statistics against closed forms and published reference numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalharness import stats


@pytest.mark.parametrize(
    "b, c, expected",
    [
        (0, 5, 2 / 32),  # 2 * P(X <= 0), X ~ Bin(5, 1/2)
        (1, 9, 2 * 11 / 1024),  # 2 * (1 + 10) / 2^10
        (3, 3, 1.0),  # balanced: capped at 1
        (0, 0, 1.0),  # no discordant pairs: no evidence
        (9, 1, 2 * 11 / 1024),  # symmetric in b and c
    ],
)
def test_mcnemar_exact_closed_forms(b, c, expected):
    assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_exact_matches_binomial_sum_for_larger_counts():
    b, c = 40, 8
    n = b + c
    tail = sum(math.comb(n, k) for k in range(0, c + 1)) / 2**n
    assert stats.mcnemar_exact(b, c) == pytest.approx(2 * tail, rel=1e-9)
    assert stats.mcnemar_exact(b, c) < 1e-5


def test_paired_proportion_ci_agresti_presidential_approval():
    # Agresti, Categorical Data Analysis (2nd ed.) Table 10.1: n=1600, 150 approve->disapprove, 86 the
    # reverse. Difference of marginal proportions 0.04 with 95% CI (0.021, 0.059), SE 0.0095.
    lo, hi = stats.paired_proportion_ci(b=86, c=150, n=1600)
    assert (round(lo, 3), round(hi, 3)) == (0.021, 0.059)
    lo, hi = stats.paired_proportion_ci(b=150, c=86, n=1600)
    assert (round(lo, 3), round(hi, 3)) == (-0.059, -0.021)


def test_bootstrap_ci_approaches_normal_interval_for_a_mean():
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=4000)
    half = stats.Z95 * x.std(ddof=1) / math.sqrt(x.size)
    lo, hi = stats.bootstrap_ci(x, n_boot=4000, seed=1)
    assert lo == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.1 * half)
    assert stats.bootstrap_ci(x, n_boot=500, seed=3) == stats.bootstrap_ci(x, n_boot=500, seed=3)


def test_bootstrap_ci_of_constant_and_empty():
    assert stats.bootstrap_ci([0.25] * 30) == (0.25, 0.25)
    assert stats.bootstrap_ci([]) == (0.0, 0.0)


def test_paired_bootstrap_matches_paired_normal_approximation():
    rng = np.random.default_rng(11)
    a = rng.random(3000)
    b = a + rng.normal(-0.02, 0.2, size=a.size)
    d = b - a
    half = stats.Z95 * d.std(ddof=1) / math.sqrt(d.size)
    res = stats.paired_bootstrap(a, b, n_boot=4000, seed=2)
    assert res.delta == pytest.approx(d.mean(), abs=1e-12)
    assert res.ci95[0] == pytest.approx(d.mean() - half, abs=0.12 * half)
    assert res.ci95[1] == pytest.approx(d.mean() + half, abs=0.12 * half)
    z = abs(d.mean()) / (d.std(ddof=1) / math.sqrt(d.size))
    from scipy.stats import norm

    assert res.p_value == pytest.approx(2 * norm.sf(z), abs=0.01)


def test_paired_bootstrap_edge_cases():
    same = stats.paired_bootstrap([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert (same.delta, same.ci95, same.p_value) == (0.0, (0.0, 0.0), 1.0)
    shift = stats.paired_bootstrap([0.0] * 50, [0.5] * 50, n_boot=999)
    assert shift.delta == 0.5 and shift.ci95 == (0.5, 0.5)
    assert shift.p_value == pytest.approx(2 / 1000)
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1, 2], [1])


@pytest.mark.parametrize("n, c, k, expected", [(10, 3, 1, 0.3), (5, 1, 2, 0.4), (5, 0, 3, 0.0), (4, 2, 3, 1.0)])
def test_pass_at_k_closed_forms(n, c, k, expected):
    # 1 - C(n-c, k) / C(n, k)
    assert stats.pass_at_k(n, c, k) == pytest.approx(expected)
    assert stats.pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
