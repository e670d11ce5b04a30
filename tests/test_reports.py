"""report: loading run directories, summaries, and the written report.html/plots (no browser here)."""

from __future__ import annotations

import json
import re

import pytest

from evalharness.errors import UserError
from evalharness.reports import write_report
from evalharness.reports.rundir import load_run, load_runs
from evalharness.reports.summary import item_scores, summarize
from reports_fixtures import XSS_PAYLOADS, make_run_dir, verdicts


def test_missing_dir_missing_results_and_corrupt_jsonl_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such run directory"):
        write_report([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no results.json"):
        write_report([empty])
    run = make_run_dir(tmp_path, verdicts(5, 0.6))
    with (run / "samples.jsonl").open("a") as fh:
        fh.write('{"id": "q1", "sample": \n')
    with pytest.raises(UserError) as err:
        load_run(run)
    assert "samples.jsonl:6: corrupt sample record" in str(err.value)
    assert "\n" not in str(err.value)
    (run / "results.json").write_text("{not json")
    with pytest.raises(UserError, match="results.json: not valid JSON"):
        load_run(run)


def test_folder_of_runs_expands_and_resumed_duplicates_keep_last_line(tmp_path):
    a = make_run_dir(tmp_path / "runs", [True, False, True], suite="gsm8k")
    make_run_dir(tmp_path / "runs", [False, False], suite="arc")
    lines = (a / "samples.jsonl").read_text().splitlines()
    row = json.loads(next(line for line in lines if '"q00001"' in line))
    row["correct"] = True
    with (a / "samples.jsonl").open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    runs = load_runs([tmp_path / "runs"])
    assert sorted(r.suite for r in runs) == ["arc", "gsm8k"]
    gsm = next(r for r in runs if r.suite == "gsm8k")
    assert len(gsm.samples) == 3
    assert summarize(gsm).primary.value == 1.0


def test_summary_accuracy_ci_breakdown_and_counts(tmp_path):
    run = make_run_dir(tmp_path, verdicts(200, 0.75), meta=lambda i: {"level": f"Level {i % 4 + 1}"},
                       errors={0: "HTTP 503 after 3 tries", 1: "HTTP 429 after 3 tries"})
    s = summarize(load_run(run))
    n_ok = sum(x.correct for x in load_run(run).samples)
    assert s.primary.value == n_ok / 200 and s.primary.method == "Wilson"
    from evalharness.stats import wilson_ci

    assert s.primary.ci95 == wilson_ci(n_ok, 200)
    assert [r.group for r in s.breakdowns["level"]] == ["Level 1", "Level 2", "Level 3", "Level 4"]
    assert sum(r.n for r in s.breakdowns["level"]) == 200
    assert s.counts["errors"] == 2 and s.error_kinds == [("HTTP N after N tries", 2)]
    assert s.counts["retries"] >= 4
    assert len(s.latencies) == 198 and s.latency["p50"] <= s.latency["p90"] <= s.latency["p99"]


def test_pass_at_k_per_item_uses_unbiased_estimator(tmp_path):
    # item 0: 2 of 5 right; item 1: 0 of 5; item 2: 5 of 5
    per_item = [[True, True, False, False, False], [False] * 5, [True] * 5]
    run = load_run(make_run_dir(tmp_path, per_item, metrics=["pass@1", "pass@2"]))
    assert item_scores(run, "pass@1") == pytest.approx({"q00000": 0.4, "q00001": 0.0, "q00002": 1.0})
    assert item_scores(run, "pass@2")["q00000"] == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    s = summarize(run)
    assert [m.name for m in s.metrics] == ["pass@1", "pass@2"]
    assert s.metrics[0].method == "bootstrap" and s.metrics[0].value == pytest.approx(1.4 / 3)


def _script_json(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    assert match
    assert "<" not in match.group(1) and ">" not in match.group(1)
    return json.loads(match.group(1))


def test_report_html_is_self_contained_and_escapes_hostile_text(tmp_path):
    run = make_run_dir(
        tmp_path, verdicts(60, 0.5), meta=lambda i: {"task": XSS_PAYLOADS[i % 2]},
        response=lambda i, k, ok: XSS_PAYLOADS[i % len(XSS_PAYLOADS)],
        prompt=lambda i: "Q " + XSS_PAYLOADS[(i + 1) % len(XSS_PAYLOADS)],
        gold=lambda i: XSS_PAYLOADS[(i + 2) % len(XSS_PAYLOADS)], fewshot=3,
    )
    path = write_report([run])
    assert path == run / "report.html"
    page = path.read_text()
    for payload in XSS_PAYLOADS:
        assert payload not in page
    markup = re.sub(r'<script type="application/json" id="explorer-data">.*?</script>', "", page, flags=re.S)
    for tag in ("<img src=x", "<svg", "<a href=\"javascript", "</textarea>"):
        assert tag not in markup  # outside the JSON data block, payloads exist only html-escaped
    assert "&lt;img src=x onerror=&quot;" in markup  # e.g. the task breakdown table shows it as text
    assert 'http-equiv="Content-Security-Policy"' in page and "default-src 'none'" in page
    assert "script-src 'sha256-" in page and "unsafe-inline'; base" not in page  # only the explorer may run
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing remote
    assert page.count("<script") == 2  # the JSON block and the explorer, nothing injected
    data = _script_json(page)
    assert len(data["rows"]) == 60
    assert XSS_PAYLOADS[0] in data["texts"]  # the text survives intact, as data
    assert len(data["texts"]) < 60 + 60 + 10  # the shared system/few-shot turns are stored once
    plots = sorted(p.name for p in (run / "plots").iterdir())
    assert plots == ["gsm8k-by-task.png", "gsm8k-errors.png", "gsm8k-latency-cdf.png", "gsm8k-latency-histogram.png",
                     "gsm8k-length.png", "gsm8k-throughput.png"]
    assert all((run / "plots" / p).read_bytes().startswith(b"\x89PNG") for p in plots)
    assert page.count("data:image/png;base64,") == len(plots)


def test_report_of_several_runs_goes_to_a_timestamped_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = make_run_dir(tmp_path / "runs", verdicts(30, 0.5), seed=1)
    b = make_run_dir(tmp_path / "runs", verdicts(30, 0.7), seed=2)
    path = write_report([a, b])
    assert path.resolve().parent.parent == (tmp_path / "reports").resolve()
    assert path.parent.name.startswith("report-")
    page = path.read_text()
    assert a.name in page and b.name in page
    assert (path.parent / "plots" / "overview-scores.png").is_file()
    assert _script_json(page)["runs"] == [a.name, b.name]
    out = write_report([a, b], tmp_path / "custom")
    assert out == tmp_path / "custom" / "report.html"


def test_long_texts_are_truncated_in_the_explorer_but_noted(tmp_path):
    run = make_run_dir(tmp_path, [True, False], response=lambda i, k, ok: "y" * 50_000)
    data = _script_json(write_report([run]).read_text())
    text = data["texts"][data["rows"][0][9]]
    assert len(text) < 21_000 and "more characters in samples.jsonl" in text


def test_perfect_and_zero_scores_plot_without_error(tmp_path):
    # Wilson bounds at 0 and 1 come back a hair inside [0, 1]; error bars must still be drawable
    for name, v in (("all", [True] * 80), ("none", [False] * 80)):
        run = make_run_dir(tmp_path / name, v, meta=lambda i: {"level": str(i % 3)})
        assert write_report([run]).is_file()


def test_run_aborted_before_any_sample_still_reports(tmp_path):
    run = make_run_dir(tmp_path, [True])
    (run / "samples.jsonl").write_text("")
    results = json.loads((run / "results.json").read_text())
    results["aborted"] = "endpoint rejected the API key (HTTP 401)"
    (run / "results.json").write_text(json.dumps(results))
    page = write_report([run]).read_text()
    assert "aborted: endpoint rejected the API key (HTTP 401)" in page
    assert _script_json(page)["rows"] == []
