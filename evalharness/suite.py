"""Suite YAML -> a validated `Suite` of one or more `Task`s (the schema is in docs/suites.md).

Loading, in order: read the YAML; merge it over its `include:` file (shared defaults, one level: the
included file may not include another); apply `--set dotted.field=value` overrides; type-check it
(`SuiteFile`, msgspec, unknown keys are errors); expand `subsets:` (each subset's overrides deep-merged over
the suite, `{subset}` replaced by its name in every string); type-check each task (`TaskFile`) and its
graders' options. Every mistake is one `UserError` naming the file, the dotted field and what was
expected, because a typo in a suite silently changes a benchmark number otherwise.

A suite without `subsets` has one task named None; a family (BBH's 27 tasks, MMLU's 57 subjects) has one
task per subset, whose items are tagged with the subset's name (field `subset`) and ids `subset/id`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.choices import ChoiceSpec
from evalharness.errors import UserError
from evalharness.extract import ExtractSpec
from evalharness.schema import convert
from evalharness.suite_schema import (DatasetSpec, FewShotSpec, FieldSpec, GraderRef, GridFile, PromptSpec,
                                      SolverRef, SuiteFile, TaskFile, field_specs)

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
METRIC_RE = re.compile(r"^(accuracy|pass@[1-9][0-9]*)$")
TASK_KEYS = ("dataset", "fields", "prompt", "generation", "extract", "grader", "graders", "solver", "vars", "choices",
             "shuffle_choices")

__all__ = ["Suite", "Task", "load_suite", "parse_suite", "apply_overrides", "DatasetSpec", "FieldSpec",
           "FewShotSpec", "PromptSpec", "GraderRef", "SolverRef", "GridFile"]
GRID_BREAKDOWN = ("length_tokens", "depth")  # a generated suite's records always carry their cell


@dataclass(frozen=True)
class Task:
    """One evaluated set: where items come from, how prompts are built, how answers are graded."""

    name: str | None
    dataset: DatasetSpec
    fields: dict[str, FieldSpec]
    prompt: PromptSpec
    generation: dict[str, Any]
    grader: GraderRef
    extra_graders: tuple[GraderRef, ...] = ()
    extract: ExtractSpec | None = None
    solver: SolverRef = field(default_factory=SolverRef)
    vars: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")
    choices: ChoiceSpec | None = None  # multiple choice: how options are shown and the gold read (choices.py)
    shuffle_choices: int = 0  # >0: every item is presented in this many option orders (samples 0..N-1)

    @property
    def samples_per_item(self) -> int:
        return self.shuffle_choices or int(self.generation.get("n", 1))


@dataclass(frozen=True)
class Suite:
    """A validated suite: its tasks (one, or one per subset) and what to report about them."""

    name: str
    description: str
    tasks: tuple[Task, ...]
    metrics: tuple[str, ...] = ("accuracy",)
    breakdown: tuple[str, ...] = ()
    aggregate: str = "micro"  # which average of the subsets is `metrics.accuracy` (families only)
    subsets: tuple[str, ...] = ()
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    grid: GridFile | None = None  # the cells of a generated suite (its tasks' items are built by code)

    @property
    def samples_per_item(self) -> int:
        return self.tasks[0].samples_per_item

    @property
    def generated(self) -> bool:
        return self.grid is not None

    @property
    def graders(self) -> tuple[GraderRef, ...]:
        return (self.tasks[0].grader, *self.tasks[0].extra_graders)

    @property
    def fields(self) -> dict[str, FieldSpec]:
        """Every field an item of the suite has, across its subsets (a field's spec from its first subset)."""
        merged: dict[str, FieldSpec] = {}
        for task in self.tasks:
            for name, spec in task.fields.items():
                merged.setdefault(name, spec)
        return merged

    def __getattr__(self, name: str) -> Any:
        """A one-task suite reads like its task (`suite.dataset`, `suite.prompt`, ...)."""
        if name in ("dataset", "prompt", "generation", "grader", "extra_graders", "extract", "solver"):
            tasks = object.__getattribute__(self, "tasks")
            if len(tasks) == 1:
                return getattr(tasks[0], name)
            if name == "fields":
                return {k: v for k, v in tasks[0].fields.items() if all(k in t.fields for t in tasks[1:])}
            raise AttributeError(f"suite {self.name} has {len(tasks)} subsets; use suite.tasks[i].{name}")
        raise AttributeError(name)


def load_suite(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Suite:
    """Read, merge (`include:`, `--set`) and validate one suite file."""
    path = Path(path)
    if not path.is_file():
        hint = " (suites live in suites/, e.g. suites/gsm8k.yaml)" if not path.suffix else ""
        raise UserError(f"suite file not found: {path}{hint}")
    data = _read_yaml(path)
    if isinstance(data, dict) and "include" in data:
        data = _with_include(data, path)
    data = apply_overrides(data, overrides, source=str(path))
    return parse_suite(data, source=path, overrides=overrides)


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from None


def _with_include(data: dict[str, Any], path: Path) -> dict[str, Any]:
    name = data["include"]
    if not isinstance(name, str) or not name:
        raise UserError(f"{path}: include: expected a file name (relative to the suite), got {name!r}")
    base_file = path.parent / name
    if not base_file.is_file():
        raise UserError(f"{path}: include: file not found: {base_file}")
    base = _read_yaml(base_file)
    if not isinstance(base, dict):
        raise UserError(f"{base_file}: expected a mapping of suite fields (included by {path})")
    if "include" in base:
        raise UserError(f"{base_file}: include: an included file may not include another (one level only)")
    merged = deep_merge(base, {k: v for k, v in data.items() if k != "include"})
    shipped = base.get("dataset", {}).get("path") if isinstance(base.get("dataset"), dict) else None
    overridden = isinstance(data.get("dataset"), dict) and "path" in data["dataset"]
    if shipped and not overridden:  # a data file beside the included file is relative to that file
        merged["dataset"]["path"] = str(base_file.parent / shipped)
    return merged


def deep_merge(base: Any, over: Any) -> Any:
    """`over` merged into a copy of `base`: mappings merge key by key; anything else is replaced."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = deep_merge(out[key], value) if key in out else copy.deepcopy(value)
    return out


def apply_overrides(data: Any, overrides: list[str] | tuple[str, ...], source: str = "suite") -> Any:
    """Apply `--set dotted.field=value` overrides; the value is read as YAML (`1024`, `true`, `[a, b]`)."""
    if not overrides:
        return data
    import yaml

    data = copy.deepcopy(data) if isinstance(data, dict) else {}
    for text in overrides:
        dotted, sep, raw = text.partition("=")
        keys = dotted.strip().split(".")
        if not sep or not all(re.fullmatch(r"[A-Za-z0-9_@-]+", k) for k in keys):
            raise UserError(f"--set {text!r}: expected dotted.field=value, e.g. --set generation.max_tokens=1024")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        target = data
        for key in keys[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[keys[-1]] = value
    return data


def parse_suite(data: Any, source: Path | str = "<suite>", overrides: tuple[str, ...] | list[str] = ()) -> Suite:
    """Validate an already-parsed suite mapping (used by `load_suite` and tests)."""
    where = str(source)
    top = convert(data, SuiteFile, source=where)
    if not NAME_RE.match(top.name):
        raise UserError(f"{where}: name: expected letters, digits, '.', '_' or '-', got {top.name!r}")
    base_dir = Path(source).parent if isinstance(source, Path) else Path(".")
    body = {key: data[key] for key in TASK_KEYS if key in data}
    if isinstance(body.get("graders"), (str, dict)):
        body["graders"] = [body["graders"]]
    if body.get("graders") is None:
        body.pop("graders", None)
    names = list(top.subsets) if isinstance(top.subsets, list) else list(top.subsets or {})
    if top.subsets is not None and not names:
        raise UserError(f"{where}: subsets: expected at least one subset name")
    tasks = []
    for name in names or [None]:
        task_data = body
        root = "suite"
        if name is not None:
            if not NAME_RE.match(name):
                raise UserError(f"{where}: subsets.{name}: expected a name of letters, digits, '.', '_' or '-'")
            extra = top.subsets.get(name) if isinstance(top.subsets, dict) else None
            task_data = _substitute(deep_merge(body, extra or {}), name)
            root = f"subsets.{name}"
        tasks.append(_parse_task(task_data, name, where, root, base_dir))
    breakdown = tuple([top.breakdown] if isinstance(top.breakdown, str) else top.breakdown or ())
    generated = [task.dataset.generator is not None for task in tasks]
    if any(generated) and not all(generated):
        raise UserError(f"{where}: dataset.generator: every subset must be generated, or none")
    grid = top.grid
    if any(generated):
        grid = grid or GridFile()
        breakdown = tuple(dict.fromkeys(GRID_BREAKDOWN + breakdown))
    elif grid is not None:
        raise UserError(f"{where}: grid: only a generated dataset (dataset.generator) has a grid")
    suite = Suite(
        name=top.name, description=top.description, tasks=tuple(tasks), metrics=tuple(top.metrics),
        breakdown=breakdown, aggregate=top.aggregate, subsets=tuple(names),
        source=Path(source) if isinstance(source, Path) else None, raw=data, overrides=tuple(overrides), grid=grid,
    )
    _check_consistency(where, suite)
    return suite


def _substitute(value: Any, subset: str) -> Any:
    if isinstance(value, str):
        return value.replace("{subset}", subset)
    if isinstance(value, dict):
        return {k: _substitute(v, subset) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, subset) for v in value]
    return value


def _parse_task(data: dict[str, Any], name: str | None, where: str, root: str, base_dir: Path) -> Task:
    from evalharness.graders import check_options

    prefix = "" if name is None else f"{root}."
    spec = convert(data, TaskFile, source=where, root=root, prefix=prefix)
    refs = (spec.grader, *spec.graders)
    for i, ref in enumerate(refs):
        path = f"{prefix}grader" if i == 0 else f"{prefix}graders[{i - 1}]"
        check_options(ref.name, ref.options, source=where, path=path, base_dir=base_dir)
    names = [ref.name for ref in refs]
    if len(set(names)) != len(names):
        raise UserError(f"{where}: {prefix}graders: each grader may appear once (got {', '.join(names)})")
    _check_solver(spec.solver, where, prefix, base_dir)
    fields = field_specs(spec.fields)
    if spec.dataset.generator is not None:
        fields = {**_generated_fields(spec.dataset.generator, where, prefix, base_dir), **fields}
    elif not fields:
        raise UserError(f"{where}: {prefix or 'suite.'}fields: missing required field")
    if name is not None:
        fields.setdefault("subset", FieldSpec("", value=name))
    for key, value in spec.vars.items():
        fields.setdefault(key, FieldSpec("", value=value))
    _check_choices(spec, fields, where, prefix)
    return Task(
        name=name, dataset=spec.dataset.spec(base_dir), fields=fields, prompt=spec.prompt.spec(base_dir),
        generation=spec.generation.params(), grader=spec.grader, extra_graders=tuple(spec.graders),
        extract=spec.extract, solver=spec.solver, vars=dict(spec.vars), base_dir=base_dir,
        choices=spec.choices, shuffle_choices=spec.shuffle_choices,
    )


def _generated_fields(ref: Any, where: str, prefix: str, base_dir: Path) -> dict[str, FieldSpec]:
    """A generator's options checked, and its columns (plus every cell column) as identity fields."""
    from evalharness.generators import CELL_COLUMNS, check_options, generator_class

    check_options(ref.name, ref.options, source=where, path=f"{prefix}dataset.generator", base_dir=base_dir)
    columns = (*generator_class(ref.name, base_dir).columns, *CELL_COLUMNS, "built_tokens", "count_method")
    return {"id": FieldSpec("id"), **{column: FieldSpec(column) for column in columns}}


def _check_choices(spec: TaskFile, fields: dict[str, FieldSpec], where: str, prefix: str) -> None:
    if spec.choices is not None:
        for name in spec.choices.names():
            if name not in fields:
                raise UserError(f"{where}: {prefix}choices: {name!r} is not one of the suite's fields "
                                f"({', '.join(fields)})")
    if spec.shuffle_choices:
        if spec.choices is None:
            raise UserError(f"{where}: {prefix}shuffle_choices: needs a choices: block (the options to reorder)")
        if spec.generation.params().get("n", 1) != 1:
            raise UserError(f"{where}: {prefix}shuffle_choices: the option orders are the item's samples, so "
                            "generation.n must be 1")


def _check_solver(ref: SolverRef, where: str, prefix: str, base_dir: Path) -> None:
    from evalharness.solvers import solver_class

    cls = solver_class(ref.name, base_dir)
    convert(ref.options, cls.Options, source=where, root=f"{prefix}solver", prefix=f"{prefix}solver.")


def _check_consistency(where: str, suite: Suite) -> None:
    for metric in suite.metrics:
        if not METRIC_RE.match(metric):
            raise UserError(f"{where}: metrics: expected accuracy or pass@K (e.g. pass@1), got {metric!r}")
    counts = {task.samples_per_item for task in suite.tasks}
    if len(counts) > 1:
        raise UserError(f"{where}: generation.n: every subset must take the same number of samples")
    n = suite.samples_per_item
    for metric in suite.metrics:
        if metric.startswith("pass@") and int(metric[5:]) > n:
            raise UserError(f"{where}: metrics: {metric} needs generation.n >= {metric[5:]} (n is {n})")
    grader_lists = {tuple(ref.name for ref in (t.grader, *t.extra_graders)) for t in suite.tasks}
    if len(grader_lists) > 1:
        raise UserError(f"{where}: subsets: every subset must use the same graders (options may differ)")
    for name in suite.breakdown:
        for task in suite.tasks:
            if name not in task.fields:
                raise UserError(f"{where}: breakdown: {name!r} is not one of the suite's fields "
                                f"({', '.join(task.fields)})")


def suite_json_schema() -> dict[str, Any]:
    """JSON Schema of a suite file (`evalharness schema suite`)."""
    from evalharness.schema import json_schema

    from evalharness.suite_schema import SuiteSchema

    schema = json_schema(SuiteSchema, "evalharness suite")
    schema["$defs"]["Suite"]["required"] = ["name"]  # the rest may come from an `include:` file
    return schema
