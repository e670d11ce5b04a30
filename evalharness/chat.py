"""The vocabulary every model backend speaks: a chat request in, a chat response out.

A provider (`providers/`) turns a `ChatRequest` into a `ChatResponse`; the runner, the solvers, the cache and
the records never know which one ran. `Provider.identity()` names the model for the cache key: base URL +
model name for HTTP, the model file's identity for a local GGUF.

Requests carry messages in OpenAI's shape (`{role, content}`, plus `tool_calls` on assistant turns and
`tool_call_id` on tool turns in a multi-turn exchange) and, for function calling, the `tools` offered.
Responses carry the text, the tool calls the model made, why it stopped and what it cost. Everything here
is plain data (dataclasses of str/int/float/list/dict), so it pickles and serialises as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One completion to obtain. `params` holds only generation parameters that change the output
    (temperature, max_tokens, top_p, stop, seed); `sample_index` tells apart the n samples of one prompt;
    `tools` lists the functions offered (OpenAI `tools` format), None when the request offers none."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    sample_index: int = 0
    tools: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ToolCall:
    """One function call the model made. `arguments` is the parsed JSON object when the model wrote valid
    JSON, else the raw text it wrote (a grader decides what that is worth)."""

    name: str
    arguments: Any
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ToolCall":
        return cls(name=str(data.get("name") or ""), arguments=data.get("arguments"), id=data.get("id"))

    @classmethod
    def from_openai(cls, raw: Any) -> "ToolCall":
        """From a `tool_calls[i]` of an OpenAI chat completion (arguments arrive as a JSON string)."""
        raw = raw if isinstance(raw, dict) else {}
        function = raw.get("function") if isinstance(raw.get("function"), dict) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                pass
        return cls(name=str(function.get("name") or ""), arguments=arguments, id=raw.get("id"))

    def to_openai(self) -> dict[str, Any]:
        """As an assistant message's `tool_calls[i]`, to send the exchange back to the model."""
        arguments = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)
        return {"id": self.id or "", "type": "function", "function": {"name": self.name, "arguments": arguments}}


def _zero_usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0}


@dataclass
class ChatResponse:
    """What came back. `latency_s` is wall time of the successful attempt; `ttft_s` is time to first token
    when the backend streams (else None). `attempts` counts tries including retries; `cached` is True when
    the response came from the cache (latency and usage are then the original ones)."""

    content: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=_zero_usage)
    latency_s: float = 0.0
    ttft_s: float | None = None
    attempts: int = 1
    cached: bool = False
    tool_calls: list[ToolCall] = field(default_factory=list)

    def to_cache(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
        }
        if self.tool_calls:
            data["tool_calls"] = [call.to_json() for call in self.tool_calls]
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> "ChatResponse":
        return cls(
            content=data["content"],
            finish_reason=data.get("finish_reason"),
            usage=data.get("usage") or _zero_usage(),
            latency_s=data.get("latency_s", 0.0),
            ttft_s=data.get("ttft_s"),
            attempts=0,
            cached=True,
            tool_calls=[ToolCall.from_json(call) for call in data.get("tool_calls") or []],
        )

    def as_message(self) -> dict[str, Any]:
        """This response as the assistant turn of a continuing conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return message


class EndpointError(Exception):
    """A request that failed for good. `fatal` errors (401/403/404, bad model file) stop the whole run
    because every other request would fail the same way; the others mark just this sample as an error.
    `kind` classifies errors that metrics treat apart: `over_context` (the prompt does not fit the
    endpoint's context, `context_limit` tokens when known; see `context_window.py`)."""

    def __init__(self, message: str, *, status: int | None = None, fatal: bool = False, attempts: int = 1,
                 kind: str | None = None, context_limit: int | None = None):
        super().__init__(message)
        self.status = status
        self.fatal = fatal
        self.attempts = attempts
        self.kind = kind
        self.context_limit = context_limit


class Provider(Protocol):
    """A model backend (see `providers/__init__.py` for the table of them and how to add one).

    `complete` may be called concurrently up to the run's concurrency and must be cancellable (Ctrl-C)."""

    name: str

    def identity(self) -> dict[str, Any]:
        """Fields that identify the model for the cache key (never secrets)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Fields for config.yaml/results.json: provider, base_url, model (never secrets)."""
        ...

    async def complete(self, request: ChatRequest, worker: int = 0) -> ChatResponse:
        """`worker` is the runner's worker index (the HTTP provider pins each worker to one of its
        connection pools); backends without pools ignore it."""
        ...

    def stats(self) -> dict[str, int]:
        """Counters for results.json: `requests` actually sent (retries included) and `retries`."""
        ...

    def notice(self) -> str | None:
        """A line the command line prints after the summary (e.g. that a stand-in model ran), or None."""
        ...

    async def aclose(self) -> None: ...

    # Optional capability (looked up with getattr; absent means "cannot count"):
    # async def count_tokens(self, messages) -> int | None
    #     The prompt's length in the model's tokens, chat template included, as the endpoint would count
    #     it; None when this endpoint has no way to count (then `token_count.py` falls back to usage).
