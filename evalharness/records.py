"""Run records on disk: a run directory with config.yaml, samples.jsonl and results.json (docs/records.md).

`SampleRecord` is the one shape of a sample: the runner writes it, and `grade`, `report` and `compare`
read it back (`read_records`). `RunWriter` creates the directory, writes the resolved config first,
appends each record the moment it is graded (flushed, so a crash or Ctrl-C keeps every result obtained),
and writes results.json last, atomically. Encoding and decoding go through msgspec: ~5x faster than the
json module on 8-shot records, which matters when a cached re-run rewrites thousands of them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import msgspec

from evalharness import __version__
from evalharness.errors import UserError


@dataclass(slots=True)
class SampleSummary:
    """What reports and comparisons keep in memory per sample: every field of a record but the texts
    (messages, response, tool calls), which they stream from samples.jsonl when they show them. 50,000
    8-shot samples are ~30 MB this way instead of more than a gigabyte."""

    id: str
    index: int = 0
    sample: int = 0
    extracted: str | None = None
    gold: Any = None
    correct: bool = False
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)
    latency_s: float | None = None
    ttft_s: float | None = None
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    cached: bool = False
    attempts: int = 0
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    subset: str | None = None
    turns: int = 1
    error_kind: str | None = None  # "over_context": left out of accuracy (context_window.py)

    @property
    def prompt_tokens(self) -> int | None:
        return _opt_int(self.usage.get("prompt_tokens")) if self.usage else None

    @property
    def completion_tokens(self) -> int | None:
        return _opt_int(self.usage.get("completion_tokens")) if self.usage else None

    def grade_correct(self, grader: str | None = None) -> bool:
        """The primary verdict, or grader `grader`'s (a failed request is never correct)."""
        if self.error:
            return False
        if grader is None:
            return self.correct
        return bool((self.grades.get(grader) or {}).get("correct"))


@dataclass(slots=True)
class SampleRecord(SampleSummary):
    """One completion of one item, as stored in samples.jsonl (keys documented in docs/records.md)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    response: str | None = None
    tool_calls: list[dict[str, Any]] | None = None

    def to_json(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_json(cls, line: bytes | str | dict[str, Any], light: bool = False) -> "SampleRecord":
        """From a samples.jsonl line (or its parsed object); `light` gives a `SampleSummary` (no texts).
        Older or hand-written records with missing keys or loose types (`"sample": "0"`) load too;
        anything else raises ValueError."""
        if not isinstance(line, dict):
            try:
                record = (_LIGHT_DECODER if light else _DECODER).decode(line)
                if record.error:
                    record.correct = False
                return record
            except msgspec.ValidationError:
                line = msgspec.json.decode(line)
            except msgspec.DecodeError as err:
                raise ValueError(str(err)) from None
        record = _from_loose(line)
        return _summary(record) if light else record


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(SampleRecord)
_LIGHT_DECODER = msgspec.json.Decoder(SampleSummary)  # skips the texts without building them


def _summary(record: SampleRecord) -> SampleSummary:
    return SampleSummary(**{name: getattr(record, name) for name in SampleSummary.__dataclass_fields__})


def _from_loose(row: Any) -> SampleRecord:
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    if "id" not in row:
        raise ValueError("no 'id'")
    try:
        latency = row.get("latency_s")
        return SampleRecord(
            id=str(row["id"]), index=int(row.get("index") or 0), sample=int(row.get("sample") or 0),
            messages=list(row.get("messages") or []), response=_opt_str(row.get("response")),
            extracted=_opt_str(row.get("extracted")), gold=row.get("gold"),
            correct=bool(row.get("correct")) and not row.get("error"), grades=dict(row.get("grades") or {}),
            latency_s=float(latency) if latency is not None else None, ttft_s=row.get("ttft_s"),
            usage=dict(row.get("usage") or {}), finish_reason=_opt_str(row.get("finish_reason")),
            cached=bool(row.get("cached")), attempts=int(row.get("attempts") or 0),
            error=_opt_str(row.get("error")), meta=dict(row.get("meta") or {}), subset=_opt_str(row.get("subset")),
            tool_calls=row.get("tool_calls"), turns=int(row.get("turns") or 1),
            error_kind=_opt_str(row.get("error_kind")),
        )
    except (TypeError, ValueError, AttributeError) as err:
        raise ValueError(str(err) or type(err).__name__) from None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def read_records(file: Path, *, keep_last: bool = True, torn_tail_ok: bool = False, light: bool = False,
                 only_lines: set[int] | None = None) -> Iterator[SampleRecord]:
    """Stream the records of a samples.jsonl; a corrupt line is a UserError naming the file and line.

    - `keep_last`: a sample written twice yields only its last version, in first-seen order (that holds the
      records in memory; see `last_lines` for a streaming way);
    - `torn_tail_ok`: an unfinished last line (a process killed mid-write) is skipped, not an error;
    - `light`: `SampleSummary`s without the texts (what reports keep in memory);
    - `only_lines`: yield just these line numbers (1-based), e.g. the last version of each sample."""
    if not file.is_file():
        raise UserError(f"{file}: missing; a run directory needs samples.jsonl next to results.json")
    latest: dict[tuple[str, int], SampleRecord] = {}
    with file.open("rb") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip() or (only_lines is not None and lineno not in only_lines):
                continue
            try:
                record = SampleRecord.from_json(line, light=light)
            except ValueError as exc:
                if torn_tail_ok and not line.endswith(b"\n"):
                    break
                text = str(exc).splitlines()[0][:120] if str(exc) else "unreadable"
                raise UserError(f"{file}:{lineno}: corrupt sample record ({text})") from None
            if keep_last:
                latest[(record.id, record.sample)] = record
            else:
                yield record
    yield from latest.values()


def last_lines(file: Path) -> set[int]:
    """Line numbers of the last version of each sample (for `read_records(only_lines=...)`), reading only
    each line's id and sample; a line that is not a record is a UserError naming it."""
    last: dict[tuple[str, int], int] = {}
    decoder = msgspec.json.Decoder(_Key)
    with file.open("rb") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                key = decoder.decode(line)
                last[(str(key.id), int(key.sample or 0))] = lineno
            except (msgspec.DecodeError, ValueError, TypeError) as exc:
                text = str(exc).splitlines()[0][:120] if str(exc) else "unreadable"
                raise UserError(f"{file}:{lineno}: corrupt sample record ({text})") from None
    return set(last.values())


class _Key(msgspec.Struct):
    id: Any
    sample: Any = 0


def make_run_id(suite: str, model: str | None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", (model or "model").split("/")[-1]).strip("-").lower()
    return f"{stamp}-{suite}-{slug or 'model'}"


class RunWriter:
    def __init__(self, output_dir: Path, run_id: str):
        run_dir = output_dir / run_id
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = output_dir / f"{run_id}-{suffix}"
        try:
            run_dir.mkdir(parents=True)
        except OSError as exc:
            raise UserError(f"cannot create run directory {run_dir}: {exc.strerror}; pass --output-dir DIR") \
                from None
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self._samples = open(run_dir / "samples.jsonl", "ab")

    @classmethod
    def reopen(cls, run_dir: Path, keep: list[SampleRecord]) -> "RunWriter":
        """Continue an existing run directory (`--resume`). samples.jsonl is rewritten to hold exactly
        `keep` (the samples answered so far: a failed sample is queried again, a line torn by a killed
        process is dropped, a sample is never recorded twice), atomically, then reopened for appending."""
        writer = cls.__new__(cls)
        writer.run_dir = run_dir
        writer.run_id = run_dir.name
        tmp = run_dir / "samples.jsonl.tmp"
        with open(tmp, "wb") as handle:
            for record in keep:
                handle.write(record.to_json() + b"\n")
        tmp.replace(run_dir / "samples.jsonl")
        writer._samples = open(run_dir / "samples.jsonl", "ab")
        return writer

    def write_config(self, config: dict[str, Any]) -> None:
        import yaml

        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
        (self.run_dir / "config.yaml").write_text(text, encoding="utf-8")

    def append(self, record: SampleRecord) -> None:
        self._samples.write(record.to_json() + b"\n")
        self._samples.flush()

    def write_results(self, results: dict[str, Any]) -> None:
        import json

        self._samples.close()
        tmp = self.run_dir / "results.json.tmp"
        tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.run_dir / "results.json")


def base_results(run_id: str, suite: str, provider: dict[str, Any], grader: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "suite": suite,
        "model": provider.get("model"),
        "base_url": provider.get("base_url"),
        "provider": provider.get("provider"),
        "grader": grader,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "evalharness_version": __version__,
    }
