"""Work a service starts and does not await: spawned, tracked, drained with a grace period, failures logged.

An answer that outlives its request, an upload ingested after the response, a case report, a queue's jobs
and loops: each service keeps them in one `BackgroundTasks`, so shutdown treats them all alike. Running
work gets `grace_seconds` to finish; what is left is cancelled and awaited, so its `finally` and
`except CancelledError` blocks run before the process goes (a query's lease then runs out and another
process takes it over; an upload is marked interrupted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

_logger = structlog.get_logger(__name__)
T = TypeVar("T")
DEFAULT_GRACE_SECONDS = 10.0
"""The default of `FAULTMAVEN_SHUTDOWN_GRACE_SECONDS`, for owners built without settings."""


class BackgroundTasks:
    """One owner's set of running tasks; `name` says whose they are in the failure log."""

    def __init__(self, name: str, grace_seconds: float = DEFAULT_GRACE_SECONDS):
        self.name = name
        self.grace_seconds = grace_seconds
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, T], **context: Any) -> asyncio.Task[T]:
        """Start `work` and keep it until it ends; `context` is logged with its exception if it fails."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, context))
        return task

    def _finished(self, task: asyncio.Task[Any], context: dict[str, Any]) -> None:
        """Forget the task; a failure is logged here, so nobody has to await a task just to see it."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _logger.error("background task failed", owner=self.name, exc_info=error, **context)

    async def wait_idle(self) -> None:
        """Wait until nothing runs, including work spawned meanwhile (tests and benchmarks); a waiter that
        is cancelled leaves the work running."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def drain(self, grace_seconds: float | None = None) -> None:
        """On shutdown: give running work the grace period (the configured one unless told), then
        cancel what is left and wait for it to unwind."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        running = list(self._tasks)
        if running and grace > 0:
            await asyncio.wait(running, timeout=grace)
        await self.cancel()

    async def cancel(self) -> None:
        """Cancel everything now (loops that never finish by themselves) and wait for it to unwind."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
