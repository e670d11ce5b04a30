"""Endpoint profiles (`configs/*.yaml`) and command-line flags -> one `EndpointConfig` -> a provider.

Precedence, highest first: command-line flags, the `--config` profile, the environment
(`EVALHARNESS_BASE_URL`, `EVALHARNESS_MODEL`), defaults. With no endpoint at all, the run uses the
in-process llama.cpp provider with the small model that the `[local]` extra installs, and says so.

Secrets: the API key is read from the environment variable named by `api_key_env` (or, discouraged, an
`api_key` in the profile). It is kept only in the provider's request headers; `redacted()` is what gets
written to config.yaml and results.json.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evalharness.errors import UserError

DEFAULT_API_KEY_ENV = "EVALHARNESS_API_KEY"


@dataclass
class EndpointConfig:
    provider: str = "openai"  # openai (any OpenAI-compatible HTTP endpoint) | llamacpp (in-process GGUF)
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = DEFAULT_API_KEY_ENV
    api_key: str | None = None
    auth_header: str = "Authorization"
    query_params: dict[str, str] = field(default_factory=dict)
    concurrency: int = 16
    timeout_s: float = 120.0
    max_retries: int = 6
    stream: bool = False
    extra_body: dict[str, Any] = field(default_factory=dict)  # merged into every request body (in cache key)
    model_path: str | None = None
    hf_repo: str | None = None
    hf_file: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    description: str | None = None

    def redacted(self) -> dict[str, Any]:
        data = asdict(self)
        data["api_key"] = "[redacted]" if self.api_key else None
        return data


FIELD_TYPES = {f.name: f.type for f in fields(EndpointConfig)}


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a `configs/*.yaml` endpoint profile; unknown keys are errors."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path} (profiles live in configs/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    for key in data:
        if key not in FIELD_TYPES:
            raise UserError(f"{path}: {key}: unknown setting; allowed: {', '.join(sorted(FIELD_TYPES))}")
    return data


def resolve_endpoint(profile: dict[str, Any] | None, overrides: dict[str, Any]) -> EndpointConfig:
    """Merge defaults < environment < profile < flags (flags given as non-None values in `overrides`)."""
    merged: dict[str, Any] = {}
    for env, key in (("EVALHARNESS_BASE_URL", "base_url"), ("EVALHARNESS_MODEL", "model")):
        if os.environ.get(env):
            merged[key] = os.environ[env]
    merged.update(profile or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    config = EndpointConfig(**merged)
    if config.provider not in {"openai", "llamacpp"}:
        raise UserError(f"provider {config.provider!r} is unknown; use openai (HTTP endpoint) or llamacpp")
    if config.provider == "openai" and not config.base_url:
        config.provider = "llamacpp"  # nothing configured: the offline default model
    if config.provider == "openai" and not config.model:
        raise UserError("no model given: pass --model NAME (e.g. microsoft/Phi-4-mini-instruct) or a --config")
    if config.concurrency < 1:
        raise UserError(f"--concurrency must be at least 1, got {config.concurrency}")
    if config.api_key is None and config.api_key_env:
        config.api_key = os.environ.get(config.api_key_env) or None
    return config


def make_provider(config: EndpointConfig):
    """Build the provider the config asks for (importing the local backend only when it is used)."""
    if config.provider == "llamacpp":
        from evalharness.providers.llamacpp import LlamaCppProvider

        return LlamaCppProvider(model_path=config.model_path, hf_repo=config.hf_repo, hf_file=config.hf_file,
                                n_ctx=config.n_ctx, n_threads=config.n_threads)
    from evalharness.providers.openai import HTTPProvider

    return HTTPProvider(
        base_url=config.base_url, model=config.model, api_key=config.api_key, api_key_env=config.api_key_env,
        auth_header=config.auth_header, concurrency=config.concurrency, timeout_s=config.timeout_s,
        max_retries=config.max_retries, query_params=config.query_params, stream=config.stream,
        extra_body=config.extra_body,
    )
