"""SQL for query records: one row per question asked of a case, with its final response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.tables import QueryRow


async def insert_query(session: AsyncSession, row: QueryRow) -> None:
    session.add(row)
    await session.flush()


async def finish_query(
    session: AsyncSession,
    query_id: str,
    *,
    status: str,
    now: datetime,
    response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        update(QueryRow)
        .where(QueryRow.query_id == query_id)
        .values(status=status, completed_at=now, response=response, error=error)
    )


async def get_query(session: AsyncSession, case_id: str, query_id: str) -> QueryRow | None:
    statement = select(QueryRow).where(QueryRow.query_id == query_id, QueryRow.case_id == case_id)
    return (await session.execute(statement)).scalar_one_or_none()


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
