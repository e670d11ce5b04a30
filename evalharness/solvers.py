"""Solvers: what happens between the prompt and the grade.

The runner hands a solver the item's first request and a `generate` function (cached, retried, counted);
the solver returns a `Transcript`: the conversation it ended with and the final response to grade. The
default, `generate`, asks once. A multi-turn solver (call a tool and send its result back, ask the model to
check itself) loops over `generate` with growing message lists; every turn is cached under its own request,
so a re-run replays the whole exchange without a request. The runner does not change for a new solver.

Add one by writing a `Solver` subclass in one file and naming it in a suite (`solver: path/to/file.py:Class`
or `solver: {name: ..., option: value}`); built-ins are listed in `SOLVERS`. See docs/extending.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, ClassVar

from evalharness import registry
from evalharness.chat import ChatRequest, ChatResponse
from evalharness.items import Item
from evalharness.schema import Strict

Generate = Callable[[ChatRequest], Awaitable[ChatResponse]]


@dataclass
class Transcript:
    """`messages`: the conversation as last sent; `response`: the final answer, graded; `turns`: every
    response obtained, in order (the record sums their tokens, latency and attempts)."""

    messages: list[dict[str, Any]]
    response: ChatResponse
    turns: list[ChatResponse] = field(default_factory=list)


class SolverOptions(Strict):
    """A solver's suite options (`solver: {name: ..., option: value}`); none for `generate`."""


class Solver:
    name: ClassVar[str] = "solver"
    Options: ClassVar[type[SolverOptions]] = SolverOptions
    single_turn: ClassVar[bool] = False  # True lets the runner grade cached answers without the request window

    def __init__(self, options: SolverOptions | None = None):
        self.options = options if options is not None else self.Options()

    async def solve(self, request: ChatRequest, item: Item, generate: Generate) -> Transcript:
        raise NotImplementedError


class GenerateSolver(Solver):
    """Send the prompt once; grade that response."""

    name = "generate"
    single_turn = True

    async def solve(self, request: ChatRequest, item: Item, generate: Generate) -> Transcript:
        response = await generate(request)
        return Transcript(request.messages, response, [response])


SOLVERS: dict[str, str] = {"generate": "evalharness.solvers:GenerateSolver"}


def solver_class(name: str, base_dir: Path | None = None) -> type[Solver]:
    return registry.resolve(name, SOLVERS, kind="solver", base_dir=base_dir)


def make_solver(name: str, options: dict[str, Any], base_dir: Path | None = None, source: str = "suite") -> Solver:
    from evalharness.schema import convert

    cls = solver_class(name, base_dir)
    return cls(convert(options, cls.Options, source=source, root="solver", prefix="solver."))
