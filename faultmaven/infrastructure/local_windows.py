"""In-process moving windows for the request budgets (`RateLimiter`) when no Redis is configured.

`limits`' own memory storage starts a sweep of every key after each hit, and the sweep hops to a worker
thread once per key; the budgets are checked on every write request, so that cost was paid per request.
Here each key keeps its hit times in a deque, trimmed when the key is next used, and keys nobody uses any
more are dropped at most once a second. Every method runs without an await, so on one event loop a check
and its hit cannot interleave with another request's.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

SWEEP_EVERY_SECONDS = 1.0


@dataclass
class _Window:
    expiry: float
    hits: deque[float] = field(default_factory=deque)
    """Hit times, oldest first."""

    def trim(self, now: float) -> None:
        cutoff = now - self.expiry
        while self.hits and self.hits[0] <= cutoff:
            self.hits.popleft()


class LocalMovingWindows:
    """The two moving-window calls of a `limits` storage (`acquire_entry`, `get_moving_window`), with the
    semantics of `limits`' memory storage: a hit is refused while `limit` hits lie within `expiry`."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._next_sweep = time.time() + SWEEP_EVERY_SECONDS

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        self._sweep(now)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(float(expiry))
        window.trim(now)
        if len(window.hits) + amount > limit:
            return False
        window.hits.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest hit still in the window, hits in the window); (now, 0) for none."""
        now = time.time()
        window = self._windows.get(key)
        if window is None:
            return now, 0
        window.trim(now)
        return (window.hits[0], len(window.hits)) if window.hits else (now, 0)

    def _sweep(self, now: float) -> None:
        """Forget keys whose every hit has expired, so a stream of one-off callers cannot grow memory."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for window in self._windows.values():
            window.trim(now)
        for key in [key for key, window in self._windows.items() if not window.hits]:
            del self._windows[key]
