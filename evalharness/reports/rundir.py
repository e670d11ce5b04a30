"""Load run directories (docs/records.md) for reports and comparisons.

A run directory holds `config.yaml`, `samples.jsonl` and `results.json`; only the last two are read here.
An argument may also be a folder whose sub-folders are run directories (e.g. `reports/runs`), which expands
to those runs in name order. Samples are `records.SampleRecord`s, the same type the runner wrote; items are
keyed by (`suite`, `id`); one sample per (`id`, `sample`); a sample seen twice (a resumed run appending
again) keeps its last line. Every number comes from `metrics` (`Run.tally`), as in results.json. Anything
malformed is a `UserError` naming the file and line, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from evalharness.errors import UserError
from evalharness.metrics import MetricSpec, Tally
from evalharness.records import SampleRecord, read_records

Sample = SampleRecord  # the name reports have always used for one completion


@dataclass
class Run:
    """A loaded run: its results.json as a dict plus its samples in file order."""

    path: Path
    results: dict[str, Any]
    samples: list[SampleRecord] = field(default_factory=list)

    @property
    def suite(self) -> str:
        return str(self.results.get("suite") or "suite")

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id") or self.path.name)

    @property
    def metric_names(self) -> list[str]:
        """The run's metrics as results.json names them (`accuracy`, `pass@1`, `accuracy[math_equiv]`,
        `accuracy_macro`...); accuracy if absent."""
        names = list((self.results.get("metrics") or {}).keys())
        return names or ["accuracy"]

    @cached_property
    def spec(self) -> MetricSpec:
        spec = MetricSpec.from_results(self.results)
        if not spec.breakdown and not self.results.get("breakdown"):
            keys = sorted({k for s in self.samples for k in s.meta if k != "subset"})
            spec = replace(spec, breakdown=tuple(keys))
        return spec

    @cached_property
    def tally(self) -> Tally:
        """Every number about this run, from its samples (see metrics.py)."""
        return Tally(self.spec).add_all(self.samples)

    def by_item(self) -> dict[str, list[SampleRecord]]:
        """Samples grouped by item id, in dataset order (computed once; do not mutate)."""
        return self._groups

    @cached_property
    def _groups(self) -> dict[str, list[SampleRecord]]:
        groups: dict[str, list[SampleRecord]] = {}
        for s in sorted(self.samples, key=lambda x: (x.index, x.sample)):
            groups.setdefault(s.id, []).append(s)
        return groups


def expand_run_dirs(paths: list[Path]) -> list[Path]:
    """Each path is a run directory, or a folder of run directories; returns run directories in order."""
    if not paths:
        raise UserError("no run directory given: pass one or more folders written by `evalharness run`")
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"{path}: no such run directory (pass a folder written by `evalharness run`)")
        if (path / "results.json").is_file() or (path / "samples.jsonl").is_file():
            found.append(path)
            continue
        children = sorted(p for p in path.iterdir() if (p / "results.json").is_file())
        if not children:
            raise UserError(f"{path}: no results.json here or in its sub-folders; is this a run directory?")
        found.extend(children)
    return found


def load_run(path: Path) -> Run:
    """Read one run directory; raises UserError on a missing or corrupt file."""
    path = Path(path)
    results_file = path / "results.json"
    if not results_file.is_file():
        raise UserError(f"{path}: no results.json; the run may still be going or was not written by evalharness")
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{results_file}: not valid JSON ({exc})") from None
    if not isinstance(results, dict):
        raise UserError(f"{results_file}: expected a JSON object, got {type(results).__name__}")
    return Run(path=path, results=results, samples=list(read_records(path / "samples.jsonl")))


def load_runs(paths: list[Path]) -> list[Run]:
    return [load_run(p) for p in expand_run_dirs(paths)]
