"""Grader `tool_call_ast`: the calls a response made, checked by BFCL's AST rules (`ast_check`).

Which calls count depends on how the functions were offered, which the exchange records (`tools`, the
request's native tools, or None):
- offered natively: only the response's `tool_calls` (text that looks like a call is not a call); each
  call's arguments must be a JSON object;
- offered in the prompt: the calls written in the text (`tools.phi_format.parse_calls`: `<|tool_call|>`
  with or without its closing tag or list brackets, `functools[...]`, a bare JSON list or object), or,
  when the text holds none, `tool_calls` a server already parsed out of it.
Calls that cannot be read are no calls: wrong when calls are expected (reason `unparseable`), right when
none is (BFCL's irrelevance rule). A call may name a function as it was offered (`math_toolkit_sum`, when
native tools had to rename `math_toolkit.sum`) or by its own name.

Options: `functions`, the item field holding the offered functions (default `functions`). The gold is the
expected calls in BFCL's possible-answer form, `[]` when no call should be made. `details` holds `reason`
and `why` when wrong (see `ast_check.REASONS`), the tool `mode` and the number of `calls` read.
"""

from __future__ import annotations

import json
from typing import Any

from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions
from evalharness.graders.tools.ast_check import check_calls
from evalharness.tools.phi_format import UnreadableCalls, arguments_object, parse_calls


class ToolCallASTOptions(GraderOptions):
    functions: str = "functions"


class ToolCallAST(Grader):
    name = "tool_call_ast"
    Options = ToolCallASTOptions
    default_strategies = ()

    def grade(self, exchange: Exchange) -> Grade:
        functions = exchange.fields.get(self.options.functions)
        functions = functions if isinstance(functions, list) else []
        mode = "native" if exchange.tools is not None else "prompt"
        try:
            calls: list[tuple[str, Any]] | None = read_calls(exchange)
        except UnreadableCalls as err:
            calls, unreadable = None, str(err)
        else:
            unreadable = None
            calls = [(_original_name(name, exchange.tools, functions), args) for name, args in calls]
        verdict = check_calls(functions, exchange.gold, calls)
        details: dict[str, Any] = {"mode": mode, "calls": None if calls is None else len(calls)}
        if not verdict.correct:
            details.update(reason=verdict.reason, why=verdict.why)
        if unreadable:
            details["unreadable"] = unreadable
        extracted = None if calls is None else json.dumps([{name: args} for name, args in calls], ensure_ascii=False)
        return Grade(verdict.correct, extracted, details)


def read_calls(exchange: Exchange) -> list[tuple[str, Any]]:
    """(name, arguments) of every call the response made, by the exchange's tool mode (module docstring);
    raises UnreadableCalls when they cannot be read."""
    response = exchange.response
    if response is None:
        return []
    if exchange.tools is not None:
        out = []
        for call in response.tool_calls:
            if not isinstance(call.arguments, dict):
                raise UnreadableCalls(f"arguments of {call.name} are not a JSON object")
            out.append((call.name, call.arguments))
        return out
    written = parse_calls(response.content)
    if written:
        return [(call.name, call.arguments) for call in written]
    return [(call.name, arguments_object(call.arguments)) for call in response.tool_calls]


def _original_name(name: str, tools: list[dict[str, Any]] | None, functions: list[Any]) -> str:
    """The suite's name of the function a call names, when the call used the name the request offered."""
    if not tools or any(isinstance(f, dict) and f.get("name") == name for f in functions):
        return name
    for tool, function in zip(tools, functions):
        offered = (tool.get("function") or {}).get("name") if isinstance(tool, dict) else None
        if offered == name and isinstance(function, dict) and isinstance(function.get("name"), str):
            return function["name"]
    return name
