"""Provider `openai`: any OpenAI-compatible `/chat/completions` endpoint over HTTP (vLLM, Ollama, llama.cpp's
server, Azure AI Foundry, GitHub Models, CometAPI...).

Errors follow the shared policy in `providers/retry.py` (401/403/404 fatal with a one-line hint; 408/409/
425/429, 5xx, timeouts, dropped connections and unparsable bodies retried with backoff and Retry-After;
other 4xx fail just that sample). Tool calls: a request's `tools` go into the body; the response's
`message.tool_calls` (or streamed `delta.tool_calls`) come back as `ToolCall`s.

Prompt lengths (`count_tokens`, for prompts built to a token count): the server's tokenize endpoint
when it has one (vLLM, llama.cpp's server), else None and the caller counts with `usage` instead. A 4xx
saying the prompt is over the model's context becomes an `over_context` error (`context_window.py`).

Profile `options:` (`OpenAIProvider.Options`): `auth_header` (default `Authorization`, sent as `Bearer KEY`;
any other header name gets the bare key, e.g. Azure's `api-key`), `query_params` (e.g. Azure's
`api-version`), `stream` (streaming records time to first token), `extra_body` (merged into every request
body, e.g. server-side samplers; part of the cache key because it changes the output), `headers`.

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
import time
import urllib.parse
from typing import Any

import httpcore
import msgspec

from evalharness.chat import ChatRequest, ChatResponse, EndpointError
from evalharness.context_window import over_context_error
from evalharness.errors import UserError
from evalharness.providers.limits import Limits, LimitSettings
from evalharness.providers.openai_wire import StreamReader, error_message, lines, parse_completion
from evalharness.providers.replicas import Replica, ReplicaSet
from evalharness.providers.retry import Retryable, RetryPolicy, parse_retry_after, status_kind
from evalharness.schema import Strict

CONNECTIONS_PER_POOL = 8
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
FATAL_HINTS = {
    401: "the endpoint rejected the API key (HTTP 401): set the environment variable {env} to a valid key",
    403: "the endpoint refused access (HTTP 403): check that the key in {env} may use model {model!r}",
    404: "not found (HTTP 404) at {url}: check --base-url (it usually ends in /v1) and --model {model!r}",
}


class OpenAIOptions(Strict):
    """The profile's `options:` block for provider `openai` (see the module docstring)."""

    auth_header: str = "Authorization"
    query_params: dict[str, str] = msgspec.field(default_factory=dict)
    stream: bool = False
    extra_body: dict[str, Any] = msgspec.field(default_factory=dict)
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class HTTPProvider:
    """OpenAI-compatible chat completions over HTTP, to one endpoint or several replicas of one model.
    The API key lives only in request headers."""

    name = "openai"
    Options = OpenAIOptions
    tool_modes = ("native", "prompt")  # request `tools`, or functions in the system message (evalharness/tools)

    @classmethod
    def check_endpoint(cls, endpoint: Any) -> None:
        """Settings this provider cannot do without, checked when the profile and flags are resolved."""
        if not endpoint.model:
            raise UserError("no model given: pass --model NAME (e.g. microsoft/Phi-4-mini-instruct) or a --config")

    @classmethod
    def from_endpoint(cls, endpoint: Any, options: OpenAIOptions) -> "HTTPProvider":
        """Build from a resolved `config.EndpointConfig` and this provider's validated options."""
        cls.check_endpoint(endpoint)
        return cls(base_url=endpoint.base_url, model=endpoint.model, api_key=endpoint.api_key,
                   api_key_env=endpoint.api_key_env, auth_header=options.auth_header,
                   concurrency=endpoint.concurrency, timeout_s=endpoint.timeout_s,
                   max_retries=endpoint.max_retries, query_params=options.query_params,
                   extra_headers=options.headers, stream=options.stream, extra_body=options.extra_body,
                   requests_per_minute=endpoint.requests_per_minute, tokens_per_minute=endpoint.tokens_per_minute,
                   max_retry_after_s=endpoint.max_retry_after_s)

    def __init__(self, *, base_url: str | list[str], model: str, api_key: str | None = None,
                 api_key_env: str = "EVALHARNESS_API_KEY", auth_header: str = "Authorization",
                 concurrency: int = 16, timeout_s: float = 120.0, max_retries: int = 6,
                 backoff_s: float = 0.5, max_backoff_s: float = 30.0, query_params: dict[str, str] | None = None,
                 extra_headers: dict[str, str] | None = None, stream: bool = False,
                 extra_body: dict[str, Any] | None = None, requests_per_minute: float | None = None,
                 tokens_per_minute: float | None = None, max_retry_after_s: float = 600.0,
                 hang_floor_s: float = 10.0):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise UserError("--base-url: give at least one URL (e.g. http://localhost:8000/v1)")
        self.base_urls = [u.rstrip("/") for u in urls]
        self.base_url = self.base_urls[0]
        self.model = model
        self.api_key_env = api_key_env
        self.retry = RetryPolicy(max_retries=max_retries, backoff_s=backoff_s, max_backoff_s=max_backoff_s,
                                 max_retry_after_s=max_retry_after_s)
        self.limits = Limits(LimitSettings(concurrency, requests_per_minute, tokens_per_minute, max_retry_after_s))
        self.stream = stream
        self.extra_body = dict(extra_body or {})
        self.timeout_s = timeout_s
        self._secret = api_key
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(extra_headers or {})}
        if api_key:
            headers[auth_header] = f"Bearer {api_key}" if auth_header.lower() == "authorization" else api_key
        query = "?" + urllib.parse.urlencode(query_params) if query_params else ""
        self.replicas = ReplicaSet([self._replica(url + "/chat/completions" + query, headers, given, url)
                                    for url, given in zip(self.base_urls, urls)], hang_floor_s=hang_floor_s)
        self.url = self.replicas.replicas[0].url
        self._timeouts = {"connect": min(timeout_s, 15.0), "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        self._pools_needed = max(1, -(-concurrency // CONNECTIONS_PER_POOL))
        self._per_pool = max(1, -(-concurrency // self._pools_needed))
        root = urllib.parse.urlsplit(self.base_url)
        path = root.path.rstrip("/").removesuffix("/v1")
        self._root = urllib.parse.urlunsplit((root.scheme, root.netloc, path, "", ""))
        self._tokenize: str | None = None  # which tokenize endpoint answers: vllm, llamacpp, none

    @staticmethod
    def _replica(url: str, headers: dict[str, str], given: str, base: str) -> Replica:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise UserError(f"--base-url {given!r} is not an http(s) URL (e.g. http://localhost:8000/v1)")
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in {**headers, "Host": parsed.netloc}.items()]
        return Replica(url=url, base=base, headers=encoded)

    def _pool(self, replica: Replica, worker: int) -> httpcore.AsyncConnectionPool:
        """Pools are made on first use: a fully cached run never pays for them (TLS setup is not free)."""
        if replica.pools is None:
            ssl_context = None
            if replica.url.startswith("https:"):
                import ssl

                ssl_context = ssl.create_default_context()
            replica.pools = [
                httpcore.AsyncConnectionPool(ssl_context=ssl_context, max_connections=self._per_pool,
                                             max_keepalive_connections=self._per_pool)
                for _ in range(self._pools_needed)
            ]
        return replica.pools[worker % len(replica.pools)]

    def identity(self) -> dict[str, Any]:
        """The cache key's model part: the (first) base URL and the model, never the replica that answered."""
        identity: dict[str, Any] = {"base_url": self.base_url, "model": self.model}
        if self.extra_body:  # server-side sampling settings change the output, so they key the cache
            identity["extra_body"] = self.extra_body
        return identity

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"provider": self.name, "base_url": self.base_url, "model": self.model}
        if len(self.base_urls) > 1:
            described["replicas"] = list(self.base_urls)
        return described

    async def complete(self, request: ChatRequest, worker: int = 0) -> ChatResponse:
        body = {"model": self.model, "messages": request.messages, **self.extra_body, **request.params}
        if request.tools:
            body["tools"] = request.tools
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        payload = _encode(body)  # msgspec: ~4x the json module on an 8-shot body
        estimate = len(payload) / 4 + int(request.params.get("max_tokens") or 512)

        async def attempt() -> ChatResponse:
            await self.limits.acquire(estimate)
            replica = self.replicas.pick()
            started = time.perf_counter()
            try:
                response = await self._send(replica, worker, payload, started)
            except Retryable as exc:  # a pacing answer (429, Retry-After) is load, not a sick replica
                self.replicas.done(replica, ok=exc.status == 429 or exc.retry_after is not None)
                raise self._throttled(exc) from None
            except BaseException:
                self.replicas.done(replica, ok=False)
                raise
            else:
                self.replicas.done(replica, ok=True, latency_s=response.latency_s)
                self.limits.on_success()
                self.limits.settle_tokens(estimate, sum(response.usage.values()))
                return response
            finally:
                self.limits.release()

        response, attempts = await self.retry.run(attempt)
        response.attempts = attempts
        return response

    async def _send(self, replica: Replica, worker: int, payload: bytes, started: float) -> ChatResponse:
        timeouts = self._timeouts
        pool = self._pool(replica, worker)
        post = self._post_stream if self.stream else self._post
        if len(self.replicas.replicas) < 2:
            return await post(pool, replica, payload, started, timeouts)
        # With replicas, watch the attempt: the hang threshold shrinks as answers come in from the others,
        # so an attempt sent to a dead replica early on is given up as soon as the others show it is one.
        task = asyncio.ensure_future(post(pool, replica, payload, started, timeouts))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.25)
                if done:
                    return task.result()
                limit = self.replicas.attempt_timeout(self.timeout_s)
                if time.perf_counter() - started > limit:
                    raise Retryable(f"no answer within {limit:.0f} s (hung replica?), tried elsewhere")
                if not replica.up(time.monotonic()):
                    raise Retryable("its replica was taken out meanwhile, tried elsewhere")
        finally:
            if not task.done():
                task.cancel()

    def _throttled(self, exc: Retryable) -> Exception:
        """A 429 shrinks the window of requests in flight; a `Retry-After` beyond `max_retry_after_s` (an
        exhausted quota) stops the run with every answer kept, instead of sleeping for hours."""
        if exc.status == 429:
            self.limits.on_rate_limited()
        if exc.retry_after is not None and exc.retry_after > self.retry.max_retry_after_s:
            return EndpointError(
                f"the endpoint asks to wait {exc.retry_after:.0f} s before retrying (HTTP {exc.status}: quota "
                f"exhausted?), more than max_retry_after_s={self.retry.max_retry_after_s:.0f}; stopping with every "
                "answer kept: continue later with evalharness run --resume RUN_DIR", status=exc.status, fatal=True)
        return exc

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {**self.retry.stats(), "rate_limit_wait_s": round(self.limits.waits_s, 3),
                                 "window_min": int(self.limits.window_min)}
        if len(self.base_urls) > 1:
            stats["replicas"] = {r.base: r.report() for r in self.replicas.replicas}
        return stats

    def status(self) -> dict[str, Any]:
        """What the progress line shows while the run waits: retries, window, replicas up."""
        return {**self.limits.snapshot(), **self.replicas.snapshot(), "retrying": self.retry.waiting,
                "concurrency": self.limits.settings.concurrency}

    @property
    def requests_sent(self) -> int:
        return self.retry.requests

    @property
    def retries(self) -> int:
        return self.retry.retries

    def notice(self) -> str | None:
        return None

    async def _post(self, pool: httpcore.AsyncConnectionPool, replica: Replica, payload: bytes, started: float,
                    timeouts: dict[str, float]) -> ChatResponse:
        try:
            reply = await pool.request("POST", replica.url, headers=replica.headers, content=payload,
                                       extensions={"timeout": timeouts})
        except httpcore.TimeoutException:
            raise Retryable("request timed out") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise Retryable(f"connection error: {type(exc).__name__}") from None
        latency = time.perf_counter() - started
        self._check_status(reply.status, reply.headers, reply.content)
        try:
            return parse_completion(reply.content, latency)
        except ValueError as exc:
            raise Retryable(str(exc), reply.status) from None

    async def _post_stream(self, pool: httpcore.AsyncConnectionPool, replica: Replica, payload: bytes,
                           started: float, timeouts: dict[str, float]) -> ChatResponse:
        reader = StreamReader(started)
        try:
            async with pool.stream("POST", replica.url, headers=replica.headers, content=payload,
                                   extensions={"timeout": timeouts}) as reply:
                if reply.status != 200:
                    self._check_status(reply.status, reply.headers, await reply.aread())
                async for line in lines(reply.aiter_stream()):
                    if not reader.feed(line):
                        break
            return reader.response()
        except httpcore.TimeoutException:
            raise Retryable("request timed out") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise Retryable(f"connection error: {type(exc).__name__}") from None
        except ValueError as exc:
            raise Retryable(str(exc)) from None

    def _check_status(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        kind = status_kind(status)
        if kind == "ok":
            return
        if kind == "fatal":
            hint = FATAL_HINTS[status].format(env=self.api_key_env, model=self.model, url=self.url.split("?")[0])
            raise EndpointError(hint, status=status, fatal=True)
        if kind == "retry":
            raise Retryable(f"HTTP {status} from the endpoint", status, _retry_after(headers))
        message = error_message(body)
        raw = body.decode("utf-8", "replace")[:4000]
        if self._secret:
            message, raw = message.replace(self._secret, "[redacted]"), raw.replace(self._secret, "[redacted]")
        text = f"HTTP {status} from the endpoint: {message}"
        raise over_context_error(text, body=raw, status=status) or EndpointError(text, status=status)

    async def count_tokens(self, messages: list[dict[str, Any]]) -> int | None:
        """The prompt's length in the server's tokens, chat template included, from its tokenize endpoint
        at the server root (the base URL without `/v1`): vLLM's `POST /tokenize` with `messages` (answers
        `count`), else llama.cpp's `POST /apply-template` then `POST /tokenize` (answers `tokens`). The
        first call finds which one works; None (for the rest of the run too) when neither does."""
        if self._tokenize in (None, "vllm"):
            data = await self._post_json("/tokenize", {"model": self.model, "messages": messages,
                                                       "add_generation_prompt": True})
            if isinstance(data, dict) and isinstance(data.get("count"), int):
                self._tokenize = "vllm"
                return data["count"]
            self._check_tokenizer_kept_working()
        if self._tokenize in (None, "llamacpp"):
            template = await self._post_json("/apply-template", {"messages": messages})
            prompt = template.get("prompt") if isinstance(template, dict) else None
            if isinstance(prompt, str):
                data = await self._post_json("/tokenize", {"content": prompt, "add_special": True,
                                                           "parse_special": True})
                if isinstance(data, dict) and isinstance(data.get("tokens"), list) and data["tokens"]:
                    self._tokenize = "llamacpp"
                    return len(data["tokens"])
            self._check_tokenizer_kept_working()
        self._tokenize = "none"
        return None

    def _check_tokenizer_kept_working(self) -> None:
        if self._tokenize is not None:
            raise EndpointError(f"the server's tokenize endpoint ({self._tokenize}) stopped answering")

    async def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the server root; the decoded JSON answer, or None for any failure (a probe)."""
        replica = self.replicas.replicas[0]  # the root of the first base URL (the one the cache keys on)
        try:
            reply = await self._pool(replica, 0).request("POST", self._root + path, headers=replica.headers,
                                                         content=_encode(body), extensions={"timeout": self._timeouts})
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
            return None
        if reply.status != 200:
            return None
        try:
            return _decode(reply.content)
        except (ValueError, msgspec.DecodeError):
            return None

    async def aclose(self) -> None:
        await asyncio.gather(*(pool.aclose() for r in self.replicas.replicas for pool in r.pools or []))


def _retry_after(headers: list[tuple[bytes, bytes]]) -> float | None:
    return parse_retry_after(next((v.decode("latin-1") for k, v in headers if k.lower() == b"retry-after"), None))


OpenAIProvider = HTTPProvider  # the name the provider table uses
