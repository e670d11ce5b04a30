"""What a run cost: profile prices per million tokens give results.json's `cost`, the summary line, the
report and compare's difference; answers from the cache cost nothing and are counted as saved."""

import json
from pathlib import Path

import pytest

from conftest import run_cli
from test_run_http import GSM8K, gsm8k_replies


def test_cost_and_what_the_cache_saved(tmp_path, stub_server, shared_data):
    stub_server.configure({"replies": gsm8k_replies(10, set(range(10)))})
    profile = tmp_path / "priced.yaml"
    profile.write_text(f"base_url: {stub_server.base_url}\nmodel: phi-4-mini\n"
                       "price_prompt_per_mtok: 0.5\nprice_completion_per_mtok: 2.0\n")
    args = ["run", str(GSM8K), "--config", str(profile), "--limit", "10", "--cache", str(tmp_path / "c.sqlite"),
            "--output-dir", str(tmp_path / "runs"), "--no-progress"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    run_a = Path(first.stdout.strip().splitlines()[-1])
    results = json.loads((run_a / "results.json").read_text())
    tokens = results["tokens"]
    expected = tokens["prompt"] * 0.5 / 1e6 + tokens["completion"] * 2.0 / 1e6
    assert results["cost"]["total"] == pytest.approx(expected, abs=1e-6) and results["cost"]["saved_by_cache"] == 0
    assert f"cost {results['cost']['total']:.4f} USD" in first.stdout
    assert "cost</td>" in (run_a / "report.html").read_text()

    second = run_cli(*args)
    run_b = Path(second.stdout.strip().splitlines()[-1])
    again = json.loads((run_b / "results.json").read_text())
    assert again["cost"]["total"] == 0 and again["cost"]["saved_by_cache"] == pytest.approx(expected, abs=1e-6)
    compare = run_cli("compare", str(run_a), str(run_b), "--out", str(tmp_path / "cmp"))
    assert compare.returncode == 0 and f"{-results['cost']['total']:+.4f} USD" in compare.stdout
