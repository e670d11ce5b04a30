"""Prompts that do not fit the endpoint's context window: recognised, said so, and kept out of accuracy.

A sample is "over the endpoint's context" when
- the endpoint refused the prompt for its length (`over_context_error`): an HTTP 4xx or llama.cpp's
  in-process error whose message says so: vLLM and OpenAI "maximum context length is N tokens", llama.cpp's
  server "exceeds the available context size" (with `n_ctx` in its body), TGI "must be <= N",
  llama-cpp-python "exceed context window of N"; or
- the endpoint cut it silently (`truncation_error`): a generated item's prompt was built to
  `built_tokens` in the endpoint's own count, and the endpoint's `usage.prompt_tokens` comes back more than
  `TRUNCATION_MARGIN` below that (Ollama keeps only its `num_ctx` tokens). Estimated counts are not
  checked (`count_method: estimate`).
Such a sample's `error` starts "over the endpoint's context" and names the limit found, its `error_kind` is
`over_context` and `meta.context_limit` holds the limit (None when the endpoint did not say). `metrics`
leaves these samples out of accuracy and counts them in results.json (`over_context`, `context_limit`).
"""

from __future__ import annotations

import re
from typing import Any

from evalharness.chat import ChatResponse, EndpointError

OVER_CONTEXT = "over_context"
TRUNCATION_MARGIN = 0.03
_SAYS_CONTEXT = re.compile(
    r"context[ _-]?(?:length|window|size|limit)|maximum context|exceed_context_size|context_length_exceeded"
    r"|(?:exceed\w*|beyond|longer than)[^.]{0,40}\bcontext\b|(?:prompt|input)[^.]{0,30}too long"
    r"|too many (?:input |prompt )?tokens|tokens[^.]{0,60}must be <= \d+|max_model_len|token limit", re.I)
_LIMITS = [re.compile(p, re.I) for p in (
    r"maximum context length is (\d+)", r"context window of (\d+)", r'"n_ctx"\s*:\s*(\d+)',
    r"must be <= (\d+)", r"max_model_len\W{1,4}(\d+)", r"> (\d+) maximum",
    r"context(?: length| size| window)?(?: of| is)? (\d+)", r"maximum of (\d+) tokens")]


def context_limit_in(text: str) -> int | None:
    """The context size an error message states, if it states one."""
    for pattern in _LIMITS:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def over_context_message(limit: int | None, detail: str) -> str:
    said = f"limit {limit} tokens" if limit else "limit not stated"
    return f"over the endpoint's context ({said}): {detail}"


def over_context_error(message: str, *, body: str = "", status: int | None = None) -> EndpointError | None:
    """An `EndpointError` of kind `over_context` when the endpoint's refusal is about the prompt's length
    (`body` is the raw error body, searched for a limit too), else None."""
    text = f"{message} {body}"
    if not _SAYS_CONTEXT.search(text):
        return None
    limit = context_limit_in(text)
    return EndpointError(over_context_message(limit, message), status=status, kind=OVER_CONTEXT,
                         context_limit=limit)


def truncation_error(fields: dict[str, Any], response: ChatResponse | None) -> EndpointError | None:
    """An `over_context` error when the endpoint counted far fewer prompt tokens than the item was built
    with (it dropped the rest without saying), else None."""
    built = fields.get("built_tokens")
    if response is None or not built or fields.get("count_method") not in ("tokenizer", "usage", "extrapolated"):
        return None
    counted = int((response.usage or {}).get("prompt_tokens") or 0)
    if counted <= 0 or counted >= built * (1 - TRUNCATION_MARGIN):
        return None
    detail = (f"the endpoint counted {counted} prompt tokens of the {built} built, so it dropped the rest "
              "without saying (silent truncation)")
    return EndpointError(over_context_message(counted, detail), kind=OVER_CONTEXT, context_limit=counted)


def prompt_meta(fields: dict[str, Any], response: ChatResponse | None,
                error: EndpointError | None) -> dict[str, Any]:
    """What a record of a generated (built-to-length) item says about its prompt's size: `built_tokens`
    and `count_method` (how it was counted when built), `needle_depth`, and `prompt_tokens` as the endpoint
    counted it (None without a response); plus `context_limit` when it was over the context."""
    if "built_tokens" not in fields:
        return {"context_limit": error.context_limit} if error is not None and error.kind == OVER_CONTEXT else {}
    meta = {key: fields.get(key) for key in ("built_tokens", "count_method", "needle_depth") if key in fields}
    meta["prompt_tokens"] = int((response.usage or {}).get("prompt_tokens") or 0) if response is not None else None
    if error is not None and error.kind == OVER_CONTEXT:
        meta["context_limit"] = error.context_limit
    return meta
