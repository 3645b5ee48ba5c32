"""Runs one query job: claims it, answers it under a renewed lease, records the outcome and its events.

Whoever runs a query (the API process for a synchronous answer, an in-process worker, or a separate
`faultmaven worker`), it goes through `QueryRunner`, so the guarantees are the same everywhere: a query is
answered once, its user and agent messages are stored once, and a query whose worker died is taken over
when its lease runs out, or failed explicitly after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import QueryRow
from faultmaven.models.agent import AgentResponse, QueryRequest
from faultmaven.models.case import CaseMessage, MessageType, utcnow
from faultmaven.services.agent_service import SOURCE_TAG, AgentService
from faultmaven.services.case_service import CaseService
from faultmaven.services.query_events import QueryEventWriter

_logger = structlog.get_logger(__name__)

CANCELLED_TEXT = "This query was cancelled before an answer was ready."
WORKER_LOST_TEXT = (
    "This query could not be answered: the server process working on it stopped "
    "{attempts} times. Ask again to retry."
)


@dataclass(frozen=True)
class RunnerSettings:
    lease_seconds: float = 30.0
    max_attempts: int = 2
    record_messages: bool = True


class QueryCancelled(Exception):
    """The query was cancelled (or taken over) while it ran."""


class QueryRunner:
    def __init__(
        self,
        database: Database,
        case_service: CaseService,
        agent_service: AgentService,
        settings: RunnerSettings | None = None,
    ):
        self._db = database
        self._cases = case_service
        self._agent = agent_service
        self._settings = settings or RunnerSettings()
        self.worker_id = f"worker_{uuid.uuid4().hex[:16]}"

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.lease_seconds)

    def new_claimed_row(self, **fields: Any) -> QueryRow:
        """A query row already claimed by this runner, for answers run right away in this process."""
        now = utcnow()
        return QueryRow(
            status="processing",
            claimed_by=self.worker_id,
            lease_expires_at=now + self._lease,
            attempts=1,
            created_at=now,
            completed_at=None,
            response=None,
            error=None,
            **fields,
        )

    async def claim_and_run(self, query_id: str) -> AgentResponse | None:
        """Run the query if it is free to take; None if another worker has it or it is finished."""
        now = utcnow()
        async with self._db.write() as session:
            row = await repo.claim_query(session, query_id, self.worker_id, now, now + self._lease)
        if row is None:
            return None
        return await self.run_claimed(row)

    async def run_claimed(self, row: QueryRow) -> AgentResponse | None:
        """Answer a query this runner holds; None when it ended otherwise (cancelled, failed, given up),
        which the query row then says."""
        writer = await QueryEventWriter.open(self._db, row.query_id)
        if row.attempts > self._settings.max_attempts:
            await self._give_up(row, writer)
            return None
        if row.attempts > 1:
            await writer.emit("reset", {"reason": "restarted after the process running it stopped"})
        await writer.emit("status", {"status": "processing", "attempt": row.attempts})
        request = QueryRequest.model_validate(row.request or {"query": row.query})
        work = asyncio.create_task(self._agent.process_query_for_case(row.case_id, request, events=writer))
        try:
            response = await self._supervise(work, row.query_id)
        except QueryCancelled:
            await self._record_cancelled(row, request, writer)
            return None
        except Exception as error:
            await self._record_failure(row, writer, error)
            return None
        return await self._record_success(row, response, writer)

    async def _supervise(self, work: asyncio.Task[AgentResponse], query_id: str) -> AgentResponse:
        """Wait for the answer, renewing the lease; a lease we can no longer renew means cancelled."""
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=self._settings.lease_seconds / 3)
                if done:
                    return work.result()
                async with self._db.write() as session:
                    still_ours = await repo.renew_lease(
                        session, query_id, self.worker_id, utcnow() + self._lease
                    )
                if not still_ours:
                    raise QueryCancelled
        finally:
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)

    async def _record_success(
        self, row: QueryRow, response: AgentResponse, writer: QueryEventWriter
    ) -> AgentResponse | None:
        response.query_id = row.query_id
        body = response.model_dump(mode="json")
        async with self._db.write() as session:
            finished = await repo.finish_query(
                session,
                row.query_id,
                status="completed",
                now=utcnow(),
                response=body,
                worker_id=self.worker_id,
            )
        if not finished:
            await writer.emit("cancelled", {"query_id": row.query_id})
            return None
        await writer.emit("complete", body)
        return response

    async def _record_cancelled(self, row: QueryRow, request: QueryRequest, writer: QueryEventWriter) -> None:
        await self.store_closing_messages(row, request, CANCELLED_TEXT, {"cancelled": True})
        await writer.emit("cancelled", {"query_id": row.query_id})

    async def _record_failure(self, row: QueryRow, writer: QueryEventWriter, error: Exception) -> None:
        _logger.exception("query failed", query_id=row.query_id, error_type=type(error).__name__)
        failure = {"code": "PROCESSING_FAILED", "message": "The query could not be processed"}
        if isinstance(error, ValueError):
            failure = {"code": "CASE_NOT_FOUND", "message": "The case no longer exists"}
        async with self._db.write() as session:
            await repo.finish_query(
                session, row.query_id, status="failed", now=utcnow(), error=failure, worker_id=self.worker_id
            )
        await writer.emit("error", failure)

    async def _give_up(self, row: QueryRow, writer: QueryEventWriter) -> None:
        """Too many workers died on this query: fail it explicitly, never silently."""
        failure = {"code": "WORKER_LOST", "message": WORKER_LOST_TEXT.format(attempts=row.attempts - 1)}
        request = QueryRequest.model_validate(row.request or {"query": row.query})
        await self.store_closing_messages(row, request, failure["message"], {"failed": True})
        async with self._db.write() as session:
            await repo.finish_query(
                session, row.query_id, status="failed", now=utcnow(), error=failure, worker_id=self.worker_id
            )
        await writer.emit("error", failure)

    async def store_closing_messages(
        self, row: QueryRow, request: QueryRequest, text: str, metadata: dict[str, Any]
    ) -> None:
        """The user's question and a closing agent line, for a query that ends without an answer: each
        query leaves exactly one user and one agent message, whatever happens to it."""
        if not self._settings.record_messages:
            return
        for message_type, content in (
            (MessageType.USER_QUERY, request.query),
            (MessageType.AGENT_RESPONSE, text),
        ):
            message = CaseMessage(
                case_id=row.case_id,
                session_id=request.session_id,
                message_type=message_type,
                content=content,
                query_id=row.query_id,
                author_id=row.user_id if message_type is MessageType.USER_QUERY else None,
                metadata={"source": SOURCE_TAG, **metadata},
            )
            try:
                await self._cases.add_message_to_case(row.case_id, message)
            except Exception:
                _logger.warning("could not store closing message", query_id=row.query_id)
