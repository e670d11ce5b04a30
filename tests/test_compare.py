"""compare: paired tests on synthetic GSM8K-like runs, the regression gate, intersections, outputs."""

from __future__ import annotations

import re

import pytest

from evalharness.errors import UserError
from evalharness.reports import compare_runs
from evalharness.reports.compare import compare_sets, load_sets
from reports_fixtures import XSS_PAYLOADS, make_run_dir, verdicts


def _flip(base: list[bool], to_wrong: int, to_right: int) -> list[bool]:
    out = list(base)
    right = [i for i, v in enumerate(base) if v]
    wrong = [i for i, v in enumerate(base) if not v]
    for i in right[:to_wrong]:
        out[i] = False
    for i in wrong[:to_right]:
        out[i] = True
    return out


@pytest.fixture
def base(tmp_path):
    v = verdicts(400, 0.85, seed=4)
    return v, make_run_dir(tmp_path, v, seed=1)


def test_eight_points_worse_is_significant_and_fails_the_gate(tmp_path, base, capsys):
    v, a = base
    b = make_run_dir(tmp_path, _flip(v, 32, 0), seed=2)  # 32 of 400 = 8% fewer correct
    [c] = compare_sets(load_sets([a, b]))[0]
    assert (len(c.worse), len(c.better)) == (32, 0)
    assert c.delta == pytest.approx(-0.08) and c.test == "McNemar exact"
    assert c.p_value < 0.05 and c.ci95[1] < 0
    assert compare_runs([a, b], tmp_path / "cmp", fail_if_worse=True, alpha=0.05) == 1
    out = capsys.readouterr().out
    assert "WORSE" in out and "FAIL" in out and "-32 / +0" in out
    assert compare_runs([a, b], tmp_path / "cmp2", fail_if_worse=False, alpha=0.05) == 0


def test_eight_points_worse_with_churn_is_still_caught(tmp_path, base):
    v, a = base
    b = make_run_dir(tmp_path, _flip(v, 44, 12), seed=3)  # net -32 with flips both ways
    assert compare_runs([a, b], tmp_path / "cmp", fail_if_worse=True, alpha=0.05) == 1


def test_noise_on_a_few_items_raises_no_alarm(tmp_path, base, capsys):
    v, a = base
    b = make_run_dir(tmp_path, _flip(v, 3, 3), seed=5)
    [c] = compare_sets(load_sets([a, b]))[0]
    assert c.p_value == 1.0 and c.delta == 0
    assert compare_runs([a, b], tmp_path / "cmp", fail_if_worse=True, alpha=0.05) == 0
    b2 = make_run_dir(tmp_path / "x", _flip(v, 5, 1), seed=6)  # slightly worse, p = 0.22
    assert compare_runs([a, b2], tmp_path / "cmp2", fail_if_worse=True, alpha=0.05) == 0
    assert "no significant change" in capsys.readouterr().out


def test_better_later_run_passes_the_gate_and_third_run_is_checked(tmp_path, base):
    v, a = base
    better = make_run_dir(tmp_path, _flip(v, 0, 40), seed=7)
    worse = make_run_dir(tmp_path, _flip(v, 40, 0), seed=8)
    assert compare_runs([a, better], tmp_path / "c1", fail_if_worse=True, alpha=0.05) == 0
    assert compare_runs([a, better, worse], tmp_path / "c2", fail_if_worse=True, alpha=0.05) == 1


def test_different_item_sets_are_compared_on_the_intersection(tmp_path, capsys):
    a = make_run_dir(tmp_path, [True] * 50, ids=[f"q{i}" for i in range(50)], seed=1)
    b = make_run_dir(tmp_path, [True] * 40, ids=[f"q{i}" for i in range(10, 50)], seed=2)
    [c], notes = compare_sets(load_sets([a, b]))
    assert len(c.shared) == 40
    assert any("compared on the 40 shared items (A has 50, B has 40)" in n for n in notes)
    compare_runs([a, b], tmp_path / "cmp", fail_if_worse=False, alpha=0.05)
    assert "compared on the 40 shared items" in capsys.readouterr().out
    assert "compared on the 40 shared items" in (tmp_path / "cmp" / "compare.html").read_text()


def test_pass_at_k_uses_paired_bootstrap(tmp_path):
    a = make_run_dir(tmp_path, [[True, True, False, False]] * 60 + [[False] * 4] * 40, metrics=["pass@1", "pass@2"], seed=1)
    b = make_run_dir(tmp_path, [[True, False, False, False]] * 60 + [[False] * 4] * 40, metrics=["pass@1", "pass@2"], seed=2)
    comps, _ = compare_sets(load_sets([a, b]))
    assert [c.metric for c in comps] == ["pass@1", "pass@2"]
    assert all(c.test == "paired bootstrap" for c in comps)
    assert comps[0].delta == pytest.approx((0.25 - 0.5) * 0.6)
    assert comps[0].p_value < 0.01 and len(comps[0].worse) == 60
    assert compare_runs([a, b], tmp_path / "cmp", fail_if_worse=True, alpha=0.05) == 1


def test_compare_html_lists_and_links_flips_and_escapes_text(tmp_path, base):
    v, a = base
    b = make_run_dir(tmp_path, _flip(v, 6, 2), seed=9, response=lambda i, k, ok: XSS_PAYLOADS[i % 5])
    compare_runs([a, b], tmp_path / "cmp", fail_if_worse=False, alpha=0.05)
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert page.count('<details class="flip"') == 8
    assert 'href="#worse-0">−6</a>' in page and 'href="#better-0">+2</a>' in page
    assert 'id="worse-0"' in page and 'id="better-0"' in page
    for payload in XSS_PAYLOADS:
        assert payload not in page
    assert "<script" not in page  # compare.html needs no script at all
    assert sorted(p.name for p in (tmp_path / "cmp" / "plots").iterdir()) == ["deltas.png", "gsm8k-latency.png"]
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_folders_of_runs_compare_suite_by_suite(tmp_path):
    for name, acc in (("old", 0.8), ("new", 0.8)):
        make_run_dir(tmp_path / name, verdicts(100, acc, seed=1), suite="gsm8k", seed=1)
        make_run_dir(tmp_path / name, verdicts(80, acc, seed=2), suite="arc", seed=2)
    make_run_dir(tmp_path / "new", [True] * 5, suite="mbpp", seed=3)
    comps, notes = compare_sets(load_sets([tmp_path / "old", tmp_path / "new"]))
    assert sorted(c.suite for c in comps) == ["arc", "gsm8k"]
    assert any("mbpp: only in run B" in n for n in notes)


def test_bad_input_is_a_user_error(tmp_path, base):
    _, a = base
    with pytest.raises(UserError, match="at least two"):
        compare_runs([a], tmp_path / "c", fail_if_worse=False, alpha=0.05)
    with pytest.raises(UserError, match="alpha"):
        compare_runs([a, a], tmp_path / "c", fail_if_worse=False, alpha=5)
    with pytest.raises(UserError, match="no such run directory"):
        compare_runs([a, tmp_path / "missing"], tmp_path / "c", fail_if_worse=False, alpha=0.05)
    other = make_run_dir(tmp_path / "o", [True] * 3, ids=["x", "y", "z"])
    with pytest.raises(UserError, match="share no item ids"):
        compare_runs([a, other], tmp_path / "c", fail_if_worse=False, alpha=0.05)


def test_failed_requests_are_called_out(tmp_path, base, capsys):
    v, a = base
    b = make_run_dir(tmp_path, v, seed=2, errors={i: "HTTP 503 after 3 tries" for i in range(0, 400, 50)})
    compare_runs([a, b], tmp_path / "cmp", fail_if_worse=False, alpha=0.05)
    assert "run B has 8 failed request(s), counted as wrong answers" in capsys.readouterr().out


def test_importing_reports_is_cheap():
    import subprocess
    import sys

    code = "import sys, evalharness.reports, evalharness.stats; print(sorted({'matplotlib', 'numpy', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plain_words_summary(tmp_path, base):
    v, a = base
    worse = make_run_dir(tmp_path, _flip(v, 32, 0), seed=2)
    noisy = make_run_dir(tmp_path, _flip(v, 3, 3), seed=3)
    from evalharness.reports.compare_view import sentence

    bad, same = compare_sets(load_sets([a, worse, noisy]))[0]
    assert sentence(bad, 0.05) == ("gsm8k accuracy: run B scores 8.0 percentage points lower than run A (95% CI 5.3 to "
                                   "10.7) on 400 shared items; 32 item(s) got worse and 0 got better. This is unlikely "
                                   "to be chance (p < 0.001).")
    assert sentence(same, 0.05).endswith("This could well be chance (p = 1): no significant change.")
