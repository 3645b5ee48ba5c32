"""The embedded job queue: worker tasks in the server process, fed by enqueues and by a recovery sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

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
    ):
        self._db = database
        self._run_job = run_job
        self._concurrency = concurrency
        self._sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=max_pending)
        self._queued: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[object]] = set()

    async def enqueue(self, query_id: str) -> None:
        if query_id in self._queued:
            return
        try:
            self._queue.put_nowait(query_id)
        except asyncio.QueueFull:
            raise QueueFullError from None
        self._queued.add(query_id)

    def _track(self, task: asyncio.Task[object]) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]
        self._tasks.append(asyncio.create_task(self._sweep()))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking jobs, give running ones `grace_seconds`, then cancel them: their leases run out and
        another process (or this one, restarted) takes them over."""
        for task in self._tasks:
            task.cancel()
        running = [task for task in self._running if not task.done()]
        if running:
            await asyncio.wait(running, timeout=grace_seconds)
        for task in [*self._tasks, *running]:
            task.cancel()
        await asyncio.gather(*self._tasks, *running, return_exceptions=True)
        self._tasks.clear()

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
            task = asyncio.create_task(self._run_job(query_id))
            self._track(task)
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
