"""The embedded job queue: worker tasks in the server process, fed by enqueues and by a recovery sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from faultmaven.infrastructure.background import DEFAULT_GRACE_SECONDS, BackgroundTasks
from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.models.case import utcnow
from faultmaven.models.jobs import QueueFullError

_logger = structlog.get_logger(__name__)
RunJob = Callable[[str], Awaitable[object]]


class InProcessJobQueue:
    """A bounded asyncio queue with `concurrency` workers.

    Rows left `pending`, or `processing` under an expired lease (their process died), are found by a sweep
    every `sweep_seconds` and queued again; the claim in `QueryRunner` makes double delivery harmless.
    """

    kind = "in_process"

    def __init__(
        self,
        database: Database,
        run_job: RunJob,
        *,
        concurrency: int = 4,
        max_pending: int = 100,
        sweep_seconds: float = 5.0,
        shutdown_grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ):
        self._db = database
        self._run_job = run_job
        self._concurrency = concurrency
        self._sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=max_pending)
        self._queued: set[str] = set()
        self._loops = BackgroundTasks("job queue loops")
        self._running = BackgroundTasks("queued jobs", shutdown_grace_seconds)

    async def enqueue(self, query_id: str) -> None:
        if query_id in self._queued:
            return
        try:
            self._queue.put_nowait(query_id)
        except asyncio.QueueFull:
            raise QueueFullError from None
        self._queued.add(query_id)

    async def start(self) -> None:
        for _ in range(self._concurrency):
            self._loops.spawn(self._work())
        self._loops.spawn(self._sweep())

    async def stop(self) -> None:
        """Stop taking jobs, give running ones the grace period, then cancel them: their leases run out
        and another process (or this one, restarted) takes them over."""
        await self._loops.cancel()
        await self._running.drain()

    def health(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "pending": self._queue.qsize(),
            "running": len(self._running),
            "workers": self._concurrency,
        }

    async def _work(self) -> None:
        while True:
            query_id = await self._queue.get()
            self._queued.discard(query_id)
            task = self._running.spawn(self._run_job(query_id), query_id=query_id)
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def _sweep(self) -> None:
        while True:
            try:
                async with self._db.read() as session:
                    for query_id in await repo.recoverable_ids(session, utcnow()):
                        await self.enqueue(query_id)
            except QueueFullError:
                pass
            except Exception:
                _logger.exception("job recovery sweep failed")
            await asyncio.sleep(self._sweep_seconds)
