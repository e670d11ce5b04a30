"""Generated suites at run time: grid -> cells -> prompts fitted to the endpoint's token count -> items,
made one at a time (the generator contract is in `generators/__init__.py`).

1. Cells: every (length, depth, sample) of the suite's `grid`, lengths, then depths, then samples, in the
   order given; `--limit N` keeps each task's first N cells.
2. Fitting (`prepare`, before any sample is sent). A cell of length L gets a prompt of at most
   `usable = L - reserve` tokens in the endpoint's own count (`token_count.TokenCounter`), where reserve is
   the task's `generation.max_tokens` (room for the answer: a length counts the prompt and the answer, as
   in RULER), `DEFAULT_RESERVE` without one. The haystack size is searched by secant steps on a
   tokens-per-character rate (learned from the counts, warm-started from the previous length) until the
   count lands in [target - tolerance, target], tolerance = max(4 tokens, 0.5%).
   - Cheap counter (tokenize endpoint, in-process tokenizer): every cell is counted and fitted, target =
     usable, so each prompt is within 0.5% (+4 tokens) below usable and never above it.
   - Usage counter (each count is a one-token request): one reference cell per length (depth 50) is
     fitted, with `USAGE_SLACK` tokens kept free, and every depth of that length uses its size (needle
     values differ by a few tokens between cells).
   A length the endpoint refuses while measuring (over its context), or silently truncates (a count far
   below the learned rate, or no more tokens for a longer prompt), is not measured further, nor is any
   longer one: their cells get a size
   extrapolated from the learned rate (`count_method: extrapolated`) and are still sent, so every sample
   is reported over the context from the endpoint's own answer.
3. Items: `GeneratedTask.items()` builds a cell's row when the runner pulls its next job; only one size
   per cell is kept, so a 128K grid never holds its prompts at once.
Every generated item carries `id` (`<length>-<depth>-<sample>`), `length_tokens`, `depth`, `sample`,
`built_tokens` and `count_method`, besides the generator's columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator

from evalharness.chat import EndpointError
from evalharness.context_window import OVER_CONTEXT
from evalharness.datasets import map_row
from evalharness.errors import UserError
from evalharness.generators import Cell, Generator, make_generator
from evalharness.items import Item
from evalharness.prompts import Prompter, load_exemplars
from evalharness.suite import Suite, Task
from evalharness.token_count import CHARS_PER_TOKEN, TokenCounter, prompt_chars

DEFAULT_RESERVE = 128
USAGE_SLACK = 12
MAX_STEPS = 10
REFERENCE_DEPTH = 50.0


@dataclass(frozen=True)
class Fitted:
    """A cell's haystack size, and its prompt's tokens as counted (`method`), or extrapolated."""

    size: int
    tokens: int
    method: str


def grid_cells(suite: Suite, limit: int | None = None) -> list[Cell]:
    grid = suite.grid
    cells = [Cell(length, depth, sample) for length in grid.lengths for depth in grid.depths
             for sample in range(grid.samples)]
    return cells[:limit] if limit is not None else cells


def depth_value(depth: float) -> int | float:
    return int(depth) if float(depth).is_integer() else depth


@dataclass
class GeneratedTask:
    """One task's generator, prompter, cells and fitted sizes; `items()` makes its items lazily."""

    index: int
    task: Task
    generator: Generator
    prompter: Prompter
    cells: list[Cell]
    start: int = 0
    source: str = "suite"
    fits: dict[Cell, Fitted] = field(default_factory=dict)

    def item(self, position: int, cell: Cell, fit: Fitted | None = None) -> Item:
        row = self.generator.row(cell, fit.size if fit else 0)
        row.update(id=cell.id, length_tokens=cell.length, depth=depth_value(cell.depth), sample=cell.sample,
                   built_tokens=fit.tokens if fit else None, count_method=fit.method if fit else None)
        mapped = map_row(row, position, self.task.fields, self.source)
        subset = self.task.name
        item_id = f"{subset}/{mapped.id}" if subset is not None else mapped.id
        return Item(id=item_id, index=self.start + position, fields=mapped.fields, subset=subset)

    def messages(self, cell: Cell, size: int) -> list[dict[str, Any]]:
        return self.prompter.messages(self.item(0, cell, Fitted(size, 0, "")))

    def items(self) -> Iterator[Item]:
        for position, cell in enumerate(self.cells):
            yield self.item(position, cell, self.fits[cell])


async def prepare(suite: Suite, counter: TokenCounter, limit: int | None = None) -> list[GeneratedTask]:
    """Every task's cells with their sizes fitted to the endpoint's count (see the module docstring).
    Endpoint failures other than "over the context" pass through as `EndpointError`."""
    tasks: list[GeneratedTask] = []
    start = 0
    for t, task in enumerate(suite.tasks):
        label = f"{suite.source or suite.name}" + (f" (subset {task.name})" if task.name else "")
        generator = make_generator(task.dataset.generator, task.dataset.generator_options,
                                   base_dir=task.base_dir, source=label, salt=task.name or "")
        generated = GeneratedTask(t, task, generator, Prompter(task, load_exemplars(task)),
                                  grid_cells(suite, limit), start, label)
        await _Fitter(generated, counter).fit_all()
        tasks.append(generated)
        start += len(generated.cells)
    return tasks


class _Over(Exception):
    """The endpoint refused or truncated a measuring prompt: this length and longer ones are over."""


class _Fitter:
    def __init__(self, generated: GeneratedTask, counter: TokenCounter):
        self.g = generated
        self.counter = counter
        self.reserve = int(generated.task.generation.get("max_tokens") or DEFAULT_RESERVE)
        self.rate = 1 / CHARS_PER_TOKEN  # tokens per character, learned from counts
        self.rate_known = False
        self.zero: tuple[int, int] = (0, 0)  # (characters, tokens) of the prompt with no haystack
        self.last: tuple[int, int] | None = None  # the last prompt counted: (characters, tokens)

    async def fit_all(self) -> None:
        lengths = list(dict.fromkeys(cell.length for cell in self.g.cells))
        for length in lengths:
            if length - self.reserve < 16:
                raise UserError(f"{self.g.source}: grid.lengths: {length} leaves no room for a prompt after the "
                                f"{self.reserve} tokens reserved for the answer (generation.max_tokens)")
        first = Cell(lengths[0], REFERENCE_DEPTH)
        zero_messages = self.g.messages(first, 0)
        self.zero = (prompt_chars(zero_messages), await self.counter.count(zero_messages))
        over = False
        for length in lengths:
            size = 0  # 0: start from the learned rate
            cells = [cell for cell in self.g.cells if cell.length == length]
            usable = length - self.reserve
            if over:
                self._extrapolate(cells, usable)
                continue
            try:
                if self.counter.cheap:
                    for cell in cells:
                        fit = await self._fit(cell, usable, self._tolerance(usable), size)
                        self.g.fits[cell] = fit
                        size = fit.size
                else:
                    fit = await self._fit(Cell(length, REFERENCE_DEPTH), usable - USAGE_SLACK,
                                          self._tolerance(usable), size)
                    self.g.fits.update((cell, fit) for cell in cells)
                    size = fit.size
            except _Over:
                over = True
                self._extrapolate(cells, usable)

    @staticmethod
    def _tolerance(usable: int) -> int:
        return max(4, math.ceil(0.005 * usable))

    def _size_for(self, tokens: float) -> int:
        return max(0, round((tokens - self.zero[1]) / self.rate))

    def _extrapolate(self, cells: list[Cell], usable: int) -> None:
        size = self._size_for(usable - USAGE_SLACK)
        for cell in cells:
            self.g.fits[cell] = Fitted(size, round(self.zero[1] + self.rate * size), "extrapolated")

    async def _fit(self, cell: Cell, target: int, tolerance: int, size: int) -> Fitted:
        """The largest size whose prompt counts in [target - tolerance, target] (or the best below)."""
        goal = target - tolerance / 2
        size = size or self._size_for(goal)
        below: tuple[int, int] | None = None
        above: tuple[int, int] | None = None
        seen: set[int] = set()
        for _ in range(MAX_STEPS):
            messages = self.g.messages(cell, size)
            chars = prompt_chars(messages)
            if chars in seen:
                break
            seen.add(chars)
            tokens = await self._count(messages, chars)
            if target - tolerance <= tokens <= target:
                return Fitted(size, tokens, self.counter.method or "")
            if tokens > target:
                above = (size, tokens) if above is None or size < above[0] else above
            else:
                below = (size, tokens) if below is None or size > below[0] else below
            step = round((goal - tokens) / self.rate)
            size = max(0, size + (step if step else (1 if tokens < target else -1)))
            if below and above:
                if above[0] - below[0] <= 1:
                    break
                size = min(max(size, below[0] + 1), above[0] - 1)
        if below is not None:
            return Fitted(below[0], below[1], self.counter.method or "")
        raise UserError(f"{self.g.source}: grid length {cell.length}: the prompt is over {target} tokens "
                        f"(the length minus {self.reserve} reserved for the answer) even with almost no "
                        "haystack; use longer grid.lengths or a smaller generation.max_tokens")

    async def _count(self, messages: list[dict[str, Any]], chars: int) -> int:
        try:
            tokens = await self.counter.count(messages)
        except EndpointError as exc:
            if exc.kind == OVER_CONTEXT:
                raise _Over(str(exc)) from None
            raise
        extra_chars = chars - self.zero[0]
        if self.counter.method == "usage" and extra_chars > 400:
            expected = self.zero[1] + self.rate * extra_chars
            longer = self.last is not None and chars > 1.05 * self.last[0] and tokens <= self.last[1]
            if longer or tokens < expected * (0.9 if self.rate_known else 0.5):  # it keeps only so many tokens
                raise _Over(f"counted {tokens} tokens where {round(expected)} were expected (silent truncation)")
        self.last = (chars, tokens)
        if extra_chars > 400:
            self.rate = (tokens - self.zero[1]) / extra_chars
            self.rate_known = True
        return tokens
