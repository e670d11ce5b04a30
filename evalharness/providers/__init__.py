"""Model backends, one module each, in one table.

A provider implements `chat.Provider` (`complete`, `identity`, `describe`, `stats`, `notice`, `aclose`),
declares `Options` (a `schema.Strict` struct: the profile's provider-specific `options:` block, checked
when the profile loads) and builds itself with `from_endpoint(endpoint, options)`. `tool_modes` lists the
ways it can offer functions (`native` request tools, `prompt` in the system message; the first is its
default; both when absent). Retries go through the
shared `providers/retry.py` policy. Add one by writing one module and naming it in a profile as
`provider: path/to/file.py:Class` (or `package.module:Class`); built-ins are listed here by short name.
See docs/extending.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalharness import registry

PROVIDERS: dict[str, str] = {
    "openai": "evalharness.providers.openai:OpenAIProvider",        # any OpenAI-compatible HTTP endpoint
    "llamacpp": "evalharness.providers.llamacpp:LlamaCppProvider",  # a GGUF file in-process
}
OFFLINE_DEFAULT = "llamacpp"  # what runs when no endpoint is configured at all
HTTP_DEFAULT = "openai"       # what a bare --base-url means


def provider_class(name: str, base_dir: Path | None = None) -> Any:
    return registry.resolve(name, PROVIDERS, kind="provider", base_dir=base_dir)
