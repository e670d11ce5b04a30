"""Prompts: a suite's `prompt` + an item -> the chat messages sent to the model.

Few-shot exemplars are drawn once per suite with the suite's seed (so every item sees the same exemplars
and the prompt, hence the cache key, is reproducible) and rendered with the same `template` as the item;
the assistant side uses `answer_template`. With `multiturn: true` each exemplar is a user/assistant pair;
otherwise everything is joined into the single user message.

Functions (`prompt.tools`) are offered as the run's tool mode says (evalharness/tools): `native` puts them
in the request's `tools` (`Prompter.tools`), `prompt` writes them into the system message in Phi-4-mini's
format (the suite's `system`, else `tools.system`, then `<|tool|>[...]<|/tool|>`).

`fewshot.draw: per_item` draws each item's own exemplars (`ExemplarPool`), seeded by the suite's seed and
the item's row, never the item itself: how lm-eval few-shots sets that have no train split (HellaSwag,
WinoGrande, PIQA, ...), where "every row but the evaluated ones" is empty when the whole split is run.
Exemplars of a multiple-choice task get their options formatted like the items (choices.py).
"""

from __future__ import annotations

import random
import re
from typing import Any

from evalharness.choices import present
from evalharness.datasets import fields_for, load_rows, map_row
from evalharness.errors import UserError
from evalharness.items import Item
from evalharness.suite import Suite, Task
from evalharness.tools import DEFAULT_TOOL_MODE

PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, fields: dict[str, Any]) -> str:
    """Replace `{name}` by the field's value; braces that name no field stay as written; `{{`/`}}` escape."""

    def substitute(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        return str(fields[name]) if name in fields else token

    return PLACEHOLDER_RE.sub(substitute, template)


def load_exemplars(suite: Suite | Task, exclude_indices: set[int] | None = None) -> list[dict[str, Any]]:
    """The few-shot exemplars' fields, drawn with the suite's seed; empty when the suite is zero-shot.
    `exclude_indices` (dataset row positions) keeps the evaluated rows out when exemplars come from the
    same split. Accepts a one-task suite or a task."""
    fewshot = suite.prompt.fewshot
    label = getattr(suite, "name", None) or "suite"
    if fewshot is None or fewshot.count == 0:
        return []
    if fewshot.dataset is None:
        return [dict(row) for row in fewshot.inline[: fewshot.count]]
    rows = load_rows(fewshot.dataset, source=f"{label} few-shot")
    pool = [i for i in range(len(rows)) if i not in (exclude_indices or ())]
    if len(pool) < fewshot.count:
        raise UserError(f"{label}: few-shot needs {fewshot.count} exemplars, the pool has {len(pool)}")
    chosen = random.Random(fewshot.seed).sample(pool, fewshot.count)
    # only the chosen rows are mapped: the ops (regex, sub) on a 7,000-row train split cost real start-up time
    mapping = fields_for(fewshot.dataset, rows, suite.fields)
    return [_exemplar(rows[i], i, suite, label, mapping) for i in chosen]


def _exemplar(row: dict, index: int, task: Suite | Task, label: str, mapping: dict) -> dict[str, Any]:
    fields = dict(map_row(row, index, mapping, label).fields)
    spec = getattr(task, "choices", None)
    return present(fields, spec, f"{label} few-shot row {index}") if spec is not None else fields


class ExemplarPool:
    """Per-item exemplars (`fewshot.draw: per_item`): `count` rows drawn for each item with the seed and the
    item's row, leaving the item itself out when the pool is the evaluated split. Rows are read once and
    mapped only when drawn."""

    def __init__(self, task: Task, exclude_self: bool):
        fewshot = task.prompt.fewshot
        assert fewshot is not None and fewshot.dataset is not None
        self.task, self.fewshot, self.exclude_self = task, fewshot, exclude_self
        self.label = task.name or "suite"
        self.rows = load_rows(fewshot.dataset, source=f"{self.label} few-shot")
        self.mapping = fields_for(fewshot.dataset, self.rows, task.fields)
        needed = fewshot.count + (1 if exclude_self else 0)
        if len(self.rows) < needed:
            raise UserError(f"{self.label}: few-shot needs {fewshot.count} exemplars besides the item, the pool "
                            f"has {len(self.rows)} rows")
        self._mapped: dict[int, dict[str, Any]] = {}

    def for_item(self, item: Item) -> list[dict[str, Any]]:
        row = item.row if item.row is not None else item.index
        count = self.fewshot.count
        drawn = random.Random(f"{self.fewshot.seed}:{row}").sample(range(len(self.rows)), count + 1)
        chosen = [i for i in drawn if not (self.exclude_self and i == row)][:count]
        return [self._exemplar(i) for i in chosen]

    def _exemplar(self, index: int) -> dict[str, Any]:
        found = self._mapped.get(index)
        if found is None:
            found = self._mapped[index] = _exemplar(self.rows[index], index, self.task, self.label, self.mapping)
        return found


def build_messages(suite: Suite | Task, item: Item, exemplars: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The exact message list for one item (system, exemplars, then the item's question)."""
    return Prompter(suite, exemplars).messages(item)


class Prompter:
    """Builds every item's messages for one task. The exemplar turns are rendered once and the same
    message dicts are shared by every prompt (8-shot GSM8K: 17 renders per item become 1; the cache key
    serialises them once too, and 50,000 prompts do not hold 50,000 copies)."""

    def __init__(self, task: Suite | Task, exemplars: list[dict[str, Any]], pool: ExemplarPool | None = None,
                 tool_mode: str = DEFAULT_TOOL_MODE):
        self.prompt = task.prompt
        self.pool = pool
        self.tool_mode = tool_mode
        self.shots, self.turns = self._render(exemplars)
        self._system: dict[str, dict[str, str]] = {}

    def _render(self, exemplars: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
        fewshot = self.prompt.fewshot
        shots: list[tuple[str, str]] = []
        if exemplars and fewshot is not None:
            shots = [(render(self.prompt.template, ex), render(fewshot.answer_template, ex)) for ex in exemplars]
        turns = [{"role": role, "content": text} for user, assistant in shots
                 for role, text in (("user", user), ("assistant", assistant))]
        return shots, turns

    def messages(self, item: Item) -> list[dict[str, str]]:
        prompt = self.prompt
        messages: list[dict[str, str]] = []
        text = render(prompt.system, item.fields) if prompt.system else None
        if prompt.tools is not None and self.tool_mode == "prompt":
            from evalharness.tools.phi_format import system_with_tools

            text = system_with_tools(text or prompt.tools.system, self._functions(item))
        if text is not None:
            system = self._system.get(text)
            if system is None:
                system = self._system[text] = {"role": "system", "content": text}
            messages.append(system)
        question = render(prompt.template, item.fields)
        fewshot = prompt.fewshot
        shots, turns = self._render(self.pool.for_item(item)) if self.pool is not None else (self.shots, self.turns)
        if not shots or fewshot is None:
            messages.append({"role": "user", "content": question})
        elif fewshot.multiturn:
            messages += turns
            messages.append({"role": "user", "content": question})
        else:
            blocks = [f"{user}\n{assistant}" for user, assistant in shots]
            messages.append({"role": "user", "content": fewshot.separator.join(blocks + [question])})
        return messages

    def tools(self, item: Item) -> list[dict[str, Any]] | None:
        """The request's native `tools` for this item: the suite's functions in the `native` tool mode,
        else None."""
        if self.prompt.tools is None or self.tool_mode != "native":
            return None
        from evalharness.tools.schema import openai_tools

        return openai_tools(self._functions(item))

    def _functions(self, item: Item) -> list[Any]:
        """The item's functions (field `prompt.tools.field`), each description with the suite's suffix."""
        spec = self.prompt.tools
        value = item.fields.get(spec.field)
        if not isinstance(value, list):
            raise UserError(f"prompt.tools.field: item {item.id} has no list of functions in field {spec.field!r}")
        if not spec.description_suffix:
            return value
        return [{**f, "description": str(f.get("description") or "") + spec.description_suffix}
                if isinstance(f, dict) else f for f in value]
