"""Offering functions and reading calls back: Phi-4-mini's text shapes (`<|tool_call|>` with or without its
closing tag or list brackets, vLLM's `functools[...]`, bare JSON, arguments as JSON text), the JSON Schema
sent as native `tools`, and which calls the grader counts in each tool mode."""

import json

import pytest

from evalharness.chat import ChatResponse, ToolCall
from evalharness.graders import Exchange, make_grader
from evalharness.items import Item
from evalharness.tools.phi_format import UnreadableCalls, parse_calls, system_with_tools
from evalharness.tools.schema import JSON_SCHEMA_TYPES, openai_name, openai_tools

SALES_TAX = [{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}},
             {"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}]
EXPECTED = [(c["name"], c["arguments"]) for c in SALES_TAX]


def calls(text):
    return [(c.name, c.arguments) for c in parse_calls(text)]


@pytest.mark.parametrize("text", [
    '<|tool_call|>[{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}}, '
    '{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}]<|/tool_call|>',
    # the closing tag left out (Phi-4-mini often does)
    '<|tool_call|>[{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}}, '
    '{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}]',
    # parallel calls without the list brackets, with and without the closing tag
    '<|tool_call|>{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}}, '
    '{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}<|/tool_call|>',
    '<|tool_call|>{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}}\n'
    '{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}',
    # one block per call
    '<|tool_call|>{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, "city": "Chicago"}}'
    '<|/tool_call|>\n<|tool_call|>{"name": "calculate_sales_tax", "arguments": '
    '{"purchase_amount": 52.33, "city": "Sacramento"}}<|/tool_call|>',
    # vLLM's phi4_mini_json convention, with text before it
    'Let me look that up. functools[{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45, '
    '"city": "Chicago"}}, {"name": "calculate_sales_tax", "arguments": {"purchase_amount": 52.33, "city": "Sacramento"}}]',
    # bare JSON, plain and in a code fence
    json.dumps(SALES_TAX),
    "```json\n" + json.dumps(SALES_TAX, indent=2) + "\n```",
    # arguments as a JSON string, and vLLM's `parameters` spelling
    "<|tool_call|>" + json.dumps([{"name": c["name"], "arguments": json.dumps(c["arguments"])} for c in SALES_TAX]),
    "functools" + json.dumps([{"name": c["name"], "parameters": c["arguments"]} for c in SALES_TAX]),
])
def test_every_written_shape_of_two_parallel_calls_is_read(text):
    assert calls(text) == EXPECTED


def test_single_calls_as_bare_objects_and_nested_brackets_inside_arguments():
    one = {"name": "sort_list", "arguments": {"items": [[3, 1], [2]], "note": "a ] inside"}}
    assert calls(json.dumps(one)) == [("sort_list", one["arguments"])]
    assert calls("functools[" + json.dumps(one) + "]") == [("sort_list", one["arguments"])]
    assert calls("<|tool_call|>" + json.dumps(one) + " I have called the function.") == [("sort_list", one["arguments"])]
    assert calls('<|tool_call|>{"name": "ping", "arguments": {}}<|/tool_call|>') == [("ping", {})]


@pytest.mark.parametrize("text", ["The capital of France is Paris.", "", None,
                                  "I can't do that: no tool computes the weather on Mars."])
def test_text_without_call_syntax_holds_no_call(text):
    assert calls(text) == []


@pytest.mark.parametrize("text", [
    "<|tool_call|>calculate_sales_tax(purchase_amount=30.45)<|/tool_call|>",
    '<|tool_call|>[{"name": "calculate_sales_tax", "arguments": {"purchase_amount": 30.45}',  # cut off
    '<|tool_call|>{"name": "f", "description": "echoed doc", "parameters": {"type": "dict"}}',
    '<|tool_call|>{"arguments": {"x": 1}}',
    '<|tool_call|>{"name": "f", "arguments": "x=1"}',
    '<|tool_call|>{"name": "f", "arguments": [1, 2]}',
    "<|tool_call|><|/tool_call|>",
    "functools[{'name': 'f', 'arguments': {}}]",
    '[{"answer": 42}]',
])
def test_call_syntax_that_cannot_be_read_is_unreadable(text):
    with pytest.raises(UnreadableCalls):
        parse_calls(text)


def test_the_system_message_carries_the_functions_as_the_model_card_shows():
    content = system_with_tools("You are a helpful assistant with some tools.", [{"name": "f", "parameters": {}}])
    assert content == 'You are a helpful assistant with some tools.<|tool|>[{"name": "f", "parameters": {}}]<|/tool|>'


BFCL_STYLE = {"name": "stats.fit.linear-model", "description": "Fit a model.", "parameters": {
    "type": "dict", "required": ["x"], "properties": {
        "x": {"type": "array", "items": {"type": "float"}, "description": "Inputs."},
        "alpha": {"type": "float", "description": "Penalty."},
        "shape": {"type": "tuple", "items": {"type": "integer"}, "description": "Shape."},
        "options": {"type": "dict", "description": "Options.", "properties": {"tol": {"type": "float"}}},
        "rows": {"type": "array", "items": {"type": "dict", "properties": {"k": {"type": "any"}}}},
        "anything": {"description": "No type given."}}}}


def _types(node):
    if isinstance(node, dict):
        if "type" in node and isinstance(node["type"], str):
            yield node["type"]
        for key in ("properties",):
            for child in (node.get(key) or {}).values():
                yield from _types(child)
        if isinstance(node.get("items"), dict):
            yield from _types(node["items"])


def test_native_tools_are_json_schema_with_names_openai_accepts():
    original = json.dumps(BFCL_STYLE)
    (tool,) = openai_tools([BFCL_STYLE])
    assert json.dumps(BFCL_STYLE) == original  # the suite's functions are not modified
    function = tool["function"]
    assert tool["type"] == "function" and function["name"] == "stats_fit_linear-model"
    schema = function["parameters"]
    assert schema["type"] == "object" and schema["required"] == ["x"]
    props = schema["properties"]
    assert props["alpha"] == {"type": "number", "format": "float", "description": "Penalty. This is a float type value."}
    assert props["shape"]["type"] == "array" and props["shape"]["items"] == {"type": "integer"}
    assert props["options"]["type"] == "object" and props["options"]["properties"]["tol"]["type"] == "number"
    assert props["rows"]["items"]["type"] == "object" and props["rows"]["items"]["properties"]["k"]["type"] == "string"
    assert props["anything"]["type"] == "string"
    assert set(_types(schema)) <= {"object", "array", "string", "integer", "number", "boolean", "null"}
    assert openai_name("a.b c/d" + "x" * 80) == "a_b_c_d" + "x" * 57


def test_every_bfcl_function_converts_to_valid_json_schema(shared_data):
    import re

    valid = set(JSON_SCHEMA_TYPES.values())
    count = 0
    for path in sorted((shared_data / "bfcl").glob("BFCL_v4_*.json")):
        for line in path.read_text().splitlines():
            for tool in openai_tools(json.loads(line)["function"]):
                count += 1
                assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool["function"]["name"])
                schema = tool["function"]["parameters"]
                assert schema["type"] == "object" and set(_types(schema)) <= valid, tool
    assert count > 1500


# ---- which calls the grader counts ------------------------------------------------------------------------

FUNCTIONS = [{"name": "geo.distance", "description": "Distance between two cities.", "parameters": {
    "type": "dict", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}}]
GOLD = [{"geo.distance": {"a": ["Paris"], "b": ["Rome"]}}]
TEXT_CALL = '<|tool_call|>[{"name": "geo.distance", "arguments": {"a": "Paris", "b": "Rome"}}]<|/tool_call|>'


def grade(content="", tool_calls=(), native=True, gold=GOLD):
    item = Item("1", 0, {"functions": FUNCTIONS, "gold": gold})
    tools = openai_tools(FUNCTIONS) if native else None
    exchange = Exchange(item, [], ChatResponse(content, tool_calls=list(tool_calls)), tools)
    return make_grader("tool_call_ast").grade(exchange)


def test_native_mode_counts_only_tool_calls_and_maps_offered_names_back():
    right = grade(tool_calls=[ToolCall("geo_distance", {"a": "Paris", "b": "Rome"}, "c1")])
    assert right.correct and right.details == {"mode": "native", "calls": 1}
    assert json.loads(right.extracted) == [{"geo.distance": {"a": "Paris", "b": "Rome"}}]
    assert grade(tool_calls=[ToolCall("geo.distance", {"a": "Paris", "b": "Rome"})]).correct
    text_only = grade(content=TEXT_CALL)
    assert not text_only.correct and text_only.details["reason"] == "wrong_count"  # text is not a call here
    broken = grade(tool_calls=[ToolCall("geo_distance", '{"a": "Paris", "b": ')])
    assert not broken.correct and broken.details["reason"] == "unparseable" and broken.extracted is None


def test_prompt_mode_reads_the_text_and_falls_back_on_server_parsed_calls():
    assert grade(content=TEXT_CALL, native=False).correct
    underscored = grade(content=TEXT_CALL.replace("geo.distance", "geo_distance"), native=False)
    assert underscored.details["reason"] == "wrong_function"  # offered as geo.distance in the prompt
    parsed_by_server = grade(tool_calls=[ToolCall("geo.distance", {"a": "Paris", "b": "Rome"})], native=False)
    assert parsed_by_server.correct and parsed_by_server.details["mode"] == "prompt"
    garbled = grade(content="<|tool_call|>geo.distance(Paris, Rome)", native=False)
    assert garbled.details["reason"] == "unparseable" and "unreadable" in garbled.details


def test_irrelevance_in_both_modes():
    assert grade(content="I cannot compute that.", gold=[]).correct
    assert grade(content="I cannot compute that.", native=False, gold=[]).correct
    assert grade(content="<|tool_call|>not json", native=False, gold=[]).correct  # unreadable: no call
    called = grade(tool_calls=[ToolCall("geo_distance", {"a": "x", "b": "y"})], gold=[])
    assert not called.correct and called.details["reason"] == "wrong_count"
    assert not grade(content=TEXT_CALL, native=False, gold=[]).correct


def test_offline_grading_reads_functions_tools_and_calls_from_the_records(tmp_path):
    from conftest import run_cli

    native = openai_tools(FUNCTIONS)
    rows = [
        {"id": "text", "response": TEXT_CALL, "gold": GOLD, "functions": FUNCTIONS},  # prompt mode: text counts
        {"id": "native-text", "response": TEXT_CALL, "gold": GOLD, "functions": FUNCTIONS, "tools": native},
        {"id": "native-call", "response": "", "gold": GOLD, "functions": FUNCTIONS, "tools": native,
         "tool_calls": [{"id": "c", "name": "geo_distance", "arguments": {"a": "paris", "b": "ROME"}}]},
    ]
    source = tmp_path / "records.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    proc = run_cli("grade", "tool_call_ast", "--input", str(source))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("tool_call_ast: accuracy 0.6667 (2/3)")
    graded = {r["id"]: r for r in map(json.loads, (tmp_path / "records.graded.jsonl").read_text().splitlines())}
    assert graded["text"]["correct"] and graded["native-call"]["correct"]
    assert graded["native-text"]["grade_details"]["reason"] == "wrong_count"
