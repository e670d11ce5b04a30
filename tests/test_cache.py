"""The cache key contract and the SQLite store (including two processes sharing one file)."""

import subprocess
import sys
from pathlib import Path

from evalharness.cache import ResponseCache, cache_key
from evalharness.chat import ChatRequest, ChatResponse
from evalharness.providers.openai import HTTPProvider

MESSAGES = [{"role": "user", "content": "What is 2+2?"}]
PARAMS = {"temperature": 0.0, "max_tokens": 16}
IDENTITY = {"base_url": "http://127.0.0.1:1/v1", "model": "phi-4-mini"}


def key(identity=IDENTITY, messages=MESSAGES, params=PARAMS, sample=0):
    return cache_key(identity, ChatRequest(messages, params, sample))


def test_same_request_same_key():
    assert key() == key(dict(IDENTITY), [dict(m) for m in MESSAGES], dict(PARAMS))


def test_every_output_changing_input_changes_the_key():
    base = key()
    assert key(identity={**IDENTITY, "model": "phi-4"}) != base
    assert key(identity={**IDENTITY, "base_url": "http://other/v1"}) != base
    assert key(messages=[{"role": "user", "content": "What is 2+3?"}]) != base
    assert key(messages=[{"role": "system", "content": "x"}, *MESSAGES]) != base
    assert key(params={**PARAMS, "temperature": 0.7}) != base
    assert key(params={**PARAMS, "seed": 1}) != base
    assert key(params={**PARAMS, "stop": ["\n"]}) != base
    assert key(sample=1) != base and key(sample=1) != key(sample=2)


def test_api_key_concurrency_and_timeouts_stay_out_of_the_key():
    one = HTTPProvider(base_url="http://127.0.0.1:1/v1/", model="m", api_key="sk-one", concurrency=4, timeout_s=5)
    two = HTTPProvider(base_url="http://127.0.0.1:1/v1", model="m", api_key="sk-two", concurrency=64, timeout_s=99)
    assert one.identity() == two.identity()
    assert "sk-" not in repr(one.identity())


def test_roundtrip_keeps_latency_and_usage(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    response = ChatResponse("4", "stop", {"prompt_tokens": 7, "completion_tokens": 1}, latency_s=0.123, attempts=2)
    cache.put(key(), "phi-4-mini", response)
    cache.close()
    again = ResponseCache(tmp_path / "c.sqlite")
    hit = again.get_many([key(), key(sample=3)])
    assert list(hit) == [key()]
    got = hit[key()]
    assert (got.content, got.latency_s, got.usage, got.cached, got.attempts) == ("4", 0.123, response.usage, True, 0)
    assert again.stats()["entries"] == 1
    assert again.clear() == 1 and again.stats()["entries"] == 0


WRITER = """
import sys
from evalharness.cache import ResponseCache
from evalharness.chat import ChatResponse
cache = ResponseCache(sys.argv[1])
for i in range(400):
    cache.put(f"{sys.argv[2]}-{i}", "m", ChatResponse(str(i)))
cache.close()
"""


def test_two_processes_share_one_cache(tmp_path):
    path = tmp_path / "shared.sqlite"
    repo = str(Path(__file__).resolve().parents[1])
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], env={"PYTHONPATH": repo})
             for name in ("a", "b")]
    assert [p.wait(60) for p in procs] == [0, 0]
    cache = ResponseCache(path)
    assert cache.stats()["entries"] == 800
    assert cache.get_many(["a-399", "b-0"])["b-0"].content == "0"
