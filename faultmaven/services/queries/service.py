"""Queries asked of a case: recorded, answered now or in the background, streamed, cancelled, read back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from faultmaven.infrastructure.background import DEFAULT_GRACE_SECONDS, BackgroundTasks
from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import QueryRow
from faultmaven.models.agent import AgentResponse, QueryPriority
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.jobs import JobQueue, QueueFullError
from faultmaven.models.query_event import QueryEvent
from faultmaven.models.sharing import CaseRole
from faultmaven.models.turn import Caller, Turn
from faultmaven.models.user import Principal
from faultmaven.services.cases.service import CaseService
from faultmaven.services.errors import ConflictError, NotFoundError, ServiceUnavailableError
from faultmaven.services.queries.events import QueryEventWriter, follow_events
from faultmaven.services.queries.runner import Outcome, QueryRunner

RUNNING = ("pending", "processing")


@dataclass(frozen=True)
class Accepted:
    """The query runs in the background: poll it or follow its events."""

    query_id: str
    case_id: str


@dataclass(frozen=True)
class QueryPolicy:
    sync_budget_seconds: float = 60.0
    async_threshold_chars: int = 50_000
    shutdown_grace_seconds: float = DEFAULT_GRACE_SECONDS


class QueryService:
    def __init__(
        self,
        database: Database,
        case_service: CaseService,
        runner: QueryRunner,
        queue: JobQueue,
        policy: QueryPolicy | None = None,
    ):
        self._db = database
        self._cases = case_service
        self._runner = runner
        self._queue = queue
        self._policy = policy or QueryPolicy()
        self._answers = BackgroundTasks("query answers", self._policy.shutdown_grace_seconds)

    async def submit(
        self,
        principal: Principal,
        case_id: str,
        query: str,
        *,
        session_id: str | None = None,
        context: dict[str, Any] | None = None,
        priority: QueryPriority = "medium",
        respond_async: bool = False,
    ) -> AgentResponse | Accepted:
        """Answer now, or accept for the background (`Accepted`) when asked to (always for a stream), when
        the query is large, or when the synchronous time budget runs out (the answer then keeps going in
        this process)."""
        case, mask_map = await self._cases.authorize_turn(principal.user_id, case_id)
        turn = Turn(
            query_id=new_id("q"),
            case=case,
            caller=_caller(principal),
            query=query,
            session_id=session_id or principal.session_id or f"case_session_{case_id}",
            priority=priority,
            client_context=context or {},
            mask_map=mask_map,
        )
        if respond_async or len(query) > self._policy.async_threshold_chars:
            return await self._enqueue(turn)
        row = self._runner.query_row(turn, claimed=True)
        async with self._db.write_statement() as connection:
            await repo.insert_query(connection, row)
        task = self._answers.spawn(self._runner.run_claimed(row, turn), query_id=row.query_id)
        try:
            response = await asyncio.wait_for(asyncio.shield(task), self._policy.sync_budget_seconds)
        except TimeoutError:
            return Accepted(row.query_id, case_id)
        return response if response is not None else await self._unanswered(case_id, row.query_id)

    async def _enqueue(self, turn: Turn) -> Accepted:
        """Record the query as pending with its first event, in one transaction, and hand it to a worker."""
        row = self._runner.query_row(turn, claimed=False)
        pending = {"status": "pending", "query_id": row.query_id, "case_id": row.case_id}
        async with self._db.write() as session:
            await repo.insert_query(session, row)
            first = QueryEventWriter(self._db, row.query_id, 1).event_row("status", pending)
            await repo.add_events(session, [first])
        try:
            await self._queue.enqueue(row.query_id)
        except QueueFullError as error:
            await self._finish(
                row.query_id, "failed", {"code": "QUEUE_FULL", "message": "Too many queries wait"}
            )
            raise ServiceUnavailableError(
                "Too many queries are waiting; try again shortly",
                code="QUEUE_FULL",
                headers={"Retry-After": str(error.retry_after_seconds)},
            ) from error
        return Accepted(row.query_id, row.case_id)

    async def _unanswered(self, case_id: str, query_id: str) -> AgentResponse:
        """A synchronous query that ended without an answer: say why, as the query row records it."""
        async with self._db.read() as session:
            row = await repo.get_query(session, case_id, query_id)
        error = (row.error if row is not None else None) or {}
        if error.get("code") == "CASE_NOT_FOUND":
            raise NotFoundError(f"Case {case_id} not found", code="CASE_NOT_FOUND")
        raise ServiceUnavailableError(
            error.get("message", "The query could not be answered"),
            code=error.get("code", "QUERY_FAILED"),
            query_id=query_id,
        )

    async def _finish(self, query_id: str, status: str, error: dict[str, Any]) -> bool:
        async with self._db.write() as session:
            return await repo.finish_query(session, query_id, status=status, now=utcnow(), error=error)

    async def cancel(self, owner_id: str, case_id: str, query_id: str) -> None:
        """Cancel a pending or running query. Its user and closing messages are stored now; a running
        query's worker stops at its next lease renewal and writes the `cancelled` event then."""
        row = await self._owned_row(owner_id, case_id, query_id, CaseRole.COLLABORATOR)
        if row.status == "cancelled":
            return
        if row.status not in RUNNING:
            raise ConflictError(f"Query {query_id} has already {row.status}", code="QUERY_FINISHED")
        events = await QueryEventWriter.open(self._db, query_id) if row.status == "pending" else None
        await self._runner.close_query(row, Outcome.cancelled(), events)

    async def events(
        self, owner_id: str, case_id: str, query_id: str, after_seq: int = 0
    ) -> AsyncIterator[QueryEvent]:
        await self._owned_row(owner_id, case_id, query_id)
        return follow_events(self._db, query_id, after_seq)

    async def _owned_row(self, owner_id: str, case_id: str, query_id: str,
                         needed: CaseRole = CaseRole.VIEWER) -> QueryRow:
        await self._cases.authorize(owner_id, case_id, needed)
        async with self._db.read() as session:
            row = await repo.get_query(session, case_id, query_id)
        if row is None:
            raise NotFoundError(f"Query {query_id} not found in case {case_id}", code="QUERY_NOT_FOUND")
        return row

    async def get(self, owner_id: str, case_id: str, query_id: str) -> dict[str, Any]:
        return query_status(await self._owned_row(owner_id, case_id, query_id))

    async def list(
        self, owner_id: str, case_id: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        await self._cases.authorize(owner_id, case_id)
        async with self._db.read() as session:
            rows, total = await repo.list_queries(session, case_id, limit, offset)
        return [query_summary(row) for row in rows], total

    async def drain(self) -> None:
        """On shutdown: let answers running in this process finish within the grace period, then stop
        them (their leases expire and another process takes them over)."""
        await self._answers.drain()


def _caller(principal: Principal) -> Caller:
    user = principal.user
    return Caller(user_id=principal.user_id, username=user.username,
                  display_name=user.display_name or user.username)


def query_summary(row: QueryRow) -> dict[str, Any]:
    return {
        "query_id": row.query_id,
        "query": row.query,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


def query_status(row: QueryRow) -> dict[str, Any]:
    """The poll body of the contract: status, and the response or error once there is one."""
    body: dict[str, Any] = {"query_id": row.query_id, "status": row.status}
    if row.status == "completed":
        body["response"] = row.response
    elif row.status in ("failed", "cancelled"):
        body["error"] = row.error
    return body
