"""The typed shape of a suite file (docs/suites.md): msgspec structs checked by `schema.convert`.

`TaskFile` is one evaluated set (dataset, fields, prompt, generation, extract, graders, solver); `SuiteFile`
adds the suite's name, reporting settings and `subsets:`. A family's top level may be partial (a subset
supplies the rest), so `SuiteFile` types its task keys loosely and each merged subset is checked as a
`TaskFile`; `SuiteSchema` (JSON Schema only) is `SuiteFile` with the task keys typed, for editors.
Value types that are not plain structs (`FieldOp`, `GraderRef`, `SolverRef`) parse themselves in
`from_yaml` and describe themselves in `json_schema`.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from evalharness.choices import ChoiceSpec
from evalharness.extract import ExtractSpec
from evalharness.schema import Strict
from evalharness.specs import DatasetSpec, FewShotSpec, FieldSpec, JoinSpec, PromptSpec, ToolsSpec
from evalharness.tools import DEFAULT_TOOL_SYSTEM

FIELD_OPS = ("strip", "lower", "remove_commas", "str", "last_boxed")
FIELD_OPS_WITH_ARG = ("after", "regex", "sub", "index")


# ---- what a suite file may say (msgspec structs, checked by schema.convert) -------------------------------


class _NamedRef:
    """A part named by a string or by a mapping `{name: ..., option: value, ...}`."""

    what = "part"

    def __init__(self, name: str, options: dict[str, Any] | None = None):
        self.name = name
        self.options = dict(options or {})

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and (self.name, self.options) == (other.name, other.options)

    def __hash__(self) -> int:
        return hash((self.name, repr(sorted(self.options.items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.options!r})"

    @classmethod
    def from_yaml(cls, value: Any):
        if isinstance(value, str) and value:
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
            return cls(value["name"], {k: v for k, v in value.items() if k != "name"})
        raise ValueError(f"expected a {cls.what} name or a mapping with `name` and options, got {value!r}")

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return {"anyOf": [{"type": "string"},
                          {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]}


class HubSpec(Strict, frozen=True):
    """A Hugging Face dataset: `path` (the repository), `name` (its configuration), `split`; or `file`, one
    file of the repository, downloaded as it is and read like a local file (for repositories of raw JSON
    files whose rows do not share one schema, which the `datasets` loader cannot read)."""

    path: str
    name: str | None = None
    split: str = "test"
    file: str | None = None
    gated: bool = False  # access needs a token (HF_TOKEN); a failed load says so
    # field mappings that replace the suite's when rows come from the hub (its layout may differ from the
    # local file's, e.g. OpenBookQA's question_stem against question.stem)
    fields: dict[str, str | FieldFile] | None = None


class JoinFile(Strict, frozen=True):
    """`dataset.join`: a second file (same ways to find it as the dataset) joined row by row on column `key`;
    every row needs exactly one partner. Its columns are merged into the row (a name both files have, other
    than `key`, is an error), or kept whole under the column `into`."""

    hf: HubSpec | None = None
    local: str | None = None
    path: str | None = None
    format: Literal["jsonl", "json", "parquet", "csv", "tsv"] | None = None
    records: str | None = None
    key: str = "id"
    into: str | None = None

    def __post_init__(self) -> None:
        if self.hf is None and not self.local and not self.path:
            raise ValueError("needs at least one of hf, local or path")

    def spec(self, base_dir: Path) -> JoinSpec:
        source = DatasetFile(hf=self.hf, local=self.local, path=self.path, format=self.format,
                             records=self.records).spec(base_dir)
        return JoinSpec(source=source, key=self.key, into=self.into)


class GeneratorRef(_NamedRef):
    what = "generator"


class LabelsFile(Strict, frozen=True):
    """Gold labels shipped apart from the rows, one a line (PIQA's valid-labels.lst, SIQA's dev-labels.lst):
    line i becomes column `column` of row i. Joined to local files only (hub rows carry their labels)."""

    local: str | None = None
    path: str | None = None
    column: str = "label"

    def __post_init__(self) -> None:
        if not self.local and not self.path:
            raise ValueError("needs local (under $EVALHARNESS_DATA_DIR) or path (beside the suite)")


class DatasetFile(Strict, frozen=True):
    """Where items come from: `--data`, a file shipped beside the suite (`path`), `$EVALHARNESS_DATA_DIR/
    <local>`, or the Hugging Face hub (`hf`). `join` adds a second file's columns row by row (`JoinFile`).
    `filter` keeps rows whose column equals a value (or one of a list of values). Or `generator`: items built
    by code from the suite's `grid` (generators/)."""

    hf: HubSpec | None = None
    local: str | None = None
    path: str | None = None
    format: Literal["jsonl", "json", "parquet", "csv", "tsv"] | None = None
    records: str | None = None
    columns: list[str] | None = None
    filter: dict[str, Any] | None = None
    join: JoinFile | None = None
    generator: GeneratorRef | None = None
    labels: LabelsFile | None = None

    def __post_init__(self) -> None:
        if self.hf is None and not self.local and not self.path and self.generator is None:
            raise ValueError("needs at least one of hf, local or path (or a generator)")

    def spec(self, base_dir: Path) -> DatasetSpec:
        """The runtime spec, `path` made relative to the suite file's folder."""
        path = Path(self.path) if self.path else None
        if path is not None and not path.is_absolute():
            path = base_dir / path
        labels_path = Path(self.labels.path) if self.labels and self.labels.path else None
        if labels_path is not None and not labels_path.is_absolute():
            labels_path = base_dir / labels_path
        return DatasetSpec(
            hf_path=self.hf.path if self.hf else None, hf_name=self.hf.name if self.hf else None,
            hf_split=self.hf.split if self.hf else "test", hf_file=self.hf.file if self.hf else None,
            local=self.local, path=path, format=self.format,
            records=self.records, columns=tuple(self.columns) if self.columns is not None else None,
            filter=dict(self.filter) if self.filter else None,
            join=self.join.spec(base_dir) if self.join is not None else None,
            generator=self.generator.name if self.generator else None,
            generator_options=dict(self.generator.options) if self.generator else {},
            hf_gated=bool(self.hf and self.hf.gated),
            labels_local=self.labels.local if self.labels else None, labels_path=labels_path,
            labels_column=self.labels.column if self.labels else "label",
            hf_fields=field_specs(self.hf.fields) if self.hf and self.hf.fields else None)


class FieldOp:
    """One step of a field mapping: `strip`, `lower`, `remove_commas`, `str`, `last_boxed`, or a one-key
    mapping `{after: TEXT}`, `{regex: PATTERN}`, `{sub: [PATTERN, REPLACEMENT]}`, `{index: "ABCD"}`."""

    def __init__(self, kind: str, arg: Any = None):
        self.kind = kind
        self.arg = arg

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, FieldOp) and (self.kind, self.arg) == (other.kind, other.arg)

    def __hash__(self) -> int:
        return hash((self.kind, repr(self.arg)))

    def __repr__(self) -> str:
        return repr(self.raw)

    @property
    def raw(self) -> Any:
        """As written in the suite: a name, or a one-key mapping (what `datasets` applies)."""
        return self.kind if self.arg is None else {self.kind: self.arg}

    @classmethod
    def from_yaml(cls, op: Any) -> "FieldOp":
        known = ", ".join([*FIELD_OPS, *(f"{{{k}: ...}}" for k in FIELD_OPS_WITH_ARG)])
        if isinstance(op, str):
            if op not in FIELD_OPS:
                raise ValueError(f"expected one of {known}, got {op!r}")
            return cls(op)
        if not isinstance(op, dict) or len(op) != 1 or next(iter(op)) not in FIELD_OPS_WITH_ARG:
            raise ValueError(f"expected one of {known}, got {op!r}")
        (kind, arg), = op.items()
        if kind == "sub" and not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
            raise ValueError(f"expected sub: [PATTERN, REPLACEMENT], got {arg!r}")
        if kind in ("after", "regex", "index") and not isinstance(arg, str):
            raise ValueError(f"expected {kind}: a string, got {arg!r}")
        if kind in ("regex", "sub"):
            pattern = arg if kind == "regex" else arg[0]
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"expected a valid regular expression ({exc}), got {pattern!r}") from None
        return cls(kind, arg)

    @staticmethod
    def json_schema() -> dict[str, Any]:
        with_arg = {"type": "object", "minProperties": 1, "maxProperties": 1,
                    "properties": {"after": {"type": "string"}, "regex": {"type": "string"},
                                   "index": {"type": "string"},
                                   "sub": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                                           "maxItems": 2}},
                    "additionalProperties": False}
        return {"anyOf": [{"enum": list(FIELD_OPS)}, with_arg]}


class FieldFile(Strict, frozen=True):
    """A mapped field: a dataset `column` (dotted for nested records), a constant `value`, the text of a
    `file` under $EVALHARNESS_DATA_DIR (a constant too, e.g. BBH's few-shot prompt), or `columns` gathered
    into a list (answer options spread over columns), then `ops`."""

    column: str | None = None
    value: Any = msgspec.UNSET
    file: str | None = None
    ops: tuple[FieldOp, ...] = ()
    columns: list[str] | None = None

    def __post_init__(self) -> None:
        given = [self.column is not None, self.value is not msgspec.UNSET, self.file is not None,
                 self.columns is not None]
        if sum(given) != 1:
            raise ValueError("expected exactly one of column (a dataset column), value (a constant), columns "
                             "(columns gathered into a list) or file (a text file under $EVALHARNESS_DATA_DIR)")

    def spec(self) -> FieldSpec:
        columns = tuple(self.columns) if self.columns is not None else None
        return FieldSpec(self.column or "", tuple(op.raw for op in self.ops), self.value, file=self.file,
                         columns=columns)


def field_specs(fields: dict[str, str | FieldFile]) -> dict[str, FieldSpec]:
    """The runtime specs of a `fields:` mapping (a bare string is a column name)."""
    return {key: FieldSpec(value) if isinstance(value, str) else value.spec() for key, value in fields.items()}


class GraderRef(_NamedRef):
    what = "grader"


class SolverRef(_NamedRef):
    what = "solver"

    def __init__(self, name: str = "generate", options: dict[str, Any] | None = None):
        super().__init__(name, options)


class FewShotFile(Strict, frozen=True):
    count: Annotated[int, msgspec.Meta(ge=0)]
    dataset: DatasetFile | None = None
    inline: tuple[dict[str, Any], ...] = ()
    seed: int = 1234
    answer_template: str = "{gold}"
    multiturn: bool = True
    separator: str = "\n\n"
    draw: Literal["once", "per_item"] = "once"

    def __post_init__(self) -> None:
        if self.draw == "per_item" and self.dataset is None:
            raise ValueError("draw: per_item needs a dataset to draw from")
        if self.count and self.dataset is None and len(self.inline) < self.count:
            raise ValueError(f"count is {self.count} but only {len(self.inline)} inline exemplars and no "
                             "dataset to draw from")


class ToolsFile(Strict, frozen=True):
    """`prompt.tools`: offer the functions in item field `field` with every prompt, natively (request
    `tools`) or in the system message (Phi-4-mini's format), as the run's tool mode says (evalharness/tools).
    `system`: the system text before the functions in the prompt mode when `prompt.system` is unset;
    `description_suffix`: appended to every function's description (BFCL adds a Python-syntax note)."""

    field: str
    system: str = DEFAULT_TOOL_SYSTEM
    description_suffix: str = ""


class PromptFile(Strict, frozen=True):
    template: str
    system: str | None = None
    fewshot: FewShotFile | None = None
    tools: ToolsFile | None = None

    def spec(self, base_dir: Path) -> PromptSpec:
        shots = None
        if self.fewshot is not None:
            f = self.fewshot
            shots = FewShotSpec(count=f.count, dataset=f.dataset.spec(base_dir) if f.dataset else None,
                                inline=tuple(f.inline), seed=f.seed, answer_template=f.answer_template,
                                multiturn=f.multiturn, separator=f.separator, draw=f.draw)
        tools = None
        if self.tools is not None:
            tools = ToolsSpec(field=self.tools.field, system=self.tools.system,
                              description_suffix=self.tools.description_suffix)
        return PromptSpec(template=self.template, system=self.system, fewshot=shots, tools=tools)


Unset = msgspec.UnsetType


class Generation(Strict):
    """Parameters sent with every request (only those given); `n` completions per item."""

    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None | Unset = msgspec.UNSET
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None | Unset = msgspec.UNSET
    top_p: float | None | Unset = msgspec.UNSET
    seed: int | None | Unset = msgspec.UNSET
    stop: str | list[str] | None | Unset = msgspec.UNSET
    n: Annotated[int, msgspec.Meta(ge=1)] | Unset = msgspec.UNSET

    def params(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__struct_fields__}
        out = {k: v for k, v in out.items() if v is not msgspec.UNSET and v is not None}
        if isinstance(out.get("stop"), str):
            out["stop"] = [out["stop"]]
        return out


class TaskFile(Strict):
    dataset: DatasetFile
    prompt: PromptFile
    grader: GraderRef
    fields: dict[str, str | FieldFile] = msgspec.field(default_factory=dict)  # required unless generated
    generation: Generation = msgspec.field(default_factory=Generation)
    extract: ExtractSpec | None = None
    graders: list[GraderRef] = msgspec.field(default_factory=list)
    solver: SolverRef = msgspec.field(default_factory=SolverRef)
    vars: dict[str, str | int | float | bool] = msgspec.field(default_factory=dict)
    choices: ChoiceSpec | None = None
    shuffle_choices: Annotated[int, msgspec.Meta(ge=0)] = 0


DEFAULT_LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
DEFAULT_DEPTHS = tuple(float(d) for d in range(0, 101, 10))


class GridFile(Strict, frozen=True):
    """The cells of a generated suite: context `lengths` in the model's tokens (the prompt plus the answer's
    room, `generation.max_tokens`), needle `depths` in percent of the haystack, `samples` per cell; and the
    accuracy `threshold` (a fraction; RULER's 85.6%) that defines the effective length."""

    lengths: Annotated[tuple[Annotated[int, msgspec.Meta(ge=64)], ...], msgspec.Meta(min_length=1)] = \
        DEFAULT_LENGTHS
    depths: Annotated[tuple[Annotated[float, msgspec.Meta(ge=0, le=100)], ...], msgspec.Meta(min_length=1)] = \
        DEFAULT_DEPTHS
    samples: Annotated[int, msgspec.Meta(ge=1)] = 1
    threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.856

    def __post_init__(self) -> None:
        if len(set(self.lengths)) != len(self.lengths) or len(set(self.depths)) != len(self.depths):
            raise ValueError("lengths and depths must not repeat a value")


_SUITE_FIELDS = [
    ("name", str),
    ("description", str),
    ("include", str | None, None),
    ("metrics", list[str], msgspec.field(default_factory=lambda: ["accuracy"])),
    ("breakdown", str | list[str] | None, None),
    ("aggregate", Literal["macro", "micro"], "micro"),
    ("subsets", list[str] | dict[str, dict[str, Any] | None] | None, None),
    ("grid", GridFile | None, None),
]
_TASK_KEYS = list(TaskFile.__struct_fields__)

# What `parse_suite` checks first: the suite's own keys typed, task keys checked later per task.
SuiteFile = msgspec.defstruct("SuiteFile", [*_SUITE_FIELDS, *((k, Any, None) for k in _TASK_KEYS)],
                              bases=(Strict,))
# What editors see: the same keys, task keys typed (all optional at the top level of a family).
_TASK_TYPES = typing.get_type_hints(TaskFile, include_extras=True)
SuiteSchema = msgspec.defstruct("Suite", [*_SUITE_FIELDS, *((k, _TASK_TYPES[k] | None, None) for k in _TASK_KEYS)],
                                bases=(Strict,))
