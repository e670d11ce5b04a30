"""A pool of pre-started sandbox workers (see worker.py), shared by threads through a queue.

Each worker is a long-lived process of the sandbox interpreter that forks one confined child per program,
so a program costs a fork, not an interpreter start. Workers are started with the strongest configuration
that comes up (`detect.candidate_configs`); as root each worker gets its own uid, so one worker's
clean-up can never touch another worker's programs. A worker that stops answering (it never should) is
killed and replaced, and the run reports `error` instead of hanging the harness.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from evalharness.errors import UserError
from evalharness.sandbox import Limits, RunResult, Sandbox
from evalharness.sandbox.detect import (Interpreter, bwrap_argv, candidate_configs, choose_python, host_facts,
                                        isolation_level)

WORKER = str(Path(__file__).with_name("worker.py"))
UID_BASE = 0x30000  # sandbox uids: far above real accounts; offset by harness pid to avoid other harnesses
START_TIMEOUT_S = 20.0
MARGIN_S = 10.0
RESULT_FIELDS = {f.name for f in fields(RunResult)}


class WorkerDied(Exception):
    """A worker failed; `started` tells whether it had taken the job (then the program may have run)."""

    def __init__(self, message: str, started: bool = True):
        super().__init__(message)
        self.started = started


class _Worker:
    """One worker process and its two pipes (jobs in, results out)."""

    def __init__(self, python: Interpreter, config: dict[str, Any]):
        self.config = config
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        argv = [python.path, "-I", WORKER, json.dumps(config)]
        if config.get("bwrap"):
            argv = bwrap_argv(python, os.path.dirname(WORKER), config["tmpfs_mb"]) + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True, cwd="/")
        self.layers: list[str] = []
        try:
            hello = self._receive(time.monotonic() + START_TIMEOUT_S)
        except (WorkerDied, ValueError) as exc:
            self.kill()
            raise WorkerDied(f"worker did not start: {exc}") from exc
        if not hello.get("ready"):
            self.kill()
            raise WorkerDied(hello.get("error", "worker did not start"))
        self.layers = hello["layers"]

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(job).encode()
        if self.proc.poll() is not None:
            raise WorkerDied("worker had exited", started=False)
        try:
            self.proc.stdin.write(struct.pack("<I", len(data)) + data)
            self.proc.stdin.flush()
        except OSError as exc:
            raise WorkerDied(f"worker pipe closed: {exc}", started=False) from exc
        return self._receive(time.monotonic() + job["timeout_s"] + MARGIN_S)

    def _receive(self, deadline: float) -> dict[str, Any]:
        head = self._read(4, deadline)
        return json.loads(self._read(struct.unpack("<I", head)[0], deadline))

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise WorkerDied("worker did not answer in time")
            chunk = os.read(fd, n - got)
            if not chunk:
                raise WorkerDied("worker exited")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if not self.config["mountns"] and not self.config.get("bwrap"):  # else it lived on a private tmpfs
            shutil.rmtree(f"/tmp/evalharness-sbx-{self.proc.pid}", ignore_errors=True)

    def close(self) -> None:
        """Closing the job pipe makes the worker exit (and its namespace with it)."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class WorkerPool(Sandbox):
    """`workers` pre-started workers; `run` borrows an idle one (blocking while all are busy)."""

    def __init__(self, python: Interpreter, config: dict[str, Any], first: _Worker, workers: int, facts: dict):
        self.python, self.config, self.facts = python, config, facts
        self.layers = tuple(first.layers)
        self.isolation = isolation_level(first.layers)
        self.size = workers
        self._uids = itertools.count(1)
        self._lock = threading.Lock()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all = [first]
        self._idle.put(first)
        for _ in range(workers - 1):
            self._add(self._spawn())
        self._closed = False

    @classmethod
    def start(cls, *, workers: int | None, allow_unsafe: bool, python: str | None) -> "WorkerPool":
        is_root = os.geteuid() == 0
        interp = choose_python(python, need_world_readable=is_root)
        facts = host_facts()
        uid = UID_BASE + (os.getpid() % 4096) * 64
        errors = []
        for config in candidate_configs(is_root, uid):
            config["private_prefix"] = interp.prefix if interp.private else None
            try:
                first = _Worker(interp, config)
            except WorkerDied as exc:
                errors.append(str(exc))
                continue
            level = isolation_level(first.layers)
            if level == "none" and not allow_unsafe:
                first.close()
                detail = f" (isolation failed: {errors[0]})".replace("\n", " ") if errors else ""
                raise UserError("no sandbox isolation is available on this machine" + detail
                                + "; pass --allow-unsafe-exec to run model-written code without isolation")
            return cls(interp, config, first, workers or max(2, os.cpu_count() or 2), facts)
        raise UserError("the code sandbox could not start a worker: " + "; ".join(errors))

    def _spawn(self) -> _Worker:
        config = dict(self.config)
        if config["uid"] is not None:
            with self._lock:
                config["uid"] = self.config["uid"] + next(self._uids)
        return _Worker(self.python, config)

    def _add(self, worker: _Worker) -> None:
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def run(self, source: str, limits: Limits | None = None) -> RunResult:
        if self._closed:
            raise RuntimeError("sandbox is closed")
        job = {"source": source, **asdict(limits or Limits())}
        while True:
            worker = self._borrow()
            if worker is None:
                return RunResult(error="sandbox has no working workers left")
            try:
                reply = worker.run(job)
                break
            except WorkerDied as exc:
                self._replace(worker)
                if exc.started:  # the program may have run (and may be what broke the worker): no retry
                    return RunResult(error=f"sandbox worker failed: {exc}")
        self._idle.put(worker)
        if "internal_error" in reply:
            return RunResult(error=f"sandbox worker error: {reply['internal_error']}")
        return RunResult(**{k: v for k, v in reply.items() if k in RESULT_FIELDS})

    def _borrow(self) -> _Worker | None:
        """An idle worker; None once every worker is gone (so callers never wait forever)."""
        while True:
            try:
                return self._idle.get(timeout=1.0)
            except queue.Empty:
                with self._lock:
                    if not self._all:
                        return None

    def _replace(self, worker: _Worker) -> None:
        """Kill a failed worker and start a new one; if that fails too, the pool shrinks."""
        worker.kill()
        with self._lock:
            self._all.remove(worker)
        try:
            self._add(self._spawn())
        except WorkerDied:
            pass

    def worker_pids(self) -> list[int]:
        return [w.proc.pid for w in self._all]

    def sandbox_uids(self) -> list[int]:
        return [w.config["uid"] for w in self._all if w.config["uid"] is not None]

    def describe(self) -> dict[str, Any]:
        return {"isolation": self.isolation, "layers": list(self.layers), "workers": self.size,
                "uids": self.sandbox_uids(), "python": f"{self.python.path} ({self.python.version})",
                "host": self.facts}

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.close()
