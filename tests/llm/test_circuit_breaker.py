"""The breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from faultmaven.infrastructure.llm.circuit_breaker import CircuitBreaker, CircuitState
from tests.llm.support import FakeClock


def make_breaker(clock: FakeClock, changes: list[CircuitState] | None = None) -> CircuitBreaker:
    on_change = changes.append if changes is not None else None
    return CircuitBreaker(failure_threshold=3, cooldown_seconds=30, clock=clock, on_state_change=on_change)


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        assert breaker.try_acquire()
        breaker.record_failure()


def test_closed_until_k_consecutive_failures() -> None:
    breaker = make_breaker(FakeClock())

    for _ in range(2):
        assert breaker.try_acquire()
        breaker.record_failure()
    assert breaker.state == "closed"

    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.is_available() and not breaker.try_acquire()


def test_a_success_resets_the_failure_count() -> None:
    breaker = make_breaker(FakeClock())
    breaker.record_failure()
    breaker.record_failure()

    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 2


def test_half_open_after_cooldown_admits_exactly_one_probe() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    trip(breaker)

    clock.now += 29.9
    assert breaker.state == "open"
    clock.now += 0.1
    assert breaker.state == "half_open"
    assert breaker.is_available()

    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    assert not breaker.is_available()


def test_probe_success_closes() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    trip(breaker)
    clock.now += 30
    assert breaker.try_acquire()

    breaker.record_success()

    assert breaker.state == "closed"
    assert breaker.try_acquire() and breaker.try_acquire()


def test_probe_failure_reopens_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    trip(breaker)
    clock.now += 30
    assert breaker.try_acquire()

    breaker.record_failure()

    assert breaker.state == "open"
    clock.now += 29
    assert breaker.state == "open"
    clock.now += 1
    assert breaker.state == "half_open"


def test_released_probe_can_be_retried() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    trip(breaker)
    clock.now += 30
    assert breaker.try_acquire()

    breaker.release()

    assert breaker.state == "half_open"
    assert breaker.try_acquire()


def test_state_changes_are_reported_once_each() -> None:
    clock = FakeClock()
    changes: list[CircuitState] = []
    breaker = make_breaker(clock, changes)

    trip(breaker)
    breaker.record_failure()
    clock.now += 30
    assert breaker.try_acquire()
    breaker.record_success()

    assert changes == ["open", "half_open", "closed"]


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 30), (3, -1)])
def test_invalid_settings_are_rejected(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, cooldown)
