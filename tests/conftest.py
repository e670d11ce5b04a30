"""Shared fixtures: a real OpenAI-compatible stub server on 127.0.0.1, and the shared data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
STUB = Path(__file__).with_name("openai_stub_server.py")


class StubServer:
    """A running tests/openai_stub_server.py subprocess; `configure` replaces its behaviour."""

    def __init__(self, config: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, str(STUB), "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"stub server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root + "/v1"
        if config is not None:
            self.configure(config)

    def configure(self, config: dict) -> None:
        httpx.post(self.root + "/_config", content=json.dumps(config), timeout=5).raise_for_status()

    def stats(self) -> dict:
        return httpx.get(self.root + "/_stats", timeout=5).json()

    def settled(self, limit_s: float = 60, quiet_s: float = 0.3) -> dict:
        """The stats once no request has been in flight for `quiet_s` (answers to a killed client are
        counted when written; a request still in a socket buffer is read first)."""
        import time

        deadline = time.monotonic() + limit_s
        quiet_since = None
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats["inflight"]:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return stats
            time.sleep(0.02)
        return self.stats()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def stub_server():
    server = StubServer({})
    yield server
    server.stop()


@pytest.fixture
def shared_data(monkeypatch):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(SHARED_DATA))
    return SHARED_DATA


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
    """Run `python -m evalharness ARGS` as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalharness", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=timeout)
