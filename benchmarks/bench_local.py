"""Benchmark the in-process llama.cpp provider on the offline quickstart model (SmolLM2-135M-Instruct Q4_1).

Prints: model load time; decode speed (tokens/s after the first token, on a long greedy answer); prompt
evaluation speed (prompt tokens / time to first token, on a ~600-token prompt); the time for the 20
quickstart questions asked directly through the provider with max_tokens 128; and the whole-process wall
time of `evalharness run suites/quickstart.yaml` with an empty cache (the README's command, offline)
and of its cached re-run. With the shared data folder present, also the time for 8-shot GSM8K prompts
(~1,800 tokens each) with the shared prefix reused from the KV cache (what the provider does) and with
every prompt evaluated from an empty context.

    python benchmarks/bench_local.py [--threads N] [--repeat 3] [--gsm8k 8] [--model-path FILE.gguf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalharness.providers import llamacpp as local  # noqa: E402
from evalharness.chat import ChatRequest  # noqa: E402

QUICKSTART = REPO / "suites" / "quickstart.yaml"
SYSTEM = "You are a helpful assistant that solves math word problems."


def quickstart_questions() -> list[str]:
    rows = (REPO / "suites" / "data" / "quickstart.jsonl").read_text().splitlines()
    return [json.loads(row)["question"] for row in rows if row.strip()]


async def measure(provider: local.LlamaCppProvider, repeat: int) -> dict[str, float]:
    questions = quickstart_questions()
    story = ChatRequest([{"role": "user", "content": "Write a long story about a dragon and a knight."}],
                        {"temperature": 0.0, "max_tokens": 256})
    long_prompt = ChatRequest([{"role": "system", "content": SYSTEM},
                               {"role": "user", "content": "\n".join(questions * 3) + "\nAnswer the last one."}],
                              {"temperature": 0.0, "max_tokens": 1})
    figures: dict[str, list[float]] = {"decode": [], "prompt": [], "prompt_tokens": [], "twenty": [],
                                       "twenty_tokens": []}
    for _ in range(repeat):
        r = await provider.complete(story)
        figures["decode"].append((r.usage["completion_tokens"] - 1) / (r.latency_s - r.ttft_s))
        r = await provider.complete(long_prompt)
        figures["prompt"].append(r.usage["prompt_tokens"] / r.ttft_s)
        figures["prompt_tokens"].append(r.usage["prompt_tokens"])
        started, tokens = time.perf_counter(), 0
        for question in questions:
            messages = [{"role": "system", "content": SYSTEM},
                        {"role": "user", "content": question + "\nAnswer with just the number."}]
            r = await provider.complete(ChatRequest(messages, {"temperature": 0.0, "max_tokens": 128}))
            tokens += r.usage["completion_tokens"]
        figures["twenty"].append(time.perf_counter() - started)
        figures["twenty_tokens"].append(tokens)
    return {key: statistics.median(values) for key, values in figures.items()}


def fewshot_reuse(provider: local.LlamaCppProvider, items: int) -> tuple[float, float, bool] | None:
    """8-shot GSM8K: seconds with prefix reuse, seconds from an empty context, and whether answers agree."""
    data = REPO / ".." / "shared" / "data"
    if not (data / "gsm8k").is_dir():
        return None
    os.environ.setdefault("EVALHARNESS_DATA_DIR", str(data.resolve()))
    from evalharness.datasets import load_items
    from evalharness.runner import build_jobs
    from evalharness.suite import load_suite

    suite = load_suite(REPO / "suites" / "gsm8k.yaml")
    jobs = build_jobs(suite, load_items(suite.dataset, suite.fields, limit=items, source="gsm8k"), {})
    llm = provider._load()
    timings, answers = [], []
    for reset in (False, True):
        started, out = time.perf_counter(), []
        for job in jobs:
            if reset:
                llm.reset()
            kwargs = local.generation_kwargs({**job.request.params, "max_tokens": 96})
            out.append(llm.create_chat_completion(messages=job.request.messages, **kwargs)["choices"][0])
        timings.append(time.perf_counter() - started)
        answers.append([choice["message"]["content"] for choice in out])
    return timings[0], timings[1], answers[0] == answers[1]


def cli_wall(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evalharness", *args], capture_output=True, text=True,
                          env=env, cwd=REPO)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"evalharness run failed: {proc.stderr.strip()}")
    return wall, proc.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: cores - 1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gsm8k", type=int, default=8, help="8-shot GSM8K items for the prefix-reuse figure")
    parser.add_argument("--model-path", default=None, help="another GGUF (default: the bundled SmolLM2)")
    args = parser.parse_args()

    provider = local.LlamaCppProvider(model_path=args.model_path, n_threads=args.threads)
    started = time.perf_counter()
    provider._load()
    load_s = time.perf_counter() - started
    figures = asyncio.run(measure(provider, args.repeat))
    print(f"model            {provider.describe()['model']}  ({provider.model_path.stat().st_size / 1e6:.0f} MB, "
          f"{provider.n_threads} thread(s), {os.cpu_count()} cores)")
    print(f"load             {load_s:.2f} s")
    print(f"decode           {figures['decode']:.1f} tokens/s (greedy, 256-token answer, median of {args.repeat})")
    print(f"prompt eval      {figures['prompt']:.0f} tokens/s ({figures['prompt_tokens']:.0f}-token prompt)")
    print(f"20 quickstart qs {figures['twenty']:.2f} s in-process, max_tokens 128 "
          f"({figures['twenty_tokens']:.0f} tokens generated)")

    reuse = fewshot_reuse(provider, args.gsm8k) if args.gsm8k else None
    if reuse:
        print(f"8-shot GSM8K     {args.gsm8k} items: {reuse[0]:.1f} s reusing the shared prefix, {reuse[1]:.1f} s "
              f"from an empty context (answers {'identical' if reuse[2] else 'DIFFERENT'})")

    if args.model_path is None:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "PYTHONPATH": str(REPO), "EVALHARNESS_BASE_URL": "", "HF_HUB_OFFLINE": "1"}
            run = ["run", str(QUICKSTART), "--cache", f"{tmp}/cache.sqlite", "--output-dir", f"{tmp}/runs"]
            wall, last = cli_wall(run, env)
            print(f"quickstart CLI   {wall:.1f} s whole process, empty cache (ends with: {Path(last).name})")
            wall, _ = cli_wall(run, env)
            print(f"quickstart CLI   {wall:.2f} s cached re-run")


if __name__ == "__main__":
    main()
