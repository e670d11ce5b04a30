"""End to end on real run directories: `evalharness run` (stub server on 127.0.0.1) writes report.html, then
`evalharness compare --fail-if-worse` gates a worse run and lets a noisy one pass."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli
from test_run_http import GSM8K, gsm8k_replies
from reports_fixtures import XSS_PAYLOADS

N = 100


def _run(tmp_path: Path, server, name: str, correct: set[int], report: bool = False) -> Path:
    replies = gsm8k_replies(N, correct)
    first = next(iter(replies))
    replies[first] = XSS_PAYLOADS[1] + "\n" + replies[first]  # hostile text in a real record
    server.configure({"latency_s": 0.002, "replies": replies})
    args = ["run", str(GSM8K), "--base-url", server.base_url, "--model", "phi-4-mini", "--limit", str(N),
            "--concurrency", "8", "--output-dir", str(tmp_path / name), "--cache", str(tmp_path / f"{name}.sqlite")]
    proc = run_cli(*args, *([] if report else ["--no-report"]))
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_run_report_and_compare_gate_on_real_run_dirs(tmp_path, stub_server, shared_data):
    base = set(range(N)) - set(range(0, N, 10))  # 90 of 100 right
    a = _run(tmp_path, stub_server, "a", base, report=True)
    page = (a / "report.html").read_text()
    assert json.loads((a / "results.json").read_text())["metrics"]["accuracy"]["value"] == 0.9
    assert "90.0%" in page and XSS_PAYLOADS[1] not in page
    assert (a / "plots" / "gsm8k-latency-cdf.png").is_file()

    worse = _run(tmp_path, stub_server, "b", base - set(range(1, 30, 2)))  # 15 right -> wrong
    proc = run_cli("compare", str(a), str(worse), "--fail-if-worse", "--out", str(tmp_path / "cmp"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "WORSE" in proc.stdout and "-15 / +0" in proc.stdout
    assert (tmp_path / "cmp" / "compare.html").is_file()

    noisy = _run(tmp_path, stub_server, "c", (base - {1, 3}) | {0, 10})  # two flips each way
    proc = run_cli("compare", str(a), str(noisy), "--fail-if-worse", "--out", str(tmp_path / "cmp2"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no significant change" in proc.stdout

    proc = run_cli("report", str(a), str(worse), "--out", str(tmp_path / "both"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "both" / "report.html").is_file()
    proc = run_cli("compare", str(a), str(tmp_path / "missing"))
    assert proc.returncode != 0 and "no such run directory" in proc.stderr
