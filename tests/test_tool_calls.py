"""Tool calls travel the whole pipeline: request `tools` reach the server, `tool_calls` come back (plain and
streamed in pieces), the cache stores and restores them, graders see them, records keep them."""

import asyncio
import json
from pathlib import Path

from conftest import run_cli
from evalharness.cache import ResponseCache, cache_key
from evalharness.chat import ChatRequest, ToolCall
from evalharness.providers.openai import HTTPProvider

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
CALLS = {"Weather in Paris and Oslo?": [{"name": "get_weather", "arguments": {"city": "Paris"}},
                                        {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}],
         "Bad arguments": [{"name": "get_weather", "arguments": "{city: Rome"}]}


def complete(server, stream: bool, text: str):
    async def go():
        provider = HTTPProvider(base_url=server.base_url, model="m", stream=stream, max_retries=0)
        try:
            request = ChatRequest([{"role": "user", "content": text}], {"temperature": 0}, tools=[WEATHER])
            return await provider.complete(request)
        finally:
            await provider.aclose()
    return asyncio.run(go())


def test_tools_are_sent_and_calls_parsed_plain_and_streamed(stub_server):
    stub_server.configure({"tool_calls": CALLS})
    for stream in (False, True):
        response = complete(stub_server, stream, "Weather in Paris and Oslo?")
        assert stub_server.stats()["last_tools"] == [WEATHER]
        assert response.finish_reason == "tool_calls" and response.content == ""
        assert [(c.name, c.arguments) for c in response.tool_calls] == [("get_weather", {"city": "Paris"}),
                                                                         ("get_weather", {"city": "Oslo"})]
        assert response.tool_calls[0].id == "call_0"
        bad = complete(stub_server, stream, "Bad arguments")
        assert bad.tool_calls[0].arguments == "{city: Rome"  # not JSON: kept as written, for the grader


def test_cache_keys_on_tools_and_restores_calls(tmp_path):
    plain = ChatRequest([{"role": "user", "content": "x"}], {})
    with_tools = ChatRequest([{"role": "user", "content": "x"}], {}, tools=[WEATHER])
    identity = {"base_url": "http://a", "model": "m"}
    assert cache_key(identity, plain) != cache_key(identity, with_tools)
    assert cache_key(identity, with_tools) == cache_key(identity, with_tools, {})  # memoised keys are the same
    from evalharness.chat import ChatResponse

    cache = ResponseCache(tmp_path / "c.sqlite")
    call = ToolCall("get_weather", {"city": "Paris"}, "call_0")
    cache.put("k", "m", ChatResponse("", "tool_calls", tool_calls=[call]))
    cache.flush()
    restored = cache.get("k")
    cache.close()
    assert restored.tool_calls == [call] and restored.cached and restored.finish_reason == "tool_calls"
    assert restored.as_message()["tool_calls"][0]["function"] == {"name": "get_weather",
                                                                  "arguments": "{\"city\": \"Paris\"}"}


GRADER = '''
from evalharness.graders import Exchange, Grade, Grader

class CalledCity(Grader):
    name = "called_city"

    def grade(self, exchange: Exchange) -> Grade:
        cities = [c.arguments.get("city") for c in exchange.tool_calls if isinstance(c.arguments, dict)]
        return Grade(exchange.gold in cities, ",".join(map(str, cities)) or None,
                     {"finish_reason": exchange.response.finish_reason, "sent": len(exchange.messages)})
'''


def test_a_grader_sees_the_calls_and_records_keep_them(tmp_path, stub_server):
    (tmp_path / "grader.py").write_text(GRADER)
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"q": "Weather in Paris and Oslo?", "a": "Oslo"}, {"q": "Bad arguments", "a": "Rome"},
        {"q": "Just chat", "a": "Paris"}]) + "\n")
    (tmp_path / "s.yaml").write_text("name: calls\ndescription: calls\ndataset: {path: items.jsonl}\n"
                                     "fields: {question: q, gold: a}\nprompt: {template: '{question}'}\n"
                                     "grader: grader.py:CalledCity\n")
    stub_server.configure({"tool_calls": CALLS, "default_reply": "Sunny, I guess."})

    def run():
        proc = run_cli("run", str(tmp_path / "s.yaml"), "--base-url", stub_server.base_url, "--model", "m",
                       "--cache", str(tmp_path / "c.sqlite"), "--output-dir", str(tmp_path / "runs"), "--no-progress")
        assert proc.returncode == 0, proc.stderr
        run_dir = Path(proc.stdout.strip().splitlines()[-1])
        rows = {r["id"]: r for r in map(json.loads, (run_dir / "samples.jsonl").read_text().splitlines())}
        return run_dir, json.loads((run_dir / "results.json").read_text()), rows

    run_dir, res, rows = run()
    assert res["metrics"]["accuracy"]["value"] == 1 / 3
    assert rows["0"]["correct"] and rows["0"]["extracted"] == "Paris,Oslo"
    assert rows["0"]["tool_calls"][1] == {"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    assert rows["0"]["grades"]["called_city"]["details"] == {"finish_reason": "tool_calls", "sent": 1}
    assert rows["2"]["tool_calls"] is None and rows["2"]["response"] == "Sunny, I guess."
    assert "get_weather" in (run_dir / "report.html").read_text()
    _, again, rows2 = run()
    assert again["cached"] == 3 and again["requests"] == 0
    assert rows2["0"]["tool_calls"] == rows["0"]["tool_calls"] and rows2["0"]["correct"]
