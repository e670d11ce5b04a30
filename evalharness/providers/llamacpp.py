"""Provider `llamacpp`: a GGUF model file answers chat requests in this process, without server or network.

It implements `evalharness.chat.Provider`, so the runner, the cache and the records treat it exactly like
the HTTP provider. Profile `options:` (`LlamaCppProvider.Options`): `model_path`, or `hf_repo` + `hf_file`;
`n_ctx` (context size, default 4096); `n_threads` (default: all cores but one). With no model at all it
runs the small offline default and says so (`notice`). Contract:

- The model is a GGUF file given by path, or by Hugging Face repo + file name (downloaded once through
  `huggingface_hub`, which needs the network; offline, an already-downloaded file is used from its cache).
- The prompt is built with the model's own chat template (`tokenizer.chat_template` in the GGUF), the same
  one `python -m llama_cpp.server` applies, so both paths send the model identical tokens.
- Generation honours temperature (0 means greedy), max_tokens, top_p, stop and seed, per request. Every
  other sampler is switched off (`NEUTRAL_SAMPLING`): OpenAI semantics, where temperature 0 is the argmax
  and temperature > 0 samples the model's own distribution (top_p only). llama-cpp-python's server
  defaults differ (top_k 40, min_p 0.05, and repeat_penalty 1.1, which distorts even temperature 0), so a
  request to that server must carry `NEUTRAL_SAMPLING` in its body to get the same answers.
- The part of a prompt shared with the previous one (system prompt, few-shot exemplars) is not evaluated
  again: llama-cpp-python keeps it in the KV cache. On CPU that gives the same logits as evaluating from
  an empty context (tests/test_local.py checks the answers are equal, which the response cache relies
  on), and makes 8-shot GSM8K 6x faster (12 items with SmolLM2: 28 s instead of 168 s).
- `latency_s` is the wall time of the generation, `ttft_s` the time until the first token was sampled,
  `usage` the prompt and completion token counts llama.cpp reports, `attempts` is always 1. `count_tokens`
  gives a prompt's token count through the same chat handler without evaluating it; a prompt over `n_ctx`
  fails as `over_context` with that limit.
- Cache identity is the model file's base name plus its size and the SHA-256 of its first MiB: stable when
  the file moves between machines or directories, different for another quantisation or model.
- One llama context is not thread-safe: generations run one at a time on the provider's own worker thread,
  so the event loop (progress, grading) keeps running while the model computes. The model is loaded on
  the first request that reaches it: a run answered entirely from the cache never loads it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evalharness.chat import ChatRequest, ChatResponse, EndpointError
from evalharness.context_window import over_context_error
from evalharness.errors import UserError
from evalharness.providers.gguf import (DEFAULT_MODEL_FILE, DEFAULT_MODEL_NAME, PHI4_MINI_CONFIG,
                                        default_model_notice, default_model_path, model_identity, readable_name,
                                        resolve_model_path)
from evalharness.schema import Strict

__all__ = ["DEFAULT_MODEL_FILE", "DEFAULT_MODEL_NAME", "PHI4_MINI_CONFIG", "NEUTRAL_SAMPLING", "LlamaCppOptions", "LlamaCppProvider",
           "default_model_notice", "default_model_path", "generation_kwargs", "model_identity", "prompt_tokens"]

INSTALL_HINT = (
    "llama-cpp-python is not installed: pip install 'evalharness[local]' "
    "(it compiles llama.cpp, a few minutes; for a portable build prefix CMAKE_ARGS=\"-DGGML_NATIVE=OFF\")"
)

# Samplers the request does not name, all switched off. llama-cpp-python applies repeat_penalty before the
# greedy pick, so leaving its server default (1.1) would change temperature-0 answers, e.g. penalise a
# number the question already contains.
NEUTRAL_SAMPLING: dict[str, Any] = {
    "top_k": 0,
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}

def default_threads() -> int:
    """All cores but one. ggml's worker threads spin while they wait for each other, so a thread count
    that competes with the event loop, the graders or another process slows generation down tenfold;
    one core left free avoids that (measured on 2 cores: 1 thread ~0.4 s per short answer, 2 threads
    under load 2-20 s)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _require_llama_cpp() -> Any:
    """Import llama_cpp or raise the one-line install hint (the module is heavy and optional)."""
    try:
        import llama_cpp
    except ImportError as err:
        raise UserError(INSTALL_HINT) from err
    return llama_cpp


class LlamaCppOptions(Strict):
    """The profile's `options:` block for provider `llamacpp` (see the module docstring)."""

    model_path: str | None = None
    hf_repo: str | None = None
    hf_file: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None


class LlamaCppProvider:
    """Chat completions from a GGUF model loaded in this process by llama-cpp-python."""

    name = "llamacpp"
    Options = LlamaCppOptions
    # Functions reach the model only inside the system message (Phi-4-mini's own format, evalharness/tools);
    # the model's chat template keeps the system content as it is, so the model sees the card's format.
    tool_modes = ("prompt",)

    @classmethod
    def from_endpoint(cls, endpoint: Any, options: LlamaCppOptions) -> "LlamaCppProvider":
        """Build from a resolved `config.EndpointConfig` and this provider's validated options."""
        return cls(model_path=options.model_path, hf_repo=options.hf_repo, hf_file=options.hf_file,
                   n_ctx=options.n_ctx, n_threads=options.n_threads)

    def __init__(
        self,
        model_path: str | None = None,
        hf_repo: str | None = None,
        hf_file: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
    ):
        self._llama_cpp = _require_llama_cpp()
        self.model_path = resolve_model_path(model_path, hf_repo, hf_file)
        # llama.cpp rounds the context up to a multiple of 256; llama-cpp-python sizes its own buffers
        # from the number given, so an unaligned n_ctx fails on long prompts with a numpy broadcast error.
        self.n_ctx = -(-max(n_ctx, 256) // 256) * 256
        self.n_threads = n_threads or default_threads()
        self.requests_sent = 0  # generations actually run (cache hits never reach the provider)
        self._identity: dict[str, Any] | None = None
        self._llm: Any = None
        # One worker thread owns the llama context: requests queue here instead of each holding a thread
        # of the default executor while it waits its turn.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp")
        self._closed = False

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            self._identity = {
                "provider": self.name,
                "model_file": self.model_path.name,
                "model_id": model_identity(self.model_path),
            }
        return dict(self._identity)

    def describe(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": readable_name(self.model_path),
            "base_url": None,
            "model_path": str(self.model_path),
        }

    def stats(self) -> dict[str, int]:
        return {"requests": self.requests_sent, "retries": 0}

    def notice(self) -> str | None:
        """Say plainly when the small offline default ran instead of Phi-4-Mini, and how to switch."""
        if self.model_path.name == DEFAULT_MODEL_FILE:
            return default_model_notice()
        return None

    @property
    def loaded(self) -> bool:
        """True once the model has been read into memory (a fully cached run never loads it)."""
        return self._llm is not None

    async def complete(self, request: ChatRequest, worker: int = 0) -> ChatResponse:
        """`worker` (the runner's worker index) is unused: every request goes through the one context.
        A cancelled request (Ctrl-C) stops its generation at the next token instead of running on."""
        abort = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._complete_sync, request, abort)
        except asyncio.CancelledError:
            abort.set()
            raise

    async def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """The prompt's length in the model's tokens, through the same chat handler a completion uses (the
        GGUF's chat template), on the provider's worker thread (it loads the model on first use)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: prompt_tokens(self._load(), messages))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._unload)
        self._executor.shutdown(wait=False)

    def _unload(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def _complete_sync(self, request: ChatRequest, abort: threading.Event) -> ChatResponse:
        if abort.is_set():  # cancelled while queued
            raise EndpointError("cancelled before it started")
        llm = self._load()
        self.requests_sent += 1
        return _generate(llm, request, abort)

    def _load(self) -> Any:
        """Load the model on first use, so a run answered entirely from the cache never loads it."""
        if self._llm is None:
            try:
                self._llm = self._llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    verbose=False,
                )
            except ValueError as err:  # llama.cpp could not read the file
                raise EndpointError(
                    f"llama.cpp cannot load {self.model_path} ({err}): is it a complete GGUF file?",
                    fatal=True,
                ) from err
        return self._llm


def generation_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Map the request's parameters onto `create_chat_completion` keyword arguments. A request may name
    llama.cpp's own samplers (the `NEUTRAL_SAMPLING` keys) too, as it would in a llama.cpp server's body."""
    kwargs: dict[str, Any] = {key: params.get(key, value) for key, value in NEUTRAL_SAMPLING.items()}
    kwargs["temperature"] = float(params.get("temperature", 1.0))
    kwargs["top_p"] = float(params.get("top_p", 1.0))
    if params.get("max_tokens") is not None:
        kwargs["max_tokens"] = int(params["max_tokens"])
    stop = params.get("stop")
    if stop:
        kwargs["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if params.get("seed") is not None:
        kwargs["seed"] = int(params["seed"])
    return kwargs


class _Counted(Exception):
    """Carries the prompt's token count out of the chat handler (args[0])."""


def prompt_tokens(llm: Any, messages: list[dict[str, Any]]) -> int:
    """How many tokens `create_chat_completion` would evaluate for `messages`: the chat handler formats
    the prompt and tokenizes it (its first `tokenize` call) before evaluating anything, so that call is
    intercepted and the completion stopped there. Exact for any chat format llama-cpp-python applies."""
    tokenize = llm.tokenize

    def counting(text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        raise _Counted(len(tokenize(text, add_bos, special)))

    llm.tokenize = counting
    try:
        llm.create_chat_completion(messages=messages, max_tokens=1)
    except _Counted as counted:
        return counted.args[0]
    finally:
        del llm.tokenize  # back to the class's method
    raise RuntimeError("the chat handler evaluated the prompt without tokenizing it")


def _generate(llm: Any, request: ChatRequest, abort: threading.Event) -> ChatResponse:
    """Run one chat completion. Non-streaming, so llama.cpp's own token counts come back. A pass-through
    logits processor notes the time to first token (it is first called once the prompt is evaluated,
    just before the first token is sampled) and ends a cancelled generation: llama-cpp-python calls it
    from C, where an exception would be swallowed, so it forces the end-of-generation token instead."""
    first_token: list[float] = []
    eos = llm.token_eos()

    def watch(_input_ids: Any, logits: Any) -> Any:
        if not first_token:
            first_token.append(time.perf_counter())
        if abort.is_set():
            logits[:] = -float("inf")
            logits[eos] = 0.0
        return logits

    started = time.perf_counter()
    try:
        result = llm.create_chat_completion(
            messages=request.messages, logits_processor=[watch], **generation_kwargs(request.params)
        )
    except BaseException as err:
        llm.reset()  # forget a half-evaluated prompt: the next request starts from a known state
        if isinstance(err, ValueError):  # e.g. "Requested tokens (5000) exceed context window of 4096"
            hint = "; raise n_ctx in the endpoint config" if "context window" in str(err) else ""
            text = f"llama.cpp rejected the request: {err}{hint}"
            raise over_context_error(text) or EndpointError(text) from err
        raise
    if abort.is_set():
        raise EndpointError("cancelled")
    return _response(result, time.perf_counter() - started, first_token[0] - started if first_token else None)


def _response(result: dict[str, Any], latency_s: float, ttft_s: float | None) -> ChatResponse:
    choice = result["choices"][0]
    usage = result.get("usage") or {}
    return ChatResponse(
        content=choice["message"].get("content") or "",
        finish_reason=choice.get("finish_reason"),
        usage={
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
        },
        latency_s=latency_s,
        ttft_s=ttft_s,
        attempts=1,
    )
