"""Endpoint profiles (`configs/*.yaml`) and command-line flags -> one `EndpointConfig` -> a provider.

A profile names the provider and the settings every provider shares (below), plus an `options:` block of
the provider's own settings, typed by that provider's `Options` and checked when the profile loads:

    provider: openai            # a name from providers.PROVIDERS, or path/to/file.py:Class
    base_url: http://localhost:8000/v1
    model: microsoft/Phi-4-mini-instruct
    api_key_env: EVALHARNESS_API_KEY
    concurrency: 16
    timeout_s: 120
    max_retries: 6
    tool_mode: native           # how function-calling suites offer functions: native | prompt (evalharness/tools)
    options: {extra_body: {top_k: 0}}

`tool_mode` defaults to the provider's first supported mode (a provider lists them in `tool_modes`;
`openai`: native, prompt; `llamacpp`: prompt only); asking for one it does not support is an error.

Older profiles wrote provider settings at the top level (`extra_body:`, `model_path:`...); they still load
and mean the same as under `options:`.

Precedence, highest first: command-line flags, the `--config` profile, the environment
(`EVALHARNESS_BASE_URL`, `EVALHARNESS_MODEL`), defaults. With no endpoint at all, the run uses the offline
default provider (in-process llama.cpp with a small bundled model) and says so. A flag that only one
provider has (e.g. `--model-path`) selects that provider when none is named.

Secrets: the API key is read from the environment variable named by `api_key_env` (or, discouraged, an
`api_key` in the profile). It is kept only in the provider's request headers; `redacted()` is what gets
written to config.yaml and results.json.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from evalharness.errors import UserError
from evalharness.schema import Strict, convert

DEFAULT_API_KEY_ENV = "EVALHARNESS_API_KEY"
LEGACY_OPTION_KEYS = ("auth_header", "query_params", "stream", "extra_body", "model_path", "hf_repo", "hf_file",
                      "n_ctx", "n_threads")


class EndpointConfig(Strict):
    """One resolved endpoint. `options` is the provider's own block, still a mapping until `make_provider`
    converts it with the provider's `Options` type (already validated by `resolve_endpoint`).

    `base_url` may list several replicas of one model (balanced, unhealthy ones taken out). Rate limits:
    `requests_per_minute`, `tokens_per_minute`; `max_retry_after_s`: a server asking to wait longer than
    this (an exhausted quota) stops the run instead. Prices (per million tokens, in the currency the
    endpoint bills in) give results.json, the summary, the report and compare the run's cost."""

    provider: str | None = None
    base_url: str | list[str] | None = None
    model: str | None = None
    api_key_env: str = DEFAULT_API_KEY_ENV
    api_key: str | None = None
    concurrency: int = 16
    timeout_s: float = 120.0
    max_retries: int = 6
    requests_per_minute: Annotated[float, msgspec.Meta(gt=0)] | None = None
    tokens_per_minute: Annotated[float, msgspec.Meta(gt=0)] | None = None
    max_retry_after_s: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    price_prompt_per_mtok: Annotated[float, msgspec.Meta(ge=0)] | None = None
    price_completion_per_mtok: Annotated[float, msgspec.Meta(ge=0)] | None = None
    currency: str = "USD"
    description: str | None = None
    tool_mode: Literal["native", "prompt"] | None = None  # None: the provider's default (first of `tool_modes`)
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    base_dir: str | None = None  # where the profile lives: `file.py:Class` names are relative to it

    def redacted(self) -> dict[str, Any]:
        data = msgspec.to_builtins(self)
        data["api_key"] = "[redacted]" if self.api_key else None
        data.setdefault("options", {})
        data.pop("base_dir", None)
        return data


class ProfileFile(EndpointConfig):
    """What a profile file may hold: `EndpointConfig` plus the older top-level spellings of options."""

    auth_header: str | None = None
    query_params: dict[str, str] | None = None
    stream: bool | None = None
    extra_body: dict[str, Any] | None = None
    model_path: str | None = None
    hf_repo: str | None = None
    hf_file: str | None = None
    n_ctx: int | None = None
    n_threads: int | None = None


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read and type-check a `configs/*.yaml` endpoint profile (unknown keys and wrong types are errors)."""
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
    convert(data, ProfileFile, source=str(path), root="", unknown="unknown setting")
    return {**data, "base_dir": str(path.parent), "_source": str(path)}


def resolve_endpoint(profile: dict[str, Any] | None, overrides: dict[str, Any]) -> EndpointConfig:
    """Merge defaults < environment < profile < flags (flags given as non-None values in `overrides`)."""
    from evalharness.providers import HTTP_DEFAULT, OFFLINE_DEFAULT

    merged: dict[str, Any] = {}
    for env, key in (("EVALHARNESS_BASE_URL", "base_url"), ("EVALHARNESS_MODEL", "model")):
        if os.environ.get(env):
            merged[key] = os.environ[env]
    profile = dict(profile or {})
    source = profile.pop("_source", "endpoint settings")
    options = dict(profile.pop("options", None) or {})
    options.update({k: profile.pop(k) for k in LEGACY_OPTION_KEYS if k in profile})
    merged.update(profile)
    flags = {k: v for k, v in overrides.items() if v is not None}
    if flags.get("provider") and flags["provider"] != profile.get("provider", flags["provider"]):
        options = {}  # the profile's options belong to the provider the flags replaced
    options.update(flags.pop("options", None) or {})
    merged.update(flags)
    if merged.get("concurrency") is not None and isinstance(merged["concurrency"], int) \
            and merged["concurrency"] < 1:
        raise UserError(f"--concurrency must be at least 1, got {merged['concurrency']}")
    config = convert({**merged, "options": options}, EndpointConfig, source=source, root="",
                     unknown="unknown setting")
    if config.provider is None:
        config.provider = _provider_for(options, config) or (HTTP_DEFAULT if config.base_url else OFFLINE_DEFAULT)
    if config.provider == HTTP_DEFAULT and not config.base_url:
        config.provider = OFFLINE_DEFAULT  # nothing configured: the offline default model
    _provider_options(config, source)
    _resolve_tool_mode(config, source)
    if config.api_key is None and config.api_key_env:
        config.api_key = os.environ.get(config.api_key_env) or None
    return config


def provider_for_options(options: dict[str, Any]) -> str | None:
    """The one built-in provider whose options include every option given (e.g. model_path -> llamacpp)."""
    return _provider_for(options, None)


def _provider_for(options: dict[str, Any], config: EndpointConfig | None) -> str | None:
    from evalharness.providers import PROVIDERS, provider_class

    if not options:
        return None
    owners = [name for name in PROVIDERS
              if set(options) <= set(provider_class(name).Options.__struct_fields__)]
    return owners[0] if len(owners) == 1 else None


def _provider_options(config: EndpointConfig, source: str) -> Any:
    from evalharness.providers import provider_class

    cls = provider_class(config.provider, Path(config.base_dir) if config.base_dir else None)
    options = convert(config.options, cls.Options, source=source, root="options", prefix="options.",
                      unknown=f"unknown setting of provider {config.provider}")
    if hasattr(cls, "check_endpoint"):
        cls.check_endpoint(config)
    return options


def _resolve_tool_mode(config: EndpointConfig, source: str) -> None:
    """Fill in the provider's default tool mode, or refuse one the provider cannot do."""
    from evalharness.providers import provider_class
    from evalharness.tools import TOOL_MODES

    cls = provider_class(config.provider, Path(config.base_dir) if config.base_dir else None)
    supported = tuple(getattr(cls, "tool_modes", TOOL_MODES))
    if config.tool_mode is None:
        config.tool_mode = supported[0]
    elif config.tool_mode not in supported:
        raise UserError(f"{source}: tool_mode: provider {config.provider} does not support {config.tool_mode!r} "
                        f"(it supports {', '.join(supported)}); use --tool-mode {supported[0]}")


def make_provider(config: EndpointConfig):
    """Build the provider the config names (its module is imported only now)."""
    from evalharness.providers import provider_class

    cls = provider_class(config.provider, Path(config.base_dir) if config.base_dir else None)
    return cls.from_endpoint(config, _provider_options(config, "endpoint settings"))


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of a profile file (`evalharness schema profile`): `options` is one of the built-in
    providers' `Options`."""
    from evalharness.providers import PROVIDERS, provider_class
    from evalharness.schema import json_schema

    schema = json_schema(ProfileFile, "evalharness endpoint profile")
    defs = schema.setdefault("$defs", {})
    variants = []
    for name in PROVIDERS:
        options = json_schema(provider_class(name).Options, f"options of provider {name}")
        defs.update(options.pop("$defs", {}))
        variants.append(options["$ref"] if "$ref" in options else options)
    profile = defs[schema["$ref"].rsplit("/", 1)[-1]]
    profile["properties"]["options"] = {"anyOf": [{"$ref": v} if isinstance(v, str) else v for v in variants],
                                        "description": "the provider's own settings"}
    return schema
