"""Item generators: suites whose items are built by code from a grid instead of read from a dataset.

A suite names one in its dataset block, like a grader: `dataset: {generator: needle}` or
`dataset: {generator: {name: needle, value_type: uuids}}` (options typed by the generator's `Options` and
checked when the suite loads), and gives a top-level `grid:` (context lengths in tokens x needle depths in
percent x samples per cell; `--set grid.lengths=[1024,4096]` overrides it). Built-ins are listed in
`GENERATORS`; any other is named by where it lives (`path/to/file.py:Class`, `package.module:Class`).

The contract. A generator turns one grid `Cell` plus a haystack `size` (in characters) into one row, a
dict of the columns it declares (`columns`: what templates and graders see, e.g. `context`, `query`,
`gold`). It is deterministic: the same cell, size and options give the same row, so prompts and their
cache keys repeat from run to run. It does not count tokens: `generated.py` searches the size whose
prompt has the cell's length in the endpoint's own tokens, and asks the generator for rows at that size
one at a time, so a 128K grid never holds all its prompts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evalharness import registry
from evalharness.schema import Strict, convert

GENERATORS: dict[str, str] = {
    "needle": "evalharness.generators.needle:Needle",                      # needle(s) in a haystack
    "variable_tracking": "evalharness.generators.variable_tracking:VariableTracking",  # RULER's chains
}
CELL_COLUMNS = ("length_tokens", "depth", "sample")  # added to every generated row


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the context length in tokens (the prompt plus room for the answer), the
    depth in percent of the haystack where the (first) needle goes, and which sample of that cell."""

    length: int
    depth: float
    sample: int = 0

    @property
    def id(self) -> str:
        return f"{self.length}-{self.depth:g}-{self.sample}"


class GeneratorOptions(Strict, frozen=True):
    """Options every generator accepts: `seed` varies the random keys and values of every cell."""

    seed: int = 0


class Generator:
    name: ClassVar[str] = "generator"
    Options: ClassVar[type[GeneratorOptions]] = GeneratorOptions
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: GeneratorOptions, *, base_dir: Path = Path("."), source: str = "suite",
                 salt: str = ""):
        self.options = options
        self.base_dir = base_dir
        self.source = source
        self.salt = salt  # e.g. the subset's name, so two subsets do not hide the same keys and values

    def row(self, cell: Cell, size: int) -> dict[str, Any]:
        """The row of `cell` with a haystack of about `size` characters (cut back to a word boundary)."""
        raise NotImplementedError

    def rng_seed(self, cell: Cell) -> str:
        """A seed string for `random.Random` (hashed with SHA-512, so stable across processes)."""
        return f"{self.name}:{self.salt}:{self.options.seed}:{cell.length}:{cell.depth:g}:{cell.sample}"


def generator_class(name: str, base_dir: Path | None = None) -> type[Generator]:
    return registry.resolve(name, GENERATORS, kind="generator", base_dir=base_dir)


def check_options(name: str, options: dict[str, Any], *, source: str, path: str,
                  base_dir: Path | None = None) -> GeneratorOptions:
    """Validate a generator's options: `source: path.field: expected ...` on a mistake."""
    cls = generator_class(name, base_dir)
    return convert(options, cls.Options, source=source, root=path, prefix=path + ".")


def make_generator(name: str, options: dict[str, Any], *, base_dir: Path, source: str, salt: str = "") -> Generator:
    cls = generator_class(name, base_dir)
    checked = check_options(name, options, source=source, path="dataset.generator", base_dir=base_dir)
    return cls(checked, base_dir=base_dir, source=source, salt=salt)
