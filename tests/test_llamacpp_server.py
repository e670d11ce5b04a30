"""A real server and a real model on the HTTP path: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server`, the `[server]` extra) serving SmolLM2-135M-Instruct on 127.0.0.1, asked
through evalharness's own HTTP client, and compared with the in-process provider.

Parity needs the same sampler settings on both sides. The server's defaults add top_k 40, min_p 0.05 and
repeat_penalty 1.1, and llama.cpp applies the repeat penalty even before a temperature-0 (greedy) pick,
so requests to it carry `NEUTRAL_SAMPLING` in their body; the in-process provider uses exactly those
settings unless a request names others. Both sides use the GGUF's own chat template and evaluate each
prompt with the same model file, so at temperature 0 (and with a seed above 0) the answers are equal.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import REPO, run_cli

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("llama-cpp-python not installed (pip install '.[local,server]')", allow_module_level=True)

from evalharness.providers import llamacpp as local  # noqa: E402
from evalharness.chat import ChatRequest  # noqa: E402
from evalharness.providers.openai import HTTPProvider  # noqa: E402
from evalharness.datasets import load_items  # noqa: E402
from evalharness.runner import build_jobs  # noqa: E402
from evalharness.suite import load_suite  # noqa: E402

QUICKSTART = REPO / "suites" / "quickstart.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` in a subprocess, ready when /v1/models answers."""

    def __init__(self, model: Path, log: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1"]
        self.proc = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base_url + "/models", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server not ready after {timeout_s}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python's server extra not installed (pip install '.[server]')")
    server = LlamaServer(local.default_model_path(), tmp_path_factory.mktemp("llama") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def in_process():
    provider = local.LlamaCppProvider()
    yield provider
    asyncio.run(provider.aclose())


def both(server, in_process, requests: list[ChatRequest], stream: bool = False):
    """Each request answered over HTTP (evalharness's client) and in-process."""

    async def go():
        http = HTTPProvider(base_url=server.base_url, model="smollm2", concurrency=1, max_retries=0,
                            timeout_s=60, stream=stream)
        try:
            return [(await http.complete(r), await in_process.complete(r)) for r in requests]
        finally:
            await http.aclose()

    return asyncio.run(go())


def neutral(params: dict) -> dict:
    return {**params, **local.NEUTRAL_SAMPLING}


def quickstart_requests(limit: int, max_tokens: int = 40) -> list[ChatRequest]:
    """The quickstart suite's real requests (system prompt, template, generation settings; max_tokens
    lowered to keep the test fast)."""
    suite = load_suite(QUICKSTART)
    items = load_items(suite.dataset, suite.fields, limit=limit, source=str(QUICKSTART))
    jobs = build_jobs(suite, items, {"provider": "test"})
    return [ChatRequest(job.request.messages, neutral({**job.request.params, "max_tokens": max_tokens}))
            for job in jobs]


def test_quickstart_answers_are_equal_at_temperature_zero(server, in_process):
    requests = quickstart_requests(4)
    assert requests[0].params["temperature"] == 0.0 and requests[0].messages[0]["role"] == "system"
    for over_http, here in both(server, in_process, requests):
        assert over_http.content == here.content
        assert over_http.finish_reason == here.finish_reason
        assert over_http.usage == here.usage
        assert over_http.latency_s > 0 and here.latency_s > 0


def test_stop_max_tokens_and_multiturn_agree(server, in_process):
    chat = [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3 + 3? Explain your steps."}]
    requests = [
        ChatRequest(chat, neutral({"temperature": 0.0, "max_tokens": 7})),
        ChatRequest(chat, neutral({"temperature": 0.0, "max_tokens": 64, "stop": ["6"]})),
    ]
    (cut_http, cut_here), (stop_http, stop_here) = both(server, in_process, requests)
    assert cut_http.content == cut_here.content and cut_here.finish_reason == "length"
    assert cut_here.usage["completion_tokens"] == 7
    assert stop_http.content == stop_here.content and "6" not in stop_here.content


def test_seeded_sampling_agrees(server, in_process):
    poem = [{"role": "user", "content": "Write a one-line poem about the sea."}]
    requests = [ChatRequest(poem, neutral({"temperature": 0.9, "top_p": 0.95, "max_tokens": 24, "seed": s}))
                for s in (7, 8)]
    pairs = both(server, in_process, requests)
    assert all(over_http.content == here.content for over_http, here in pairs)
    assert pairs[0][1].content != pairs[1][1].content  # the seed matters, so equality is not an accident


def test_streaming_client_gets_the_same_answer_with_ttft(server, in_process):
    [(streamed, here)] = both(server, in_process, quickstart_requests(1), stream=True)
    assert streamed.content == here.content
    assert streamed.ttft_s is not None and 0 < streamed.ttft_s <= streamed.latency_s
    assert here.ttft_s is not None and 0 < here.ttft_s <= here.latency_s


def test_quickstart_suite_runs_over_http_against_the_real_server(server, tmp_path):
    proc = run_cli("run", str(QUICKSTART), "--base-url", server.base_url, "--model", "smollm2", "--limit", "4",
                   "--concurrency", "2", "--cache", str(tmp_path / "cache.sqlite"), "--output-dir",
                   str(tmp_path / "runs"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((run_dir / "results.json").read_text())
    assert (results["provider"], results["n"], results["errors"], results["requests"]) == ("openai", 4, 0, 4)
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert all(s["response"] and s["usage"]["completion_tokens"] > 0 and s["latency_s"] > 0 for s in samples)
