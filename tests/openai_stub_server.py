"""A small, fast OpenAI-compatible chat server for tests and benchmarks (127.0.0.1 only).

It is a real HTTP/1.1 server (keep-alive, Content-Length, optional SSE streaming) written on bare asyncio
so that it costs little CPU next to the harness under test. Behaviour is set by a JSON config, given at
start (`--config FILE`) or replaced at run time with `POST /_config`:

    {"latency_s": 0.05,                       # sleep before answering
     "replies": {"<last user message>": "<reply>", ...},   # exact lookup
     "contains": [["<substring>", "<reply>"], ...],         # first substring match (slower)
     "tool_calls": {"<last user message>": [{"name": "f", "arguments": {...}}, ...]},  # answer with calls
     "default_reply": "I do not know.",
     "fail_first": 0, "fail_status": 429, "retry_after": 0,  # first K attempts of each prompt fail
     "always_status": null,                   # e.g. 401: every request gets this status
     "drop_every": 0,                         # drop the connection on every Nth request
     "require_key": null,                     # 401 unless "Authorization: Bearer <key>"
     "hang": false,                           # accept every request and never answer (a dead replica)
     "capacity": null,                        # 429 (no Retry-After) when more than N requests are in flight
     "quota_after": null,                     # after N requests, 429 with Retry-After: 3600 (quota exhausted)
     "faults": {"seed": 0, "retry_after": 1,  # random faults per request, seeded; retry_after: seconds or "date"
                "rate": {"429": 0.1, "503": 0.1, "drop": 0.05, "hang": 0, "empty": 0, "malformed": 0,
                         "truncate": 0, "stall": 0}},
     "context_limit": null,                   # e.g. 4096: 400 "maximum context length is 4096 tokens" (vLLM's
                                              # wording) when prompt tokens + max_tokens exceed it
     "truncate_to": null,                     # e.g. 2048: report at most this many prompt tokens (Ollama's
                                              # silent truncation)
     "tokenize": "vllm",                      # POST /tokenize as vLLM ({messages} -> {count}); "llamacpp":
                                              # as llama.cpp (/apply-template, then {content} -> {tokens});
                                              # false: no tokenize endpoint (404)
     "oracle": null}                          # {"pattern": REGEX, "find": [[max_tokens, lo, hi], ...]}: reply
                                              # with the pattern's group 1 found in the last user message
                                              # when its prompt has <= max_tokens tokens and the match starts
                                              # within [lo, hi] (fractions of that message); else "not found"

Tokens are words (`str.split`) of the messages' contents, in `usage` and `/tokenize` alike.

Faults: `drop` closes the connection unanswered; `hang` never answers; `empty` is a 200 with no choices;
`malformed` a 200 whose body is not JSON; `truncate` sends half the body (or half the stream, no [DONE])
and closes; `stall` sends half the stream (or nothing) and then keeps the connection open, silent.

`GET /_stats` returns {"requests": N, "by_status": {...}, "answered": distinct prompts answered 200,
"answered_twice": prompts answered 200 more than once, ...}; `POST /_reset` zeroes the counters.
Run: `python tests/openai_stub_server.py [--port 0] [--config FILE]`; prints `PORT <n>` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import json
import random
import re
import sys
import time
from collections import Counter

STATE: dict = {"config": {}, "requests": 0, "by_status": Counter(), "attempts": Counter(), "answered": Counter(),
         "rng": random.Random(0), "inflight": 0,
               "max_inflight": 0, "seeds": []}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def count_tokens(messages: list[dict]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def oracle_reply(rule: dict, last: str, tokens: int) -> str:
    match = re.search(rule["pattern"], last)
    if match is None:
        return "There is no such value in the text."
    where = match.start() / max(1, len(last))
    for max_tokens, lo, hi in rule.get("find") or []:
        if tokens <= max_tokens and lo <= where <= hi:
            return f"The value is {match.group(1)}."
    return "I could not find it."


def reply_for(messages: list[dict]) -> str:
    config = STATE["config"]
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    if config.get("oracle"):
        return oracle_reply(config["oracle"], last, count_tokens(messages))
    replies = config.get("replies") or {}
    if last in replies:
        return replies[last]
    for needle, reply in config.get("contains") or []:
        if needle in last:
            return reply
    return config.get("default_reply", "I do not know.")


def choose_status(body: dict, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    config = STATE["config"]
    if config.get("always_status"):
        return int(config["always_status"]), {}
    key = config.get("require_key")
    if key and headers.get("authorization") != f"Bearer {key}":
        return 401, {}
    fail_first = int(config.get("fail_first") or 0)
    if fail_first:
        prompt = json.dumps(body.get("messages"), sort_keys=True) + str(body.get("seed"))
        STATE["attempts"][prompt] += 1
        if STATE["attempts"][prompt] <= fail_first:
            extra = {}
            if config.get("retry_after") is not None:
                extra["Retry-After"] = str(config["retry_after"])
            return int(config.get("fail_status", 429)), extra
    return 200, {}


def calls_for(messages: list[dict]) -> list[dict] | None:
    """OpenAI `tool_calls` for the last user message, when the config lists some (arguments as JSON text)."""
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    calls = (STATE["config"].get("tool_calls") or {}).get(last)
    if not calls:
        return None
    return [{"id": f"call_{i}", "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                          else json.dumps(c["arguments"])}} for i, c in enumerate(calls)]


def completion(body: dict, text: str, calls: list[dict] | None = None) -> dict:
    prompt_tokens = count_tokens(body.get("messages", []))
    if STATE["config"].get("truncate_to"):
        prompt_tokens = min(prompt_tokens, int(STATE["config"]["truncate_to"]))
    message = {"role": "assistant", "content": text}
    if calls:
        message = {"role": "assistant", "content": None, "tool_calls": calls}
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "model": body.get("model", "stub"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                  "total_tokens": prompt_tokens + len(text.split())},
    }


def stream_chunks(body: dict, text: str, calls: list[dict] | None = None) -> bytes:
    words = text.split(" ") if not calls else []
    events = []
    for i, word in enumerate(words):
        delta = {"content": word if i == 0 else " " + word}
        events.append({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    for i, call in enumerate(calls or []):  # name first, then the arguments in two pieces, as servers do
        args = call["function"]["arguments"]
        head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        for piece in (head, {"index": i, "function": {"arguments": args[: len(args) // 2]}},
                      {"index": i, "function": {"arguments": args[len(args) // 2:]}}):
            events.append({"choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}]})
    final = completion(body, text)
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
    events.append({"choices": [], "usage": final["usage"]})
    out = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return out.encode()


def http_response(status: int, payload: bytes, content_type: str = "application/json",
                  extra: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
            body_bytes = await reader.readexactly(int(headers.get("content-length", "0")))
            response = await route(method, path.split("?")[0], headers, body_bytes)
            if response is None:  # drop the connection without answering
                writer.transport.abort()
                return
            if isinstance(response, tuple):  # a fault: send part of an answer, then close or go silent
                data, action = response
                writer.write(data)
                await writer.drain()
                if action == "close":
                    writer.transport.abort()
                    return
                await asyncio.sleep(3600)
            writer.write(response)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def tokenize_route(path: str, body: dict, tokenizer: str) -> bytes:
    """vLLM's /tokenize (messages -> count), or llama.cpp's /apply-template + /tokenize (content -> tokens)."""
    STATE["tokenize_calls"] = STATE.get("tokenize_calls", 0) + 1
    if tokenizer == "llamacpp":
        if path == "/apply-template":
            prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
            return http_response(200, json.dumps({"prompt": prompt}).encode())
        return http_response(200, json.dumps({"tokens": list(range(len(str(body.get("content", "")).split())))}
                                             ).encode())
    if path != "/tokenize":
        return http_response(404, b'{"error": {"message": "no such route"}}')
    count = count_tokens(body.get("messages") or [])
    return http_response(200, json.dumps({"count": count, "max_model_len": STATE["config"].get("context_limit")}
                                         ).encode())


async def route(method: str, path: str, headers: dict[str, str], raw: bytes) -> bytes | None:
    if path == "/_stats":
        stats = {"requests": STATE["requests"], "by_status": dict(STATE["by_status"]),
                 "answered": len(STATE["answered"]), "inflight": STATE["inflight"],
                 "answered_twice": sum(1 for n in STATE["answered"].values() if n > 1),
                 "first_request_at": STATE.get("first"), "last_request_at": STATE.get("last"),
                 "max_inflight": STATE["max_inflight"], "seeds": STATE["seeds"],
                 "authorization_seen": STATE.get("auth"), "last_params": STATE.get("last_params"),
                 "last_tools": STATE.get("last_tools"), "tokenize_calls": STATE.get("tokenize_calls", 0)}
        return http_response(200, json.dumps(stats).encode())
    if path in ("/_reset", "/_config"):
        if path == "/_config":
            STATE["config"] = json.loads(raw)
        STATE.update(requests=0, by_status=Counter(), attempts=Counter(), answered=Counter(), first=None, last=None,
                     max_inflight=0, seeds=[], auth=None, tokenize_calls=0,
                     rng=random.Random((STATE["config"].get("faults") or {}).get("seed", 0)))
        return http_response(200, b"{}")
    tokenizer = STATE["config"].get("tokenize", "vllm")
    if method == "POST" and path in ("/tokenize", "/apply-template") and tokenizer:
        return tokenize_route(path, json.loads(raw), tokenizer)
    if method != "POST" or not path.endswith("/chat/completions"):
        return http_response(404, b'{"error": {"message": "no such route"}}')
    STATE["requests"] += 1
    STATE["first"] = STATE.get("first") or time.time()
    config = STATE["config"]
    drop_every = int(config.get("drop_every") or 0)
    if drop_every and STATE["requests"] % drop_every == 0:
        STATE["by_status"]["dropped"] += 1
        return None
    if config.get("hang"):
        STATE["by_status"]["hung"] += 1
        await asyncio.sleep(3600)
    fault = _pick_fault(config)
    if fault == "drop":
        STATE["by_status"]["dropped"] += 1
        return None
    if fault == "hang":
        STATE["by_status"]["hung"] += 1
        await asyncio.sleep(3600)
    quota_after = config.get("quota_after")
    if quota_after is not None and STATE["requests"] > int(quota_after):
        STATE["by_status"]["429"] += 1
        return http_response(429, b'{"error": {"message": "quota exhausted"}}', extra={"Retry-After": "3600"})
    if fault in ("429", "500", "502", "503"):
        STATE["by_status"][fault] += 1
        return http_response(int(fault), b'{"error": {"message": "injected"}}', extra=_retry_after_header(config))
    body = json.loads(raw)
    STATE["auth"] = headers.get("authorization")
    STATE["last_params"] = {k: v for k, v in body.items() if k != "messages"}
    if "seed" in body:
        STATE["seeds"].append(body["seed"])
    status, extra = choose_status(body, headers)
    if config.get("capacity") is not None and STATE["inflight"] >= int(config["capacity"]):
        status, extra = 429, {}
    limit = config.get("context_limit")
    prompt_tokens = count_tokens(body.get("messages", []))
    if status == 200 and limit and prompt_tokens + int(body.get("max_tokens") or 16) > int(limit):
        STATE["by_status"]["400"] += 1
        message = (f"This model's maximum context length is {limit} tokens. However, you requested "
                   f"{prompt_tokens + int(body.get('max_tokens') or 16)} tokens ({prompt_tokens} in the messages, "
                   f"{int(body.get('max_tokens') or 16)} in the completion). Please reduce the length.")
        return http_response(400, json.dumps({"object": "error", "message": message, "type": "BadRequestError",
                                              "code": 400}).encode())
    STATE["inflight"] += 1
    STATE["max_inflight"] = max(STATE["max_inflight"], STATE["inflight"])
    try:
        if config.get("latency_s"):
            await asyncio.sleep(float(config["latency_s"]))
    finally:
        STATE["inflight"] -= 1
    STATE["by_status"][str(status)] += 1
    if status != 200:
        message = {"error": {"message": f"stub error {status}", "type": "stub"}}
        return http_response(status, json.dumps(message).encode(), extra=extra)
    text = reply_for(body.get("messages", []))
    calls = calls_for(body.get("messages", []))
    STATE["last"] = time.time()
    STATE["last_tools"] = body.get("tools")
    if fault == "empty":
        return http_response(200, json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode())
    if fault == "malformed":
        return http_response(200, b'{"id": "x", "choices": [{"message": {"content": "oops"')
    if body.get("stream"):
        answer = http_response(200, stream_chunks(body, text, calls), "text/event-stream")
    else:
        answer = http_response(200, json.dumps(completion(body, text, calls)).encode())
    if fault in ("truncate", "stall"):  # half an answer (headers included), then close or go silent
        cut = answer.index(b"\r\n\r\n") + 4
        part = answer[: cut + (len(answer) - cut) // 2] if body.get("stream") or fault == "truncate" else b""
        return part, "close" if fault == "truncate" else "hang"
    STATE["answered"][json.dumps(body.get("messages"), sort_keys=True) + str(body.get("seed"))] += 1
    return answer


def _pick_fault(config: dict) -> str | None:
    rates = (config.get("faults") or {}).get("rate") or {}
    roll = STATE["rng"].random()
    for name, rate in rates.items():
        if roll < rate:
            return name
        roll -= rate
    return None


def _retry_after_header(config: dict) -> dict[str, str]:
    value = (config.get("faults") or {}).get("retry_after")
    if value is None:
        return {}
    if value == "date":
        return {"Retry-After": email.utils.formatdate(time.time() + 1, usegmt=True)}
    return {"Retry-After": str(value)}


async def serve(port: int, config: dict) -> None:
    STATE["config"] = config
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", help="JSON config file")
    args = parser.parse_args()
    config = json.load(open(args.config)) if args.config else {}
    try:
        asyncio.run(serve(args.port, config))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
