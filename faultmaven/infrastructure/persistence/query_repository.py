"""SQL for query records (one row per question asked of a case) and the events each one produced.

A query row is also its job: `pending` until a worker claims it, `processing` under a lease the worker
renews, then `completed`, `failed` or `cancelled`. Claims are single UPDATE statements, so two workers
that see the same query never both run it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.bulk import insert_rows, insert_values
from faultmaven.infrastructure.persistence.database import Executor
from faultmaven.infrastructure.persistence.tables import QueryEventRow, QueryRow

FINAL_STATUSES = ("completed", "failed", "cancelled")


async def insert_query(session: Executor, row: QueryRow) -> None:
    await insert_rows(session, [row])


def _claimable(now: datetime, pending_before: datetime | None = None) -> Any:
    pending = QueryRow.status == "pending"
    if pending_before is not None:
        pending = and_(pending, QueryRow.created_at < pending_before)
    return or_(pending, and_(QueryRow.status == "processing", QueryRow.lease_expires_at < now))


async def claim_query(
    session: AsyncSession, query_id: str, worker_id: str, now: datetime, lease_until: datetime
) -> QueryRow | None:
    """Take the job if it is pending or its lease ran out (its worker died); None if someone else has it."""
    claimed = (
        await session.execute(
            update(QueryRow)
            .where(QueryRow.query_id == query_id, _claimable(now))
            .values(
                status="processing",
                claimed_by=worker_id,
                lease_expires_at=lease_until,
                attempts=QueryRow.attempts + 1,
            )
            .returning(QueryRow.query_id)
        )
    ).scalar_one_or_none()
    if claimed is None:
        return None
    return await session.get(QueryRow, query_id, populate_existing=True)


async def renew_lease(session: AsyncSession, query_id: str, worker_id: str, lease_until: datetime) -> bool:
    """Extend our lease; False when the job is no longer ours to run (cancelled, or taken over)."""
    result = await session.execute(
        update(QueryRow)
        .where(
            QueryRow.query_id == query_id, QueryRow.claimed_by == worker_id, QueryRow.status == "processing"
        )
        .values(lease_expires_at=lease_until)
    )
    return bool(result.rowcount)


async def recoverable_ids(
    session: AsyncSession, now: datetime, *, pending_before: datetime | None = None, limit: int = 100
) -> list[str]:
    """Jobs nobody is running: pending (older than `pending_before`, if given) or with an expired lease."""
    rows = await session.execute(
        select(QueryRow.query_id)
        .where(_claimable(now, pending_before))
        .order_by(QueryRow.created_at)
        .limit(limit)
    )
    return list(rows.scalars())


_QUERIES = QueryRow.__table__.c
_FINISH = (
    update(QueryRow.__table__)
    .where(_QUERIES.query_id == bindparam("p_query_id"), _QUERIES.status.not_in(FINAL_STATUSES))
    .values(
        status=bindparam("p_status", type_=_QUERIES.status.type),
        completed_at=bindparam("p_now", type_=_QUERIES.completed_at.type),
        response=bindparam("p_response", type_=_QUERIES.response.type),
        error=bindparam("p_error", type_=_QUERIES.error.type),
        lease_expires_at=None,
    )
)
"""Built once, as a Core UPDATE of the table (see `case_repository._CASE_VALUES` and `_RESERVE`)."""
_FINISH_CLAIMED = _FINISH.where(_QUERIES.claimed_by == bindparam("p_worker_id"))


async def finish_query(
    session: Executor,
    query_id: str,
    *,
    status: str,
    now: datetime,
    response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    worker_id: str | None = None,
) -> bool:
    """Record the outcome once: a query already final (e.g. cancelled meanwhile) is left alone."""
    statement = _FINISH if worker_id is None else _FINISH_CLAIMED
    parameters = {"p_query_id": query_id, "p_status": status, "p_now": now, "p_response": response,
                  "p_error": error, "p_worker_id": worker_id}
    result = await session.execute(statement, parameters)
    return bool(result.rowcount)


async def get_query(session: AsyncSession, case_id: str, query_id: str) -> QueryRow | None:
    statement = select(QueryRow).where(QueryRow.query_id == query_id, QueryRow.case_id == case_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_query_by_id(session: AsyncSession, query_id: str) -> QueryRow | None:
    return await session.get(QueryRow, query_id, populate_existing=True)


async def list_queries(
    session: AsyncSession, case_id: str, limit: int, offset: int
) -> tuple[list[QueryRow], int]:
    total = (
        await session.execute(select(func.count()).select_from(QueryRow).where(QueryRow.case_id == case_id))
    ).scalar_one()
    rows = await session.execute(
        select(QueryRow)
        .where(QueryRow.case_id == case_id)
        .order_by(QueryRow.created_at, QueryRow.query_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def next_event_seq(session: AsyncSession, query_id: str) -> int:
    last = (
        await session.execute(select(func.max(QueryEventRow.seq)).where(QueryEventRow.query_id == query_id))
    ).scalar_one()
    return (last or 0) + 1


EventValues = dict[str, Any]
"""A `QueryEventRow` as column values: events are only ever written from here, never read back as objects."""


async def add_events(session: Executor, events: list[EventValues]) -> None:
    await insert_values(session, QueryEventRow.__table__, events)


async def events_after(
    session: AsyncSession, query_id: str, after_seq: int, limit: int = 500
) -> list[QueryEventRow]:
    rows = await session.execute(
        select(QueryEventRow)
        .where(QueryEventRow.query_id == query_id, QueryEventRow.seq > after_seq)
        .order_by(QueryEventRow.seq)
        .limit(limit)
    )
    return list(rows.scalars())


async def completed_responses(session: AsyncSession, case_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The stored AgentResponses of a case's answered queries, oldest first (what a case report cites)."""
    rows = await session.execute(
        select(QueryRow.response)
        .where(QueryRow.case_id == case_id, QueryRow.status == "completed")
        .order_by(QueryRow.created_at)
        .limit(limit)
    )
    return [response for response in rows.scalars() if response]
