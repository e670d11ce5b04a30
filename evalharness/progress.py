"""The terminal's progress bar on stderr: live on a terminal, a single closing line otherwise (logs stay
readable). The runner only calls `start`, `advance` and `close` (its `ProgressSink`); this is the command
line's implementation of them."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, *, enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.total = 0
        self.label = ""
        self.done = self.correct = self.errors = 0
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._state = ""

    def start(self, total: int, label: str) -> None:
        self.total, self.label = total, label
        self.done = self.correct = self.errors = 0
        self.started = time.perf_counter()

    def advance(self, correct: bool, error: bool) -> None:
        self.done += 1
        self.correct += correct
        self.errors += error
        now = time.perf_counter()
        if self.live and (now - self._last_draw > 0.1 or self.done == self.total):
            self._last_draw = now
            self.stream.write("\r" + self._line(now))
            self.stream.flush()

    def status(self, state: dict) -> None:
        """The provider's state (see HTTPProvider.status): shown at the end of the line while it matters."""
        parts = []
        if state.get("retrying"):
            parts.append(f"{state['retrying']} waiting to retry (rate limit or server error)")
        if state.get("window") is not None and state.get("window") < state.get("concurrency", state["window"]):
            parts.append(f"slowed to {state['window']} in flight after 429s")
        if state.get("replicas", 1) > 1 and state.get("replicas_up") != state.get("replicas"):
            parts.append(f"replicas up {state['replicas_up']}/{state['replicas']}")
        self._state = ("  " + " · ".join(parts)) if parts else ""
        if self.live:
            self.stream.write("\r\033[K" + self._line(time.perf_counter()))
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line for the user about the run (e.g. how to resume an unfinished one), above the bar."""
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}evalharness: note: {text}\n")
        self.stream.flush()

    def _line(self, now: float) -> str:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        acc = self.correct / self.done if self.done else 0.0
        return (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                f"  acc {acc:.3f}  errors {self.errors}  {rate:.1f}/s  {elapsed:.1f}s{self._state}")

    def close(self, completed: bool = True) -> None:
        """Print the final line; an aborted run erases the bar instead, so its error stays the only line."""
        if not self.enabled:
            return
        if not completed:
            if self.live:
                self.stream.write("\r\033[K")
                self.stream.flush()
            return
        line = self._line(time.perf_counter())
        self.stream.write(("\r" + line + "\n") if self.live else line + "\n")
        self.stream.flush()
