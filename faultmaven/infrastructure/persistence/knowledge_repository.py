"""SQL for the knowledge base; every function runs inside the caller's transaction.

Search is engine specific (FTS5 `bm25` on SQLite, `ts_rank_cd` on PostgreSQL) and returns the engine's
raw relevance, larger is better; the service turns it into a 0..1 score.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import column, table

from faultmaven.infrastructure.persistence import case_repository, sharing_repository
from faultmaven.infrastructure.persistence.knowledge_tables import (
    SQLITE_FTS_TABLE,
    KnowledgeChunkRow,
    KnowledgeDocumentRow,
)
from faultmaven.models.case import utcnow
from faultmaven.models.sharing import CaseRole

DELETED = "deleted"
TS_CONFIG = "english"
SQLITE_COLUMN_WEIGHTS = (1.0, 2.0, 1.0)  # title, heading path (which repeats the H1), content
POSTGRES_WEIGHTS = "{0.3, 0.2, 0.5, 0.6}"  # D (content), C (unused), B (heading path), A (title)
_SET_VECTORS = text(
    "UPDATE knowledge_chunks AS c SET search_vector = "
    f"setweight(to_tsvector('{TS_CONFIG}', d.title), 'A') || "
    f"setweight(to_tsvector('{TS_CONFIG}', c.heading_path), 'B') || "
    f"setweight(to_tsvector('{TS_CONFIG}', c.content), 'D') "
    "FROM knowledge_documents AS d WHERE d.document_id = c.document_id AND c.document_id = :document_id"
)


@dataclass(frozen=True)
class DocumentQuery:
    reader_id: str | None
    document_type: str | None = None
    category: str | None = None
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class ChunkMatch:
    chunk: KnowledgeChunkRow
    document: KnowledgeDocumentRow
    relevance: float


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def readable_by(reader_id: str | None) -> ColumnElement[bool]:
    """Global documents for everyone, personal ones for their owner, case ones for the case's participants."""
    is_global = KnowledgeDocumentRow.scope == "global"
    if reader_id is None:
        return is_global
    return or_(
        is_global,
        and_(KnowledgeDocumentRow.scope == "personal", KnowledgeDocumentRow.owner_id == reader_id),
        and_(KnowledgeDocumentRow.scope == "case",
             KnowledgeDocumentRow.case_id.in_(sharing_repository.accessible_case_ids(reader_id))),
    )


def _has_all_tags(dialect: str, tags: Sequence[str]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return KnowledgeDocumentRow.tags.op("@>")(cast(literal(json.dumps(list(tags))), JSONB))
    conditions = []
    for tag in tags:
        each = func.json_each(KnowledgeDocumentRow.tags).table_valued("value")
        conditions.append(select(each.c.value).where(each.c.value == tag).exists())
    return and_(*conditions)


def _document_filters(dialect: str, query: DocumentQuery) -> list[ColumnElement[bool]]:
    conditions = [readable_by(query.reader_id)]
    if query.document_type:
        conditions.append(KnowledgeDocumentRow.document_type == query.document_type)
    if query.category:
        conditions.append(KnowledgeDocumentRow.category == query.category)
    if query.tags:
        conditions.append(_has_all_tags(dialect, query.tags))
    return conditions


async def case_role(session: AsyncSession, case_id: str, user_id: str) -> CaseRole | None:
    """The user's role on a live case, None when they do not take part in it (or it does not exist)."""
    case = await case_repository.get_case(session, case_id, utcnow())
    return await sharing_repository.role_on(session, case, user_id) if case is not None else None


async def takes_part_in(session: AsyncSession, case_id: str, user_id: str) -> bool:
    """Whether the user owns the case or it is shared with them or one of their teams."""
    accessible = sharing_repository.accessible_case_ids(user_id).subquery()
    found = await session.scalar(select(accessible.c.case_id).where(accessible.c.case_id == case_id))
    return found is not None


async def get_document(
    session: AsyncSession, document_id: str, *, for_update: bool = False
) -> KnowledgeDocumentRow | None:
    statement = select(KnowledgeDocumentRow).where(
        KnowledgeDocumentRow.document_id == document_id, KnowledgeDocumentRow.status != DELETED
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def get_by_source_key(session: AsyncSession, source_key: str) -> KnowledgeDocumentRow | None:
    statement = select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.source_key == source_key)
    return await session.scalar(statement.with_for_update())


async def find_by_source_key(session: AsyncSession, source_key: str) -> KnowledgeDocumentRow | None:
    """The document loaded from `source_key`, unlocked, for readers (deleted ones excluded)."""
    statement = select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.source_key == source_key,
                                                   KnowledgeDocumentRow.status != DELETED)
    return await session.scalar(statement)


async def source_hashes(session: AsyncSession, prefix: str) -> dict[str, tuple[str, str]]:
    """`source_key -> (metadata.source_hash, status)` of the documents whose key starts with `prefix`."""
    rows = await session.execute(
        select(
            KnowledgeDocumentRow.source_key, KnowledgeDocumentRow.metadata_, KnowledgeDocumentRow.status
        ).where(KnowledgeDocumentRow.source_key.startswith(prefix, autoescape=True))
    )
    return {key: ((meta or {}).get("source_hash", ""), status) for key, meta, status in rows}


def _row_values(row: KnowledgeDocumentRow) -> dict[str, Any]:
    values = {column.key: getattr(row, column.key) for column in KnowledgeDocumentRow.__mapper__.column_attrs}
    values["metadata"] = values.pop("metadata_")
    return values


async def insert_document_if_absent(session: AsyncSession, row: KnowledgeDocumentRow) -> bool:
    """Insert unless another writer already holds its `source_key` (two processes loading at once)."""
    dialect = dialect_name(session)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(KnowledgeDocumentRow.__table__)
        .values(_row_values(row))
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(KnowledgeDocumentRow.document_id)
    )
    return (await session.execute(statement)).scalar() is not None


async def insert_document(session: AsyncSession, row: KnowledgeDocumentRow) -> None:
    session.add(row)
    await session.flush()


async def replace_chunks(session: AsyncSession, document_id: str, chunks: list[KnowledgeChunkRow]) -> None:
    """Swap a document's chunks; on PostgreSQL also recompute their weighted search vectors."""
    await session.execute(delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == document_id))
    session.add_all(chunks)
    await session.flush()
    if dialect_name(session) == "postgresql":
        await session.execute(_SET_VECTORS, {"document_id": document_id})


async def delete_document(session: AsyncSession, document_id: str) -> None:
    await session.execute(delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.document_id == document_id))


async def list_documents(
    session: AsyncSession, query: DocumentQuery, limit: int, offset: int
) -> tuple[list[KnowledgeDocumentRow], int]:
    conditions = [
        *_document_filters(dialect_name(session), query),
        KnowledgeDocumentRow.status != DELETED,
    ]
    total = await session.scalar(select(func.count()).select_from(KnowledgeDocumentRow).where(*conditions))
    rows = await session.scalars(
        select(KnowledgeDocumentRow)
        .where(*conditions)
        .order_by(KnowledgeDocumentRow.updated_at.desc(), KnowledgeDocumentRow.document_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


def _search_base(dialect: str, query: DocumentQuery) -> Select[Any]:
    return (
        select(KnowledgeChunkRow, KnowledgeDocumentRow)
        .join(KnowledgeDocumentRow, KnowledgeDocumentRow.document_id == KnowledgeChunkRow.document_id)
        .where(*_document_filters(dialect, query), KnowledgeDocumentRow.status == "active")
    )


def _sqlite_search(query: DocumentQuery, match: str, limit: int) -> Select[Any]:
    fts = table(SQLITE_FTS_TABLE, column("rowid"))
    relevance = -func.bm25(literal_column(SQLITE_FTS_TABLE), *SQLITE_COLUMN_WEIGHTS)
    return (
        _search_base("sqlite", query)
        .add_columns(relevance.label("relevance"))
        .join(fts, fts.c.rowid == KnowledgeChunkRow.row_id)
        .where(text(f"{SQLITE_FTS_TABLE} MATCH :match").bindparams(match=match))
        .order_by(text("relevance DESC"), KnowledgeChunkRow.row_id)
        .limit(limit)
    )


def _postgres_search(query: DocumentQuery, websearch: str, limit: int) -> Select[Any]:
    tsquery = func.websearch_to_tsquery(TS_CONFIG, websearch)
    vector = literal_column("knowledge_chunks.search_vector")
    relevance = func.ts_rank_cd(literal_column(f"'{POSTGRES_WEIGHTS}'::float4[]"), vector, tsquery)
    return (
        _search_base("postgresql", query)
        .add_columns(relevance.label("relevance"))
        .where(vector.op("@@")(tsquery))
        .order_by(text("relevance DESC"), KnowledgeChunkRow.row_id)
        .limit(limit)
    )


async def search_chunks(
    session: AsyncSession, query: DocumentQuery, *, fts5_match: str, websearch: str, limit: int
) -> list[ChunkMatch]:
    """The `limit` most relevant readable chunks; no match expression means no results, not an error."""
    if not fts5_match:
        return []
    dialect = dialect_name(session)
    statement = (
        _postgres_search(query, websearch, limit)
        if dialect == "postgresql"
        else _sqlite_search(query, fts5_match, limit)
    )
    rows = await session.execute(statement)
    return [ChunkMatch(chunk, document, float(relevance or 0.0)) for chunk, document, relevance in rows]


async def chunks_without_embedding(session: AsyncSession, limit: int) -> list[tuple[int, str]]:
    """`(row_id, text to embed)` of chunks with no vector yet; the text is what FTS indexes too."""
    statement = (
        select(KnowledgeChunkRow.row_id, KnowledgeDocumentRow.title, KnowledgeChunkRow.heading_path,
               KnowledgeChunkRow.content)
        .join(KnowledgeDocumentRow, KnowledgeDocumentRow.document_id == KnowledgeChunkRow.document_id)
        .where(KnowledgeChunkRow.embedding.is_(None))
        .order_by(KnowledgeChunkRow.row_id)
        .limit(limit)
    )
    rows = await session.execute(statement)
    return [(row_id, f"{title}\n{heading}\n{content}") for row_id, title, heading, content in rows]


async def set_embeddings(session: AsyncSession, vectors: dict[int, bytes]) -> None:
    """Store vectors by `row_id`; a chunk replaced meanwhile simply matches no row."""
    if vectors:
        await session.execute(
            update(KnowledgeChunkRow),
            [{"row_id": row_id, "embedding": blob} for row_id, blob in vectors.items()],
        )


async def readable_embeddings(session: AsyncSession, query: DocumentQuery) -> list[tuple[int, bytes]]:
    """`(row_id, vector bytes)` of every embedded chunk the reader may see under the filters."""
    statement = (
        select(KnowledgeChunkRow.row_id, KnowledgeChunkRow.embedding)
        .join(KnowledgeDocumentRow, KnowledgeDocumentRow.document_id == KnowledgeChunkRow.document_id)
        .where(*_document_filters(dialect_name(session), query), KnowledgeDocumentRow.status == "active",
               KnowledgeChunkRow.embedding.is_not(None))
    )
    return [(row_id, blob) for row_id, blob in await session.execute(statement)]


async def chunks_by_row_ids(
    session: AsyncSession, query: DocumentQuery, row_ids: Sequence[int]
) -> list[ChunkMatch]:
    """The given chunks with their documents, re-checked against the reader's scope; no FTS relevance."""
    if not row_ids:
        return []
    statement = _search_base(dialect_name(session), query).where(KnowledgeChunkRow.row_id.in_(row_ids))
    return [ChunkMatch(chunk, document, 0.0) for chunk, document in await session.execute(statement)]
