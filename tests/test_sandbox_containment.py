"""Hostile programs, one per test. Each must be contained: the harness (this process) and the sandbox
workers stay alive, files outside the sandbox are untouched, and nothing the program started is left.

Every test runs twice: with full isolation, and with seccomp switched off, to show that the namespaces,
uid separation and rlimits contain each program on their own (defence in depth), not only the filter."""

from __future__ import annotations

import os
import shutil
import socket
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from evalharness.sandbox import Limits, open_sandbox

REPO = Path(__file__).resolve().parents[1]
SHORT = Limits(timeout_s=2.0, memory_mb=512, file_mb=8)


def _ppid_map() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _uid_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def leftovers(sb) -> list[int]:
    """Processes that are neither a worker nor its namespace init: anything a program left behind.
    As root, also every process running under a sandbox uid anywhere on the machine."""
    parents = _ppid_map()
    workers = set(sb.worker_pids())
    inits = {pid for pid, ppid in parents.items() if ppid in workers}
    descendants = {pid for pid, ppid in parents.items() if ppid in inits}
    grown = True
    while grown:
        new = {pid for pid, ppid in parents.items() if ppid in descendants} - descendants
        descendants |= new
        grown = bool(new)
    uids = set(sb.sandbox_uids())
    by_uid = {pid for pid in parents if uids and _uid_of(pid) in uids}
    return sorted(descendants | by_uid)


@pytest.fixture(scope="module", params=["full", "without-seccomp"])
def sandbox(request):
    import evalharness.sandbox.pool as pool
    from evalharness.sandbox import detect

    with pytest.MonkeyPatch.context() as patch:
        if request.param == "without-seccomp":  # only the strongest configuration, minus the filter
            patch.setattr(pool, "candidate_configs",
                          lambda *a: [dict(c, seccomp=False) for c in detect.candidate_configs(*a)[:1]])
        sb = open_sandbox(workers=2)
    assert sb.isolation == ("full" if request.param == "full" else "partial"), sb.describe()
    yield sb
    sb.close()


@pytest.fixture
def outside(sandbox):
    """A world-writable directory outside the sandbox holding a world-writable file: only the sandbox
    (read-only mounts, uid separation) stands between it and a program."""
    folder = REPO / f".sandbox-target-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    target = folder / "precious.txt"
    target.write_text("original\n")
    os.chmod(target, 0o666)
    before = (target.read_bytes(), target.stat().st_mtime_ns, sorted(os.listdir(folder)))
    workers = sandbox.worker_pids()
    try:
        yield target
        assert target.exists(), "a file outside the sandbox was deleted"
        assert (target.read_bytes(), target.stat().st_mtime_ns, sorted(os.listdir(folder))) == before
        assert sandbox.worker_pids() == workers, "a sandbox worker died"
        assert leftovers(sandbox) == [], "processes left behind"
        assert sandbox.run("print(6 * 7)", SHORT).stdout == "42\n", "sandbox no longer works"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(sandbox, source: str, limits: Limits = SHORT):
    return sandbox.run(textwrap.dedent(source), limits)


def test_infinite_loop(sandbox, outside):
    result = run(sandbox, "while True:\n    pass\n", Limits(timeout_s=1.0))
    assert result.timed_out or result.signal
    assert result.wall_s < 5


def test_ten_gigabyte_allocation(sandbox, outside):
    result = run(sandbox, "data = bytearray(10 * 1024 ** 3)\nprint('allocated')\n")
    assert "allocated" not in result.stdout
    assert "MemoryError" in result.stderr_end or result.signal


def test_bounded_fork_bomb(sandbox, outside):
    # 2**6 processes, each in its own session so that killing the program's group would not reach them
    result = run(sandbox, """
        import os, time
        for _ in range(6):
            try:
                if os.fork() == 0:
                    os.setsid()
            except OSError:
                pass
        time.sleep(2)
        print("survived", os.getpid())
    """, Limits(timeout_s=1.0))
    assert "survived" not in result.stdout
    assert result.timed_out


def test_five_gigabyte_file(sandbox, outside):
    result = run(sandbox, """
        chunk = b"x" * (1 << 20)
        with open("big.bin", "wb") as f:
            for _ in range(5 * 1024):
                f.write(chunk)
        print("wrote 5 GB")
    """)
    assert "wrote 5 GB" not in result.stdout
    assert result.signal or "Error" in result.stderr_end


def test_hundred_megabytes_of_stdout(sandbox, outside):
    result = run(sandbox, "import sys\nfor _ in range(100):\n    sys.stdout.write('y' * (1 << 20))\n")
    assert result.stdout_bytes <= SHORT.file_mb * (1 << 20)
    assert len(result.stdout) + len(result.stdout_tail) <= 2 * Limits().output_kb * 1024
    assert result.exit_code != 0


def test_modify_and_delete_file_outside(sandbox, outside):
    result = run(sandbox, f"""
        import os, shutil
        path = {str(outside)!r}
        for attempt in (lambda: open(path, "a").write("pwned"), lambda: open(path, "w").write("pwned"),
                        lambda: os.chmod(path, 0o777), lambda: os.utime(path, None),
                        lambda: os.rename(path, path + ".moved"), lambda: os.remove(path),
                        lambda: open(os.path.join(os.path.dirname(path), "new"), "w"),
                        lambda: shutil.rmtree(os.path.dirname(path))):
            try:
                attempt()
                print("SUCCEEDED")
            except OSError as exc:
                print("blocked", type(exc).__name__)
    """)
    assert "SUCCEEDED" not in result.stdout
    assert result.stdout.count("blocked") == 8


def test_read_root_only_file(sandbox, outside):
    secret = uuid.uuid4().hex
    paths = ["/etc/shadow"]
    if os.geteuid() == 0:
        private = outside.with_name("root-only.txt")
        private.write_text(secret)
        os.chmod(private, 0o600)
        paths.append(str(private))
    try:
        result = run(sandbox, f"""
            for path in {paths!r}:
                try:
                    print(open(path).read())
                except OSError as exc:
                    print("denied", type(exc).__name__)
        """)
    finally:
        if os.geteuid() == 0:
            private.unlink()
    assert result.stdout.count("denied") == len(paths)
    assert secret not in result.stdout and "root:" not in result.stdout


def test_tcp_to_local_listener(sandbox, outside):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    result = run(sandbox, f"""
        import socket
        for family, kind, addr in ((socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", {port})),
                                   (socket.AF_INET6, socket.SOCK_STREAM, ("::1", {port})),
                                   (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", {port}))):
            try:
                s = socket.socket(family, kind)
                s.settimeout(1)
                s.connect(addr)
                s.send(b"exfiltrate")
                print("CONNECTED")
            except OSError as exc:
                print("blocked", type(exc).__name__)
    """)
    thread.join()
    listener.close()
    assert accepted == []
    assert "CONNECTED" not in result.stdout and result.stdout.count("blocked") == 3


def test_double_fork_daemon_outliving_timeout(sandbox, outside):
    marker = outside.with_name("daemon-was-here")
    result = run(sandbox, f"""
        import os, subprocess, time
        try:
            subprocess.Popen(["sleep", "30"], start_new_session=True)
        except OSError as exc:
            print("popen blocked", exc.errno)
        try:
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(3)
                    open({str(marker)!r}, "w").write("late")
                os._exit(0)
        except OSError as exc:
            print("fork blocked", exc.errno)
        time.sleep(10)
    """, Limits(timeout_s=1.0))
    assert result.timed_out
    assert leftovers(sandbox) == []
    assert not marker.exists()


def test_kill_the_parent(sandbox, outside):
    result = run(sandbox, f"""
        import os, signal
        for pid in (os.getppid(), {os.getpid()}, 1, -1):
            try:
                os.kill(pid, signal.SIGKILL)
                print("sent", pid)
            except OSError as exc:
                print("blocked", pid, type(exc).__name__)
    """)
    # the fixture checks that the harness and the workers survived; with seccomp the calls fail outright
    if "seccomp" in sandbox.layers:
        assert "sent" not in result.stdout and result.stdout.count("blocked") == 4


def test_early_exit_does_not_pass():
    from evalharness.graders.code.exec import CodeExec

    item = {"prompt": "def f(x):\n    \"\"\"Return x + 1.\"\"\"\n", "entry_point": "f",
            "test": "def check(candidate):\n    assert candidate(1) == 2\n"}
    grader = CodeExec(timeout_s=5, workers=1)
    try:
        for exit_call in ("sys.exit(0)", "os._exit(0)", "raise SystemExit"):
            response = f"```python\nimport os, sys\ndef f(x):\n    return 0\n{exit_call}\n```"
            grade = grader.grade_text(response, None, item)
            assert not grade.correct and grade.details["status"] == "error", (exit_call, grade.details)
        good = grader.grade_text("```python\ndef f(x):\n    return x + 1\n```", None, item)
        assert good.correct, good.details
    finally:
        grader.close()


def test_ipc_objects_that_would_outlive_the_program(sandbox, outside):
    host_before = Path("/proc/sysvipc/shm").read_text()
    result = run(sandbox, """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        shm = libc.shmget(0, 1 << 20, 0o1000 | 0o666)  # IPC_PRIVATE, IPC_CREAT
        mq = libc.mq_open(b"/evalharness-test", 0o100 | 2, 0o600, None)  # O_CREAT | O_RDWR
        print("shm", shm, "mq", mq)
    """)
    if "seccomp" in sandbox.layers:
        assert result.stdout == "shm -1 mq -1\n", result.stderr
    assert Path("/proc/sysvipc/shm").read_text() == host_before  # own IPC namespace either way
