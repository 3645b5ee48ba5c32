"""Knowledge base tables: documents and their Markdown chunks, shared by SQLite and PostgreSQL.

The full-text index is engine specific and lives outside this metadata: on SQLite an FTS5 table kept in
sync by triggers (so cascaded deletes clean it too), on PostgreSQL a weighted `tsvector` column with a
GIN index, written by the repository. Both are created by migration 0003.

`embedding` (migration 0007) holds a chunk's sentence vector as float32 bytes, filled only when the
optional `semantic` extra is enabled; NULL means "not embedded yet" and the chunk is still found by FTS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from faultmaven.infrastructure.persistence.base import Base, JSONType, UTCDateTime

SQLITE_FTS_TABLE = "knowledge_chunks_fts"


class KnowledgeDocumentRow(Base):
    __tablename__ = "knowledge_documents"
    __table_args__ = (
        Index("ix_knowledge_documents_scope_owner", "scope", "owner_id"),
        Index("ix_knowledge_documents_type_category", "document_type", "category"),
    )

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    document_type: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), index=True)
    source_key: Mapped[str | None] = mapped_column(String(500), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)


class KnowledgeChunkRow(Base):
    """`row_id` is an integer key so SQLite's FTS5 rowid can mirror it; `chunk_id` is the public id."""

    __tablename__ = "knowledge_chunks"

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chunk_id: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("knowledge_documents.document_id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(String(1000), default="")
    content: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
