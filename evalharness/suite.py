"""Suite YAML -> a validated `Suite`.

The schema is documented in docs/suites.md. Validation is strict: unknown keys, wrong types and missing
required fields are `UserError`s that name the file, the dotted field path and what was expected, because a
typo in a suite silently changes a benchmark number otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.errors import UserError

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
METRIC_RE = re.compile(r"^(accuracy|pass@[1-9][0-9]*)$")
FIELD_OPS = {"strip", "lower", "remove_commas", "str", "last_boxed"}
FIELD_OPS_WITH_ARG = {"after", "regex", "sub", "index"}


@dataclass(frozen=True)
class DatasetSpec:
    """Where items come from: a local file (under $EVALHARNESS_DATA_DIR or next to the suite) or the hub."""

    hf_path: str | None = None
    hf_name: str | None = None
    hf_split: str = "test"
    local: str | None = None
    path: Path | None = None  # a file shipped with the suite, resolved relative to the suite file
    format: str | None = None
    records: str | None = None
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FieldSpec:
    column: str
    ops: tuple[Any, ...] = ()


@dataclass(frozen=True)
class FewShotSpec:
    count: int
    dataset: DatasetSpec | None = None
    inline: tuple[dict[str, Any], ...] = ()
    seed: int = 1234
    answer_template: str = "{gold}"
    multiturn: bool = True
    separator: str = "\n\n"


@dataclass(frozen=True)
class PromptSpec:
    template: str
    system: str | None = None
    fewshot: FewShotSpec | None = None


@dataclass(frozen=True)
class GraderSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    dataset: DatasetSpec
    fields: dict[str, FieldSpec]
    prompt: PromptSpec
    generation: dict[str, Any]
    grader: GraderSpec
    extra_graders: tuple[GraderSpec, ...] = ()
    extract: dict[str, Any] | None = None
    metrics: tuple[str, ...] = ("accuracy",)
    breakdown: tuple[str, ...] = ()
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def samples_per_item(self) -> int:
        return int(self.generation.get("n", 1))


class _Checker:
    """Collects the file name so every error message can say where it came from."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, expected: str, got: Any = ...) -> UserError:
        suffix = "" if got is ... else f", got {got!r}"
        return UserError(f"{self.source}: {path}: expected {expected}{suffix}")

    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "a mapping", value)
        for key in value:
            if key not in allowed:
                raise UserError(
                    f"{self.source}: {path}.{key}: unknown field; allowed here: {', '.join(sorted(allowed))}"
                )
        for key in sorted(required):
            if key not in value:
                raise UserError(f"{self.source}: {path}.{key}: missing required field")
        return value

    def string(self, value: Any, path: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(path, "a non-empty string", value)
        return value

    def integer(self, value: Any, path: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"an integer >= {minimum}", value)
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "true or false", value)
        return value

    def string_list(self, value: Any, path: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, "a list of strings", value)
        return tuple(value)


def load_suite(path: str | Path) -> Suite:
    """Read and validate one suite file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        hint = " (suites live in suites/, e.g. suites/gsm8k.yaml)" if not path.suffix else ""
        raise UserError(f"suite file not found: {path}{hint}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_suite(data, source=path)


def parse_suite(data: Any, source: Path | str = "<suite>") -> Suite:
    """Validate an already-parsed suite mapping (used by `load_suite` and tests)."""
    check = _Checker(str(source))
    top = {"name", "description", "dataset", "fields", "prompt", "generation", "extract", "grader",
           "graders", "metrics", "breakdown"}
    check.mapping(data, "suite", top, {"name", "description", "dataset", "fields", "prompt", "grader"})
    name = check.string(data["name"], "name")
    if not NAME_RE.match(name):
        raise check.fail("name", "letters, digits, '.', '_' or '-'", name)
    base_dir = Path(source).parent if isinstance(source, Path) else Path(".")
    fields = _parse_fields(check, data["fields"])
    suite = Suite(
        name=name,
        description=check.string(data["description"], "description"),
        dataset=_parse_dataset(check, data["dataset"], "dataset", base_dir),
        fields=fields,
        prompt=_parse_prompt(check, data["prompt"], base_dir),
        generation=_parse_generation(check, data.get("generation") or {}),
        grader=_parse_grader(check, data["grader"], "grader"),
        extra_graders=tuple(
            _parse_grader(check, g, f"graders[{i}]") for i, g in enumerate(_as_list(data.get("graders")))
        ),
        extract=_parse_extract(check, data.get("extract")),
        metrics=_parse_metrics(check, data.get("metrics", ["accuracy"])),
        breakdown=check.string_list(data.get("breakdown", []), "breakdown") if data.get("breakdown") else (),
        source=Path(source) if isinstance(source, Path) else None,
        raw=data,
    )
    _check_consistency(check, suite)
    return suite


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _parse_dataset(check: _Checker, value: Any, path: str, base_dir: Path) -> DatasetSpec:
    spec = check.mapping(value, path, {"hf", "local", "path", "format", "records", "columns"})
    if not any(k in spec for k in ("hf", "local", "path")):
        raise UserError(f"{check.source}: {path}: needs at least one of hf, local or path")
    hf = {}
    if "hf" in spec:
        hf = check.mapping(spec["hf"], f"{path}.hf", {"path", "name", "split"}, {"path"})
    fmt = check.string(spec.get("format"), f"{path}.format", optional=True)
    if fmt and fmt not in {"jsonl", "json", "parquet", "csv", "tsv"}:
        raise check.fail(f"{path}.format", "one of jsonl, json, parquet, csv, tsv", fmt)
    local_path = check.string(spec.get("path"), f"{path}.path", optional=True)
    return DatasetSpec(
        hf_path=check.string(hf.get("path"), f"{path}.hf.path", optional=True),
        hf_name=check.string(hf.get("name"), f"{path}.hf.name", optional=True),
        hf_split=check.string(hf.get("split", "test"), f"{path}.hf.split"),
        local=check.string(spec.get("local"), f"{path}.local", optional=True),
        path=(base_dir / local_path) if local_path else None,
        format=fmt,
        records=check.string(spec.get("records"), f"{path}.records", optional=True),
        columns=check.string_list(spec["columns"], f"{path}.columns") if "columns" in spec else None,
    )


def _parse_fields(check: _Checker, value: Any) -> dict[str, FieldSpec]:
    if not isinstance(value, dict) or not value:
        raise check.fail("fields", "a mapping of field name -> dataset column", value)
    fields = {}
    for name, spec in value.items():
        path = f"fields.{name}"
        if isinstance(spec, str) and spec:
            fields[name] = FieldSpec(spec)
            continue
        spec = check.mapping(spec, path, {"column", "ops"}, {"column"})
        ops = spec.get("ops", [])
        if not isinstance(ops, list):
            raise check.fail(f"{path}.ops", "a list of ops", ops)
        for i, op in enumerate(ops):
            _check_op(check, op, f"{path}.ops[{i}]")
        fields[name] = FieldSpec(check.string(spec["column"], f"{path}.column"), tuple(ops))
    return fields


def _check_op(check: _Checker, op: Any, path: str) -> None:
    known = ", ".join(sorted(FIELD_OPS | {f"{{{k}: ...}}" for k in FIELD_OPS_WITH_ARG}))
    if isinstance(op, str):
        if op not in FIELD_OPS:
            raise check.fail(path, f"one of {known}", op)
        return
    if not isinstance(op, dict) or len(op) != 1 or next(iter(op)) not in FIELD_OPS_WITH_ARG:
        raise check.fail(path, f"one of {known}", op)
    (kind, arg), = op.items()
    if kind == "sub" and not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise check.fail(path, "sub: [PATTERN, REPLACEMENT]", arg)
    if kind in {"after", "regex", "index"} and not isinstance(arg, str):
        raise check.fail(path, f"{kind}: a string", arg)
    if kind in {"regex", "sub"}:
        _compile(check, arg if kind == "regex" else arg[0], path)


def _compile(check: _Checker, pattern: str, path: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise check.fail(path, f"a valid regular expression ({exc})", pattern) from None


def _parse_prompt(check: _Checker, value: Any, base_dir: Path) -> PromptSpec:
    spec = check.mapping(value, "prompt", {"system", "template", "fewshot"}, {"template"})
    fewshot = None
    if spec.get("fewshot") is not None:
        fewshot = _parse_fewshot(check, spec["fewshot"], base_dir)
    return PromptSpec(
        template=check.string(spec["template"], "prompt.template"),
        system=check.string(spec.get("system"), "prompt.system", optional=True),
        fewshot=fewshot,
    )


def _parse_fewshot(check: _Checker, value: Any, base_dir: Path) -> FewShotSpec:
    path = "prompt.fewshot"
    allowed = {"count", "dataset", "inline", "seed", "answer_template", "multiturn", "separator"}
    spec = check.mapping(value, path, allowed, {"count"})
    count = check.integer(spec["count"], f"{path}.count")
    inline = spec.get("inline") or []
    if not isinstance(inline, list) or not all(isinstance(row, dict) for row in inline):
        raise check.fail(f"{path}.inline", "a list of mappings (one per exemplar)", inline)
    dataset = _parse_dataset(check, spec["dataset"], f"{path}.dataset", base_dir) if "dataset" in spec else None
    if count and dataset is None and len(inline) < count:
        raise UserError(f"{check.source}: {path}: count is {count} but only {len(inline)} inline exemplars "
                        "and no dataset to draw from")
    return FewShotSpec(
        count=count,
        dataset=dataset,
        inline=tuple(inline),
        seed=check.integer(spec.get("seed", 1234), f"{path}.seed"),
        answer_template=check.string(spec.get("answer_template", "{gold}"), f"{path}.answer_template"),
        multiturn=check.boolean(spec.get("multiturn", True), f"{path}.multiturn"),
        separator=check.string(spec.get("separator", "\n\n"), f"{path}.separator"),
    )


GENERATION_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "max_tokens": (int,),
    "top_p": (int, float),
    "seed": (int,),
    "n": (int,),
    "stop": (str, list),
}


def _parse_generation(check: _Checker, value: Any) -> dict[str, Any]:
    spec = check.mapping(value, "generation", set(GENERATION_TYPES))
    out: dict[str, Any] = {}
    for key, val in spec.items():
        if val is None:
            continue
        if isinstance(val, bool) or not isinstance(val, GENERATION_TYPES[key]):
            raise check.fail(f"generation.{key}", "a " + "/".join(t.__name__ for t in GENERATION_TYPES[key]), val)
        out[key] = val
    if "stop" in out:
        out["stop"] = list(check.string_list(out["stop"], "generation.stop"))
    if out.get("n", 1) < 1:
        raise check.fail("generation.n", "an integer >= 1", out["n"])
    if "temperature" in out and not 0 <= out["temperature"] <= 2:
        raise check.fail("generation.temperature", "a number between 0 and 2", out["temperature"])
    return out


def _parse_grader(check: _Checker, value: Any, path: str) -> GraderSpec:
    if isinstance(value, str) and value:
        return GraderSpec(value)
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise check.fail(path, "a grader name or a mapping with `name` and options", value)
    options = {k: v for k, v in value.items() if k != "name"}
    return GraderSpec(value["name"], options)


def _parse_extract(check: _Checker, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    spec = check.mapping(value, "extract", {"patterns", "fallback", "strategies"})
    patterns = check.string_list(spec.get("patterns", []), "extract.patterns") if spec.get("patterns") else ()
    for i, pattern in enumerate(patterns):
        _compile(check, pattern, f"extract.patterns[{i}]")
    fallback = spec.get("fallback", "last_number")
    if fallback not in {"last_number", "none", None}:
        raise check.fail("extract.fallback", "last_number or none", fallback)
    out = dict(spec)
    out["patterns"] = list(patterns)
    out["fallback"] = fallback or "none"
    return out


def _parse_metrics(check: _Checker, value: Any) -> tuple[str, ...]:
    metrics = check.string_list(value, "metrics")
    for metric in metrics:
        if not METRIC_RE.match(metric):
            raise check.fail("metrics", "accuracy or pass@K (e.g. pass@1)", metric)
    return metrics


def _check_consistency(check: _Checker, suite: Suite) -> None:
    n = suite.samples_per_item
    for metric in suite.metrics:
        if metric.startswith("pass@") and int(metric[5:]) > n:
            raise UserError(f"{check.source}: metrics: {metric} needs generation.n >= {metric[5:]} (n is {n})")
    for name in suite.breakdown:
        if name not in suite.fields:
            raise UserError(f"{check.source}: breakdown: {name!r} is not one of the suite's fields "
                            f"({', '.join(suite.fields)})")
