"""Runs one query turn under a renewed lease, and records how every query ends, once.

Whoever runs a query (the API process for a synchronous answer, an in-process worker, or a separate
`faultmaven worker`), it goes through `QueryRunner`. However a query ends (answered, cancelled, failed, given
up after its workers died), `close_query` records it: the query's final state, the user's message and the
agent's, the mask entries the turn added and the query's last events, in one write transaction that only
the first to close the query commits. So a query is answered once, leaves exactly one user and one agent
message, and a query whose worker died is taken over when its lease runs out, or failed explicitly after
`max_attempts`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from faultmaven.infrastructure.persistence import case_repository as case_repo
from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import QueryRow
from faultmaven.models.agent import AgentResponse
from faultmaven.models.case import CaseMessage, MessageType, utcnow
from faultmaven.models.interfaces import ITracer
from faultmaven.models.turn import Turn
from faultmaven.services.agent_service import SOURCE_TAG, AgentService
from faultmaven.services.cases.service import CaseService
from faultmaven.services.queries.events import QueryEventWriter
from faultmaven.services.queries.masking import merge_masks

_logger = structlog.get_logger(__name__)

CANCELLED_TEXT = "This query was cancelled before an answer was ready."
FAILED_TEXT = "This query could not be processed because of a server error. Ask again to retry."
WORKER_LOST_TEXT = (
    "This query could not be answered: the server process working on it stopped "
    "{attempts} times. Ask again to retry."
)


@dataclass(frozen=True)
class RunnerSettings:
    lease_seconds: float = 30.0
    max_attempts: int = 2
    record_messages: bool = True


TRUST_FIELDS = ("degraded_reason", "truncated", "quality_flags")
"""Answer metadata a stored agent message keeps when set (the console shows them after a reload)."""


@dataclass(frozen=True)
class Outcome:
    """How a query ended: its final status, the agent's line in the conversation, and what the query row
    keeps (the response when completed, else the error)."""

    status: str
    agent_text: str
    message_metadata: dict[str, Any] = field(default_factory=dict)
    response: AgentResponse | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def answered(cls, response: AgentResponse) -> Outcome:
        """The stored agent message keeps what a reader of the conversation must still see later: the
        answer's kind, and whether it was degraded, cut off or flagged as untrustworthy."""
        metadata = {
            "response_type": response.response_type.value,
            "degraded": bool(response.metadata.get("degraded")),
            **{key: response.metadata[key] for key in TRUST_FIELDS if response.metadata.get(key)},
        }
        return cls("completed", response.content, metadata, response=response)

    @classmethod
    def cancelled(cls) -> Outcome:
        return cls("cancelled", CANCELLED_TEXT, {"cancelled": True},
                   error={"code": "CANCELLED", "message": CANCELLED_TEXT})

    @classmethod
    def failed(cls, code: str, message: str, agent_text: str) -> Outcome:
        return cls("failed", agent_text, {"failed": True}, error={"code": code, "message": message})

    @property
    def final_event(self) -> str:
        return {"completed": "complete", "cancelled": "cancelled"}.get(self.status, "error")


class QueryCancelled(Exception):
    """The query was cancelled (or taken over) while it ran."""


class _AlreadyClosed(Exception):
    """Someone else closed the query first: roll back everything this closing wrote."""


class QueryRunner:
    def __init__(
        self,
        database: Database,
        case_service: CaseService,
        agent_service: AgentService,
        tracer: ITracer,
        settings: RunnerSettings | None = None,
    ):
        self._db = database
        self._cases = case_service
        self._agent = agent_service
        self._tracer = tracer
        self._settings = settings or RunnerSettings()
        self.worker_id = f"worker_{uuid.uuid4().hex[:16]}"

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.lease_seconds)

    def query_row(self, turn: Turn, *, claimed: bool) -> QueryRow:
        """The query's row: pending for a worker, or already claimed by this runner to answer it now."""
        now = utcnow()
        return QueryRow(
            query_id=turn.query_id,
            case_id=turn.case_id,
            user_id=turn.caller.user_id,
            session_id=turn.session_id,
            query=turn.query,
            request=turn.record(),
            status="processing" if claimed else "pending",
            claimed_by=self.worker_id if claimed else None,
            lease_expires_at=now + self._lease if claimed else None,
            attempts=1 if claimed else 0,
            created_at=now,
            completed_at=None,
            response=None,
            error=None,
        )

    async def claim_and_run(self, query_id: str) -> AgentResponse | None:
        """Run the query if it is free to take; None if another worker has it or it is finished."""
        now = utcnow()
        async with self._db.write() as session:
            row = await repo.claim_query(session, query_id, self.worker_id, now, now + self._lease)
        if row is None:
            return None
        return await self.run_claimed(row)

    async def run_claimed(self, row: QueryRow, turn: Turn | None = None) -> AgentResponse | None:
        """Answer a query this runner holds; None when it ended otherwise (cancelled, failed, given up),
        which the query row then says.

        With `turn`, the query was accepted in this process a moment ago and is answered for a caller who
        waits: nobody can follow its events yet, so they are written when it closes. Without, it is rebuilt
        from its row and its events are written as they happen (streamed, or followed later)."""
        live = turn is None
        events = await QueryEventWriter.open(self._db, row.query_id) if live else (
            QueryEventWriter(self._db, row.query_id, 1, live=False)
        )
        if row.attempts > self._settings.max_attempts:
            lost = WORKER_LOST_TEXT.format(attempts=row.attempts - 1)
            await self.close_query(row, Outcome.failed("WORKER_LOST", lost, lost), events)
            return None
        turn = turn or await self._load_turn(row)
        if turn is None:
            gone = Outcome.failed("CASE_NOT_FOUND", "The case no longer exists", "")
            await self.close_query(row, gone, events)
            return None
        if row.attempts > 1:
            await events.emit("reset", {"reason": "restarted after the process running it stopped"})
        await events.emit("status", {"status": "processing", "attempt": row.attempts})
        return await self._answer(row, turn, events, stream=live)

    async def _load_turn(self, row: QueryRow) -> Turn | None:
        found = await self._cases.turn_case(row.case_id)
        if found is None:
            return None
        case, mask_map = found
        record = row.request or {"query": row.query, "session_id": row.session_id}
        return Turn.from_record(row.query_id, case, mask_map, row.user_id, record)

    async def _answer(
        self, row: QueryRow, turn: Turn, events: QueryEventWriter, *, stream: bool
    ) -> AgentResponse | None:
        work = asyncio.create_task(self._agent.answer(turn, events, stream=stream))
        try:
            response = await self._supervise(work, row.query_id)
        except QueryCancelled:
            await self._closed_elsewhere(row, events)
            return None
        except Exception as error:
            _logger.exception("query failed", query_id=row.query_id, error_type=type(error).__name__)
            failed = Outcome.failed("PROCESSING_FAILED", "The query could not be processed", FAILED_TEXT)
            await self.close_query(row, failed, events, turn=turn, worker_id=self.worker_id)
            return None
        if not await self.close_query(row, Outcome.answered(response), events, turn=turn,
                                      worker_id=self.worker_id):
            await self._closed_elsewhere(row, events)
            return None
        return response

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

    async def close_query(
        self,
        row: QueryRow,
        outcome: Outcome,
        events: QueryEventWriter | None,
        *,
        turn: Turn | None = None,
        worker_id: str | None = None,
    ) -> bool:
        """Record how the query ended, in one write transaction: its final state, the user's question and
        the agent's line (answer or closing text), the mask entries `turn` added, and its pending events with
        the final one. False, with nothing written, if the query was closed already (by a cancel, or by the
        worker that took it over); `worker_id` closes it only while that worker holds it.

        Every closer takes the case's row lock first (the message numbers), then the query's row: the
        query's state is changed before any message is inserted, so a closer that finds the query closed
        already rolls back having written nothing."""
        pending = await events.settle() if events is not None else []
        try:
            with self._tracer.trace("persist_case_message", status=outcome.status):
                await self._commit_close(row, outcome, events, pending, turn, worker_id)
        except _AlreadyClosed:
            return False
        return True

    async def _commit_close(
        self,
        row: QueryRow,
        outcome: Outcome,
        events: QueryEventWriter | None,
        pending: list[repo.EventValues],
        turn: Turn | None,
        worker_id: str | None,
    ) -> None:
        now = utcnow()
        added = turn.masks_added() if turn is not None else {}
        messages = self._exchange(row, outcome) if self._settings.record_messages else []
        async with self._db.write_connection() as connection:
            appended = None
            if messages or added:
                appended = await case_repo.reserve_sequence(
                    connection, row.case_id, len(messages), now, self._cases.retention, with_masks=bool(added)
                )
            body = self._final_body(outcome, turn, appended, now)
            finished = await repo.finish_query(
                connection, row.query_id, status=outcome.status, now=now, response=body,
                error=outcome.error, worker_id=worker_id,
            )
            if not finished:
                raise _AlreadyClosed
            if appended is not None and messages:
                first = appended.message_count - len(messages) + 1
                await case_repo.insert_messages(connection, messages, first, now)
            merged = merge_masks(appended.mask_map or {}, added) if appended and added else None
            if merged is not None:
                await case_repo.update_case_fields(connection, row.case_id, {"mask_map": merged})
            if events is not None:
                final = events.event_row(outcome.final_event, self._event_data(row, outcome, body))
                await repo.add_events(connection, [*pending, final])

    @staticmethod
    def _event_data(row: QueryRow, outcome: Outcome, body: dict[str, Any] | None) -> dict[str, Any]:
        if outcome.status == "cancelled":
            return {"query_id": row.query_id}
        return body if body is not None else outcome.error or {}

    @staticmethod
    def _exchange(row: QueryRow, outcome: Outcome) -> list[CaseMessage]:
        """The user's question and the agent's line; none when the query's case is gone."""
        if not outcome.agent_text:
            return []
        return [
            CaseMessage(
                case_id=row.case_id,
                session_id=row.session_id,
                message_type=message_type,
                content=content,
                query_id=row.query_id,
                author_id=row.user_id if message_type is MessageType.USER_QUERY else None,
                metadata={"source": SOURCE_TAG, **metadata},
            )
            for message_type, content, metadata in (
                (MessageType.USER_QUERY, row.query, {}),
                (MessageType.AGENT_RESPONSE, outcome.agent_text, outcome.message_metadata),
            )
        ]

    def _final_body(
        self, outcome: Outcome, turn: Turn | None, appended: case_repo.Appended | None, now: datetime
    ) -> dict[str, Any] | None:
        """The stored response: the answer, with the case as it is after this exchange."""
        response = outcome.response
        if response is None:
            return None
        if turn is not None and appended is not None and response.view_state is not None:
            response.view_state.active_case = turn.case.model_copy(
                update={
                    "message_count": appended.message_count,
                    "last_activity_at": now,
                    "updated_at": now,
                    "expires_at": now + self._cases.retention,
                }
            )
        return response.model_dump(mode="json")

    async def _closed_elsewhere(self, row: QueryRow, events: QueryEventWriter) -> None:
        """The query was closed by someone else while we answered: a cancel (whose closing left the
        `cancelled` event to us, the only writer of this query's events) or a worker that took it over
        (whose events follow; ours are dropped)."""
        pending = await events.settle()
        async with self._db.write() as session:
            current = await repo.get_query_by_id(session, row.query_id)
            if current is not None and current.status == "cancelled":
                cancelled = events.event_row("cancelled", {"query_id": row.query_id})
                await repo.add_events(session, [*pending, cancelled])

