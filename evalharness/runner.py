"""The run pipeline: suite -> items -> requests -> responses (cached) -> grades -> records -> results.

The runner orchestrates and nothing else: datasets load items, prompts build messages, the solver talks
to the provider through `generate` (cache first), graders judge, records are written, metrics are counted;
what the user sees on the terminal is the caller's (`progress` is a sink it passes in).

Concurrency is a sliding window: `concurrency` workers each pull the next job as soon as their previous
one is done, so the endpoint always has `concurrency` requests in flight and no batch waits for its
slowest member. Jobs whose answer is cached (single-turn solvers) skip the window entirely. Each sample is
graded and appended to samples.jsonl the moment its response arrives. A fatal endpoint error (401/403/404)
or Ctrl-C stops the run, and results.json still describes everything obtained up to then.

Generated suites (a `grid`, generated.py) first fit every cell's prompt to the endpoint's token count, then
build each job only when a worker pulls it (cache hits included), so only the prompts in flight exist. A
response whose `usage` shows the endpoint cut the prompt is recorded over the context (context_window.py).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from evalharness.cache import ResponseCache, cache_key
from evalharness.chat import ChatRequest, ChatResponse, EndpointError, Provider
from evalharness.errors import UserError
from evalharness.extract import Extractor
from evalharness.graders import Exchange, Grade, Grader, grader_class, make_grader
from evalharness.jobs import Job, build_jobs, iter_jobs, load_suite_items, make_record
from evalharness.metrics import GridSpec, MetricSpec, Tally
from evalharness.records import RunWriter, SampleRecord, base_results, make_run_id, read_records
from evalharness.runs import check_resumable, find_unfinished, fingerprint
from evalharness.solvers import Solver, Transcript, make_solver
from evalharness.suite import Suite, Task

__all__ = ["RunOptions", "RunResult", "SuiteRun", "run_suite", "build_jobs", "load_suite_items", "Job"]


class ProgressSink(Protocol):
    """What the runner tells its caller while it works (the CLI draws a progress line from it)."""

    def start(self, total: int, label: str) -> None: ...
    def advance(self, correct: bool, error: bool) -> None: ...
    def note(self, text: str) -> None: ...
    def status(self, state: dict[str, Any]) -> None: ...
    def close(self, completed: bool) -> None: ...


class NoProgress:
    def start(self, total: int, label: str) -> None: ...
    def advance(self, correct: bool, error: bool) -> None: ...
    def note(self, text: str) -> None: ...
    def status(self, state: dict[str, Any]) -> None: ...
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
    resume_dir: Path | None = None  # continue this run directory instead of starting a new one
    prices: dict[str, Any] = field(default_factory=dict)  # prompt_per_mtok, completion_per_mtok, currency
    tool_mode: str = "native"  # how suites with `prompt.tools` offer functions: native | prompt (evalharness/tools)


@dataclass
class RunResult:
    run_dir: Path
    results: dict[str, Any]

    @property
    def aborted(self) -> str | None:
        return self.results.get("aborted")


@dataclass
class _TaskRun:
    """What the runner holds per task: the task, its solver and its graders (primary first)."""

    task: Task
    solver: Solver
    graders: list[Grader]


class SuiteRun:
    """One suite against one provider: owns the solvers, graders, writer and per-sample bookkeeping."""

    def __init__(self, suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions):
        self.suite = suite
        self.provider = provider
        self.cache = cache
        self.options = options
        self.tasks = self._make_tasks()
        self.graders = list({id(g): g for t in self.tasks for g in t.graders}.values())
        grid = GridSpec(suite.grid.lengths, suite.grid.depths, suite.grid.threshold) if suite.grid else None
        spec = MetricSpec(metrics=suite.metrics, extra_graders=tuple(g.name for g in self.tasks[0].graders[1:]),
                          breakdown=suite.breakdown, subsets=suite.subsets, aggregate=suite.aggregate, grid=grid,
                          presentations=max(task.shuffle_choices for task in suite.tasks))
        self.tally = Tally(spec)
        self.abort_reason: str | None = None
        self.first_error: str | None = None
        self._hits: dict[str, ChatResponse] = {}
        # Graders that block run here, not in asyncio's default executor: asyncio.run waits for that one at
        # exit, and a stopped run must not wait for the grading of samples it gave up.
        self._grading = ThreadPoolExecutor(max(g.max_workers for g in self.graders), thread_name_prefix="grade")

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
        identity = self.provider.identity()
        settings = [t.generation for t in self.suite.tasks] + ([self.options.tool_mode] if self._offers_tools else [])
        fp = fingerprint(self.suite.raw, identity, settings, self.options.limit,
                         str(self.options.data_file) if self.options.data_file else None)
        if self.suite.generated:  # items built by code, fitted to the endpoint's token count, made lazily
            total, jobs = await self._generated_jobs()
        else:
            jobs = build_jobs(self.suite, load_suite_items(self.suite, self.options), identity, self.options.tool_mode)
            total = len(jobs)
        described = self.provider.describe()
        writer, carried = self._open_writer(fp, described, total)
        done = {(r.id, r.sample) for r in carried}
        if self.suite.generated:  # a lazy iterator: cache hits are looked up by `generate` as jobs run
            pending: Iterable[Job] = (job for job in jobs if (job.item.id, job.request.sample_index) not in done)
            cached: list[Job] = []
            count = total - len(done)
        else:
            jobs = [job for job in jobs if (job.item.id, job.request.sample_index) not in done]
            self._hits = self.cache.get_many(job.key for job in jobs) if self.cache else {}
            single = [self.tasks[job.task].solver.single_turn for job in jobs]
            cached = [job for job, one in zip(jobs, single) if one and job.key in self._hits]
            pending = [job for job, one in zip(jobs, single) if not (one and job.key in self._hits)]
            count = len(pending)
        progress = self.options.progress
        progress.start(total - len(done), self.suite.name)
        try:
            await self._grade_cached(cached, writer)
            await self._request_all(pending, writer, count)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.abort_reason = "interrupted by the user"
        finally:
            progress.close(completed=self.abort_reason is None)
            self._grading.shutdown(wait=self.abort_reason is None, cancel_futures=True)
            if self.cache:
                self.cache.flush()
            for grader in self.graders:
                grader.close()
        results = base_results(writer.run_id, self.suite.name, described, self.graders[0].describe())
        results.update(self.tally.results())
        stats = self.provider.stats()
        results.update({
            "samples_per_item": self.suite.samples_per_item,
            "requests": stats.get("requests", count),
            "retries": stats.get("retries", 0),
            "wall_s": time.perf_counter() - started,
            "aborted": self.abort_reason,
            "first_error": self.first_error,
            **{k: v for k, v in stats.items() if k not in ("requests", "retries")},  # replicas, rate-limit waits
        })
        if carried:
            results["resumed"] = len(carried)
        cost = self.tally.cost(self.options.prices.get("prompt_per_mtok"), self.options.prices.get("completion_per_mtok"),
                               self.options.prices.get("currency", "USD"))
        if cost is not None:
            results["cost"] = cost
        if self.suite.subsets:
            results["family"] = {"subsets": list(self.suite.subsets), "aggregate": self.suite.aggregate}
        if self._offers_tools:
            results["tool_mode"] = self.options.tool_mode
        writer.write_results(results)
        return RunResult(writer.run_dir, results)

    def _open_writer(self, fp: dict[str, str], described: dict[str, Any],
                     planned: int) -> tuple[RunWriter, list[SampleRecord]]:
        """A new run directory, or (`--resume`) the given one with the samples it already answered, which
        count in this run's results and are not asked again."""
        resume = self.options.resume_dir
        if resume is not None:
            check_resumable(resume, fp)
            carried = [r for r in read_records(resume / "samples.jsonl", torn_tail_ok=True) if not r.error]
            writer = RunWriter.reopen(resume, carried)
            for record in carried:
                self.tally.add(record)
            self.options.progress.note(f"resuming {resume}: {len(carried)} of {planned} samples already answered")
            return writer, carried
        for other in find_unfinished(self.options.output_dir, fp):
            self.options.progress.note(
                f"{other.path} is an unfinished run of this suite, model and settings ({other.progress} samples, "
                f"{other.reason}); to continue it instead, add --resume {other.path}")
        writer = RunWriter(self.options.output_dir, make_run_id(self.suite.name, described.get("model")))
        writer.write_config({**self._config_snapshot(described), "fingerprint": fp, "planned": planned})
        return writer, []

    @property
    def _offers_tools(self) -> bool:
        return any(task.prompt.tools is not None for task in self.suite.tasks)

    async def _generated_jobs(self) -> tuple[int, Iterator[Job]]:
        """Fit every cell's prompt to the endpoint's token count (generated.py), then return the number of
        jobs and an iterator that builds each job when a worker pulls it (cache hits go through `generate`).
        A failure to measure is a UserError: nothing has been obtained yet."""
        from evalharness.generated import prepare
        from evalharness.token_count import TokenCounter

        try:
            tasks = await prepare(self.suite, TokenCounter(self.provider, self._generate(0)), self.options.limit)
        except EndpointError as exc:
            raise UserError(f"{self.suite.source or self.suite.name}: could not measure prompt lengths on the "
                            f"endpoint: {exc}") from None
        if self.cache:
            self.cache.flush()
        identity = self.provider.identity()
        total = sum(len(g.cells) for g in tasks) * self.suite.samples_per_item
        jobs = (job for g in tasks for job in iter_jobs(g.index, g.task, g.items(), g.prompter, identity))
        return total, jobs

    def _config_snapshot(self, described: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"limit": self.options.limit,
                                   "data_file": str(self.options.data_file) if self.options.data_file else None}
        if self._offers_tools:
            options["tool_mode"] = self.options.tool_mode
        return {
            "suite": self.suite.raw,
            "suite_file": str(self.suite.source) if self.suite.source else None,
            "overrides": list(self.suite.overrides),
            "provider": described,
            **self.options.config_extra,
            "options": options,
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
                grades = await self._in_thread(job, transcript)
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

    async def _request_all(self, pending: Iterable[Job], writer: RunWriter, count: int) -> None:
        if not count:
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
                    if exc.kind is None:  # over-context samples are counted apart, not as failures
                        self.first_error = self.first_error or str(exc)
                    self._record(job, None, exc, {}, writer)
                    continue
                if blocking:
                    grades = await self._in_thread(job, transcript)
                else:
                    grades = self._grade_now(job, transcript)
                self._record(job, transcript, None, grades, writer)

        workers = [asyncio.create_task(worker(i)) for i in range(min(self.options.concurrency, count))]
        ticker = asyncio.create_task(self._report_status())
        try:
            await asyncio.gather(*workers)
        finally:
            ticker.cancel()
            for task in workers:
                task.cancel()

    async def _report_status(self) -> None:
        """Tell the progress line, twice a second, what the provider is doing (retrying, waiting for a rate
        limit, replicas out), so a waiting run never looks like a stuck one."""
        status = getattr(self.provider, "status", None)
        if status is None:
            return
        while True:
            await asyncio.sleep(0.5)
            self.options.progress.status(status())

    def _in_thread(self, job: Job, transcript: Transcript):
        return asyncio.get_running_loop().run_in_executor(self._grading, self._grade_now, job, transcript)

    def _grade_now(self, job: Job, transcript: Transcript) -> dict[str, Grade]:
        exchange = Exchange(job.item, transcript.messages, transcript.response, job.request.tools)
        return {g.name: g.grade(exchange) for g in self.tasks[job.task].graders}

    def _record(self, job: Job, transcript: Transcript | None, error: EndpointError | None,
                grades: dict[str, Grade], writer: RunWriter) -> None:
        record = make_record(job, transcript, error, grades, self.tasks[job.task].graders[0].name,
                             self.suite.breakdown)
        writer.append(record)
        self.tally.add(record)
        self.options.progress.advance(record.correct, record.error is not None)


async def run_suite(suite: Suite, provider: Provider, cache: ResponseCache | None, options: RunOptions) -> RunResult:
    return await SuiteRun(suite, provider, cache, options).execute()
