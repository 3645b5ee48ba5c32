"""SQL for case evidence; every function runs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.evidence_tables import EvidenceChunkRow, EvidenceItemRow


async def insert_item(session: AsyncSession, row: EvidenceItemRow) -> None:
    session.add(row)
    await session.flush()


async def get_item(session: AsyncSession, case_id: str, data_id: str) -> EvidenceItemRow | None:
    statement = select(EvidenceItemRow).where(
        EvidenceItemRow.case_id == case_id, EvidenceItemRow.data_id == data_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_items(
    session: AsyncSession, case_id: str, limit: int, offset: int
) -> tuple[list[EvidenceItemRow], int]:
    """Oldest first, the order in which the user supplied the evidence."""
    where = EvidenceItemRow.case_id == case_id
    counted = select(func.count()).select_from(EvidenceItemRow).where(where)
    total = (await session.execute(counted)).scalar_one()
    rows = await session.execute(
        select(EvidenceItemRow)
        .where(where)
        .order_by(EvidenceItemRow.uploaded_at, EvidenceItemRow.data_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def update_item(session: AsyncSession, data_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(EvidenceItemRow).where(EvidenceItemRow.data_id == data_id).values(**values))


async def insert_chunks(session: AsyncSession, rows: list[EvidenceChunkRow], now: datetime) -> None:
    """Store chunks and beat the item's heartbeat, so a live ingestion is told from a dead one."""
    session.add_all(rows)
    await update_item(session, rows[-1].data_id, {"heartbeat_at": now, "line_count": rows[-1].line_end})
    await session.flush()


async def delete_item(session: AsyncSession, data_id: str) -> None:
    await session.execute(delete(EvidenceChunkRow).where(EvidenceChunkRow.data_id == data_id))
    await session.execute(delete(EvidenceItemRow).where(EvidenceItemRow.data_id == data_id))


async def delete_case_evidence(session: AsyncSession, case_id: str) -> None:
    """Explicit, because SQLite only cascades foreign keys on connections that enabled them."""
    items = select(EvidenceItemRow.data_id).where(EvidenceItemRow.case_id == case_id)
    await session.execute(delete(EvidenceChunkRow).where(EvidenceChunkRow.data_id.in_(items)))
    await session.execute(delete(EvidenceItemRow).where(EvidenceItemRow.case_id == case_id))


async def chunks_in_range(
    session: AsyncSession, data_id: str, start: int, end: int
) -> list[EvidenceChunkRow]:
    rows = await session.execute(
        select(EvidenceChunkRow)
        .where(
            EvidenceChunkRow.data_id == data_id,
            EvidenceChunkRow.line_end >= start,
            EvidenceChunkRow.line_start <= end,
        )
        .order_by(EvidenceChunkRow.chunk_no)
    )
    return list(rows.scalars())


async def matching_chunk_keys(
    session: AsyncSession, case_id: str, terms: list[str], data_id: str | None, limit: int
) -> list[tuple[str, int]]:
    """(data_id, chunk_no) of the case's chunks containing every term, case-insensitively: a cheap
    prefilter, so only those chunks are loaded and split into lines."""
    conditions = [EvidenceItemRow.case_id == case_id]
    if data_id is not None:
        conditions.append(EvidenceItemRow.data_id == data_id)
    conditions += [EvidenceChunkRow.text.icontains(term, autoescape=True) for term in terms]
    rows = await session.execute(
        select(EvidenceChunkRow.data_id, EvidenceChunkRow.chunk_no)
        .join(EvidenceItemRow, EvidenceItemRow.data_id == EvidenceChunkRow.data_id)
        .where(*conditions)
        .order_by(EvidenceItemRow.uploaded_at, EvidenceChunkRow.data_id, EvidenceChunkRow.chunk_no)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def load_chunks(session: AsyncSession, keys: list[tuple[str, int]]) -> list[EvidenceChunkRow]:
    rows = []
    for data_id, chunk_no in keys:
        row = await session.get(EvidenceChunkRow, (data_id, chunk_no))
        if row is not None:
            rows.append(row)
    return rows


async def case_items(session: AsyncSession, case_id: str, data_id: str | None) -> list[EvidenceItemRow]:
    statement = select(EvidenceItemRow).where(EvidenceItemRow.case_id == case_id)
    if data_id is not None:
        statement = statement.where(EvidenceItemRow.data_id == data_id)
    rows = await session.execute(statement.order_by(EvidenceItemRow.uploaded_at, EvidenceItemRow.data_id))
    return list(rows.scalars())
