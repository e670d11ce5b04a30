"""Prompts: a suite's `prompt` + an item -> the chat messages sent to the model.

Few-shot exemplars are drawn once per suite with the suite's seed (so every item sees the same exemplars
and the prompt, hence the cache key, is reproducible) and rendered with the same `template` as the item;
the assistant side uses `answer_template`. With `multiturn: true` each exemplar is a user/assistant pair;
otherwise everything is joined into the single user message.

Functions (`prompt.tools`) are offered as the run's tool mode says (evalharness/tools): `native` puts them
in the request's `tools` (`Prompter.tools`), `prompt` writes them into the system message in Phi-4-mini's
format (the suite's `system`, else `tools.system`, then `<|tool|>[...]<|/tool|>`).
"""

from __future__ import annotations

import random
import re
from typing import Any

from evalharness.datasets import load_rows, map_row
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
    return [dict(map_row(rows[i], i, suite.fields, label).fields) for i in chosen]


def build_messages(suite: Suite | Task, item: Item, exemplars: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The exact message list for one item (system, exemplars, then the item's question)."""
    return Prompter(suite, exemplars).messages(item)


class Prompter:
    """Builds every item's messages for one task. The exemplar turns are rendered once and the same
    message dicts are shared by every prompt (8-shot GSM8K: 17 renders per item become 1; the cache key
    serialises them once too, and 50,000 prompts do not hold 50,000 copies)."""

    def __init__(self, task: Suite | Task, exemplars: list[dict[str, Any]], tool_mode: str = DEFAULT_TOOL_MODE):
        self.prompt = task.prompt
        self.tool_mode = tool_mode
        fewshot = self.prompt.fewshot
        self.shots: list[tuple[str, str]] = []
        if exemplars and fewshot is not None:
            self.shots = [(render(self.prompt.template, ex), render(fewshot.answer_template, ex)) for ex in exemplars]
        self.turns = [{"role": role, "content": text} for user, assistant in self.shots
                      for role, text in (("user", user), ("assistant", assistant))]
        self._system: dict[str, dict[str, str]] = {}

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
        if not self.shots or fewshot is None:
            messages.append({"role": "user", "content": question})
        elif fewshot.multiturn:
            messages += self.turns
            messages.append({"role": "user", "content": question})
        else:
            blocks = [f"{user}\n{assistant}" for user, assistant in self.shots]
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
