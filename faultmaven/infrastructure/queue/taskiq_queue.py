"""Query jobs through taskiq on Redis, run by separate `faultmaven worker` processes.

Redis only carries "run query X"; the `queries` row stays the truth, and the runner's claim makes a
message delivered twice (or a sweep that re-sends a stuck job) harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from redis.asyncio import Redis
from taskiq.api import run_receiver_task
from taskiq_redis import ListQueueBroker

from faultmaven.infrastructure.background import BackgroundTasks
from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.models.case import utcnow
from faultmaven.models.jobs import QueueFullError

_logger = structlog.get_logger(__name__)
TASK_NAME = "faultmaven.run_query"
STUCK_AFTER = timedelta(seconds=60)
"""A job still pending after this long was lost on its way (Redis restarted, say) and is sent again."""
RunJob = Callable[[str], Awaitable[object]]


class TaskiqJobQueue:
    kind = "taskiq"

    def __init__(
        self,
        url: str,
        database: Database,
        run_job: RunJob,
        *,
        queue_name: str = "faultmaven:queries",
        max_pending: int = 1000,
        sweep_seconds: float = 5.0,
        concurrency: int = 4,
    ):
        self._db = database
        self._max_pending = max_pending
        self._sweep_seconds = sweep_seconds
        self._concurrency = concurrency
        self.broker = ListQueueBroker(url, queue_name=queue_name)
        async def run_query(query_id: str) -> None:
            await run_job(query_id)

        self._task = self.broker.register_task(run_query, task_name=TASK_NAME)
        self._loops = BackgroundTasks("taskiq sweep")

    async def enqueue(self, query_id: str) -> None:
        if await self._pending_count() >= self._max_pending:
            raise QueueFullError
        await self._task.kiq(query_id)

    async def _pending_count(self) -> int:
        async with Redis(connection_pool=self.broker.connection_pool) as redis:
            return int(await redis.llen(self.broker.queue_name))

    async def start(self) -> None:
        await self.broker.startup()
        self._loops.spawn(self._sweep())

    async def run_worker(self) -> None:
        """Consume jobs until cancelled (the `faultmaven worker` process)."""
        await run_receiver_task(self.broker, max_async_tasks=self._concurrency, run_startup=False)

    async def stop(self) -> None:
        await self._loops.cancel()
        await self.broker.shutdown()

    def health(self) -> dict[str, object]:
        return {"kind": self.kind, "queue": self.broker.queue_name}

    async def _sweep(self) -> None:
        """Re-send jobs that are pending or whose worker died, so nothing waits forever."""
        while True:
            try:
                async with self._db.read() as session:
                    now = utcnow()
                    stuck = await repo.recoverable_ids(session, now, pending_before=now - STUCK_AFTER)
                    for query_id in stuck:
                        await self._task.kiq(query_id)
            except Exception:
                _logger.exception("job recovery sweep failed")
            await asyncio.sleep(self._sweep_seconds)
