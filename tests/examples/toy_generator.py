"""docs/extending.md's generator example: a needle of `word` repeated in plain filler."""

import random

from evalharness.generators import Cell, Generator, GeneratorOptions
from evalharness.generators.haystack import NOISE, Haystack


class EchoOptions(GeneratorOptions, frozen=True):
    word: str = "needle"


class Echo(Generator):
    name = "echo"
    Options = EchoOptions
    columns = ("context", "gold")

    def row(self, cell: Cell, size: int) -> dict:
        value = str(random.Random(self.rng_seed(cell)).randint(1000, 9999))
        context, _ = Haystack(NOISE, joiner="").build(size, [(cell.depth, f"The {self.options.word} is {value}.")])
        return {"context": context, "gold": value}
