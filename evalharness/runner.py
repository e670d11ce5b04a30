"""The run pipeline: suite -> items -> requests -> responses (cached) -> grades -> records -> results.

The runner orchestrates and nothing else: datasets load items, prompts build messages, the solver talks
to the provider through `generate` (cache first), graders judge, records are written, metrics are counted;
what the user sees on the terminal is the caller's (`progress` is a sink it passes in).

Concurrency is a sliding window: `concurrency` workers each pull the next job as soon as their previous
one is done, so the endpoint always has `concurrency` requests in flight and no batch waits for its
slowest member. Jobs whose answer is cached (single-turn solvers) skip the window entirely. Each sample is
graded and appended to samples.jsonl the moment its response arrives. A fatal endpoint error (401/403/404)
or Ctrl-C stops the run, and results.json still describes everything obtained up to then.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from evalharness.cache import ResponseCache, cache_key
from evalharness.chat import ChatRequest, ChatResponse, EndpointError, Provider
from evalharness.choices import present, represent
from evalharness.datasets import load_items
from evalharness.extract import Extractor
from evalharness.graders import Exchange, Grade, Grader, grader_class, make_grader
from evalharness.items import Item
from evalharness.metrics import MetricSpec, Tally
from evalharness.prompts import ExemplarPool, Prompter, load_exemplars
from evalharness.records import RunWriter, SampleRecord, base_results, make_run_id
from evalharness.solvers import Solver, Transcript, make_solver
from evalharness.suite import Suite, Task


class ProgressSink(Protocol):
    def start(self, total: int, label: str) -> None: ...
    def advance(self, correct: bool, error: bool) -> None: ...
    def close(self, completed: bool) -> None: ...


class NoProgress:
    def start(self, total: int, label: str) -> None: ...
    def advance(self, correct: bool, error: bool) -> None: ...
    def close(self, completed: bool) -> None: ...


@dataclass
class RunOptions:
    output_dir: Path = Path("reports") / "runs"
    data_file: Path | None = None
    limit: int | None = None  # items per task (per subset in a family)
    grader_options: dict[str, Any] = field(default_factory=dict)  # e.g. allow_unsafe_exec for code_exec
    progress: ProgressSink = field(default_factory=NoProgress)
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
    task: int  # index into the run's task list
    request: ChatRequest
    key: str


@dataclass
class _TaskRun:
    """What the runner holds per task: the task, its solver and its graders (primary first)."""

    task: Task
    solver: Solver
    graders: list[Grader]


def load_suite_items(suite: Suite, options: RunOptions) -> list[Item]:
    """Every task's items, in task order (`--limit` applies per task); indices run across tasks. Items of
    a multiple-choice task have their options formatted and their gold read as a letter (choices.py)."""
    items: list[Item] = []
    for task in suite.tasks:
        source = f"{suite.source or suite.name}" + (f" (subset {task.name})" if task.name else "")
        loaded = load_items(task.dataset, task.fields, data_file=options.data_file, limit=options.limit,
                            source=source, subset=task.name, start=len(items))
        if task.choices is not None:
            loaded = [replace(item, fields=present(item.fields, task.choices, f"{source}: item {item.id}"))
                      for item in loaded]
        items += loaded
    return items


def build_jobs(suite: Suite, items: list[Item], identity: dict[str, Any]) -> list[Job]:
    """One job per (item, sample), in item order. Sample s > 0 gets seed + s so n seeded samples are not
    n copies. With `shuffle_choices: N` the samples are the item's N option orders instead (sample p is
    presentation p, its job carries the reordered item, the seed is not changed)."""
    task_of = {task.name: t for t, task in enumerate(suite.tasks)}
    memo: dict[int, tuple[Any, str]] = {}
    jobs: list[Job] = []
    for t, task in enumerate(suite.tasks):
        own = [item for item in items if task_of.get(item.subset, 0) == t]
        prompter = _prompter(task, own)
        params = {k: v for k, v in task.generation.items() if k != "n"}
        for item in own:
            if task.shuffle_choices and task.choices is not None:
                for p in range(task.shuffle_choices):
                    shown = item if p == 0 else replace(item, fields=represent(item.fields, task.choices, p))
                    request = ChatRequest(prompter.messages(shown), params, p)
                    jobs.append(Job(shown, t, request, cache_key(identity, request, memo)))
                continue
            messages = prompter.messages(item)
            for sample in range(task.samples_per_item):
                sample_params = params
                if sample and "seed" in params:
                    sample_params = {**params, "seed": params["seed"] + sample}
                request = ChatRequest(messages, sample_params, sample)
                jobs.append(Job(item, t, request, cache_key(identity, request, memo)))
    return jobs


def _prompter(task: Task, own: list[Item]) -> Prompter:
    """The task's prompt builder: exemplars drawn once (leaving the evaluated rows out when they come from
    the same split), or per item (`fewshot.draw: per_item`)."""
    same = _fewshot_from_same_data(task)
    fewshot = task.prompt.fewshot
    if fewshot is not None and fewshot.count and fewshot.draw == "per_item":
        return Prompter(task, [], ExemplarPool(task, exclude_self=same))
    return Prompter(task, load_exemplars(task, {item.row for item in own} if same else None))


def _fewshot_from_same_data(task: Task) -> bool:
    fewshot = task.prompt.fewshot
    return bool(fewshot and fewshot.dataset and fewshot.dataset == task.dataset)


class SuiteRun:
    """One suite against one provider: owns the solvers, graders, writer and per-sample bookkeeping."""

    def __init__(self, suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions):
        self.suite = suite
        self.provider = provider
        self.cache = cache
        self.options = options
        self.tasks = self._make_tasks()
        self.graders = list({id(g): g for t in self.tasks for g in t.graders}.values())
        spec = MetricSpec(metrics=suite.metrics, extra_graders=tuple(g.name for g in self.tasks[0].graders[1:]),
                          breakdown=suite.breakdown, subsets=suite.subsets, aggregate=suite.aggregate,
                          presentations=max(task.shuffle_choices for task in suite.tasks))
        self.tally = Tally(spec)
        self.abort_reason: str | None = None
        self.first_error: str | None = None
        self._hits: dict[str, ChatResponse] = {}

    def _make_tasks(self) -> list[_TaskRun]:
        shared: dict[tuple, Grader] = {}
        runs = []
        for task in self.suite.tasks:
            primary = grader_class(task.grader.name, task.base_dir)
            extractor = Extractor(task.extract, primary.default_strategies, primary.bare_answers)
            graders = []
            for ref in (task.grader, *task.extra_graders):
                options = {**ref.options, **self.options.grader_options.get(ref.name, {})}
                key = (ref.name, repr(sorted(options.items())), repr(task.extract))
                if key not in shared:
                    shared[key] = make_grader(ref.name, options, extractor=extractor, base_dir=task.base_dir,
                                              source=str(self.suite.source or self.suite.name))
                graders.append(shared[key])
            solver = make_solver(task.solver.name, task.solver.options, task.base_dir)
            runs.append(_TaskRun(task, solver, graders))
        return runs

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        jobs = build_jobs(self.suite, load_suite_items(self.suite, self.options), self.provider.identity())
        self._hits = self.cache.get_many(job.key for job in jobs) if self.cache else {}
        described = self.provider.describe()
        writer = RunWriter(self.options.output_dir, make_run_id(self.suite.name, described.get("model")))
        writer.write_config(self._config_snapshot(described))
        progress = self.options.progress
        progress.start(len(jobs), self.suite.name)
        cached = [job for job in jobs if job.key in self._hits and self.tasks[job.task].solver.single_turn]
        pending = [job for job in jobs if not (job.key in self._hits and self.tasks[job.task].solver.single_turn)]
        try:
            await self._grade_cached(cached, writer)
            await self._request_all(pending, writer)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.abort_reason = "interrupted by the user"
        finally:
            progress.close(completed=self.abort_reason is None)
            if self.cache:
                self.cache.flush()
            for grader in self.graders:
                grader.close()
        results = base_results(writer.run_id, self.suite.name, described, self.graders[0].describe())
        results.update(self.tally.results())
        stats = self.provider.stats()
        results.update({
            "samples_per_item": self.suite.samples_per_item,
            "requests": stats.get("requests", len(pending)),
            "retries": stats.get("retries", 0),
            "wall_s": time.perf_counter() - started,
            "aborted": self.abort_reason,
            "first_error": self.first_error,
        })
        if self.suite.subsets:
            results["family"] = {"subsets": list(self.suite.subsets), "aggregate": self.suite.aggregate}
        writer.write_results(results)
        return RunResult(writer.run_dir, results)

    def _config_snapshot(self, described: dict[str, Any]) -> dict[str, Any]:
        return {
            "suite": self.suite.raw,
            "suite_file": str(self.suite.source) if self.suite.source else None,
            "overrides": list(self.suite.overrides),
            "provider": described,
            **self.options.config_extra,
            "options": {"limit": self.options.limit,
                        "data_file": str(self.options.data_file) if self.options.data_file else None},
        }

    async def _grade_cached(self, jobs: list[Job], writer: RunWriter) -> None:
        if not jobs:
            return
        transcripts = [(job, Transcript(job.request.messages, self._hits[job.key], [self._hits[job.key]]))
                       for job in jobs]
        if not any(g.blocking for g in self.graders):
            for job, transcript in transcripts:
                self._record(job, transcript, None, self._grade_now(job, transcript), writer)
            return
        window = asyncio.Semaphore(max(g.max_workers for g in self.graders))

        async def one(job: Job, transcript: Transcript) -> None:
            async with window:
                grades = await asyncio.to_thread(self._grade_now, job, transcript)
            self._record(job, transcript, None, grades, writer)

        await asyncio.gather(*(one(job, transcript) for job, transcript in transcripts))

    def _generate(self, worker: int):
        """The `generate` a solver calls: the cache first, else the provider (then the cache stores it)."""
        model = self.provider.describe().get("model") or ""
        identity = self.provider.identity()

        async def generate(request: ChatRequest) -> ChatResponse:
            key = cache_key(identity, request)
            hit = self._hits.get(key)
            if hit is None and self.cache is not None:
                hit = self.cache.get(key)
            if hit is not None:
                return hit
            response = await self.provider.complete(request, worker=worker)
            if self.cache is not None:
                self.cache.put(key, model, response)
            return response

        return generate

    async def _request_all(self, pending: list[Job], writer: RunWriter) -> None:
        if not pending:
            return
        queue = iter(pending)
        blocking = any(g.blocking for g in self.graders)

        async def worker(index: int) -> None:
            generate = self._generate(index)
            for job in queue:
                if self.abort_reason:
                    return
                try:
                    transcript = await self.tasks[job.task].solver.solve(job.request, job.item, generate)
                except EndpointError as exc:
                    if exc.fatal:
                        self.abort_reason = str(exc)
                        return
                    self.first_error = self.first_error or str(exc)
                    self._record(job, None, exc, {}, writer)
                    continue
                if blocking:
                    grades = await asyncio.to_thread(self._grade_now, job, transcript)
                else:
                    grades = self._grade_now(job, transcript)
                self._record(job, transcript, None, grades, writer)

        workers = [asyncio.create_task(worker(i)) for i in range(min(self.options.concurrency, len(pending)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    def _grade_now(self, job: Job, transcript: Transcript) -> dict[str, Grade]:
        exchange = Exchange(job.item, transcript.messages, transcript.response)
        return {g.name: g.grade(exchange) for g in self.tasks[job.task].graders}

    def _record(self, job: Job, transcript: Transcript | None, error: EndpointError | None,
                grades: dict[str, Grade], writer: RunWriter) -> None:
        record = make_record(job, transcript, error, grades, self.tasks[job.task].graders[0].name,
                             self.suite.breakdown)
        writer.append(record)
        self.tally.add(record)
        self.options.progress.advance(record.correct, error is not None)


def make_record(job: Job, transcript: Transcript | None, error: EndpointError | None, grades: dict[str, Grade],
                primary: str, breakdown: tuple[str, ...]) -> SampleRecord:
    """The sample record of one job: what was sent, what came back (summed over a solver's turns), the
    verdicts."""
    verdict = grades.get(primary)
    meta = {key: job.item.fields.get(key) for key in breakdown}
    if job.item.subset is not None:
        meta["subset"] = job.item.subset
    turns = transcript.turns if transcript else []
    response = transcript.response if transcript else None
    usage = {"prompt_tokens": sum(t.usage.get("prompt_tokens", 0) for t in turns),
             "completion_tokens": sum(t.usage.get("completion_tokens", 0) for t in turns)}
    return SampleRecord(
        id=job.item.id, index=job.item.index, sample=job.request.sample_index,
        messages=transcript.messages if transcript else job.request.messages,
        response=response.content if response else None,
        extracted=verdict.extracted if verdict else None,
        gold=job.item.gold,
        correct=bool(verdict and verdict.correct and error is None),
        grades={name: {"correct": g.correct, "extracted": g.extracted, "details": g.details}
                for name, g in grades.items()},
        latency_s=sum(t.latency_s for t in turns) if turns else None,
        ttft_s=turns[0].ttft_s if turns else None,
        usage=usage,
        finish_reason=response.finish_reason if response else None,
        cached=bool(turns) and all(t.cached for t in turns),
        attempts=sum(t.attempts for t in turns) if turns else (error.attempts if error else 0),
        error=str(error) if error else None,
        meta=meta,
        subset=job.item.subset,
        tool_calls=[call.to_json() for call in response.tool_calls] if response and response.tool_calls else None,
        turns=len(turns) or 1,
    )


async def run_suite(suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions) -> RunResult:
    return await SuiteRun(suite, provider, cache, options).execute()
