"""What a loaded suite's tasks are made of, as the rest of the code uses them: where items come from
(`DatasetSpec`, `JoinSpec`), how dataset columns become item fields (`FieldSpec`), how prompts are built
(`PromptSpec`, `FewShotSpec`, `ToolsSpec`). Plain frozen dataclasses, built by suite_schema.py from the
checked suite file, so code that reads them never sees YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from evalharness.tools import DEFAULT_TOOL_SYSTEM

@dataclass(frozen=True)
class DatasetSpec:
    hf_path: str | None = None
    hf_name: str | None = None
    hf_split: str = "test"
    hf_file: str | None = None  # one file of the hub repository, downloaded and read like a local file
    local: str | None = None
    path: Path | None = None  # a file shipped with the suite, resolved relative to the suite file
    format: str | None = None
    records: str | None = None
    columns: tuple[str, ...] | None = None
    filter: dict[str, Any] | None = field(default=None, hash=False)
    generator: str | None = None  # items built by code (generators/), with these options
    generator_options: dict[str, Any] = field(default_factory=dict, hash=False)
    join: "JoinSpec | None" = None
    hf_gated: bool = False  # the hub asks for an access token (GPQA): a failed load names HF_TOKEN
    labels_local: str | None = None  # a labels file joined to local rows by line (PIQA, SIQA .lst)
    labels_path: Path | None = None
    labels_column: str = "label"
    hf_fields: dict[str, FieldSpec] | None = field(default=None, hash=False)  # mappings for hub rows


@dataclass(frozen=True)
class JoinSpec:
    """A second file whose rows are joined 1:1 to the dataset's rows by the column `key` (e.g. BFCL's
    answers beside its questions): its columns are added to each row, or nested under `into`."""

    source: DatasetSpec
    key: str = "id"
    into: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    column: str
    ops: tuple[Any, ...] = ()  # as written: "strip" or {"regex": PATTERN} (checked by FieldOp on load)
    value: Any = msgspec.UNSET  # a constant instead of a column
    file: str | None = None  # a constant read from this text file ($EVALHARNESS_DATA_DIR/<file>, or absolute)
    columns: tuple[str, ...] | None = None  # several columns gathered into a list (MMLU's choice0..choice3)


@dataclass(frozen=True)
class FewShotSpec:
    count: int
    dataset: DatasetSpec | None = None
    inline: tuple[dict[str, Any], ...] = ()
    seed: int = 1234
    answer_template: str = "{gold}"
    multiturn: bool = True
    separator: str = "\n\n"
    draw: str = "once"  # once: the same exemplars for every item; per_item: drawn per item, never itself


@dataclass(frozen=True)
class ToolsSpec:
    """Functions offered with every prompt: the item field holding them (BFCL/OpenAI function objects), the
    system text that carries them in the `prompt` tool mode when the suite has no `system`, and a sentence
    appended to every function's description."""

    field: str
    system: str = DEFAULT_TOOL_SYSTEM
    description_suffix: str = ""


@dataclass(frozen=True)
class PromptSpec:
    template: str
    system: str | None = None
    fewshot: FewShotSpec | None = None
    tools: ToolsSpec | None = None
