"""`evalharness card` against the stub server: every row whose suite exists is run and filled (card figure,
ours with its interval, difference, verdict), missing suites are rows marked "not run", card.json and
card.html are written in the directory printed last, and the runs are ordinary run directories."""

import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli
from evalharness.card import CONSISTENT, HIGHER, LOWER, load_card, suite_path, verdict
from mc_replies import oracle

CARD = REPO / "configs" / "cards" / "phi-4-mini-instruct.yaml"


def card_cli(tmp_path, server, *extra):
    return run_cli("card", "--base-url", server.base_url, "--model", "phi-4-mini", "--no-progress",
                   "--cache", str(tmp_path / "cache.sqlite"), "--output-dir", str(tmp_path / "cards"), *extra,
                   timeout=600)


def outputs(proc) -> tuple[Path, list[dict]]:
    directory = Path(proc.stdout.strip().splitlines()[-1])
    return directory, json.loads((directory / "card.json").read_text())


def test_the_shipped_card_file():
    card = load_card(CARD)
    assert card.model == "microsoft/Phi-4-mini-instruct"
    assert "huggingface.co/microsoft/Phi-4-mini-instruct" in card.source
    figures = {row.benchmark: row.score for row in card.rows}
    assert figures["BIG-Bench Hard"] == 70.4 and figures["MMLU"] == 67.3 and figures["ARC-Challenge"] == 83.7
    assert figures["GSM8K"] == 88.6 and figures["MATH"] == 64.0 and len(figures) == 15
    for row in card.rows:  # every suite a row names loads, or does not exist yet (BBH, MGSM: another branch)
        path = suite_path(row.suite)
        assert path is not None or Path(row.suite).stem in ("bbh", "mgsm"), row.suite


def test_verdict_by_the_interval():
    assert verdict(83.7, 80.0, 86.0) == CONSISTENT
    assert verdict(83.7, 70.0, 80.0) == LOWER
    assert verdict(50.0, 60.0, 70.0) == HIGHER


def test_card_fills_every_row_whose_suite_exists(tmp_path, stub_server, shared_data):
    arc = oracle(REPO / "suites" / "arc_challenge.yaml", 2, right=lambda i: i == 0)
    mmlu = oracle(REPO / "suites" / "mmlu.yaml", 2, right=lambda i: i % 3 == 0)
    stub_server.configure({"replies": {**arc.replies, **mmlu.replies}, "default_reply": "The answer is (A)."})
    proc = card_cli(tmp_path, stub_server, "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    directory, rows = outputs(proc)
    assert isinstance(rows, list) and len(rows) == 15
    for row in rows:
        exists = suite_path(row["suite"]) is not None
        if not exists:
            assert row["status"] == "not run" and "not found" in row["reason"] and row["measured"] is None
            continue
        assert row["status"] == "run", row
        for key in ("card", "measured", "ci95", "difference", "verdict", "items", "run_dir"):
            assert row[key] is not None, (row["benchmark"], key)
        assert row["ci95"][0] <= row["measured"] <= row["ci95"][1]
        assert row["difference"] == pytest.approx(row["measured"] - row["card"], abs=0.011)
        assert row["verdict"] in (CONSISTENT, LOWER, HIGHER)
        run_dir = Path(row["run_dir"])
        assert run_dir.parent == directory / "runs" and (run_dir / "samples.jsonl").is_file()
    by_key = {row["key"]: row for row in rows}
    assert by_key["arc_challenge"]["measured"] == round(arc.accuracy() * 100, 2) == 50.0
    assert by_key["mmlu"]["measured"] == round(mmlu.accuracy() * 100, 2) and by_key["mmlu"]["average"] == "micro"
    assert by_key["mmlu"]["items"] == 114
    assert (directory / "card.html").is_file() and (directory / "plots" / "card.png").is_file()
    table = proc.stdout
    assert "ARC-Challenge" in table and "83.7" in table and "95% CI" in table
    for row in rows:
        assert row["benchmark"] in table

    again = card_cli(tmp_path, stub_server, "--limit", "2", "--suites", "arc_challenge,mmlu")
    assert again.returncode == 0, again.stderr
    _, second = outputs(again)
    assert [r["key"] for r in second] == ["mmlu", "arc_challenge"]
    assert all(json.loads((Path(r["run_dir"]) / "results.json").read_text())["cached"] == r["n"] for r in second)
    compared = run_cli("compare", by_key["arc_challenge"]["run_dir"], second[1]["run_dir"])
    assert compared.returncode == 0, compared.stderr


def write_card(tmp_path, rows) -> Path:
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump({"model": "example/model", "source": "test card", "published": "2025-02",
                                    "rows": rows}))
    return path


def test_verdicts_missing_suites_and_swaps(tmp_path, stub_server, shared_data):
    arc = str(REPO / "suites" / "arc_challenge.yaml")
    card = write_card(tmp_path, [
        {"benchmark": "ARC as published", "setting": "10-shot", "score": 83.7, "suite": arc, "key": "arc"},
        {"benchmark": "ARC, low card", "setting": "10-shot", "score": 10.0, "suite": arc, "key": "arc_low"},
        {"benchmark": "Not written yet", "setting": "0-shot", "score": 50.0, "suite": "suites/nothing_here.yaml"},
        {"benchmark": "Swapped", "setting": "0-shot", "score": 60.0, "suite": "suites/nothing_either.yaml",
         "key": "swapped"},
    ])
    truth = oracle(REPO / "suites" / "arc_challenge.yaml", 12, right=lambda i: True)
    stub_server.configure({"replies": truth.replies})
    proc = card_cli(tmp_path, stub_server, "--card", str(card), "--limit", "12", "--no-cache",
                    "--set-suite", f"swapped={arc}")
    assert proc.returncode == 0, proc.stderr
    _, rows = outputs(proc)
    assert [r["measured"] for r in rows] == [100.0, 100.0, None, 100.0]
    assert rows[0]["verdict"] == CONSISTENT  # 12 of 12: the interval reaches down past 83.7
    assert rows[1]["verdict"] == HIGHER
    assert rows[2]["status"] == "not run" and "suites/nothing_here.yaml not found" in rows[2]["reason"]
    assert "not run: suite file suites/nothing_here.yaml not found" in proc.stdout
    assert rows[3]["suite"] == arc and rows[3]["status"] == "run"

    stub_server.configure({"default_reply": "I cannot tell."})
    proc = card_cli(tmp_path, stub_server, "--card", str(card), "--limit", "12", "--no-cache", "--suites", "arc")
    _, rows = outputs(proc)
    assert rows[0]["measured"] == 0.0 and rows[0]["verdict"] == LOWER and rows[0]["unextracted"] == 12
    assert "note: ARC as published: no answer found in 12 of 12 responses" in proc.stdout

    bad = card_cli(tmp_path, stub_server, "--card", str(card), "--suites", "nope")
    assert bad.returncode == 1 and "no card row 'nope'; rows are arc, arc_low, nothing_here, swapped" in bad.stderr


def test_fatal_endpoint_error_keeps_the_card(tmp_path, stub_server, shared_data):
    arc = str(REPO / "suites" / "arc_challenge.yaml")
    card = write_card(tmp_path, [
        {"benchmark": "ARC", "setting": "10-shot", "score": 83.7, "suite": arc, "key": "arc"},
        {"benchmark": "ARC again", "setting": "10-shot", "score": 83.7, "suite": arc, "key": "arc2"},
    ])
    stub_server.configure({"always_status": 401})
    proc = card_cli(tmp_path, stub_server, "--card", str(card), "--limit", "3", "--no-cache")
    assert proc.returncode == 1 and "401" in proc.stderr and "Traceback" not in proc.stderr
    directory, rows = outputs(proc)
    assert rows[0]["status"] == "failed" and rows[1]["status"] == "not run"
    assert "earlier row" in rows[1]["reason"]
    page = (directory / "card.html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page and "ARC again" in page


def test_card_html_escapes_what_it_shows(tmp_path, stub_server, shared_data):
    arc = str(REPO / "suites" / "arc_challenge.yaml")
    card = write_card(tmp_path, [{"benchmark": "<img src=x onerror=alert(1)>", "setting": "<b>10</b>",
                                  "score": 50.0, "suite": arc, "note": "</td><script>alert(2)</script>"}])
    stub_server.configure({"default_reply": "Answer: A"})
    proc = card_cli(tmp_path, stub_server, "--card", str(card), "--limit", "2", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    page = (outputs(proc)[0] / "card.html").read_text()
    assert "<img src=x" not in page and "<script>" not in page and "&lt;img src=x" in page


def test_a_row_whose_metric_the_run_lacks_is_a_failed_row(tmp_path, stub_server, shared_data):
    arc = str(REPO / "suites" / "arc_challenge.yaml")
    card = write_card(tmp_path, [{"benchmark": "ARC pass@1", "setting": "0-shot", "score": 80.0, "suite": arc,
                                  "metric": "pass@1"}])
    stub_server.configure({"default_reply": "Answer: A"})
    proc = card_cli(tmp_path, stub_server, "--card", str(card), "--limit", "2", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    _, rows = outputs(proc)
    assert rows[0]["status"] == "failed" and "no metric 'pass@1'" in rows[0]["reason"]
    assert "failed: the run has no metric 'pass@1'" in proc.stdout
