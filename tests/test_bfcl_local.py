"""The prompt tool mode through the in-process llama.cpp provider (the bundled SmolLM2-135M): the provider
offers only that mode, the model's own chat template keeps the system message (and with it the
`<|tool|>` block) as written, and a BFCL run goes through end to end. SmolLM2 is far too small to call
functions well; the point is the path, not the score. Skipped without llama-cpp-python."""

import importlib.util
import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
pytestmark = pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python not installed (pip install '.[local]')")


def test_the_models_chat_template_keeps_the_tool_block_in_the_system_message():
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from evalharness.providers.llamacpp import default_model_path
    from evalharness.tools.phi_format import system_with_tools

    llm = llama_cpp.Llama(model_path=str(default_model_path()), vocab_only=True, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    system = system_with_tools("You are a helpful assistant with some tools.", [{"name": "f", "parameters": {}}])
    prompt = Jinja2ChatFormatter(template, eos_token="", bos_token="")(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": "Call f."}]).prompt
    assert system in prompt and prompt.index(system) < prompt.index("Call f.")


def test_bfcl_runs_in_the_prompt_mode_in_process(tmp_path, shared_data):
    env = {"EVALHARNESS_BASE_URL": "", "EVALHARNESS_MODEL": "", "HF_HUB_OFFLINE": "1",
           "EVALHARNESS_DATA_DIR": str(shared_data)}
    proc = run_cli("run", str(REPO / "suites" / "bfcl.yaml"), "--limit", "1", "--set", "generation.max_tokens=24",
                   "--no-cache", "--no-report", "--no-progress", "--output-dir", str(tmp_path / "runs"), env=env,
                   timeout=600)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((run_dir / "results.json").read_text())
    assert results["provider"] == "llamacpp" and results["tool_mode"] == "prompt"
    assert results["n"] == 5 and results["errors"] == 0 and set(results["breakdown"]["subset"]) == {
        "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["messages"][0]["role"] == "system" and "<|tool|>[" in record["messages"][0]["content"]
        assert record["grades"]["tool_call_ast"]["details"]["mode"] == "prompt"
        assert record["usage"]["prompt_tokens"] > 100  # the functions reached the model
