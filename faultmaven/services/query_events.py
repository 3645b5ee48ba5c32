"""A query's events (status, tool calls, answer text, final response), written to and read from the
database so any process can stream a query that any other process runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import QueryEventRow
from faultmaven.models.case import utcnow

FINAL_EVENTS = frozenset({"complete", "error", "cancelled"})
TEXT_FLUSH_SECONDS = 0.1
TEXT_FLUSH_CHARS = 400


class QueryEventWriter:
    """Appends one query's events in order; answer text deltas are coalesced (every 100 ms or 400 chars)
    so streaming does not cost a write per token."""

    def __init__(self, database: Database, query_id: str, first_seq: int):
        self._db = database
        self._query_id = query_id
        self._seq = first_seq
        self._pending_text: list[str] = []
        self._pending_since = 0.0

    @classmethod
    async def open(cls, database: Database, query_id: str) -> QueryEventWriter:
        async with database.read() as session:
            return cls(database, query_id, await repo.next_event_seq(session, query_id))

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        if event == "text_delta":
            await self._buffer_text(data.get("text", ""))
            return
        await self.flush()
        await self._write([(event, data)])

    async def _buffer_text(self, text: str) -> None:
        if not self._pending_text:
            self._pending_since = time.monotonic()
        self._pending_text.append(text)
        waited = time.monotonic() - self._pending_since
        if waited >= TEXT_FLUSH_SECONDS or sum(map(len, self._pending_text)) >= TEXT_FLUSH_CHARS:
            await self.flush()

    async def flush(self) -> None:
        if self._pending_text:
            text, self._pending_text = "".join(self._pending_text), []
            await self._write([("text_delta", {"text": text})])

    async def _write(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        now = utcnow()
        rows = []
        for event, data in events:
            rows.append(
                QueryEventRow(query_id=self._query_id, seq=self._seq, event=event, data=data, created_at=now)
            )
            self._seq += 1
        async with self._db.write() as session:
            await repo.add_events(session, rows)


async def follow_events(
    database: Database,
    query_id: str,
    after_seq: int = 0,
    *,
    poll_seconds: float = 0.1,
    idle_timeout: float = 600,
) -> AsyncIterator[QueryEventRow]:
    """Yield the query's events after `after_seq` as they appear, until a final event (or nothing new for
    `idle_timeout` seconds)."""
    last_seen = time.monotonic()
    while True:
        async with database.read() as session:
            rows = await repo.events_after(session, query_id, after_seq)
        for row in rows:
            after_seq = row.seq
            yield row
            if row.event in FINAL_EVENTS:
                return
        if rows:
            last_seen = time.monotonic()
        elif time.monotonic() - last_seen > idle_timeout:
            return
        await asyncio.sleep(poll_seconds)
