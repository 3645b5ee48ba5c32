"""The in-process moving windows behind request budgets when no Redis is configured."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from faultmaven.infrastructure import local_windows
from faultmaven.infrastructure.local_windows import LocalMovingWindows


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A settable clock in place of `time` inside the module."""
    now = SimpleNamespace(value=1_000.0)
    monkeypatch.setattr(local_windows, "time", SimpleNamespace(time=lambda: now.value))
    return now


async def test_a_window_admits_limit_hits_then_refuses_until_the_oldest_expires(clock) -> None:
    windows = LocalMovingWindows()
    assert [await windows.acquire_entry("k", 3, 60) for _ in range(4)] == [True, True, True, False]
    assert await windows.get_moving_window("k", 3, 60) == (1_000.0, 3)
    clock.value += 59
    assert not await windows.acquire_entry("k", 3, 60)
    clock.value += 1
    assert await windows.acquire_entry("k", 3, 60)
    assert await windows.get_moving_window("k", 3, 60) == (1_060.0, 1)


async def test_keys_are_counted_apart_and_an_unknown_key_is_empty(clock) -> None:
    windows = LocalMovingWindows()
    assert await windows.acquire_entry("a", 1, 60)
    assert not await windows.acquire_entry("a", 1, 60)
    assert await windows.acquire_entry("b", 1, 60)
    assert await windows.get_moving_window("nobody", 1, 60) == (1_000.0, 0)


async def test_idle_keys_are_forgotten(clock) -> None:
    windows = LocalMovingWindows()
    for caller in range(100):
        await windows.acquire_entry(f"ip:{caller}", 5, 60)
    clock.value += 61
    await windows.acquire_entry("ip:late", 5, 60)
    assert list(windows._windows) == ["ip:late"]


async def test_concurrent_hits_never_exceed_the_limit(clock) -> None:
    windows = LocalMovingWindows()
    results = await asyncio.gather(*(windows.acquire_entry("k", 10, 60) for _ in range(100)))
    assert results.count(True) == 10
