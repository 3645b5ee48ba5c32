"""Queries asked of a case: recorded, answered by the agent, and readable afterwards."""

from __future__ import annotations

from typing import Any

from faultmaven.infrastructure.persistence import query_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import QueryRow
from faultmaven.models.agent import AgentResponse, QueryPriority, QueryRequest
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.user import Principal
from faultmaven.services.agent_service import AgentService
from faultmaven.services.case_service import CaseService
from faultmaven.services.errors import NotFoundError


class QueryService:
    def __init__(self, database: Database, case_service: CaseService, agent_service: AgentService):
        self._db = database
        self._cases = case_service
        self._agent = agent_service

    async def submit(
        self,
        principal: Principal,
        case_id: str,
        query: str,
        *,
        session_id: str | None = None,
        context: dict[str, Any] | None = None,
        priority: QueryPriority = "medium",
    ) -> AgentResponse:
        """Answer synchronously; the query row records the question and then its final response."""
        await self._cases.get_owned_case(principal.user_id, case_id)
        query_id = new_id("q")
        session = session_id or principal.session_id or f"case_session_{case_id}"
        async with self._db.write() as db_session:
            await repo.insert_query(
                db_session,
                QueryRow(
                    query_id=query_id,
                    case_id=case_id,
                    user_id=principal.user_id,
                    session_id=session,
                    query=query,
                    status="processing",
                    created_at=utcnow(),
                    completed_at=None,
                    response=None,
                    error=None,
                ),
            )
        request = QueryRequest(
            query=query,
            session_id=session,
            priority=priority,
            context={
                **(context or {}),
                "case_id": case_id,
                "user_id": principal.user_id,
                "query_id": query_id,
                "user": {
                    "user_id": principal.user_id,
                    "username": principal.user.username,
                    "display_name": principal.user.display_name or principal.user.username,
                },
            },
        )
        try:
            response = await self._agent.process_query_for_case(case_id, request)
        except BaseException:
            await self._finish(
                query_id,
                "failed",
                error={"code": "PROCESSING_FAILED", "message": "The query could not be processed"},
            )
            raise
        response.query_id = query_id
        await self._finish(query_id, "completed", response=response.model_dump(mode="json"))
        return response

    async def _finish(
        self,
        query_id: str,
        status: str,
        *,
        response: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        async with self._db.write() as session:
            await repo.finish_query(
                session, query_id, status=status, now=utcnow(), response=response, error=error
            )

    async def get(self, owner_id: str, case_id: str, query_id: str) -> dict[str, Any]:
        await self._cases.get_owned_case(owner_id, case_id)
        async with self._db.read() as session:
            row = await repo.get_query(session, case_id, query_id)
        if row is None:
            raise NotFoundError(f"Query {query_id} not found in case {case_id}", code="QUERY_NOT_FOUND")
        return query_status(row)

    async def list(
        self, owner_id: str, case_id: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        await self._cases.get_owned_case(owner_id, case_id)
        async with self._db.read() as session:
            rows, total = await repo.list_queries(session, case_id, limit, offset)
        return [query_summary(row) for row in rows], total


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
    elif row.status == "failed":
        body["error"] = row.error
    return body
