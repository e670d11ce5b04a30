"""Phi-4-mini's tool format in text (the `prompt` tool mode): functions into the system message, calls out
of the response.

Offering: the model card's format is `<|system|>SYSTEM<|tool|>[JSON list of functions]<|/tool|><|end|>`.
Phi-4-mini's chat template (tokenizer_config.json) renders a system message that carries `tools` as
`'<|system|>' + content + '<|tool|>' + tools + '<|/tool|>' + '<|end|>'`, and one without as
`'<|system|>' + content + '<|end|>'`; so a system message whose content ends in the `<|tool|>...<|/tool|>`
block yields the very same prompt through any server that applies the model's template (the servers
tokenize the templated prompt with special tokens parsed, so `<|tool|>` is Phi-4-mini's special token).
The functions are written as the suite gives them (BFCL's own Phi handler does the same).

Reading: the model answers `<|tool_call|>[{"name": ..., "arguments": {...}}]<|/tool_call|>`, but often drops
the closing tag and sometimes the list brackets around parallel calls (BFCL's Phi handler notes both);
vLLM's `phi4_mini_json` parser prompts for and reads `functools[{...}, ...]` instead; some answers are a bare
JSON list or object (also what is left when a server drops special tokens such as `<|tool_call|>` from the
text, as vLLM does by default). `parse_calls` accepts all of these, `arguments` (or `parameters`, as vLLM's parser
allows) given as an object or as a JSON string of one. A text with no call syntax has no calls. A text
with call syntax whose content is not a list of `{name, arguments}` objects raises `UnreadableCalls`:
an echoed function description (`{name, description, parameters}`) is not a call, as in BFCL.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evalharness.chat import ToolCall

TOOL_OPEN, TOOL_CLOSE = "<|tool|>", "<|/tool|>"
CALL_OPEN, CALL_CLOSE = "<|tool_call|>", "<|/tool_call|>"
_FUNCTOOLS = re.compile(r"functools\s*\[")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.S)
_DECODER = json.JSONDecoder()
_ARGUMENT_KEYS = ("arguments", "parameters")


class UnreadableCalls(ValueError):
    """The text has call syntax, but what it holds is not a list of `{name, arguments}` objects."""


def system_with_tools(system: str, functions: list[Any]) -> str:
    """The system message content that carries `functions` in Phi-4-mini's format."""
    return f"{system}{TOOL_OPEN}{json.dumps(functions, ensure_ascii=False)}{TOOL_CLOSE}"


def parse_calls(text: str | None) -> list[ToolCall]:
    """The calls written in `text` (see the module docstring); [] when it holds none."""
    text = text or ""
    if CALL_OPEN in text:
        values = [value for block in _call_blocks(text) for value in _json_values(block)]
        return [_as_call(value) for value in _flatten(values)]
    match = _FUNCTOOLS.search(text)
    if match:
        try:
            value, _ = _DECODER.raw_decode(text, match.end() - 1)
        except ValueError as err:
            raise UnreadableCalls(f"functools[...] is not a JSON list ({err})") from None
        return [_as_call(item) for item in _flatten([value])]
    body = _unfenced(text.strip())
    if body[:1] in ("[", "{"):
        return [_as_call(item) for item in _flatten(_json_values(body))]
    return []


def _call_blocks(text: str) -> list[str]:
    """What follows each `<|tool_call|>`, up to its `<|/tool_call|>`, the next `<|tool_call|>` or the end."""
    blocks = []
    for piece in text.split(CALL_OPEN)[1:]:
        blocks.append(piece.split(CALL_CLOSE, 1)[0])
    return blocks


def _unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def _json_values(block: str) -> list[Any]:
    """The JSON values at the start of `block`: one list or object, or several objects separated by commas
    or white space (a parallel call without its list brackets). Text after the last value is ignored."""
    block = block.strip()
    values: list[Any] = []
    position = 0
    while position < len(block):
        while position < len(block) and block[position] in " \t\r\n,":
            position += 1
        if position >= len(block) or block[position] not in "[{\"":
            break
        try:
            value, position = _DECODER.raw_decode(block, position)
        except ValueError as err:
            raise UnreadableCalls(f"tool call is not valid JSON ({err})") from None
        values.append(value)
    if not values:
        raise UnreadableCalls("tool call holds no JSON object")
    return values


def _flatten(values: list[Any]) -> list[Any]:
    items: list[Any] = []
    for value in values:
        items.extend(value if isinstance(value, list) else [value])
    return items


def _as_call(item: Any) -> ToolCall:
    """One `{"name": ..., "arguments": {...}}` (a JSON string of one is read too) as a ToolCall."""
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except ValueError:
            raise UnreadableCalls(f"not a call object: {item[:80]!r}") from None
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise UnreadableCalls(f"not a call object with a name: {str(item)[:80]}")
    keys = [key for key in _ARGUMENT_KEYS if key in item]
    if len(keys) != 1 or len(item) != 2:
        raise UnreadableCalls(f"a call has exactly `name` and `arguments`, got keys {sorted(item)}")
    return ToolCall(name=item["name"], arguments=arguments_object(item[keys[0]]))


def arguments_object(arguments: Any) -> dict[str, Any]:
    """A call's arguments as a mapping: an object, or a JSON string holding one; else UnreadableCalls."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            raise UnreadableCalls(f"arguments are not JSON: {arguments[:80]!r}") from None
    if not isinstance(arguments, dict):
        raise UnreadableCalls(f"arguments are not an object: {str(arguments)[:80]}")
    return arguments
