"""The grader contract: a grader turns one `Exchange` into a `Grade`.

- `Exchange` is everything about one sample a grader may look at: the item (its id and every mapped
  field, `gold` included), the messages sent (a solver's whole conversation), the final response
  (text, tool calls, finish reason, token usage), and the tools the request offered natively (`tools`,
  None when it offered none that way, e.g. in the `prompt` tool mode, where they are in the system
  message). It is plain data, so it pickles.
- `Grade` is the verdict: `correct`, `extracted` (the answer or code compared; None when no answer could
  be found, which reports count apart from wrong answers), and grader-specific `details`.
- A grader declares its options as `Options`, a `schema.Strict` struct, so a suite's typo or wrong type
  is a one-line error when the suite loads, before any request. Graders that read a final answer out of
  the text use the run's one `extract.Extractor` (the suite's `extract:` block, else the primary grader's
  `default_strategies`), so two graders never extract differently.

`grade` must be thread-safe and must never raise on hostile model output: garbage in, `correct=False` out.
A grader that blocks (sympy in a worker process, a sandboxed program) sets `blocking = True`; the runner
then calls it from worker threads so grading overlaps with requests. `close` releases pools. A grader
pickles as its options, so grading can move to other processes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable

import msgspec

from evalharness.chat import ChatResponse, ToolCall
from evalharness.extract import DEFAULT_STRATEGIES, Context, Extraction, Extractor, ExtractSpec
from evalharness.items import Item
from evalharness.schema import Strict, convert


@dataclass(frozen=True)
class Exchange:
    """One sample as a grader sees it (see the module docstring)."""

    item: Item
    messages: list[dict[str, Any]] = field(default_factory=list)
    response: ChatResponse | None = None
    tools: list[dict[str, Any]] | None = None  # the request's native `tools`; None when not offered natively

    @property
    def text(self) -> str:
        return self.response.content if self.response is not None else ""

    @property
    def gold(self) -> Any:
        return self.item.gold

    @property
    def fields(self) -> dict[str, Any]:
        return self.item.fields

    @property
    def tool_calls(self) -> list[ToolCall]:
        return list(self.response.tool_calls) if self.response is not None else []

    @classmethod
    def of_text(cls, response: str | None, gold: Any = None, fields: dict[str, Any] | None = None) -> "Exchange":
        """An exchange made from a bare response text (offline grading, tests)."""
        fields = {**(fields or {})}
        if gold is not None or "gold" not in fields:
            fields["gold"] = gold
        reply = None if response is None else ChatResponse(content=str(response))
        return cls(Item(id=str(fields.get("id", "0")), index=0, fields=fields), [], reply)


@dataclass
class Grade:
    """A verdict. `extracted` is what the grader compared (final answer, or the code it ran), None when
    nothing could be extracted; `details` holds grader-specific facts for the record."""

    correct: bool
    extracted: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class GraderOptions(Strict):
    """Options every grader accepts. `extract` overrides the suite's `extract:` block for this grader."""

    extract: ExtractSpec | None = None


class Grader:
    name: ClassVar[str] = "grader"
    Options: ClassVar[type[GraderOptions]] = GraderOptions
    blocking: ClassVar[bool] = False
    needs_gold: ClassVar[bool] = True
    default_strategies: ClassVar[tuple[str, ...]] = DEFAULT_STRATEGIES
    bare_answers: ClassVar[bool] = True  # a response that is nothing but an answer is taken whole
    max_workers: int = 4

    def __init__(self, options: GraderOptions | None = None, /, *, extractor: Extractor | None = None,
                 **kwargs: Any):
        if options is None:
            options = convert(kwargs, self.Options, source=f"grader {self.name}", root="options", prefix="options")
        self.options = options
        if options.extract is not None or extractor is None:  # the grader's own rules, else the run's
            extractor = Extractor(options.extract, self.default_strategies, self.bare_answers)
        self.extractor = extractor
        self.setup()

    def setup(self) -> None:
        """Start what the grader needs (pools, sandboxes); called once after the options are set."""

    def grade(self, exchange: Exchange) -> Grade:
        raise NotImplementedError

    def final_answer(self, exchange: Exchange) -> Extraction:
        """The final answer in the response, by the run's extraction rules."""
        return self.extractor(exchange.text, self.context(exchange))

    def context(self, exchange: Exchange) -> Context | None:
        """What context strategies may read about the item: its options as shown and their letters (a
        `choices:` block's `choice_texts`/`choice_letters`, else a plain `choices` list)."""
        fields = exchange.fields
        texts, letters = fields.get("choice_texts"), fields.get("choice_letters")
        if not isinstance(texts, (list, tuple)):
            texts, letters = fields.get("choices"), None
        if not isinstance(texts, (list, tuple)):
            return None
        labels = tuple(map(str, letters)) if isinstance(letters, (list, tuple)) else ()
        return Context(choices=tuple(map(str, texts)), labels=labels)

    def grade_text(self, response: str | None, gold: Any = None, item: dict[str, Any] | None = None) -> Grade:
        """Grade a bare response text against `gold` (offline grading and tests)."""
        return self.grade(Exchange.of_text(response, gold, item))

    def grade_many(self, rows: Iterable[Exchange | tuple[str | None, Any, dict[str, Any]]]) -> list[Grade]:
        """Grade a batch: exchanges, or (response, gold, item) tuples; blocking graders use a thread pool."""
        exchanges = [row if isinstance(row, Exchange) else Exchange.of_text(*row) for row in rows]
        if not self.blocking or len(exchanges) < 2:
            return [self.grade(ex) for ex in exchanges]
        with ThreadPoolExecutor(self.max_workers) as pool:
            return list(pool.map(self.grade, exchanges))

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        """Facts about how grading ran, stored in results.json (e.g. sandbox isolation level)."""
        return {"grader": self.name}

    def __reduce__(self):
        return (_rebuild, (type(self), msgspec.to_builtins(self.options), self.extractor))


def _rebuild(cls: type[Grader], options: dict[str, Any], extractor: Extractor) -> Grader:
    return cls(convert(options, cls.Options, source=f"grader {cls.name}", root="options"), extractor=extractor)
