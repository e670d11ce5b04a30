"""Ctrl-C at any moment stops a run promptly with a non-zero exit and keeps every result; a second Ctrl-C
quits at once. Nothing here waits a fixed time for the run to get somewhere: each signal is sent when the
run has reached the state under test, so a loaded machine changes how long the tests take, not whether
they pass."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, run_cli
from test_run_http import GSM8K

SLOW_GRADER = '''
import time
from pathlib import Path

from evalharness.graders import Exchange, Grade, Grader


class Slow(Grader):
    """Takes a minute per sample while slow.flag exists beside it: a grading thread stuck in a slow program."""

    name = "slow"
    blocking = True

    def grade(self, exchange: Exchange) -> Grade:
        if Path(__file__).with_name("slow.flag").exists():
            time.sleep(60)
        return Grade(exchange.text.endswith("18"), exchange.text[-2:])
'''


def slow_suite(tmp_path: Path) -> Path:
    (tmp_path / "slow.py").write_text(SLOW_GRADER)
    (tmp_path / "slow.flag").write_text("")
    suite = tmp_path / "s.yaml"
    suite.write_text(GSM8K.read_text().replace("grader: exact_match", f"grader: {tmp_path / 'slow.py'}:Slow"))
    return suite


def cached_answers(path: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # the run has not created the table yet
        return 0


def spawn(args: list[str], cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evalharness", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_until(predicate, proc, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None and not predicate():
        time.sleep(0.01)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_ctrl_c_while_grading_in_a_thread_stops_without_waiting_for_it(tmp_path, stub_server, shared_data):
    suite = slow_suite(tmp_path)
    stub_server.configure({"default_reply": "#### 18"})
    runs = tmp_path / "runs"
    proc = spawn(["run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--limit", "5",
                  "--output-dir", str(runs), "--cache", str(tmp_path / "c.sqlite"), "--no-report", "--no-progress"])
    # all five answers received and cached (not merely sent by the server): grading is what is left
    wait_until(lambda: (tmp_path / "c.sqlite").exists() and cached_answers(tmp_path / "c.sqlite") >= 5, proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=50)  # the grader threads would hold it 60 s
    assert time.monotonic() - sent < 50 and proc.returncode == 1, err
    assert "stopping (results so far are kept)" in err and "Traceback" not in err
    results = json.loads(next(runs.glob("*/results.json")).read_text())
    assert results["aborted"] == "interrupted by the user"
    assert cached_answers(tmp_path / "c.sqlite") == 5  # the answers were kept, though none was graded


def test_second_ctrl_c_quits_at_once_and_resume_loses_nothing(tmp_path, stub_server, shared_data):
    suite = slow_suite(tmp_path)
    stub_server.configure({"default_reply": "#### 18", "latency_s": 0.05})
    runs = tmp_path / "runs"
    args = ["run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--limit", "8", "--output-dir",
            str(runs), "--cache", str(tmp_path / "c.sqlite"), "--no-report", "--no-progress"]
    proc = spawn(args)
    wait_until(lambda: stub_server.stats()["answered"] >= 2, proc)
    proc.send_signal(signal.SIGINT)
    wait_until(lambda: "stopping" in "", proc, limit_s=0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=50)
    assert proc.returncode in (1, 130) and "Traceback" not in err
    sent, received = stub_server.settled()["answered"], cached_answers(tmp_path / "c.sqlite")
    (tmp_path / "slow.flag").unlink()
    run_dir = next(runs.iterdir())
    again = run_cli(*args, "--resume", str(run_dir))
    assert again.returncode == 0, again.stderr
    stats = stub_server.stats()
    assert stats["answered"] == 8 and stats["answered_twice"] == sent - received  # only answers never received
    results = json.loads((run_dir / "results.json").read_text())
    assert results["n"] == 8 and results["metrics"]["accuracy"]["value"] == 1.0 and lines(run_dir / "samples.jsonl") == 8


def test_ctrl_c_at_start_up_is_clean(tmp_path):
    proc = spawn(["run", str(GSM8K), "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--output-dir",
                  str(tmp_path / "runs"), "--no-cache"])
    proc.send_signal(signal.SIGINT)  # wherever it is in starting: imports, loading data, opening the run
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err


def test_ctrl_c_while_writing_the_report_is_clean(tmp_path):
    from reports_fixtures import make_run_dir, verdicts

    run_dir = make_run_dir(tmp_path, verdicts(3000, 0.7), fewshot=4)
    proc = spawn(["report", str(run_dir)])
    wait_until(lambda: (run_dir / "plots").exists(), proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130) and "Traceback" not in err  # 0 when the report was already written
    assert (run_dir / "results.json").is_file() and lines(run_dir / "samples.jsonl") == 3000
