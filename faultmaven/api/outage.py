"""A storage outage answers 503 with `Retry-After`, logged once per kind of failure and interval.

When the database (or Redis) is down every request fails the same way; a traceback per request buries the
one line that matters (hundreds in seconds). The server recovers by itself when the database is back (the
connection pool reconnects), so the client is told to retry, not that the server is broken.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import structlog
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

RETRY_AFTER_SECONDS = 5
LOG_INTERVAL_SECONDS = 10.0
_logger = structlog.get_logger("faultmaven.outage")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_storage_failure(error: BaseException) -> bool:
    if isinstance(error, OperationalError | DisconnectionError | PoolTimeoutError | ConnectionError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    module = type(error).__module__
    if module.startswith("redis.") and type(error).__name__ in ("ConnectionError", "TimeoutError"):
        return True
    return module.startswith("asyncpg.") and "Connection" in type(error).__name__


def outage_kind(error: BaseException) -> str | None:
    """The failure's kind (its class name) when the error is storage being unreachable, else None."""
    for link in _chain(error):
        if _is_storage_failure(link):
            return type(link).__name__
        if isinstance(link, BaseExceptionGroup):
            for inner in link.exceptions:
                kind = outage_kind(inner)
                if kind is not None:
                    return kind
    return None


class OutageLog:
    """One warning per failure kind and interval, counting the requests it stands for."""

    def __init__(self, interval_seconds: float = LOG_INTERVAL_SECONDS):
        self._interval = interval_seconds
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def record(self, kind: str, error: BaseException) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        _logger.warning(
            "storage unavailable: answering 503",
            kind=kind,
            error=str(error).splitlines()[0][:300] if str(error) else kind,
            requests_since_last_line=self._suppressed.pop(kind, 0),
        )
