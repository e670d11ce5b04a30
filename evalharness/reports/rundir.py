"""Load run directories (docs/records.md) for reports and comparisons.

A run directory holds `config.yaml`, `samples.jsonl` and `results.json`; only the last two are read here.
An argument may also be a folder whose sub-folders are run directories (e.g. `reports/runs`), which expands
to those runs in name order. `Run.samples` are `records.SampleSummary`s (every field but the texts), so a
50,000-sample run fits in a few tens of MB; `Run.full_records()` streams the complete `SampleRecord`s
(messages, response, tool calls) when a report shows them. Items are keyed by (`suite`, `id`); one sample
per (`id`, `sample`); a sample seen twice keeps its last line. Every number comes from `metrics`
(`Run.tally`), as in results.json. Anything malformed is a `UserError` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from evalharness.errors import UserError
from evalharness.metrics import MetricSpec, Tally
from evalharness.records import SampleRecord, SampleSummary, last_lines, read_records

Sample = SampleSummary  # the name reports have always used for one completion


@dataclass
class Run:
    """A loaded run: its results.json as a dict; its samples (summaries) and numbers read when first used."""

    path: Path
    results: dict[str, Any]
    lines: set[int] | None = None  # the samples.jsonl lines holding the last version of each sample

    @cached_property
    def samples(self) -> list[SampleSummary]:
        return list(read_records(self.path / "samples.jsonl", keep_last=False, light=True,
                                 only_lines=self._lines()))

    def _lines(self) -> set[int]:
        if self.lines is None:
            self.lines = last_lines(self.path / "samples.jsonl")
        return self.lines

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
        return MetricSpec.from_results(self.results)

    @cached_property
    def tally(self) -> Tally:
        """Every number about this run, from its samples (see metrics.py), streamed: a comparison of two
        50,000-sample runs holds their tallies, not their samples."""
        if "samples" in self.__dict__:
            return Tally(self.spec).add_all(self.samples)
        file = self.path / "samples.jsonl"
        return Tally(self.spec).add_all(read_records(file, keep_last=False, light=True, only_lines=self._lines()))

    def full_records(self, ids: set[str] | None = None) -> Iterator[SampleRecord]:
        """The complete records (last version of each sample), streamed in file order; only items `ids`."""
        file = self.path / "samples.jsonl"
        for record in read_records(file, keep_last=False, only_lines=self._lines()):
            if ids is None or record.id in ids:
                yield record

    def by_item(self) -> dict[str, list[SampleSummary]]:
        """Samples grouped by item id, in dataset order (computed once; do not mutate)."""
        return self._groups

    @cached_property
    def _groups(self) -> dict[str, list[SampleSummary]]:
        groups: dict[str, list[SampleSummary]] = {}
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
    samples = path / "samples.jsonl"
    if not samples.is_file():
        raise UserError(f"{samples}: missing; a run directory needs samples.jsonl next to results.json")
    return Run(path=path, results=results, lines=last_lines(samples))


def load_runs(paths: list[Path]) -> list[Run]:
    return [load_run(p) for p in expand_run_dirs(paths)]
