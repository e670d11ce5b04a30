"""Run untrusted Python programs in isolation: `open_sandbox().run(source, limits) -> RunResult`.

Contract
- `Sandbox.run(source, limits)` executes `source` as the `__main__` module of a fresh Python process state
  and returns a `RunResult` (exit code or signal, timeout flag, capped stdout/stderr, CPU time, peak RSS).
  It never raises for anything the program does; a sandbox failure is reported in `RunResult.error`.
  It is thread-safe: concurrent calls are spread over the worker pool.
- Each program runs in a fresh, private, empty working directory (also its HOME and TMPDIR) with: a new
  session (the whole group is killed at the end), a wall timeout, rlimits on address space, CPU seconds,
  file size (which also caps stdout/stderr: they go to files), open files, processes (per sandbox uid), no
  core dumps; and, as the machine allows, the layers below.
- Layers (detected at start by really starting a worker, strongest configuration first, see `detect.py`):
  `uid` (root: every worker runs its programs under its own unprivileged uid) or `userns` + `caps-dropped`
  (non-root: a user namespace whose capabilities the program drops); `mount-ro` (every mount read-only,
  private tmpfs over /tmp, /var/tmp, /dev/shm, /run, and the home directories for non-root); `netns`
  (no network, not even 127.0.0.1) with `ipcns` (System V IPC private to the worker); `pidns` +
  `proc-private` (the program sees and can signal only its namespace; everything left in it is killed
  after each run); `seccomp` (no fork/exec, no non-Unix sockets, no signals to other processes, no
  ptrace/mount/namespace/SysV-IPC syscalls); `rlimits`; `bwrap` when bwrap built the namespaces;
  `python-rebound` when a private interpreter's prefix is bound readable for the sandbox uid.
- `Sandbox.isolation` is `full` (privilege separation + mount-ro + netns + pidns + seccomp), `partial`
  (privilege separation, something missing), or `none` (rlimits and timeouts only).
  `open_sandbox` refuses `none` unless `allow_unsafe=True` (CLI: `--allow-unsafe-exec`).
- The program runs on a world-readable interpreter (`detect.choose_python`): when running as root it must
  be readable by the sandbox uids, so a venv interpreter inside /root (mode 0700) is replaced by the system
  python3 (stdlib only); failing that, the private one is bound readable inside the mount namespace.
  Workers fork each program from a warm interpreter (common stdlib modules pre-imported), so a run costs a
  few milliseconds, not an interpreter start.
- The worker processes get a scrubbed environment: no API keys or other secrets reach a program.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Per-program limits. `file_mb` caps every file the program writes, stdout/stderr included;
    `output_kb` is how much of the head and of the tail of stdout/stderr is returned."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    file_mb: int = 16
    output_kb: int = 16
    nproc: int = 64


@dataclass
class RunResult:
    """What a program did. `stdout`/`stderr` hold the head; `*_tail` the tail when the output was longer
    than twice `output_kb` (else empty). `error` is set only when the sandbox itself failed."""

    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    stdout: str = ""
    stdout_tail: str = ""
    stdout_bytes: int = 0
    stderr: str = ""
    stderr_tail: str = ""
    stderr_bytes: int = 0
    error: str | None = None

    @property
    def stdout_end(self) -> str:
        """The last part of stdout (where a completion marker would be)."""
        return (self.stdout_tail or self.stdout)[-4096:]

    @property
    def stderr_end(self) -> str:
        return (self.stderr_tail or self.stderr)[-4096:]


class Sandbox(ABC):
    """Runs programs; implementations differ in how they isolate them (`isolation`, `layers`)."""

    isolation: str = "none"
    layers: tuple[str, ...] = ()

    @abstractmethod
    def run(self, source: str, limits: Limits | None = None) -> RunResult: ...

    def describe(self) -> dict[str, Any]:
        return {"isolation": self.isolation, "layers": list(self.layers)}

    def close(self) -> None:
        pass

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sandbox(*, workers: int | None = None, allow_unsafe: bool = False, python: str | None = None) -> Sandbox:
    """Start the strongest sandbox this machine allows (see the module docstring); raises UserError when
    only `none` is possible and `allow_unsafe` is False, or when no usable interpreter exists."""
    from evalharness.sandbox.pool import WorkerPool

    return WorkerPool.start(workers=workers, allow_unsafe=allow_unsafe, python=python)


__all__ = ["Limits", "RunResult", "Sandbox", "open_sandbox"]
