"""A query's events (status, tool calls, answer text, final response), written to and read from the
database so any process can stream a query that any other process runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.models.case import utcnow
from faultmaven.models.query_event import QueryEvent

FINAL_EVENTS = frozenset({"complete", "error", "cancelled"})
FLUSH_SECONDS = 0.1


class QueryEventWriter:
    """Numbers one query's events in order and writes them in batches, never a write per event.

    A live writer (a query someone may be following: streamed or asynchronous) writes what is pending at
    most `FLUSH_SECONDS` after the first unwritten event; consecutive answer text deltas become one event.
    A writer that is not live (a synchronous query: nobody can follow it before its answer) writes nothing
    by itself. Either way the rest is handed to the transaction that closes the query (`settle`), so
    the final event commits together with the query's outcome.
    """

    def __init__(self, database: Database, query_id: str, first_seq: int, *, live: bool = True):
        self._db = database
        self._query_id = query_id
        self._seq = first_seq
        self._live = live
        self._pending: list[repo.EventValues] = []
        self._timer: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    @classmethod
    async def open(cls, database: Database, query_id: str) -> QueryEventWriter:
        """A live writer for a query that may have events already (queued, or restarted)."""
        async with database.read() as session:
            return cls(database, query_id, await repo.next_event_seq(session, query_id))

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        last = self._pending[-1] if self._pending else None
        if event == "text_delta" and last is not None and last["event"] == "text_delta":
            last["data"] = {"text": last["data"].get("text", "") + data.get("text", "")}
        else:
            self._pending.append(self.event_row(event, data))
        if self._live and self._timer is None:
            self._timer = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self._timer = None
        await asyncio.shield(self.flush())

    async def flush(self) -> None:
        async with self._writing:
            rows, self._pending = self._pending, []
            if rows:
                async with self._db.write() as session:
                    await repo.add_events(session, rows)

    def event_row(self, event: str, data: dict[str, Any]) -> repo.EventValues:
        """The next event as a row for the caller's own transaction (the one that closes the query)."""
        row = {
            "query_id": self._query_id, "seq": self._seq, "event": event, "data": data, "created_at": utcnow()
        }
        self._seq += 1
        return row

    async def settle(self) -> list[repo.EventValues]:
        """Stop the timer, wait for a batch being written, and hand over what is left to write."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._writing:
            rows, self._pending = self._pending, []
        return rows


async def follow_events(
    database: Database,
    query_id: str,
    after_seq: int = 0,
    *,
    poll_seconds: float = 0.1,
    idle_timeout: float = 600,
) -> AsyncIterator[QueryEvent]:
    """Yield the query's events after `after_seq` as they appear, until a final event (or nothing new for
    `idle_timeout` seconds)."""
    last_seen = time.monotonic()
    while True:
        async with database.read() as session:
            rows = await repo.events_after(session, query_id, after_seq)
        for row in rows:
            after_seq = row.seq
            yield QueryEvent(row.seq, row.event, row.data)
            if row.event in FINAL_EVENTS:
                return
        if rows:
            last_seen = time.monotonic()
        elif time.monotonic() - last_seen > idle_timeout:
            return
        await asyncio.sleep(poll_seconds)
