"""The vocabulary every model backend speaks: a chat request in, a chat response out.

A `Provider` turns a `ChatRequest` into a `ChatResponse`. The HTTP client (`client.py`) and the in-process
llama.cpp backend (`local.py`) both implement it, so the runner, the cache and the records never know which
one ran. `Provider.identity()` names the model for the cache key: base URL + model name for HTTP, the model
file's identity for a local GGUF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One completion to obtain. `params` holds only generation parameters that change the output
    (temperature, max_tokens, top_p, stop, seed); `sample_index` tells apart the n samples of one prompt."""

    messages: list[dict[str, str]]
    params: dict[str, Any]
    sample_index: int = 0


@dataclass
class ChatResponse:
    """What came back. `latency_s` is wall time of the successful attempt; `ttft_s` is time to first token
    when the backend streams (else None). `attempts` counts tries including retries; `cached` is True when
    the response came from the cache (latency and usage are then the original ones)."""

    content: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    latency_s: float = 0.0
    ttft_s: float | None = None
    attempts: int = 1
    cached: bool = False

    def to_cache(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> "ChatResponse":
        return cls(
            content=data["content"],
            finish_reason=data.get("finish_reason"),
            usage=data.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0},
            latency_s=data.get("latency_s", 0.0),
            ttft_s=data.get("ttft_s"),
            attempts=0,
            cached=True,
        )


class EndpointError(Exception):
    """A request that failed for good. `fatal` errors (401/403/404, bad model file) stop the whole run
    because every other request would fail the same way; the others mark just this sample as an error."""

    def __init__(self, message: str, *, status: int | None = None, fatal: bool = False, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.fatal = fatal
        self.attempts = attempts


class Provider(Protocol):
    """A model backend. `complete` may be called concurrently up to the run's concurrency."""

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

    async def aclose(self) -> None: ...
