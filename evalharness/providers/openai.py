"""HTTP provider for any OpenAI-compatible `/chat/completions` endpoint (async httpx).

Error policy, in one place:
- 401/403/404 are fatal: the key, the permission or the URL/model is wrong, so every request would fail.
  The run stops at once with one line saying which, and keeps every result already obtained.
- 408/409/425/429, every 5xx, timeouts, dropped connections and unparsable bodies are retried with capped
  exponential backoff and full jitter; a `Retry-After` header (seconds or HTTP date) is honoured.
- other 4xx (e.g. 400 for a prompt over the context length) fail just that sample, without retrying.

Speed (measured on 2 cores, 1,000 requests of 5 KB at concurrency 64 against a 50 ms server, see
benchmarks/bench_run.py): the per-request CPU of the client decides the wall time. One `httpx.AsyncClient`
with 64 connections spent ~9 ms of CPU per request (its pool scheduling grows with the pool size); eight
clients of 8 connections ~0.8 ms; eight `httpcore.AsyncConnectionPool`s of 8 (httpx's own transport layer,
without the request/response model, auth, redirect and cookie machinery we don't use) ~0.4 ms. So requests go
straight to httpcore pools of `CONNECTIONS_PER_POOL` connections, and each runner worker sticks to one pool.
Installing `sniffio` matters too: without it httpcore retries a failing import on every request.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
import urllib.parse
from typing import Any

import httpcore

from evalharness.chat import ChatRequest, ChatResponse, EndpointError
from evalharness.errors import UserError

CONNECTIONS_PER_POOL = 8
RETRY_STATUSES = {408, 409, 425, 429}
FATAL_HINTS = {
    401: "the endpoint rejected the API key (HTTP 401): set the environment variable {env} to a valid key",
    403: "the endpoint refused access (HTTP 403): check that the key in {env} may use model {model!r}",
    404: "not found (HTTP 404) at {url}: check --base-url (it usually ends in /v1) and --model {model!r}",
}


class HTTPProvider:
    """OpenAI-compatible chat completions over HTTP. The API key lives only in request headers."""

    name = "openai"

    def __init__(self, *, base_url: str, model: str, api_key: str | None = None,
                 api_key_env: str = "EVALHARNESS_API_KEY", auth_header: str = "Authorization",
                 concurrency: int = 16, timeout_s: float = 120.0, max_retries: int = 6,
                 backoff_s: float = 0.5, max_backoff_s: float = 30.0, query_params: dict[str, str] | None = None,
                 extra_headers: dict[str, str] | None = None, stream: bool = False,
                 extra_body: dict[str, Any] | None = None):
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.stream = stream
        self.extra_body = dict(extra_body or {})
        self._secret = api_key
        self.requests_sent = 0
        self.retries = 0
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(extra_headers or {})}
        if api_key:
            headers[auth_header] = f"Bearer {api_key}" if auth_header.lower() == "authorization" else api_key
        if query_params:
            self.url += "?" + urllib.parse.urlencode(query_params)
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise UserError(f"--base-url {base_url!r} is not an http(s) URL (e.g. http://localhost:8000/v1)")
        headers["Host"] = parsed.netloc
        self._headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self._pools_needed = max(1, -(-concurrency // CONNECTIONS_PER_POOL))
        self._per_pool = max(1, -(-concurrency // self._pools_needed))
        self._timeouts = {"connect": min(timeout_s, 15.0), "read": timeout_s, "write": timeout_s,
                          "pool": timeout_s}
        self._pools: list[httpcore.AsyncConnectionPool] = []

    def _pool(self, worker: int) -> httpcore.AsyncConnectionPool:
        """Pools are made on first use: a fully cached run never pays for them (TLS setup is not free)."""
        if not self._pools:
            ssl_context = None
            if self.url.startswith("https:"):
                import ssl

                ssl_context = ssl.create_default_context()
            self._pools = [
                httpcore.AsyncConnectionPool(ssl_context=ssl_context, max_connections=self._per_pool,
                                             max_keepalive_connections=self._per_pool)
                for _ in range(self._pools_needed)
            ]
        return self._pools[worker % len(self._pools)]

    def identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {"base_url": self.base_url, "model": self.model}
        if self.extra_body:  # server-side sampling settings change the output, so they key the cache
            identity["extra_body"] = self.extra_body
        return identity

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "base_url": self.base_url, "model": self.model}

    async def complete(self, request: ChatRequest, worker: int = 0) -> ChatResponse:
        pool = self._pool(worker)
        body = {"model": self.model, "messages": request.messages, **self.extra_body, **request.params}
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            self.requests_sent += 1
            started = time.perf_counter()
            try:
                if self.stream:
                    response = await self._post_stream(pool, payload, started)
                else:
                    response = await self._post(pool, payload, started)
                response.attempts = attempt
                return response
            except _Retryable as exc:
                if attempt > self.max_retries:
                    raise EndpointError(f"{exc.reason} (gave up after {attempt} attempts)",
                                        status=exc.status, attempts=attempt) from None
                self.retries += 1
                await asyncio.sleep(self._delay(attempt, exc.retry_after))
            except EndpointError as exc:
                exc.attempts = attempt
                raise

    async def _post(self, pool: httpcore.AsyncConnectionPool, payload: bytes, started: float) -> ChatResponse:
        try:
            reply = await pool.request("POST", self.url, headers=self._headers, content=payload,
                                       extensions={"timeout": self._timeouts})
        except httpcore.TimeoutException:
            raise _Retryable("request timed out") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _Retryable(f"connection error: {type(exc).__name__}") from None
        latency = time.perf_counter() - started
        self._check_status(reply.status, reply.headers, reply.content)
        try:
            data = json.loads(reply.content)
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise _Retryable("the endpoint returned a body that is not a chat completion", reply.status_code) \
                from None
        return ChatResponse(content=content, finish_reason=choice.get("finish_reason"),
                            usage=_usage(data.get("usage")), latency_s=latency)

    async def _post_stream(self, pool: httpcore.AsyncConnectionPool, payload: bytes,
                           started: float) -> ChatResponse:
        parts: list[str] = []
        ttft = None
        finish = None
        usage: dict[str, int] = _usage(None)
        try:
            async with pool.stream("POST", self.url, headers=self._headers, content=payload,
                                   extensions={"timeout": self._timeouts}) as reply:
                if reply.status != 200:
                    self._check_status(reply.status, reply.headers, await reply.aread())
                async for line in _lines(reply.aiter_stream()):
                    if not line.startswith("data:"):
                        continue
                    chunk = line[5:].strip()
                    if chunk == "[DONE]":
                        break
                    data = json.loads(chunk)
                    if data.get("usage"):
                        usage = _usage(data["usage"])
                    for choice in data.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            ttft = ttft if ttft is not None else time.perf_counter() - started
                            parts.append(text)
                        finish = choice.get("finish_reason") or finish
        except httpcore.TimeoutException:
            raise _Retryable("request timed out") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _Retryable(f"connection error: {type(exc).__name__}") from None
        except (ValueError, AttributeError, TypeError):
            raise _Retryable("the endpoint streamed data that is not a chat completion") from None
        return ChatResponse(content="".join(parts), finish_reason=finish, usage=usage,
                            latency_s=time.perf_counter() - started, ttft_s=ttft)

    def _check_status(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if status == 200:
            return
        if status in FATAL_HINTS:
            hint = FATAL_HINTS[status].format(env=self.api_key_env, model=self.model, url=self.url)
            raise EndpointError(hint, status=status, fatal=True)
        if status in RETRY_STATUSES or status >= 500:
            raise _Retryable(f"HTTP {status} from the endpoint", status, _retry_after(headers))
        message = _error_message(body)
        if self._secret:
            message = message.replace(self._secret, "[redacted]")
        raise EndpointError(f"HTTP {status} from the endpoint: {message}", status=status)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 5 * self.max_backoff_s)
        return random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))

    async def aclose(self) -> None:
        await asyncio.gather(*(pool.aclose() for pool in self._pools))


class _Retryable(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _usage(raw: Any) -> dict[str, int]:
    raw = raw if isinstance(raw, dict) else {}
    return {"prompt_tokens": int(raw.get("prompt_tokens") or 0),
            "completion_tokens": int(raw.get("completion_tokens") or 0)}


async def _lines(chunks):
    """Split a byte stream into text lines (server-sent events arrive in arbitrary chunks)."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8").rstrip("\r")


def _retry_after(headers: list[tuple[bytes, bytes]]) -> float | None:
    value = next((v.decode("latin-1") for k, v in headers if k.lower() == b"retry-after"), None)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _error_message(body: bytes) -> str:
    """The endpoint's own error message, shortened to one line (it never contains our key)."""
    try:
        data = json.loads(body)
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        text = str(message or data)
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    return " ".join(text.split())[:200] or "(empty body)"
