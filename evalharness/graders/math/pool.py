"""A pool of sympy worker processes with a per-comparison timeout, usable from any thread.

Why processes and not SIGALRM: signals only reach the main thread, and the runner grades from worker
threads; a sympy call also cannot be interrupted from inside. So each comparison goes to a worker
(`python -m evalharness.graders.math.worker`, talking JSON lines over pipes) and the caller waits on the
pipe with `select` until its deadline. A worker that overruns is killed and replaced in the background;
the caller gets `None` (no verdict) at once. Workers cap their own memory (RLIMIT_AS) and exit when their
stdin closes, so they never outlive the parent; `close()` (also run at interpreter exit) ends them. They run
in their own session: a terminal Ctrl-C goes to the foreground process group, and the parent, not a
KeyboardInterrupt in the middle of a comparison, decides when they stop.

Callers take an idle worker from a queue, so any number of threads may call `compare` at once; the
timeout starts when the comparison is sent, not while waiting for a free worker.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_LIVE_POOLS: "weakref.WeakSet[WorkerPool]" = weakref.WeakSet()


@dataclass(eq=False)
class _Worker:
    proc: subprocess.Popen
    buffer: bytearray = field(default_factory=bytearray)

    def send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def read_line(self, deadline: float) -> dict | None:
        """The next JSON line, or None on timeout or if the worker died."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buffer.extend(chunk)
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        return json.loads(line)

    def kill(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


class WorkerPool:
    """`size` sympy workers; `compare(gold, pred, rules)` -> (equal or None on timeout, error text or None)."""

    def __init__(self, size: int = 2, timeout_s: float = 1.0, start_timeout_s: float = 60.0):
        self.size = max(1, size)
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._started = False
        self._closed = False
        self.spawn_error: str | None = None
        self.timeouts = 0
        _LIVE_POOLS.add(self)

    def start(self) -> None:
        """Spawn the workers in the background (idempotent); `compare` calls it too."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self.size):
            self._spawn_async()

    def compare(self, gold: str, pred: str, rules: dict | None = None) -> tuple[bool | None, str | None]:
        self.start()
        for _ in range(2):  # a worker found dead (not one that overran) is replaced and the pair retried once
            worker = self._take_idle()
            if worker is None:
                return None, self.spawn_error or "no sympy worker became ready"
            try:
                worker.send({"gold": gold, "pred": pred, **({"rules": rules} if rules else {})})
                reply = worker.read_line(time.monotonic() + self.timeout_s)
            except (OSError, ValueError):
                reply = None
            if reply is not None:
                self._idle.put(worker)
                return bool(reply.get("equal")), reply.get("error")
            died = worker.proc.poll() is not None
            self._retire(worker)
            if not died:
                self.timeouts += 1
                return None, f"timeout after {self.timeout_s:g}s"
        return None, "sympy worker died"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.kill()

    def _take_idle(self) -> _Worker | None:
        deadline = time.monotonic() + self.start_timeout_s
        while not self._closed:
            if self.spawn_error and not self._workers and self._idle.empty():
                return None
            try:
                return self._idle.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() > deadline:
                    return None
        return None

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        threading.Thread(target=worker.kill, daemon=True).start()
        self._spawn_async()

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, daemon=True, name="math-worker-start").start()

    def _spawn(self) -> None:
        if self._closed:
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = _PACKAGE_ROOT + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen([sys.executable, "-m", "evalharness.graders.math.worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True,
                                start_new_session=True)  # a terminal Ctrl-C must not kill them mid-run
        worker = _Worker(proc)
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        try:
            ready = worker.read_line(time.monotonic() + self.start_timeout_s)
        except (OSError, ValueError):
            ready = None
        if not ready or not ready.get("ready"):
            self.spawn_error = "a sympy worker failed to start (is latex2sympy2_extended installed?)"
            with self._lock:
                self._workers.discard(worker)
            worker.kill()
            return
        self.spawn_error = None
        self._idle.put(worker)


@atexit.register
def _close_all() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()
