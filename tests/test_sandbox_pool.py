"""The sandbox as a program runner: fresh state per run, scrubbed environment, capped output, concurrency,
and recovery when a worker dies."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from evalharness.sandbox import Limits, open_sandbox

LIMITS = Limits(timeout_s=5)


@pytest.fixture(scope="module")
def sandbox():
    os.environ["EVALHARNESS_TEST_SECRET"] = "sk-should-never-leak"
    try:
        sb = open_sandbox(workers=2)
    finally:
        del os.environ["EVALHARNESS_TEST_SECRET"]
    yield sb
    sb.close()


def test_environment_is_scrubbed(sandbox):
    result = sandbox.run("import os\nprint(sorted(os.environ.items()))", LIMITS)
    assert "sk-should-never-leak" not in result.stdout and "EVALHARNESS_TEST_SECRET" not in result.stdout


def test_each_run_gets_a_fresh_directory_and_module_state(sandbox):
    first = sandbox.run("import os, sys\nopen('left.txt', 'w').write('x')\nsys.modules['math'].leak = 1\n"
                        "print(os.getcwd())", LIMITS)
    assert first.exit_code == 0
    for _ in range(4):  # whichever worker runs it
        second = sandbox.run("import os, math\nprint(os.listdir('.'), hasattr(math, 'leak'), os.getcwd())", LIMITS)
        assert second.stdout.startswith("['main.py'] False ")
        assert second.stdout.split()[-1] != first.stdout.strip()


def test_runs_as_main_with_stdlib_imports_and_empty_stdin(sandbox):
    source = """
import pickle, sqlite3, xml.dom.minidom, decimal, sys
class Point:
    def __init__(self, x): self.x = x
assert __name__ == "__main__"
assert pickle.loads(pickle.dumps(Point(3))).x == 3
assert sys.stdin.read() == ""
print(sqlite3.connect(":memory:").execute("select 6 * 7").fetchone()[0])
"""
    result = sandbox.run(source, LIMITS)
    assert result.stdout == "42\n", result.stderr


def test_output_is_capped_head_and_tail(sandbox):
    result = sandbox.run("for i in range(200000):\n    print(i)", Limits(timeout_s=5, output_kb=4))
    assert result.exit_code == 0
    assert result.stdout.startswith("0\n1\n") and result.stdout_tail.endswith("199999\n")
    assert len(result.stdout) <= 4096 and len(result.stdout_tail) <= 4096
    assert result.stdout_bytes == sum(len(f"{i}\n") for i in range(200000))


def test_concurrent_runs_keep_their_own_results(sandbox):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: sandbox.run(f"print({i} * 3)", LIMITS), range(60)))
    assert [r.stdout for r in results] == [f"{i * 3}\n" for i in range(60)]


def test_a_killed_worker_is_replaced(sandbox):
    victims = list(sandbox.worker_pids())
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(r=sandbox.run("import time\ntime.sleep(3)", LIMITS)))
    thread.start()
    time.sleep(0.5)
    for pid in victims:  # one of them is running the program; kill both to be sure
        os.killpg(pid, signal.SIGKILL)
    thread.join()
    assert outcome["r"].error and "worker" in outcome["r"].error
    for _ in range(4):
        assert sandbox.run("print('alive')", LIMITS).stdout == "alive\n"
    assert not set(victims) & set(sandbox.worker_pids())


def test_program_that_breaks_os_exit_and_its_directory(sandbox):
    source = """
import os
os.makedirs('locked/inner')
open('locked/inner/f', 'w').write('x')
os.chmod('locked/inner', 0)
os.chmod('locked', 0)
os._exit = lambda code: None
print('done')
"""
    result = sandbox.run(source, LIMITS)
    assert result.exit_code == 0 and result.stdout == "done\n"
    for _ in range(4):
        assert sandbox.run("print('next')", LIMITS).stdout == "next\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs to expose a private interpreter to sandbox uids")
def test_private_interpreter_is_exposed_to_the_sandbox_uid():
    """A venv/pyenv interpreter under /root (mode 0700) still works: imports after the fork read the
    stdlib through a read-only bind inside the worker's mount namespace."""
    import sys

    from evalharness.sandbox.detect import _probe, world_readable

    interp = _probe(sys.executable)
    if interp is None or world_readable(interp.stdlib):
        pytest.skip("this interpreter is readable by everyone anyway")
    sb = open_sandbox(workers=1, python=sys.executable)
    try:
        assert sb.isolation == "full" and "python-rebound" in sb.layers, sb.describe()
        result = sb.run("import os, sys, csv, sqlite3, xml.dom.minidom, email.mime.text\n"
                        "print(os.getuid() != 0, sys.version.split()[0])", LIMITS)
        assert result.stdout == f"True {interp.version}\n", result.stderr
    finally:
        sb.close()


def test_nothing_survives_a_harness_killed_mid_run(tmp_path):
    """SIGKILL the harness while a program runs: the workers notice their pipe closing, kill the program
    and exit; no process of the workers' process groups or of the sandbox uids remains."""
    import subprocess
    import sys
    from pathlib import Path

    from evalharness.sandbox.pool import UID_BASE

    repo = Path(__file__).resolve().parents[1]
    script = ("import sys, time\nsys.path.insert(0, %r)\nfrom evalharness.sandbox import open_sandbox, Limits\n"
              "sb = open_sandbox(workers=2)\nprint(' '.join(map(str, sb.worker_pids())), flush=True)\n"
              "sb.run('import time\\ntime.sleep(60)', Limits(timeout_s=60))\n" % str(repo))
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in harness.stdout.readline().split()]
    time.sleep(0.5)  # the program is running now
    harness.kill()
    harness.wait()
    first_uid = UID_BASE + (harness.pid % 4096) * 64
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
        by_uid = [pid for pid in _pids() if os.geteuid() == 0 and first_uid <= _uid(pid) < first_uid + 64]
        if not alive and not by_uid:
            break
        time.sleep(0.05)
    assert not alive and not by_uid, (alive, by_uid)


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _uid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    except (OSError, StopIteration):
        return -1
