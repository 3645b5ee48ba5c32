"""The job queue that runs queries in the background (`Prefer: respond-async`, streaming, long queries)."""

from __future__ import annotations

from typing import Protocol


class QueueFullError(Exception):
    """Back-pressure: too many queries are waiting; the caller should retry later."""

    def __init__(self, retry_after_seconds: int = 5):
        super().__init__("the query queue is full")
        self.retry_after_seconds = retry_after_seconds


class JobQueue(Protocol):
    """Runs query jobs (rows of the `queries` table) somewhere; the row, not the queue, is the truth."""

    kind: str

    async def enqueue(self, query_id: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, object]: ...
