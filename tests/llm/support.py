"""Helpers shared by the LLM tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from faultmaven.infrastructure.llm.config import ProviderKind, ProviderSpec
from faultmaven.infrastructure.llm.router import LLMRouter
from tests.fakes.fake_llm import FakeLLMServer

RouterFactory = Callable[..., LLMRouter]


def spec_for(
    alias: str, server: FakeLLMServer, kind: ProviderKind = "openai", timeout: float = 2.0
) -> ProviderSpec:
    return ProviderSpec(
        alias=alias,
        kind=kind,
        model=f"{alias}-model",
        base_url=server.base_url,
        api_key=SecretStr(f"sk-{alias}-secret"),
        timeout=timeout,
    )


class EventLog(list[tuple[str, dict[str, Any]]]):
    """Collects the router's metric events."""

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        self.append((event, data))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [data for name, data in self if name == event]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
