"""Endpoint profiles: every shipped profile loads, flags override it, secrets stay out of what is written."""

from pathlib import Path

import pytest

from evalharness.config import load_profile, resolve_endpoint
from evalharness.errors import UserError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_profiles_load(path):
    config = resolve_endpoint(load_profile(path), {})
    assert config.provider in {"openai", "llamacpp"}
    assert config.model or config.provider == "llamacpp"


def test_all_providers_have_a_profile():
    names = {p.stem for p in CONFIGS}
    assert {"cometapi", "azure-ai-foundry", "github-models", "ollama", "vllm", "llamacpp-server"} <= names


def test_llama_cpp_python_server_profile_turns_its_samplers_off():
    from evalharness.providers import llamacpp as local

    profile = load_profile(Path(__file__).resolve().parents[1] / "configs" / "llama-cpp-python-server.yaml")
    assert profile.get("options", profile)["extra_body"] == local.NEUTRAL_SAMPLING


def test_extra_body_is_sent_and_keys_the_cache():
    from evalharness.providers.openai import HTTPProvider

    plain = HTTPProvider(base_url="http://a/v1", model="m")
    tuned = HTTPProvider(base_url="http://a/v1", model="m", extra_body={"top_k": 0})
    assert plain.identity() != tuned.identity() and tuned.identity()["extra_body"] == {"top_k": 0}


def test_flags_override_profile_and_env(monkeypatch):
    monkeypatch.setenv("EVALHARNESS_MODEL", "from-env")
    config = resolve_endpoint({"base_url": "http://a/v1", "model": "from-profile", "concurrency": 4},
                              {"concurrency": 32, "model": None})
    assert (config.model, config.concurrency) == ("from-profile", 32)
    assert resolve_endpoint({"base_url": "http://a/v1"}, {}).model == "from-env"


def test_key_comes_from_the_named_variable_and_is_redacted(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-123")
    config = resolve_endpoint({"base_url": "http://a/v1", "model": "m", "api_key_env": "MY_KEY"}, {})
    assert config.api_key == "sk-123"
    assert "sk-123" not in repr(config.redacted())


def test_no_endpoint_means_the_local_model():
    assert resolve_endpoint(None, {}).provider == "llamacpp"


def test_bad_values_are_user_errors():
    with pytest.raises(UserError, match="concurrency must be at least 1"):
        resolve_endpoint({"base_url": "http://a/v1", "model": "m"}, {"concurrency": 0})
    with pytest.raises(UserError, match="no model given"):
        resolve_endpoint({"base_url": "http://a/v1"}, {})
