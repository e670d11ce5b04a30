"""Jobs: what a run asks for, one per (item, sample), and the sample record each one ends in.

`load_suite_items` reads every task's items; `build_jobs` turns them into requests (messages from
prompts.py, the functions offered in the run's tool mode, per-sample seeds) with their cache keys;
`iter_jobs` does the same lazily for generated suites, whose prompts should exist only while in flight;
With `shuffle_choices: N` an item's samples are its N option orders (sample p shows order p).
`make_record` writes down what a job sent, what came back (summed over a solver's turns) and the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator

from evalharness.cache import cache_key
from evalharness.chat import ChatRequest, EndpointError
from evalharness.choices import present, represent
from evalharness.context_window import prompt_meta, truncation_error
from evalharness.datasets import load_items
from evalharness.graders import Grade
from evalharness.items import Item
from evalharness.prompts import ExemplarPool, Prompter, load_exemplars
from evalharness.records import SampleRecord
from evalharness.solvers import Transcript
from evalharness.suite import Suite, Task


@dataclass
class Job:
    item: Item
    task: int  # index into the run's task list
    request: ChatRequest
    key: str


def load_suite_items(suite: Suite, options: Any) -> list[Item]:
    """Every task's items, in task order; indices run across tasks. `options` has `data_file` (`--data`) and
    `limit` (`--limit`, per task), e.g. a `RunOptions`."""
    items: list[Item] = []
    for task in suite.tasks:
        source = f"{suite.source or suite.name}" + (f" (subset {task.name})" if task.name else "")
        loaded = load_items(task.dataset, task.fields, data_file=options.data_file, limit=options.limit,
                            source=source, subset=task.name, start=len(items))
        if task.choices is not None:  # options formatted, gold read as the letter shown (choices.py)
            loaded = [replace(item, fields=present(item.fields, task.choices, f"{source}: item {item.id}"))
                      for item in loaded]
        items += loaded
    return items


def build_jobs(suite: Suite, items: list[Item], identity: dict[str, Any], tool_mode: str = "native") -> list[Job]:
    """One job per (item, sample), in item order. Sample s > 0 gets seed + s so n seeded samples are not
    n copies. `tool_mode` says how a suite's functions are offered (request `tools` or system message)."""
    task_of = {task.name: t for t, task in enumerate(suite.tasks)}
    memo: dict[int, tuple[Any, str]] = {}
    jobs: list[Job] = []
    for t, task in enumerate(suite.tasks):
        own = [item for item in items if task_of.get(item.subset, 0) == t]
        jobs += iter_jobs(t, task, own, _prompter(task, own, tool_mode), identity, memo)
    return jobs


def _prompter(task: Task, own: list[Item], tool_mode: str) -> Prompter:
    """The task's prompt builder: exemplars drawn once (leaving the evaluated rows out when they come from
    the same split), or per item (`fewshot.draw: per_item`)."""
    same = _fewshot_from_same_data(task)
    fewshot = task.prompt.fewshot
    if fewshot is not None and fewshot.count and fewshot.draw == "per_item":
        return Prompter(task, [], ExemplarPool(task, exclude_self=same), tool_mode=tool_mode)
    exclude = {item.row for item in own} if same else None
    return Prompter(task, load_exemplars(task, exclude), tool_mode=tool_mode)


def iter_jobs(t: int, task: Task, items: Iterable[Item], prompter: Prompter, identity: dict[str, Any],
              memo: dict[int, tuple[Any, str]] | None = None) -> Iterator[Job]:
    """The jobs of task `t`'s items, made as they are pulled (a generated suite's prompts exist only while
    their job is in flight; pass no `memo` then, it would keep every message alive)."""
    params = {k: v for k, v in task.generation.items() if k != "n"}
    for item in items:
        if task.shuffle_choices and task.choices is not None:  # sample p is the item's option order p
            for p in range(task.shuffle_choices):
                shown = item if p == 0 else replace(item, fields=represent(item.fields, task.choices, p))
                request = ChatRequest(prompter.messages(shown), params, p, prompter.tools(shown))
                yield Job(shown, t, request, cache_key(identity, request, memo))
            continue
        messages = prompter.messages(item)
        tools = prompter.tools(item)
        for sample in range(task.samples_per_item):
            sample_params = params
            if sample and "seed" in params:
                sample_params = {**params, "seed": params["seed"] + sample}
            request = ChatRequest(messages, sample_params, sample, tools)
            yield Job(item, t, request, cache_key(identity, request, memo))


def _fewshot_from_same_data(task: Task) -> bool:
    fewshot = task.prompt.fewshot
    return bool(fewshot and fewshot.dataset and fewshot.dataset == task.dataset)


def make_record(job: Job, transcript: Transcript | None, error: EndpointError | None, grades: dict[str, Grade],
                primary: str, breakdown: tuple[str, ...]) -> SampleRecord:
    """The sample record of one job: what was sent, what came back (summed over a solver's turns), the
    verdicts."""
    turns = transcript.turns if transcript else []
    response = transcript.response if transcript else None
    if error is None:  # a prompt the endpoint cut silently is over its context, not answered
        error = truncation_error(job.item.fields, response)
    verdict = grades.get(primary)
    meta = {key: job.item.fields.get(key) for key in breakdown}
    if job.item.subset is not None:
        meta["subset"] = job.item.subset
    meta.update(prompt_meta(job.item.fields, response, error))
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
        error_kind=error.kind if error else None,
        meta=meta,
        subset=job.item.subset,
        tool_calls=[call.to_json() for call in response.tool_calls] if response and response.tool_calls else None,
        turns=len(turns) or 1,
    )
