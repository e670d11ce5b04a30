"""The run pipeline: suite -> items -> requests -> responses (cached) -> grades -> records -> results.

Concurrency is a sliding window: `concurrency` workers each pull the next uncached request as soon as their
previous one is done, so the endpoint always has `concurrency` requests in flight and no batch waits for
its slowest member. Cached responses skip the window entirely. Each sample is graded and appended to
samples.jsonl the moment its response arrives. A fatal endpoint error (401/403/404) or Ctrl-C stops the
run, and results.json still describes everything obtained up to then.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.cache import ResponseCache, cache_key
from evalharness.chat import ChatRequest, ChatResponse, EndpointError, Provider
from evalharness.datasets import Item, load_items
from evalharness.graders import Grade, Grader, make_grader
from evalharness.progress import Progress
from evalharness.prompts import build_messages, load_exemplars
from evalharness.records import RunWriter, SampleFacts, aggregate, base_results, make_run_id
from evalharness.suite import Suite


@dataclass
class RunOptions:
    output_dir: Path = Path("reports") / "runs"
    data_file: Path | None = None
    limit: int | None = None
    grader_options: dict[str, Any] = field(default_factory=dict)  # e.g. allow_unsafe_exec for code_exec
    progress: bool = True
    concurrency: int = 16
    config_extra: dict[str, Any] = field(default_factory=dict)    # resolved endpoint etc., for config.yaml


@dataclass
class RunResult:
    run_dir: Path
    results: dict[str, Any]

    @property
    def aborted(self) -> str | None:
        return self.results.get("aborted")


@dataclass
class Job:
    item: Item
    request: ChatRequest
    key: str


def build_jobs(suite: Suite, items: list[Item], identity: dict[str, Any]) -> list[Job]:
    """One job per (item, sample). Sample s > 0 gets seed + s so n seeded samples are not n copies."""
    exclude = {item.index for item in items} if _fewshot_from_same_data(suite) else None
    exemplars = load_exemplars(suite, exclude)
    params = {k: v for k, v in suite.generation.items() if k != "n"}
    jobs = []
    for item in items:
        messages = build_messages(suite, item, exemplars)
        for sample in range(suite.samples_per_item):
            sample_params = params
            if sample and "seed" in params:
                sample_params = {**params, "seed": params["seed"] + sample}
            request = ChatRequest(messages, sample_params, sample)
            jobs.append(Job(item, request, cache_key(identity, request)))
    return jobs


def _fewshot_from_same_data(suite: Suite) -> bool:
    fewshot = suite.prompt.fewshot
    return bool(fewshot and fewshot.dataset and fewshot.dataset == suite.dataset)


class SuiteRun:
    """One suite against one provider: owns the graders, the writer and the per-sample bookkeeping."""

    def __init__(self, suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions):
        self.suite = suite
        self.provider = provider
        self.cache = cache
        self.options = options
        self.graders = self._make_graders()
        self.facts: list[SampleFacts] = []
        self.abort_reason: str | None = None
        self.first_error: str | None = None

    def _make_graders(self) -> list[Grader]:
        specs = [self.suite.grader, *self.suite.extra_graders]
        graders = []
        for i, spec in enumerate(specs):
            options = dict(spec.options)
            if i == 0 and self.suite.extract is not None:
                options.setdefault("extract", self.suite.extract)
            if spec.name in self.options.grader_options:
                options.update(self.options.grader_options[spec.name])
            graders.append(make_grader(spec.name, options))
        return graders

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        items = load_items(self.suite.dataset, self.suite.fields, data_file=self.options.data_file,
                           limit=self.options.limit, source=str(self.suite.source or self.suite.name))
        jobs = build_jobs(self.suite, items, self.provider.identity())
        hits = self.cache.get_many(job.key for job in jobs) if self.cache else {}
        described = self.provider.describe()
        writer = RunWriter(self.options.output_dir, make_run_id(self.suite.name, described.get("model")))
        writer.write_config(self._config_snapshot(described))
        progress = Progress(len(jobs), self.suite.name, enabled=self.options.progress)
        pending = [job for job in jobs if job.key not in hits]
        try:
            await self._grade_cached([(job, hits[job.key]) for job in jobs if job.key in hits], writer, progress)
            await self._request_all(pending, writer, progress)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.abort_reason = "interrupted by the user"
        finally:
            progress.close(completed=self.abort_reason is None)
            if self.cache:
                self.cache.flush()
            for grader in self.graders:
                grader.close()
        results = base_results(writer.run_id, self.suite.name, described, self.graders[0].describe())
        results.update(aggregate(self.facts, metrics=self.suite.metrics, breakdown=self.suite.breakdown,
                                 extra_graders=tuple(g.name for g in self.graders[1:])))
        results.update({
            "samples_per_item": self.suite.samples_per_item,
            "requests": getattr(self.provider, "requests_sent", len(pending)),
            "retries": getattr(self.provider, "retries", 0),
            "wall_s": time.perf_counter() - started,
            "aborted": self.abort_reason,
            "first_error": self.first_error,
        })
        writer.write_results(results)
        return RunResult(writer.run_dir, results)

    def _config_snapshot(self, described: dict[str, Any]) -> dict[str, Any]:
        return {
            "suite": self.suite.raw,
            "suite_file": str(self.suite.source) if self.suite.source else None,
            "provider": described,
            **self.options.config_extra,
            "options": {"limit": self.options.limit,
                        "data_file": str(self.options.data_file) if self.options.data_file else None},
        }

    async def _grade_cached(self, hits: list[tuple[Job, ChatResponse]], writer: RunWriter,
                            progress: Progress) -> None:
        if not hits:
            return
        if not any(g.blocking for g in self.graders):
            for job, response in hits:
                self._record(job, response, None, self._grade_now(job, response), writer, progress)
            return
        window = asyncio.Semaphore(max(g.max_workers for g in self.graders))

        async def one(job: Job, response: ChatResponse) -> None:
            async with window:
                grades = await asyncio.to_thread(self._grade_now, job, response)
            self._record(job, response, None, grades, writer, progress)

        await asyncio.gather(*(one(job, response) for job, response in hits))

    async def _request_all(self, pending: list[Job], writer: RunWriter, progress: Progress) -> None:
        if not pending:
            return
        queue = iter(pending)
        blocking = any(g.blocking for g in self.graders)

        async def worker(index: int) -> None:
            for job in queue:
                if self.abort_reason:
                    return
                try:
                    response = await self.provider.complete(job.request, worker=index)
                except EndpointError as exc:
                    if exc.fatal:
                        self.abort_reason = str(exc)
                        return
                    self.first_error = self.first_error or str(exc)
                    self._record(job, None, exc, {}, writer, progress)
                    continue
                if self.cache:
                    self.cache.put(job.key, self.provider.describe().get("model") or "", response)
                if blocking:
                    grades = await asyncio.to_thread(self._grade_now, job, response)
                else:
                    grades = self._grade_now(job, response)
                self._record(job, response, None, grades, writer, progress)

        workers = [asyncio.create_task(worker(i)) for i in range(min(self.options.concurrency, len(pending)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    def _grade_now(self, job: Job, response: ChatResponse) -> dict[str, Grade]:
        return {g.name: g.grade(response.content, job.item.gold, job.item.fields) for g in self.graders}

    def _record(self, job: Job, response: ChatResponse | None, error: EndpointError | None,
                grades: dict[str, Grade], writer: RunWriter, progress: Progress) -> None:
        primary = grades.get(self.graders[0].name)
        correct = bool(primary and primary.correct and error is None)
        meta = {key: job.item.fields.get(key) for key in self.suite.breakdown}
        usage = response.usage if response else {"prompt_tokens": 0, "completion_tokens": 0}
        record = {
            "id": job.item.id,
            "index": job.item.index,
            "sample": job.request.sample_index,
            "messages": job.request.messages,
            "response": response.content if response else None,
            "extracted": primary.extracted if primary else None,
            "gold": job.item.gold,
            "correct": correct,
            "grades": {name: {"correct": g.correct, "extracted": g.extracted, "details": g.details}
                       for name, g in grades.items()},
            "latency_s": response.latency_s if response else None,
            "ttft_s": response.ttft_s if response else None,
            "usage": usage,
            "finish_reason": response.finish_reason if response else None,
            "cached": bool(response and response.cached),
            "attempts": response.attempts if response else (error.attempts if error else 0),
            "error": str(error) if error else None,
            "meta": meta,
        }
        writer.append(record)
        self.facts.append(SampleFacts(
            item_id=job.item.id, sample=job.request.sample_index, correct=correct, error=error is not None,
            cached=record["cached"], attempts=record["attempts"], latency_s=record["latency_s"],
            prompt_tokens=usage.get("prompt_tokens", 0), completion_tokens=usage.get("completion_tokens", 0),
            meta=meta, grades={name: g.correct for name, g in grades.items()},
        ))
        progress.advance(correct, error is not None)


async def run_suite(suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions) -> RunResult:
    return await SuiteRun(suite, provider, cache, options).execute()


def print_summary(result: RunResult, stream=sys.stdout) -> None:
    r = result.results
    lines = [f"{r['suite']}: {r['model']} ({r.get('provider')}{', ' + r['base_url'] if r.get('base_url') else ''})"]
    for name, metric in r["metrics"].items():
        lo, hi = metric["ci95"]
        lines.append(f"  {name:<12} {metric['value']:.4f}  95% CI [{lo:.4f}, {hi:.4f}]")
    lat = r["latency_s"]
    lines.append(f"  samples {r['n']}  errors {r['errors']}  cached {r['cached']}  requests {r['requests']}"
                 f"  wall {r['wall_s']:.2f}s")
    lines.append(f"  latency p50 {lat['p50']:.3f}s  p90 {lat['p90']:.3f}s  p99 {lat['p99']:.3f}s"
                 f"  tokens in {r['tokens']['prompt']} out {r['tokens']['completion']}")
    print("\n".join(lines), file=stream)
