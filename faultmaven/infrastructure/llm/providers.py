"""Build a pydantic-ai `Model` from a `ProviderSpec`.

Every SDK client gets `max_retries=0` and an HTTP client we own, with the spec's timeout: retries, failover
and the time budget belong to the router, and SDK-side retries would hide failures from the circuit breaker
and overrun the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
from pydantic_ai.models import Model, create_async_httpx2_client
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.ollama import OllamaProvider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from faultmaven.infrastructure.llm.config import ProviderSpec
from faultmaven.infrastructure.llm.openai_client import LeanAsyncOpenAI

PLACEHOLDER_API_KEY = "api-key-not-set"
"""Sent to keyless OpenAI-compatible servers (Ollama, vLLM), because the OpenAI SDK insists on a key."""


@dataclass
class BuiltModel:
    """A provider's model plus the HTTP client the router must close on shutdown (None if it owns none)."""

    spec: ProviderSpec
    model: Model
    http_client: httpx2.AsyncClient | None = None


def build_model(spec: ProviderSpec) -> BuiltModel:
    """Raises ValueError with the variable to set when a required key or optional package is missing."""
    http_client = create_async_httpx2_client(timeout=spec.timeout)
    builders = {
        "openai": _openai_model,
        "ollama": _ollama_model,
        "anthropic": _anthropic_model,
        "gemini": _gemini_model,
    }
    return BuiltModel(spec=spec, model=builders[spec.kind](spec, http_client), http_client=http_client)


def _api_key(spec: ProviderSpec) -> str | None:
    return spec.api_key.get_secret_value() if spec.api_key is not None else None


def _required_api_key(spec: ProviderSpec) -> str:
    api_key = _api_key(spec)
    if api_key is None:
        raise ValueError(
            f"LLM provider {spec.alias!r} ({spec.kind}) needs FAULTMAVEN_LLM_{spec.alias.upper()}_API_KEY"
        )
    return api_key


def _openai_client(spec: ProviderSpec, api_key: str, http_client: httpx2.AsyncClient) -> LeanAsyncOpenAI:
    return LeanAsyncOpenAI(
        base_url=spec.base_url, api_key=api_key, http_client=http_client, timeout=spec.timeout, max_retries=0
    )


def _openai_model(spec: ProviderSpec, http_client: httpx2.AsyncClient) -> Model:
    """OpenAI itself without a base URL; any other OpenAI-compatible server with one.

    A custom base URL gets the OpenAI-compatible profile, which assumes none of the features only OpenAI's
    own API has, so vLLM, llama.cpp or Groq are not sent request fields they reject.
    """
    if spec.base_url is None:
        client = _openai_client(spec, _required_api_key(spec), http_client)
        return OpenAIChatModel(spec.model, provider=OpenAIProvider(openai_client=client))
    client = _openai_client(spec, _api_key(spec) or PLACEHOLDER_API_KEY, http_client)
    return OpenAIChatModel(spec.model, provider=OpenAICompatibleProvider(spec.alias, openai_client=client))


def _ollama_model(spec: ProviderSpec, http_client: httpx2.AsyncClient) -> Model:
    """Ollama's OpenAI-compatible endpoint, with pydantic-ai's per-family profiles (llama, qwen, ...)."""
    client = _openai_client(spec, _api_key(spec) or PLACEHOLDER_API_KEY, http_client)
    return OpenAIChatModel(spec.model, provider=OllamaProvider(openai_client=client))


def _anthropic_model(spec: ProviderSpec, http_client: httpx2.AsyncClient) -> Model:
    """The SDK appends `/v1/messages` itself, so a base URL given with `/v1` (as for OpenAI) is trimmed."""
    try:
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider
    except ImportError as exc:
        raise ValueError(_missing_extra(spec, "anthropic")) from exc
    base_url = spec.base_url.rstrip("/").removesuffix("/v1") if spec.base_url else None
    client = AsyncAnthropic(
        api_key=_required_api_key(spec),
        base_url=base_url,
        http_client=http_client,
        timeout=spec.timeout,
        max_retries=0,
    )
    return AnthropicModel(spec.model, provider=AnthropicProvider(anthropic_client=client))


def _gemini_model(spec: ProviderSpec, http_client: httpx2.AsyncClient) -> Model:
    try:
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider
    except ImportError as exc:
        raise ValueError(_missing_extra(spec, "google")) from exc
    provider = GoogleProvider(
        api_key=_required_api_key(spec), base_url=spec.base_url, http_client=http_client
    )
    return GoogleModel(spec.model, provider=provider)


def _missing_extra(spec: ProviderSpec, extra: str) -> str:
    return (
        f"LLM provider {spec.alias!r} uses kind {spec.kind!r}, which needs the optional '{extra}' extra: "
        f"pip install 'faultmaven[{extra}]'"
    )
