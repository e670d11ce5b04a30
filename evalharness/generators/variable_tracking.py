"""Generator `variable_tracking`: RULER's multi-hop tracing task, in our own words.

A chain of assignments is hidden in the haystack: "VAR QWERT = 52731." then "VAR ASDFG = VAR QWERT.",
and so on for `hops` hops; with `chains` > 1 the other chains (other values) are distractors. The question
gives the first chain's value and asks for every variable that ends up holding it. The chain's first
assignment goes at the cell's depth and its later ones at seeded depths after it, in order, so the chain
reads forwards; distractor chains go at seeded depths anywhere (each chain in order).

Row columns: `context`, `query` (the value), `gold` (the first chain's variable names, all must be
named), `num_vars` (how many there are), `needle_depth` (where the first assignment really is, percent).
"""

from __future__ import annotations

import random
import string
from typing import Annotated, Any, Literal

import msgspec

from evalharness.generators import Cell, Generator, GeneratorOptions
from evalharness.generators.haystack import HaystackMixin, HaystackSource


class VariableTrackingOptions(GeneratorOptions, frozen=True):
    haystack: Literal["essays", "noise"] = "noise"
    source: HaystackSource = msgspec.field(default_factory=HaystackSource)
    chains: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    hops: Annotated[int, msgspec.Meta(ge=1, le=32)] = 4


class VariableTracking(HaystackMixin, Generator):
    name = "variable_tracking"
    Options = VariableTrackingOptions
    columns = ("context", "query", "gold", "num_vars", "needle_depth")

    def row(self, cell: Cell, size: int) -> dict[str, Any]:
        o = self.options
        rng = random.Random(self.rng_seed(cell))
        names: set[str] = set()
        needles: list[tuple[float, str]] = []
        first_chain: list[str] = []
        first_value = ""
        for chain in range(o.chains):
            variables = []
            while len(variables) < o.hops + 1:
                name = "".join(rng.choices(string.ascii_uppercase, k=5))
                if name not in names:
                    names.add(name)
                    variables.append(name)
            value = str(rng.randint(10_000, 99_999))
            start = cell.depth if chain == 0 else rng.uniform(0, 100)
            depths = [start] + sorted(rng.uniform(start, 100) for _ in range(o.hops))
            statements = [f"VAR {variables[0]} = {value}."]
            statements += [f"VAR {variables[i + 1]} = VAR {variables[i]}." for i in range(o.hops)]
            needles += list(zip(depths, statements))
            if chain == 0:
                first_chain, first_value = variables, value
        context, placed = self.haystack.build(size, needles)
        return {"context": context, "query": first_value, "gold": first_chain, "num_vars": len(first_chain),
                "needle_depth": placed[0]}
