"""Load run directories (docs/records.md) into plain dataclasses for reports and comparisons.

A run directory holds `config.yaml`, `samples.jsonl` and `results.json`; only the last two are read here.
An argument may also be a folder whose sub-folders are run directories (e.g. `reports/runs`), which expands
to those runs in name order. Items are keyed by (`suite`, `id`); one sample per (`id`, `sample`); a sample
seen twice (a resumed run appending again) keeps its last line. Anything malformed is a `UserError` naming
the file and line, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evalharness.errors import UserError


@dataclass
class Sample:
    """One completion as recorded in samples.jsonl (only the fields reports use)."""

    id: str
    sample: int
    index: int
    messages: list[dict[str, Any]]
    response: str | None
    extracted: str | None
    gold: Any
    correct: bool
    latency_s: float | None
    completion_tokens: int | None
    prompt_tokens: int | None
    finish_reason: str | None
    cached: bool
    attempts: int
    error: str | None
    meta: dict[str, Any]


@dataclass
class Run:
    """A loaded run: its results.json as a dict plus its samples in file order."""

    path: Path
    results: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)

    @property
    def suite(self) -> str:
        return str(self.results.get("suite") or "suite")

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id") or self.path.name)

    @property
    def metric_names(self) -> list[str]:
        """The suite's metrics as results.json names them (`accuracy`, `pass@1`, ...); accuracy if absent."""
        names = list((self.results.get("metrics") or {}).keys())
        return names or ["accuracy"]

    def by_item(self) -> dict[str, list[Sample]]:
        """Samples grouped by item id, in dataset order (computed once; do not mutate)."""
        return self._groups

    @cached_property
    def _groups(self) -> dict[str, list[Sample]]:
        groups: dict[str, list[Sample]] = {}
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
    return Run(path=path, results=results, samples=_read_samples(path / "samples.jsonl"))


def load_runs(paths: list[Path]) -> list[Run]:
    return [load_run(p) for p in expand_run_dirs(paths)]


def _read_samples(file: Path) -> list[Sample]:
    if not file.is_file():
        raise UserError(f"{file}: missing; a run directory needs samples.jsonl next to results.json")
    latest: dict[tuple[str, int], Sample] = {}
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                sample = _to_sample(row)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise UserError(f"{file}:{lineno}: corrupt sample record ({_short(exc)})") from None
            latest[(sample.id, sample.sample)] = sample
    return list(latest.values())


def _to_sample(row: dict[str, Any]) -> Sample:
    if not isinstance(row, dict):
        raise TypeError("expected a JSON object")
    if "id" not in row:
        raise KeyError("no 'id'")
    usage = row.get("usage") or {}
    latency = row.get("latency_s")
    return Sample(
        id=str(row["id"]),
        sample=int(row.get("sample") or 0),
        index=int(row.get("index") or 0),
        messages=list(row.get("messages") or []),
        response=_opt_str(row.get("response")),
        extracted=_opt_str(row.get("extracted")),
        gold=row.get("gold"),
        correct=bool(row.get("correct")) and not row.get("error"),
        latency_s=float(latency) if latency is not None else None,
        completion_tokens=_opt_int(usage.get("completion_tokens")),
        prompt_tokens=_opt_int(usage.get("prompt_tokens")),
        finish_reason=_opt_str(row.get("finish_reason")),
        cached=bool(row.get("cached")),
        attempts=int(row.get("attempts") or 0),
        error=_opt_str(row.get("error")),
        meta=dict(row.get("meta") or {}),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
