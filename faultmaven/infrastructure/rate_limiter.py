"""Request budgets on `limits`' moving window: in process memory by default, Redis when configured.

With Redis every server process counts against the same keys, so a budget holds across workers and hosts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

_logger = structlog.get_logger(__name__)
# coredis' own names for the socket timeouts: a dead Redis must not hold a request for long.
_REDIS_TIMEOUTS = {"connect_timeout": 1.0, "stream_timeout": 1.0}


def limits_storage_uri(redis_url: str | None) -> str:
    """`limits`' async storage URI: `async+redis://...` (coredis) for a Redis URL, else in-process memory."""
    if not redis_url:
        return "async+memory://"
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


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
        options: dict[str, float | str | bool] = {}
        if redis_url:
            options = {"key_prefix": key_prefix, **_REDIS_TIMEOUTS}
        self._storage = storage_from_string(limits_storage_uri(redis_url), wrap_exceptions=True, **options)
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, budget: str, identities: list[str]) -> RateDecision | None:
        """Spend one unit of `budget` for each identity; stop at the first one that is exhausted.

        None when the storage fails: limiting fails open, so a Redis outage never takes the API down.
        """
        item = self.budgets[budget]
        try:
            decisions = []
            for identity in identities:
                allowed = await self._limiter.hit(item, budget, identity)
                decisions.append(await self._decision(item, budget, identity, allowed))
                if not allowed:
                    return decisions[-1]
        except StorageError as error:
            _logger.warning("rate limit storage unavailable; request not limited", error=str(error))
            return None
        return min(decisions, key=lambda decision: (decision.remaining, -decision.reset_at))

    async def _decision(self, item: RateLimitItem, budget: str, identity: str, allowed: bool) -> RateDecision:
        stats = await self._limiter.get_window_stats(item, budget, identity)
        retry_after = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return RateDecision(allowed, item.amount, max(0, stats.remaining), stats.reset_time, retry_after)
