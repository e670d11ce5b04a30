"""How many tokens the endpoint counts in a prompt (chat template included), to build prompts to a length.

The first way that works is used for the whole run; `method` names it (recorded per sample as
`meta.count_method`):
- `tokenizer`: the provider counts itself, through the optional provider capability
  `async count_tokens(messages) -> int | None` (docs/extending.md): the in-process provider tokenizes with
  the GGUF's tokenizer and chat template, the HTTP provider asks the server's tokenize endpoint (vLLM,
  llama.cpp's server). None means "this endpoint cannot count"; a provider without the method is the same.
  Cheap: one call per count, so every cell is counted.
- `usage`: the endpoint's `usage.prompt_tokens` for a one-token completion of the prompt (temperature 0),
  sent through the run's `generate`, so through the cache: a re-run sends nothing. Exact as well, but each
  count costs the endpoint a prompt evaluation, so only a reference prompt per length is counted.
- `estimate`: four characters a token, when the endpoint reports no usage at all. Nothing is checked
  against an estimate (a silently truncated prompt cannot be recognised then).
An `EndpointError` (e.g. the prompt is over the endpoint's context) passes through to the caller.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from evalharness.chat import ChatRequest, ChatResponse

USAGE_PARAMS = {"max_tokens": 1, "temperature": 0.0}
CHARS_PER_TOKEN = 4.0


def prompt_chars(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) for m in messages)


class TokenCounter:
    """Counts prompts with one endpoint (see the module docstring). `count` may be awaited repeatedly;
    `method` is None until the first count decides it."""

    def __init__(self, provider: Any, generate: Callable[[ChatRequest], Awaitable[ChatResponse]]):
        self.provider = provider
        self.generate = generate
        self.method: str | None = None
        self.counts = 0

    @property
    def cheap(self) -> bool:
        """True when a count costs no prompt evaluation on the endpoint."""
        return self.method != "usage"

    async def count(self, messages: list[dict[str, Any]]) -> int:
        self.counts += 1
        if self.method in (None, "tokenizer"):
            counter = getattr(self.provider, "count_tokens", None)
            tokens = await counter(messages) if counter is not None else None
            if tokens is not None:
                self.method = "tokenizer"
                return int(tokens)
        if self.method in (None, "usage"):
            response = await self.generate(ChatRequest(messages, dict(USAGE_PARAMS)))
            tokens = int((response.usage or {}).get("prompt_tokens") or 0)
            if tokens > 0:
                self.method = "usage"
                return tokens
        self.method = "estimate"
        return round(prompt_chars(messages) / CHARS_PER_TOKEN)
