"""Generator `needle`: needles in a haystack, from the single-needle test to RULER's harder variants.

Each cell's context is the haystack (essays or noise, `haystack.py`) with `keys x values` needle
sentences ("The special magic number for calm-harbor is 4721093."). The question asks for the values of
`queries` of the keys; the other keys are distractors. So:
- single needle: keys 1, values 1, queries 1 (value_type numbers or uuids);
- multi-key: keys 4, queries 1 (three distractor needles with other keys);
- multi-value: values 4 (four values for the one key; all must be found);
- multi-query: keys 4, queries 4 (asked about all four keys).
The first queried needle goes at the cell's depth; every other needle at a depth drawn from the cell's
seed. Keys and values are drawn per cell (seeded), so every cell asks something new.

Row columns: `context`, `query` (the asked keys, "a, b and c"), `gold` (the value, or a list of every
asked value), `value_kind` ("number", "UUID", "word"), `needle_depth` (where the first queried needle
really is, in percent of the haystack: the nearest sentence boundary to the cell's depth).
"""

from __future__ import annotations

import random
import uuid
from typing import Annotated, Any, Literal

import msgspec

from evalharness.generators import Cell, Generator, GeneratorOptions
from evalharness.generators.haystack import HaystackMixin, HaystackSource

ADJECTIVES = ("amber", "bold", "brisk", "calm", "clever", "crimson", "curious", "dusty", "eager", "faint",
              "fierce", "gentle", "golden", "hollow", "humble", "icy", "jolly", "keen", "lively", "lucky",
              "mellow", "misty", "noble", "odd", "pale", "proud", "quiet", "rapid", "rusty", "shy", "silent",
              "silver", "sleepy", "smooth", "solemn", "spare", "steady", "stormy", "sunny", "swift", "tame",
              "tidy", "vast", "velvet", "warm", "wild", "wise", "young")
NOUNS = ("anchor", "badger", "barrel", "beacon", "canyon", "castle", "cedar", "comet", "compass", "cottage",
         "falcon", "fern", "fiddle", "garden", "glacier", "harbor", "hammer", "island", "kettle", "ladder",
         "lantern", "maple", "meadow", "mirror", "otter", "orchard", "pebble", "pepper", "pillow", "planet",
         "quarry", "raven", "ribbon", "saddle", "salmon", "shovel", "spindle", "summit", "teapot", "thistle",
         "tunnel", "valley", "violin", "walrus", "willow", "window", "wizard", "yarn")
Kind = Literal["numbers", "uuids", "words"]
SINGULAR = {"numbers": "number", "uuids": "UUID", "words": "word"}


class NeedleOptions(GeneratorOptions, frozen=True):
    """`haystack`: essays (from `source`) or noise; `keys`, `values`, `queries`: see the module docstring;
    `key_type`/`value_type`: what keys and values look like; `needle`: the sentence, with `{value_kind}`,
    `{key}` and `{value}` placeholders."""

    haystack: Literal["essays", "noise"] = "essays"
    source: HaystackSource = msgspec.field(default_factory=HaystackSource)
    keys: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    values: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    queries: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    key_type: Kind = "words"
    value_type: Kind = "numbers"
    needle: str = "The special magic {value_kind} for {key} is {value}."

    def __post_init__(self) -> None:
        if self.queries > self.keys:
            raise ValueError(f"queries ({self.queries}) cannot exceed keys ({self.keys})")


def draw(kind: str, rng: random.Random) -> str:
    """A random key or value: a 7-digit number, a version-4 UUID, or an adjective-noun pair."""
    if kind == "numbers":
        return str(rng.randint(1_000_000, 9_999_999))
    if kind == "uuids":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"


def draw_distinct(kind: str, count: int, rng: random.Random, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        value = draw(kind, rng)
        if value not in taken:
            taken.add(value)
            out.append(value)
    return out


def join_keys(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


class Needle(HaystackMixin, Generator):
    name = "needle"
    Options = NeedleOptions
    columns = ("context", "query", "gold", "value_kind", "needle_depth")

    def row(self, cell: Cell, size: int) -> dict[str, Any]:
        o = self.options
        rng = random.Random(self.rng_seed(cell))
        taken: set[str] = set()
        keys = draw_distinct(o.key_type, o.keys, rng, taken)
        values = {key: draw_distinct(o.value_type, o.values, rng, taken) for key in keys}
        asked = keys[:o.queries]
        needles = [(key, value) for key in keys for value in values[key]]
        depths = [cell.depth] + [rng.uniform(0, 100) for _ in needles[1:]]
        kind = SINGULAR[o.value_type]
        sentences = [o.needle.replace("{value_kind}", kind).replace("{key}", key).replace("{value}", value)
                     for key, value in needles]
        context, placed = self.haystack.build(size, list(zip(depths, sentences)))
        gold = [value for key in asked for value in values[key]]
        return {"context": context, "query": join_keys(asked), "gold": gold[0] if len(gold) == 1 else gold,
                "value_kind": kind, "needle_depth": placed[0]}
