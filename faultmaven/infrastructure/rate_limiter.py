"""Request budgets on `limits`' moving window: in process memory by default (`LocalMovingWindows`), Redis
when configured.

With Redis every server process counts against the same keys, so a budget holds across workers and hosts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

import structlog
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string

from faultmaven.infrastructure.local_windows import LocalMovingWindows

_logger = structlog.get_logger(__name__)
# coredis' own names for the socket timeouts: a dead Redis must not hold a request for long.
_REDIS_TIMEOUTS = {"connect_timeout": 1.0, "stream_timeout": 1.0}


def limits_storage_uri(redis_url: str) -> str:
    """`limits`' async storage URI for a Redis URL: `async+redis://...` (coredis)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class MovingWindowStorage(Protocol):
    """The two calls of `limits`' moving window that budgets need: `limits`' Redis storage has them, and
    so does `LocalMovingWindows` (what `MovingWindowRateLimiter` would add is a key and a subtraction)."""

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool: ...

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]: ...


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one hit on the most constrained of the caller's budgets.

    `reset_at` is a Unix time in seconds; `retry_after` the whole seconds until a slot frees (0 if allowed).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int


class RateLimiter:
    """Named budgets (`"queries"`, `"writes"`), each counted separately for every identity it is hit for."""

    def __init__(
        self, budgets: dict[str, str], *, redis_url: str | None = None, key_prefix: str = "faultmaven"
    ):
        self.budgets: dict[str, RateLimitItem] = {name: parse(value) for name, value in budgets.items()}
        self.storage_kind = "redis" if redis_url else "memory"
        self._storage: MovingWindowStorage = LocalMovingWindows()
        if redis_url:
            options = {"key_prefix": key_prefix, **_REDIS_TIMEOUTS}
            uri = limits_storage_uri(redis_url)
            self._storage = storage_from_string(uri, wrap_exceptions=True, **options)

    async def hit(self, budget: str, identities: list[str]) -> RateDecision | None:
        """Spend one unit of `budget` for each identity; stop at the first one that is exhausted.

        None when the storage fails: limiting fails open, so a Redis outage never takes the API down.
        """
        item = self.budgets[budget]
        try:
            decisions = []
            for identity in identities:
                key, expiry = item.key_for(budget, identity), item.get_expiry()
                allowed = await self._storage.acquire_entry(key, item.amount, expiry)
                decisions.append(await self._decision(item, key, expiry, allowed))
                if not allowed:
                    return decisions[-1]
        except StorageError as error:
            _logger.warning("rate limit storage unavailable; request not limited", error=str(error))
            return None
        return min(decisions, key=lambda decision: (decision.remaining, -decision.reset_at))

    async def _decision(self, item: RateLimitItem, key: str, expiry: int, allowed: bool) -> RateDecision:
        """The window after this hit: it resets when its oldest hit expires."""
        oldest, hits = await self._storage.get_moving_window(key, item.amount, expiry)
        reset_at = oldest + expiry
        retry_after = 0 if allowed else max(1, math.ceil(reset_at - time.time()))
        return RateDecision(allowed, item.amount, max(0, item.amount - hits), reset_at, retry_after)
