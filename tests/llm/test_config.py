"""Parsing FAULTMAVEN_LLM_PROVIDERS and the per-alias settings; provider construction errors at startup."""

from __future__ import annotations

import importlib.util

import pytest
from pydantic import SecretStr

from faultmaven.infrastructure.llm.config import OLLAMA_DEFAULT_BASE_URL, ProviderSpec, parse_providers
from faultmaven.infrastructure.llm.router import LLMRouter


def test_unset_or_blank_means_no_provider() -> None:
    assert parse_providers({}) == []
    assert parse_providers({"FAULTMAVEN_LLM_PROVIDERS": "  "}) == []


def test_ordered_aliases_kinds_models_and_per_alias_settings() -> None:
    environ = {
        "FAULTMAVEN_LLM_PROVIDERS": "primary=openai:gpt-4.1-mini, backup=anthropic:claude-haiku-4-5,"
        "local=ollama:llama3.1",
        "FAULTMAVEN_LLM_PRIMARY_API_KEY": "sk-primary",
        "FAULTMAVEN_LLM_PRIMARY_TIMEOUT": "12.5",
        "FAULTMAVEN_LLM_BACKUP_API_KEY": "sk-backup",
        "FAULTMAVEN_LLM_BACKUP_BASE_URL": "https://proxy.example/anthropic",
    }

    primary, backup, local = parse_providers(environ)

    assert (primary.alias, primary.kind, primary.model, primary.timeout) == (
        "primary",
        "openai",
        "gpt-4.1-mini",
        12.5,
    )
    assert primary.api_key == SecretStr("sk-primary") and primary.base_url is None
    assert (backup.kind, backup.base_url, backup.timeout) == (
        "anthropic",
        "https://proxy.example/anthropic",
        60.0,
    )
    assert (local.kind, local.model, local.base_url, local.api_key) == (
        "ollama",
        "llama3.1",
        OLLAMA_DEFAULT_BASE_URL,
        None,
    )


def test_alias_defaults_to_the_kind() -> None:
    (spec,) = parse_providers({"FAULTMAVEN_LLM_PROVIDERS": "anthropic:claude-haiku-4-5"})

    assert spec.alias == "anthropic"


@pytest.mark.parametrize(
    ("entry", "model"),
    [("ollama:llama3.1:8b", "llama3.1:8b"), ("vllm=openai:meta-llama/Llama-3-8B", "meta-llama/Llama-3-8B")],
)
def test_model_names_keep_colons_and_slashes(entry: str, model: str) -> None:
    (spec,) = parse_providers({"FAULTMAVEN_LLM_PROVIDERS": entry})

    assert spec.model == model


def test_api_key_never_appears_in_repr() -> None:
    environ = {
        "FAULTMAVEN_LLM_PROVIDERS": "openai:gpt-4.1-mini",
        "FAULTMAVEN_LLM_OPENAI_API_KEY": "sk-very-secret",
    }

    (spec,) = parse_providers(environ)

    assert "sk-very-secret" not in repr(spec) and "sk-very-secret" not in str(spec)


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ("openai", "must look like"),
        ("openai:", "must look like"),
        ("primary=", "must look like"),
        ("openai:gpt-4.1,", "empty entry"),
        ("cohere:command-r", "unknown kind"),
        ("my-alias=openai:gpt-4.1", "may only contain"),
        ("openai:gpt-4.1,openai:gpt-4.1-mini", "used twice"),
        ("Main=openai:gpt-4.1,main=anthropic:claude-haiku-4-5", "used twice"),
    ],
)
def test_malformed_provider_lists_are_rejected(providers: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_providers({"FAULTMAVEN_LLM_PROVIDERS": providers})


@pytest.mark.parametrize("timeout", ["soon", "0", "-3", "nan", "inf"])
def test_bad_timeouts_are_rejected(timeout: str) -> None:
    environ = {"FAULTMAVEN_LLM_PROVIDERS": "local=ollama:llama3.1", "FAULTMAVEN_LLM_LOCAL_TIMEOUT": timeout}

    with pytest.raises(ValueError, match="FAULTMAVEN_LLM_LOCAL_TIMEOUT"):
        parse_providers(environ)


def test_missing_api_key_fails_at_startup() -> None:
    with pytest.raises(ValueError, match="FAULTMAVEN_LLM_BACKUP_API_KEY"):
        LLMRouter([ProviderSpec(alias="backup", kind="anthropic", model="claude-haiku-4-5")])


@pytest.mark.skipif(importlib.util.find_spec("google") is not None, reason="the google extra is installed")
def test_gemini_without_the_google_extra_fails_with_a_clear_message() -> None:
    spec = ProviderSpec(alias="gemini", kind="gemini", model="gemini-2.5-flash", api_key=SecretStr("key"))

    with pytest.raises(ValueError, match=r"faultmaven\[google\]"):
        LLMRouter([spec])


async def test_router_from_environ() -> None:
    router = LLMRouter.from_environ({"FAULTMAVEN_LLM_PROVIDERS": "local=ollama:llama3.1:8b"})

    assert router.configured
    assert [(h.alias, h.kind, h.model, h.circuit_state) for h in router.health()] == [
        ("local", "ollama", "llama3.1:8b", "closed")
    ]
    await router.aclose()
