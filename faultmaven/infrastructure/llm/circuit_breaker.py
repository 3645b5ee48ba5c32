"""Per-provider circuit breaker, so a dead provider is skipped without paying its timeout on every query.

pydantic-ai's FallbackModel forgets failures between runs; this keeps the memory across queries.
closed -> open after `failure_threshold` consecutive failures -> half_open once `cooldown_seconds` have
passed, admitting exactly one probe -> closed on its success, open again on its failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]
CLOSED: CircuitState = "closed"
OPEN: CircuitState = "open"
HALF_OPEN: CircuitState = "half_open"


class CircuitBreaker:
    """Single-event-loop breaker; `clock` is injectable so tests move time without sleeping."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown_seconds: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._on_state_change = on_state_change
        self._state: CircuitState = CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> CircuitState:
        """Current state; an open breaker whose cool-down has passed reads as half_open."""
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown_seconds:
            self._transition(HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def is_available(self) -> bool:
        """Whether `try_acquire` would admit a request now, without consuming the half-open probe."""
        state = self.state
        return state == CLOSED or (state == HALF_OPEN and not self._probe_in_flight)

    def try_acquire(self) -> bool:
        """Admit a request: always when closed, once per cool-down when half-open, never when open."""
        if not self.is_available():
            return False
        if self._state == HALF_OPEN:
            self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self._consecutive_failures = 0
        self._probe_in_flight = False
        self._transition(CLOSED)

    def record_failure(self) -> None:
        self._consecutive_failures += 1
        was_probe = self._probe_in_flight
        self._probe_in_flight = False
        if was_probe or self._consecutive_failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._transition(OPEN)

    def release(self) -> None:
        """Give back an admitted request that ended with no verdict (cancelled), so the probe is not lost."""
        self._probe_in_flight = False

    def _transition(self, new_state: CircuitState) -> None:
        if new_state == self._state:
            return
        self._state = new_state
        if self._on_state_change is not None:
            self._on_state_change(new_state)
