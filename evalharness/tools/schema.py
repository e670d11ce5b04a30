"""BFCL-style function descriptions -> OpenAI `tools` with valid JSON Schema (the `native` tool mode).

BFCL writes parameter types the Python way (`dict`, `float`, `tuple`, `any`, ...) and names functions with
dots (`math_toolkit.sum_of_multiples`); OpenAI-compatible endpoints want JSON Schema types and names that
match `^[a-zA-Z0-9_-]{1,64}$` (OpenAI and Azure reject anything else). This follows what BFCL's own OpenAI
handler sends: types mapped as below (an unknown or missing type becomes `string`), a float parameter
gets `format: float` and a sentence saying so in its description, the root is `type: object`, and every
character a name may not hold becomes `_`. Unlike BFCL's handler the mapping recurses to any depth
(`properties`, `items`). The input is never modified.
"""

from __future__ import annotations

import re
from typing import Any

JSON_SCHEMA_TYPES = {
    "string": "string", "str": "string", "char": "string", "any": "string", "Any": "string", "String": "string",
    "integer": "integer", "int": "integer", "long": "integer", "short": "integer", "byte": "integer",
    "Bigint": "integer",
    "number": "number", "float": "number", "double": "number",
    "boolean": "boolean", "bool": "boolean", "Boolean": "boolean",
    "array": "array", "list": "array", "tuple": "array", "ArrayList": "array", "Array": "array",
    "Queue": "array", "Stack": "array",
    "object": "object", "dict": "object", "HashMap": "object", "Hashtable": "object",
    "null": "null",
}
FLOAT_TYPES = ("float", "double")
FLOAT_NOTE = " This is a float type value."
_NAME_RE = re.compile(r"[^A-Za-z0-9_-]")


def openai_name(name: str) -> str:
    """The function name as an OpenAI-compatible endpoint accepts it (`a.b` -> `a_b`, at most 64 chars)."""
    return _NAME_RE.sub("_", str(name))[:64] or "_"


def openai_tools(functions: list[dict[str, Any]], description_suffix: str = "") -> list[dict[str, Any]]:
    """`[{"type": "function", "function": {name, description, parameters}}]` for a request's `tools`."""
    tools = []
    for function in functions:
        if not isinstance(function, dict):
            continue
        parameters = function.get("parameters")
        schema = json_schema(parameters if isinstance(parameters, dict) else {})
        schema["type"] = "object"
        schema.setdefault("properties", {})
        body = {"name": openai_name(function.get("name", "")),
                "description": str(function.get("description") or "") + description_suffix,
                "parameters": schema}
        tools.append({"type": "function", "function": body})
    return tools


def json_schema(node: Any) -> Any:
    """One schema node with its types (and those of its `properties`, `items`, `additionalProperties`)
    in JSON Schema terms."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    written = node.get("type")
    if isinstance(written, list):
        out["type"] = [JSON_SCHEMA_TYPES.get(str(t), "string") for t in written]
    else:
        out["type"] = JSON_SCHEMA_TYPES.get(str(written), "string") if written is not None else "string"
        if written in FLOAT_TYPES:
            out.setdefault("format", "float")
            if isinstance(out.get("description"), str):
                out["description"] += FLOAT_NOTE
    if isinstance(node.get("properties"), dict):
        out["properties"] = {key: json_schema(value) for key, value in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        out["items"] = json_schema(node["items"])
    elif isinstance(node.get("items"), list):
        out["items"] = [json_schema(item) for item in node["items"]]
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = json_schema(node["additionalProperties"])
    return out
