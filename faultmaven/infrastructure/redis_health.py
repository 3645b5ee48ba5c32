"""A bounded PING for health reports: a Redis that is down or unreachable answers False within a second."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import RedisError

PING_TIMEOUT_SECONDS = 1.0


async def redis_reachable(url: str) -> bool:
    client = Redis.from_url(
        url, socket_connect_timeout=PING_TIMEOUT_SECONDS, socket_timeout=PING_TIMEOUT_SECONDS
    )
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            return bool(await client.ping())
    except (RedisError, OSError, TimeoutError):
        return False
    finally:
        await client.aclose()
