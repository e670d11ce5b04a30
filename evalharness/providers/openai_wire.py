"""The OpenAI chat-completions wire format, read: a JSON body, or a server-sent-event stream of deltas.

Pure parsing, no I/O: `parse_completion(body)` and `StreamReader.feed(data)` turn what the server sent into
the parts of a `ChatResponse`; anything that is not a chat completion raises ValueError (the HTTP provider
retries it). A stream is complete only with `[DONE]` or a finish reason: one cut off before is an error,
not a shorter answer.
"""

from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator

import msgspec

from evalharness.chat import ChatResponse, ToolCall

_decode = msgspec.json.Decoder().decode


def parse_completion(body: bytes, latency_s: float) -> ChatResponse:
    """A non-streamed completion body; ValueError when it is not one (no choices, no message, not JSON)."""
    try:
        data = _decode(body)
        choice = data["choices"][0]
        message = choice["message"]
        content = message.get("content") or ""
        calls = [ToolCall.from_openai(raw) for raw in message.get("tool_calls") or []]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ValueError("the endpoint returned a body that is not a chat completion") from None
    return ChatResponse(content=content, finish_reason=choice.get("finish_reason"), usage=usage(data.get("usage")),
                        latency_s=latency_s, tool_calls=calls)


class StreamReader:
    """Accumulates `data:` lines of a streamed completion: text, tool-call pieces, usage, finish reason,
    and the time to the first token."""

    def __init__(self, started: float):
        self.started = started
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.ttft: float | None = None
        self.finish: str | None = None
        self.done = False
        self.usage = usage(None)

    def feed(self, line: str) -> bool:
        """Take one line; False once the stream said `[DONE]`. ValueError when a chunk is not a chunk."""
        if not line.startswith("data:"):
            return True
        chunk = line[5:].strip()
        if chunk == "[DONE]":
            self.done = True
            return False
        try:
            data = _decode(chunk)
            if data.get("usage"):
                self.usage = usage(data["usage"])
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if (text or delta.get("tool_calls")) and self.ttft is None:
                    self.ttft = time.perf_counter() - self.started
                if text:
                    self.parts.append(text)
                _merge_tool_call_deltas(self.calls, delta.get("tool_calls"))
                self.finish = choice.get("finish_reason") or self.finish
        except (ValueError, AttributeError, TypeError):
            raise ValueError("the endpoint streamed data that is not a chat completion") from None
        return True

    def response(self) -> ChatResponse:
        if not self.done and self.finish is None:
            raise ValueError("the stream ended before the completion did (no finish_reason, no [DONE])")
        tool_calls = [ToolCall.from_openai(self.calls[i]) for i in sorted(self.calls)]
        return ChatResponse(content="".join(self.parts), finish_reason=self.finish, usage=self.usage,
                            latency_s=time.perf_counter() - self.started, ttft_s=self.ttft, tool_calls=tool_calls)


def usage(raw: Any) -> dict[str, int]:
    raw = raw if isinstance(raw, dict) else {}
    return {"prompt_tokens": int(raw.get("prompt_tokens") or 0),
            "completion_tokens": int(raw.get("completion_tokens") or 0)}


async def lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Split a byte stream into text lines (server-sent events arrive in arbitrary chunks)."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8").rstrip("\r")


def _merge_tool_call_deltas(calls: dict[int, dict[str, Any]], deltas: Any) -> None:
    """Streamed tool calls arrive in pieces keyed by `index`: the name once, the arguments in fragments."""
    for delta in deltas or []:
        if not isinstance(delta, dict):
            continue
        call = calls.setdefault(int(delta.get("index") or 0), {"id": None, "function": {"name": "", "arguments": ""}})
        call["id"] = delta.get("id") or call["id"]
        function = delta.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""


def error_message(body: bytes) -> str:
    """The endpoint's own error message, shortened to one line (it never contains our key)."""
    try:
        data = json.loads(body)
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        text = str(message or data.get("message") or data)  # vLLM: {"object": "error", "message": ...}
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    return " ".join(text.split())[:200] or "(empty body)"
