"""End to end: a small needle grid against the in-process model (SmolLM2-135M-Instruct), through the
command line. The tiny model often misses the needle; this checks the pipeline, not its skill: prompts
counted with the model's own tokenizer and template (so the endpoint counts exactly what was built), a
length beyond n_ctx reported over the context with llama.cpp's limit, and the long-context results."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                reason="llama-cpp-python not installed (pip install '.[local]')")


def test_small_grid_in_process(shared_data, tmp_path):
    from evalharness.providers.llamacpp import default_model_path

    profile = tmp_path / "local.yaml"
    profile.write_text(f"provider: llamacpp\noptions: {{model_path: {default_model_path()}, n_ctx: 1024}}\n")
    proc = run_cli("run", str(REPO / "suites" / "needle.yaml"), "--config", str(profile), "--no-cache", "--no-report",
                   "--no-progress", "--output-dir", str(tmp_path / "runs"), "--set", "grid.lengths=[256,512,2048]",
                   "--set", "grid.depths=[0,100]", "--set", "generation.max_tokens=32", timeout=600)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((run_dir / "results.json").read_text())
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6
    for s in samples:
        meta = s["meta"]
        if meta["length_tokens"] == 2048:  # over n_ctx: llama.cpp refuses it, and says its limit
            assert s["error_kind"] == "over_context" and meta["context_limit"] == 1024
            assert "over the endpoint's context (limit 1024 tokens)" in s["error"]
            continue
        assert s["error"] is None and s["response"] is not None
        assert meta["count_method"] == "tokenizer"
        assert meta["prompt_tokens"] == meta["built_tokens"]  # the model evaluated exactly what was built
        assert 0.9 * (meta["length_tokens"] - 32) <= meta["built_tokens"] <= meta["length_tokens"] - 32
        assert s["ttft_s"] is not None and s["ttft_s"] > 0
    lc = results["long_context"]
    assert lc["by_length"]["2048"]["over_context"] == 2 and results["over_context"] == 2
    assert results["context_limit"] == 1024 and lc["prefill"]["streamed"]
    assert {c["n"] for c in lc["cells"] if c["length"] < 2048} == {1}
    assert "over the endpoint's context (limit 1024 tokens)" in proc.stderr
