"""Fixtures for the LLM tests: fake LLM servers on loopback and routers pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from faultmaven.infrastructure.llm.config import ProviderSpec
from faultmaven.infrastructure.llm.router import LLMRouter
from tests.fakes.fake_llm import FakeLLMServer
from tests.llm.support import EventLog, RouterFactory


@pytest.fixture
def primary() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def backup() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
async def make_router(events: EventLog) -> AsyncIterator[RouterFactory]:
    """Build routers with fast test defaults (short backoff, events recorded) and close them afterwards."""
    routers: list[LLMRouter] = []

    def build(*specs: ProviderSpec, **options: Any) -> LLMRouter:
        options = {"retry_backoff_seconds": 0.01, "max_retries": 0, "on_event": events, **options}
        router = LLMRouter(specs, **options)
        routers.append(router)
        return router

    yield build
    for router in routers:
        await router.aclose()
